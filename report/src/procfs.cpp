#include "procfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace gmr::procfs {

std::optional<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      if (n < 0) return std::nullopt;
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

bool parse_stat(const char* text, std::size_t size, Stat& out) {
  // "PID (COMM) S PPID ..." where COMM may hold ") (": the name ends at the last ')'.
  const char* end = text + size;
  const char* open = static_cast<const char*>(std::memchr(text, '(', size));
  const char* close = nullptr;
  for (const char* p = end; p > text;) {
    if (*--p == ')') {
      close = p;
      break;
    }
  }
  if (open == nullptr || close == nullptr || close < open) return false;
  // Fields from 3 (state) on; ppid is field 4, utime and stime fields 14 and 15.
  const char* fields[13];
  std::size_t lengths[13];
  int n = 0;
  for (const char* p = close + 1; p < end && n < 13;) {
    while (p < end && (*p == ' ' || *p == '\n')) ++p;
    if (p >= end) break;
    const char* start = p;
    while (p < end && *p != ' ' && *p != '\n') ++p;
    fields[n] = start;
    lengths[n] = static_cast<std::size_t>(p - start);
    ++n;
  }
  if (n < 13) return false;
  auto number = [&](int i) {
    std::int64_t v = 0;
    std::from_chars(fields[i], fields[i] + lengths[i], v);  // stays 0 when not a number
    return v;
  };
  out.pid = static_cast<pid_t>(std::strtol(text, nullptr, 10));
  out.comm.assign(open + 1, close);
  out.state = fields[0][0];
  out.ppid = static_cast<pid_t>(number(1));
  out.utime_ticks = static_cast<std::uint64_t>(number(11));
  out.stime_ticks = static_cast<std::uint64_t>(number(12));
  return true;
}

std::optional<Stat> parse_stat(const std::string& text) {
  Stat st;
  if (!parse_stat(text.data(), text.size(), st)) return std::nullopt;
  return st;
}

std::string state_name(char state) {
  switch (state) {
    case 'R': return "running";
    case 'S': return "sleeping";
    case 'D': return "disk sleep";
    case 'T': return "stopped";
    case 't': return "tracing stop";
    case 'Z': return "zombie";
    case 'X': return "dead";
    case 'I': return "idle";
    case 'P': return "parked";
    case 'W': return "waking";
    default: return std::string("unknown (") + state + ")";
  }
}

static std::vector<long> numeric_entries(const char* dir) {
  std::vector<long> ids;
  DIR* d = ::opendir(dir);
  if (!d) return ids;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long id = std::strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == '\0' && id > 0) ids.push_back(id);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<pid_t> list_tasks() {
  std::vector<pid_t> tids;
  for (long id : numeric_entries("/proc/self/task")) tids.push_back(static_cast<pid_t>(id));
  return tids;
}

static std::string task_path(pid_t tid, const char* leaf) {
  return "/proc/self/task/" + std::to_string(tid) + "/" + leaf;
}

std::optional<Stat> task_stat(pid_t tid) {
  auto text = read_file(task_path(tid, "stat"));
  if (!text) return std::nullopt;
  return parse_stat(*text);
}

int open_task_dir() {
  return ::open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

bool task_stat_at(int task_dir, pid_t tid, Stat& out) {
  // "TID/stat", relative to the directory.
  char path[32];
  char* end = std::to_chars(path, path + 16, tid).ptr;
  std::memcpy(end, "/stat", 6);
  int fd = ::openat(task_dir, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  // A stat line is under 1 KB even with a 64-character name (kernel threads' names are 15).
  char buf[1024];
  ssize_t n;
  do {
    n = ::read(fd, buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  ::close(fd);
  if (n <= 0) return false;
  return parse_stat(buf, static_cast<std::size_t>(n), out);
}

// Returns the value of a "Key:\tvalue" line of a status file.
static std::optional<std::string> status_field(const std::string& status, const std::string& key) {
  size_t pos = 0;
  while (pos < status.size()) {
    size_t eol = status.find('\n', pos);
    if (eol == std::string::npos) eol = status.size();
    if (status.compare(pos, key.size(), key) == 0 && pos + key.size() < eol &&
        status[pos + key.size()] == ':') {
      size_t v = status.find_first_not_of(" \t", pos + key.size() + 1);
      if (v == std::string::npos || v > eol) v = eol;
      return status.substr(v, eol - v);
    }
    pos = eol + 1;
  }
  return std::nullopt;
}

std::optional<bool> task_holds_signal_blocked(pid_t tid, int signo) {
  if (signo < 1 || signo > 64) return std::nullopt;
  auto status = read_file(task_path(tid, "status"));
  if (!status) return std::nullopt;
  auto blocked = status_field(*status, "SigBlk");
  auto pending = status_field(*status, "SigPnd");
  if (!blocked || !pending) return std::nullopt;
  const unsigned long long bit = 1ULL << (signo - 1);
  return (std::strtoull(blocked->c_str(), nullptr, 16) & bit) != 0 &&
         (std::strtoull(pending->c_str(), nullptr, 16) & bit) != 0;
}

bool task_exists(pid_t tid) {
  std::string path = "/proc/self/task/" + std::to_string(tid);
  return ::access(path.c_str(), F_OK) == 0;
}

std::vector<Process> list_processes() {
  std::vector<Process> out;
  for (long id : numeric_entries("/proc")) {
    std::string base = "/proc/" + std::to_string(id) + "/";
    auto stat_text = read_file(base + "stat");
    if (!stat_text) continue;
    auto st = parse_stat(*stat_text);
    if (!st) continue;
    Process p;
    p.pid = st->pid;
    p.ppid = st->ppid;
    p.state = st->state;
    p.comm = st->comm;
    out.push_back(std::move(p));
  }
  return out;
}

void read_details(Process& p) {
  std::string base = "/proc/" + std::to_string(p.pid) + "/";
  if (auto status = read_file(base + "status")) {
    if (auto uid = status_field(*status, "Uid")) {
      p.uid = static_cast<uid_t>(std::strtoul(uid->c_str(), nullptr, 10));
    }
  }
  if (auto cmdline = read_file(base + "cmdline"); cmdline && !cmdline->empty()) {
    while (!cmdline->empty() && cmdline->back() == '\0') cmdline->pop_back();
    for (size_t start = 0; start <= cmdline->size();) {
      size_t end = std::min(cmdline->find('\0', start), cmdline->size());
      p.args.push_back(cmdline->substr(start, end - start));
      start = end + 1;
    }
    std::replace(cmdline->begin(), cmdline->end(), '\0', ' ');
    p.command = *cmdline;
  } else {
    p.command = "[" + p.comm + "]";  // kernel threads and zombies have no command line
  }
}

std::optional<std::string> user_name(uid_t uid) {
  passwd pw{};
  passwd* result = nullptr;
  std::vector<char> buf(16384);
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &result) != 0 || result == nullptr) {
    return std::nullopt;
  }
  return std::string(pw.pw_name);
}

long ticks_per_second() {
  static const long ticks = [] {
    long t = ::sysconf(_SC_CLK_TCK);
    return t > 0 ? t : 100;
  }();
  return ticks;
}

}  // namespace gmr::procfs
