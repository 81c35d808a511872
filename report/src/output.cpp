// Where a text report goes: stderr, or a new file in log_dir.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>

#include "internal.hpp"

namespace gmr {

std::string slugify(std::string_view title) {
  std::string slug;
  for (char c : title) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      slug += c;
    } else if (c >= 'A' && c <= 'Z') {
      slug += static_cast<char>(c - 'A' + 'a');
    } else if (!slug.empty() && slug.back() != '_') {
      slug += '_';
    }
  }
  while (!slug.empty() && slug.back() == '_') slug.pop_back();
  return slug.empty() ? "section" : slug;
}

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::string executable_name() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string path = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "unknown";
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

namespace {

std::mutex& stderr_mutex() {
  static std::mutex* mu = new std::mutex;
  return *mu;
}

std::string file_stamp(std::chrono::system_clock::time_point now) {
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
  return buf;
}

// Writes the report to a temporary file in `dir` and renames it to the first
// free name; returns the path, or an error message in `error`.
std::string write_report_file(const std::string& text, const std::string& dir,
                              const std::string& base, std::string& error) {
  std::string tmp = dir + "/." + base + ".tmp.XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) {
    error = "cannot create a file in " + dir + ": " + std::strerror(errno);
    return "";
  }
  bool ok = write_all(fd, text);
  int write_errno = errno;
  if (ok && ::fsync(fd) != 0) {
    ok = false;
    write_errno = errno;
  }
  if (::close(fd) != 0 && ok) {
    ok = false;
    write_errno = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    error = "cannot write " + tmp + ": " + std::strerror(write_errno);
    return "";
  }
  // Two reports in the same second: the second gets ".1", and so on. The rename
  // refuses to replace an existing file, so no report is ever overwritten.
  for (int n = 0; n < 1000; ++n) {
    std::string path = dir + "/" + base + (n == 0 ? "" : "." + std::to_string(n));
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) {
      return path;
    }
    if (errno == EEXIST) continue;
    if (errno == EINVAL || errno == ENOSYS) {
      // A file system without RENAME_NOREPLACE: link() also refuses to replace.
      if (::link(tmp.c_str(), path.c_str()) == 0) {
        ::unlink(tmp.c_str());
        return path;
      }
      if (errno == EEXIST) continue;
    }
    error = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return "";
  }
  ::unlink(tmp.c_str());
  error = "too many reports named " + base + " in " + dir;
  return "";
}

}  // namespace

std::string emit_report(const std::string& text, const std::string& log_dir,
                        const std::string& service, std::chrono::system_clock::time_point now) {
  if (!log_dir.empty()) {
    std::string safe_service = service.empty() ? executable_name() : service;
    for (char& c : safe_service) {
      if (c == '/') c = '_';
    }
    std::string error;
    std::string path =
        write_report_file(text, log_dir, safe_service + "_gurumeditation_" + file_stamp(now), error);
    if (!path.empty()) return path;
    std::lock_guard<std::mutex> lock(stderr_mutex());
    write_all(STDERR_FILENO, "gmr: " + error + "; writing the report to stderr instead\n");
    write_all(STDERR_FILENO, text);
    return "stderr";
  }
  std::lock_guard<std::mutex> lock(stderr_mutex());
  write_all(STDERR_FILENO, text);
  return "stderr";
}

}  // namespace gmr
