// Tests of the HTML page (server/src/render_html.cpp): the hooks of the contract in
// docs/admin-endpoint.md, escaping of every kind of value, the CSP rules (no inline script,
// no style or on* attribute anywhere), relative links, secrets, failed sections and the
// one-pass filling of web/page.html.
#include "render_html.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "assets.hpp"
#include "gmr/report.hpp"
#include "gmr/value.hpp"

namespace gmr {
namespace {

// A string that breaks out of text, of either kind of quoted attribute, and of a tag.
const std::string kHostile = "<script>alert(\"x\" & 'y')</script>\" onmouseover=\"evil()";

// ---------------------------------------------------------------------------------------
// Building data by hand.

Value Frame(const char* function, const char* file, int line, Value source, bool inlined = false) {
  return Value::map({{"address", "0x55d0c0a1b2c4"},
                     {"function", function},
                     {"file", file},
                     {"line", line},
                     {"object", "/usr/bin/gmr-demo"},
                     {"offset", "0x1b2c4"},
                     {"source", std::move(source)},
                     {"inlined", inlined}});
}

Value BinaryFrame(Value function, Value object, Value offset, Value address) {
  return Value::map({{"address", std::move(address)},
                     {"function", std::move(function)},
                     {"file", nullptr},
                     {"line", nullptr},
                     {"object", std::move(object)},
                     {"offset", std::move(offset)},
                     {"source", nullptr},
                     {"inlined", false}});
}

Value Thread(int id, const std::string& name, const char* status = "ok") {
  Value thread = Value::map({{"id", id},
                             {"name", name},
                             {"state", "sleeping"},
                             {"cpu_user_s", 0.12},
                             {"cpu_system_s", 0.01},
                             {"status", status}});
  Value::List frames;
  if (std::string_view(status) == "ok" || std::string_view(status) == "self") {
    frames.push_back(Frame("__futex_abstimed_wait_common", "futex-internal.c", 57, nullptr));
    frames.push_back(Frame("std::condition_variable::wait", "condition_variable.h", 98,
                           "__cond.wait(__lock);", true));
    frames.push_back(Frame("demo::Worker::run()", "demo.cpp", 42, "queue_.pop(item);"));
  } else {
    thread.set("status_detail", "no answer within 100 ms");
  }
  thread.set("frames", Value(std::move(frames)));
  return thread;
}

Section ThreadsSection(int count) {
  Value threads = Value::List{};
  for (int i = 0; i < count; ++i)
    threads.push_back(Thread(1000 + i, "worker-" + std::to_string(i)));
  return {"threads", "Threads",
          Value::map({{"capture_signal", 37},
                      {"capture_signal_name", "SIGRTMIN+3"},
                      {"threads", std::move(threads)}}),
          ""};
}

Section GreenThreadsSection() {
  Value thread =
      Value::map({{"name", "fetcher"},
                  {"state", "waiting"},
                  {"source", "test-scheduler"},
                  {"frames", Value::list({Frame("fetch()", "fetch.cpp", 7, "co_await x;")})},
                  {"details", Value::map({{"retries", 2}})}});
  return {"green_threads", "Green Threads",
          Value::map(
              {{"green_threads", Value::list({thread})},
               {"sources", Value::list({Value::map({{"name", "test-scheduler"}, {"count", 1}})})}}),
          ""};
}

Value Process(int pid, int ppid, Value::List children) {
  return Value::map({{"pid", pid},
                     {"ppid", ppid},
                     {"uid", 1001},
                     {"user", "stack"},
                     {"state", "running"},
                     {"command", "/usr/bin/gmr-demo --config-file demo.conf"},
                     {"children", Value(std::move(children))}});
}

Section ProcessesSection() {
  Value child = Process(200, 100, {Process(300, 200, {})});
  return {"processes", "Processes",
          Value::map({{"processes", Value::list({Process(100, 1, {child})})}}), ""};
}

Value Option(const char* name, Value value, Value default_value, bool secret = false) {
  return Value::map({{"name", name},
                     {"type", "string"},
                     {"default", std::move(default_value)},
                     {"value", std::move(value)},
                     {"help", "Help for " + std::string(name)},
                     {"secret", secret},
                     {"source", "/etc/demo.conf:3"}});
}

Section ConfigurationSection() {
  Value database = Value::map({{"name", "database"},
                               {"options", Value::list({Option("connection", "sqlite://", nullptr),
                                                        Option("password", "***", "***", true)})}});
  Value defaults = Value::map(
      {{"name", "DEFAULT"},
       {"options", Value::list({Option("debug", true, false),
                                Option("hosts", Value::list({"a", "b"}), Value::List{})})}});
  return {"configuration", "Configuration",
          Value::map({{"groups", Value::list({defaults, database})}}), ""};
}

Section PackageSection() {
  return {"package", "Package",
          Value::map({{"product", "gmr-demo"}, {"version", "1.2.3"}, {"pid", 100}}), ""};
}

Section RegisteredSection() {
  return {"work_queue", "Work Queue",
          Value::map({{"depth", 3},
                      {"items", Value::list({"a", "b"})},
                      {"limits", Value::map({{"max", 10}, {"ratio", 0.5}})},
                      {"owner", nullptr}}),
          ""};
}

Report FullReport(int thread_count = 3) {
  Report report;
  report.service = "gmr-demo";
  report.generated_at = "2026-11-21T22:01:00.123Z";
  report.duration_ms = 12.5;
  report.sections = {PackageSection(),   ThreadsSection(thread_count), GreenThreadsSection(),
                     ProcessesSection(), ConfigurationSection(),       RegisteredSection()};
  return report;
}

// Returns the member `key` of a mapping, for changing it (fails the test when absent).
Value& At(Value& map, std::string_view key) {
  for (auto& [k, v] : map.as_map()) {
    if (k == key) return v;
  }
  ADD_FAILURE() << "no member " << key;
  static Value none;
  return none;
}

// Returns thread number `index` of the report's threads section.
Value& ThreadAt(Report& report, std::size_t index);

Section* Find(Report& report, std::string_view id) {
  for (Section& section : report.sections) {
    if (section.id == id) return &section;
  }
  return nullptr;
}

Value& ThreadAt(Report& report, std::size_t index) {
  return At(Find(report, "threads")->data, "threads").as_list().at(index);
}

// ---------------------------------------------------------------------------------------
// Reading the page.

std::size_t Count(std::string_view haystack, std::string_view needle) {
  std::size_t count = 0;
  for (std::size_t i = haystack.find(needle); i != std::string_view::npos;
       i = haystack.find(needle, i + needle.size())) {
    ++count;
  }
  return count;
}

struct Tag {
  std::string name;  // lower case; "/div" for a closing tag
  std::vector<std::pair<std::string, std::string>> attributes;  // value "" when bare
  std::string raw;
};

// Returns every tag of the page, in order. Outside tags the renderer escapes every '<', so
// each raw '<' starts a tag; inside tags every value is double-quoted and escaped. A tag
// that does not parse so is reported as a failure.
std::vector<Tag> Tags(const std::string& page) {
  std::vector<Tag> tags;
  static const std::regex kAttribute(R"re(^\s+([^\s=/>"']+)(="([^"]*)")?)re");
  for (std::size_t i = page.find('<'); i != std::string::npos; i = page.find('<', i + 1)) {
    if (page.compare(i, 2, "<!") == 0) continue;  // <!DOCTYPE html>
    const std::size_t end = page.find('>', i);
    if (end == std::string::npos) {
      ADD_FAILURE() << "unterminated tag at " << i;
      break;
    }
    Tag tag;
    tag.raw = page.substr(i, end + 1 - i);
    std::size_t k = i + 1;
    while (k < end && !std::isspace(static_cast<unsigned char>(page[k]))) {
      tag.name += static_cast<char>(std::tolower(static_cast<unsigned char>(page[k])));
      ++k;
    }
    std::string rest = page.substr(k, end - k);
    std::smatch match;
    while (std::regex_search(rest, match, kAttribute)) {
      tag.attributes.emplace_back(match[1].str(), match[3].str());
      rest = match.suffix();
    }
    if (rest.find_first_not_of(" \t\n/") != std::string::npos) {
      ADD_FAILURE() << "unparsed rest '" << rest << "' in " << tag.raw;
    }
    tags.push_back(std::move(tag));
  }
  return tags;
}

bool HasAttribute(const Tag& tag, std::string_view name) {
  for (const auto& attribute : tag.attributes) {
    if (attribute.first == name) return true;
  }
  return false;
}

// Returns whether `s` is well-formed UTF-8.
bool IsUtf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80             ? 1
                    : (c & 0xE0) == 0xC0 ? 2
                    : (c & 0xF0) == 0xE0 ? 3
                    : (c & 0xF8) == 0xF0 ? 4
                                         : 0;
    if (n == 0 || (n == 2 && c < 0xC2) || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// The contract's hooks.

TEST(RenderHtmlTest, SkeletonComesFromEmbeddedPage) {
  ASSERT_NE(assets::find("page.html"), nullptr);
  ASSERT_NE(assets::find("gmr.css"), nullptr);
  ASSERT_NE(assets::find("gmr.js"), nullptr);
  const std::string page = render_html(FullReport());
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(page.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_NE(page.find("name=\"viewport\""), std::string::npos);
}

TEST(RenderHtmlTest, HasTheHooksOfTheContract) {
  const std::string page = render_html(FullReport());
  for (const char* hook : {
           "<main id=\"report\" data-service=\"gmr-demo\" "
           "data-generated-at=\"2026-11-21T22:01:00.123Z\">",
           "<div id=\"toolbar\"",
           "<input id=\"thread-filter\" type=\"search\"",
           "id=\"thread-count\"",
           "id=\"expand-all\"",
           "id=\"collapse-all\"",
           "id=\"copy-json\"",
           "id=\"download-json\"",
           "id=\"refresh\"",
           "<section class=\"gmr-section\" id=\"section-threads\" data-section-id=\"threads\">",
           "<section class=\"gmr-section\" id=\"section-work_queue\" "
           "data-section-id=\"work_queue\">",
           "<h2>Work Queue",
           "<details class=\"thread\" data-thread-id=\"1000\" data-thread-name=\"worker-0\" "
           "data-status=\"ok\"",
           "<summary>",
           "<ol class=\"frames\"",
           "<li class=\"frame\"",
           "<span class=\"function\">demo::Worker::run()</span>",
           "<span class=\"location\"",
           ">demo.cpp:42</span>",
           "<code class=\"source\">queue_.pop(item);</code>",
           "<details class=\"green-thread\" data-thread-name=\"fetcher\"",
           "<ul class=\"process-tree\">",
           "<li class=\"process\" data-pid=\"100\">",
           "<table class=\"config-group\" data-group=\"DEFAULT\">",
           "<tr class=\"option\" data-option=\"debug\">",
           "<dl class=\"value-map\"><dt>depth</dt><dd>",
           "<ul class=\"value-list\"><li>",
       }) {
    EXPECT_NE(page.find(hook), std::string::npos) << hook;
  }
  // The toolbar starts hidden: the script shows it.
  for (const Tag& tag : Tags(page)) {
    if (tag.raw.find("id=\"toolbar\"") != std::string::npos) {
      EXPECT_TRUE(HasAttribute(tag, "hidden"));
    }
  }
}

TEST(RenderHtmlTest, HeaderShowsServiceTimeDurationAndFormats) {
  const std::string page = render_html(FullReport());
  EXPECT_NE(page.find("<title>gmr-demo: Guru Meditation</title>"), std::string::npos);
  EXPECT_NE(page.find("<span class=\"service\">gmr-demo</span>"), std::string::npos);
  EXPECT_NE(page.find("datetime=\"2026-11-21T22:01:00.123Z\">2026-11-21 22:01:00.123 UTC</time>"),
            std::string::npos);
  EXPECT_NE(page.find("12.5&nbsp;ms"), std::string::npos);
  EXPECT_NE(page.find("href=\"?format=json\""), std::string::npos);
  EXPECT_NE(page.find("href=\"?format=text\""), std::string::npos);
}

TEST(RenderHtmlTest, EverySectionIsRenderedInOrder) {
  const Report report = FullReport();
  const std::string page = render_html(report);
  EXPECT_EQ(Count(page, "<section class=\"gmr-section\""), report.sections.size());
  std::size_t previous = 0;
  for (const Section& section : report.sections) {
    const std::size_t at = page.find("data-section-id=\"" + section.id + "\"");
    ASSERT_NE(at, std::string::npos) << section.id;
    EXPECT_GT(at, previous) << section.id;
    previous = at;
    // The table of contents links to it.
    EXPECT_NE(page.find("<a href=\"#section-" + section.id + "\">"), std::string::npos);
  }
}

TEST(RenderHtmlTest, TagsAreBalanced) {
  const std::string page = render_html(FullReport(30));
  static const std::vector<std::string> kVoid = {"meta", "link", "input", "br", "hr", "img"};
  std::vector<std::string> open;
  for (const Tag& tag : Tags(page)) {
    if (std::find(kVoid.begin(), kVoid.end(), tag.name) != kVoid.end()) continue;
    if (tag.name[0] != '/') {
      open.push_back(tag.name);
      continue;
    }
    ASSERT_FALSE(open.empty()) << tag.raw;
    ASSERT_EQ("/" + open.back(), tag.name) << "closing " << tag.raw;
    open.pop_back();
  }
  EXPECT_TRUE(open.empty());
}

// ---------------------------------------------------------------------------------------
// Threads.

TEST(RenderHtmlTest, ThreadCountEqualsThreadsInData) {
  for (int count : {0, 1, 20, 21, 30}) {
    const std::string page = render_html(FullReport(count));
    EXPECT_EQ(Count(page, "<details class=\"thread\""), static_cast<std::size_t>(count));
    EXPECT_EQ(Count(page, "<details class=\"green-thread\""), 1u);
    const std::string summary = std::to_string(count) + (count == 1 ? " thread," : " threads,");
    EXPECT_NE(page.find(summary), std::string::npos) << summary;
  }
}

TEST(RenderHtmlTest, ThreadsAreOpenOnlyWhenFew) {
  const auto open_threads = [](const std::string& page) {
    std::size_t open = 0;
    for (const Tag& tag : Tags(page)) {
      if (tag.raw.rfind("<details class=\"thread\"", 0) == 0 && HasAttribute(tag, "open")) ++open;
    }
    return open;
  };
  EXPECT_EQ(open_threads(render_html(FullReport(20))), 20u);
  EXPECT_EQ(open_threads(render_html(FullReport(21))), 0u);
}

TEST(RenderHtmlTest, FramesAreInnermostFirstWithInlinedMarked) {
  const std::string page = render_html(FullReport(1));
  const std::size_t innermost = page.find(">__futex_abstimed_wait_common<");
  const std::size_t inlined = page.find(">std::condition_variable::wait<");
  const std::size_t outermost = page.find(">demo::Worker::run()<");
  ASSERT_NE(innermost, std::string::npos);
  EXPECT_LT(innermost, inlined);
  EXPECT_LT(inlined, outermost);
  EXPECT_NE(page.find("<ol class=\"frames\" start=\"0\">"), std::string::npos);
  // Only the inlined frame is marked (one thread: one inlined frame).
  EXPECT_EQ(Count(page, "<li class=\"frame\" data-inlined=\"true\">"), 1u);
  const std::size_t mark = page.find("data-inlined=\"true\"");
  EXPECT_LT(mark, inlined);
  EXPECT_GT(mark, innermost);
  EXPECT_NE(page.find("<span class=\"badge badge-inlined\">inlined</span>"), std::string::npos);
}

TEST(RenderHtmlTest, FrameLocationFallsBack) {
  Report report = FullReport(0);
  Value thread = Thread(7, "t");
  thread.set("frames", Value::list({
                           BinaryFrame("f1", "/lib/libc.so.6", "0x8f2a1", "0x7f00"),
                           BinaryFrame(nullptr, nullptr, nullptr, "0x7f01"),
                           BinaryFrame(nullptr, nullptr, nullptr, nullptr),
                       }));
  Find(report, "threads")->data.set("threads", Value::list({thread}));
  const std::string page = render_html(report);
  EXPECT_NE(page.find(">/lib/libc.so.6+0x8f2a1</span>"), std::string::npos);
  EXPECT_NE(page.find(">0x7f01</span>"), std::string::npos);
  EXPECT_NE(page.find(">?\?</span>"), std::string::npos);
  EXPECT_EQ(Count(page, "<span class=\"function unknown\">?\?</span>"), 2u);
}

TEST(RenderHtmlTest, ThreadStatusesShowTheirDetail) {
  Report report = FullReport(0);
  Value threads = Value::list({Thread(1, "main", "self"), Thread(2, "stuck", "not_responding"),
                               Thread(3, "masked", "blocked")});
  threads.as_list()[0].set("frames", Value::list({Frame("gmr::capture", "c.cpp", 1, nullptr)}));
  threads.as_list()[2].set("status_detail", "blocks " + kHostile);
  Find(report, "threads")->data.set("threads", threads);
  const std::string page = render_html(report);
  EXPECT_NE(page.find("data-thread-name=\"stuck\" data-status=\"not_responding\""),
            std::string::npos);
  EXPECT_NE(page.find("data-thread-name=\"masked\" data-status=\"blocked\""), std::string::npos);
  EXPECT_NE(page.find("data-thread-name=\"main\" data-status=\"self\""), std::string::npos);
  EXPECT_NE(page.find("<span class=\"badge badge-status\">not responding</span>"),
            std::string::npos);
  EXPECT_NE(page.find("<span class=\"badge badge-status\">reporting thread</span>"),
            std::string::npos);
  // Each thread that could not be captured says why, and has no frames.
  const auto body_of = [&page](const std::string& name) {
    const std::size_t start = page.find("data-thread-name=\"" + name + "\"");
    return start == std::string::npos ? std::string()
                                      : page.substr(start, page.find("</details>", start) - start);
  };
  EXPECT_NE(body_of("stuck").find("<p class=\"status-detail\">no answer within 100 ms</p>"),
            std::string::npos);
  EXPECT_NE(body_of("masked").find("<p class=\"status-detail\">blocks &lt;script&gt;"),
            std::string::npos);
  for (const char* name : {"stuck", "masked"}) {
    EXPECT_EQ(body_of(name).find("class=\"frames\""), std::string::npos) << name;
  }
  EXPECT_NE(body_of("main").find(">gmr::capture</span>"), std::string::npos);
  EXPECT_EQ(body_of("main").find("status-detail"), std::string::npos);
}

TEST(RenderHtmlTest, GroupedViewComesFirstWithASwitchToTheFlatList) {
  Report report = FullReport(6);
  const auto member = [](int id) {
    return Value::map({{"id", id}, {"name", "w" + std::to_string(id)}});
  };
  Value frames = At(ThreadAt(report, 0), "frames");
  Find(report, "threads")
      ->data.set(
          "groups",
          Value::list(
              {Value::map({{"count", 5},
                           {"members", Value::list({member(1000), member(1001), member(1002),
                                                    member(1003), member(1004)})},
                           {"frames", frames}}),
               Value::map(
                   {{"count", 1}, {"members", Value::list({member(1005)})}, {"frames", frames}})}));
  const std::string page = render_html(report);
  EXPECT_EQ(Count(page, "<details class=\"thread\""), 6u);
  // The grouped view lists every stack once, a stack of one thread too.
  EXPECT_EQ(Count(page, "<details class=\"stack-group\""), 2u);
  EXPECT_NE(page.find("<details class=\"stack-group\" data-count=\"5\" open>"), std::string::npos);
  EXPECT_NE(page.find(">5 threads<"), std::string::npos);
  EXPECT_NE(page.find(">1 thread<"), std::string::npos);
  EXPECT_NE(page.find("1000 (w1000), 1001 (w1001), 1002 (w1002), 1003 (w1003) and 1 more"),
            std::string::npos);
  EXPECT_NE(page.find("<p class=\"group-members-all\">1000 (w1000), 1001 (w1001), 1002 (w1002), "
                      "1003 (w1003), 1004 (w1004)</p>"),
            std::string::npos);
  EXPECT_NE(page.find("1005 (w1005)"), std::string::npos);
  EXPECT_NE(page.find("1 shared stack</p>"), std::string::npos);
  // The grouped view comes before the flat list, inside the views the switch drives; the
  // switch is hidden until the script shows it.
  const size_t views = page.find("<div class=\"thread-views\" data-view=\"grouped\">");
  const size_t groups = page.find("<div class=\"stack-groups\" id=\"threads-grouped\">");
  const size_t flat = page.find("<div class=\"threads\">");
  ASSERT_NE(views, std::string::npos);
  EXPECT_LT(views, groups);
  EXPECT_LT(groups, flat);
  EXPECT_NE(page.find("<div class=\"view-switch\" role=\"group\" aria-label=\"View\" hidden>"),
            std::string::npos);
  EXPECT_NE(page.find("data-view=\"flat\" aria-pressed=\"false\">All threads</button>"),
            std::string::npos);
}

TEST(RenderHtmlTest, SummarySaysWhereTheThreadIs) {
  Report report = FullReport(0);
  Value thread = Thread(7, "t");
  // The C library's frame has no file, the inlined one is skipped: the first real frame
  // with a file is where the thread is.
  thread.set("frames", Value::list({BinaryFrame("epoll_wait", "/lib/libc.so.6", "0x1", "0x2"),
                                    Frame("std::wait<T>", "mutex.h", 3, nullptr, true),
                                    Frame("demo::Loop::run()", "loop.cpp", 9, nullptr),
                                    Frame("main", "main.cpp", 1, nullptr)}));
  Value bare = Thread(8, "u");
  bare.set("frames", Value::list({BinaryFrame("epoll_wait", "/lib/libc.so.6", "0x1", "0x2")}));
  At(Find(report, "threads")->data, "threads") = Value::list({thread, bare});
  const std::string page = render_html(report);
  EXPECT_NE(page.find("<span class=\"thread-where\" title=\"demo::Loop::run()\">in "
                      "demo::Loop::run()</span></summary>"),
            std::string::npos);
  EXPECT_NE(page.find(">in epoll_wait</span></summary>"), std::string::npos);
}

// ---------------------------------------------------------------------------------------
// Other sections.

TEST(RenderHtmlTest, ProcessesAreANestedTree) {
  const std::string page = render_html(FullReport());
  EXPECT_EQ(Count(page, "<ul class=\"process-tree\">"), 3u);
  const std::size_t parent = page.find("data-pid=\"100\"");
  const std::size_t child = page.find("data-pid=\"200\"");
  const std::size_t grandchild = page.find("data-pid=\"300\"");
  ASSERT_NE(parent, std::string::npos);
  ASSERT_LT(parent, child);
  ASSERT_LT(child, grandchild);
  // Each is inside the one before: a list opens between them and no item closes.
  for (auto [outer, inner] : {std::pair(parent, child), std::pair(child, grandchild)}) {
    const std::string between = page.substr(outer, inner - outer);
    EXPECT_NE(between.find("<ul class=\"process-tree\">"), std::string::npos);
    EXPECT_EQ(between.find("</li>"), std::string::npos);
  }
  EXPECT_NE(page.find("/usr/bin/gmr-demo --config-file demo.conf"), std::string::npos);
  EXPECT_NE(page.find("run by stack (1001)"), std::string::npos);
}

TEST(RenderHtmlTest, ConfigurationIsATablePerGroup) {
  const std::string page = render_html(FullReport());
  EXPECT_EQ(Count(page, "<table class=\"config-group\""), 2u);
  EXPECT_EQ(Count(page, "<tr class=\"option\""), 4u);
  EXPECT_NE(page.find("data-group=\"database\""), std::string::npos);
  EXPECT_NE(page.find("<span class=\"scalar bool\">True</span>"), std::string::npos);
  // A list value is a list.
  EXPECT_NE(page.find("<ul class=\"value-list\"><li><span class=\"scalar string\">a</span></li>"),
            std::string::npos);
}

TEST(RenderHtmlTest, SecretsStayMasked) {
  Report report = FullReport();
  Value& groups = At(Find(report, "configuration")->data, "groups");
  Value& database = groups.as_list()[1];
  // A collector that failed to redact must not leak through the page either.
  database.set("options", Value::list({Option("password", "***", "***", true),
                                       Option("token", "hunter2", "s3cr3t", true),
                                       Option("unset", nullptr, nullptr, true)}));
  const std::string page = render_html(report);
  EXPECT_EQ(page.find("hunter2"), std::string::npos);
  EXPECT_EQ(page.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(Count(page, ">***</span>"), 4u);
  EXPECT_NE(page.find("<tr class=\"option\" data-option=\"password\" data-secret=\"true\">"),
            std::string::npos);
  // Unset stays unset.
  const std::size_t unset = page.find("data-option=\"unset\"");
  ASSERT_NE(unset, std::string::npos);
  EXPECT_NE(page.find("<span class=\"scalar null\">None</span>", unset), std::string::npos);
}

TEST(RenderHtmlTest, RegisteredSectionsAreNestedLists) {
  const std::string page = render_html(FullReport());
  EXPECT_NE(page.find("<dt>items</dt><dd><ul class=\"value-list\"><li>"
                      "<span class=\"scalar string\">a</span></li>"),
            std::string::npos);
  EXPECT_NE(page.find("<dt>limits</dt><dd><dl class=\"value-map\"><dt>max</dt><dd>"
                      "<span class=\"scalar number\">10</span></dd><dt>ratio</dt><dd>"
                      "<span class=\"scalar number\">0.5</span>"),
            std::string::npos);
  EXPECT_NE(page.find("<dt>owner</dt><dd><span class=\"scalar null\">None</span>"),
            std::string::npos);
}

TEST(RenderHtmlTest, FailedSectionShowsItsErrorAndOthersAreIntact) {
  Report report = FullReport(5);
  report.sections.push_back({"broken", "Broken", nullptr, "generator threw: boom"});
  Section partial{"partial", "Partial", Value::map({{"seen", 1}}), "timed out"};
  report.sections.insert(report.sections.begin(), partial);
  const std::string page = render_html(report);
  EXPECT_NE(page.find("<p class=\"section-error\">Error: generator threw: boom</p>"),
            std::string::npos);
  // Partial data is shown under its error.
  const std::size_t error = page.find("<p class=\"section-error\">Error: timed out</p>");
  ASSERT_NE(error, std::string::npos);
  EXPECT_GT(page.find("<dt>seen</dt>"), error);
  EXPECT_EQ(Count(page, "class=\"section-error\""), 2u);
  EXPECT_EQ(Count(page, "<details class=\"thread\""), 5u);
  EXPECT_EQ(Count(page, "<section class=\"gmr-section\""), report.sections.size());
  EXPECT_NE(page.find("<li class=\"failed\"><a href=\"#section-broken\">"), std::string::npos);
}

TEST(RenderHtmlTest, OneSectionPageHasNoTableOfContents) {
  Report report = FullReport();
  report.sections = {ConfigurationSection()};
  const std::string page = render_html(report, {"../static/"});
  EXPECT_EQ(page.find("class=\"toc\""), std::string::npos);
  EXPECT_NE(page.find("<title>Configuration · gmr-demo: Guru Meditation</title>"),
            std::string::npos);
  EXPECT_EQ(Count(page, "<section class=\"gmr-section\""), 1u);
}

TEST(RenderHtmlTest, AnyShapeOfDataRenders) {
  Report report;
  report.sections = {
      {"threads", "Threads", Value::map({{"threads", Value::list({1, "x", Value::map({})})}}), ""},
      {"green_threads", "Green", Value::map({{"green_threads", "no"}, {"sources", 3}}), ""},
      {"processes", "Processes", Value::map({{"processes", Value::list({nullptr})}}), ""},
      {"configuration", "Configuration", Value::map({{"groups", Value::list({1})}}), ""},
      {"threads", "Threads as a list", Value::list({1, 2}), ""},
      {"x", "Scalar", 3.25, ""},
      {"y", "Empty", Value::map({}), ""},
  };
  Value deep = 1;
  for (int i = 0; i < 200; ++i) deep = Value::list({deep});
  report.sections.push_back({"deep", "Deep", deep, ""});
  std::string page;
  ASSERT_NO_THROW(page = render_html(report));
  EXPECT_EQ(Count(page, "<section class=\"gmr-section\""), report.sections.size());
  EXPECT_NE(page.find("(nested too deep)"), std::string::npos);
  EXPECT_NE(page.find("<span class=\"scalar number\">3.25</span>"), std::string::npos);
}

// ---------------------------------------------------------------------------------------
// Escaping and what the CSP forbids.

TEST(HtmlEscapeTest, EscapesTheFiveCharacters) {
  EXPECT_EQ(html_escape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
  EXPECT_EQ(html_escape(""), "");
  EXPECT_EQ(html_escape("&amp;"), "&amp;amp;");
  EXPECT_EQ(html_escape("tab\tline\nreturn\r"), "tab\tline\nreturn\r");
}

TEST(HtmlEscapeTest, KeepsValidUtf8) {
  const std::string text = "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF";
  EXPECT_EQ(html_escape(text), text);
}

TEST(HtmlEscapeTest, ReplacesInvalidUtf8AndControls) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(html_escape("a\xFF"
                        "b"),
            "a" + fffd + "b");
  EXPECT_EQ(html_escape("\xC3"), fffd);                                   // truncated
  EXPECT_EQ(html_escape("\xE6\x97<"), fffd + fffd + "&lt;");              // truncated, then ASCII
  EXPECT_EQ(html_escape("\xC0\xAF"), fffd + fffd);                        // overlong '/'
  EXPECT_EQ(html_escape("\xE0\x80\xAF"), fffd + fffd + fffd);             // overlong
  EXPECT_EQ(html_escape("\xED\xA0\x80"), fffd + fffd + fffd);             // surrogate
  EXPECT_EQ(html_escape("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // > U+10FFFF
  EXPECT_EQ(html_escape("\x80"), fffd);                                   // lone continuation
  EXPECT_EQ(html_escape(std::string("a\0b", 3)), "a" + fffd + "b");
  EXPECT_EQ(html_escape("\x01\x7F"), fffd + fffd);
}

// A report with the hostile string in every kind of place a value can go.
Report HostileReport() {
  Report report = FullReport(2);
  report.service = kHostile;
  report.generated_at = kHostile;
  ThreadAt(report, 0).set("name", kHostile);
  At(ThreadAt(report, 0), "frames").as_list()[0].set("function", kHostile);
  Value& groups = At(Find(report, "configuration")->data, "groups");
  groups.as_list()[1].set("name", kHostile);
  groups.as_list()[1].set("options", Value::list({Option("connection", kHostile, kHostile)}));
  Section& registered = *Find(report, "work_queue");
  registered.title = kHostile;
  registered.data.set(kHostile, kHostile);
  Section failed{"failed", kHostile, nullptr, kHostile};
  report.sections.push_back(failed);
  return report;
}

TEST(RenderHtmlTest, EscapesValuesEverywhere) {
  const std::string page = render_html(HostileReport());
  const std::string escaped = html_escape(kHostile);
  EXPECT_EQ(page.find(kHostile), std::string::npos);
  EXPECT_EQ(page.find("<script>"), std::string::npos);
  EXPECT_EQ(page.find("onmouseover=\""), std::string::npos);
  EXPECT_NE(page.find("<span class=\"service\">" + escaped + "</span>"), std::string::npos);
  EXPECT_NE(page.find("data-service=\"" + escaped + "\""), std::string::npos);
  EXPECT_NE(page.find("data-thread-name=\"" + escaped + "\""), std::string::npos);
  EXPECT_NE(page.find("<span class=\"thread-name\">" + escaped + "</span>"), std::string::npos);
  EXPECT_NE(page.find("<span class=\"function\">" + escaped + "</span>"), std::string::npos);
  EXPECT_NE(page.find("data-group=\"" + escaped + "\""), std::string::npos);
  EXPECT_NE(page.find("<td class=\"value\" data-label=\"Value\"><span class=\"scalar string\">" +
                      escaped + "</span>"),
            std::string::npos);
  EXPECT_NE(page.find("<dt>" + escaped + "</dt><dd><span class=\"scalar string\">" + escaped),
            std::string::npos);
  EXPECT_NE(page.find("<h2>" + escaped), std::string::npos);
  EXPECT_NE(page.find("<p class=\"section-error\">Error: " + escaped + "</p>"), std::string::npos);
  EXPECT_NE(page.find("<title>" + escaped), std::string::npos);
}

TEST(RenderHtmlTest, NoInlineScriptStyleOrHandlerAnywhere) {
  for (const Report& report : {FullReport(30), HostileReport()}) {
    const std::string page = render_html(report);
    const std::vector<Tag> tags = Tags(page);
    std::size_t scripts = 0;
    for (const Tag& tag : tags) {
      EXPECT_NE(tag.name, "style") << tag.raw;
      for (const auto& [name, value] : tag.attributes) {
        std::string lower;
        for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        EXPECT_NE(lower, "style") << tag.raw;
        EXPECT_NE(lower.rfind("on", 0), 0u) << tag.raw;
        EXPECT_EQ(value.find("javascript:"), std::string::npos) << tag.raw;
      }
      if (tag.name != "script") continue;
      ++scripts;
      EXPECT_TRUE(HasAttribute(tag, "src")) << tag.raw;
    }
    EXPECT_EQ(scripts, 1u);
    // A script element with a src has nothing inside it.
    EXPECT_EQ(Count(page, "<script"), Count(page, "></script>"));
  }
}

TEST(RenderHtmlTest, InvalidUtf8DoesNotBreakThePage) {
  Report report = FullReport(1);
  ThreadAt(report, 0).set("name", "bad\xFF\xC3name");
  Find(report, "work_queue")->data.set("k\xE6\x97", "v\x80<");
  const std::string page = render_html(report);
  EXPECT_TRUE(IsUtf8(page));
  EXPECT_NE(page.find("data-thread-name=\"bad\xEF\xBF\xBD\xEF\xBF\xBDname\""), std::string::npos);
  EXPECT_NE(page.find("<dt>k\xEF\xBF\xBD\xEF\xBF\xBD</dt>"), std::string::npos);
  EXPECT_NE(page.find(">v\xEF\xBF\xBD&lt;</span>"), std::string::npos);
}

// ---------------------------------------------------------------------------------------
// Links and the skeleton's placeholders.

TEST(RenderHtmlTest, AssetLinksAreRelativeWithThePrefix) {
  const std::string root = render_html(FullReport());
  EXPECT_NE(root.find("<link rel=\"stylesheet\" href=\"gmr/static/gmr.css\">"), std::string::npos);
  EXPECT_NE(root.find("<script src=\"gmr/static/gmr.js\" defer></script>"), std::string::npos);
  const std::string section = render_html(FullReport(), {"../static/"});
  EXPECT_NE(section.find("href=\"../static/gmr.css\""), std::string::npos);
  EXPECT_NE(section.find("src=\"../static/gmr.js\""), std::string::npos);
  // No link anywhere is absolute or leaves the page's origin.
  for (const std::string& page : {root, section}) {
    for (const Tag& tag : Tags(page)) {
      for (const auto& [name, value] : tag.attributes) {
        if (name != "href" && name != "src" && name != "action") continue;
        EXPECT_NE(value.rfind("/", 0), 0u) << tag.raw;
        EXPECT_EQ(value.find("://"), std::string::npos) << tag.raw;
      }
    }
  }
}

TEST(RenderHtmlTest, PlaceholdersAreNotExpandedFromValues) {
  Report report = FullReport(1);
  report.service = "{{body}}";
  report.generated_at = "{{asset_prefix}}";
  ThreadAt(report, 0).set("name", "{{title}}");
  Find(report, "work_queue")->title = "{{toc}}";
  const std::string page = render_html(report);
  EXPECT_EQ(Count(page, "<main id=\"report\""), 1u);
  EXPECT_EQ(Count(page, "<section class=\"gmr-section\""), report.sections.size());
  EXPECT_EQ(Count(page, "<nav class=\"toc\""), 1u);
  EXPECT_EQ(Count(page, "href=\"gmr/static/gmr.css\""), 1u);
  EXPECT_NE(page.find("data-service=\"{{body}}\""), std::string::npos);
  EXPECT_NE(page.find("data-thread-name=\"{{title}}\""), std::string::npos);
  EXPECT_NE(page.find("<h2>{{toc}}"), std::string::npos);
}

TEST(RenderHtmlTest, EveryPlaceholderOfTheSkeletonIsFilled) {
  const std::string page = render_html(FullReport());
  EXPECT_FALSE(std::regex_search(page, std::regex(R"(\{\{\s*\w+\s*\}\})"))) << page;
}

}  // namespace
}  // namespace gmr
