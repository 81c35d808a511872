// hardening_support.hpp: helpers shared by fault_test.cpp and security_test.cpp:
// temporary directories, the demo in a child process with its admin endpoint on a
// free port, and small HTTP clients over raw sockets (with hard timeouts, so that
// a test can never hang on a server that stopped answering).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace hardening {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

inline bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

inline size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

// A directory of the test's own, removed at the end.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/gmr-hardening-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

// The middle line of a section's banner in the text report.
inline std::string banner(const std::string& title) {
  size_t pad = 64 - title.size();
  return "====" + std::string(pad / 2, ' ') + title + std::string(pad - pad / 2, ' ') + "====";
}

// Returns "" when `text` holds only whole reports, each with every section in
// order; else what is wrong.
inline std::string check_whole_reports(const std::string& text, size_t* reports_out = nullptr) {
  const size_t reports = count(text, banner("Guru Meditation"));
  if (reports_out) *reports_out = reports;
  if (count(text, banner("Work Queue")) != reports) return "a report was cut or interleaved";
  size_t pos = 0;
  for (size_t i = 0; i < reports; ++i) {
    for (const char* title : {"Guru Meditation", "Package", "Threads", "Green Threads",
                              "Processes", "Configuration", "Work Queue"}) {
      size_t next = text.find(banner(title), pos);
      if (next == std::string::npos) {
        return "report " + std::to_string(i) + " lacks " + title;
      }
      pos = next;
    }
  }
  return "";
}

// The demo (GMR_DEMO_PATH) in a child process; its stderr goes to a file. It is
// started with --oslo_reports.http_port=0 and prints the port it got.
class Demo {
 public:
  explicit Demo(std::vector<std::string> args, bool with_http_port_0 = true) {
    char tmpl[] = "/tmp/gmr-hardening-demo-XXXXXX";
    dir_ = mkdtemp(tmpl);
    stderr_path_ = dir_ + "/stderr";
    std::vector<std::string> argv_s = {GMR_DEMO_PATH};
    if (with_http_port_0) argv_s.push_back("--oslo_reports.http_port=0");
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid_, GMR_DEMO_PATH, &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Demo() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  Demo(const Demo&) = delete;
  Demo& operator=(const Demo&) = delete;

  // Waits until the demo runs its workers and its endpoint listens.
  bool wait_ready(std::chrono::milliseconds limit = 20s) {
    return wait_until(
        [&] {
          std::string t = stderr_text();
          return t.find("writes a report") != std::string::npos && port() > 0;
        },
        limit);
  }
  // The admin endpoint's port, from "gmr: admin endpoint at http://127.0.0.1:PORT/gmr".
  int port() const {
    std::smatch m;
    std::string t = stderr_text();
    static const std::regex line(R"(admin endpoint at http://127\.0\.0\.1:(\d+)/gmr)");
    return std::regex_search(t, m, line) ? std::stoi(m[1]) : 0;
  }
  std::string stderr_text() const { return read_all(stderr_path_); }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  bool alive() {
    if (pid_ <= 0 || exited_) return false;
    if (waitpid(pid_, &status_, WNOHANG) == 0) return true;  // 0: still running
    exited_ = true;  // reaped here: wait_exit() gives its status
    return false;
  }
  // Waits for `n` complete reports on stderr (the Work Queue section is the last).
  bool wait_reports(size_t n, std::chrono::milliseconds limit = 10s) {
    return wait_until(
        [&] {
          std::string t = stderr_text();
          return count(t, "Guru Meditation") >= n && count(t, banner("Work Queue")) >= n &&
                 t.find("next_jobs", t.rfind("Work Queue")) != std::string::npos;
        },
        limit);
  }
  // Waits for the demo to exit by itself; returns its exit code (128 + signal when killed).
  int wait_exit() {
    if (!exited_) waitpid(pid_, &status_, 0);
    exited_ = true;
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }
  // SIGTERM, then the exit code (128 + signal when killed; -1 on a timeout).
  int stop(std::chrono::milliseconds limit = 20s) {
    if (!exited_) kill(pid_, SIGTERM);
    const auto end = Clock::now() + limit;
    while (!exited_ && Clock::now() < end) {
      if (waitpid(pid_, &status_, WNOHANG) == pid_) exited_ = true;
      else std::this_thread::sleep_for(20ms);
    }
    if (!exited_) return -1;
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }

 private:
  std::string dir_, stderr_path_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;  // waitpid's, once exited_
};

// A TCP connection to 127.0.0.1:port, or -1.
inline int connect_loopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

inline bool send_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

struct HttpResult {
  int status = 0;    // 0: no answer (connection refused, reset, or timed out)
  std::string head;  // the status line and headers
  std::string body;
  std::chrono::milliseconds elapsed{0};

  std::string header(const std::string& name) const {
    std::string lower_head = head;
    for (char& c : lower_head) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    std::string key = "\r\n" + name + ":";
    for (char& c : key) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    size_t at = lower_head.find(key);
    if (at == std::string::npos) return "(absent)";
    size_t start = at + key.size();
    size_t end = head.find("\r\n", start);
    std::string v = head.substr(start, end - start);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    return v;
  }
};

// One request over a fresh connection ("Connection: close"), with a hard overall
// deadline: the answer is read until the server closes or the deadline passes.
inline HttpResult http_request(int port, const std::string& method, const std::string& target,
                               const std::vector<std::string>& headers = {},
                               std::chrono::milliseconds deadline = 10s) {
  HttpResult result;
  const auto start = Clock::now();
  int fd = connect_loopback(port);
  if (fd < 0) return result;
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const std::string& h : headers) request += h + "\r\n";
  request += "Connection: close\r\n\r\n";
  std::string answer;
  if (send_all(fd, request)) {
    const auto end = start + deadline;
    char buf[65536];
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
      if (left.count() <= 0) break;
      pollfd pfd{fd, POLLIN, 0};
      int r = poll(&pfd, 1, static_cast<int>(left.count()));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      answer.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  size_t head_end = answer.find("\r\n\r\n");
  if (answer.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) return result;
  result.head = answer.substr(0, head_end);
  result.body = answer.substr(head_end + 4);
  result.status = std::atoi(answer.c_str() + 9);
  // A complete answer only: as long as its Content-Length says.
  std::string length = result.header("Content-Length");
  if (method != "HEAD" && length != "(absent)" && result.body.size() != std::stoul(length)) {
    result.status = 0;
  }
  return result;
}

inline HttpResult http_get(int port, const std::string& target,
                           const std::vector<std::string>& headers = {},
                           std::chrono::milliseconds deadline = 10s) {
  return http_request(port, "GET", target, headers, deadline);
}

// Returns true when `s` is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
inline bool valid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace hardening
