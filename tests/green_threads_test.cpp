// The green-thread registry fed by a small test scheduler of its own: coroutines
// on ucontext that record their stacks when they yield.
#define UNW_LOCAL_ONLY
#include <gtest/gtest.h>
#include <libunwind.h>
#include <ucontext.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "gmr/gmr.hpp"
#include "sections.hpp"
#include "symbolizer.hpp"

namespace {

// A minimal cooperative scheduler: each coroutine runs until it yields.
class TestScheduler {
 public:
  struct Coroutine {
    std::string name;
    std::string state = "ready";
    ucontext_t context{};
    std::vector<char> stack = std::vector<char>(256 * 1024);
    std::vector<std::uintptr_t> saved_stack;  // recorded at each yield
    void (*body)(TestScheduler*) = nullptr;
    bool finished = false;
  };

  void spawn(std::string name, void (*body)(TestScheduler*)) {
    auto co = std::make_unique<Coroutine>();
    co->name = std::move(name);
    co->body = body;
    getcontext(&co->context);
    co->context.uc_stack.ss_sp = co->stack.data();
    co->context.uc_stack.ss_size = co->stack.size();
    co->context.uc_link = &main_;
    makecontext(&co->context, reinterpret_cast<void (*)()>(&TestScheduler::trampoline), 0);
    coroutines_.push_back(std::move(co));
  }

  // Runs every unfinished coroutine once.
  void run_once() {
    for (auto& co : coroutines_) {
      if (co->finished) continue;
      current_ = co.get();
      co->state = "running";
      swapcontext(&main_, &co->context);
      current_ = nullptr;
    }
    // Finished coroutines leave the list, as a real scheduler forgets them.
    std::vector<std::unique_ptr<Coroutine>> alive;
    for (auto& co : coroutines_)
      if (!co->finished) alive.push_back(std::move(co));
    coroutines_ = std::move(alive);
  }

  // Called inside a coroutine: records where it is and goes back to the loop.
  __attribute__((noinline)) void yield(const char* state) {
    void* pcs[64];
    int n = unw_backtrace(pcs, 64);
    current_->saved_stack.assign(reinterpret_cast<std::uintptr_t*>(pcs),
                                 reinterpret_cast<std::uintptr_t*>(pcs) + n);
    current_->state = state;
    swapcontext(&current_->context, &main_);
  }

  std::vector<gmr::GreenThread> snapshot() const {
    std::vector<gmr::GreenThread> out;
    for (const auto& co : coroutines_) {
      out.push_back({co->name, co->state, co->saved_stack, gmr::Value::map({{"stack_kb", 256}})});
    }
    return out;
  }

 private:
  static TestScheduler* self;
  static void trampoline() {
    Coroutine* co = self->current_;
    co->body(self);
    co->finished = true;
    co->state = "finished";
  }

 public:
  TestScheduler() { self = this; }

 private:
  ucontext_t main_{};
  Coroutine* current_ = nullptr;
  std::vector<std::unique_ptr<Coroutine>> coroutines_;
};
TestScheduler* TestScheduler::self = nullptr;

__attribute__((noinline)) void gmr_green_wait_for_mail(TestScheduler* s) {
  for (int i = 0; i < 100; ++i) s->yield("waiting");
}
__attribute__((noinline)) void gmr_green_short_lived(TestScheduler* s) { s->yield("ready"); }

const gmr::Value* find_green(const gmr::Value& data, const std::string& name) {
  for (const gmr::Value& g : data.find("green_threads")->as_list())
    if (g.get_string("name") == name) return &g;
  return nullptr;
}

bool has_function(const gmr::Value& g, const std::string& fn) {
  for (const gmr::Value& f : g.find("frames")->as_list())
    if (f.get_string("function").find(fn) != std::string::npos) return true;
  return false;
}

TEST(GreenThreads, SchedulerSourceListsEachGreenThreadWithItsStack) {
  TestScheduler sched;
  sched.spawn("mail-reader", gmr_green_wait_for_mail);
  sched.spawn("one-shot", gmr_green_short_lived);
  sched.run_once();
  int id = gmr::add_green_thread_source("test-scheduler", [&] { return sched.snapshot(); });

  gmr::Symbolizer symbolizer;
  gmr::Value data = gmr::collect_green_threads(symbolizer);
  const gmr::Value* mail = find_green(data, "mail-reader");
  ASSERT_NE(mail, nullptr);
  EXPECT_EQ(mail->get_string("state"), "waiting");
  EXPECT_EQ(mail->get_string("source"), "test-scheduler");
  EXPECT_TRUE(has_function(*mail, "gmr_green_wait_for_mail"));
  EXPECT_TRUE(has_function(*mail, "TestScheduler::yield")) << gmr::render_section_json({"g", "g", *mail, ""});
  EXPECT_EQ(mail->find("details")->get_int("stack_kb"), 256);
  EXPECT_EQ(mail->find("id"), nullptr) << "green threads have no ids";
  ASSERT_NE(find_green(data, "one-shot"), nullptr);

  // The one-shot coroutine finishes: it leaves the list.
  sched.run_once();
  data = gmr::collect_green_threads(symbolizer);
  EXPECT_EQ(find_green(data, "one-shot"), nullptr);
  EXPECT_NE(find_green(data, "mail-reader"), nullptr);

  gmr::remove_green_thread_source(id);
  data = gmr::collect_green_threads(symbolizer);
  EXPECT_EQ(find_green(data, "mail-reader"), nullptr);
}

TEST(GreenThreads, SourceThatThrowsIsReportedAndOthersStillShown) {
  int bad = gmr::add_green_thread_source("broken", []() -> std::vector<gmr::GreenThread> {
    throw std::runtime_error("scheduler is gone");
  });
  int good = gmr::add_green_thread_source("fine", [] {
    return std::vector<gmr::GreenThread>{{"alpha", "ready", {}, gmr::Value()}};
  });
  gmr::Symbolizer symbolizer;
  gmr::Value data = gmr::collect_green_threads(symbolizer);
  EXPECT_NE(find_green(data, "alpha"), nullptr);
  bool error_seen = false;
  for (const gmr::Value& s : data.find("sources")->as_list())
    if (s.get_string("name") == "broken")
      error_seen = s.get_string("error").find("scheduler is gone") != std::string::npos;
  EXPECT_TRUE(error_seen);
  gmr::remove_green_thread_source(bad);
  gmr::remove_green_thread_source(good);
}

}  // namespace
