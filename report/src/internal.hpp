// internal.hpp: declarations shared between the library's own source files.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "gmr/green_threads.hpp"
#include "gmr/value.hpp"

namespace gmr {

// One source's green threads at report time (green_threads.cpp).
struct GreenThreadSnapshot {
  std::string source;
  std::vector<GreenThread> threads;
  std::string error;
};

// Calls every green-thread source and returns what each gave (or its error).
std::vector<GreenThreadSnapshot> snapshot_green_threads();

// Returns the groups of identical stacks among `members` (each a mapping with a
// "frames" list), largest first: [{"count", "members": [{KEYS...}], "frames"}].
// Members without frames are left out. Pure function.
Value group_stacks(const Value& members, const std::vector<std::string>& member_keys);

// Returns the slug of a title: lower case letters, digits and '_'.
std::string slugify(std::string_view title);

// Returns `t` as UTC ISO 8601 with milliseconds: 2026-11-21T22:01:00.123Z.
std::string iso8601_utc(std::chrono::system_clock::time_point t);

// Returns the base name of this process's executable.
std::string executable_name();

// Writes all of `text` to `fd`, retrying short writes and EINTR. Returns false
// on an error (errno says which).
bool write_all(int fd, std::string_view text);

// Writes a text report where a signal's report goes: stderr when `log_dir` is
// empty, else a new file SERVICE_gurumeditation_YYYYMMDDHHMMSS in it (mode 0600,
// written under a temporary name then renamed; never overwriting another). If the
// file cannot be written, says so in one line on stderr and writes the report
// there. Returns "stderr" or the file's path.
std::string emit_report(const std::string& text, const std::string& log_dir,
                        const std::string& service, std::chrono::system_clock::time_point now);

}  // namespace gmr
