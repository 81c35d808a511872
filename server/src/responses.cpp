#include "responses.hpp"

#include <nlohmann/json.hpp>

namespace gmr {
namespace {

// Only what the page needs: its own stylesheet and script, fetches of JSON from
// the same origin (the Refresh and Copy buttons), data: images for icons.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

void set_header(AdminResponse& response, std::string_view name, std::string_view value) {
  for (auto& [n, v] : response.headers) {
    if (n == name) {
      v = value;
      return;
    }
  }
  response.headers.emplace_back(name, value);
}

}  // namespace

AdminResponse json_response(int status, std::string body) {
  AdminResponse response;
  response.status = status;
  response.content_type = kJsonType;
  response.body = std::move(body);
  return response;
}

AdminResponse error_response(int status, std::string_view message) {
  nlohmann::json error = {{"error", {{"code", status}, {"message", message}}}};
  // Messages may quote what the client sent: bytes that are not UTF-8 are replaced.
  return json_response(status,
                       error.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

std::string_view status_text(int status) {
  switch (status) {
    case 400: return "bad request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 406: return "not acceptable";
    case 408: return "request timeout";
    case 413: return "request body too large";
    case 414: return "request target too long";
    case 416: return "range not satisfiable";
    case 431: return "request header fields too large";
    case 500: return "internal error";
    case 503: return "service unavailable";
    default: return status >= 500 ? "internal error" : "error";
  }
}

void add_security_headers(AdminResponse& response) {
  set_header(response, "X-Content-Type-Options", "nosniff");
  // Every response is a fresh look at a live process: never replay one.
  set_header(response, "Cache-Control", "no-store");
  if (response.content_type.rfind("text/html", 0) == 0) {
    set_header(response, "Content-Security-Policy", kContentSecurityPolicy);
    set_header(response, "Referrer-Policy", "no-referrer");
  }
}

}  // namespace gmr
