// Tests of the text report: the whole report against a golden file written by hand from
// spec/text-report.md, and focused tests of each layout rule.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmr/report.hpp"
#include "gmr/value.hpp"

namespace gmr {
namespace {

const std::string kRule(72, '=');
const std::string kPipes(72, '|');

// ---------------------------------------------------------------------------------------
// Building data by hand.

// A frame with debug information (FILE:LINE); `source` is a string or null.
Value DebugFrame(const char* function, const char* file, int line, Value source) {
  return Value::map({{"address", "0x55d0c0a1b2c4"},
                     {"function", function},
                     {"file", file},
                     {"line", line},
                     {"object", "/srv/gmr/build/gmr-demo"},
                     {"offset", "0x1b2c4"},
                     {"source", std::move(source)}});
}

// A frame without debug information; `function`, `object` and `offset` may be null.
Value BinaryFrame(Value function, Value object, Value offset, const char* address) {
  return Value::map({{"address", address},
                     {"function", std::move(function)},
                     {"file", nullptr},
                     {"line", nullptr},
                     {"object", std::move(object)},
                     {"offset", std::move(offset)},
                     {"source", nullptr}});
}

Value Thread(int id, const char* name, const char* status, Value::List frames) {
  return Value::map({{"id", id},
                     {"name", name},
                     {"state", "sleeping"},
                     {"cpu_user_s", 0.12},
                     {"cpu_system_s", 0.01},
                     {"status", status},
                     {"frames", Value(std::move(frames))}});
}

Value GreenThread(const char* name, Value::List frames) {
  return Value::map({{"name", name},
                     {"state", "waiting"},
                     {"source", "test-scheduler"},
                     {"frames", Value(std::move(frames))}});
}

Value Process(int pid, int ppid, int uid, Value user, const char* state, Value::List children) {
  return Value::map({{"pid", pid},
                     {"ppid", ppid},
                     {"uid", uid},
                     {"user", std::move(user)},
                     {"state", state},
                     {"command", "/usr/bin/gmr-demo --config-file demo.conf"},
                     {"children", Value(std::move(children))}});
}

Value Option(const char* name, const char* type, Value value, bool secret = false) {
  return Value::map({{"name", name},
                     {"type", type},
                     {"default", nullptr},
                     {"value", std::move(value)},
                     {"help", "..."},
                     {"secret", secret},
                     {"source", "default"}});
}

Value Group(const char* name, Value::List options) {
  return Value::map({{"name", name}, {"options", Value(std::move(options))}});
}

Section PackageSection() {
  // Deliberately not in key order: the text sorts.
  return {"package", "Package",
          Value::map({{"version", "1.0.0"},
                      {"vendor", "Cheese Shoppe"},
                      {"product", "Sharp Cheddar"},
                      {"pid", "14756"},
                      {"gmr_version", "1.0.0"},
                      {"build_type", "Debug"}}),
          ""};
}

Section ThreadsSection() {
  const char* libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
  Value demo = Thread(14756, "gmr-demo", "self",
                      {DebugFrame("gmr::Reporter::capture()", "/srv/gmr/report/src/reporter.cpp",
                                  120, "auto threads = collect_threads();"),
                       DebugFrame("main", "/srv/gmr/demo/main.cpp", 42, nullptr),
                       BinaryFrame("__libc_start_call_main", libc, "0x271ca", "0x7f3a2c0271ca")});
  Value worker = Thread(
      14770, "worker-1", "ok",
      {BinaryFrame(nullptr, libc, "0x8f2a1", "0x7f3a2c08f2a1"),
       DebugFrame("app::Queue::wait(std::unique_lock<std::mutex>&)", "/srv/app/src/queue.hpp", 41,
                  nullptr),
       DebugFrame("app::Worker::run()", "/srv/app/src/worker.cpp", 88, "queue_.wait(lock);")});
  Value long_name = Thread(
      14771, "a-thread-with-a-remarkably-long-name-that-cannot-fit-in-the-banner", "ok",
      {BinaryFrame(nullptr, nullptr, nullptr, "0x7f3a2c0d1e2f"),
       BinaryFrame("execute_native_thread_routine", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
                   "0xd44a3", "0x7f3a2c1d44a3")});
  Value silent = Thread(14772, "", "not_responding", {});
  silent.set("status_detail", "no answer within 50 ms");
  Value blocked = Thread(14773, "io", "blocked", {});
  return {"threads", "Threads",
          Value::map({{"capture_signal", 37},
                      {"threads", Value::list({demo, worker, long_name, silent, blocked})}}),
          ""};
}

Section GreenThreadsSection() {
  Value fetcher = GreenThread(
      "fetcher", {DebugFrame("app::Fetcher::poll()", "/srv/app/src/fetcher.cpp", 30,
                             "co_await timer.sleep(1s);"),
                  DebugFrame("app::Fetcher::run()", "/srv/app/src/fetcher.cpp", 12, "poll();")});
  Value sources = Value::list(
      {Value::map({{"name", "test-scheduler"}, {"count", 2}}),
       Value::map(
           {{"name", "broken-scheduler"}, {"count", 0}, {"error", "listing fibers failed"}})});
  return {"green_threads", "Green Threads",
          Value::map({{"green_threads", Value::list({fetcher, GreenThread("", {})})},
                      {"sources", sources}}),
          ""};
}

Section ProcessesSection() {
  Value zombie = Process(14790, 14770, 1002, nullptr, "zombie", {});
  Value worker = Process(14770, 14756, 1001, "stack", "sleeping", {zombie});
  Value helper = Process(14771, 14756, 0, "root", "sleeping", {});
  return {
      "processes", "Processes",
      Value::map({{"processes",
                   Value::list({Process(14756, 1, 1001, "stack", "running", {worker, helper})})}}),
      ""};
}

Section ConfigurationSection() {
  // Groups and options deliberately out of order: the text sorts by the printed name.
  Value default_group = Group(
      "DEFAULT", {Option("workers", "integer", nullptr),
                  Option("transport_url", "string", "***", /*secret=*/true),
                  Option("ratio", "float", 1.5), Option("host", "string", "node-1"),
                  Option("enabled_backends", "list", Value::list({"lvm", "ceph", "nfs"})),
                  Option("debug", "boolean", true), Option("banner", "string", "Welcome\nto gmr")});
  Value api_database =
      Group("api_database", {Option("max_retries", "integer", 10),
                             Option("connection", "string", "***", /*secret=*/true)});
  Value oslo_reports =
      Group("oslo_reports", {Option("password", "string", nullptr, /*secret=*/true),
                             Option("log_dir", "string", "/var/log/gmr"),
                             Option("file_event_handler", "string", nullptr)});
  return {"configuration", "Configuration",
          Value::map({{"groups", Value::list({default_group, api_database, oslo_reports})}}), ""};
}

Report SampleReport() {
  Report report;
  report.service = "gmr-demo";
  report.generated_at = "2026-11-21T22:01:00.123Z";
  report.duration_ms = 12.5;
  report.sections = {PackageSection(), ThreadsSection(), GreenThreadsSection(), ProcessesSection(),
                     ConfigurationSection()};
  report.sections.push_back(
      {"cheese_inventory", "Cheese Inventory",
       Value::map({{"cheddar", Value::list({"sharp", "mild"})},
                   {"american", Value::list({"yellow", "orange"})},
                   {"warehouse", Value::map({{"shelves", Value::map({{"top", 1}, {"bottom", 2}})},
                                             {"city", "Paris"}})},
                   {"count", 4},
                   {"open", false},
                   {"note", nullptr}}),
       ""});
  report.sections.push_back(
      {"recent_events", "Recent Events",
       Value::list({"worker-2 stopped", "worker-1 started", "line one\nline two"}), ""});
  report.sections.push_back({"work_queue", "Work Queue", nullptr, "generator threw: boom"});
  report.sections.push_back(
      {"connections", "Connections", Value::map({{"open", 3}}), "timed out after 100 ms"});
  report.sections.push_back({"uptime", "Uptime", "3 days, 4:05:06", ""});
  return report;
}

// ---------------------------------------------------------------------------------------
// Reading the output.

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Returns the body of the report's only section: what follows its banner.
std::string BodyOf(const Section& section) {
  Report report;
  report.sections = {section};
  const std::string text = render_text(report);
  const std::size_t start = render_text(Report{}).size() + 3 * (72 + 1);  // + the banner
  return text.size() >= start ? text.substr(start) : "<short: " + text + ">";
}

std::string ThreadsBody(Value::List threads) {
  return BodyOf({"threads", "Threads", Value::map({{"threads", Value(std::move(threads))}}), ""});
}

std::string GreenThreadsBody(Value::List threads) {
  return BodyOf({"green_threads", "Green Threads",
                 Value::map({{"green_threads", Value(std::move(threads))}}), ""});
}

// ---------------------------------------------------------------------------------------
// The whole report.

TEST(RenderTextTest, WholeReportMatchesGoldenFile) {
  const std::string golden = ReadFile(std::string(GMR_GOLDEN_DIR) + "/report.txt");
  ASSERT_FALSE(golden.empty()) << "cannot read " << GMR_GOLDEN_DIR << "/report.txt";
  EXPECT_EQ(render_text(SampleReport()), golden);
}

TEST(RenderTextTest, EveryLineEndsInNewLineAndEveryBannerIs72Wide) {
  const std::string text = render_text(SampleReport());
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  int banners = 0;
  for (const std::string& line : Lines(text)) {
    if (line.rfind("====", 0) == 0 || line.rfind("------", 0) == 0 || line.rfind("||", 0) == 0) {
      ++banners;
      EXPECT_EQ(line.size(), 72u) << line;
    }
  }
  EXPECT_EQ(banners, 3 * 11 + 1 + 7);  // 11 title banners, the pipes, 7 sub-banners
}

TEST(RenderTextTest, EmptyReportIsTheBannerThePipesAndTwoEmptyLines) {
  EXPECT_EQ(render_text(Report{}),
            kRule + "\n====                        Guru Meditation                         ====\n" +
                kRule + "\n" + kPipes + "\n\n\n");
}

// ---------------------------------------------------------------------------------------
// Banners.

std::string TitleLine(const std::string& title) {
  Report report;
  report.sections = {{"x", title, nullptr, ""}};
  const std::vector<std::string> lines = Lines(render_text(report));
  return lines.size() > 7 ? lines[7] : "<missing>";
}

TEST(RenderTextTest, OddPaddingPutsTheExtraSpaceRight) {
  // 64 - 7 = 57: 28 spaces left, 29 right.
  EXPECT_EQ(TitleLine("Package"),
            "====" + std::string(28, ' ') + "Package" + std::string(29, ' ') + "====");
}

TEST(RenderTextTest, EvenPaddingIsEqualOnBothSides) {
  EXPECT_EQ(TitleLine("Work Queue"),
            "====" + std::string(27, ' ') + "Work Queue" + std::string(27, ' ') + "====");
}

TEST(RenderTextTest, TitleBannerIsThreeLinesOf72) {
  Report report;
  report.sections = {{"x", "T", nullptr, ""}};
  const std::vector<std::string> lines = Lines(render_text(report));
  ASSERT_GE(lines.size(), 9u);
  EXPECT_EQ(lines[6], kRule);
  EXPECT_EQ(lines[8], kRule);
  EXPECT_EQ(lines[7].size(), 72u);
}

TEST(RenderTextTest, TitleTooLongIsShortenedToKeep72) {
  const std::string title(100, 'x');
  EXPECT_EQ(TitleLine(title), "====" + std::string(61, 'x') + "...====");
}

TEST(RenderTextTest, TitleWidthCountsCharactersNotBytes) {
  // "Fromage affiné" is 14 characters, 15 bytes: 25 spaces each side.
  EXPECT_EQ(
      TitleLine("Fromage affin\xC3\xA9"),
      "====" + std::string(25, ' ') + "Fromage affin\xC3\xA9" + std::string(25, ' ') + "====");
}

TEST(RenderTextTest, TitleWithNewLineStaysOnOneLine) {
  EXPECT_EQ(TitleLine("two\nlines"),
            "====" + std::string(27, ' ') + "two\\nlines" + std::string(27, ' ') + "====");
}

TEST(RenderTextTest, ThreadSubBannerCentresIdAndName) {
  const std::string body = ThreadsBody({Thread(4242, "worker-3", "ok", {})});
  // " Thread #4242 (worker-3) " is 25 characters: 17 spaces left, 18 right.
  EXPECT_EQ(Lines(body).at(0), "------" + std::string(17, ' ') + " Thread #4242 (worker-3) " +
                                   std::string(18, ' ') + "------");
}

TEST(RenderTextTest, ThreadSubBannerLeavesOutEmptyName) {
  const std::string body = ThreadsBody({Thread(4242, "", "ok", {})});
  // " Thread #4242 " is 14 characters: 23 spaces each side.
  EXPECT_EQ(Lines(body).at(0),
            "------" + std::string(23, ' ') + " Thread #4242 " + std::string(23, ' ') + "------");
}

TEST(RenderTextTest, ThreadSubBannerIs72WideForAnyNameLength) {
  for (std::size_t length = 0; length <= 120; ++length) {
    const std::string name(length, 'n');
    const std::string line = Lines(ThreadsBody({Thread(140417215, name.c_str(), "ok", {})})).at(0);
    EXPECT_EQ(line.size(), 72u) << "name length " << length << ": " << line;
    EXPECT_EQ(line.find("..."), length > 38 ? line.find(" Thread") + 55 : std::string::npos)
        << line;
  }
}

TEST(RenderTextTest, LongThreadNameIsShortenedWithEllipsis) {
  const std::string name(80, 'w');
  EXPECT_EQ(Lines(ThreadsBody({Thread(42, name.c_str(), "ok", {})})).at(0),
            "------ Thread #42 (" + std::string(42, 'w') + "...) ------");
}

TEST(RenderTextTest, LongMultiByteThreadNameIsCutBetweenCharacters) {
  std::string name;
  for (int i = 0; i < 50; ++i) name += "\xC3\xA9";  // é
  const std::string line = Lines(ThreadsBody({Thread(42, name.c_str(), "ok", {})})).at(0);
  std::string kept;
  for (int i = 0; i < 42; ++i) kept += "\xC3\xA9";
  EXPECT_EQ(line, "------ Thread #42 (" + kept + "...) ------");
}

TEST(RenderTextTest, ThreadNameWithNewLineStaysOnOneLine) {
  const std::string line = Lines(ThreadsBody({Thread(42, "a\nb", "ok", {})})).at(0);
  EXPECT_NE(line.find("(a\\nb)"), std::string::npos) << line;
  EXPECT_EQ(line.size(), 72u);
}

TEST(RenderTextTest, GreenThreadSubBanner) {
  const std::string body = GreenThreadsBody({GreenThread("fetcher", {}), GreenThread("", {})});
  const std::vector<std::string> lines = Lines(body);
  ASSERT_GE(lines.size(), 6u);
  EXPECT_EQ(lines[0], "------" + std::string(18, ' ') + " Green Thread (fetcher) " +
                          std::string(18, ' ') + "------");
  EXPECT_EQ(lines[4],
            "------" + std::string(23, ' ') + " Green Thread " + std::string(23, ' ') + "------");
}

TEST(RenderTextTest, LongGreenThreadNameIsShortened) {
  const std::string name(70, 'g');
  EXPECT_EQ(Lines(GreenThreadsBody({GreenThread(name.c_str(), {})})).at(0),
            "------ Green Thread (" + std::string(40, 'g') + "...) ------");
}

// ---------------------------------------------------------------------------------------
// Frames.

TEST(RenderTextTest, FramesAreOutermostFirst) {
  const std::string body = ThreadsBody({Thread(
      1, "t", "ok",
      {DebugFrame("inner()", "/a.cpp", 3, nullptr), DebugFrame("middle()", "/a.cpp", 2, nullptr),
       DebugFrame("outer()", "/a.cpp", 1, nullptr)})});
  const std::size_t outer = body.find("/a.cpp:1 in outer()");
  const std::size_t middle = body.find("/a.cpp:2 in middle()");
  const std::size_t inner = body.find("/a.cpp:3 in inner()");
  ASSERT_NE(outer, std::string::npos);
  ASSERT_NE(middle, std::string::npos);
  ASSERT_NE(inner, std::string::npos);
  EXPECT_LT(outer, middle);
  EXPECT_LT(middle, inner);
}

TEST(RenderTextTest, FrameShowsSourceInBackquotesThenEmptyLine) {
  const std::string body =
      ThreadsBody({Thread(1, "", "ok", {DebugFrame("f()", "/x.cpp", 7, "int x = 1;")})});
  EXPECT_EQ(body.substr(body.find('\n') + 1), "\n/x.cpp:7 in f()\n    `int x = 1;`\n\n");
}

TEST(RenderTextTest, FrameWithoutSourceSaysSourceNotFound) {
  const std::string body =
      ThreadsBody({Thread(1, "", "ok", {DebugFrame("f()", "/x.cpp", 7, nullptr)})});
  EXPECT_EQ(body.substr(body.find('\n') + 1), "\n/x.cpp:7 in f()\n    (source not found)\n\n");
}

TEST(RenderTextTest, FrameWithoutFileShowsObjectPlusOffset) {
  const std::string body =
      ThreadsBody({Thread(1, "", "ok",
                          {BinaryFrame("pthread_cond_wait", "/usr/lib/x86_64-linux-gnu/libc.so.6",
                                       "0x8f2a1", "0x7f00008f2a1")})});
  EXPECT_NE(body.find("\n/usr/lib/x86_64-linux-gnu/libc.so.6+0x8f2a1 in pthread_cond_wait\n"
                      "    (source not found)\n"),
            std::string::npos)
      << body;
}

TEST(RenderTextTest, FrameWithFileButNoLineShowsObjectPlusOffset) {
  Value frame = DebugFrame("f()", "/x.cpp", 1, nullptr);
  frame.set("line", nullptr);
  const std::string body = ThreadsBody({Thread(1, "", "ok", {frame})});
  EXPECT_NE(body.find("\n/srv/gmr/build/gmr-demo+0x1b2c4 in f()\n"), std::string::npos) << body;
}

TEST(RenderTextTest, FrameWithoutObjectShowsAddressAndNullFunctionShowsQuestionMarks) {
  const std::string body =
      ThreadsBody({Thread(1, "", "ok", {BinaryFrame(nullptr, nullptr, nullptr, "0x7f12")})});
  EXPECT_NE(body.find("\n0x7f12 in ??\n    (source not found)\n"), std::string::npos) << body;
}

TEST(RenderTextTest, FrameWithNothingKnownStillPrints) {
  const std::string body = ThreadsBody({Thread(1, "", "ok", {Value::map()})});
  EXPECT_NE(body.find("\n?? in ??\n    (source not found)\n"), std::string::npos) << body;
}

TEST(RenderTextTest, ThreadWithoutFramesSaysNoTraceback) {
  EXPECT_EQ(Lines(ThreadsBody({Thread(1, "", "blocked", {})})),
            (std::vector<std::string>{Lines(ThreadsBody({Thread(1, "", "ok", {})})).at(0), "",
                                      "No Traceback!", ""}));
}

TEST(RenderTextTest, NoTracebackIsFollowedByTheStatusDetail) {
  Value thread = Thread(1, "", "not_responding", {});
  thread.set("status_detail", "no answer within 50 ms");
  const std::vector<std::string> lines = Lines(ThreadsBody({thread}));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[2], "No Traceback!");
  EXPECT_EQ(lines[3], "    no answer within 50 ms");
  EXPECT_EQ(lines[4], "");
}

TEST(RenderTextTest, MultiLineStatusDetailKeepsItsIndentation) {
  Value thread = Thread(1, "", "not_responding", {});
  thread.set("status_detail", "first\nsecond");
  const std::vector<std::string> lines = Lines(ThreadsBody({thread}));
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[3], "    first");
  EXPECT_EQ(lines[4], "    second");
}

// ---------------------------------------------------------------------------------------
// Processes.

TEST(RenderTextTest, ProcessesIndentFourSpacesPerLevel) {
  Value leaf = Process(4, 3, 0, "root", "sleeping", {});
  Value tree = Process(
      1, 0, 0, "root", "running",
      {Process(2, 1, 0, "root", "sleeping", {}), Process(3, 1, 7, nullptr, "disk sleep", {leaf})});
  EXPECT_EQ(
      BodyOf({"processes", "Processes", Value::map({{"processes", Value::list({tree})}}), ""}),
      "Process 1 (under 0) [ run by: root (0), state: running ]\n"
      "    Process 2 (under 1) [ run by: root (0), state: sleeping ]\n"
      "    Process 3 (under 1) [ run by: 7 (7), state: disk sleep ]\n"
      "        Process 4 (under 3) [ run by: root (0), state: sleeping ]\n");
}

// ---------------------------------------------------------------------------------------
// Configuration.

std::string ConfigurationBody(Value::List groups) {
  return BodyOf(
      {"configuration", "Configuration", Value::map({{"groups", Value(std::move(groups))}}), ""});
}

TEST(RenderTextTest, ConfigurationSortsGroupsByPrintedName) {
  EXPECT_EQ(
      ConfigurationBody({Group("DEFAULT", {Option("b", "integer", 2), Option("a", "integer", 1)}),
                         Group("cache", {}), Group("api", {})}),
      "\napi: \ncache: \ndefault: \n  a = 1\n  b = 2\n");
}

TEST(RenderTextTest, ConfigurationScalarsArePythonLike) {
  EXPECT_EQ(
      ConfigurationBody({Group("g", {Option("a", "boolean", false), Option("b", "string", nullptr),
                                     Option("c", "float", 0.25)})}),
      "\ng: \n  a = False\n  b = None\n  c = 0.25\n");
}

TEST(RenderTextTest, ConfigurationSecretNeverShowsItsValue) {
  // The collector redacts; the renderer does not trust it to.
  EXPECT_EQ(ConfigurationBody({Group("g", {Option("a", "string", "hunter2", /*secret=*/true),
                                           Option("b", "string", nullptr, /*secret=*/true)})}),
            "\ng: \n  a = ***\n  b = None\n");
}

TEST(RenderTextTest, ConfigurationListItemsAreIndentedFourSpaces) {
  EXPECT_EQ(ConfigurationBody({Group("g", {Option("hosts", "list", Value::list({"b", "a"})),
                                           Option("none", "list", Value::list())})}),
            "\ng: \n  hosts = \n    b\n    a\n  none = \n");
}

// ---------------------------------------------------------------------------------------
// Registered sections and errors.

TEST(RenderTextTest, RegisteredMappingSortsKeysAndListItems) {
  EXPECT_EQ(BodyOf({"cheese", "Cheese",
                    Value::map({{"cheddar", Value::list({"sharp", "mild"})},
                                {"american", Value::list({"yellow", "orange"})}}),
                    ""}),
            "american = \n  orange\n  yellow\ncheddar = \n  mild\n  sharp\n");
}

TEST(RenderTextTest, RegisteredNestedMappingsIndentTwoSpacesPerLevel) {
  EXPECT_EQ(
      BodyOf({"x", "X",
              Value::map(
                  {{"a", Value::map({{"b", Value::map({{"c", 1}})}, {"l", Value::list({2, 1})}})}}),
              ""}),
      "a = \n  b = \n    c = 1\n  l = \n    1\n    2\n");
}

TEST(RenderTextTest, RegisteredListOfMappingsHeadsEachWithDict) {
  EXPECT_EQ(BodyOf({"x", "X",
                    Value::list({Value::map({{"name", "b"}}), Value::map({{"name", "a"}})}), ""}),
            "[dict]\n  name = a\n[dict]\n  name = b\n");
}

TEST(RenderTextTest, RegisteredScalarPrintsItself) {
  EXPECT_EQ(BodyOf({"x", "X", 42, ""}), "42\n");
  EXPECT_EQ(BodyOf({"x", "X", nullptr, ""}), "None\n");
}

TEST(RenderTextTest, MultiLineValueIsIndentedBelowItsKey) {
  EXPECT_EQ(BodyOf({"x", "X", Value::map({{"motd", "hello\nworld"}, {"z", 1}}), ""}),
            "motd = \n  hello\n  world\nz = 1\n");
}

TEST(RenderTextTest, KeyWithNewLineStaysOnOneLine) {
  EXPECT_EQ(BodyOf({"x", "X", Value::map({{"a\nb", 1}}), ""}), "a\\nb = 1\n");
}

TEST(RenderTextTest, ErrorWithoutDataShowsOnlyTheError) {
  EXPECT_EQ(BodyOf({"x", "X", nullptr, "generator threw: boom"}), "ERROR: generator threw: boom\n");
}

TEST(RenderTextTest, ErrorFollowsPartialData) {
  EXPECT_EQ(ThreadsBody({}), "");
  const std::string body = BodyOf(
      {"threads", "Threads", Value::map({{"threads", Value::list({Thread(9, "", "blocked", {})})}}),
       "capture timed out"});
  EXPECT_EQ(body.substr(body.find('\n')), "\n\nNo Traceback!\n\nERROR: capture timed out\n");
}

TEST(RenderTextTest, MultiLineErrorIsIndentedBelowItsHead) {
  EXPECT_EQ(BodyOf({"x", "X", nullptr, "first\nsecond"}), "ERROR: \n  first\n  second\n");
}

TEST(RenderTextTest, FailedSectionLeavesTheRestOfTheReportIntact) {
  Report report;
  report.sections = {{"bad", "Bad", nullptr, "boom"}, {"good", "Good", Value::map({{"k", 1}}), ""}};
  const std::string text = render_text(report);
  EXPECT_NE(text.find("ERROR: boom\n" + kRule + "\n"), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - 6), "k = 1\n");
}

TEST(RenderTextTest, UnexpectedShapesRenderWithoutThrowing) {
  Report report;
  report.sections = {
      {"threads", "Threads", "not a mapping", ""},
      {"threads", "Threads", Value::map({{"threads", Value::list({1, "x", Value::list()})}}), ""},
      {"green_threads", "Green Threads", Value::map({{"sources", 3}}), ""},
      {"processes", "Processes", Value::map({{"processes", Value::list({Value::map()})}}), ""},
      {"configuration", "Configuration",
       Value::map({{"groups", Value::list({1, Value::map({{"options", "x"}})})}}), ""},
  };
  std::string text;
  EXPECT_NO_THROW(text = render_text(report));
  EXPECT_NE(text.find("\nnot a mapping\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nProcess None (under None) [ run by: None (None), state: None ]\n"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace gmr
