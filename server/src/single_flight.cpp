#include "single_flight.hpp"

#include <algorithm>
#include <exception>
#include <utility>

namespace gmr {

SingleFlightCollector::SingleFlightCollector(CollectFunction collect)
    : collect_(std::move(collect)) {}

Report SingleFlightCollector::collect(const std::vector<std::string>& sections) {
  std::vector<std::string> key = sections;
  std::sort(key.begin(), key.end());
  key.erase(std::unique(key.begin(), key.end()), key.end());

  std::unique_lock<std::mutex> lock(mu_);
  auto running = running_.find(key);
  if (running != running_.end()) {
    std::shared_future<Report> shared = running->second;
    lock.unlock();
    return shared.get();  // a copy: each caller renders its own
  }
  std::promise<Report> promise;
  running_.emplace(key, promise.get_future().share());
  lock.unlock();

  // This caller leads: it collects and hands the result to those who joined.
  // The entry goes before the result is published, so that a request arriving
  // from then on starts a collection of its own instead of getting an older one.
  auto leave = [&] {
    std::lock_guard<std::mutex> guard(mu_);
    running_.erase(key);
  };
  try {
    Report report = collect_(CollectOptions{sections});
    leave();
    promise.set_value(report);
    return report;
  } catch (...) {
    leave();
    promise.set_exception(std::current_exception());
    throw;
  }
}

}  // namespace gmr
