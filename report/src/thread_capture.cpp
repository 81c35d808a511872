#include "thread_capture.hpp"

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <signal.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include "procfs.hpp"

namespace gmr {
namespace {

constexpr int kMaxFrames = 128;
constexpr std::uint32_t kSlotsPerChunk = 256;
constexpr std::uint32_t kMaxChunks = 256;  // 65,536 threads answered at once
constexpr int kIndexBits = 16;

// A slot's ticket is the generation of the request it waits for, with the two
// top bits saying that the handler is writing (kBusy) or has written (kDone).
// 0 means free. Generations only grow, so a stale ticket never matches again.
constexpr std::uint64_t kBusy = 1ULL << 62;
constexpr std::uint64_t kDone = 1ULL << 63;
constexpr std::uint64_t kGenerationMask = kBusy - 1;

struct Slot {
  std::atomic<std::uint64_t> ticket{0};
  std::uintptr_t interrupted_pc = 0;
  int depth = 0;
  void* pcs[kMaxFrames];
};

// Slots are allocated in chunks that are never freed: a late answer may still
// write into the chunk long after its capture ended.
std::atomic<Slot*> g_chunks[kMaxChunks];
std::atomic<std::uint64_t> g_generation{0};

Slot* slot_at(std::uint32_t index) {
  std::uint32_t chunk = index / kSlotsPerChunk;
  if (chunk >= kMaxChunks) return nullptr;
  Slot* base = g_chunks[chunk].load(std::memory_order_acquire);
  return base ? base + index % kSlotsPerChunk : nullptr;
}

Slot* ensure_slot(std::uint32_t index) {
  std::uint32_t chunk = index / kSlotsPerChunk;
  if (chunk >= kMaxChunks) return nullptr;
  if (!g_chunks[chunk].load(std::memory_order_acquire)) {
    g_chunks[chunk].store(new Slot[kSlotsPerChunk], std::memory_order_release);
  }
  return slot_at(index);
}

std::uintptr_t interrupted_pc(void* ucontext) {
  auto* uc = static_cast<ucontext_t*>(ucontext);
#if defined(__x86_64__)
  return static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
  return static_cast<std::uintptr_t>(uc->uc_mcontext.pc);
#else
  (void)uc;
  return 0;
#endif
}

// The signal handler: async-signal-safe. No allocation, no lock, errno kept.
void capture_handler(int, siginfo_t* info, void* ucontext) {
  const int saved_errno = errno;
  if (info != nullptr && info->si_code == SI_QUEUE) {
    auto token = reinterpret_cast<std::uintptr_t>(info->si_value.sival_ptr);
    auto index = static_cast<std::uint32_t>(token & ((1u << kIndexBits) - 1));
    std::uint64_t generation = token >> kIndexBits;
    Slot* slot = slot_at(index);
    std::uint64_t expected = generation;
    if (slot != nullptr && generation != 0 &&
        slot->ticket.compare_exchange_strong(expected, generation | kBusy,
                                             std::memory_order_acq_rel)) {
      slot->interrupted_pc = interrupted_pc(ucontext);
      int n = unw_backtrace(slot->pcs, kMaxFrames);
      slot->depth = n > 0 ? n : 0;
      slot->ticket.store(generation | kDone, std::memory_order_release);
    }
  }
  errno = saved_errno;
}

// Drops the handler's own frames and the signal trampoline: the stack starts at
// the interrupted instruction.
std::vector<std::uintptr_t> trim_to_interrupted(const Slot& slot) {
  std::vector<std::uintptr_t> pcs;
  int start = 0;
  for (int i = 0; i < slot.depth; ++i) {
    if (reinterpret_cast<std::uintptr_t>(slot.pcs[i]) == slot.interrupted_pc) {
      start = i;
      break;
    }
  }
  for (int i = start; i < slot.depth; ++i) pcs.push_back(reinterpret_cast<std::uintptr_t>(slot.pcs[i]));
  return pcs;
}

bool send_capture_signal(pid_t tid, int signo, std::uintptr_t token) {
  siginfo_t info;
  std::memset(&info, 0, sizeof info);
  info.si_signo = signo;
  info.si_code = SI_QUEUE;
  info.si_pid = ::getpid();
  info.si_uid = ::getuid();
  info.si_value.sival_ptr = reinterpret_cast<void*>(token);
  return ::syscall(SYS_rt_tgsigqueueinfo, ::getpid(), tid, signo, &info) == 0;
}

RawThread describe_task(pid_t tid) {
  RawThread t;
  t.tid = tid;
  if (auto st = procfs::task_stat(tid)) {
    const double tick = 1.0 / static_cast<double>(procfs::ticks_per_second());
    t.name = st->comm;
    t.state = st->state;
    t.cpu_user_s = static_cast<double>(st->utime_ticks) * tick;
    t.cpu_system_s = static_cast<double>(st->stime_ticks) * tick;
  }
  return t;
}

std::vector<std::uintptr_t> own_stack() {
  void* pcs[kMaxFrames];
  int n = unw_backtrace(pcs, kMaxFrames);
  std::vector<std::uintptr_t> out;
  for (int i = 0; i < n; ++i) out.push_back(reinterpret_cast<std::uintptr_t>(pcs[i]));
  return out;
}

}  // namespace

std::string signal_name(int signo) {
  if (signo >= SIGRTMIN && signo <= SIGRTMAX) {
    int k = signo - SIGRTMIN;
    return k == 0 ? "SIGRTMIN" : "SIGRTMIN+" + std::to_string(k);
  }
  const char* abbrev = ::sigabbrev_np(signo);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(signo);
}

ThreadCapture::ThreadCapture(int signo) : signo_(signo) {
  struct sigaction old{};
  if (::sigaction(signo, nullptr, &old) != 0) {
    install_error_ = "cannot use " + signal_name(signo) + " to capture stacks: " + std::strerror(errno);
    return;
  }
  const bool ours = (old.sa_flags & SA_SIGINFO) && old.sa_sigaction == capture_handler;
  const bool free = !(old.sa_flags & SA_SIGINFO) && (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN);
  if (!ours && !free) {
    install_error_ = "the host already handles " + signal_name(signo) +
                     "; choose another capture signal (gmr::SetupOptions::capture_signal)";
    return;
  }
  struct sigaction sa{};
  sa.sa_sigaction = capture_handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (::sigaction(signo, &sa, nullptr) != 0) {
    install_error_ = "cannot install the handler of " + signal_name(signo) + ": " + std::strerror(errno);
  }
}

CaptureResult ThreadCapture::capture(std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  CaptureResult result;
  if (!install_error_.empty()) {
    result.error = install_error_;
    return result;
  }
  const pid_t self = static_cast<pid_t>(::syscall(SYS_gettid));

  struct Pending {
    std::size_t thread;  // index in result.threads
    Slot* slot;
    std::uint64_t generation;
    Clock::time_point deadline;
    bool answered = false;
    bool gone = false;
  };
  std::vector<Pending> pending;
  std::uint32_t next_slot = 0;

  for (pid_t tid : procfs::list_tasks()) {
    RawThread t = describe_task(tid);
    if (t.state == 'Z' || t.state == 'X') continue;  // exited: nothing to capture
    if (tid == self) {
      t.status = CaptureStatus::kSelf;
      t.pcs = own_stack();
      result.threads.push_back(std::move(t));
      continue;
    }
    if (procfs::task_blocks_signal(tid, signo_).value_or(false)) {
      t.status = CaptureStatus::kBlocked;
      t.status_detail = "blocks " + signal_name(signo_) + ", the capture signal: no stack";
      result.threads.push_back(std::move(t));
      continue;
    }
    // Find a slot that no earlier capture still holds (a handler mid-write).
    Slot* slot = nullptr;
    std::uint32_t index = 0;
    while ((slot = ensure_slot(next_slot)) != nullptr) {
      index = next_slot++;
      if ((slot->ticket.load(std::memory_order_acquire) & kBusy) == 0) break;
    }
    if (slot == nullptr) {
      t.status = CaptureStatus::kNotResponding;
      t.status_detail = "not captured: more threads than capture slots";
      result.threads.push_back(std::move(t));
      continue;
    }
    const std::uint64_t generation = (g_generation.fetch_add(1) + 1) & kGenerationMask;
    slot->depth = 0;
    slot->ticket.store(generation, std::memory_order_release);
    const std::uintptr_t token = (static_cast<std::uintptr_t>(generation) << kIndexBits) | index;
    if (!send_capture_signal(tid, signo_, token)) {
      const int err = errno;
      slot->ticket.store(0, std::memory_order_release);
      if (err == ESRCH) continue;  // exited since the listing
      t.status = CaptureStatus::kNotResponding;
      t.status_detail = std::string("could not be signalled: ") + std::strerror(err);
      result.threads.push_back(std::move(t));
      continue;
    }
    pending.push_back({result.threads.size(), slot, generation, Clock::now() + timeout});
    result.threads.push_back(std::move(t));
  }

  // Wait for the answers. Threads that exit never answer: check every few
  // milliseconds that the laggards still exist rather than wait out the budget.
  auto last_exist_check = Clock::now();
  for (std::size_t left = pending.size(); left > 0;) {
    const auto now = Clock::now();
    const bool check_exists = now - last_exist_check > std::chrono::milliseconds(5);
    if (check_exists) last_exist_check = now;
    left = 0;
    for (Pending& p : pending) {
      if (p.answered || p.gone) continue;
      RawThread& t = result.threads[p.thread];
      const std::uint64_t ticket = p.slot->ticket.load(std::memory_order_acquire);
      if (ticket == (p.generation | kDone)) {
        p.answered = true;
      } else if (ticket == p.generation) {
        // Not started: withdraw the ticket once the thread is gone or late, so
        // that a late answer can never write into this or a later capture.
        const bool late = now > p.deadline;
        std::uint64_t expected = p.generation;
        if ((late || (check_exists && !procfs::task_exists(t.tid))) &&
            p.slot->ticket.compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) {
          if (procfs::task_exists(t.tid)) {
            t.status = CaptureStatus::kNotResponding;
            t.status_detail = "not responding: no answer to " + signal_name(signo_) + " within " +
                              std::to_string(timeout.count()) + " ms";
            p.answered = true;
          } else {
            p.gone = true;
          }
        }
      } else if (now > p.deadline + std::chrono::seconds(1)) {
        // Stuck inside the handler (stopped by a debugger?): give up on it. Its
        // slot stays busy, so no later capture uses it until the handler ends.
        t.status = CaptureStatus::kNotResponding;
        t.status_detail = "not responding: stopped while recording its stack";
        p.answered = true;
      }
      if (!p.answered && !p.gone) ++left;
    }
    if (left > 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }

  std::vector<RawThread> kept;
  kept.reserve(result.threads.size());
  std::vector<bool> drop(result.threads.size(), false);
  for (Pending& p : pending) {
    if (p.gone) {
      drop[p.thread] = true;
      continue;
    }
    RawThread& t = result.threads[p.thread];
    if (t.status != CaptureStatus::kOk) continue;
    t.pcs = trim_to_interrupted(*p.slot);
    // Free the slot (a done one; withdrawn ones are already 0).
    std::uint64_t done = p.generation | kDone;
    p.slot->ticket.compare_exchange_strong(done, 0, std::memory_order_acq_rel);
  }
  for (std::size_t i = 0; i < result.threads.size(); ++i) {
    if (!drop[i]) kept.push_back(std::move(result.threads[i]));
  }
  result.threads = std::move(kept);
  return result;
}

}  // namespace gmr
