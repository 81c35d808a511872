// thread_capture.hpp (internal): the raw stacks of every thread of the process,
// captured in-process without stopping it.
//
// Each thread is asked for its stack with a real-time signal sent by
// rt_tgsigqueueinfo, carrying a ticket (slot index + generation). The handler
// stores raw program counters (libunwind's unw_backtrace) into that slot, which
// was allocated in advance; it never allocates or locks. A late answer (a thread
// that unblocks the signal, or wakes up, after its capture gave up) finds that
// the slot's ticket changed and writes nothing.
//
// Not thread-safe: one capture at a time (gmr's reporter thread).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace gmr {

enum class CaptureStatus { kOk, kSelf, kBlocked, kNotResponding };

struct RawThread {
  pid_t tid = 0;
  std::string name;
  char state = '?';
  double cpu_user_s = 0;
  double cpu_system_s = 0;
  CaptureStatus status = CaptureStatus::kOk;
  std::string status_detail;
  // Innermost first, starting at the interrupted frame (exact) for kOk; return
  // addresses only for kSelf.
  std::vector<std::uintptr_t> pcs;
};

struct CaptureResult {
  std::vector<RawThread> threads;  // sorted by tid; threads that exited are dropped
  std::string error;               // non-empty when nothing could be captured
};

class ThreadCapture {
 public:
  // Installs the handler for `signo` (a real-time signal). If the host already
  // has a handler there, installs nothing and every capture says so.
  explicit ThreadCapture(int signo);

  int signal() const { return signo_; }
  const std::string& install_error() const { return install_error_; }

  // Captures every thread in /proc/self/task. A thread gets `timeout` to answer.
  CaptureResult capture(std::chrono::milliseconds timeout);

 private:
  int signo_;
  std::string install_error_;
};

// Returns the name of a signal: "SIGUSR2", "SIGRTMIN+3".
std::string signal_name(int signo);

}  // namespace gmr
