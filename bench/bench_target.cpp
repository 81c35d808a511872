// gmr-bench-target: the process that bench/run.sh measures (issue #5).
//
// It is gmr-demo's workload (the same four kinds of workers, parked DEPTH frames
// down, a dispatcher, a "Work Queue" section, gmr with its admin endpoint) plus
// what the benchmark needs to see inside the process:
//
//   - a ticker thread that wakes every millisecond and records the longest gap
//     between two of its ticks (the stall a report, eu-stack or gdb causes);
//   - a work counter (jobs handled + bursts of computation, as the demo counts
//     `ticks`) for the work rate at rest and under HTTP load;
//   - how long each thread is interrupted: sigaction() is wrapped so that gmr's
//     capture handler runs through a timing trampoline (see below);
//   - the split of a report into capture, symbolization and the rest, without
//     touching gmr: the bench links with `-Wl,--wrap=` on a few of gmr's internal
//     functions (ThreadCapture::capture, Symbolizer::frames, procfs readers,
//     collect_threads, group_stacks, Symbolizer::warm_up) so that every call that
//     gmr's reporter thread makes to them is timed (see bench/CMakeLists.txt). If one
//     is renamed the link fails; bench/run.sh then builds again with
//     -DGMR_BENCH_SPLIT=OFF (no wrappers) and prints "n/a" for the split.
//
// It is driven on stdin, one command a line; each answer is one JSON line on stdout.
//
//   ready                 waits for gmr's start-up and the workers; says pid, port...
//   reports K GAP_MS      K reports in a row (the process's first one is the cold one),
//                         each: gmr::collect(), render_json(), render_text(), timed
//   tick-reset | tick-read   the ticker's longest gap since the last reset
//   counter               the work counter and the monotonic clock
//   mem                   VmRSS, RssAnon (status) and Pss (smaps_rollup)
//   quit
//
//   gmr-bench-target --demo.workers=1000 --demo.depth=18 --oslo_reports.http_port=0
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmr/admin.hpp"
#include "gmr/gmr.hpp"
// gmr's internal headers, for the types of the wrapped functions only.
#include "procfs.hpp"
#include "symbolizer.hpp"
#include "thread_capture.hpp"

using json = nlohmann::json;

namespace {

std::int64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Time spent in each wrapped gmr function since the last reset, and its calls.
struct Probe {
  std::atomic<std::int64_t> ns{0};
  std::atomic<std::int64_t> calls{0};
  void add(std::int64_t d) {
    ns.fetch_add(d, std::memory_order_relaxed);
    calls.fetch_add(1, std::memory_order_relaxed);
  }
  void reset() {
    ns = 0;
    calls = 0;
  }
  json get() const {
    if (calls.load() == 0) return nullptr;
    return json{{"ms", static_cast<double>(ns.load()) / 1e6}, {"calls", calls.load()}};
  }
};

Probe p_capture, p_symbolize, p_task_stat, p_task_sigblk, p_list_tasks, p_threads_section, p_grouping;
std::atomic<std::int64_t> warmup_ns{-1};
std::atomic<bool> warmup_done{false};

struct Timed {
  Probe& p;
  std::int64_t t0 = mono_ns();
  ~Timed() { p.add(mono_ns() - t0); }
};

}  // namespace

// ---- Link-time wrappers (-Wl,--wrap=SYMBOL) --------------------------------------
#ifdef GMR_BENCH_SPLIT
// The declarations below give C++ signatures to the mangled names; the ABI of a
// member function is that of a free function taking `this` first.
#define GMR_SYM_CAPTURE "_ZN3gmr13ThreadCapture7captureENSt6chrono8durationIlSt5ratioILl1ELl1000EEEE"
#define GMR_SYM_FRAMES "_ZN3gmr10Symbolizer6framesERKSt6vectorImSaImEEb"
#define GMR_SYM_WARMUP "_ZN3gmr10Symbolizer7warm_upEv"
#define GMR_SYM_TASK_STAT "_ZN3gmr6procfs9task_statEi"
#define GMR_SYM_TASK_STAT_AT "_ZN3gmr6procfs12task_stat_atEiiRNS0_4StatE"
#define GMR_SYM_TASK_SIGBLK "_ZN3gmr6procfs25task_holds_signal_blockedEii"
#define GMR_SYM_LIST_TASKS "_ZN3gmr6procfs10list_tasksEv"
#define GMR_SYM_THREADS \
  "_ZN3gmr15collect_threadsERNS_13ThreadCaptureERNS_10SymbolizerENSt6chrono8durationIlSt5ratioILl1ELl1000EEEE"
#define GMR_SYM_GROUP \
  "_ZN3gmr12group_stacksERKNS_5ValueERKSt6vectorINSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEESaIS9_EE"

using Ms = std::chrono::milliseconds;
using StrVec = std::vector<std::string>;

gmr::CaptureResult real_capture(gmr::ThreadCapture*, Ms) __asm__("__real_" GMR_SYM_CAPTURE);
gmr::CaptureResult wrap_capture(gmr::ThreadCapture* self, Ms timeout) __asm__("__wrap_" GMR_SYM_CAPTURE);
gmr::CaptureResult wrap_capture(gmr::ThreadCapture* self, Ms timeout) {
  Timed t{p_capture};
  return real_capture(self, timeout);
}

gmr::Value real_frames(gmr::Symbolizer*, const std::vector<std::uintptr_t>&, bool) __asm__("__real_" GMR_SYM_FRAMES)
   ;
gmr::Value wrap_frames(gmr::Symbolizer* self, const std::vector<std::uintptr_t>& pcs, bool exact) __asm__(
    "__wrap_" GMR_SYM_FRAMES);
gmr::Value wrap_frames(gmr::Symbolizer* self, const std::vector<std::uintptr_t>& pcs, bool exact) {
  Timed t{p_symbolize};
  return real_frames(self, pcs, exact);
}

void real_warm_up(gmr::Symbolizer*) __asm__("__real_" GMR_SYM_WARMUP);
void wrap_warm_up(gmr::Symbolizer* self) __asm__("__wrap_" GMR_SYM_WARMUP);
void wrap_warm_up(gmr::Symbolizer* self) {
  const std::int64_t t0 = mono_ns();
  try {
    real_warm_up(self);
  } catch (...) {
    warmup_ns = mono_ns() - t0;
    warmup_done = true;
    throw;
  }
  warmup_ns = mono_ns() - t0;
  warmup_done = true;
}

std::optional<gmr::procfs::Stat> real_task_stat(pid_t) __asm__("__real_" GMR_SYM_TASK_STAT);
std::optional<gmr::procfs::Stat> wrap_task_stat(pid_t tid) __asm__("__wrap_" GMR_SYM_TASK_STAT);
std::optional<gmr::procfs::Stat> wrap_task_stat(pid_t tid) {
  Timed t{p_task_stat};
  return real_task_stat(tid);
}

bool real_task_stat_at(int, pid_t, gmr::procfs::Stat&) __asm__("__real_" GMR_SYM_TASK_STAT_AT);
bool wrap_task_stat_at(int dir, pid_t tid, gmr::procfs::Stat& st) __asm__("__wrap_" GMR_SYM_TASK_STAT_AT);
bool wrap_task_stat_at(int dir, pid_t tid, gmr::procfs::Stat& st) {
  Timed t{p_task_stat};
  return real_task_stat_at(dir, tid, st);
}

// The engine's warm-up capture at start-up (SetupOptions::warm_up_after) is
// the collect_threads call that comes before the first report is asked for:
// timed, with the memory it adds and the ticker's longest stall while it runs,
// since the host pays for them even though no report does. (Engine's own
// warm_up_capture cannot be wrapped: it is called within its object file.)
namespace {
json tick_read(bool reset);
json mem();
}  // namespace
std::atomic<bool> reports_asked{false};
std::atomic<bool> warm_capture_done{false};
json warm_capture;  // written once, before warm_capture_done

std::optional<bool> real_task_sigblk(pid_t, int) __asm__("__real_" GMR_SYM_TASK_SIGBLK);
std::optional<bool> wrap_task_sigblk(pid_t tid, int signo) __asm__("__wrap_" GMR_SYM_TASK_SIGBLK);
std::optional<bool> wrap_task_sigblk(pid_t tid, int signo) {
  Timed t{p_task_sigblk};
  return real_task_sigblk(tid, signo);
}

std::vector<pid_t> real_list_tasks() __asm__("__real_" GMR_SYM_LIST_TASKS);
std::vector<pid_t> wrap_list_tasks() __asm__("__wrap_" GMR_SYM_LIST_TASKS);
std::vector<pid_t> wrap_list_tasks() {
  Timed t{p_list_tasks};
  return real_list_tasks();
}

gmr::Value real_threads(gmr::ThreadCapture&, gmr::Symbolizer&, Ms) __asm__("__real_" GMR_SYM_THREADS)
   ;
gmr::Value wrap_threads(gmr::ThreadCapture& c, gmr::Symbolizer& s, Ms timeout) __asm__("__wrap_" GMR_SYM_THREADS);
gmr::Value wrap_threads(gmr::ThreadCapture& c, gmr::Symbolizer& s, Ms timeout) {
  if (!reports_asked && !warm_capture_done) {
    json before = mem();
    tick_read(true);
    const std::int64_t t0 = mono_ns();
    gmr::Value v = real_threads(c, s, timeout);
    const std::int64_t t1 = mono_ns();
    warm_capture = json{{"ms", static_cast<double>(t1 - t0) / 1e6}, {"mem_before", before},
                        {"mem_after", mem()}, {"tick", tick_read(true)}};
    warm_capture_done = true;
    return v;
  }
  Timed t{p_threads_section};
  return real_threads(c, s, timeout);
}

gmr::Value real_group(const gmr::Value&, const StrVec&) __asm__("__real_" GMR_SYM_GROUP);
gmr::Value wrap_group(const gmr::Value& members, const StrVec& keys) __asm__("__wrap_" GMR_SYM_GROUP);
gmr::Value wrap_group(const gmr::Value& members, const StrVec& keys) {
  Timed t{p_grouping};
  return real_group(members, keys);
}

// How long each thread is interrupted: sigaction() is wrapped too, so that the
// handler gmr installs for the capture signal is called through a trampoline that
// times it (two vDSO clock reads, async-signal-safe, no lock). The trampoline's
// frame lies above the interrupted one, which gmr's own trimming drops, so reports
// are unchanged. This times the handler itself; the kernel's share (building and
// tearing down the signal frame) is what the perf view adds (bench/run_bench.py).
using Handler = void (*)(int, siginfo_t*, void*);
std::atomic<Handler> g_capture_handler{nullptr};
constexpr std::size_t kMaxInterrupts = 1 << 16;
std::int64_t g_interrupt_ns[kMaxInterrupts];
std::atomic<std::size_t> g_interrupts{0};

void capture_trampoline(int sig, siginfo_t* info, void* uc) {
  const std::int64_t t0 = mono_ns();
  if (Handler h = g_capture_handler.load(std::memory_order_acquire)) h(sig, info, uc);
  const std::int64_t d = mono_ns() - t0;
  const std::size_t i = g_interrupts.fetch_add(1, std::memory_order_relaxed);
  if (i < kMaxInterrupts) g_interrupt_ns[i] = d;
}

extern "C" int __real_sigaction(int, const struct sigaction*, struct sigaction*);
extern "C" int __wrap_sigaction(int signo, const struct sigaction* act, struct sigaction* old) {
  const bool capture = signo == SIGRTMIN + 3;
  int rc;
  if (capture && act != nullptr && (act->sa_flags & SA_SIGINFO) && act->sa_sigaction != capture_trampoline) {
    struct sigaction copy = *act;
    g_capture_handler = act->sa_sigaction;
    copy.sa_sigaction = capture_trampoline;
    rc = __real_sigaction(signo, &copy, old);
  } else {
    rc = __real_sigaction(signo, act, old);
  }
  // gmr checks that a handler already there is its own: show it its own.
  if (rc == 0 && capture && old != nullptr && (old->sa_flags & SA_SIGINFO) &&
      old->sa_sigaction == capture_trampoline) {
    old->sa_sigaction = g_capture_handler.load();
  }
  return rc;
}

json take_interrupts() {
  const std::size_t n = std::min(g_interrupts.exchange(0), kMaxInterrupts);
  std::vector<double> us;
  us.reserve(n);
  for (std::size_t i = 0; i < n; ++i) us.push_back(static_cast<double>(g_interrupt_ns[i]) / 1e3);
  std::sort(us.begin(), us.end());
  if (us.empty()) return nullptr;
  return json{{"count", n}, {"median_us", us[n / 2]}, {"p99_us", us[std::min(n - 1, n * 99 / 100)]},
              {"max_us", us.back()}};
}
#else
json take_interrupts() { return nullptr; }
#endif  // GMR_BENCH_SPLIT

// ---- The demo's workload (examples/demo.cpp), unchanged in what it does ------------
namespace demo {

std::atomic<bool> stopping{false};
std::atomic<long> ticks{0};  // the work counter: jobs handled + bursts of computation

class WorkQueue {
 public:
  void push(int job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back(job);
      ++pushed_;
    }
    cv_.notify_one();
  }
  bool wait_for_job(int& job) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !jobs_.empty() || stopping; });
    if (jobs_.empty()) return false;
    job = jobs_.front();
    jobs_.pop_front();
    ++done_;
    return true;
  }
  gmr::Value describe() {
    std::lock_guard<std::mutex> lock(mu_);
    gmr::Value pending = gmr::Value::list();
    for (size_t i = 0; i < jobs_.size() && i < 10; ++i) pending.push_back("job-" + std::to_string(jobs_[i]));
    return gmr::Value::map(
        {{"depth", jobs_.size()}, {"jobs_pushed", pushed_}, {"jobs_done", done_}, {"next_jobs", pending}});
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int> jobs_;
  long pushed_ = 0;
  long done_ = 0;
};

WorkQueue queue;

__attribute__((noinline)) void descend(int depth, void (*park)(int), int id) {
  if (depth <= 0) return park(id);
  descend(depth - 1, park, id);
  ticks.fetch_add(0);  // keeps the recursion a real call, not a tail call
}

void handle_jobs(int) {
  int job = 0;
  while (queue.wait_for_job(job)) ticks.fetch_add(1);
}

void nap(int) {
  while (!stopping) std::this_thread::sleep_for(std::chrono::milliseconds(200));
}

int wake_pipe[2] = {-1, -1};

void read_from_pipe(int) {
  char byte;
  while (!stopping) {
    pollfd pfd{wake_pipe[0], POLLIN, 0};
    if (::poll(&pfd, 1, 500) > 0) (void)!::read(wake_pipe[0], &byte, 1);
  }
}

void crunch_numbers(int) {
  double x = 0;
  while (!stopping) {
    for (int i = 1; i < 20000; ++i) x += std::sqrt(static_cast<double>(i));
    ticks.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (x < 0) std::puts("impossible");
}

void worker(int id, int depth) {
  static void (*const kinds[])(int) = {handle_jobs, nap, read_from_pipe, crunch_numbers};
  descend(depth, kinds[id % 4], id);
}

void dispatcher() {
  for (int job = 0; !stopping; ++job) {
    queue.push(job);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace demo

// ---- The ticker ---------------------------------------------------------------------
namespace {

constexpr std::int64_t kTickNs = 1000000;
std::atomic<std::int64_t> tick_max_gap_ns{0};
std::atomic<std::int64_t> tick_count{0};

void ticker() {
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  // wake on time, not 50 us late
  timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  std::int64_t last = mono_ns();
  while (!demo::stopping) {
    next.tv_nsec += kTickNs;
    if (next.tv_nsec >= 1000000000) {
      next.tv_nsec -= 1000000000;
      ++next.tv_sec;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr) == EINTR) {
    }
    const std::int64_t now = mono_ns();
    const std::int64_t gap = now - last;
    last = now;
    tick_count.fetch_add(1, std::memory_order_relaxed);
    std::int64_t seen = tick_max_gap_ns.load(std::memory_order_relaxed);
    while (gap > seen && !tick_max_gap_ns.compare_exchange_weak(seen, gap)) {
    }
    // Behind schedule after a stall: start again from now rather than firing the
    // missed ticks back to back.
    const std::int64_t scheduled = static_cast<std::int64_t>(next.tv_sec) * 1000000000 + next.tv_nsec;
    if (now - scheduled > kTickNs) {
      next.tv_sec = static_cast<time_t>(now / 1000000000);
      next.tv_nsec = static_cast<long>(now % 1000000000);
    }
  }
}

// The longest stall: the longest gap between two ticks, less the 1 ms period.
json tick_read(bool reset) {
  const std::int64_t gap = reset ? tick_max_gap_ns.exchange(0) : tick_max_gap_ns.load();
  return json{{"max_gap_ms", static_cast<double>(gap) / 1e6},
              {"stall_ms", static_cast<double>(std::max<std::int64_t>(gap - kTickNs, 0)) / 1e6},
              {"ticks", tick_count.load()}};
}

// ---- Memory -------------------------------------------------------------------------
long field_kb(const std::string& path, const char* key) {
  std::ifstream in(path);
  std::string line;
  const std::size_t n = std::strlen(key);
  while (std::getline(in, line)) {
    if (line.compare(0, n, key) == 0) return std::atol(line.c_str() + n);
  }
  return -1;
}

json mem() {
  return json{{"rss_kb", field_kb("/proc/self/status", "VmRSS:")},
              {"rss_anon_kb", field_kb("/proc/self/status", "RssAnon:")},
              {"pss_kb", field_kb("/proc/self/smaps_rollup", "Pss:")},
              {"threads", field_kb("/proc/self/status", "Threads:")}};
}

// ---- One report, timed --------------------------------------------------------------
void reset_probes() {
  for (Probe* p : {&p_capture, &p_symbolize, &p_task_stat, &p_task_sigblk, &p_list_tasks, &p_threads_section,
                   &p_grouping}) {
    p->reset();
  }
}

double ms(std::int64_t a, std::int64_t b) { return static_cast<double>(b - a) / 1e6; }

json check_report(const gmr::Report& r) {
  json out{{"sections", r.sections.size()}};
  long threads = 0, ok = 0, frames = 0, not_ok = 0;
  json errors = json::array();
  for (const gmr::Section& s : r.sections) {
    if (!s.error.empty()) errors.push_back(s.id + ": " + s.error);
    if (s.id != "threads") continue;
    const gmr::Value* list = s.data.find("threads");
    if (list == nullptr || !list->is_list()) continue;
    for (const gmr::Value& t : list->as_list()) {
      ++threads;
      const std::string status = t.get_string("status");
      if (status == "ok" || status == "self") {
        ++ok;
      } else {
        ++not_ok;
      }
      if (const gmr::Value* f = t.find("frames"); f && f->is_list()) frames += static_cast<long>(f->as_list().size());
    }
  }
  out["threads"] = threads;
  out["captured"] = ok;
  out["not_captured"] = not_ok;
  out["frames"] = frames;
  out["section_errors"] = errors;
  return out;
}

bool any_report_yet = false;

json run_reports(int count, int gap_ms) {
  json reports = json::array();
  json memory;
  for (int i = 0; i < count; ++i) {
    const bool first = !any_report_yet;
    if (first) memory["before_first"] = mem();
    reset_probes();
    take_interrupts();
    tick_read(true);
    const std::int64_t t0 = mono_ns();
    gmr::Report r = gmr::collect();
    const std::int64_t t1 = mono_ns();
    std::string js = gmr::render_json(r);
    const std::int64_t t2 = mono_ns();
    std::string text = gmr::render_text(r);
    const std::int64_t t3 = mono_ns();
    json tick = tick_read(true);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // stragglers' handlers end
    json interrupts = take_interrupts();
    any_report_yet = true;
    json one{{"first", first},
             {"collect_ms", ms(t0, t1)},
             {"duration_ms", r.duration_ms},
             {"json_ms", ms(t1, t2)},
             {"text_ms", ms(t2, t3)},
             {"json_bytes", js.size()},
             {"text_bytes", text.size()},
             {"stall_ms", tick["stall_ms"]},
             {"interrupts", interrupts},
             {"capture", p_capture.get()},
             {"symbolize", p_symbolize.get()},
             {"task_stat", p_task_stat.get()},
             {"task_sigblk", p_task_sigblk.get()},
             {"list_tasks", p_list_tasks.get()},
             {"threads_section", p_threads_section.get()},
             {"grouping", p_grouping.get()},
             {"check", check_report(r)}};
    reports.push_back(std::move(one));
    if (first) memory["after_first"] = mem();
    if (gap_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
  }
  memory["now"] = mem();
  return json{{"reports", reports}, {"mem", memory}};
}

void say(const json& j) {
  std::string line = j.dump() + "\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);  // never outlive the driver
  const json mem_at_start = mem();

  gmr::Config& CONF = gmr::conf();
  CONF.register_opts("demo", {
      gmr::Opt::integer("workers", 4, "Number of worker threads").with_min(1).with_max(10000),
      gmr::Opt::integer("depth", 3, "How many frames deep each worker parks").with_min(0).with_max(200),
  });
  gmr::LoadResult loaded = CONF.load(argc, argv);
  if (loaded.help_requested) {
    std::cout << loaded.help;
    return 0;
  }
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::cerr << "gmr-bench-target: " << e << "\n";
    return 2;
  }
  gmr::register_section("Work Queue", [] { return demo::queue.describe(); });
  gmr::SetupOptions options;
  options.service_name = "gmr-bench-target";
  const std::int64_t setup_t0 = mono_ns();
  if (!gmr::setup_autorun_with_admin({"gmr-bench-target", "gmr project", "0.1.0"}, options)) return 1;
  const std::int64_t setup_t1 = mono_ns();

  if (::pipe(demo::wake_pipe) != 0) return 1;
  const int workers = static_cast<int>(CONF.get_int("demo", "workers"));
  const int depth = static_cast<int>(CONF.get_int("demo", "depth"));
  std::vector<std::thread> threads;
  threads.emplace_back(demo::dispatcher);
  pthread_setname_np(threads.back().native_handle(), "dispatcher");
  threads.emplace_back(ticker);
  pthread_setname_np(threads.back().native_handle(), "ticker");
  for (int i = 0; i < workers; ++i) {
    threads.emplace_back(demo::worker, i, depth);
    pthread_setname_np(threads.back().native_handle(), ("worker-" + std::to_string(i)).c_str());
  }
  std::cerr << "gmr-bench-target: pid " << getpid() << ", " << workers << " workers, depth " << depth << std::endl;

  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string cmd;
    words >> cmd;
    try {
      if (cmd == "ready") {
        // gmr's reporter builds libbacktrace's state when it starts: wait for it,
        // and give the workers time to park.
#ifdef GMR_BENCH_SPLIT
        const std::int64_t deadline = mono_ns() + 20'000'000'000;
        while (!warmup_done && mono_ns() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        // Then for the warm-up capture, a second after setup.
        while (!warm_capture_done && mono_ns() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
#else
        std::this_thread::sleep_for(std::chrono::seconds(2));  // no probe on warm_up: a generous wait
#endif
        std::this_thread::sleep_for(std::chrono::milliseconds(300 + workers / 2));
        say({{"pid", ::getpid()},
             {"port", gmr::admin_port()},
             {"workers", workers},
             {"depth", depth},
             {"capture_signal", SIGRTMIN + 3},
             {"setup_ms", ms(setup_t0, setup_t1)},
             {"warmup_ms", warmup_ns.load() >= 0 ? json(static_cast<double>(warmup_ns.load()) / 1e6) : json()},
             {"mem_at_start", mem_at_start},
#ifdef GMR_BENCH_SPLIT
             {"warm_capture", warm_capture_done ? warm_capture : json()},
#endif
             {"mem", mem()}});
      } else if (cmd == "reports") {
        reports_asked = true;
        int count = 1, gap = 50;
        words >> count >> gap;
        say(run_reports(count, gap));
      } else if (cmd == "tick-reset") {
        say(tick_read(true));
      } else if (cmd == "tick-read") {
        say(tick_read(false));
      } else if (cmd == "counter") {
        say({{"ticks", demo::ticks.load()}, {"t_ns", mono_ns()}});
      } else if (cmd == "mem") {
        say(mem());
      } else if (cmd == "quit") {
        say({{"bye", true}});
        break;
      } else {
        say({{"error", "unknown command: " + cmd}});
      }
    } catch (const std::exception& e) {
      say({{"error", e.what()}});
    }
  }
  // Workers are parked forever by design: leave without joining them.
  std::fflush(nullptr);
  ::_exit(0);
}
