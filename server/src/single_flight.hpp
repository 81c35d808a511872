// single_flight.hpp (internal): concurrent requests for the same sections share
// one collection.
//
// A report costs a signal to every thread of the host; ten operators pressing
// Refresh at once should cost one. A request that arrives while a collection of
// the same sections runs waits for it and gets its result; one that arrives after
// it finished starts a new one, so a response is never older than its request.
// Nothing is cached.
#pragma once

#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "gmr/gmr.hpp"

namespace gmr {

class SingleFlightCollector {
 public:
  using CollectFunction = std::function<Report(const CollectOptions&)>;

  // `collect` does the work; gmr::collect by default.
  explicit SingleFlightCollector(CollectFunction collect = gmr::collect);

  // Returns a report of `sections` (empty: all) collected after this call began,
  // sharing the collection with concurrent callers. Rethrows what the collection
  // threw (to every caller that shared it). Thread-safe.
  Report collect(const std::vector<std::string>& sections);

 private:
  CollectFunction collect_;
  std::mutex mu_;
  // The collections running now, by their sorted section ids. Guarded by mu_.
  std::map<std::vector<std::string>, std::shared_future<Report>> running_;
};

}  // namespace gmr
