// Security defaults (issue #6, Hardening), each checked end to end:
//   - the endpoint binds loopback by default, and refuses any other host without a token;
//   - every route answers 401 without the right token, over a real socket;
//   - no secret value appears in any rendering: text, JSON, HTML, every section page,
//     report files, stderr, the Processes section's command lines (the service's own
//     and its children's, in every spelling the command line accepts);
//   - report files are mode 0600 whatever the umask, and stay inside log_dir;
//   - asset paths cannot climb out, however they are encoded;
//   - HTML responses carry a Content-Security-Policy, and every response nosniff.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "gmr/admin.hpp"
#include "gmr/gmr.hpp"
#include "hardening_support.hpp"
#include "internal.hpp"
#include "sections.hpp"

namespace {

using namespace std::chrono_literals;
using namespace hardening;
using Json = nlohmann::json;

const char* const kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = d ? readdir(d) : nullptr)
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") names.push_back(e->d_name);
  if (d) closedir(d);
  return names;
}

// The listening TCP sockets on `port`: their local addresses as /proc/net shows
// them ("0100007F" is 127.0.0.1; tcp6 addresses are 32 hex digits).
std::vector<std::string> listening_addresses(int port) {
  std::vector<std::string> out;
  char port_hex[8];
  std::snprintf(port_hex, sizeof port_hex, "%04X", port);
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::istringstream in(read_all(table));
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      size_t colon = local.find(':');
      if (state == "0A" && colon != std::string::npos && local.substr(colon + 1) == port_hex) {
        out.push_back(local.substr(0, colon));
      }
    }
  }
  return out;
}

// Each test that sets gmr up uses a configuration of its own, and shuts down.
class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gmr::register_report_opts(config_);
    set("http_port", "0");
  }
  void TearDown() override { gmr::shutdown(); }
  void set(const std::string& name, const std::string& value) {
    ASSERT_EQ(config_.set_override("oslo_reports", name, value), "") << name;
  }
  bool setup() {
    gmr::SetupOptions options;
    options.service_name = "security-test";
    options.config = &config_;
    options.report_signals = {SIGRTMIN + 11};  // never the test runner's SIGUSR1/2
    return gmr::setup_autorun_with_admin({"security-test", "gmr", "0"}, options);
  }
  gmr::Config config_;
};

// --- Binding ---------------------------------------------------------------

TEST_F(SecurityTest, BindsLoopbackOnlyByDefault) {
  gmr::Config fresh;
  gmr::register_report_opts(fresh);
  EXPECT_EQ(fresh.get_string("oslo_reports", "http_host"), "127.0.0.1");
  EXPECT_EQ(fresh.get_string("oslo_reports", "http_token"), "");

  testing::internal::CaptureStderr();
  ASSERT_TRUE(setup());
  std::string err = testing::internal::GetCapturedStderr();
  const int port = gmr::admin_port();
  ASSERT_GT(port, 0);
  EXPECT_NE(err.find("gmr: admin endpoint at http://127.0.0.1:" + std::to_string(port) + "/gmr"),
            std::string::npos);
  EXPECT_EQ(listening_addresses(port), std::vector<std::string>{"0100007F"})
      << "one listening socket, on 127.0.0.1 only";
}

TEST_F(SecurityTest, NonLoopbackHostsWithoutATokenAreRefusedAndNothingListens) {
  // Anything that is not literally loopback is refused, names included: a name
  // could resolve anywhere.
  for (const char* host : {"0.0.0.0", "::", "0", "", "192.0.2.1", "::ffff:192.0.2.1",
                           "localhost.", "127.0.0.1.nip.io", "0x7f000001", "127.1", "[::1]",
                           "10.0.0.1", "example.com"}) {
    SCOPED_TRACE(host);
    set("http_host", host);
    const auto before = listening_addresses(9911);
    testing::internal::CaptureStderr();
    EXPECT_FALSE(setup());
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("refusing to listen on '" + std::string(host) + "' without a token"),
              std::string::npos)
        << err;
    EXPECT_EQ(gmr::admin_port(), 0);
    gmr::shutdown();
  }
  // Loopback addresses need no token.
  for (const char* host : {"127.0.0.1", "::1", "localhost", "127.0.0.2"}) {
    SCOPED_TRACE(host);
    set("http_host", host);
    testing::internal::CaptureStderr();
    bool started = setup();
    std::string err = testing::internal::GetCapturedStderr();
    if (!started && err.find("cannot listen") != std::string::npos) {
      gmr::shutdown();
      continue;  // e.g. no IPv6 here: the host is allowed, the machine lacks it
    }
    EXPECT_TRUE(started) << err;
    EXPECT_GT(gmr::admin_port(), 0);
    gmr::shutdown();
  }
}

// --- Token -----------------------------------------------------------------

TEST_F(SecurityTest, EveryRouteAndMethodIsRefusedWithoutTheRightTokenOverHttp) {
  TempDir tmp;
  const std::string token = "tok-7Hq2-Zx91-LmP0";
  set("http_token", token);
  set("log_dir", tmp.path);
  ASSERT_TRUE(setup());
  const int port = gmr::admin_port();

  std::vector<std::pair<std::string, std::string>> requests;
  for (const gmr::AdminRoute& r : gmr::admin_routes()) {
    std::string path = r.path;
    for (auto [from, to] : {std::pair<std::string, std::string>{"{id}", "package"},
                            {"{name}", "gmr.css"}}) {
      if (size_t at = path.find(from); at != std::string::npos) path.replace(at, from.size(), to);
    }
    requests.emplace_back(r.method, path);
    if (r.method == "GET") requests.emplace_back("HEAD", path);
  }
  requests.emplace_back("GET", "/nope");
  requests.emplace_back("DELETE", "/gmr");
  requests.emplace_back("GET", "/gmr/static/../../etc/passwd");

  const std::vector<std::vector<std::string>> wrong = {
      {},
      {"Authorization: Bearer"},
      {"Authorization: Bearer "},
      {"Authorization: Bearer " + token.substr(0, token.size() - 1)},
      {"Authorization: Bearer " + token + "x"},
      {"Authorization: Bearer TOK-7HQ2-ZX91-LMP0"},
      {"Authorization: Basic " + token},
      {"Authorization: " + token},
      {"Authorization: Bearer " + token + " " + token},
      {"X-Auth-Token: " + token},
      {"Cookie: token=" + token},
  };
  for (const auto& [method, path] : requests) {
    for (const auto& headers : wrong) {
      SCOPED_TRACE(method + " " + path + (headers.empty() ? "" : " with " + headers[0]));
      HttpResult r = http_request(port, method, path + "?token=" + token, headers);
      EXPECT_EQ(r.status, 401);
      EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer");
      EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
      EXPECT_EQ(r.body.find(token), std::string::npos) << "the token is never echoed";
    }
    HttpResult ok = http_request(port, method, path, {"Authorization: Bearer " + token});
    EXPECT_NE(ok.status, 401) << method << " " << path;
    EXPECT_NE(ok.status, 0) << method << " " << path;
  }
  // Only the one authorised POST wrote a report.
  EXPECT_EQ(list_dir(tmp.path).size(), 1u);
}

// --- Secrets ---------------------------------------------------------------

// Secret values, each in a different place; some hold spaces, which a command
// line joined by spaces cannot tell from argument boundaries.
const std::string kFilePassword = "file-pw-Qx81";
const std::string kFileConnection = "postgresql://u:conn-pw-Wd55@db/x";
const std::string kCliPassword = "cli-pw-Kf27 with-tail-Ye63";     // one argument, "--x=VALUE"
const std::string kCliConnection = "cli-conn-Rt44 second-Ub19";     // two arguments, "--x VALUE"
const std::string kToken = "tok-Mz38-Np02";

// The pieces that must never show: every space-separated word of every secret.
std::vector<std::string> secret_words() {
  std::vector<std::string> words;
  for (const std::string& s : {kFilePassword, kFileConnection, kCliPassword, kCliConnection, kToken}) {
    std::istringstream in(s);
    for (std::string w; in >> w;) words.push_back(w);
  }
  words.push_back("conn-pw-Wd55");
  return words;
}

void expect_no_secret(const std::string& where, const std::string& output) {
  for (const std::string& word : secret_words()) {
    EXPECT_EQ(output.find(word), std::string::npos)
        << where << " shows secret '" << word << "':\n"
        << output.substr(output.find(word) > 300 ? output.find(word) - 300 : 0, 600);
  }
}

TEST(SecuritySecrets, NoSecretValueInAnyRenderingOfTheDemo) {
  TempDir tmp;
  const std::string log_dir = tmp.path + "/reports";
  ASSERT_EQ(mkdir(log_dir.c_str(), 0700), 0);
  const std::string conf = tmp.path + "/demo.conf";
  write_file(conf, "[demo]\nworkers = 2\n[database]\npassword = " + kFilePassword +
                       "\nconnection = " + kFileConnection + "\n[oslo_reports]\nlog_dir = " +
                       log_dir + "\n");
  // The command line wins over the file: both spellings, values with spaces.
  Demo demo({"--config-file", conf, "--database.password=" + kCliPassword, "--database.connection",
             kCliConnection, "--oslo_reports.http_token", kToken});
  ASSERT_TRUE(demo.wait_ready()) << demo.stderr_text();
  const int port = demo.port();
  const std::string bearer = "Authorization: Bearer " + kToken;

  // Its own command line holds the secrets (children's: the in-process test below).
  kill(demo.pid(), SIGUSR2);
  ASSERT_TRUE(wait_until([&] { return list_dir(log_dir).size() == 1; }));

  std::vector<std::pair<std::string, std::string>> outputs;
  for (const std::string format : {"json", "html", "text"}) {
    HttpResult r = http_get(port, "/gmr?format=" + format, {bearer});
    ASSERT_EQ(r.status, 200) << format;
    outputs.emplace_back("/gmr?format=" + format, r.head + r.body);
  }
  HttpResult list = http_get(port, "/gmr/sections", {bearer});
  ASSERT_EQ(list.status, 200);
  outputs.emplace_back("/gmr/sections", list.body);
  const Json sections = Json::parse(list.body)["sections"];
  for (const Json& s : sections) {
    for (const std::string format : {"json", "html", "text"}) {
      std::string target = "/gmr/sections/" + s["id"].get<std::string>() + "?format=" + format;
      HttpResult r = http_get(port, target, {bearer});
      EXPECT_EQ(r.status, 200) << target;
      outputs.emplace_back(target, r.head + r.body);
    }
  }
  HttpResult posted = http_request(port, "POST", "/gmr/reports", {bearer});
  EXPECT_EQ(posted.status, 201) << posted.body;
  outputs.emplace_back("POST /gmr/reports", posted.body);
  HttpResult refused = http_get(port, "/gmr", {"Authorization: Bearer " + kToken + "x"});
  EXPECT_EQ(refused.status, 401);
  outputs.emplace_back("401", refused.head + refused.body);
  EXPECT_TRUE(wait_until([&] { return list_dir(log_dir).size() == 2; }));
  for (const std::string& f : list_dir(log_dir)) {
    outputs.emplace_back(log_dir + "/" + f, read_all(log_dir + "/" + f));
  }
  EXPECT_EQ(demo.stop(), 0);
  outputs.emplace_back("stderr", demo.stderr_text());

  // The report does show the demo's own command line, masked.
  const std::string& json = outputs[0].second;
  EXPECT_NE(json.find("--database.password=*** --database.connection *** "
                      "--oslo_reports.http_token ***"),
            std::string::npos)
      << json.substr(json.find("\"command\""), 400);
  for (const auto& [where, output] : outputs) {
    ASSERT_FALSE(output.empty()) << where;
    expect_no_secret(where, output);
  }
}

TEST_F(SecurityTest, NoSecretValueInTheCommandLinesOfChildren) {
  config_.register_opts("database", {gmr::Opt::string("password", nullptr, "pw").as_secret()});
  config_.register_opt("DEFAULT", gmr::Opt::string("api_key", nullptr, "key").as_secret());
  ASSERT_TRUE(setup());
  // A child (a shell that stays, waiting for its sleep) holding the secrets on its
  // command line in every spelling.
  pid_t child = fork();
  if (child == 0) {
    setpgid(0, 0);  // its own group: the test kills the shell and its sleep together
    execl("/bin/sh", "sh", "-c", "sleep 30; :", "svc", ("--database.password=" + kCliPassword).c_str(),
          "--database.password", kCliConnection.c_str(), ("--api_key=" + kToken).c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(child, 0);
  setpgid(child, child);  // as the child does: whichever comes first
  ASSERT_TRUE(wait_until([&] {
    return read_all("/proc/" + std::to_string(child) + "/cmdline").find("--api_key") !=
           std::string::npos;
  }));
  gmr::Report report = gmr::collect({{"processes"}});
  kill(-child, SIGKILL);
  waitpid(child, nullptr, 0);
  ASSERT_EQ(report.sections.size(), 1u);
  std::string text = gmr::render_text(report);
  std::string json = gmr::render_json(report);
  EXPECT_NE(json.find("--database.password=*** --database.password *** --api_key=***"),
            std::string::npos)
      << json;
  expect_no_secret("Processes (text)", text);
  expect_no_secret("Processes (JSON)", json);
  for (const char* format : {"json", "html", "text"}) {
    gmr::AdminResponse r = gmr::handle_admin_request(
        {"GET", "/gmr/sections/processes", std::string("format=") + format, {}});
    expect_no_secret(std::string("/gmr/sections/processes?format=") + format, r.body);
  }
}

// --- Report files ----------------------------------------------------------

TEST_F(SecurityTest, ReportFilesAreMode0600WhateverTheUmaskAndStayInLogDir) {
  TempDir tmp;
  const mode_t old_umask = umask(0);
  std::vector<std::string> written;
  for (mode_t mask : {0000, 0022, 0077}) {
    umask(mask);
    written.push_back(gmr::emit_report("r\n", tmp.path, "svc", std::chrono::system_clock::now()));
  }
  // A service name cannot lead the file out of log_dir.
  written.push_back(
      gmr::emit_report("r\n", tmp.path, "../../etc/evil", std::chrono::system_clock::now()));
  umask(0);
  set("log_dir", tmp.path);
  ASSERT_TRUE(setup());
  gmr::AdminResponse posted = gmr::handle_admin_request({"POST", "/gmr/reports", "", {}});
  ASSERT_EQ(posted.status, 201) << posted.body;
  written.push_back(Json::parse(posted.body)["destination"]);
  written.push_back(gmr::write_report());
  umask(old_umask);

  ASSERT_EQ(list_dir(tmp.path).size(), written.size()) << "no temporary file is left";
  for (const std::string& path : written) {
    SCOPED_TRACE(path);
    EXPECT_EQ(path.rfind(tmp.path + "/", 0), 0u);
    EXPECT_EQ(path.find('/', tmp.path.size() + 1), std::string::npos) << "directly in log_dir";
    struct stat st{};
    ASSERT_EQ(lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u);
  }
}

// --- Assets ----------------------------------------------------------------

TEST_F(SecurityTest, AssetPathsCannotClimbOutHoweverEncoded) {
  ASSERT_TRUE(setup());
  const int port = gmr::admin_port();
  const std::string source = read_all(std::string(GMR_TESTS_SOURCE_FILE_DIR) + "/../CMakeLists.txt");
  const std::string css = read_all(std::string(GMR_TESTS_SOURCE_FILE_DIR) + "/../web/gmr.css");
  const std::vector<std::string> targets = {
      "/gmr/static/../../CMakeLists.txt",
      "/gmr/static/..%2f..%2fCMakeLists.txt",
      "/gmr/static/%2e%2e%2f%2e%2e%2fCMakeLists.txt",
      "/gmr/static/%252e%252e%252fCMakeLists.txt",
      "/gmr/static/..%5c..%5cCMakeLists.txt",
      "/gmr/static/%c0%ae%c0%ae%c0%afCMakeLists.txt",
      "/gmr/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
      "/gmr/static//etc/passwd",
      "/gmr/static/%2fetc%2fpasswd",
      "/gmr/static/gmr.css%00.png",
      "/gmr/static/gmr.css/../../../etc/passwd",
      "/gmr/static/./gmr.css",
      "/gmr/static/.%2fgmr.css",
      "/gmr/static/page.html",
      "/gmr/static/openapi.yaml",
      "/gmr/static/gmr.css.map",
      "/gmr/static/GMR.CSS",
      "/gmr/static/" + std::string(10000, 'a') + ".css",
      "/gmr/../CMakeLists.txt",
      "/../../../../etc/passwd",
      "/gmr/sections/..%2f..%2fetc%2fpasswd",
      "http://127.0.0.1/gmr/static/../../etc/passwd",
  };
  for (const std::string& target : targets) {
    SCOPED_TRACE(target.substr(0, 100));
    HttpResult r = http_get(port, target);
    EXPECT_TRUE(r.status == 404 || r.status == 400 || r.status == 414) << r.status << " " << r.head;
    EXPECT_EQ(r.body.find("root:"), std::string::npos);
    EXPECT_EQ(r.body.find("cmake_minimum_required"), std::string::npos);
    EXPECT_FALSE(!css.empty() && r.body == css);
  }
  HttpResult ok = http_get(port, "/gmr/static/gmr.css");
  EXPECT_EQ(ok.status, 200);
  EXPECT_TRUE(ok.body == css);
  ASSERT_FALSE(source.empty());
}

// --- Headers ---------------------------------------------------------------

TEST_F(SecurityTest, HtmlResponsesCarryTheirPolicyAndEveryResponseNosniffOverHttp) {
  ASSERT_TRUE(setup());
  const int port = gmr::admin_port();
  std::vector<std::pair<std::string, std::vector<std::string>>> html_requests = {
      {"/gmr", {"Accept: text/html"}},
      {"/gmr?format=html", {}},
      {"/gmr", {"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}},
  };
  for (const auto& [id, title] : gmr::section_list()) {
    html_requests.push_back({"/gmr/sections/" + id, {"Accept: text/html"}});
  }
  for (const auto& [target, headers] : html_requests) {
    for (const char* method : {"GET", "HEAD"}) {
      SCOPED_TRACE(std::string(method) + " " + target);
      HttpResult r = http_request(port, method, target, headers);
      ASSERT_EQ(r.status, 200) << r.head;
      EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
      EXPECT_EQ(r.header("Content-Security-Policy"), kCsp);
      EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
      EXPECT_EQ(r.header("Referrer-Policy"), "no-referrer");
      EXPECT_EQ(r.header("Cache-Control"), "no-store");
    }
  }
  for (const std::string target : {"/gmr", "/gmr?format=text", "/gmr/sections", "/nope",
                                    "/gmr/static/gmr.js", "/gmr/static/gmr.css", "/gmr/openapi.yaml",
                                    "/gmr?format=xml", "/"}) {
    SCOPED_TRACE(target);
    HttpResult r = http_get(port, target);
    ASSERT_NE(r.status, 0);
    EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(r.header("Cache-Control"), "no-store");
    EXPECT_EQ(r.header("Content-Type").find("text/html"), std::string::npos);
  }
  // A request line httplib itself refuses gets the same headers.
  HttpResult bad = http_request(port, "NONSENSE", "no-slash");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.header("X-Content-Type-Options"), "nosniff");
}

}  // namespace
