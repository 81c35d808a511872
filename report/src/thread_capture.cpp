#include "thread_capture.hpp"

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>
#include <sched.h>
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
#include <unordered_map>
#include <unordered_set>

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

// The registers an unwind may depend on: the interrupted pc, the stack
// pointer and the callee-saved registers (CFA rules use rsp or rbp).
#if defined(__x86_64__)
constexpr int kKeyRegs = 8;
#else
constexpr int kKeyRegs = 1;
#endif
constexpr std::uintptr_t kMaxMemoSpan = 256 * 1024;

struct Slot {
  std::atomic<std::uint64_t> ticket{0};
  // Set by the reporter before it signals: the thread asked.
  pid_t tid = 0;
  // Written by the handler that holds the ticket (kBusy).
  std::uintptr_t interrupted_pc = 0;
  int depth = 0;
  void* pcs[kMaxFrames];
  // The memo of the last walk in this slot: if the same thread is interrupted
  // again with the same registers and the same stack bytes between its stack
  // pointer and the outermost frame, the walk would give the same frames
  // (libunwind reads only those bytes, the registers, and the code's unwind
  // tables), so pcs/depth are kept as they are.
  bool memo_valid = false;
  pid_t memo_tid = 0;
  std::uintptr_t memo_self = 0;  // pthread_self(): a reused tid is another thread
  std::uintptr_t memo_regs[kKeyRegs] = {};
  std::uintptr_t memo_end = 0;   // the outermost frame's stack pointer
  std::uint64_t memo_hash = 0;   // of the stack bytes [sp, memo_end)
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

void key_registers(void* ucontext, std::uintptr_t* regs) {
  auto* uc = static_cast<ucontext_t*>(ucontext);
#if defined(__x86_64__)
  const greg_t* g = uc->uc_mcontext.gregs;
  const int which[kKeyRegs] = {REG_RIP, REG_RSP, REG_RBP, REG_RBX, REG_R12, REG_R13, REG_R14, REG_R15};
  for (int i = 0; i < kKeyRegs; ++i) regs[i] = static_cast<std::uintptr_t>(g[which[i]]);
#else
  (void)uc;
  regs[0] = 0;  // no memo: the walk is always done
#endif
}

std::uint64_t hash_stack(std::uintptr_t from, std::uintptr_t to) {
  std::uint64_t h = 0x9E3779B97F4A7C15ULL;
  for (auto* p = reinterpret_cast<const std::uint64_t*>(from); p < reinterpret_cast<const std::uint64_t*>(to); ++p) {
    h = (h ^ *p) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
  }
  return h;
}

// Walks the interrupted thread's stack from the signal's context: the first
// frame is the interrupted instruction, and neither the handler nor the signal
// trampoline appears. Uses libunwind's global cache (it takes libunwind's lock
// with every signal blocked, for each frame); it allocates nothing per thread,
// unlike unw_backtrace (a 256 KB trace cache in every thread that uses it).
void walk(Slot* slot, void* ucontext, const std::uintptr_t* regs) {
  slot->memo_valid = false;
  slot->depth = 0;
  unw_cursor_t cursor;
  if (unw_init_local2(&cursor, static_cast<unw_context_t*>(ucontext), UNW_INIT_SIGNAL_FRAME) < 0) return;
  int n = 0;
  bool through_signal_frame = false;
  do {
    unw_word_t ip = 0;
    if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0) break;
    slot->pcs[n++] = reinterpret_cast<void*>(ip);
    if (n > 1 && unw_is_signal_frame(&cursor) > 0) through_signal_frame = true;
  } while (n < kMaxFrames && unw_step(&cursor) > 0);
  slot->depth = n;
  // Remember the walk unless the stack was not one contiguous run of frames
  // (a nested signal frame may come from an alternate signal stack).
#if defined(__x86_64__)
  unw_word_t outer_sp = 0;
  if (n > 0 && !through_signal_frame && unw_get_reg(&cursor, UNW_REG_SP, &outer_sp) == 0 &&
      outer_sp > regs[1] && outer_sp - regs[1] <= kMaxMemoSpan && outer_sp % 8 == 0 && regs[1] % 8 == 0) {
    for (int i = 0; i < kKeyRegs; ++i) slot->memo_regs[i] = regs[i];
    slot->memo_end = outer_sp;
    slot->memo_hash = hash_stack(regs[1], outer_sp);
    slot->memo_tid = slot->tid;
    slot->memo_self = static_cast<std::uintptr_t>(::pthread_self());
    slot->memo_valid = true;
  }
#else
  (void)regs;
  (void)through_signal_frame;
#endif
}

// The signal handler: async-signal-safe. No allocation, errno kept. A parked
// thread whose registers and stack did not change since the last capture costs
// a hash of its stack (well under a microsecond); otherwise libunwind walks it.
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
      std::uintptr_t regs[kKeyRegs];
      key_registers(ucontext, regs);
      bool same = false;
#if defined(__x86_64__)
      if (slot->memo_valid && slot->memo_tid == slot->tid &&
          slot->memo_self == static_cast<std::uintptr_t>(::pthread_self())) {
        same = true;
        for (int i = 0; i < kKeyRegs; ++i) same = same && slot->memo_regs[i] == regs[i];
        same = same && hash_stack(regs[1], slot->memo_end) == slot->memo_hash;
      }
#endif
      if (!same) walk(slot, ucontext, regs);
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

void describe_task(int task_dir, RawThread& t) {
  procfs::Stat st;
  if (task_dir >= 0 && procfs::task_stat_at(task_dir, t.tid, st)) {
    const double tick = 1.0 / static_cast<double>(procfs::ticks_per_second());
    t.name = std::move(st.comm);
    t.state = st.state;
    t.cpu_user_s = static_cast<double>(st.utime_ticks) * tick;
    t.cpu_system_s = static_cast<double>(st.stime_ticks) * tick;
  }
}

// The slot each thread had in the last capture: a thread that keeps its slot
// keeps its memo. Used by the reporter only (one capture at a time).
std::unordered_map<pid_t, std::uint32_t>& slot_of_thread() {
  static auto* map = new std::unordered_map<pid_t, std::uint32_t>;
  return *map;
}

// The threads found blocking the capture signal in the last capture. Each still
// holds that capture's signal, pending (a real-time signal queues): they are asked
// /proc first next time, and not signalled again while they still block it, so
// that a thread blocking it forever holds one queued signal, not one per report
// (queued signals count against the user's RLIMIT_SIGPENDING, which the host's
// own sigqueue() calls need too). Used by the reporter only.
std::unordered_set<pid_t>& blocking_threads() {
  static auto* set = new std::unordered_set<pid_t>;
  return *set;
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

// How a capture paces itself:
// - at most kWindow threads are signalled and not yet answered (and younger
//   than kBlockedCheck) at any time, so that the run queue never holds hundreds
//   of woken threads, which would stall the other threads of the host;
// - a thread that has not started its handler kBlockedCheck after its signal is
//   asked (SigBlk in /proc) whether it blocks the signal: only those few cost a
//   read of their status file;
// - laggards are checked for existence every kExistCheck.
constexpr std::size_t kWindow = 32;
constexpr auto kBlockedCheck = std::chrono::milliseconds(3);
constexpr auto kExistCheck = std::chrono::milliseconds(5);

CaptureResult ThreadCapture::capture(std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  CaptureResult result;
  if (!install_error_.empty()) {
    result.error = install_error_;
    return result;
  }
  const pid_t self = static_cast<pid_t>(::syscall(SYS_gettid));
  const std::vector<pid_t> tids = procfs::list_tasks();
  const int task_dir = procfs::open_task_dir();
  result.threads.reserve(tids.size());

  struct Pending {
    std::size_t thread;  // index in result.threads
    Slot* slot;
    std::uint64_t generation;
    Clock::time_point sent;
    Clock::time_point deadline;
    bool blocked_checked = false;
    bool answered = false;
    bool gone = false;
  };
  std::vector<Pending> pending;
  pending.reserve(tids.size());

  // Slots: a thread gets the one it had last time when it can (its memo lives
  // there); the others take slots nobody listed now had last time.
  auto& previous = slot_of_thread();
  std::unordered_map<pid_t, std::uint32_t> assigned;
  assigned.reserve(tids.size());
  std::vector<bool> reserved;
  for (pid_t tid : tids) {
    auto it = previous.find(tid);
    if (it == previous.end()) continue;
    if (reserved.size() <= it->second) reserved.resize(it->second + 1, false);
    reserved[it->second] = true;
  }
  std::vector<bool> taken(reserved.size(), false);
  auto is_reserved = [&](std::uint32_t i) { return i < reserved.size() && reserved[i]; };
  auto is_taken = [&](std::uint32_t i) { return i < taken.size() && taken[i]; };
  auto take = [&](std::uint32_t i) {
    if (taken.size() <= i) taken.resize(i + 1, false);
    taken[i] = true;
  };
  std::uint32_t next_free = 0;
  auto slot_for = [&](pid_t tid, std::uint32_t& index) -> Slot* {
    auto it = previous.find(tid);
    if (it != previous.end() && !is_taken(it->second)) {
      Slot* slot = ensure_slot(it->second);
      if (slot != nullptr && (slot->ticket.load(std::memory_order_acquire) & kBusy) == 0) {
        index = it->second;
        take(index);
        return slot;
      }
    }
    // A slot no earlier capture still holds (a handler mid-write).
    for (Slot* slot; (slot = ensure_slot(next_free)) != nullptr; ++next_free) {
      if (is_reserved(next_free) || is_taken(next_free)) continue;
      if ((slot->ticket.load(std::memory_order_acquire) & kBusy) != 0) continue;
      index = next_free++;
      take(index);
      return slot;
    }
    return nullptr;
  };

  // Resolves what can be resolved among the pending threads; returns how many
  // are still young (signalled less than kBlockedCheck ago and unanswered).
  std::unordered_set<pid_t> still_blocking;  // becomes blocking_threads() at the end
  std::size_t first_open = 0;
  auto last_exist_check = Clock::now();
  std::size_t open_count = 0;
  auto poll = [&]() -> std::size_t {
    const auto now = Clock::now();
    const bool check_exists = now - last_exist_check > kExistCheck;
    if (check_exists) last_exist_check = now;
    std::size_t young = 0;
    open_count = 0;
    while (first_open < pending.size() && (pending[first_open].answered || pending[first_open].gone)) ++first_open;
    for (std::size_t i = first_open; i < pending.size(); ++i) {
      Pending& p = pending[i];
      if (p.answered || p.gone) continue;
      RawThread& t = result.threads[p.thread];
      const std::uint64_t ticket = p.slot->ticket.load(std::memory_order_acquire);
      if (ticket == (p.generation | kDone)) {
        p.answered = true;
      } else if (ticket == p.generation) {
        // Not started. A thread that blocks the signal never starts: ask /proc
        // about those that are slow to, and withdraw their ticket so that the
        // signal, delivered when they unblock it, writes nothing.
        std::uint64_t expected = p.generation;
        if (!p.blocked_checked && now - p.sent >= kBlockedCheck) {
          p.blocked_checked = true;
          if (procfs::task_blocks_signal(t.tid, signo_).value_or(false) &&
              p.slot->ticket.compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) {
            t.status = CaptureStatus::kBlocked;
            t.status_detail = "blocks " + signal_name(signo_) + ", the capture signal: no stack";
            still_blocking.insert(t.tid);
            p.answered = true;
            continue;
          }
          expected = p.generation;
        }
        // Withdraw the ticket once the thread is gone or late, so that a late
        // answer can never write into this or a later capture.
        const bool late = now > p.deadline;
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
      if (!p.answered && !p.gone) {
        ++open_count;
        if (!p.blocked_checked) ++young;
      }
    }
    return young;
  };
  auto pause = [] { std::this_thread::sleep_for(std::chrono::microseconds(20)); };

  // Interleaved: read a thread's stat, then signal it, so that /proc is read
  // while the signalled threads run their handlers on the other CPUs.
  for (pid_t tid : tids) {
    RawThread t;
    t.tid = tid;
    describe_task(task_dir, t);
    if (t.state == 'Z' || t.state == 'X') continue;  // exited: nothing to capture
    if (tid == self) {
      t.status = CaptureStatus::kSelf;
      t.pcs = own_stack();
      result.threads.push_back(std::move(t));
      continue;
    }
    if (blocking_threads().count(tid) != 0 && procfs::task_blocks_signal(tid, signo_).value_or(false)) {
      t.status = CaptureStatus::kBlocked;
      t.status_detail = "blocks " + signal_name(signo_) + ", the capture signal: no stack";
      still_blocking.insert(tid);
      result.threads.push_back(std::move(t));
      continue;
    }
    while (poll() >= kWindow) pause();
    std::uint32_t index = 0;
    Slot* slot = slot_for(tid, index);
    if (slot == nullptr) {
      t.status = CaptureStatus::kNotResponding;
      t.status_detail = "not captured: more threads than capture slots";
      result.threads.push_back(std::move(t));
      continue;
    }
    const std::uint64_t generation = (g_generation.fetch_add(1) + 1) & kGenerationMask;
    slot->tid = tid;
    slot->ticket.store(generation, std::memory_order_release);
    const std::uintptr_t token = (static_cast<std::uintptr_t>(generation) << kIndexBits) | index;
    const auto sent = Clock::now();
    if (!send_capture_signal(tid, signo_, token)) {
      const int err = errno;
      slot->ticket.store(0, std::memory_order_release);
      if (err == ESRCH) continue;  // exited since the listing
      t.status = CaptureStatus::kNotResponding;
      t.status_detail = std::string("could not be signalled: ") + std::strerror(err);
      result.threads.push_back(std::move(t));
      continue;
    }
    assigned[tid] = index;
    pending.push_back({result.threads.size(), slot, generation, sent, sent + timeout});
    result.threads.push_back(std::move(t));
  }
  if (task_dir >= 0) ::close(task_dir);

  // Wait for the rest of the answers.
  for (poll(); open_count > 0; poll()) pause();
  blocking_threads() = std::move(still_blocking);

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
  previous = std::move(assigned);
  return result;
}

}  // namespace gmr
