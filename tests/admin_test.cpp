// The admin endpoint (docs/admin-endpoint.md): most checks call
// handle_admin_request in-process; a few go through a real socket on a free port.
#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "gmr/admin.hpp"
#include "gmr/gmr.hpp"

namespace {

using Json = nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;
using namespace std::chrono_literals;

const gmr::Version kVersion{"admin-test", "gmr project", "0.0.1"};
constexpr const char* kJson = "application/json; charset=utf-8";
constexpr const char* kHtml = "text/html; charset=utf-8";
constexpr const char* kText = "text/plain; charset=utf-8";

// Sends one request in-process. `target` may hold a query: "/gmr?format=text".
gmr::AdminResponse call(const std::string& method, const std::string& target,
                        Headers headers = {}) {
  gmr::AdminRequest request;
  request.method = method;
  size_t question = target.find('?');
  request.path = target.substr(0, question);
  if (question != std::string::npos) request.query = target.substr(question + 1);
  request.headers = std::move(headers);
  return gmr::handle_admin_request(request);
}

gmr::AdminResponse get(const std::string& target, Headers headers = {}) {
  return call("GET", target, std::move(headers));
}

// Returns a response header's value, or "(absent)".
std::string header(const gmr::AdminResponse& response, const std::string& name) {
  for (const auto& [n, v] : response.headers)
    if (n == name) return v;
  return "(absent)";
}

// Checks the JSON error shape and returns its message.
std::string error_message(const gmr::AdminResponse& response) {
  EXPECT_EQ(response.content_type, kJson);
  Json body = Json::parse(response.body, nullptr, false);
  if (!body.is_object() || !body.contains("error")) {
    ADD_FAILURE() << "not an error document: " << response.body;
    return "";
  }
  EXPECT_EQ(body.size(), 1u) << response.body;
  EXPECT_EQ(body["error"]["code"], response.status) << response.body;
  return body["error"]["message"].get<std::string>();
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = d ? readdir(d) : nullptr)
    if (e->d_name[0] != '.') names.push_back(e->d_name);
  if (d) closedir(d);
  return names;
}

// A directory of the test's own, removed at the end.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/gmr-admin-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

// Sends a request line (and a Host header) as raw bytes to 127.0.0.1:port, and
// returns everything the server answers before it closes the connection.
std::string raw_http(int port, const std::string& request_line) {
  const std::string request = request_line + "\r\nHost: x\r\nConnection: close\r\n\r\n";
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)!write(fd, request.data(), request.size());
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    // The report's capture signal interrupts this thread too, and a read with
    // SO_RCVTIMEO is not restarted.
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

// Each test that sets gmr up uses a configuration of its own, and shuts down.
class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gmr::register_report_opts(config_);
    set("http_port", "0");  // never 9911: tests run side by side
  }
  void TearDown() override { gmr::shutdown(); }

  void set(const std::string& name, const std::string& value) {
    ASSERT_EQ(config_.set_override("oslo_reports", name, value), "") << name;
  }
  // Sets gmr up with this test's configuration; the endpoint only when `serve`.
  bool setup(bool serve) {
    set("http_enabled", serve ? "true" : "false");
    gmr::SetupOptions options;
    options.service_name = "admin-test";
    options.config = &config_;
    return gmr::setup_autorun_with_admin(kVersion, options);
  }

  gmr::Config config_;
};

// --- Routes ----------------------------------------------------------------

TEST(AdminRoutes, TableHasTheDocumentedRoutes) {
  std::set<std::pair<std::string, std::string>> got;
  for (const gmr::AdminRoute& r : gmr::admin_routes()) {
    EXPECT_FALSE(r.summary.empty()) << r.path;
    got.emplace(r.method, r.path);
  }
  std::set<std::pair<std::string, std::string>> expected = {
      {"GET", "/"},
      {"GET", "/gmr"},
      {"GET", "/gmr/sections"},
      {"GET", "/gmr/sections/{id}"},
      {"POST", "/gmr/reports"},
      {"GET", "/gmr/openapi.yaml"},
      {"GET", "/gmr/static/{name}"},
  };
  EXPECT_EQ(got, expected);
}

// Reads the (method, path) pairs of openapi.yaml's `paths:` (two-space paths,
// four-space methods), enough for this file's plain layout.
std::set<std::pair<std::string, std::string>> openapi_operations(const std::string& yaml) {
  std::set<std::pair<std::string, std::string>> ops;
  std::istringstream in(yaml);
  std::string line, path;
  bool in_paths = false;
  const std::regex path_line(R"(^  (/[^:]*):\s*$)");
  const std::regex method_line(R"(^    (get|put|post|delete|patch|options|head|trace):\s*$)");
  for (std::smatch m; std::getline(in, line);) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#') in_paths = line == "paths:";
    if (!in_paths) continue;
    if (std::regex_match(line, m, path_line)) {
      path = m[1];
    } else if (std::regex_match(line, m, method_line) && !path.empty()) {
      std::string method = m[1];
      for (char& c : method) c = static_cast<char>(toupper(c));
      ops.emplace(method, path);
    }
  }
  return ops;
}

TEST(AdminRoutes, TableAgreesWithTheOpenApiDocument) {
  gmr::AdminResponse doc = get("/gmr/openapi.yaml");
  ASSERT_EQ(doc.status, 200) << doc.body;
  EXPECT_EQ(doc.content_type, "application/yaml");
  EXPECT_EQ(doc.body.rfind("openapi: 3.1", 0), 0u);
  // The served document is the one in the source tree.
  const std::string source = std::string(GMR_TESTS_SOURCE_FILE_DIR) + "/../openapi/openapi.yaml";
  EXPECT_TRUE(doc.body == read_all(source))
      << "the served document is not openapi/openapi.yaml (a stale build?)";

  std::set<std::pair<std::string, std::string>> table;
  for (const gmr::AdminRoute& r : gmr::admin_routes()) table.emplace(r.method, r.path);
  auto documented = openapi_operations(doc.body);
  EXPECT_EQ(documented.size(), 7u) << "the parser of paths: found too little";
  EXPECT_EQ(table, documented);
  gmr::shutdown();
}

TEST(AdminRoutes, RootRedirectsRelativelyToTheReport) {
  gmr::AdminResponse r = get("/");
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(header(r, "Location"), "gmr");
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
}

TEST(AdminRoutes, UnknownPathsAre404InJsonWhateverWasAsked) {
  for (const char* path : {"/nope", "/gmr/", "/gmr/nope", "/gmr/sections/package/more", "//gmr",
                           "/GMR", "", "gmr"}) {
    gmr::AdminResponse r = get(path, {{"Accept", "text/html"}});
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_FALSE(error_message(r).empty()) << path;
  }
  EXPECT_EQ(error_message(get("/nope")), "nothing at /nope");
}

TEST(AdminRoutes, KnownPathsWithAnotherMethodAre405WithAllow) {
  struct Case {
    const char* method;
    const char* path;
    const char* allow;
  };
  for (const Case& c :
       {Case{"DELETE", "/gmr", "GET, HEAD"}, Case{"POST", "/gmr", "GET, HEAD"},
        Case{"PUT", "/gmr/sections/threads", "GET, HEAD"}, Case{"GET", "/gmr/reports", "POST"},
        Case{"HEAD", "/gmr/reports", "POST"}, Case{"DELETE", "/gmr/reports", "POST"},
        Case{"OPTIONS", "/", "GET, HEAD"}, Case{"POST", "/gmr/static/gmr.css", "GET, HEAD"},
        Case{"TRACE", "/gmr/openapi.yaml", "GET, HEAD"}}) {
    gmr::AdminResponse r = call(c.method, c.path);
    EXPECT_EQ(r.status, 405) << c.method << " " << c.path;
    EXPECT_EQ(header(r, "Allow"), c.allow) << c.method << " " << c.path;
    EXPECT_EQ(error_message(r),
              std::string("method ") + c.method + " is not allowed on " + c.path);
  }
}

TEST(AdminRoutes, HeadIsGetWithTheSameHeaders) {
  gmr::AdminResponse head = call("HEAD", "/gmr/sections");
  gmr::AdminResponse get_response = call("GET", "/gmr/sections");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.content_type, get_response.content_type);
  EXPECT_EQ(call("HEAD", "/nope").status, 404);
}

TEST(AdminRoutes, SectionListIsTheReportOrder) {
  std::string queue = gmr::register_section("Admin Queue", [] { return gmr::Value(1); });
  gmr::AdminResponse r = get("/gmr/sections", {{"Accept", "text/html"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, kJson);
  Json body = Json::parse(r.body);
  Json expected = Json::array();
  for (const auto& [id, title] : gmr::section_list()) {
    expected.push_back({{"id", id}, {"title", title}});
  }
  EXPECT_EQ(body, Json({{"sections", expected}}));
  EXPECT_EQ(body["sections"][0], Json({{"id", "package"}, {"title", "Package"}}));
  EXPECT_EQ(body["sections"].back()["id"], queue);
}

TEST(AdminRoutes, OneSectionInEachFormat) {
  gmr::AdminResponse json = get("/gmr/sections/package");
  ASSERT_EQ(json.status, 200) << json.body;
  EXPECT_EQ(json.content_type, kJson);
  Json section = Json::parse(json.body);
  EXPECT_EQ(section["id"], "package");
  EXPECT_EQ(section["title"], "Package");
  EXPECT_TRUE(section["data"].is_object());

  gmr::AdminResponse text = get("/gmr/sections/package?format=text");
  ASSERT_EQ(text.status, 200);
  EXPECT_EQ(text.content_type, kText);
  EXPECT_NE(text.body.find("Package"), std::string::npos);
  EXPECT_EQ(text.body.find("Threads"), std::string::npos) << "only the section asked for";
  EXPECT_NE(text.body.find("Guru Meditation"), std::string::npos) << "the text report's layout";

  gmr::AdminResponse html = get("/gmr/sections/processes", {{"Accept", "text/html"}});
  ASSERT_EQ(html.status, 200);
  EXPECT_EQ(html.content_type, kHtml);
  EXPECT_NE(html.body.find("data-section-id=\"processes\""), std::string::npos);
  EXPECT_EQ(html.body.find("data-section-id=\"threads\""), std::string::npos);
  EXPECT_NE(html.body.find("\"../static/gmr.css\""), std::string::npos) << "relative links";
  gmr::shutdown();
}

TEST(AdminRoutes, UnknownSectionIs404) {
  gmr::AdminResponse r = get("/gmr/sections/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_message(r), "no section 'nope'");
  EXPECT_EQ(get("/gmr/sections/%2e%2e").status, 404);
}

TEST(AdminRoutes, WholeReportAsHtmlLinksItsAssetsRelatively) {
  gmr::AdminResponse r = get("/gmr?format=html");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, kHtml);
  EXPECT_NE(r.body.find("\"gmr/static/gmr.css\""), std::string::npos);
  EXPECT_NE(r.body.find("\"gmr/static/gmr.js\""), std::string::npos);
  EXPECT_NE(r.body.find("<main id=\"report\""), std::string::npos);
  gmr::shutdown();
}

TEST(AdminRoutes, StaticServesOnlyTheEmbeddedStylesheetAndScript) {
  gmr::AdminResponse css = get("/gmr/static/gmr.css");
  ASSERT_EQ(css.status, 200);
  EXPECT_EQ(css.content_type, "text/css; charset=utf-8");
  EXPECT_TRUE(css.body == read_all(std::string(GMR_TESTS_SOURCE_FILE_DIR) + "/../web/gmr.css"))
      << "the served stylesheet is not web/gmr.css (a stale build?)";
  gmr::AdminResponse js = get("/gmr/static/gmr.js");
  ASSERT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");

  for (const char* path :
       {"/gmr/static/../CMakeLists.txt", "/gmr/static/%2e%2e/CMakeLists.txt",
        "/gmr/static/%2e%2e", "/gmr/static/%2E%2E%2FCMakeLists.txt", "/gmr/static/..%2fgmr.css",
        "/gmr/static/.%2Fgmr.css", "/gmr/static/..%5cgmr.css", "/gmr/static/gmr.css%00",
        "/gmr/static/%zz", "/gmr/static/", "/gmr/static/nope.css", "/gmr/static/page.html",
        "/gmr/static/openapi.yaml", "/gmr/static/CMakeLists.txt", "/gmr/static/gmr.css/x",
        "/gmr/static/%2Fetc%2Fpasswd"}) {
    gmr::AdminResponse r = get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.content_type, kJson) << path;
  }
  // Percent-encoded letters are still the same name.
  EXPECT_EQ(get("/gmr/static/gmr%2Ecss").status, 200);
}

// --- Content negotiation ---------------------------------------------------

TEST(AdminNegotiation, FormatFromAcceptAndQuery) {
  struct Case {
    const char* target;
    const char* accept;  // nullptr: no header
    int status;
    const char* type;
  };
  const Case cases[] = {
      {"/gmr", nullptr, 200, kJson},
      {"/gmr", "", 200, kJson},
      {"/gmr", "text/html", 200, kHtml},
      {"/gmr", "text/plain", 200, kText},
      {"/gmr", "text/html;q=0.1, application/json", 200, kJson},
      {"/gmr", "image/png", 406, kJson},
      {"/gmr?format=text", "text/html", 200, kText},
      {"/gmr?format=xml", nullptr, 400, kJson},
      {"/gmr/sections/package", "*/*", 200, kJson},
      {"/gmr/sections/package", "text/*", 200, kHtml},
      {"/gmr/sections/package", "text/plain, */*;q=0.5", 200, kText},
      {"/gmr/sections/package", "text/plain, */*", 200, kText},  // named beats wildcard
      {"/gmr/sections/package", "application/*;q=0.2, text/plain;q=0.3", 200, kText},
      {"/gmr/sections/package", "TEXT/HTML ; Q=1", 200, kHtml},
      {"/gmr/sections/package", "application/json;q=0, */*", 200, kHtml},
      {"/gmr/sections/package", "text/html;q=0", 406, kJson},
      {"/gmr/sections/package", "text/html;q=2, text/plain", 200, kText},  // bad q: ignored
      {"/gmr/sections/package", "nonsense", 406, kJson},
      {"/gmr/sections/package",
       "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8", 200, kHtml},
      {"/gmr/sections/package?format=json", "image/png", 200, kJson},
      {"/gmr/sections/package?format=html", nullptr, 200, kHtml},
      {"/gmr/sections/package?format=%74ext", nullptr, 200, kText},  // percent-decoded
      {"/gmr/sections/package?format=text&format=text", nullptr, 400, kJson},
      {"/gmr/sections/package?format=", nullptr, 400, kJson},
      {"/gmr/sections/package?format=JSON", nullptr, 400, kJson},
      {"/gmr/sections/package?format=%zz", nullptr, 400, kJson},
      {"/gmr/sections/package?colour=blue&&x", "text/plain", 200, kText},  // unknown: ignored
  };
  for (const Case& c : cases) {
    Headers headers;
    if (c.accept) headers.emplace_back("accept", c.accept);  // names in any case
    gmr::AdminResponse r = get(c.target, headers);
    std::string what = std::string(c.target) + " Accept: " + (c.accept ? c.accept : "(none)");
    EXPECT_EQ(r.status, c.status) << what << "\n" << r.body.substr(0, 200);
    EXPECT_EQ(r.content_type, c.type) << what;
    if (c.status != 200) {
      EXPECT_FALSE(error_message(r).empty()) << what;
    }
  }
  EXPECT_EQ(error_message(get("/gmr?format=xml")), "format must be json, html or text");
  gmr::shutdown();
}

TEST(AdminNegotiation, JsonReportIsTheWholeReport) {
  gmr::AdminResponse r = get("/gmr");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(header(r, "Vary"), "Accept");
  Json report = Json::parse(r.body);
  EXPECT_EQ(report["schema_version"], gmr::kSchemaVersion);
  std::vector<std::string> ids;
  for (const Json& s : report["sections"]) ids.push_back(s["id"]);
  std::vector<std::string> expected;
  for (const auto& [id, title] : gmr::section_list()) expected.push_back(id);
  EXPECT_EQ(ids, expected);
  gmr::shutdown();
}

// --- Headers ---------------------------------------------------------------

TEST(AdminHeaders, EveryResponseHasTheSecurityHeadersAndPagesTheirPolicy) {
  const std::string csp =
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
      "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
  std::vector<gmr::AdminResponse> responses = {
      get("/"),
      get("/gmr/sections"),
      get("/gmr/sections/package?format=text"),
      get("/gmr/sections/package?format=html"),
      get("/gmr/openapi.yaml"),
      get("/gmr/static/gmr.js"),
      get("/nope"),
      call("DELETE", "/gmr"),
      get("/gmr?format=xml"),
      get("/gmr", {{"Accept", "image/png"}}),
  };
  for (const gmr::AdminResponse& r : responses) {
    EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff") << r.status << r.content_type;
    EXPECT_EQ(header(r, "Cache-Control"), "no-store") << r.status << r.content_type;
    bool html = r.content_type == kHtml;
    EXPECT_EQ(header(r, "Content-Security-Policy"), html ? csp : "(absent)");
    EXPECT_EQ(header(r, "Referrer-Policy"), html ? "no-referrer" : "(absent)");
  }
  gmr::shutdown();
}

// --- Token -----------------------------------------------------------------

TEST_F(AdminTest, TokenIsRequiredWhenConfigured) {
  set("http_token", "s3cret-token");
  ASSERT_TRUE(setup(false));
  EXPECT_EQ(gmr::admin_port(), 0) << "http_enabled = false";

  for (const Headers& h : {Headers{}, Headers{{"Authorization", "Bearer wrong-token!"}},
                           Headers{{"Authorization", "Bearer s3cret-toke"}},
                           Headers{{"Authorization", "Bearer s3cret-token-and-more"}},
                           Headers{{"Authorization", "Basic czNjcmV0LXRva2Vu"}},
                           Headers{{"Authorization", "s3cret-token"}},
                           Headers{{"Authorization", "Bearer"}},
                           Headers{{"X-Token", "s3cret-token"}}}) {
    for (const char* path : {"/gmr/sections", "/nope", "/gmr/static/gmr.css"}) {
      gmr::AdminResponse r = get(path, h);
      EXPECT_EQ(r.status, 401) << path << (h.empty() ? "" : " " + h[0].second);
      EXPECT_EQ(header(r, "WWW-Authenticate"), "Bearer");
      EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
      EXPECT_FALSE(error_message(r).empty());
    }
  }
  EXPECT_EQ(call("POST", "/gmr/reports").status, 401) << "nothing written without the token";

  EXPECT_EQ(get("/gmr/sections", {{"Authorization", "Bearer s3cret-token"}}).status, 200);
  EXPECT_EQ(get("/gmr/sections", {{"authorization", "bearer  s3cret-token"}}).status, 200);
  EXPECT_EQ(get("/nope", {{"Authorization", "Bearer s3cret-token"}}).status, 404);
}

TEST_F(AdminTest, NoTokenConfiguredMeansNoneAsked) {
  ASSERT_TRUE(setup(false));
  EXPECT_EQ(get("/gmr/sections").status, 200);
  EXPECT_EQ(get("/gmr/sections", {{"Authorization", "Bearer anything"}}).status, 200);
}

// --- Start-up --------------------------------------------------------------

TEST_F(AdminTest, AnyAddressWithoutTokenIsRefusedAtStartUp) {
  for (const char* host : {"0.0.0.0", "::", "192.0.2.1", ""}) {
    set("http_host", host);
    testing::internal::CaptureStderr();
    EXPECT_FALSE(setup(true)) << host;
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("refusing to listen on '" + std::string(host) + "' without a token"),
              std::string::npos)
        << err;
    EXPECT_EQ(gmr::admin_port(), 0);
    gmr::shutdown();
  }
}

TEST_F(AdminTest, AnyAddressWithTokenStarts) {
  set("http_host", "0.0.0.0");
  set("http_token", "tok");
  ASSERT_TRUE(setup(true));
  EXPECT_GT(gmr::admin_port(), 0);
}

TEST_F(AdminTest, PortTakenIsRefusedWithItsReason) {
  // Hold a port, as another process would.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);

  set("http_port", std::to_string(port));
  testing::internal::CaptureStderr();
  EXPECT_FALSE(setup(true));
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("cannot listen on 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << err;
  EXPECT_EQ(gmr::admin_port(), 0);
  close(fd);
}

TEST_F(AdminTest, DisabledMeansNoServer) {
  testing::internal::CaptureStderr();
  ASSERT_TRUE(setup(false));
  EXPECT_EQ(testing::internal::GetCapturedStderr().find("admin endpoint at"), std::string::npos);
  EXPECT_EQ(gmr::admin_port(), 0);
}

// --- Through a real socket -------------------------------------------------

TEST_F(AdminTest, ServesOverHttpAndStopsOnShutdown) {
  TempDir tmp;
  set("log_dir", tmp.path);
  testing::internal::CaptureStderr();
  ASSERT_TRUE(setup(true));
  std::string err = testing::internal::GetCapturedStderr();
  const int port = gmr::admin_port();
  ASSERT_GT(port, 0);
  EXPECT_NE(err.find("gmr: admin endpoint at http://127.0.0.1:" + std::to_string(port) + "/gmr\n"),
            std::string::npos)
      << err;
  EXPECT_TRUE(setup(true)) << "a second call is harmless";
  EXPECT_EQ(gmr::admin_port(), port);

  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(10, 0);
  auto report = client.Get("/gmr");
  ASSERT_TRUE(report);
  EXPECT_EQ(report->status, 200);
  EXPECT_EQ(report->get_header_value("Content-Type"), kJson);
  EXPECT_EQ(report->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(report->get_header_value("Cache-Control"), "no-store");
  Json parsed = Json::parse(report->body);
  EXPECT_EQ(parsed["service"], "admin-test");
  // The endpoint's own threads are named, and report like any other thread.
  EXPECT_NE(report->body.find("gmr-admin"), std::string::npos);

  auto page = client.Get("/gmr", {{"Accept", "text/html"}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->get_header_value("Content-Type"), kHtml);
  EXPECT_FALSE(page->get_header_value("Content-Security-Policy").empty());

  auto missing = client.Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(Json::parse(missing->body)["error"]["code"], 404);

  auto deleted = client.Delete("/gmr");
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 405);
  EXPECT_EQ(deleted->get_header_value("Allow"), "GET, HEAD");

  // What httplib itself refuses gets the same JSON shape: a body too large.
  auto big = client.Post("/gmr/reports", std::string(100000, 'x'), "text/plain");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(big->get_header_value("Content-Type"), kJson);
  EXPECT_EQ(Json::parse(big->body)["error"]["code"], 413);

  // Raw bytes: no client tidies the path up, and methods httplib has no table for.
  std::string traversal = raw_http(port, "GET /gmr/static/../CMakeLists.txt HTTP/1.1");
  EXPECT_EQ(traversal.rfind("HTTP/1.1 404", 0), 0u) << traversal;
  EXPECT_NE(traversal.find("\"code\":404"), std::string::npos) << traversal;
  std::string encoded = raw_http(port, "GET /gmr/static/%2e%2e%2f%2e%2e%2fCMakeLists.txt HTTP/1.1");
  EXPECT_EQ(encoded.rfind("HTTP/1.1 404", 0), 0u) << encoded;
  std::string trace = raw_http(port, "TRACE /gmr HTTP/1.1");
  EXPECT_EQ(trace.rfind("HTTP/1.1 405", 0), 0u) << trace;
  EXPECT_NE(trace.find("Allow: GET, HEAD\r\n"), std::string::npos) << trace;
  // A bare "curl -X POST": no Content-Length, which means no body.
  std::string posted = raw_http(port, "POST /gmr/reports HTTP/1.1");
  EXPECT_EQ(posted.rfind("HTTP/1.1 201", 0), 0u) << posted;
  auto empty_post = client.Post("/gmr/reports", "", "text/plain");  // Content-Length: 0
  ASSERT_TRUE(empty_post);
  EXPECT_EQ(empty_post->status, 201) << empty_post->body;
  EXPECT_EQ(list_dir(tmp.path).size(), 2u);
  std::string garbage = raw_http(port, "NONSENSE");
  EXPECT_EQ(garbage.rfind("HTTP/1.1 400", 0), 0u) << garbage;
  EXPECT_NE(garbage.find("\"code\":400"), std::string::npos) << garbage;

  gmr::shutdown();
  EXPECT_EQ(gmr::admin_port(), 0);
  httplib::Client after("127.0.0.1", port);
  after.set_connection_timeout(1, 0);
  EXPECT_FALSE(after.Get("/gmr/sections")) << "nothing listens after shutdown";
}

TEST_F(AdminTest, TokenOverHttp) {
  set("http_token", "over-the-wire");
  ASSERT_TRUE(setup(true));
  httplib::Client client("127.0.0.1", gmr::admin_port());
  auto refused = client.Get("/gmr/sections");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(refused->get_header_value("WWW-Authenticate"), "Bearer");
  client.set_bearer_token_auth("over-the-wire");
  auto allowed = client.Get("/gmr/sections");
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 200);
}

// --- Shared collections ----------------------------------------------------

// A section that counts its collections and takes 200 ms, while `slow` is set.
std::atomic<int> slow_calls{0};
std::atomic<bool> slow{false};

const std::string& slow_section() {
  static const std::string id = gmr::register_section("Slow Counter", [] {
    if (slow) {
      ++slow_calls;
      std::this_thread::sleep_for(200ms);
    }
    return gmr::Value::map({{"calls", slow_calls.load()}});
  });
  return id;
}

TEST_F(AdminTest, ConcurrentRequestsShareOneCollection) {
  const std::string path = "/gmr/sections/" + slow_section();
  ASSERT_TRUE(setup(false));
  slow = true;
  slow_calls = 0;

  constexpr int kRequests = 8;
  std::vector<int> statuses(kRequests, 0);
  std::vector<std::string> bodies(kRequests);
  std::atomic<int> waiting{kRequests};
  std::vector<std::thread> threads;
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&, i] {
      --waiting;
      while (waiting > 0) std::this_thread::yield();  // all start together
      gmr::AdminResponse r = get(path);
      statuses[i] = r.status;
      bodies[i] = r.body;
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kRequests; ++i) EXPECT_EQ(statuses[i], 200) << bodies[i];
  EXPECT_GE(slow_calls.load(), 1);
  EXPECT_LE(slow_calls.load(), 2) << "8 concurrent requests should share a collection";

  // After it finished, a request collects anew: nothing is cached.
  const int before = slow_calls;
  gmr::AdminResponse again = get(path + "?format=text");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(slow_calls.load(), before + 1);
  // A different set of sections is a different collection.
  EXPECT_EQ(get("/gmr/sections/package").status, 200);
  EXPECT_EQ(slow_calls.load(), before + 1);
  slow = false;
}

// --- Writing a report ------------------------------------------------------

TEST_F(AdminTest, PostWritesTheReportToLogDirAndGetsWriteNothing) {
  TempDir tmp;
  set("log_dir", tmp.path);
  ASSERT_TRUE(setup(false));
  for (const char* path : {"/", "/gmr", "/gmr/sections", "/gmr/sections/package",
                           "/gmr/openapi.yaml", "/gmr/static/gmr.css", "/gmr/reports"}) {
    get(path);
  }
  EXPECT_TRUE(list_dir(tmp.path).empty()) << "no GET writes anything";

  gmr::AdminResponse r = call("POST", "/gmr/reports");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.content_type, kJson);
  Json body = Json::parse(r.body);
  ASSERT_TRUE(body["destination"].is_string());
  const std::string destination = body["destination"];
  EXPECT_EQ(destination.rfind(tmp.path + "/admin-test_gurumeditation_", 0), 0u) << destination;
  std::vector<std::string> files = list_dir(tmp.path);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(tmp.path + "/" + files[0], destination);
  EXPECT_NE(read_all(destination).find("Guru Meditation"), std::string::npos);
}

TEST_F(AdminTest, PostWithoutLogDirWritesToStderr) {
  ASSERT_TRUE(setup(false));
  testing::internal::CaptureStderr();
  gmr::AdminResponse r = call("POST", "/gmr/reports");
  std::string err = testing::internal::GetCapturedStderr();
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(Json::parse(r.body), Json({{"destination", "stderr"}}));
  EXPECT_NE(err.find("Guru Meditation"), std::string::npos);
}

}  // namespace
