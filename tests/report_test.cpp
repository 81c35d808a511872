// The whole report through the public API: sections in order, registered
// sections (one that throws), processes with a child, log_dir files.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <dirent.h>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gmr/gmr.hpp"
#include "internal.hpp"
#include "sections.hpp"

namespace {

std::vector<std::string> ids(const gmr::Report& r) {
  std::vector<std::string> out;
  for (const auto& s : r.sections) out.push_back(s.id);
  return out;
}

const gmr::Section* section(const gmr::Report& r, const std::string& id) {
  for (const auto& s : r.sections)
    if (s.id == id) return &s;
  return nullptr;
}

TEST(Report, BuiltInSectionsThenRegisteredOnesAndAThrowingGeneratorStaysInItsSection) {
  std::string queue = gmr::register_section("Work Queue", [] {
    return gmr::Value::map({{"depth", 3}, {"workers", gmr::Value::list({"b", "a"})}});
  });
  std::string broken = gmr::register_section("Broken!", []() -> gmr::Value {
    throw std::runtime_error("database unreachable");
  });
  std::string clash = gmr::register_section("Threads", [] { return gmr::Value("mine"); });
  EXPECT_EQ(queue, "work_queue");
  EXPECT_EQ(broken, "broken");
  EXPECT_EQ(clash, "threads_2") << "a registered id never hides a built-in one";

  gmr::Report r = gmr::collect();
  std::vector<std::string> expected = {"package", "threads", "green_threads", "processes",
                                       "configuration", "work_queue", "broken", "threads_2"};
  EXPECT_EQ(ids(r), expected);
  EXPECT_EQ(r.schema_version, gmr::kSchemaVersion);
  EXPECT_FALSE(r.generated_at.empty());
  EXPECT_EQ(section(r, "broken")->error,
            "the section's generator threw: database unreachable");
  EXPECT_TRUE(section(r, "threads")->error.empty());
  EXPECT_EQ(section(r, "work_queue")->data.get_int("depth"), 3);

  std::string text = gmr::render_text(r);
  EXPECT_NE(text.find("database unreachable"), std::string::npos);
  EXPECT_NE(text.find("Work Queue"), std::string::npos);
  EXPECT_NE(text.find("Configuration"), std::string::npos);

  // Only the sections asked for are collected.
  gmr::Report one = gmr::collect({{"processes"}});
  EXPECT_EQ(ids(one), std::vector<std::string>{"processes"});
  gmr::shutdown();
}

TEST(Report, ProcessesListsThisProcessAndItsChildren) {
  pid_t child = fork();
  if (child == 0) {
    execlp("sleep", "sleep", "5", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(child, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  gmr::Value data = gmr::collect_processes();
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);

  const auto& roots = data.find("processes")->as_list();
  ASSERT_EQ(roots.size(), 1u);
  EXPECT_EQ(roots[0].get_int("pid"), getpid());
  EXPECT_EQ(roots[0].get_int("ppid"), getppid());
  EXPECT_EQ(roots[0].get_int("uid"), static_cast<long>(getuid()));
  bool found = false;
  for (const auto& c : roots[0].find("children")->as_list()) {
    if (c.get_int("pid") == child) {
      found = true;
      EXPECT_EQ(c.get_int("ppid"), getpid());
      EXPECT_EQ(c.get_string("command"), "sleep 5");
    }
  }
  EXPECT_TRUE(found);
}

TEST(Report, PackageShowsTheVersionGivenAtSetup) {
  gmr::Config config;
  ASSERT_TRUE(gmr::setup_autorun({"Sharp Cheddar", "Cheese Shoppe", "1.0.0"},
                                 {"cheddar", &config, {SIGRTMIN + 9}, 0, std::chrono::milliseconds(250)}));
  gmr::Report r = gmr::collect({{"package"}});
  ASSERT_EQ(r.sections.size(), 1u);
  const gmr::Value& p = r.sections[0].data;
  EXPECT_EQ(p.get_string("product"), "Sharp Cheddar");
  EXPECT_EQ(p.get_string("vendor"), "Cheese Shoppe");
  EXPECT_EQ(p.get_string("version"), "1.0.0");
  EXPECT_EQ(p.get_string("gmr_version"), GMR_VERSION_FOR_TESTS);
  EXPECT_EQ(r.service, "cheddar");
  gmr::shutdown();
}

std::string make_temp_dir() {
  char tmpl[] = "/tmp/gmr-test-XXXXXX";
  return mkdtemp(tmpl);
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

TEST(Output, LogDirFilesAreNamedByServiceAndTimeMode0600AndNeverOverwritten) {
  std::string dir = make_temp_dir();
  struct Cleanup {
    std::string dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{dir};
  // 2026-11-21 22:01:00 UTC
  auto when = std::chrono::system_clock::from_time_t(1795298460);
  std::string a = gmr::emit_report("first\n", dir, "my/svc", when);
  std::string b = gmr::emit_report("second\n", dir, "my/svc", when);
  EXPECT_EQ(a, dir + "/my_svc_gurumeditation_20261121220100");
  EXPECT_EQ(b, dir + "/my_svc_gurumeditation_20261121220100.1");
  struct stat st{};
  ASSERT_EQ(stat(a.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(list_dir(dir).size(), 2u) << "no temporary file is left behind";
  std::string body(64, '\0');
  FILE* f = fopen(a.c_str(), "r");
  body.resize(fread(body.data(), 1, body.size(), f));
  fclose(f);
  EXPECT_EQ(body, "first\n");
}

TEST(Output, UnwritableLogDirFallsBackToStderrWithOneLine) {
  testing::internal::CaptureStderr();
  std::string where = gmr::emit_report("the report\n", "/nonexistent/dir", "svc",
                                       std::chrono::system_clock::now());
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(where, "stderr");
  EXPECT_EQ(err.rfind("gmr: cannot create a file in /nonexistent/dir: No such file or directory; "
                      "writing the report to stderr instead\n", 0), 0u) << err;
  EXPECT_NE(err.find("the report\n"), std::string::npos);
}

TEST(Output, Slugs) {
  EXPECT_EQ(gmr::slugify("Work Queue"), "work_queue");
  EXPECT_EQ(gmr::slugify("  Über--Section 2 "), "ber_section_2");
  EXPECT_EQ(gmr::slugify("!!!"), "section");
}

}  // namespace

namespace {

// A generator that never returns gets a time budget: its section says it timed
// out, the rest of the report is intact, and later reports do not call it again
// (nor pile up stuck threads) until it returns.
TEST(Report, GeneratorThatNeverReturnsTimesOutInItsOwnSection) {
  static std::mutex mu;
  static std::condition_variable cv;
  static bool release = false;
  static std::atomic<int> calls{0};
  std::string id = gmr::register_section("Stuck", [] {
    calls.fetch_add(1);
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [] { return release; });
    return gmr::Value("finally");
  });
  const auto start = std::chrono::steady_clock::now();
  gmr::Report r = gmr::collect();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(10));
  const gmr::Section* stuck = section(r, id);
  ASSERT_NE(stuck, nullptr);
  EXPECT_NE(stuck->error.find("timed out after 2000 ms"), std::string::npos) << stuck->error;
  EXPECT_TRUE(section(r, "threads")->error.empty());
  EXPECT_NE(section(r, "configuration"), nullptr);

  gmr::Report again = gmr::collect({{id}});
  EXPECT_NE(again.sections.at(0).error.find("still running"), std::string::npos);
  EXPECT_EQ(calls.load(), 1) << "a stuck generator is not called again";

  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  gmr::Report after = gmr::collect({{id}});
  EXPECT_TRUE(after.sections.at(0).error.empty()) << after.sections.at(0).error;
  EXPECT_EQ(after.sections.at(0).data, gmr::Value("finally"));
  gmr::shutdown();
}

}  // namespace
