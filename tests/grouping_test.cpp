// Groups of identical stacks: pure grouping, live threads parked in the same
// and in different places, and the text report's optional groups.
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "gmr/gmr.hpp"
#include "internal.hpp"
#include "sections.hpp"

namespace {

using namespace std::chrono_literals;

gmr::Value frame(const std::string& fn, int line) {
  return gmr::Value::map({{"address", "0x1"}, {"function", fn}, {"file", "/src/a.cpp"}, {"line", line}});
}

gmr::Value thread(int id, const std::string& name, gmr::Value frames) {
  return gmr::Value::map({{"id", id}, {"name", name}, {"frames", std::move(frames)}});
}

TEST(Grouping, IdenticalStacksFoldLargestFirstAndEmptyOnesAreLeftOut) {
  gmr::Value a = gmr::Value::list({frame("wait", 10), frame("worker", 20)});
  gmr::Value b = gmr::Value::list({frame("sleep", 11), frame("worker", 20)});
  gmr::Value threads = gmr::Value::list({thread(1, "b-1", b), thread(2, "a-1", a), thread(3, "a-2", a),
                                         thread(4, "blocked", gmr::Value::list()), thread(5, "a-3", a)});
  gmr::Value groups = gmr::group_stacks(threads, {"id", "name"});
  ASSERT_EQ(groups.as_list().size(), 2u);
  const gmr::Value& first = groups.as_list()[0];
  EXPECT_EQ(first.get_int("count"), 3);
  EXPECT_EQ(first.find("frames")->as_list()[0].get_string("function"), "wait");
  std::vector<int64_t> ids;
  for (const auto& m : first.find("members")->as_list()) ids.push_back(m.get_int("id"));
  EXPECT_EQ(ids, (std::vector<int64_t>{2, 3, 5}));
  EXPECT_EQ(groups.as_list()[1].get_int("count"), 1);
  EXPECT_EQ(groups.as_list()[1].find("members")->as_list()[0].get_string("name"), "b-1");

  // A different line is a different stack.
  gmr::Value c = gmr::Value::list({frame("wait", 12), frame("worker", 20)});
  threads.push_back(thread(6, "c", c));
  EXPECT_EQ(gmr::group_stacks(threads, {"id"}).as_list().size(), 3u);
}

std::mutex g_mu;
std::condition_variable g_cv;
bool g_stop = false;

__attribute__((noinline)) void gmr_group_wait_here(std::atomic<pid_t>* tid) {
  *tid = static_cast<pid_t>(::syscall(SYS_gettid));
  std::unique_lock<std::mutex> lock(g_mu);
  g_cv.wait(lock, [] { return g_stop; });
}

__attribute__((noinline)) void gmr_group_wait_elsewhere(std::atomic<pid_t>* tid) {
  *tid = static_cast<pid_t>(::syscall(SYS_gettid));
  std::unique_lock<std::mutex> lock(g_mu);
  g_cv.wait(lock, [] { return g_stop; });
}

TEST(Grouping, ThreadsParkedInTheSamePlaceShareAGroup) {
  std::vector<std::atomic<pid_t>> tids(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back(gmr_group_wait_here, &tids[i]);
  threads.emplace_back(gmr_group_wait_elsewhere, &tids[3]);
  for (auto& t : tids)
    while (t == 0) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(30ms);

  gmr::Report r = gmr::collect({{"threads"}});
  const gmr::Value& groups = *r.sections.at(0).data.find("groups");
  const gmr::Value* same = nullptr;
  const gmr::Value* other = nullptr;
  for (const auto& g : groups.as_list()) {
    for (const auto& m : g.find("members")->as_list()) {
      if (m.get_int("id") == tids[0]) same = &g;
      if (m.get_int("id") == tids[3]) other = &g;
    }
  }
  ASSERT_TRUE(same && other);
  EXPECT_NE(same, other);
  EXPECT_EQ(same->get_int("count"), 3);
  EXPECT_EQ(other->get_int("count"), 1);

  const std::string plain = gmr::render_text(r);
  EXPECT_EQ(plain.find("with this stack"), std::string::npos) << "groups only when asked";
  const std::string grouped = gmr::render_text(r, {true});
  EXPECT_NE(grouped.find(" 3 threads with this stack "), std::string::npos);
  EXPECT_NE(grouped.find("Members: " + std::to_string(tids[0].load())), std::string::npos);
  // Only the threads section was collected: the groups come after the unchanged
  // per-thread layout.
  EXPECT_EQ(grouped.compare(0, plain.size(), plain), 0);

  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_stop = true;
  }
  g_cv.notify_all();
  for (auto& t : threads) t.join();
  gmr::shutdown();
}

}  // namespace
