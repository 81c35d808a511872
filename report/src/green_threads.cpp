#include "gmr/green_threads.hpp"

#include <map>
#include <mutex>

#include "internal.hpp"

namespace gmr {
namespace {

struct Registry {
  // Held while a source runs, so that remove() returns only once its source is
  // not running. Recursive: a source may add or remove sources itself.
  std::recursive_mutex mu;
  int next_id = 1;
  std::map<int, std::pair<std::string, GreenThreadSource>> sources;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: sources may outlive main()
  return *r;
}

}  // namespace

int add_green_thread_source(std::string name, GreenThreadSource source) {
  Registry& r = registry();
  std::lock_guard<std::recursive_mutex> lock(r.mu);
  int id = r.next_id++;
  r.sources.emplace(id, std::make_pair(std::move(name), std::move(source)));
  return id;
}

void remove_green_thread_source(int id) {
  Registry& r = registry();
  std::lock_guard<std::recursive_mutex> lock(r.mu);
  r.sources.erase(id);
}

std::vector<GreenThreadSnapshot> snapshot_green_threads() {
  Registry& r = registry();
  std::lock_guard<std::recursive_mutex> lock(r.mu);
  std::vector<GreenThreadSnapshot> out;
  // Copy the ids first: a source may add or remove sources while it runs.
  std::vector<int> ids;
  for (const auto& entry : r.sources) ids.push_back(entry.first);
  for (int id : ids) {
    auto it = r.sources.find(id);
    if (it == r.sources.end()) continue;
    GreenThreadSnapshot snap;
    snap.source = it->second.first;
    GreenThreadSource fn = it->second.second;
    try {
      snap.threads = fn();
    } catch (const std::exception& e) {
      snap.error = std::string("source threw: ") + e.what();
    } catch (...) {
      snap.error = "source threw an exception that is not a std::exception";
    }
    out.push_back(std::move(snap));
  }
  return out;
}

}  // namespace gmr
