// procfs.hpp (internal): small readers of /proc, for the Threads and Processes
// sections. Each returns plain data and never throws on a vanished entry: a
// thread or process can exit between listing and reading.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gmr::procfs {

// Returns the whole file, or nullopt when it cannot be read.
std::optional<std::string> read_file(const std::string& path);

// The fields of /proc/.../stat that gmr shows.
struct Stat {
  pid_t pid = 0;
  std::string comm;  // the name, without parentheses
  char state = '?';  // R, S, D, T, t, Z, X, I
  pid_t ppid = 0;
  std::uint64_t utime_ticks = 0;
  std::uint64_t stime_ticks = 0;
};

// Parses a stat line; the name may itself hold spaces and parentheses.
std::optional<Stat> parse_stat(const std::string& text);

// The same, from a buffer; allocates nothing beyond the name. False when the
// text is not a stat line.
bool parse_stat(const char* text, std::size_t size, Stat& out);

// Returns the state letter in words ("running", "sleeping", ...).
std::string state_name(char state);

// Returns the thread ids in /proc/self/task, sorted.
std::vector<pid_t> list_tasks();

// Reads /proc/self/task/TID/stat.
std::optional<Stat> task_stat(pid_t tid);

// Opens /proc/self/task as a directory, for task_stat_at(); -1 on failure.
// The caller closes it.
int open_task_dir();

// Reads TID/stat relative to `task_dir` (from open_task_dir()) with one read
// into a stack buffer: no path building, no allocation beyond the name. False
// when the thread is gone or the file cannot be read.
bool task_stat_at(int task_dir, pid_t tid, Stat& out);

// Returns true when the thread blocks `signo` and holds it pending (SigBlk and
// SigPnd in /proc/self/task/TID/status): a signal sent to it waits there. A
// thread that was just handed the signal also has it in SigBlk, for as long as
// its handler has not finished, but no longer pending. nullopt when unreadable.
std::optional<bool> task_holds_signal_blocked(pid_t tid, int signo);

// Returns true while /proc/self/task/TID exists.
bool task_exists(pid_t tid);

// One process, for the Processes section.
struct Process {
  pid_t pid = 0;
  pid_t ppid = 0;
  char state = '?';
  uid_t uid = 0;
  std::string comm;
  std::string command;  // the command line, arguments joined by spaces
  std::vector<std::string> args;  // the same arguments, apart (empty without a command line)
};

// Returns every process in /proc that could be read, with pid, ppid, state
// and comm only (reading the rest of every process would be wasteful).
std::vector<Process> list_processes();

// Fills uid and command of a process listed by list_processes().
void read_details(Process& p);

// Returns the user name of `uid`, or nullopt when it has none.
std::optional<std::string> user_name(uid_t uid);

// Returns the clock ticks per second (for the CPU times in stat).
long ticks_per_second();

}  // namespace gmr::procfs
