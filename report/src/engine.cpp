#include "engine.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <system_error>

#include "internal.hpp"
#include "sections.hpp"

namespace gmr {
namespace {

struct TriggerPipe {
  int fds[2] = {-1, -1};
  TriggerPipe() {
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
      std::perror("gmr: cannot create the trigger pipe");
      fds[0] = fds[1] = -1;
    }
  }
};

TriggerPipe& trigger_pipe() {
  static TriggerPipe* p = new TriggerPipe;  // never closed: a handler may still write
  return *p;
}

// The capture signal in use (0 before any engine), let through in gmr's threads.
std::atomic<int> g_capture_signal{0};

// The mask gmr's own threads are created with: every signal blocked but the
// synchronous faults and the capture signal, so that the host's signals keep
// going to the host's threads while gmr's threads still show their stacks.
sigset_t gmr_thread_signal_mask() {
  sigset_t set;
  sigfillset(&set);
  for (int sync : {SIGSEGV, SIGBUS, SIGFPE, SIGILL}) sigdelset(&set, sync);
  if (int capture = g_capture_signal.load(); capture > 0) sigdelset(&set, capture);
  return set;
}

}  // namespace

std::thread start_gmr_thread(std::function<void()> body) {
  sigset_t block = gmr_thread_signal_mask(), old;
  ::pthread_sigmask(SIG_SETMASK, &block, &old);
  std::thread t(std::move(body));
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return t;
}

int trigger_pipe_read_fd() { return trigger_pipe().fds[0]; }
int trigger_pipe_write_fd() { return trigger_pipe().fds[1]; }

void poke_trigger_pipe(char byte) {
  int fd = trigger_pipe_write_fd();
  if (fd >= 0) {
    int saved = errno;
    // A full pipe means a wake-up is already pending: nothing is lost.
    [[maybe_unused]] ssize_t n = ::write(fd, &byte, 1);
    errno = saved;
  }
}

Engine::Engine(EngineConfig config) : config_(std::move(config)) {
  if (config_.capture_signal == 0) config_.capture_signal = SIGRTMIN + 3;
  g_capture_signal = config_.capture_signal;
  if (config_.service.empty()) config_.service = executable_name();
  if (config_.config == nullptr) config_.config = &conf();
  trigger_pipe();
  capture_ = std::make_unique<ThreadCapture>(config_.capture_signal);
  symbolizer_ = std::make_unique<Symbolizer>();

  thread_ = start_gmr_thread([this] { run(); });
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  poke_trigger_pipe('q');
  if (thread_.joinable()) thread_.join();
}

void Engine::run() {
  ::pthread_setname_np(::pthread_self(), "gmr-reporter");
  // Build libbacktrace's state now, so that the first report does not pay for it.
  try {
    symbolizer_->warm_up();
  } catch (...) {
  }
  using Clock = std::chrono::steady_clock;
  bool warm_up_due = config_.warm_up_after.count() > 0;
  const Clock::time_point warm_up_at = Clock::now() + config_.warm_up_after;
  const int fd = trigger_pipe_read_fd();
  for (;;) {
    bool report = false;
    pollfd pfd{fd, POLLIN, 0};
    int timeout_ms = 1000;
    if (warm_up_due) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(warm_up_at - Clock::now());
      timeout_ms = static_cast<int>(std::clamp<std::int64_t>(left.count() + 1, 0, 1000));
    }
    int ready = ::poll(&pfd, 1, timeout_ms);
    if (ready < 0 && errno != EINTR) {
      std::perror("gmr: poll on the trigger pipe");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    char buf[256];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) {
      report = report || std::find(buf, buf + n, 't') != buf + n;
    }
    std::deque<std::function<void()>> work;
    bool stop;
    {
      std::lock_guard<std::mutex> lock(mu_);
      work.swap(queue_);
      stop = stopping_;
    }
    for (auto& task : work) task();  // packaged tasks: exceptions go to the caller
    // A burst of signals gives one report: they are merged, never interleaved.
    if (report) write_report_now();
    if (warm_up_due && (collected_ || stop)) warm_up_due = false;  // nothing left to warm
    if (warm_up_due && Clock::now() >= warm_up_at) {
      warm_up_due = false;
      warm_up_capture();
    }
    if (stop) {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.empty()) return;
    }
  }
}

void Engine::warm_up_capture() {
  try {
    collect_threads(*capture_, *symbolizer_, config_.thread_timeout);
    collect_green_threads(*symbolizer_);
  } catch (...) {
    // A warm-up that fails changes nothing: the first report will do the work.
  }
}

Report Engine::collect(const CollectOptions& options) {
  return run_on_reporter([this, options] { return collect_now(options); });
}

std::string Engine::write_report() {
  return run_on_reporter([this] { return write_report_now(); });
}

std::string Engine::write_report_now() {
  try {
    const auto now = std::chrono::system_clock::now();
    std::string log_dir;
    TextOptions options;
    try {
      log_dir = config_.config->get_string("oslo_reports", "log_dir");
      options.group_stacks = config_.config->get_bool("oslo_reports", "group_stacks");
    } catch (const std::exception&) {
      // A configuration without gmr's options: the defaults.
    }
    std::string text = render_text(collect_now({}), options);
    return emit_report(text, log_dir, config_.service, now);
  } catch (const std::exception& e) {
    std::string line = std::string("gmr: the report failed: ") + e.what() + "\n";
    write_all(STDERR_FILENO, line);
  } catch (...) {
    write_all(STDERR_FILENO, "gmr: the report failed\n");
  }
  return "nowhere";
}

namespace {

// Runs one collector; a throw becomes the section's error, never the report's.
Section run_section(std::string id, std::string title, const std::function<Value()>& collector) {
  Section s{std::move(id), std::move(title), Value(), ""};
  try {
    s.data = collector();
  } catch (const std::exception& e) {
    s.error = e.what();
  } catch (...) {
    s.error = "an exception that is not a std::exception";
  }
  return s;
}

// A registered generator's run on a helper thread. The reporter waits for it
// for at most the budget; the helper may outlive the report, and the engine,
// when the generator never returns, so it shares only this with them.
struct GeneratorRun {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;  // guarded by mu
  Section section;    // guarded by mu; set when done
  std::chrono::milliseconds budget{0};
};

// The generators that overran their budget and have not returned yet, by section
// id. Process-wide, as the helper threads are: calling a stuck generator again
// would only leave one more stuck thread behind each report.
std::mutex& stuck_mutex() {
  static auto* mu = new std::mutex;  // never destroyed: helpers may outlive main()
  return *mu;
}
std::map<std::string, std::shared_ptr<GeneratorRun>>& stuck_generators() {
  static auto* stuck = new std::map<std::string, std::shared_ptr<GeneratorRun>>;
  return *stuck;
}

Section run_registered(const RegisteredSection& reg) {
  Section s = run_section(reg.id, reg.title, reg.generator);
  if (!s.error.empty()) s.error = "the section's generator threw: " + s.error;
  return s;
}

// Runs a registered section's generator on a helper thread of its own, for at
// most `budget`. One that overruns is abandoned (its thread detached, its section
// says it timed out) and is not called again while it is still running.
Section run_registered_with_budget(const RegisteredSection& reg,
                                   std::chrono::milliseconds budget) {
  if (budget.count() <= 0) return run_registered(reg);  // no budget asked for
  {
    std::lock_guard<std::mutex> lock(stuck_mutex());
    auto it = stuck_generators().find(reg.id);
    if (it != stuck_generators().end()) {
      const std::shared_ptr<GeneratorRun> earlier = it->second;  // outlives the erase
      std::unique_lock<std::mutex> run_lock(earlier->mu);
      if (!earlier->done) {
        return Section{reg.id, reg.title, Value(),
                       "the section's generator is still running: it timed out after " +
                           std::to_string(earlier->budget.count()) +
                           " ms in an earlier report and is not called again until it returns"};
      }
      run_lock.unlock();
      stuck_generators().erase(it);
    }
  }
  auto run = std::make_shared<GeneratorRun>();
  run->budget = budget;
  std::thread helper;
  try {
    helper = start_gmr_thread([run, reg] {
      ::pthread_setname_np(::pthread_self(), "gmr-section");
      Section s = run_registered(reg);
      {
        std::lock_guard<std::mutex> lock(run->mu);
        run->section = std::move(s);
        run->done = true;
      }
      run->cv.notify_all();
    });
  } catch (const std::system_error&) {
    return run_registered(reg);  // no thread to be had: run it here, without a budget
  }
  std::unique_lock<std::mutex> lock(run->mu);
  if (run->cv.wait_for(lock, budget, [&] { return run->done; })) {
    Section s = std::move(run->section);
    lock.unlock();
    helper.join();
    return s;
  }
  lock.unlock();
  helper.detach();
  {
    std::lock_guard<std::mutex> stuck_lock(stuck_mutex());
    stuck_generators()[reg.id] = run;
  }
  return Section{reg.id, reg.title, Value(),
                 "the section's generator timed out after " + std::to_string(budget.count()) +
                     " ms"};
}

}  // namespace

Report Engine::collect_now(const CollectOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  collected_ = true;
  auto wanted = [&](const std::string& id) {
    return options.sections.empty() ||
           std::find(options.sections.begin(), options.sections.end(), id) != options.sections.end();
  };
  Report r;
  r.service = config_.service;
  r.generated_at = iso8601_utc(std::chrono::system_clock::now());

  if (wanted("package")) {
    r.sections.push_back(run_section("package", "Package", [&] {
      return collect_package(config_.version, config_.service);
    }));
  }
  if (wanted("threads")) {
    r.sections.push_back(run_section("threads", "Threads", [&] {
      return collect_threads(*capture_, *symbolizer_, config_.thread_timeout);
    }));
  }
  if (wanted("green_threads")) {
    r.sections.push_back(run_section("green_threads", "Green Threads",
                                     [&] { return collect_green_threads(*symbolizer_); }));
  }
  if (wanted("processes")) {
    r.sections.push_back(run_section("processes", "Processes", [&] { return collect_processes(config_.config); }));
  }
  if (wanted("configuration")) {
    r.sections.push_back(run_section("configuration", "Configuration",
                                     [&] { return config_.config->describe(); }));
  }
  for (const RegisteredSection& reg : registered_sections()) {
    if (!wanted(reg.id)) continue;
    r.sections.push_back(run_registered_with_budget(reg, config_.generator_timeout));
  }
  r.duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return r;
}

}  // namespace gmr
