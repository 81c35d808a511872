// The public API: one process-wide state, set up once.
#include "gmr/gmr.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <mutex>

#include "engine.hpp"
#include "internal.hpp"
#include "triggers.hpp"

namespace gmr {
namespace {

struct State {
  std::mutex mu;  // guards everything below but `sections`
  std::shared_ptr<Engine> engine;
  std::unique_ptr<SignalTrigger> signals;
  std::unique_ptr<FileWatcher> watcher;
  bool set_up = false;
  Config* config = nullptr;
  std::vector<std::function<void()>> shutdown_hooks;

  std::mutex sections_mu;  // separate: a generator may register a section
  std::vector<RegisteredSection> sections;
};

State& state() {
  static State* s = new State;  // never destroyed: gmr's threads may outlive main()
  return *s;
}

std::shared_ptr<Engine> engine_or_default() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.engine) s.engine = std::make_shared<Engine>(EngineConfig{});
  return s.engine;
}

}  // namespace

std::vector<RegisteredSection> registered_sections() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.sections_mu);
  return s.sections;
}

std::string register_section(const std::string& title, SectionGenerator generator) {
  static const char* const kBuiltIn[] = {"package", "threads", "green_threads", "processes",
                                         "configuration"};
  State& s = state();
  std::lock_guard<std::mutex> lock(s.sections_mu);
  const std::string base = slugify(title);
  auto taken = [&](const std::string& id) {
    for (const char* b : kBuiltIn)
      if (id == b) return true;
    for (const auto& r : s.sections)
      if (r.id == id) return true;
    return false;
  };
  std::string id = base;
  for (int n = 2; taken(id); ++n) id = base + "_" + std::to_string(n);
  s.sections.push_back({id, title, std::move(generator)});
  return id;
}

std::vector<std::pair<std::string, std::string>> section_list() {
  std::vector<std::pair<std::string, std::string>> out = {{"package", "Package"},
                                                          {"threads", "Threads"},
                                                          {"green_threads", "Green Threads"},
                                                          {"processes", "Processes"},
                                                          {"configuration", "Configuration"}};
  for (const auto& r : registered_sections()) out.emplace_back(r.id, r.title);
  return out;
}

bool setup_autorun(const Version& version, const SetupOptions& options) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.set_up) return true;
  try {
    Config& config = options.config ? *options.config : conf();
    register_report_opts(config);

    EngineConfig ec;
    ec.version = version;
    ec.service = options.service_name;
    ec.config = &config;
    ec.capture_signal = options.capture_signal;
    ec.thread_timeout = options.thread_timeout;
    ec.warm_up_after = options.warm_up_after;
    s.config = &config;
    s.engine.reset();  // one made by an earlier collect() had no version
    s.engine = std::make_shared<Engine>(std::move(ec));

    const std::string watch = config.get_string("oslo_reports", "file_event_handler");
    if (!watch.empty()) {
      // Setting file_event_handler disables the signal trigger (oslo.reports).
      auto interval = config.get_int("oslo_reports", "file_event_handler_interval");
      if (interval < 1) interval = 1;
      s.watcher = std::make_unique<FileWatcher>(watch, std::chrono::seconds(interval));
    } else {
      std::vector<int> signals = options.report_signals;
      if (signals.empty()) signals = {SIGUSR2, SIGUSR1};
      s.signals = std::make_unique<SignalTrigger>(signals);
    }
    s.set_up = true;
    return true;
  } catch (const std::exception& e) {
    write_all(STDERR_FILENO, std::string("gmr: setup failed: ") + e.what() + "\n");
    s.signals.reset();
    s.watcher.reset();
    return false;
  }
}

Report collect(const CollectOptions& options) { return engine_or_default()->collect(options); }

std::string write_report() { return engine_or_default()->write_report(); }

void on_shutdown(std::function<void()> hook) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.shutdown_hooks.push_back(std::move(hook));
}

Config& active_config() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.config ? *s.config : conf();
}

std::string service_name() {
  std::shared_ptr<Engine> engine = engine_or_default();
  return engine->config().service;
}

void shutdown() {
  State& s = state();
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    hooks.swap(s.shutdown_hooks);
  }
  for (auto& hook : hooks) {
    try {
      hook();
    } catch (...) {
    }
  }
  std::shared_ptr<Engine> engine;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.signals.reset();
    s.watcher.reset();
    engine = std::move(s.engine);
    s.set_up = false;
    s.config = nullptr;
  }
  engine.reset();  // joins the reporter thread, unless a collect() still holds it
}

}  // namespace gmr
