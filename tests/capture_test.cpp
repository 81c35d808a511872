// Threads captured in-process: known functions, files and lines; exceptions in
// flight; threads that block the signal, exit, or cannot answer in time.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "procfs.hpp"
#include "sections.hpp"
#include "symbolizer.hpp"
#include "thread_capture.hpp"

namespace {

using namespace std::chrono_literals;

const int kSignal = SIGRTMIN + 3;

pid_t gettid_() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

// A thread that parks itself in a given function and tells its tid.
struct Parked {
  std::atomic<pid_t> tid{0};
  std::atomic<bool> stop{false};
  std::thread thread;
  void wait_started() {
    while (tid.load() == 0) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(20ms);  // let it reach its parking spot
  }
  ~Parked() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
};

std::mutex g_mu;
std::condition_variable g_cv;
int g_cv_line = 0;
int g_sleep_line = 0;
int g_busy_line_first = 0;
int g_busy_line_last = 0;
volatile bool g_spin_stop = false;  // volatile, not atomic: no call inside the loop

__attribute__((noinline)) void gmr_test_park_on_condvar(Parked* p) {
  p->tid = gettid_();
  std::unique_lock<std::mutex> lock(g_mu);
  g_cv_line = __LINE__ + 1;
  while (!p->stop) g_cv.wait_for(lock, 10ms);
}

__attribute__((noinline)) void gmr_test_park_in_sleep(Parked* p) {
  p->tid = gettid_();
  g_sleep_line = __LINE__ + 1;
  while (!p->stop) std::this_thread::sleep_for(100ms);
}

__attribute__((noinline)) void gmr_test_spin(Parked* p) {
  p->tid = gettid_();
  volatile unsigned long x = 0;
  g_busy_line_first = __LINE__ + 2;
  g_busy_line_last = g_busy_line_first + 2;
  while (!g_spin_stop) {
    x = x + 1;
  }
}

struct Found {
  const gmr::Value* thread = nullptr;
  const gmr::Value* frame = nullptr;
};

Found find_function(const gmr::Value& data, pid_t tid, const std::string& function) {
  Found f;
  for (const gmr::Value& t : data.find("threads")->as_list()) {
    if (t.get_int("id") != tid) continue;
    f.thread = &t;
    for (const gmr::Value& frame : t.find("frames")->as_list()) {
      if (frame.get_string("function").find(function) != std::string::npos) {
        f.frame = &frame;
        break;
      }
    }
  }
  return f;
}

std::string file_base(const std::string& path) { return path.substr(path.rfind('/') + 1); }

TEST(ThreadCapture, ThreadsParkedInKnownFunctionsAreFoundWithFileAndLine) {
  Parked cv, sleeper, spinner;
  cv.thread = std::thread(gmr_test_park_on_condvar, &cv);
  sleeper.thread = std::thread(gmr_test_park_in_sleep, &sleeper);
  spinner.thread = std::thread(gmr_test_spin, &spinner);
  pthread_setname_np(cv.thread.native_handle(), "test-condvar");
  cv.wait_started();
  sleeper.wait_started();
  spinner.wait_started();

  // Stops the spinning thread whatever happens below (a failed ASSERT returns early).
  struct StopSpinner {
    ~StopSpinner() { g_spin_stop = true; }
  } stop_spinner;

  gmr::ThreadCapture capture(kSignal);
  gmr::Symbolizer symbolizer;
  gmr::Value data = gmr::collect_threads(capture, symbolizer, 1000ms);

  // Every thread of /proc/self/task is there.
  for (pid_t tid : gmr::procfs::list_tasks()) {
    bool listed = false;
    for (const gmr::Value& t : data.find("threads")->as_list()) listed |= t.get_int("id") == tid;
    EXPECT_TRUE(listed) << "thread " << tid << " missing";
  }

  Found c = find_function(data, cv.tid, "gmr_test_park_on_condvar");
  ASSERT_NE(c.thread, nullptr);
  EXPECT_EQ(c.thread->get_string("name"), "test-condvar");
  EXPECT_EQ(c.thread->get_string("status"), "ok");
  ASSERT_NE(c.frame, nullptr) << "condvar thread's frames lack its function";
  EXPECT_EQ(file_base(c.frame->get_string("file")), "capture_test.cpp");
  EXPECT_EQ(c.frame->get_int("line"), g_cv_line);
  EXPECT_NE(c.frame->get_string("source").find("g_cv.wait_for"), std::string::npos);

  Found s = find_function(data, sleeper.tid, "gmr_test_park_in_sleep");
  ASSERT_NE(s.frame, nullptr);
  EXPECT_EQ(s.frame->get_int("line"), g_sleep_line);
  EXPECT_EQ(s.thread->get_string("state"), "sleeping");

  // The spinning thread is interrupted inside its own loop: the exact frame.
  Found b = find_function(data, spinner.tid, "gmr_test_spin");
  ASSERT_NE(b.frame, nullptr);
  EXPECT_GE(b.frame->get_int("line"), g_busy_line_first);
  EXPECT_LE(b.frame->get_int("line"), g_busy_line_last);
  EXPECT_EQ(&b.thread->find("frames")->as_list()[0], b.frame) << "the interrupted frame comes first";

  g_spin_stop = true;

  // The reporting thread records itself.
  Found self = find_function(data, gettid_(), "collect_threads");
  ASSERT_NE(self.thread, nullptr);
  EXPECT_EQ(self.thread->get_string("status"), "self");
  EXPECT_NE(self.frame, nullptr);
}

TEST(ThreadCapture, SurvivesThousandCapturesWhileThreadsThrow) {
  std::atomic<bool> stop{false};
  std::atomic<long> caught{0};
  std::atomic<pid_t> tid_a{0}, tid_b{0};
  auto thrower = [&](std::atomic<pid_t>* tid) {
    *tid = gettid_();
    while (!stop) {
      try {
        throw std::runtime_error("in flight");
      } catch (const std::exception&) {
        caught.fetch_add(1);
      }
    }
  };
  std::thread a(thrower, &tid_a), b(thrower, &tid_b);
  while (tid_a == 0 || tid_b == 0) std::this_thread::sleep_for(1ms);
  gmr::ThreadCapture capture(kSignal);
  int answered = 0;
  std::string missed;  // what the captures that missed one said
  for (int i = 0; i < 1000; ++i) {
    gmr::CaptureResult r = capture.capture(500ms);
    ASSERT_TRUE(r.error.empty());
    for (const auto& t : r.threads) {
      if (t.tid != tid_a && t.tid != tid_b) continue;
      const bool ok = t.status == gmr::CaptureStatus::kOk && !t.pcs.empty();
      answered += ok;
      if (!ok) {
        missed += "capture " + std::to_string(i) + ": status " + std::to_string(static_cast<int>(t.status)) +
                  " (" + t.status_detail + "), " + std::to_string(t.pcs.size()) + " frames; ";
      }
    }
  }
  stop = true;
  a.join();
  b.join();
  EXPECT_GT(caught.load(), 0);
  EXPECT_GE(answered, 2000) << "both throwing threads answered every capture: " << missed;
}

// Blocks (SIG_BLOCK) or unblocks (SIG_UNBLOCK) the capture signal in the calling thread.
void mask_capture_signal(int how) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, kSignal);
  pthread_sigmask(how, &set, nullptr);
}

TEST(ThreadCapture, ThreadBlockingTheSignalIsReportedAtOnce) {
  std::atomic<pid_t> tid{0};
  std::atomic<bool> stop{false}, unblock{false};
  std::thread blocker([&] {
    mask_capture_signal(SIG_BLOCK);
    tid = gettid_();
    while (!unblock) std::this_thread::sleep_for(1ms);
    // The queued signals from the captures arrive now: late, and ignored.
    mask_capture_signal(SIG_UNBLOCK);
    while (!stop) std::this_thread::sleep_for(1ms);
  });
  while (tid == 0) std::this_thread::sleep_for(1ms);

  gmr::ThreadCapture capture(kSignal);
  const auto start = std::chrono::steady_clock::now();
  gmr::CaptureResult r = capture.capture(2000ms);
  const auto took = std::chrono::steady_clock::now() - start;
  const gmr::RawThread* blocked = nullptr;
  for (const auto& t : r.threads)
    if (t.tid == tid) blocked = &t;
  ASSERT_NE(blocked, nullptr);
  EXPECT_EQ(blocked->status, gmr::CaptureStatus::kBlocked);
  EXPECT_NE(blocked->status_detail.find("blocks"), std::string::npos);
  EXPECT_LT(took, 1000ms) << "a blocking thread must not cost the whole budget";

  unblock = true;
  std::this_thread::sleep_for(50ms);
  r = capture.capture(2000ms);
  for (const auto& t : r.threads)
    if (t.tid == tid) EXPECT_EQ(t.status, gmr::CaptureStatus::kOk);
  stop = true;
  blocker.join();
}

std::atomic<int> g_phase{0};
std::atomic<bool> g_in_second_spot{false};

__attribute__((noinline)) void gmr_test_first_spot(Parked* p) {
  while (!p->stop && g_phase == 0) std::this_thread::sleep_for(2ms);
}

__attribute__((noinline)) void gmr_test_second_spot(Parked* p) {
  g_in_second_spot = true;
  while (!p->stop) std::this_thread::sleep_for(2ms);
}

__attribute__((noinline)) void gmr_test_two_spots(Parked* p) {
  p->tid = gettid_();
  gmr_test_first_spot(p);
  gmr_test_second_spot(p);
}

// A parked thread's stack is remembered between captures (same registers, same
// stack bytes): one that moves on must be walked again.
TEST(ThreadCapture, ThreadThatMovesOnIsWalkedAgain) {
  g_phase = 0;
  g_in_second_spot = false;
  Parked mover;
  mover.thread = std::thread(gmr_test_two_spots, &mover);
  mover.wait_started();
  gmr::ThreadCapture capture(kSignal);
  gmr::Symbolizer symbolizer;
  for (int i = 0; i < 5; ++i) {
    gmr::Value data = gmr::collect_threads(capture, symbolizer, 1000ms);
    EXPECT_NE(find_function(data, mover.tid, "gmr_test_first_spot").frame, nullptr) << i;
    EXPECT_EQ(find_function(data, mover.tid, "gmr_test_second_spot").frame, nullptr) << i;
  }
  g_phase = 1;
  while (!g_in_second_spot) std::this_thread::sleep_for(1ms);  // it has moved on
  for (int i = 0; i < 5; ++i) {
    gmr::Value data = gmr::collect_threads(capture, symbolizer, 1000ms);
    EXPECT_EQ(find_function(data, mover.tid, "gmr_test_first_spot").frame, nullptr) << i;
    EXPECT_NE(find_function(data, mover.tid, "gmr_test_second_spot").frame, nullptr) << i;
  }
}

// Which leaf the alternating thread is in (0: neither), and how often that changed.
std::atomic<int> g_leaf{0};
std::atomic<int> g_leaf_changes{0};

// Sleeps as `leaf`, saying so; inlined, so that each leaf has a frame of its own.
__attribute__((always_inline)) inline void sit_in_leaf(Parked* p, int leaf, std::chrono::milliseconds how_long) {
  g_leaf = leaf;
  ++g_leaf_changes;
  if (!p->stop) std::this_thread::sleep_for(how_long);
  ++g_leaf_changes;
  g_leaf = 0;
}

__attribute__((noinline)) void gmr_test_leaf_a(Parked* p) { sit_in_leaf(p, 1, 4ms); }

__attribute__((noinline)) void gmr_test_leaf_b(Parked* p) { sit_in_leaf(p, 2, 3ms); }

__attribute__((noinline)) void gmr_test_alternate(Parked* p) {
  p->tid = gettid_();
  while (!p->stop) {
    gmr_test_leaf_a(p);
    gmr_test_leaf_b(p);
  }
}

// A thread whose innermost frames change between every two captures while the
// frames above stay: a walk may reuse the outer frames of the last one, never the
// inner ones. Every stack must be a whole, true one.
TEST(ThreadCapture, ReusedOuterFramesNeverHideChangedInnerOnes) {
  Parked t;
  t.thread = std::thread(gmr_test_alternate, &t);
  t.wait_started();
  gmr::ThreadCapture capture(kSignal);
  gmr::Symbolizer symbolizer;
  int a = 0, b = 0, checked = 0;
  for (int i = 0; i < 300; ++i) {
    const int changes = g_leaf_changes, leaf = g_leaf;
    gmr::Value data = gmr::collect_threads(capture, symbolizer, 1000ms);
    const bool stayed = changes == g_leaf_changes;
    const Found fa = find_function(data, t.tid, "gmr_test_leaf_a");
    const Found fb = find_function(data, t.tid, "gmr_test_leaf_b");
    const Found loop = find_function(data, t.tid, "gmr_test_alternate");
    ASSERT_NE(loop.thread, nullptr);
    ASSERT_NE(loop.frame, nullptr) << "capture " << i << ": the loop's frame is missing";
    // Between the two calls the thread is in the loop itself: neither leaf.
    EXPECT_FALSE(fa.frame != nullptr && fb.frame != nullptr) << "capture " << i << ": both leaves";
    a += fa.frame != nullptr;
    b += fb.frame != nullptr;
    if (stayed && leaf != 0) {
      // The thread was in one leaf for the whole capture: that is the one shown.
      ++checked;
      EXPECT_EQ(fa.frame != nullptr, leaf == 1) << "capture " << i;
      EXPECT_EQ(fb.frame != nullptr, leaf == 2) << "capture " << i;
    }
    // The frame above the loop's is the thread's start, whichever leaf it is in.
    const auto& frames = loop.thread->find("frames")->as_list();
    bool below_loop_ok = false;
    for (std::size_t k = 0; k + 1 < frames.size(); ++k) {
      if (&frames[k] == loop.frame) below_loop_ok = frames[k + 1].get_string("function").find("gmr_test") == std::string::npos;
    }
    EXPECT_TRUE(below_loop_ok) << "capture " << i;
  }
  EXPECT_GT(a, 0);
  EXPECT_GT(b, 0);
  EXPECT_GT(checked, 30) << "too few captures fell inside one leaf to check";
}

TEST(ThreadCapture, ThreadBlockingTheSignalHoldsOneQueuedSignalNotOnePerCapture) {
  std::atomic<pid_t> tid{0};
  std::atomic<bool> stop{false};
  std::atomic<int> queued{-1};
  std::thread blocker([&] {
    mask_capture_signal(SIG_BLOCK);
    tid = gettid_();
    while (!stop) std::this_thread::sleep_for(1ms);
    // Takes the capture signals queued on this thread, one by one, and counts
    // them (per thread: the user-wide SigQ would count other processes' too).
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, kSignal);
    const timespec now{0, 0};
    int n = 0;
    while (sigtimedwait(&set, nullptr, &now) == kSignal) ++n;
    queued = n;
  });
  while (tid == 0) std::this_thread::sleep_for(1ms);
  gmr::ThreadCapture capture(kSignal);
  for (int i = 0; i < 20; ++i) {
    gmr::CaptureResult r = capture.capture(2000ms);
    for (const auto& t : r.threads)
      if (t.tid == tid) EXPECT_EQ(t.status, gmr::CaptureStatus::kBlocked) << "capture " << i;
  }
  stop = true;
  blocker.join();
  // The first capture signalled it; the next ones asked /proc first and did not.
  EXPECT_EQ(queued.load(), 1);
}

TEST(ThreadCapture, ThreadsExitingDuringCapturesAreDropped) {
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    while (!stop) {
      std::vector<std::thread> batch;
      for (int i = 0; i < 8; ++i) batch.emplace_back([] { std::this_thread::sleep_for(100us); });
      for (auto& t : batch) t.join();
    }
  });
  gmr::ThreadCapture capture(kSignal);
  for (int i = 0; i < 300; ++i) {
    gmr::CaptureResult r = capture.capture(500ms);
    ASSERT_TRUE(r.error.empty());
    for (const auto& t : r.threads) {
      // A thread that exited is dropped, never shown as not responding.
      if (t.status == gmr::CaptureStatus::kNotResponding) {
        EXPECT_TRUE(gmr::procfs::task_exists(t.tid)) << t.status_detail;
      }
    }
  }
  stop = true;
  churn.join();
}

// A thread inside vfork() cannot run signal handlers until its child exits: it
// stands for a thread that does not answer in time. Its late answer must not
// land in a later capture.
TEST(ThreadCapture, ThreadThatDoesNotAnswerIsReportedAndItsLateAnswerIgnored) {
  std::atomic<pid_t> tid{0};
  std::thread stuck([&] {
    tid = gettid_();
    pid_t child = vfork();
    if (child == 0) {
      struct timespec ts{0, 600 * 1000 * 1000};
      ::syscall(SYS_nanosleep, &ts, nullptr);
      _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
  });
  while (tid == 0) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(50ms);

  gmr::ThreadCapture capture(kSignal);
  gmr::CaptureResult r = capture.capture(100ms);
  const gmr::RawThread* late = nullptr;
  for (const auto& t : r.threads)
    if (t.tid == tid) late = &t;
  ASSERT_NE(late, nullptr);
  EXPECT_EQ(late->status, gmr::CaptureStatus::kNotResponding);
  EXPECT_NE(late->status_detail.find("not responding"), std::string::npos);

  stuck.join();  // its pending signal is delivered as the vfork ends
  // Later captures are complete and correct: every thread answers for itself.
  Parked sleeper;
  sleeper.thread = std::thread(gmr_test_park_in_sleep, &sleeper);
  sleeper.wait_started();
  gmr::Symbolizer symbolizer;
  for (int i = 0; i < 20; ++i) {
    gmr::Value data = gmr::collect_threads(capture, symbolizer, 1000ms);
    Found s = find_function(data, sleeper.tid, "gmr_test_park_in_sleep");
    ASSERT_NE(s.frame, nullptr) << "capture " << i;
  }
}

TEST(ThreadCapture, HostHandlerOnTheCaptureSignalIsNotReplaced) {
  const int sig = SIGRTMIN + 7;
  struct sigaction sa{}, old{};
  sa.sa_handler = [](int) {};
  sigaction(sig, &sa, &old);
  gmr::ThreadCapture capture(sig);
  EXPECT_NE(capture.install_error().find("already handles"), std::string::npos);
  EXPECT_FALSE(capture.capture(100ms).error.empty());
  struct sigaction now{};
  sigaction(sig, nullptr, &now);
  EXPECT_EQ(now.sa_handler, sa.sa_handler);
  sigaction(sig, &old, nullptr);
}

TEST(ThreadCapture, SignalNames) {
  EXPECT_EQ(gmr::signal_name(SIGUSR2), "SIGUSR2");
  EXPECT_EQ(gmr::signal_name(SIGRTMIN + 3), "SIGRTMIN+3");
}

TEST(ProcFs, ParsesStatWithAwkwardNames) {
  auto st = gmr::procfs::parse_stat("42 (a) (b c) S 7 1 1 0 -1 0 0 0 0 0 150 30 0 0 20 0 1 0");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->pid, 42);
  EXPECT_EQ(st->comm, "a) (b c");
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->ppid, 7);
  EXPECT_EQ(st->utime_ticks, 150u);
  EXPECT_EQ(st->stime_ticks, 30u);
  EXPECT_FALSE(gmr::procfs::parse_stat("garbage"));
}

}  // namespace
