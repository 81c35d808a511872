// engine.hpp (internal): gmr's reporter thread.
//
// One long-lived thread collects every report: the symbolizer's per-thread state
// is built once, and a report never runs on a host's thread. Other threads hand it
// work (run_on_reporter) or wake it through the trigger pipe, whose write end a
// signal handler may use.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gmr/gmr.hpp"
#include "symbolizer.hpp"
#include "thread_capture.hpp"

namespace gmr {

struct RegisteredSection {
  std::string id;
  std::string title;
  SectionGenerator generator;
};

// Returns a copy of the registered sections, in registration order (gmr.cpp).
std::vector<RegisteredSection> registered_sections();

// The process-wide trigger pipe: created once, never closed, non-blocking. A
// byte 't' asks for a report to be written; other bytes only wake the reporter.
int trigger_pipe_read_fd();
int trigger_pipe_write_fd();
// Writes one byte into the trigger pipe. Async-signal-safe.
void poke_trigger_pipe(char byte);

struct EngineConfig {
  Version version;
  std::string service;
  Config* config = nullptr;
  int capture_signal = 0;
  std::chrono::milliseconds thread_timeout{250};
  // How long a registered section's generator may run (on a helper thread)
  // before its section says it timed out and the report goes on without it.
  std::chrono::milliseconds generator_timeout{2000};
  // When to take the warm-up capture (SetupOptions::warm_up_after); <= 0: never.
  // The default engine (made by collect() before any setup) takes none.
  std::chrono::milliseconds warm_up_after{0};
};

class Engine {
 public:
  explicit Engine(EngineConfig config);
  ~Engine();  // stops the reporter thread, after running the work already handed to it
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Collects a report on the reporter thread. Thread-safe.
  Report collect(const CollectOptions& options);
  // Collects the text report and writes it to stderr or log_dir, on the reporter
  // thread; returns where it went. Thread-safe.
  std::string write_report();

  const EngineConfig& config() const { return config_; }

 private:
  template <class F>
  auto run_on_reporter(F f) -> decltype(f());
  void run();
  // Takes one capture of every thread and symbolizes it, for the caches' sake.
  void warm_up_capture();
  Report collect_now(const CollectOptions& options);
  std::string write_report_now();

  EngineConfig config_;
  std::unique_ptr<ThreadCapture> capture_;  // used on the reporter thread only
  std::unique_ptr<Symbolizer> symbolizer_;  // used on the reporter thread only
  bool collected_ = false;                   // a report was collected; reporter thread only
  std::mutex mu_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::thread thread_;
};

template <class F>
auto Engine::run_on_reporter(F f) -> decltype(f()) {
  using R = decltype(f());
  if (std::this_thread::get_id() == thread_.get_id()) return f();  // e.g. a generator
  auto task = std::make_shared<std::packaged_task<R()>>(std::move(f));
  std::future<R> result = task->get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) throw std::runtime_error("gmr is shutting down");
    queue_.emplace_back([task] { (*task)(); });
  }
  poke_trigger_pipe('r');
  return result.get();
}

}  // namespace gmr
