// symbolizer.hpp (internal): program counters to frames (function, file, line).
//
// Uses the libbacktrace that Boost.Stacktrace's backtrace backend carries (and
// exports), through its own C API rather than boost::stacktrace::frame: one
// lookup gives the function, file and line of every inlined call at an address
// (as gdb shows them), where frame::name() and friends give one level and look
// the address up three times. libbacktrace's state costs about 25 MB and 100 ms
// to build and is never freed, so there is one for the process, used under a
// mutex. Results are cached in each Symbolizer: by address, and whole stacks by
// their addresses, as shared Values (Value::shared), so that the threads parked
// in the same place share one list of frames, which is built once.
//
// Not thread-safe: one thread per Symbolizer (gmr's reporter thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gmr/value.hpp"

namespace gmr {

class Symbolizer {
 public:
  // Returns the outermost frame (docs/report-data.md) of `pc`, the function that
  // holds any inlined calls there. A return address is looked
  // up at pc - 1 (the call instruction); an interrupted frame (`exact`) at pc.
  Value frame(std::uintptr_t pc, bool exact);

  // Returns the frames of a stack, innermost first, one per inlined call too;
  // the first address is exact when
  // `first_exact` (a stack captured in a signal handler), the rest are return
  // addresses.
  Value frames(const std::vector<std::uintptr_t>& pcs, bool first_exact);

  // Symbolizes one address of this library, so that the first report does not
  // pay for building libbacktrace's state.
  void warm_up();

  std::size_t cache_size() const { return cache_.size(); }

 private:
  struct Location {
    std::string function;  // demangled; empty: unknown
    std::string file;      // empty: unknown
    int line = 0;
  };
  struct Entry {
    // Innermost first: the inlined calls, then the function that holds them.
    std::vector<Location> chain;
    std::string object;
    std::uintptr_t offset = 0;
  };
  struct Stack {
    std::vector<std::uintptr_t> pcs;
    bool first_exact = false;
    bool operator==(const Stack& o) const { return first_exact == o.first_exact && pcs == o.pcs; }
  };
  struct StackHash {
    std::size_t operator()(const Stack& s) const;
  };
  // The frames (shared Values) at `pc`: its inlined calls, then their function.
  const std::vector<Value>& frames_at(std::uintptr_t pc, bool exact);
  const Entry& lookup(std::uintptr_t address);
  // Returns the text of a source line, or nullptr when the file cannot be read.
  const std::string* source_line(const std::string& file, int line);

  std::unordered_map<std::uintptr_t, Entry> cache_;
  std::unordered_map<std::uintptr_t, std::vector<Value>> frames_at_;  // key: pc * 2 + exact
  std::unordered_map<Stack, Value, StackHash> stacks_;
  std::unordered_map<std::string, std::unique_ptr<std::vector<std::string>>> sources_;
  std::string self_exe_;
};

}  // namespace gmr
