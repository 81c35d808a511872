// fiber_switch: what gmr costs per fiber switch. Two fibers yield to each other
// on one thread, under Boost's own round_robin and under gmr's (which keeps the
// registry of live fibers and their states). No report is being taken: this is
// the price a service pays all the time.
//
//   build/bin/gmr-fiber-switch-bench
#include <benchmark/benchmark.h>

#include <atomic>
#include <boost/fiber/all.hpp>
#include <thread>

#include "gmr/fibers.hpp"

namespace {

// Runs `iterations` yields in each of two fibers on a fresh thread whose
// scheduler `install` sets; returns the time per switch.
template <typename Install>
void yield_pingpong(benchmark::State& state, Install install) {
  for (auto _ : state) {
    state.PauseTiming();
    const long n = 100000;
    std::thread t([&] {
      install();
      auto body = [n] {
        for (long i = 0; i < n; ++i) boost::this_fiber::yield();
      };
      boost::fibers::fiber a(body), b(body);
      state.ResumeTiming();
      a.join();
      b.join();
      state.PauseTiming();
    });
    t.join();
    state.SetItemsProcessed(state.items_processed() + 2 * n);
    state.ResumeTiming();
  }
}

void BM_BoostRoundRobin(benchmark::State& state) {
  yield_pingpong(state, [] {
    boost::fibers::use_scheduling_algorithm<boost::fibers::algo::round_robin>();
  });
}

void BM_GmrRoundRobin(benchmark::State& state) {
  yield_pingpong(state, [] { gmr::fibers::use_round_robin(); });
}

BENCHMARK(BM_BoostRoundRobin)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly();
BENCHMARK(BM_GmrRoundRobin)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly();

}  // namespace

BENCHMARK_MAIN();
