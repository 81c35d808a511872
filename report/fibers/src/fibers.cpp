// Boost.Fiber fibers as green threads: a round-robin algorithm with a registry
// of live fibers, and the unwinding of a suspended fiber's saved context.
#include "gmr/fibers.hpp"

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <sys/syscall.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <boost/fiber/algo/algorithm.hpp>
#include <boost/fiber/all.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <list>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "gmr/green_threads.hpp"

namespace gmr::fibers {
namespace {

using boost::fibers::context;

// --- Reaching Boost's private members ---------------------------------------
// boost::fibers::context::c_ (the suspended fiber's continuation) and
// boost::context::fiber::fctx_ (the saved-context pointer) are private. The
// explicit-instantiation idiom reads them, and stops compiling if Boost renames
// them, rather than silently reading the wrong bytes.
template <typename Tag, typename Tag::type Member>
struct Rob {
  friend typename Tag::type get(Tag) { return Member; }
};
struct ContextFiber {
  using type = boost::context::fiber context::*;
  friend type get(ContextFiber);
};
template struct Rob<ContextFiber, &context::c_>;
struct FiberFctx {
  using type = boost::context::detail::fcontext_t boost::context::fiber::*;
  friend type get(FiberFctx);
};
template struct Rob<FiberFctx, &boost::context::fiber::fctx_>;

struct ContextTerminated {
  using type = bool context::*;
  friend type get(ContextTerminated);
};
template struct Rob<ContextTerminated, &context::terminated_>;

void* saved_context(context* ctx) { return (ctx->*get(ContextFiber{})).*get(FiberFctx{}); }
bool is_terminated(context* ctx) { return ctx->*get(ContextTerminated{}); }

// --- Unwinding a suspended fiber --------------------------------------------
// jump_fcontext (Boost 1.74, x86_64 SysV) leaves at the saved-context pointer:
// MXCSR/x87 control words, r12, r13, r14, r15, rbx, rbp, then the return
// address; the fiber's stack pointer is just above it. Later Boost releases
// move the return address, so its slot is calibrated at start-up.
constexpr int kMaxFrames = 64;
std::atomic<int> g_return_slot{-1};  // byte offset of the return address; -1: unknown
std::string g_problem = "not calibrated yet";
std::once_flag g_calibrated;

std::vector<std::uintptr_t> unwind_saved_context(void* fctx, int return_slot) {
  std::vector<std::uintptr_t> pcs;
#if defined(__x86_64__)
  if (fctx == nullptr || return_slot < 0) return pcs;
  auto* base = static_cast<unsigned char*>(fctx);
  auto slot = [&](int offset) { return *reinterpret_cast<std::uint64_t*>(base + offset); };
  unw_context_t uc;
  unw_getcontext(&uc);
  greg_t* regs = uc.uc_mcontext.gregs;
  regs[REG_R12] = static_cast<greg_t>(slot(0x08));
  regs[REG_R13] = static_cast<greg_t>(slot(0x10));
  regs[REG_R14] = static_cast<greg_t>(slot(0x18));
  regs[REG_R15] = static_cast<greg_t>(slot(0x20));
  regs[REG_RBX] = static_cast<greg_t>(slot(0x28));
  regs[REG_RBP] = static_cast<greg_t>(slot(0x30));
  regs[REG_RIP] = static_cast<greg_t>(slot(return_slot));
  regs[REG_RSP] = static_cast<greg_t>(reinterpret_cast<std::uintptr_t>(base + return_slot + 8));
  unw_cursor_t cursor;
  if (unw_init_local(&cursor, &uc) != 0) return pcs;
  do {
    unw_word_t ip = 0;
    if (unw_get_reg(&cursor, UNW_REG_IP, &ip) != 0 || ip == 0) break;
    pcs.push_back(static_cast<std::uintptr_t>(ip));
  } while (pcs.size() < kMaxFrames && unw_step(&cursor) > 0);
#else
  (void)fctx;
  (void)return_slot;
#endif
  return pcs;
}

// When each fiber last ran, cheaply: the time-stamp counter costs a few ns per
// switch where clock_gettime() measured about 15 ns here. Ticks are turned into
// milliseconds at report time, with the rate seen since start-up.
#if defined(__x86_64__)
std::uint64_t ticks() { return __rdtsc(); }
#else
std::uint64_t ticks() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000 + static_cast<std::uint64_t>(ts.tv_nsec);
}
#endif

struct TickClock {
  std::uint64_t start_ticks = ticks();
  std::chrono::steady_clock::time_point start_time = std::chrono::steady_clock::now();
  // Returns how many ticks make a millisecond, measured since start-up.
  double ticks_per_ms() const {
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_time).count();
    const double elapsed = static_cast<double>(ticks() - start_ticks);
    return ms > 1 && elapsed > 0 ? elapsed / ms : 0;
  }
};
TickClock g_tick_clock;

class Scheduler;

// What gmr keeps about each fiber (Boost's fiber properties).
class Props : public boost::fibers::fiber_properties {
 public:
  // Boost's algorithm_with_properties needs a constructor from the context
  // alone; gmr's scheduler always passes itself (new_properties below).
  explicit Props(context* ctx, Scheduler* scheduler = nullptr);
  ~Props() override;

  context* ctx() const { return ctx_; }
  std::string name;
  const char* state = "ready";  // written and read on the owning thread only
  std::uint64_t last_ran_ticks = 0;
  Scheduler* scheduler;
};

// --- The schedulers (one per thread that called use_round_robin) --------------
std::mutex g_schedulers_mu;
std::list<Scheduler*> g_schedulers;  // guarded by g_schedulers_mu

class Scheduler : public boost::fibers::algo::algorithm_with_properties<Props> {
 public:
  Scheduler() : tid_(static_cast<pid_t>(::syscall(SYS_gettid))) {
    std::lock_guard<std::mutex> lock(g_schedulers_mu);
    g_schedulers.push_back(this);
  }
  ~Scheduler() override {
    {
      std::lock_guard<std::mutex> lock(g_schedulers_mu);
      g_schedulers.remove(this);
    }
    // The thread's main context (and its Props) outlives its scheduler.
    std::lock_guard<std::mutex> lock(registry_mu_);
    for (Props* p : fibers_) p->scheduler = nullptr;
  }

  // Boost's round-robin policy, plus the bookkeeping.
  void awakened(context* ctx, Props& props) noexcept override {
    props.state = "ready";
    ctx->ready_link(ready_);
  }

  context* pick_next() noexcept override {
    // Runs on the stack of the fiber that is suspending: the only moment its
    // own stack can be recorded, and one at which no fiber of this thread runs.
    // The leaving fiber is the one this algorithm last picked (nullptr: the
    // dispatcher or a main context not picked yet), which saves asking Boost.
    context* leaving = running_;
    if (auto* props = props_of(leaving)) {
      props->last_ran_ticks = ticks();
      if (!leaving->ready_is_linked()) props->state = is_terminated(leaving) ? "terminated" : "waiting";
    }
    if (requested_.load(std::memory_order_acquire) != answered_) answer(context::active());
    if (ready_.empty()) {
      running_ = nullptr;  // the dispatcher runs next
      return nullptr;
    }
    context* next = &ready_.front();
    ready_.pop_front();
    if (auto* props = props_of(next)) props->state = "running";
    running_ = next;
    return next;
  }

  bool has_ready_fibers() const noexcept override { return !ready_.empty(); }

  void suspend_until(std::chrono::steady_clock::time_point const& until) noexcept override {
    std::unique_lock<std::mutex> lock(wake_mu_);
    for (;;) {
      if (requested_.load(std::memory_order_acquire) != answered_) {
        lock.unlock();
        answer(context::active());  // idle: every fiber of this thread is parked
        lock.lock();
      }
      auto woken = [&] { return notified_ || requested_.load(std::memory_order_acquire) != answered_; };
      if (until == std::chrono::steady_clock::time_point::max()) {
        wake_cv_.wait(lock, woken);
      } else if (!wake_cv_.wait_until(lock, until, woken)) {
        break;  // the deadline passed
      }
      if (notified_) break;
    }
    notified_ = false;
  }

  void notify() noexcept override {
    std::lock_guard<std::mutex> lock(wake_mu_);
    notified_ = true;
    wake_cv_.notify_all();
  }

  // --- Called from Props, on whatever thread creates or destroys a fiber ------
  void add(Props* p) {
    std::lock_guard<std::mutex> lock(registry_mu_);
    fibers_.push_back(p);
  }
  void remove(Props* p) {
    std::lock_guard<std::mutex> lock(registry_mu_);
    fibers_.remove(p);
  }

  // --- Called from the reporter thread -------------------------------------------
  // Asks the owning thread for a snapshot; returns its generation.
  std::uint64_t request() {
    std::uint64_t gen = requested_.fetch_add(1, std::memory_order_acq_rel) + 1;
    std::lock_guard<std::mutex> lock(wake_mu_);
    wake_cv_.notify_all();  // an idle scheduler answers at once
    return gen;
  }
  // Waits until the snapshot for `gen` is there or `deadline` passes.
  bool wait_snapshot(std::uint64_t gen, std::chrono::steady_clock::time_point deadline,
                     std::vector<GreenThread>& out) {
    std::unique_lock<std::mutex> lock(snapshot_mu_);
    if (!snapshot_cv_.wait_until(lock, deadline, [&] { return snapshot_gen_ >= gen; })) return false;
    out = snapshot_;
    return true;
  }
  pid_t tid() const { return tid_; }

 private:
  static Props* props_of(context* ctx) {
    if (ctx == nullptr || ctx->is_context(boost::fibers::type::dispatcher_context)) return nullptr;
    // Every context this algorithm has seen carries a Props (new_properties below).
    return static_cast<Props*>(ctx->get_properties());
  }

  // Records every fiber of this thread; runs on the owning thread.
  void answer(context* active) noexcept {
    const std::uint64_t gen = requested_.load(std::memory_order_acquire);
    answered_ = gen;
    std::vector<GreenThread> snap;
    try {
      const int slot = g_return_slot.load();
      const std::uint64_t now = ticks();
      const double per_ms = g_tick_clock.ticks_per_ms();
      std::lock_guard<std::mutex> lock(registry_mu_);
      for (Props* p : fibers_) {
        context* ctx = p->ctx();
        if (is_terminated(ctx)) continue;  // finished fibers leave the list
        if (ctx->is_context(boost::fibers::type::dispatcher_context)) continue;  // Boost's own
        GreenThread g;
        g.name = p->name.empty() ? (ctx->is_context(boost::fibers::type::main_context) ? "main" : "")
                                 : p->name;
        g.state = p->state;
        if (ctx == active) {
          void* pcs[kMaxFrames];
          int n = unw_backtrace(pcs, kMaxFrames);
          for (int i = 0; i < n; ++i) g.stack.push_back(reinterpret_cast<std::uintptr_t>(pcs[i]));
          g.state = "suspending";
        } else {
          g.stack = unwind_saved_context(saved_context(ctx), slot);
        }
        char id[32];
        std::snprintf(id, sizeof id, "%p", static_cast<void*>(ctx));
        g.details = Value::map({{"thread", static_cast<long>(tid_)},
                                {"fiber", id},
                                {"since_last_ran_ms", p->last_ran_ticks && per_ms > 0
                                                          ? Value(static_cast<long>(static_cast<double>(now - p->last_ran_ticks) / per_ms))
                                                          : Value()}});
        snap.push_back(std::move(g));
      }
    } catch (...) {
      // Out of memory while recording: publish what there is.
    }
    {
      std::lock_guard<std::mutex> lock(snapshot_mu_);
      snapshot_ = std::move(snap);
      snapshot_gen_ = gen;
    }
    snapshot_cv_.notify_all();
  }

  const pid_t tid_;
  boost::fibers::scheduler::ready_queue_type ready_;  // owning thread only
  context* running_ = nullptr;                        // owning thread only
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool notified_ = false;  // guarded by wake_mu_

  std::atomic<std::uint64_t> requested_{0};
  std::uint64_t answered_ = 0;  // owning thread only

  std::mutex registry_mu_;
  std::list<Props*> fibers_;  // guarded by registry_mu_

  std::mutex snapshot_mu_;
  std::condition_variable snapshot_cv_;
  std::vector<GreenThread> snapshot_;  // guarded by snapshot_mu_
  std::uint64_t snapshot_gen_ = 0;     // guarded by snapshot_mu_

 public:
  boost::fibers::fiber_properties* new_properties(context* ctx) override { return new Props(ctx, this); }
};

Props::Props(context* ctx, Scheduler* s) : fiber_properties(ctx), scheduler(s) {
  if (scheduler) scheduler->add(this);
}
Props::~Props() {
  if (scheduler) scheduler->remove(this);
}

// --- The green-thread source ----------------------------------------------------
constexpr auto kBudget = std::chrono::milliseconds(250);

std::vector<GreenThread> snapshot_all() {
  std::lock_guard<std::mutex> lock(g_schedulers_mu);  // schedulers cannot go away meanwhile
  std::vector<std::pair<Scheduler*, std::uint64_t>> asked;
  for (Scheduler* s : g_schedulers) asked.emplace_back(s, s->request());
  const auto deadline = std::chrono::steady_clock::now() + kBudget;
  std::vector<GreenThread> all;
  std::vector<std::string> late;
  for (auto& [s, gen] : asked) {
    std::vector<GreenThread> part;
    if (s->wait_snapshot(gen, deadline, part)) {
      for (auto& g : part) all.push_back(std::move(g));
    } else {
      late.push_back(std::to_string(s->tid()));
    }
  }
  if (!late.empty()) {
    std::string msg = "the fibers of thread";
    msg += late.size() > 1 ? "s " : " ";
    for (size_t i = 0; i < late.size(); ++i) msg += (i ? ", " : "") + late[i];
    msg += " were not recorded: the scheduler did not run within " + std::to_string(kBudget.count()) +
           " ms (a fiber running without yielding?)";
    throw std::runtime_error(msg);
  }
  if (!stack_support_problem().empty()) {
    for (auto& g : all) {
      if (g.state != "suspending") g.details.set("stack_unavailable", stack_support_problem());
    }
  }
  return all;
}

// --- Calibration ----------------------------------------------------------------------
context* g_calibration_ctx = nullptr;

__attribute__((noinline)) void gmr_fiber_calibration_park() {
  g_calibration_ctx = context::active();
  boost::this_fiber::yield();
  asm volatile("" ::: "memory");  // keeps the call above from being a tail call
}

// Finds the slot of the return address by parking a fiber in a known function
// and unwinding its saved context: the right slot leads back into that function.
void calibrate() {
#if defined(__x86_64__)
  boost::fibers::fiber probe(gmr_fiber_calibration_park);
  boost::this_fiber::yield();  // the probe runs and parks
  void* fctx = g_calibration_ctx ? saved_context(g_calibration_ctx) : nullptr;
  const auto target = reinterpret_cast<unw_word_t>(&gmr_fiber_calibration_park);
  for (int slot : {0x38, 0x40, 0x48}) {
    bool found = false;
    for (std::uintptr_t pc : unwind_saved_context(fctx, slot)) {
      unw_proc_info_t info{};
      if (unw_get_proc_info_by_ip(unw_local_addr_space, pc - 1, &info, nullptr) == 0 &&
          info.start_ip == target) {
        found = true;
      }
    }
    if (found) {
      g_return_slot = slot;
      g_problem.clear();
      break;
    }
  }
  if (g_return_slot < 0) {
    g_problem = "Boost.Context's saved-register layout was not recognised (calibration failed); "
                "fibers are listed without their stacks";
  }
  probe.join();
#else
  g_problem = "fiber stacks are only unwound on x86_64";
#endif
}

}  // namespace

void use_round_robin() {
  boost::fibers::use_scheduling_algorithm<Scheduler>();
  std::call_once(g_calibrated, [] {
    calibrate();
    add_green_thread_source("boost.fiber", snapshot_all);
  });
}

void set_name(std::string name) {
  context* ctx = context::active();
  if (auto* props = dynamic_cast<Props*>(ctx ? ctx->get_properties() : nullptr)) {
    props->name = std::move(name);
  }
}

std::string stack_support_problem() { return g_return_slot.load() >= 0 ? "" : g_problem; }

}  // namespace gmr::fibers
