// The endpoint without its socket: the route table, authentication, and the
// handlers (docs/admin-endpoint.md). http_server.cpp puts it on the network.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "assets.hpp"
#include "gmr/admin.hpp"
#include "negotiation.hpp"
#include "render_html.hpp"
#include "responses.hpp"
#include "single_flight.hpp"
#include "url.hpp"

namespace gmr {
namespace {

// What a handler gets: the request, and its parts already decoded.
struct RouteRequest {
  const AdminRequest& request;
  std::string param;  // the value of the route's {id} or {name}, decoded
  url::QueryParams query;
};

using Handler = AdminResponse (*)(const RouteRequest&);

// One row of the route table. The path is written as in openapi.yaml; a segment
// in braces matches any one segment.
struct Route {
  std::string_view method;
  std::string_view path;
  std::string_view summary;
  Handler handler;
};

// --- Helpers -----------------------------------------------------------------

const std::string* find_header(const AdminRequest& request, std::string_view name) {
  for (const auto& [n, v] : request.headers) {
    if (n.size() == name.size() &&
        std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return &v;
    }
  }
  return nullptr;
}

std::string dump_json(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

SingleFlightCollector& collector() {
  static auto* c = new SingleFlightCollector();  // never destroyed: requests may outlive main()
  return *c;
}

// The text report looks as a signal's would: same [oslo_reports] options.
TextOptions text_options() {
  TextOptions options;
  Config& config = active_config();
  if (config.has_opt("oslo_reports", "group_stacks")) {
    options.group_stacks = config.get_bool("oslo_reports", "group_stacks");
  }
  return options;
}

// Renders a collected report (or one of its sections) in the chosen format.
AdminResponse rendered(const Report& report, Format format, bool one_section) {
  AdminResponse response;
  response.content_type = content_type_of(format);
  switch (format) {
    case Format::kJson:
      response.body = one_section ? render_section_json(report.sections.at(0)) + "\n"
                                  : render_json(report) + "\n";
      break;
    case Format::kText:
      response.body = render_text(report, text_options());
      break;
    case Format::kHtml:
      // Relative links, so that the page also works behind a proxy on a sub-path.
      response.body = render_html(report, HtmlOptions{one_section ? "../static/" : "gmr/static/"});
      break;
  }
  // The same URL answers in several formats: caches (if any) must tell them apart.
  response.headers.emplace_back("Vary", "Accept");
  return response;
}

// --- Handlers ----------------------------------------------------------------

AdminResponse redirect_to_report(const RouteRequest&) {
  AdminResponse response;
  response.status = 302;
  response.headers.emplace_back("Location", "gmr");  // relative: proxies on a sub-path
  return response;
}

AdminResponse get_report(const RouteRequest& r) {
  FormatChoice choice = choose_format(r.query, find_header(r.request, "Accept"));
  if (choice.status != 200) return error_response(choice.status, choice.message);
  return rendered(collector().collect({}), choice.format, false);
}

AdminResponse get_section_list(const RouteRequest&) {
  nlohmann::json sections = nlohmann::json::array();
  for (const auto& [id, title] : section_list()) {
    sections.push_back({{"id", id}, {"title", title}});
  }
  return json_response(200, dump_json({{"sections", sections}}));
}

bool section_exists(const std::string& id) {
  for (const auto& section : section_list())
    if (section.first == id) return true;
  return false;
}

AdminResponse get_section(const RouteRequest& r) {
  if (!section_exists(r.param)) return error_response(404, "no section '" + r.param + "'");
  FormatChoice choice = choose_format(r.query, find_header(r.request, "Accept"));
  if (choice.status != 200) return error_response(choice.status, choice.message);
  Report report = collector().collect({r.param});
  if (report.sections.empty()) return error_response(404, "no section '" + r.param + "'");
  return rendered(report, choice.format, true);
}

AdminResponse post_report(const RouteRequest&) {
  std::string destination = write_report();
  // write_report() already said on stderr what went wrong.
  if (destination == "nowhere") return error_response(500, "internal error");
  return json_response(201, dump_json({{"destination", destination}}));
}

AdminResponse asset_response(const assets::Asset& asset) {
  AdminResponse response;
  response.content_type = asset.content_type;
  response.body = asset.data;
  return response;
}

AdminResponse get_openapi(const RouteRequest&) {
  const assets::Asset* asset = assets::find("openapi.yaml");
  if (asset == nullptr) return error_response(404, "this build has no OpenAPI document");
  return asset_response(*asset);
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

AdminResponse get_static(const RouteRequest& r) {
  // Only the page's stylesheet and script: the page template and the OpenAPI
  // document are embedded too, but are not static assets. Nothing reaches the
  // file system: find() looks in a table compiled into the binary.
  const assets::Asset* asset = nullptr;
  if (ends_with(r.param, ".css") || ends_with(r.param, ".js")) asset = assets::find(r.param);
  if (asset == nullptr) return error_response(404, "no asset '" + r.param + "'");
  return asset_response(*asset);
}

// The endpoint, as data: routing, 405's Allow header and admin_routes() (which
// a test compares with openapi.yaml) all read this one table.
constexpr Route kRoutes[] = {
    {"GET", "/", "Redirects to the report", redirect_to_report},
    {"GET", "/gmr", "The whole report: JSON, HTML or text", get_report},
    {"GET", "/gmr/sections", "The ids and titles of the report's sections", get_section_list},
    {"GET", "/gmr/sections/{id}", "One section, collected alone: JSON, HTML or text",
     get_section},
    {"POST", "/gmr/reports", "Writes the text report as a signal would", post_report},
    {"GET", "/gmr/openapi.yaml", "This API's OpenAPI document", get_openapi},
    {"GET", "/gmr/static/{name}", "The page's stylesheet and script", get_static},
};

// --- Routing -----------------------------------------------------------------

// Returns true when `segments` fit the route's path; `param` gets the braced one.
bool path_matches(std::string_view pattern, const std::vector<std::string>& segments,
                  std::string& param) {
  std::vector<std::string_view> parts;
  if (pattern.size() > 1) {
    pattern.remove_prefix(1);
    for (size_t slash; (slash = pattern.find('/')) != std::string_view::npos;) {
      parts.push_back(pattern.substr(0, slash));
      pattern.remove_prefix(slash + 1);
    }
    parts.push_back(pattern);
  }
  if (parts.size() != segments.size()) return false;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].front() == '{') {
      if (segments[i].empty()) return false;
      param = segments[i];
    } else if (parts[i] != segments[i]) {
      return false;
    }
  }
  return true;
}

// Compares in a time that depends on the lengths only, never on where the
// strings differ: a token cannot be guessed byte by byte from response times.
bool constant_time_equals(std::string_view given, std::string_view expected) {
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    difference |= g ^ static_cast<unsigned char>(expected[i]);
  }
  return difference == 0;
}

// Returns the token of an "Authorization: Bearer TOKEN" header, if there is one.
std::optional<std::string_view> bearer_token(const AdminRequest& request) {
  const std::string* header = find_header(request, "Authorization");
  if (header == nullptr) return std::nullopt;
  std::string_view value = *header;
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return std::nullopt;
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return value;
}

// Returns a 401 when the configuration asks for a token and the request lacks it.
std::optional<AdminResponse> check_token(const AdminRequest& request) {
  const std::string token = active_config().get_string("oslo_reports", "http_token");
  if (token.empty()) return std::nullopt;
  std::optional<std::string_view> given = bearer_token(request);
  if (given && constant_time_equals(*given, token)) return std::nullopt;
  AdminResponse response =
      error_response(401, given ? "wrong bearer token" : "this endpoint needs a bearer token");
  response.headers.emplace_back("WWW-Authenticate", "Bearer");
  return response;
}

AdminResponse route(const AdminRequest& request) {
  // Authentication first: without the token, nothing says which paths exist.
  if (auto refused = check_token(request)) return std::move(*refused);

  auto segments = url::path_segments(request.path);
  if (!segments) return error_response(404, "nothing at " + request.path);

  // HEAD is GET without the body (the HTTP layer leaves the body out).
  const std::string method = request.method == "HEAD" ? "GET" : request.method;
  std::string allowed;  // the methods of the routes whose path fits, for 405
  for (const Route& r : kRoutes) {
    std::string param;
    if (!path_matches(r.path, *segments, param)) continue;
    if (r.method != method) {
      allowed += (allowed.empty() ? "" : ", ") + std::string(r.method);
      if (r.method == "GET") allowed += ", HEAD";
      continue;
    }
    auto query = url::parse_query(request.query);
    if (!query) return error_response(400, "malformed query string");
    return r.handler(RouteRequest{request, std::move(param), std::move(*query)});
  }
  if (allowed.empty()) return error_response(404, "nothing at " + request.path);
  AdminResponse response = error_response(
      405, "method " + request.method + " is not allowed on " + request.path);
  response.headers.emplace_back("Allow", allowed);
  return response;
}

// Keeps what a client sent from forging lines on stderr.
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  return out;
}

void log_failure(const AdminRequest& request, const char* what) {
  std::string line = "gmr: admin endpoint: " + printable(request.method) + " " +
                     printable(request.path) + " failed: " + printable(what) + "\n";
  std::fputs(line.c_str(), stderr);
}

}  // namespace

AdminResponse handle_admin_request(const AdminRequest& request) {
  AdminResponse response;
  try {
    response = route(request);
  } catch (const std::exception& e) {
    log_failure(request, e.what());
    response = error_response(500, "internal error");
  } catch (...) {
    log_failure(request, "an exception that is not a std::exception");
    response = error_response(500, "internal error");
  }
  add_security_headers(response);
  return response;
}

std::vector<AdminRoute> admin_routes() {
  std::vector<AdminRoute> routes;
  for (const Route& r : kRoutes) {
    routes.push_back({std::string(r.method), std::string(r.path), std::string(r.summary)});
  }
  return routes;
}

}  // namespace gmr
