// report_timing: how long a report takes with N threads parked about 20 frames
// deep: the first (cold) report and the median of the following (warm) ones,
// split into collection (capture + symbolize) and rendering.
//
//   build/bin/gmr-report-timing 10 1000
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "gmr/gmr.hpp"

namespace {

std::mutex mu;
std::condition_variable cv;
bool stop = false;

__attribute__((noinline)) void park(int depth) {
  if (depth > 0) {
    park(depth - 1);
    asm volatile("" ::: "memory");  // not a tail call: each level stays a frame
    return;
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [] { return stop; });
}

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

void run(int n) {
  stop = false;
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) threads.emplace_back(park, 18);
  std::this_thread::sleep_for(std::chrono::milliseconds(200 + n / 2));

  std::vector<double> collect_ms, text_ms, json_ms, compact_ms;
  std::size_t text_size = 0, json_size = 0, compact_size = 0;
  for (int i = 0; i < (std::getenv("GMR_TIMING_REPEAT") ? std::atoi(std::getenv("GMR_TIMING_REPEAT")) : 8); ++i) {
    auto t0 = std::chrono::steady_clock::now();
    gmr::Report r = gmr::collect({{"threads"}});
    collect_ms.push_back(ms_since(t0));
    t0 = std::chrono::steady_clock::now();
    std::string text = gmr::render_text(r);
    text_ms.push_back(ms_since(t0));
    t0 = std::chrono::steady_clock::now();
    std::string json = gmr::render_json(r);
    json_ms.push_back(ms_since(t0));
    t0 = std::chrono::steady_clock::now();
    std::string compact = gmr::render_json(r, -1);
    compact_ms.push_back(ms_since(t0));
    text_size = text.size();
    json_size = json.size();
    compact_size = compact.size();
  }
  auto median = [](std::vector<double> v) {
    v.erase(v.begin());  // the cold one
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf("%5d threads: cold collect %7.1f ms | warm collect %7.1f ms, text %6.1f ms (%.1f MB), "
              "json %6.1f ms (%.1f MB), compact json %6.1f ms (%.1f MB)\n",
              n, collect_ms[0], median(collect_ms), median(text_ms), text_size / 1e6, median(json_ms),
              json_size / 1e6, median(compact_ms), compact_size / 1e6);
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
  }
  cv.notify_all();
  for (auto& t : threads) t.join();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> counts;
  for (int i = 1; i < argc; ++i) counts.push_back(std::atoi(argv[i]));
  if (counts.empty()) counts = {10, 100, 1000};
  for (int n : counts) run(n);
  gmr::shutdown();
}
