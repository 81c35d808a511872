// End to end: the demo service in a child process, its reports on signals, on a
// touched file and in log_dir, and its start-up with broken configuration.
#include <gtest/gtest.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <filesystem>
#include <functional>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hardening_support.hpp"
#include "procfs.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;

using hardening::banner;
using hardening::count;
using hardening::Demo;
using hardening::read_all;
using hardening::TempDir;
using hardening::wait_until;
using hardening::write_file;

std::vector<long> task_ids(pid_t pid) {
  std::vector<long> ids;
  std::string path = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(path.c_str());
  while (dirent* e = d ? readdir(d) : nullptr) {
    if (e->d_name[0] != '.') ids.push_back(std::stol(e->d_name));
  }
  if (d) closedir(d);
  return ids;
}

TEST(Demo, Usr2AndUsr1EachWriteTheWholeReportToStderr) {
  Demo demo({"--demo.workers=6", "--oslo_reports.http_port=0"});
  ASSERT_TRUE(demo.wait_ready()) << demo.stderr_text();
  kill(demo.pid(), SIGUSR2);
  ASSERT_TRUE(demo.wait_reports(1)) << demo.stderr_text();
  std::string text = demo.stderr_text();
  for (const char* title : {"Package", "Threads", "Green Threads", "Processes", "Configuration",
                            "Work Queue"}) {
    EXPECT_NE(text.find(title), std::string::npos) << title;
  }
  // Every thread of /proc/PID/task is in the report (the demo's threads are stable).
  for (long tid : task_ids(demo.pid())) {
    EXPECT_NE(text.find("Thread #" + std::to_string(tid) + " "), std::string::npos) << tid;
  }
  // Workers are named and parked in the demo's own functions.
  EXPECT_NE(text.find("(worker-0)"), std::string::npos);
  EXPECT_NE(text.find(" in demo::WorkQueue::wait_for_job(int&)"), std::string::npos);
  EXPECT_NE(text.find(" in demo::nap(int)"), std::string::npos);
  EXPECT_NE(text.find(" in demo::read_from_pipe(int)"), std::string::npos);
  EXPECT_NE(text.find("demo.cpp:"), std::string::npos);
  // Secrets never appear.
  EXPECT_EQ(text.find("sqlite:///var/lib"), std::string::npos);
  EXPECT_NE(text.find("  connection = ***"), std::string::npos);

  kill(demo.pid(), SIGUSR1);
  ASSERT_TRUE(demo.wait_reports(2)) << demo.stderr_text();
  EXPECT_TRUE(demo.alive());
  kill(demo.pid(), SIGTERM);
  EXPECT_EQ(demo.wait_exit(), 0);
}

// Returns, for each thread id, the function names gdb shows in its stack.
std::map<long, std::vector<std::string>> gdb_functions(pid_t pid) {
  std::map<long, std::vector<std::string>> out;
  std::string cmd = "gdb -p " + std::to_string(pid) + " -batch -ex 'thread apply all bt' 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  const std::regex thread_line(R"(^Thread \d+ \(Thread 0x[0-9a-f]+ \(LWP (\d+)\))");
  const std::regex frame_line(R"(^#\d+\s+(?:0x[0-9a-f]+ in )?([^ (]+) \()");
  long current = -1;
  char buf[8192];
  while (fgets(buf, sizeof buf, p)) {
    std::string line = buf;
    std::smatch m;
    if (std::regex_search(line, m, thread_line)) {
      current = std::stol(m[1]);
    } else if (current > 0 && std::regex_search(line, m, frame_line)) {
      out[current].push_back(m[1]);
    }
  }
  pclose(p);
  return out;
}

// Returns the part of a text report about one thread.
std::string thread_block(const std::string& report, long tid) {
  size_t start = report.find("Thread #" + std::to_string(tid) + " ");
  if (start == std::string::npos) return "";
  size_t end = report.find("------\n", start + 80);
  return report.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

TEST(Demo, FunctionNamesAgreeWithGdb) {
  if (system("command -v gdb >/dev/null 2>&1") != 0) GTEST_SKIP() << "gdb is not installed";
  Demo demo({"--demo.workers=4", "--oslo_reports.http_port=0"});
  ASSERT_TRUE(demo.wait_ready());
  kill(demo.pid(), SIGUSR2);
  ASSERT_TRUE(demo.wait_reports(1));
  std::string report = demo.stderr_text();
  auto gdb = gdb_functions(demo.pid());
  if (gdb.empty()) GTEST_SKIP() << "gdb cannot attach here (ptrace not permitted?)";
  size_t compared = 0;
  for (const auto& [tid, functions] : gdb) {
    std::string block = thread_block(report, tid);
    ASSERT_FALSE(block.empty()) << "thread " << tid << " is missing from the report";
    for (const std::string& fn : functions) {
      // The demo's own functions (stable while parked) must be named alike.
      if (fn.rfind("demo::", 0) != 0 && fn != "main") continue;
      EXPECT_NE(block.find(" in " + fn), std::string::npos)
          << "gdb shows " << fn << " in thread " << tid << "; the report has:\n" << block;
      ++compared;
    }
  }
  EXPECT_GE(compared, 10u);
  kill(demo.pid(), SIGTERM);
  EXPECT_EQ(demo.wait_exit(), 0);
}

TEST(Demo, BurstOfHundredSignalsLeavesItHealthyAndReportsWhole) {
  Demo demo({"--oslo_reports.http_port=0"});
  ASSERT_TRUE(demo.wait_ready());
  for (int i = 0; i < 100; ++i) kill(demo.pid(), SIGUSR2);
  ASSERT_TRUE(demo.wait_reports(1));
  std::this_thread::sleep_for(1500ms);  // let merged reports finish
  ASSERT_TRUE(demo.alive());
  std::string text = demo.stderr_text();
  size_t reports = count(text, banner("Guru Meditation"));
  EXPECT_GE(reports, 1u);
  EXPECT_LE(reports, 100u);
  // Never interleaved or cut: each report has each section once, in order.
  EXPECT_EQ(count(text, banner("Work Queue")), reports);
  size_t pos = 0;
  for (size_t i = 0; i < reports; ++i) {
    for (const char* title : {"Guru Meditation", "Package", "Threads", "Green Threads",
                              "Processes", "Configuration", "Work Queue"}) {
      size_t next = text.find(banner(title), pos);
      ASSERT_NE(next, std::string::npos) << "report " << i << " lacks " << title;
      pos = next;
    }
  }
  kill(demo.pid(), SIGTERM);
  EXPECT_EQ(demo.wait_exit(), 0);
}

TEST(Demo, LogDirGetsOneFilePerSignal) {
  TempDir tmp;
  std::string logdir = tmp.path + "/reports";
  ASSERT_EQ(mkdir(logdir.c_str(), 0700), 0);
  std::string conf = tmp.path + "/demo.conf";
  write_file(conf, "[demo]\nworkers = 2\nservice_name = demo-svc\n[oslo_reports]\nlog_dir = " + logdir + "\n");
  Demo demo({"--config-file", conf, "--oslo_reports.http_port=0"});
  ASSERT_TRUE(demo.wait_ready()) << demo.stderr_text();
  auto files = [&] {
    std::vector<std::string> names;
    DIR* d = opendir(logdir.c_str());
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') names.push_back(e->d_name);
    closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  };
  kill(demo.pid(), SIGUSR2);
  ASSERT_TRUE(wait_until([&] { return files().size() == 1; }));
  kill(demo.pid(), SIGUSR1);
  ASSERT_TRUE(wait_until([&] { return files().size() == 2; }));
  const std::regex name(R"(demo-svc_gurumeditation_\d{14}(\.\d+)?)");
  for (const std::string& f : files()) {
    EXPECT_TRUE(std::regex_match(f, name)) << f;
    struct stat st{};
    ASSERT_EQ(stat((logdir + "/" + f).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    std::string text = read_all(logdir + "/" + f);
    EXPECT_EQ(text.rfind("========================================================================\n"
                         "====                        Guru Meditation                         ====\n", 0),
              0u);
    EXPECT_NE(text.find("next_jobs"), std::string::npos) << "the file holds the whole report";
  }
  EXPECT_EQ(demo.stderr_text().find("Guru Meditation"), std::string::npos);
  kill(demo.pid(), SIGTERM);
  EXPECT_EQ(demo.wait_exit(), 0);
}

TEST(Demo, TouchingTheTriggerFileWritesAReportAndSignalsAreLeftAlone) {
  TempDir tmp;
  const std::string& dir = tmp.path;
  std::string trigger = dir + "/trigger";
  std::string conf = dir + "/demo.conf";
  write_file(conf, "[demo]\nworkers = 2\n[oslo_reports]\nfile_event_handler = " + trigger +
                       "\nfile_event_handler_interval = 1\n");
  Demo demo({"--config-file", conf, "--oslo_reports.http_port=0"});
  ASSERT_TRUE(demo.wait_ready()) << demo.stderr_text();
  // The missing file is said once.
  ASSERT_TRUE(wait_until([&] { return demo.stderr_text().find("cannot watch " + trigger) != std::string::npos; }));
  // No handler for SIGUSR2 or SIGUSR1: SigCgt has neither bit.
  std::string status = read_all("/proc/" + std::to_string(demo.pid()) + "/status");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(status, m, std::regex("SigCgt:\\s*([0-9a-f]+)")));
  unsigned long long caught = std::stoull(m[1], nullptr, 16);
  EXPECT_EQ(caught & (1ULL << (SIGUSR2 - 1)), 0u);
  EXPECT_EQ(caught & (1ULL << (SIGUSR1 - 1)), 0u);

  write_file(trigger, "");  // the file appears: a touch
  ASSERT_TRUE(demo.wait_reports(1)) << demo.stderr_text();
  std::this_thread::sleep_for(1100ms);
  // touch: a new modification time.
  struct timespec times[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
  ASSERT_EQ(utimensat(AT_FDCWD, trigger.c_str(), times, 0), 0);
  ASSERT_TRUE(demo.wait_reports(2)) << demo.stderr_text();
  EXPECT_EQ(count(demo.stderr_text(), "cannot watch"), 1u);
  kill(demo.pid(), SIGTERM);
  EXPECT_EQ(demo.wait_exit(), 0);
}

TEST(Demo, BrokenConfigurationStopsStartUpWithFileAndLine) {
  TempDir tmp;
  const std::string& dir = tmp.path;
  std::string conf = dir + "/bad.conf";
  write_file(conf, "[demo]\nworkers = many\n");
  Demo demo({"--config-file", conf, "--oslo_reports.http_port=0"});
  EXPECT_EQ(demo.wait_exit(), 2);
  EXPECT_NE(demo.stderr_text().find(conf + ":2: "), std::string::npos) << demo.stderr_text();

  write_file(conf, "[demo]\nworkers = 2\ncolour = blue\n");
  Demo warned({"--config-file", conf, "--oslo_reports.http_port=0"});
  ASSERT_TRUE(warned.wait_ready()) << warned.stderr_text();
  EXPECT_NE(warned.stderr_text().find(conf + ":3: unknown option"), std::string::npos)
      << warned.stderr_text();
}

}  // namespace
