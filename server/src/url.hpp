// url.hpp (internal): the parts of a request target, decoded safely.
//
// Pure functions of their arguments: thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gmr::url {

// Returns `text` with its %XX escapes decoded ('+' becomes a space when
// `plus_is_space`, as in a query string), or nullopt when an escape is malformed
// ("%", "%4", "%zz") or decodes to a NUL byte.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Returns the decoded name=value pairs of a query string ("a=1&b&c=x%20y"), in
// order and with repetitions; a name without '=' gets an empty value and empty
// pieces ("a=1&&b=2") are skipped. nullopt when an escape is malformed.
std::optional<QueryParams> parse_query(std::string_view query);

// Returns the values of every parameter called `name`.
std::vector<std::string> values_of(const QueryParams& params, std::string_view name);

// Returns the decoded segments of an absolute path ("/gmr/sections/threads" gives
// "gmr", "sections", "threads"; "/" gives none). nullopt when the path does not
// start with '/', an escape is malformed, or a segment decodes to something that
// could walk the tree: "." or "..", or one holding '/' or '\'.
std::optional<std::vector<std::string>> path_segments(std::string_view path);

}  // namespace gmr::url
