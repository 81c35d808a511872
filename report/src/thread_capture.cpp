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

#include "gmr/gmr.hpp"  // start_gmr_thread
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

// What a walk remembers for the next one in the same slot (x86_64): for each of
// its first kMemoFrames frames, the frame's pc, stack pointer, callee-saved
// registers, and a hash of the stack bytes from that stack pointer to the
// outermost frame. Where libunwind's walk goes on from a frame depends only on
// those (the registers, the stack bytes above, and the code's unwind tables), so
// a new walk that reaches a frame equal to a remembered one in all of them takes
// the remembered frames from there on instead of stepping through them. A thread
// parked with a timeout changes only its innermost frames between captures (its
// deadline lives there): those are walked, the twenty frames above are not.
constexpr int kMemoFrames = 16;
#if defined(__x86_64__)
constexpr int kSavedRegs = 6;  // rbp, rbx, r12 to r15
#else
constexpr int kSavedRegs = 1;
#endif
constexpr std::uintptr_t kMaxMemoSpan = 256 * 1024;

struct FrameState {
  std::uintptr_t ip = 0;
  std::uintptr_t sp = 0;
  std::uintptr_t regs[kSavedRegs] = {};
  std::uint64_t hash = 0;  // of the stack bytes [sp, Slot::memo_end)
};

struct Walk {
  int depth = 0;
  void* pcs[kMaxFrames];
  FrameState frames[kMemoFrames];  // the first min(depth, kMemoFrames) frames

  // The walk's return addresses, innermost first: the first is the interrupted
  // instruction itself (the walk starts from the signal's context).
  std::vector<std::uintptr_t> stack() const {
    std::vector<std::uintptr_t> out(static_cast<std::size_t>(depth));
    for (int i = 0; i < depth; ++i) out[static_cast<std::size_t>(i)] = reinterpret_cast<std::uintptr_t>(pcs[i]);
    return out;
  }
};

struct Slot {
  std::atomic<std::uint64_t> ticket{0};
  // Set by the reporter before it signals: the thread asked.
  pid_t tid = 0;
  // Written by the handler that holds the ticket (kBusy). Two walks: the
  // handler reads the last one (the memo) while it writes the new one, then
  // makes the new one current. The reporter reads the current one.
  Walk walks[2];
  int current = 0;
  bool memo_valid = false;       // walks[current] may be used as a memo
  pid_t memo_tid = 0;
  std::uintptr_t memo_self = 0;  // pthread_self(): a reused tid is another thread
  std::uintptr_t memo_end = 0;   // the outermost frame's stack pointer

  const Walk& result() const { return walks[current]; }
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

// Hashes the stack bytes [from, to), going down from `to`, continuing `h`: the
// hash of [a, to) is that of [b, to) continued over [a, b). It reads the whole
// stack, redzones between an ASan build's locals included: not instrumented.
__attribute__((no_sanitize("address", "thread", "undefined")))
std::uint64_t hash_down(std::uint64_t h, std::uintptr_t from, std::uintptr_t to) {
  for (auto* p = reinterpret_cast<const std::uint64_t*>(to); p > reinterpret_cast<const std::uint64_t*>(from);) {
    --p;
    h = (h ^ *p) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
  }
  return h;
}
constexpr std::uint64_t kHashSeed = 0x9E3779B97F4A7C15ULL;

void read_frame(unw_cursor_t& cursor, std::uintptr_t ip, FrameState& f) {
  f.ip = ip;
  unw_word_t v = 0;
  f.sp = unw_get_reg(&cursor, UNW_REG_SP, &v) == 0 ? v : 0;
#if defined(__x86_64__)
  const unw_regnum_t which[kSavedRegs] = {UNW_X86_64_RBP, UNW_X86_64_RBX, UNW_X86_64_R12,
                                          UNW_X86_64_R13, UNW_X86_64_R14, UNW_X86_64_R15};
  for (int i = 0; i < kSavedRegs; ++i) {
    v = 0;
    unw_get_reg(&cursor, which[i], &v);
    f.regs[i] = v;
  }
#endif
}

bool same_frame(const FrameState& a, const FrameState& b) {
  if (a.ip != b.ip || a.sp != b.sp) return false;
  for (int i = 0; i < kSavedRegs; ++i)
    if (a.regs[i] != b.regs[i]) return false;
  return true;
}

// Walks the interrupted thread's stack from the signal's context: the first
// frame is the interrupted instruction, and neither the handler nor the signal
// trampoline appears. Uses libunwind's global cache (it takes libunwind's lock
// with every signal blocked, for each frame); it allocates nothing per thread,
// unlike unw_backtrace (a 256 KB trace cache in every thread that uses it).
// Stops early where the rest of the stack is as the last walk left it.
void walk(Slot* slot, void* ucontext) {
  const Walk& last = slot->walks[slot->current];
  Walk& out = slot->walks[1 - slot->current];
  bool memo = false;
#if defined(__x86_64__)
  memo = slot->memo_valid && slot->memo_tid == slot->tid &&
         slot->memo_self == static_cast<std::uintptr_t>(::pthread_self());
#endif
  const int last_states = std::min(last.depth, kMemoFrames);
  out.depth = 0;
  int n = 0;
  int spliced_from = -1;  // index in `last` where the remembered frames were taken
  int fresh = 0;          // frames walked (the rest, if spliced_from >= 0, remembered)
  bool through_signal_frame = false;
  unw_cursor_t cursor;
  if (unw_init_local2(&cursor, static_cast<unw_context_t*>(ucontext), UNW_INIT_SIGNAL_FRAME) == 0) {
    for (;;) {
      unw_word_t ip = 0;
      if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0) break;
      FrameState f;
      read_frame(cursor, ip, f);
      if (memo && !through_signal_frame) {
        int k = 0;
        while (k < last_states && !same_frame(last.frames[k], f)) ++k;
        if (k < last_states && f.sp < slot->memo_end &&
            hash_down(kHashSeed, f.sp, slot->memo_end) == last.frames[k].hash) {
          spliced_from = k;
          fresh = n;
          for (int i = k; i < last.depth && n < kMaxFrames; ++i, ++n) {
            out.pcs[n] = last.pcs[i];
            if (n < kMemoFrames) out.frames[n] = i < kMemoFrames ? last.frames[i] : FrameState{};
          }
          break;
        }
      }
      out.pcs[n] = reinterpret_cast<void*>(ip);
      if (n < kMemoFrames) out.frames[n] = f;
      ++n;
      if (n > 1 && unw_is_signal_frame(&cursor) > 0) through_signal_frame = true;
      if (n >= kMaxFrames || unw_step(&cursor) <= 0) break;
    }
  }
  out.depth = n;
  if (spliced_from < 0) fresh = n;

  // Remember this walk unless the stack was not one contiguous run of frames (a
  // nested signal frame may come from an alternate signal stack), or is huge.
  bool valid = false;
  std::uintptr_t end = 0;
#if defined(__x86_64__)
  int states = std::min(n, kMemoFrames);
  for (int i = 0; i < states; ++i) {
    if (out.frames[i].sp == 0) states = i;  // not known: remember the frames below only
  }
  if (spliced_from >= 0) {
    end = slot->memo_end;
  } else if (n > 0) {
    unw_word_t outer_sp = 0;
    if (unw_get_reg(&cursor, UNW_REG_SP, &outer_sp) == 0) end = outer_sp;
  }
  const std::uintptr_t sp0 = states > 0 ? out.frames[0].sp : 0;
  valid = n > 0 && !through_signal_frame && end > sp0 && end - sp0 <= kMaxMemoSpan && end % 8 == 0;
  for (int i = 0; valid && i < states; ++i) {
    // Stack pointers grow outwards, each aligned, within [sp0, end].
    const std::uintptr_t sp = out.frames[i].sp;
    valid = sp % 8 == 0 && sp >= sp0 && sp <= end && (i == 0 || sp >= out.frames[i - 1].sp);
  }
  if (valid) {
    // Hashes from the outermost remembered frame inwards; the spliced frames'
    // hashes are the remembered ones (their bytes are unchanged).
    int i = states - 1;
    std::uint64_t h = kHashSeed;
    std::uintptr_t above = end;
    if (spliced_from >= 0 && fresh < states) {
      h = out.frames[fresh].hash;
      above = out.frames[fresh].sp;
      i = fresh - 1;
    }
    for (; i >= 0; --i) {
      h = hash_down(h, out.frames[i].sp, above);
      above = out.frames[i].sp;
      out.frames[i].hash = h;
    }
  }
#endif
  slot->memo_valid = valid;
  slot->memo_end = end;
  slot->memo_tid = slot->tid;
  slot->memo_self = static_cast<std::uintptr_t>(::pthread_self());
  slot->current = 1 - slot->current;
}

// The signal handler: async-signal-safe. No allocation, errno kept. A thread
// parked where it was at the last capture costs a hash of its stack (well under
// a microsecond); one whose innermost frames changed has those walked again.
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
      walk(slot, ucontext);
      slot->ticket.store(generation | kDone, std::memory_order_release);
    }
  }
  errno = saved_errno;
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
// - at most 8 threads per CPU (16 to 64) are signalled and not yet answered
//   (and younger than kBlockedCheck) at any time, so that the run queue never
//   holds hundreds of woken threads, which would stall the host's other threads
//   (with 1000 threads signalled at once, a 1 ms ticker stalled 16 ms; with 32
//   at most, under 1 ms). Fewer than 16 leaves the reporter waiting (1000
//   threads on 2 CPUs: 26 ms with 4, 22 ms with 16);
// - a thread that has not started its handler kBlockedCheck after its signal is
//   asked (/proc) whether it blocks the signal: only those few cost a read of
//   their status file;
// - laggards are checked for existence every kExistCheck.
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kBlockedCheck = std::chrono::milliseconds(3);
constexpr auto kExistCheck = std::chrono::milliseconds(5);

std::size_t signal_window() {
  const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  return static_cast<std::size_t>(std::clamp(8 * cpus, 16L, 64L));
}

void pause_briefly() { std::this_thread::sleep_for(std::chrono::microseconds(20)); }

// Which slot each thread is asked in: the one it had in the last capture when
// it can (its memo lives there); the others take slots that no thread listed now
// had last time.
class SlotAssigner {
 public:
  explicit SlotAssigner(const std::vector<pid_t>& tids) : previous_(slot_of_thread()) {
    assigned_.reserve(tids.size());
    for (pid_t tid : tids) {
      auto it = previous_.find(tid);
      if (it == previous_.end()) continue;
      if (reserved_.size() <= it->second) reserved_.resize(it->second + 1, false);
      reserved_[it->second] = true;
    }
  }

  // Returns a slot for `tid` that no earlier capture still holds (a handler
  // mid-write) and sets `index`; nullptr when there are no more slots.
  Slot* take(pid_t tid, std::uint32_t& index) {
    auto it = previous_.find(tid);
    if (it != previous_.end() && !taken(it->second)) {
      Slot* slot = ensure_slot(it->second);
      if (slot != nullptr && (slot->ticket.load(std::memory_order_acquire) & kBusy) == 0) {
        index = it->second;
        mark_taken(index);
        return slot;
      }
    }
    for (Slot* slot; (slot = ensure_slot(next_free_)) != nullptr; ++next_free_) {
      if (reserved(next_free_) || taken(next_free_)) continue;
      if ((slot->ticket.load(std::memory_order_acquire) & kBusy) != 0) continue;
      index = next_free_++;
      mark_taken(index);
      return slot;
    }
    return nullptr;
  }

  // Records that `tid` was signalled in slot `index`: its walk is remembered there.
  void keep(pid_t tid, std::uint32_t index) { assigned_[tid] = index; }

  // Makes this capture's slots the ones the next capture starts from.
  void commit() { previous_ = std::move(assigned_); }

 private:
  bool reserved(std::uint32_t i) const { return i < reserved_.size() && reserved_[i]; }
  bool taken(std::uint32_t i) const { return i < taken_.size() && taken_[i]; }
  void mark_taken(std::uint32_t i) {
    if (taken_.size() <= i) taken_.resize(i + 1, false);
    taken_[i] = true;
  }

  std::unordered_map<pid_t, std::uint32_t>& previous_;
  std::unordered_map<pid_t, std::uint32_t> assigned_;
  std::vector<bool> reserved_, taken_;
  std::uint32_t next_free_ = 0;
};

// Reads each thread's stat (name, state, CPU times), in order, on a helper
// thread, so that the reporter can signal each thread as soon as its stat is
// read: the state shown is the one from before the signal, and the reads and
// the signals proceed at once (1000 threads: /proc reads ~9 ms, signals ~5 ms).
// Without a helper (none to be had) the reads happen at construction.
class StatReader {
 public:
  StatReader(const std::vector<pid_t>& tids, int task_dir)
      : tids_(tids), task_dir_(task_dir), described_(tids.size()) {
    try {
      thread_ = start_gmr_thread([this] { read_all(); });
    } catch (const std::exception&) {
      read_all();
    }
  }
  ~StatReader() {
    if (thread_.joinable()) thread_.join();
  }
  StatReader(const StatReader&) = delete;
  StatReader& operator=(const StatReader&) = delete;

  // Returns thread i's description, calling `idle` while it is not read yet.
  template <class Idle>
  RawThread take(std::size_t i, Idle idle) {
    while (count_.load(std::memory_order_acquire) <= i) idle();
    return std::move(described_[i]);
  }

 private:
  void read_all() {
    for (std::size_t i = 0; i < tids_.size(); ++i) {
      described_[i].tid = tids_[i];
      describe_task(task_dir_, described_[i]);
      count_.store(i + 1, std::memory_order_release);
    }
  }

  const std::vector<pid_t>& tids_;
  const int task_dir_;
  std::vector<RawThread> described_;
  std::atomic<std::size_t> count_{0};
  std::thread thread_;
};

// The threads signalled in a capture, until each has answered, been found
// blocking the signal, not responding, or gone.
class Answers {
 public:
  Answers(int signo, std::chrono::milliseconds timeout, std::vector<RawThread>& threads)
      : signo_(signo), timeout_(timeout), threads_(threads) {}

  // Records that threads[thread] was signalled at `sent` in `slot`.
  void add(std::size_t thread, Slot* slot, std::uint64_t generation, Clock::time_point sent) {
    pending_.push_back({thread, slot, generation, sent, sent + timeout_});
  }

  // Marks `t` as blocking the capture signal.
  void blocking(RawThread& t) {
    t.status = CaptureStatus::kBlocked;
    t.status_detail = "blocks " + signal_name(signo_) + ", the capture signal: no stack";
    still_blocking_.insert(t.tid);
  }

  // Resolves what can be resolved; returns how many are still young (signalled
  // less than kBlockedCheck ago and unanswered).
  std::size_t poll() {
    const auto now = Clock::now();
    const bool check_exists = now - last_exist_check_ > kExistCheck;
    if (check_exists) last_exist_check_ = now;
    std::size_t young = 0;
    open_ = 0;
    while (first_open_ < pending_.size() && (pending_[first_open_].answered || pending_[first_open_].gone)) {
      ++first_open_;
    }
    for (std::size_t i = first_open_; i < pending_.size(); ++i) {
      Pending& p = pending_[i];
      if (p.answered || p.gone) continue;
      resolve(p, now, check_exists);
      if (!p.answered && !p.gone) {
        ++open_;
        if (!p.blocked_checked) ++young;
      }
    }
    return young;
  }

  // Waits until every signalled thread is resolved.
  void wait_all() {
    for (poll(); open_ > 0; poll()) pause_briefly();
  }

  // Copies the answered stacks out of their slots and frees the slots; drops
  // the threads that exited; remembers the threads found blocking the signal.
  void finish() {
    std::vector<bool> drop(threads_.size(), false);
    for (Pending& p : pending_) {
      if (p.gone) {
        drop[p.thread] = true;
        continue;
      }
      RawThread& t = threads_[p.thread];
      if (t.status != CaptureStatus::kOk) continue;
      t.pcs = p.slot->result().stack();
      // Free the slot (a done one; withdrawn ones are already 0).
      std::uint64_t done = p.generation | kDone;
      p.slot->ticket.compare_exchange_strong(done, 0, std::memory_order_acq_rel);
    }
    std::vector<RawThread> kept;
    kept.reserve(threads_.size());
    for (std::size_t i = 0; i < threads_.size(); ++i) {
      if (!drop[i]) kept.push_back(std::move(threads_[i]));
    }
    threads_ = std::move(kept);
    blocking_threads() = std::move(still_blocking_);
  }

 private:
  struct Pending {
    std::size_t thread;  // index in threads_
    Slot* slot;
    std::uint64_t generation;
    Clock::time_point sent;
    Clock::time_point deadline;
    bool blocked_checked = false;
    bool answered = false;
    bool gone = false;
  };

  void resolve(Pending& p, Clock::time_point now, bool check_exists) {
    RawThread& t = threads_[p.thread];
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
        if (procfs::task_holds_signal_blocked(t.tid, signo_).value_or(false) &&
            p.slot->ticket.compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) {
          blocking(t);
          p.answered = true;
          return;
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
                            std::to_string(timeout_.count()) + " ms";
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
  }

  const int signo_;
  const std::chrono::milliseconds timeout_;
  std::vector<RawThread>& threads_;
  std::vector<Pending> pending_;
  std::size_t first_open_ = 0;  // pending_ before it are all resolved
  std::size_t open_ = 0;        // unresolved at the last poll()
  Clock::time_point last_exist_check_ = Clock::now();
  std::unordered_set<pid_t> still_blocking_;  // becomes blocking_threads()
};

}  // namespace

CaptureResult ThreadCapture::capture(std::chrono::milliseconds timeout) {
  CaptureResult result;
  if (!install_error_.empty()) {
    result.error = install_error_;
    return result;
  }
  const pid_t self = static_cast<pid_t>(::syscall(SYS_gettid));
  const std::vector<pid_t> tids = procfs::list_tasks();
  struct TaskDir {
    int fd = procfs::open_task_dir();
    ~TaskDir() {
      if (fd >= 0) ::close(fd);  // after the StatReader below has been joined
    }
  } task_dir;
  result.threads.reserve(tids.size());

  SlotAssigner slots(tids);
  Answers answers(signo_, timeout, result.threads);
  const std::size_t window = signal_window();
  StatReader stats(tids, task_dir.fd);
  for (std::size_t i = 0; i < tids.size(); ++i) {
    RawThread t = stats.take(i, [&] {
      answers.poll();
      ::sched_yield();
    });
    const pid_t tid = t.tid;
    if (t.state == 'Z' || t.state == 'X') continue;  // exited: nothing to capture
    if (tid == self) {
      t.status = CaptureStatus::kSelf;
      t.pcs = own_stack();
      result.threads.push_back(std::move(t));
      continue;
    }
    if (blocking_threads().count(tid) != 0 && procfs::task_holds_signal_blocked(tid, signo_).value_or(false)) {
      answers.blocking(t);  // still holds the last capture's signal: not signalled again
      result.threads.push_back(std::move(t));
      continue;
    }
    while (answers.poll() >= window) pause_briefly();
    std::uint32_t index = 0;
    Slot* slot = slots.take(tid, index);
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
    slots.keep(tid, index);
    answers.add(result.threads.size(), slot, generation, sent);
    result.threads.push_back(std::move(t));
  }
  answers.wait_all();
  answers.finish();
  slots.commit();
  return result;
}

}  // namespace gmr
