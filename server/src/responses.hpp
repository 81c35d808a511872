// responses.hpp (internal): the shapes every response of the endpoint shares.
//
// Pure functions: thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "gmr/admin.hpp"

namespace gmr {

inline constexpr std::string_view kJsonType = "application/json; charset=utf-8";

// Returns a response holding a JSON document.
AdminResponse json_response(int status, std::string body);

// Returns an error in the one shape the endpoint uses, whatever the request asked
// for: {"error": {"code": 404, "message": "no section 'nope'"}}.
AdminResponse error_response(int status, std::string_view message);

// Returns the short English name of an HTTP status ("not found"), for the errors
// that the HTTP library raises itself (a bad request line, a body too large).
std::string_view status_text(int status);

// Adds the headers every response carries (nosniff, no-store), and for an HTML
// page its Content-Security-Policy and Referrer-Policy. Headers already present
// are replaced, never doubled.
void add_security_headers(AdminResponse& response);

}  // namespace gmr
