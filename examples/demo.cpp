// gmr-demo: a small service that embeds gmr exactly as the README shows.
//
// It runs named worker threads that wait in different ways (a condition
// variable, a sleep, a read on a pipe, a busy computation), has its own
// configuration with a secret, and registers a "Work Queue" section.
//
//   build/bin/gmr-demo --config-file examples/demo.conf
//   kill -USR2 <pid>        # the report appears on stderr
//   curl localhost:9911/gmr # the report as JSON (open it in a browser for the page)
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/fiber/all.hpp>

#include "gmr/admin.hpp"
#include "gmr/fibers.hpp"
#include "gmr/gmr.hpp"

namespace demo {

std::atomic<bool> stopping{false};

// A job queue that dispatcher and workers share.
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
  // Waits for a job; returns false when the service stops.
  bool wait_for_job(int& job) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !jobs_.empty() || stopping; });
    if (jobs_.empty()) return false;
    job = jobs_.front();
    jobs_.pop_front();
    ++done_;
    return true;
  }
  void wake_all() { cv_.notify_all(); }
  gmr::Value describe() {
    std::lock_guard<std::mutex> lock(mu_);
    gmr::Value pending = gmr::Value::list();
    for (size_t i = 0; i < jobs_.size() && i < 10; ++i) pending.push_back("job-" + std::to_string(jobs_[i]));
    return gmr::Value::map({{"depth", jobs_.size()},
                            {"jobs_pushed", pushed_},
                            {"jobs_done", done_},
                            {"next_jobs", pending}});
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int> jobs_;
  long pushed_ = 0;
  long done_ = 0;
};

WorkQueue queue;
std::atomic<long> ticks{0};

// Each worker parks `depth` frames down, so that stacks look like a real service's.
void descend(int depth, void (*park)(int), int id) {
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
    // A burst of work, then a pause: busy, but 1000 workers still fit on 2 cores.
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

// --- Fibers: a few green threads on one thread, shown in "Green Threads" ---------------
using Mailbox = boost::fibers::buffered_channel<std::string>;

void deliver_mail(Mailbox& mailbox) {
  for (int n = 0; !stopping; ++n) {
    boost::this_fiber::sleep_for(std::chrono::milliseconds(300));
    if (mailbox.try_push("letter-" + std::to_string(n)) == boost::fibers::channel_op_status::closed) break;
  }
}

void read_mail(Mailbox& mailbox) {
  std::string letter;
  while (mailbox.pop(letter) == boost::fibers::channel_op_status::success) ticks.fetch_add(1);
}

void doze() {
  while (!stopping) boost::this_fiber::sleep_for(std::chrono::milliseconds(200));
}

void take_turns() {
  while (!stopping) {
    for (int i = 0; i < 10; ++i) boost::this_fiber::yield();
    boost::this_fiber::sleep_for(std::chrono::milliseconds(20));
  }
}

void fiber_pool() {
  gmr::fibers::use_round_robin();
  Mailbox mailbox(8);
  auto named = [](const char* name, auto body) {
    return boost::fibers::fiber([name, body] {
      gmr::fibers::set_name(name);
      body();
    });
  };
  std::vector<boost::fibers::fiber> fibers;
  fibers.push_back(named("postman", [&] { deliver_mail(mailbox); }));
  fibers.push_back(named("mail-reader", [&] { read_mail(mailbox); }));
  fibers.push_back(named("dozer", [] { doze(); }));
  fibers.push_back(named("turn-taker", [] { take_turns(); }));
  while (!stopping) boost::this_fiber::sleep_for(std::chrono::milliseconds(100));
  mailbox.close();
  for (auto& f : fibers) f.join();
}

void dispatcher() {
  for (int job = 0; !stopping; ++job) {
    queue.push(job);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace demo

int main(int argc, char** argv) {
  // SIGINT and SIGTERM are waited for by main(); every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  gmr::Config& CONF = gmr::conf();
  CONF.register_opts("demo", {
      gmr::Opt::integer("workers", 4, "Number of worker threads").with_min(1).with_max(10000),
      gmr::Opt::integer("depth", 3, "How many frames deep each worker parks").with_min(0).with_max(200),
      gmr::Opt::string("service_name", "gmr-demo", "Name used for report files"),
  });
  CONF.register_opts("database", {
      gmr::Opt::string("connection", "sqlite:///var/lib/gmr-demo/demo.db",
                       "Database connection URL").as_secret(),
      gmr::Opt::string("password", nullptr, "Database password").as_secret(),
      gmr::Opt::integer("max_retries", 10, "Connection attempts before giving up"),
  });
  gmr::LoadResult loaded = CONF.load(argc, argv);
  for (const auto& w : loaded.warnings) std::cerr << "gmr-demo: warning: " << w << "\n";
  if (loaded.help_requested) {
    std::cout << loaded.help;
    return 0;
  }
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::cerr << "gmr-demo: " << e << "\n";
    return 2;
  }

  gmr::register_section("Work Queue", [] { return demo::queue.describe(); });
  gmr::SetupOptions options;
  options.service_name = CONF.get_string("demo", "service_name");
  if (!gmr::setup_autorun_with_admin({"gmr-demo", "gmr project", "0.1.0"}, options)) return 1;

  if (::pipe(demo::wake_pipe) != 0) return 1;
  const int workers = static_cast<int>(CONF.get_int("demo", "workers"));
  const int depth = static_cast<int>(CONF.get_int("demo", "depth"));
  std::vector<std::thread> threads;
  threads.emplace_back(demo::dispatcher);
  pthread_setname_np(threads.back().native_handle(), "dispatcher");
  threads.emplace_back(demo::fiber_pool);
  pthread_setname_np(threads.back().native_handle(), "fiber-pool");
  for (int i = 0; i < workers; ++i) {
    threads.emplace_back(demo::worker, i, depth);
    pthread_setname_np(threads.back().native_handle(), ("worker-" + std::to_string(i)).c_str());
  }
  std::cerr << "gmr-demo: pid " << getpid() << ", " << workers
            << " workers; kill -USR2 " << getpid() << " writes a report" << std::endl;

  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::cerr << "gmr-demo: stopping" << std::endl;
  demo::stopping = true;
  demo::queue.wake_all();
  for (auto& t : threads) t.join();
  gmr::shutdown();
  return 0;
}
