// gmr/admin.hpp: the admin HTTP endpoint (docs/admin-endpoint.md).
//
//   if (!gmr::setup_autorun_with_admin({"my-service", "Example Corp", "1.2.3"})) return 1;
//   // curl localhost:9911/gmr         the report as JSON
//   // open http://localhost:9911/gmr  the same report as a page
//
// The endpoint serves the report (JSON, HTML or text), one section at a time, the
// OpenAPI document and the page's assets, and writes a report on POST /gmr/reports.
// It runs on threads of its own (a listener and one thread per connection, at
// most 64, with asynchronous signals blocked), never on the host's. Its options live in
// [oslo_reports]: http_enabled, http_host, http_port, http_token.
//
// Thread-safety: every function here is thread-safe. None may be called from a
// signal handler, and stop_admin() (or gmr::shutdown()) must not be called from
// inside a request (it waits for the requests in progress).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "gmr/gmr.hpp"

namespace gmr {

// Calls gmr::setup_autorun(version, options), then starts the endpoint when
// [oslo_reports] http_enabled is true, and prints its URL on stderr in one line:
// "gmr: admin endpoint at http://127.0.0.1:9911/gmr". gmr::shutdown() stops it.
// Returns false, with the reason on stderr, when setup_autorun fails or the
// endpoint is refused: a host that is not loopback without http_token, a port
// that is taken, an address that cannot be bound. The triggers set up by
// setup_autorun stay in place in that case. Calling it again while the endpoint
// runs returns true.
bool setup_autorun_with_admin(const Version& version, const SetupOptions& options = {});

// One HTTP request, as the endpoint sees it.
struct AdminRequest {
  std::string method;  // "GET"
  std::string path;    // as sent, still percent-encoded: "/gmr/sections/threads"
  std::string query;   // as sent, without the '?': "format=text"
  std::vector<std::pair<std::string, std::string>> headers;  // names in any case
};

struct AdminResponse {
  int status = 200;
  std::string content_type;  // empty when there is no body (a redirect)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type
};

// Answers one request: routing, authentication ([oslo_reports] http_token of
// gmr::active_config(), read at each request), content negotiation, the handler
// itself. This is the whole endpoint without the socket: the HTTP server calls
// it, and so can tests. Never throws.
AdminResponse handle_admin_request(const AdminRequest& request);

// One route of the endpoint.
struct AdminRoute {
  std::string method;   // "GET"
  std::string path;     // OpenAPI style: "/gmr/sections/{id}"
  std::string summary;  // one line of help
};

// Returns the route table, in the order routes are matched.
std::vector<AdminRoute> admin_routes();

// Returns the port the endpoint listens on, or 0 when it does not run.
int admin_port();

// Stops the endpoint, after the requests in progress; does nothing when it does
// not run. gmr::shutdown() calls it.
void stop_admin();

}  // namespace gmr
