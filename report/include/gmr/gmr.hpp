// gmr/gmr.hpp: Guru Meditation Reports for C++ services.
//
//   gmr::Config& CONF = gmr::conf();
//   ... register options, CONF.load(argc, argv) ...
//   gmr::register_section("Work Queue", [] { return gmr::Value::map({{"depth", 3}}); });
//   gmr::setup_autorun({"my-service", "Example Corp", "1.2.3"});
//
// Then `kill -USR2 PID` (or -USR1) writes the text report to stderr, or to a file
// in [oslo_reports] log_dir; with [oslo_reports] file_event_handler set, touching
// that file does it instead and no signal handler is installed.
//
// Thread-safety: every function here is thread-safe. None may be called from a
// signal handler. No exception escapes from the triggers into the host.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "gmr/config.hpp"
#include "gmr/green_threads.hpp"
#include "gmr/report.hpp"
#include "gmr/value.hpp"

namespace gmr {

// The seeds' version object: what the Package section shows.
struct Version {
  std::string product;
  std::string vendor;
  std::string version;
};

// How setup_autorun behaves; every field has a sensible default.
struct SetupOptions {
  // The service name: names the log_dir files. Empty: the executable's base name.
  std::string service_name;
  // The configuration object to read [oslo_reports] from and to report.
  // nullptr: gmr::conf().
  Config* config = nullptr;
  // The signals that write a report. Empty: SIGUSR2 and SIGUSR1. A signal for
  // which the host already installed a handler is left to the host (one warning).
  std::vector<int> report_signals;
  // The real-time signal used to ask each thread for its stack. 0: SIGRTMIN + 3.
  // Interrupted poll(), nanosleep() and similar calls in the host return EINTR
  // when this signal lands, as under any signal-based profiler.
  int capture_signal = 0;
  // How long a thread may take to answer before it is reported as not responding.
  std::chrono::milliseconds thread_timeout{250};
  // Warm up in the background at start-up, so that the first report is as quick
  // as the next ones: gmr's reporter thread reads the symbol tables at once, and
  // `warm_up_after` later (once the service has started its threads) takes one
  // capture of every thread's stack, which it only symbolizes and throws away
  // (each thread is interrupted for a few microseconds, as by any report). That
  // reads the debug information of the code the threads are in. Skipped if a
  // report was made before. Zero or less: no warm-up capture.
  std::chrono::milliseconds warm_up_after{1000};
};

// A registered section's generator: returns plain data (usually a mapping). It
// runs on gmr's reporter thread; if it throws, the error is shown in its section.
using SectionGenerator = std::function<Value()>;

// Registers a section, shown after the built-in ones in registration order.
// Returns the section's id (the title's slug, made unique).
std::string register_section(const std::string& title, SectionGenerator generator);

// Sets everything up, once: starts gmr's reporter thread and the trigger (signals,
// or the file watcher). Call it after loading the configuration. Returns false
// (and says why on stderr) if it could not; calling it again returns true.
bool setup_autorun(const Version& version, const SetupOptions& options = {});

// What to collect.
struct CollectOptions {
  // Section ids to collect; empty means all.
  std::vector<std::string> sections;
};

// Returns the ids and titles of every section, in report order.
std::vector<std::pair<std::string, std::string>> section_list();

// Collects a report now, on gmr's reporter thread (started if needed), and
// returns it. Blocks the caller until it is done.
Report collect(const CollectOptions& options = {});

// Collects the text report and writes it as a signal would: to stderr, or to a
// new file in log_dir. Returns where it went ("stderr" or the file's path).
std::string write_report();

// Stops the triggers and gmr's threads, and restores the signal handlers gmr
// installed. Safe to call more than once, or without setup.
void shutdown();

// Registers a function that shutdown() calls first (once), for extensions such
// as the admin endpoint (gmr/admin.hpp).
void on_shutdown(std::function<void()> hook);

// Starts a thread for gmr's own work (or an extension's, such as the admin
// endpoint): every asynchronous signal is blocked in it, so that the host's
// signals keep going to the host's threads, except the capture signal, so that
// the thread's stack is still in reports. Threads it creates inherit the mask.
std::thread start_gmr_thread(std::function<void()> body);

// Returns the configuration object setup_autorun() was given (gmr::conf() before
// setup), and the service name in use.
Config& active_config();
std::string service_name();

}  // namespace gmr
