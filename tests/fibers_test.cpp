// Boost.Fiber fibers in the Green Threads section: parked in known functions,
// named, with their states; finished fibers leave the list.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/fiber/all.hpp>
#include <chrono>
#include <thread>

#include "gmr/fibers.hpp"
#include "gmr/gmr.hpp"

namespace {

using namespace std::chrono_literals;
using Channel = boost::fibers::buffered_channel<int>;

__attribute__((noinline)) void gmr_fiber_wait_on_channel(Channel& ch) {
  int v = 0;
  while (ch.pop(v) == boost::fibers::channel_op_status::success) {
  }
  asm volatile("" ::: "memory");
}

__attribute__((noinline)) void gmr_fiber_sleeper(std::atomic<bool>& stop) {
  while (!stop) boost::this_fiber::sleep_for(20ms);
  asm volatile("" ::: "memory");
}

__attribute__((noinline)) void gmr_fiber_yielder(std::atomic<bool>& stop) {
  while (!stop) {
    boost::this_fiber::yield();
    boost::this_fiber::sleep_for(1ms);
  }
  asm volatile("" ::: "memory");
}

const gmr::Value* find_fiber(const gmr::Report& r, const std::string& name) {
  for (const gmr::Value& g : r.sections.at(0).data.find("green_threads")->as_list())
    if (g.get_string("name") == name) return &g;
  return nullptr;
}

bool parked_in(const gmr::Value& g, const std::string& fn) {
  for (const gmr::Value& f : g.find("frames")->as_list())
    if (f.get_string("function").find(fn) != std::string::npos) return true;
  return false;
}

TEST(Fibers, FibersParkedInKnownFunctionsAreListedWithTheirStacks) {
  std::atomic<bool> stop{false}, ready{false};
  Channel ch(2);
  std::thread runner([&] {
    gmr::fibers::use_round_robin();
    boost::fibers::fiber reader([&] {
      gmr::fibers::set_name("reader");
      gmr_fiber_wait_on_channel(ch);
    });
    boost::fibers::fiber sleeper([&] {
      gmr::fibers::set_name("sleeper");
      gmr_fiber_sleeper(stop);
    });
    boost::fibers::fiber yielder([&] {
      gmr::fibers::set_name("yielder");
      gmr_fiber_yielder(stop);
    });
    ready = true;
    reader.join();
    sleeper.join();
    yielder.join();
  });
  while (!ready) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(50ms);
  ASSERT_EQ(gmr::fibers::stack_support_problem(), "");

  gmr::Report r = gmr::collect({{"green_threads"}});
  ASSERT_EQ(r.sections.size(), 1u);
  ASSERT_TRUE(r.sections[0].error.empty()) << r.sections[0].error;
  const gmr::Value* reader = find_fiber(r, "reader");
  const gmr::Value* sleeper = find_fiber(r, "sleeper");
  const gmr::Value* yielder = find_fiber(r, "yielder");
  ASSERT_TRUE(reader && sleeper && yielder) << gmr::render_json(r);
  EXPECT_TRUE(parked_in(*reader, "gmr_fiber_wait_on_channel")) << gmr::render_json(r);
  EXPECT_TRUE(parked_in(*reader, "buffered_channel")) << "the chain inside Boost is there too";
  EXPECT_TRUE(parked_in(*sleeper, "gmr_fiber_sleeper"));
  EXPECT_TRUE(parked_in(*yielder, "gmr_fiber_yielder"));
  EXPECT_EQ(reader->get_string("state"), "waiting");
  EXPECT_EQ(sleeper->get_string("state"), "waiting");
  EXPECT_EQ(reader->get_string("source"), "boost.fiber");
  EXPECT_TRUE(reader->find("details")->find("since_last_ran_ms")->is_int());

  // The reader finishes when the channel closes: it leaves the list.
  ch.close();
  std::this_thread::sleep_for(50ms);
  r = gmr::collect({{"green_threads"}});
  EXPECT_EQ(find_fiber(r, "reader"), nullptr);
  EXPECT_NE(find_fiber(r, "sleeper"), nullptr);

  stop = true;
  runner.join();
  r = gmr::collect({{"green_threads"}});
  EXPECT_EQ(find_fiber(r, "sleeper"), nullptr) << "the thread's fibers are gone with it";
  gmr::shutdown();
}

TEST(Fibers, ABusyFiberThatNeverYieldsIsNamedNotWaitedForever) {
  std::atomic<bool> stop{false}, ready{false};
  std::thread runner([&] {
    gmr::fibers::use_round_robin();
    boost::fibers::fiber busy([&] {
      ready = true;
      while (!stop) {
      }
    });
    busy.join();
  });
  while (!ready) std::this_thread::sleep_for(1ms);
  const auto start = std::chrono::steady_clock::now();
  gmr::Report r = gmr::collect({{"green_threads"}});
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  stop = true;
  runner.join();
  bool named = false;
  for (const gmr::Value& s : r.sections.at(0).data.find("sources")->as_list())
    named |= s.get_string("error").find("did not run within") != std::string::npos;
  EXPECT_TRUE(named) << gmr::render_json(r);
  gmr::shutdown();
}

}  // namespace
