#include "triggers.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine.hpp"
#include "internal.hpp"
#include "thread_capture.hpp"

namespace gmr {
namespace {

// Async-signal-safe: one byte into a pipe.
void report_signal_handler(int) { poke_trigger_pipe('t'); }

void warn(const std::string& line) { write_all(STDERR_FILENO, "gmr: " + line + "\n"); }

}  // namespace

SignalTrigger::SignalTrigger(const std::vector<int>& signals) {
  for (int signo : signals) {
    struct sigaction old{};
    if (::sigaction(signo, nullptr, &old) != 0) {
      warn("cannot use " + signal_name(signo) + " for reports: " + std::strerror(errno));
      continue;
    }
    const bool host_has_handler = (old.sa_flags & SA_SIGINFO) ||
                                  (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN &&
                                   old.sa_handler != report_signal_handler);
    if (host_has_handler) {
      warn(signal_name(signo) + " already has a handler in this process; leaving it to the host");
      continue;
    }
    struct sigaction sa{};
    sa.sa_handler = report_signal_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (::sigaction(signo, &sa, nullptr) != 0) {
      warn("cannot install a handler for " + signal_name(signo) + ": " + std::strerror(errno));
      continue;
    }
    installed_.push_back(signo);
    previous_.push_back(old);
  }
}

SignalTrigger::~SignalTrigger() {
  for (size_t i = 0; i < installed_.size(); ++i) ::sigaction(installed_[i], &previous_[i], nullptr);
}

FileWatcher::FileWatcher(std::string path, std::chrono::milliseconds interval)
    : path_(std::move(path)), interval_(interval) {
  thread_ = start_gmr_thread([this] { run(); });
}

FileWatcher::~FileWatcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FileWatcher::run() {
  ::pthread_setname_np(::pthread_self(), "gmr-file-watch");
  struct Seen {
    bool exists = false;
    dev_t dev = 0;
    ino_t ino = 0;
    timespec mtime{};
    bool operator==(const Seen& o) const {
      return exists == o.exists && dev == o.dev && ino == o.ino && mtime.tv_sec == o.mtime.tv_sec &&
             mtime.tv_nsec == o.mtime.tv_nsec;
    }
  };
  auto look = [this](bool& said) {
    Seen s;
    struct stat st{};
    if (::stat(path_.c_str(), &st) == 0) {
      s = {true, st.st_dev, st.st_ino, st.st_mtim};
      said = false;
    } else if (!said) {
      warn("cannot watch " + path_ + " (" + std::strerror(errno) + "); watching it again");
      said = true;
    }
    return s;
  };
  bool said = false;
  Seen last = look(said);
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
    Seen now = look(said);
    // A touch changes the modification time; the file appearing counts too.
    if (now.exists && !(now == last)) poke_trigger_pipe('t');
    last = now;
  }
}

}  // namespace gmr
