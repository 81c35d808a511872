// triggers.hpp (internal): what asks for a text report. Both only poke the
// trigger pipe; the reporter thread does the rest.
#pragma once

#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gmr {

// Installs a handler that writes one byte into the trigger pipe on each of
// `signals`, except those for which the host already has a handler (left to the
// host, with one warning line on stderr). The destructor restores what it found.
class SignalTrigger {
 public:
  explicit SignalTrigger(const std::vector<int>& signals);
  ~SignalTrigger();
  SignalTrigger(const SignalTrigger&) = delete;
  SignalTrigger& operator=(const SignalTrigger&) = delete;

  const std::vector<int>& installed() const { return installed_; }

 private:
  std::vector<int> installed_;
  std::vector<struct sigaction> previous_;
};

// Polls a file's modification time every `interval`; each change (a touch, or
// the file appearing) asks for one report. A missing or unreadable file is said
// once on stderr and watched again.
class FileWatcher {
 public:
  FileWatcher(std::string path, std::chrono::milliseconds interval);
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

 private:
  void run();

  std::string path_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace gmr
