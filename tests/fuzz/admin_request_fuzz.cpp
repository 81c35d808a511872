// Fuzzes the admin endpoint without its socket: gmr::handle_admin_request with a
// fuzzed method, path, query and headers (routing, authentication, the request
// parameters, Accept negotiation, the handlers). The input reads like a request:
//   METHOD TARGET            first line; TARGET is PATH or PATH?QUERY
//   Name: value              then one header per line
//   !token                   a line of its own: the endpoint requires a token
//
// Invariants: the endpoint never fails (no 500) and answers only the documented
// statuses; every response carries nosniff and no-store, an HTML page its CSP;
// every JSON body parses; with a token configured, a request without the right
// one gets 401 and nothing else; a static asset is one of the two embedded files;
// a secret's value never appears in a response unless the request held it.
//
// The routes that collect a report do so for real (one reporter thread, started
// at the first collection and stopped at exit); POST /gmr/reports writes into a
// temporary log_dir that is emptied after each input.
#include <dirent.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "assets.hpp"
#include "gmr/admin.hpp"
#include "gmr/gmr.hpp"

namespace {

const std::string kToken = "fuzz-token-Hk27";
const std::string kSecret = "fuzz-secret-Vq93";
std::string g_log_dir;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

std::string header(const gmr::AdminResponse& r, const std::string& name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return "";
}

void empty_log_dir() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(g_log_dir, ec)) {
    std::filesystem::remove(entry.path(), ec);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char tmpl[] = "/tmp/gmr-fuzz-admin-XXXXXX";
  if (!mkdtemp(tmpl)) std::abort();
  g_log_dir = tmpl;
  gmr::Config& config = gmr::conf();
  config.register_opt("database", gmr::Opt::string("password", nullptr, "a secret").as_secret());
  check(config.set_override("database", "password", kSecret).empty(), "set the secret");
  check(config.set_override("oslo_reports", "log_dir", g_log_dir).empty(), "set log_dir");
  gmr::register_section("Fuzz <Section>", [] { return gmr::Value::map({{"n", 1}}); });
  std::atexit([] {
    gmr::shutdown();  // joins the reporter thread
    std::error_code ec;
    std::filesystem::remove_all(g_log_dir, ec);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  gmr::AdminRequest request;
  bool token_required = false;
  size_t pos = 0, line_no = 0;
  while (pos <= input.size()) {
    size_t end = input.find('\n', pos);
    if (end == std::string::npos) end = input.size();
    std::string line = input.substr(pos, end - pos);
    pos = end + 1;
    if (line_no++ == 0) {
      size_t space = line.find(' ');
      request.method = line.substr(0, space);
      std::string target = space == std::string::npos ? "" : line.substr(space + 1);
      size_t question = target.find('?');
      request.path = target.substr(0, question);
      if (question != std::string::npos) request.query = target.substr(question + 1);
    } else if (line == "!token") {
      token_required = true;
    } else if (size_t colon = line.find(':'); colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      request.headers.emplace_back(line.substr(0, colon), value);
    }
  }
  check(gmr::conf().set_override("oslo_reports", "http_token", token_required ? kToken : "").empty(),
        "set the token");

  gmr::AdminResponse r = gmr::handle_admin_request(request);

  static const std::set<int> kStatuses = {200, 201, 302, 400, 401, 404, 405, 406};
  check(kStatuses.count(r.status) == 1, "a documented status (never 500)");
  check(header(r, "X-Content-Type-Options") == "nosniff", "nosniff");
  check(header(r, "Cache-Control") == "no-store", "no-store");
  check(r.status == 302 || !r.content_type.empty(), "a body has a type");
  if (r.content_type.rfind("text/html", 0) == 0) {
    check(header(r, "Content-Security-Policy").find("default-src 'none'") == 0, "CSP on HTML");
  }
  if (r.content_type.rfind("application/json", 0) == 0) {
    check(nlohmann::json::accept(r.body), "JSON parses");
  }
  if (token_required) {
    bool has_right_token = false;
    for (const auto& [name, value] : request.headers) {
      has_right_token |= value.find(kToken) != std::string::npos;
    }
    if (!has_right_token) check(r.status == 401, "no token, no answer");
  }
  if (r.status == 200 && request.path.rfind("/gmr/static/", 0) == 0) {
    const gmr::assets::Asset* css = gmr::assets::find("gmr.css");
    const gmr::assets::Asset* js = gmr::assets::find("gmr.js");
    check((css && r.body == css->data) || (js && r.body == js->data), "only the two assets");
  }
  if (input.find(kSecret) == std::string::npos) {
    check(r.body.find(kSecret) == std::string::npos, "the secret never shows");
    for (const auto& [name, value] : r.headers) {
      check(value.find(kSecret) == std::string::npos, "the secret never shows in a header");
    }
  }
  if (input.find(kToken) == std::string::npos) {
    check(r.body.find(kToken) == std::string::npos, "the token never shows");
  }
  if (r.status == 201) empty_log_dir();
  return 0;
}
