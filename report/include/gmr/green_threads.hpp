// gmr/green_threads.hpp: the registry that user-space schedulers feed.
//
// Green threads (fibers, coroutines) have no kernel ids. A scheduler adds a
// source: a function that, at report time, returns a snapshot of its green
// threads with their names, states and raw stacks. gmr symbolizes the stacks.
//
// Thread-safety: add and remove are thread-safe. A source is called on gmr's
// reporter thread, never concurrently with itself; it must not block for long and
// must tolerate being called while the scheduler runs on other threads.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gmr/value.hpp"

namespace gmr {

struct GreenThread {
  std::string name;   // may be empty
  std::string state;  // e.g. "running", "ready", "waiting", "suspended"
  // Return addresses, innermost first, as unw_backtrace() or backtrace() give
  // them; gmr looks each up at address - 1.
  std::vector<std::uintptr_t> stack;
  // Extra fields shown in the JSON (and HTML) forms; a mapping or null.
  Value details;
};

using GreenThreadSource = std::function<std::vector<GreenThread>()>;

// Adds a source; `name` says which scheduler it is (shown with each green
// thread). Returns an id for remove_green_thread_source.
int add_green_thread_source(std::string name, GreenThreadSource source);

// Removes a source; when this returns, the source is not running and will not
// be called again.
void remove_green_thread_source(int id);

}  // namespace gmr
