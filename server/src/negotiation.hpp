// negotiation.hpp (internal): which format a request gets (docs/admin-endpoint.md).
//
// ?format= wins over Accept; Accept is read with q-values and wildcards
// (RFC 9110, section 12.5.1). Pure functions: thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "url.hpp"

namespace gmr {

enum class Format { kJson, kHtml, kText };

// Returns the media type of a format, with its charset: "application/json; charset=utf-8".
std::string_view content_type_of(Format format);

// Returns the format that `accept` (an Accept header's value) prefers among
// JSON, HTML and text, or nullopt when it accepts none of them. The highest q
// wins; on a tie, the type named most precisely (text/plain before text/* before
// */*), then JSON, HTML, text in that order. An absent or empty header means JSON.
std::optional<Format> negotiate_accept(const std::string* accept);

// What a request asked for: a format, or an HTTP status with its reason.
struct FormatChoice {
  Format format = Format::kJson;
  int status = 200;     // 400: bad ?format=; 406: nothing acceptable
  std::string message;  // why, when status is not 200
};

// Returns the format for a request: its single ?format=json|html|text, else what
// its Accept header (nullptr when absent) prefers.
FormatChoice choose_format(const url::QueryParams& query, const std::string* accept);

}  // namespace gmr
