// The endpoint on the network: cpp-httplib glue, start-up checks, start and stop.
// Everything the endpoint answers is decided by handle_admin_request (routes.cpp);
// this file only moves requests and responses between it and the socket.
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "gmr/admin.hpp"
#include "responses.hpp"

namespace gmr {
namespace {

// One thread per connection, up to this many at once (more wait for a free one).
// A fixed pool of 4 was starved by 4 clients sending their headers byte by byte,
// or by a few dozen idle connections (each held a worker for the keep-alive wait).
constexpr int kMaxConnectionThreads = 64;
// How long stop() waits for the connections in progress; a slower one (a client
// sending a byte every few seconds) is abandoned, so it cannot hold up the host's
// shutdown.
constexpr auto kStopWait = std::chrono::seconds(3);
// Requests carry no body worth reading (POST /gmr/reports takes none).
constexpr size_t kMaxPayload = 4096;
constexpr time_t kTimeoutSeconds = 5;
// A connection waiting for its request holds a worker, and stop() waits for it.
constexpr time_t kKeepAliveSeconds = 2;

void say(const std::string& line) {
  std::string text = line + "\n";
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {  // one write in practice, so the line is never interleaved
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n, left -= static_cast<size_t>(n);
  }
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

std::string url_of(const std::string& host, int port) {
  bool ipv6 = host.find(':') != std::string::npos;
  return "http://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/gmr";
}

// --- Requests and responses -------------------------------------------------

AdminRequest to_admin_request(const httplib::Request& req) {
  AdminRequest request;
  request.method = req.method;
  // The target as sent: routes.cpp decodes it once, its own careful way.
  const std::string& target = req.target.empty() ? req.path : req.target;
  size_t question = target.find('?');
  request.path = target.substr(0, question);
  if (question != std::string::npos) request.query = target.substr(question + 1);
  for (const auto& [name, value] : req.headers) request.headers.emplace_back(name, value);
  return request;
}

void to_httplib_response(const AdminResponse& response, httplib::Response& res) {
  res.status = response.status;
  for (const auto& [name, value] : response.headers) res.set_header(name, value);
  if (!response.content_type.empty()) res.set_content(response.body, response.content_type);
}

void serve(const httplib::Request& req, httplib::Response& res) {
  to_httplib_response(handle_admin_request(to_admin_request(req)), res);
}

void configure(httplib::Server& server) {
  // A request without a body (no Content-Length, no Transfer-Encoding) is answered
  // before httplib's routing, which would refuse a bare "curl -X POST" with 400
  // and has no table for TRACE or CONNECT.
  server.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    serve(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
  // A request with a body: one catch-all per method httplib knows, so that it
  // reads the body (at most kMaxPayload bytes) first and a keep-alive connection
  // stays in step. handle_admin_request routes.
  server.Get(".*", serve).Post(".*", serve).Put(".*", serve).Patch(".*", serve);
  server.Delete(".*", serve).Options(".*", serve);
  // Errors httplib raises itself (a bad request line, a body too large) get the
  // endpoint's JSON shape; ours already have a body and are left alone.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        AdminResponse response = error_response(res.status, status_text(res.status));
        add_security_headers(response);
        to_httplib_response(response, res);
        return httplib::Server::HandlerResponse::Handled;
      }));
  // handle_admin_request catches everything; this is the net under the net.
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                  std::exception_ptr) {
    say("gmr: admin endpoint: an exception escaped a request");
    AdminResponse response = error_response(500, "internal error");
    add_security_headers(response);
    to_httplib_response(response, res);
  });
  server.set_payload_max_length(kMaxPayload);
  server.set_read_timeout(kTimeoutSeconds);
  server.set_write_timeout(kTimeoutSeconds);
  server.set_keep_alive_timeout(kKeepAliveSeconds);
  // One request per connection: httplib's workers wait out an idle keep-alive
  // connection before they notice stop(), which would hold up the host's
  // shutdown for nothing (an admin page is three requests).
  server.set_keep_alive_max_count(1);
  // httplib's default adds SO_REUSEPORT, which lets a second process bind the
  // same port without an error: "port taken" must be an error.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    ::fcntl(sock, F_SETFD, FD_CLOEXEC);  // the host's children must not hold our port
  });
}

// --- Connection threads -----------------------------------------------------

// How long a connection thread with nothing to do waits for the next connection
// before it exits: sequential requests reuse the same threads, so the set of
// threads a report shows stays the same from one request to the next.
constexpr auto kIdleThreadWait = std::chrono::seconds(60);
// Threads kept even when idle, started with the server: a browser's few requests
// at once (the page, its CSS and JS) find them ready.
constexpr int kKeptThreads = 4;

// What the connection threads share with the task queue; it outlives both.
struct ConnectionThreadsState {
  std::mutex mu;
  std::condition_variable work;  // a connection is waiting, or stopping
  std::condition_variable done;  // a thread exited
  int running = 0;                           // guarded by mu: threads alive
  int idle = 0;                              // guarded by mu: of which waiting for work
  bool stopping = false;                     // guarded by mu
  std::deque<std::function<void()>> waiting;  // guarded by mu: connections not taken yet
};

// httplib's task queue: threads (with gmr's signal mask) started as connections
// need them, up to kMaxConnectionThreads, kept for kIdleThreadWait when idle.
// shutdown() waits for them at most kStopWait; those still running then are left
// to finish on their own (their server must then be kept: see stop_locked).
class ConnectionThreads : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(std::shared_ptr<ConnectionThreadsState> state)
      : state_(std::move(state)) {
    for (int i = 0; i < kKeptThreads; ++i) {
      {
        std::lock_guard<std::mutex> lock(state_->mu);
        ++state_->running;
      }
      if (!start_thread()) break;
    }
  }

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->waiting.push_back(std::move(fn));
      if (state_->idle > 0) {
        state_->work.notify_one();
        return;
      }
      if (state_->running >= kMaxConnectionThreads) return;  // the next free thread takes it
      ++state_->running;
    }
    if (!start_thread()) serve_connections_once(*state_);  // no thread to be had: serve it here
  }

  void shutdown() override {
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->stopping = true;
    state_->work.notify_all();
    state_->done.wait_for(lock, kStopWait, [this] { return state_->running == 0; });
  }

 private:
  // Starts a thread counted in `running` beforehand; undoes the count on failure.
  bool start_thread() {
    auto state = state_;
    try {
      gmr::start_gmr_thread([state] { serve_connections(*state); }).detach();
      return true;
    } catch (const std::system_error&) {
      std::lock_guard<std::mutex> lock(state_->mu);
      --state_->running;
      return false;
    }
  }

  static void serve_connections(ConnectionThreadsState& state) {
    std::unique_lock<std::mutex> lock(state.mu);
    for (;;) {
      while (state.waiting.empty() && !state.stopping) {
        ++state.idle;
        const bool woken = state.work.wait_for(
            lock, kIdleThreadWait, [&] { return !state.waiting.empty() || state.stopping; });
        --state.idle;
        if (!woken && state.running > kKeptThreads) break;  // one of the extra threads
      }
      if (state.waiting.empty()) break;  // idle too long, or stopping
      std::function<void()> fn = std::move(state.waiting.front());
      state.waiting.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
    --state.running;
    state.done.notify_all();
  }

  static void serve_connections_once(ConnectionThreadsState& state) {
    std::function<void()> fn;
    {
      std::lock_guard<std::mutex> lock(state.mu);
      if (state.waiting.empty()) return;
      fn = std::move(state.waiting.front());
      state.waiting.pop_front();
    }
    fn();
  }

  std::shared_ptr<ConnectionThreadsState> state_;
};

// --- The running server -----------------------------------------------------

struct RunningServer {
  std::mutex mu;  // serialises start and stop
  std::unique_ptr<httplib::Server> server;  // guarded by mu
  std::thread listener;                     // guarded by mu
  std::shared_ptr<ConnectionThreadsState> connections;  // guarded by mu
  std::atomic<int> port{0};
};

RunningServer& running() {
  static auto* r = new RunningServer;  // never destroyed: its threads may outlive main()
  return *r;
}

// Binds `host`:`port` (0: any free port). Returns the port, or 0 after saying why.
int bind_port(httplib::Server& server, const std::string& host, int port) {
  errno = 0;
  int bound = port == 0 ? server.bind_to_any_port(host)
                        : (server.bind_to_port(host, port) ? port : -1);
  if (bound > 0) return bound;
  std::string why = errno != 0 ? std::strerror(errno) : "the address cannot be bound";
  say("gmr: admin endpoint: cannot listen on " + host + ":" + std::to_string(port) + ": " + why);
  return 0;
}

// Starts listening on the thread of the endpoint and returns once its task queue
// exists, so that stop() can never come before listen (httplib would miss it).
bool start_listening(RunningServer& r) {
  auto ready = std::make_shared<std::promise<void>>();
  std::future<void> started = ready->get_future();
  auto once = std::make_shared<std::once_flag>();
  auto signal_ready = [ready, once] { std::call_once(*once, [&] { ready->set_value(); }); };
  r.connections = std::make_shared<ConnectionThreadsState>();
  r.server->new_task_queue = [signal_ready, connections = r.connections] {
    auto* queue = new ConnectionThreads(connections);
    signal_ready();
    return queue;
  };
  httplib::Server* server = r.server.get();
  r.listener = gmr::start_gmr_thread([server, signal_ready] {
    ::pthread_setname_np(::pthread_self(), "gmr-admin");
    if (!server->listen_after_bind()) say("gmr: admin endpoint: stopped listening on an error");
    signal_ready();  // if listening failed before the pool was made
  });
  started.wait();
  return server->is_running();
}

void stop_locked(RunningServer& r) {
  if (r.server) r.server->stop();
  if (r.listener.joinable()) r.listener.join();  // after the requests in progress (kStopWait)
  bool abandoned = false;
  if (r.connections) {
    std::lock_guard<std::mutex> lock(r.connections->mu);
    abandoned = r.connections->running > 0;
  }
  // Connections abandoned by a stop that would not wait for them still use the
  // server: it is kept for them, never freed (only after a misbehaving client).
  if (abandoned) {
    static auto* kept = new std::vector<std::unique_ptr<httplib::Server>>;
    kept->push_back(std::move(r.server));
  } else {
    r.server.reset();
  }
  r.connections.reset();
  r.port = 0;
}

// Starts the endpoint as [oslo_reports] says. Returns false after saying why.
bool start_admin(Config& config) {
  const std::string host = config.get_string("oslo_reports", "http_host");
  const int port = static_cast<int>(config.get_int("oslo_reports", "http_port"));
  const bool has_token = !config.get_string("oslo_reports", "http_token").empty();
  if (!is_loopback(host) && !has_token) {
    say("gmr: admin endpoint: refusing to listen on '" + host +
        "' without a token: set [oslo_reports] http_token, or http_host to a loopback "
        "address (127.0.0.1, ::1, localhost)");
    return false;
  }

  RunningServer& r = running();
  std::lock_guard<std::mutex> lock(r.mu);
  if (r.server) return true;  // already running
  r.server = std::make_unique<httplib::Server>();
  configure(*r.server);
  const int bound = bind_port(*r.server, host, port);
  if (bound == 0 || !start_listening(r)) {
    stop_locked(r);
    return false;
  }
  r.port = bound;
  say("gmr: admin endpoint at " + url_of(host, bound));
  return true;
}

}  // namespace

bool setup_autorun_with_admin(const Version& version, const SetupOptions& options) {
  if (!setup_autorun(version, options)) return false;
  try {
    Config& config = active_config();
    if (!config.get_bool("oslo_reports", "http_enabled")) return true;
    if (!start_admin(config)) return false;
    on_shutdown(stop_admin);
    return true;
  } catch (const std::exception& e) {
    say(std::string("gmr: admin endpoint: cannot start: ") + e.what());
    return false;
  }
}

int admin_port() { return running().port; }

void stop_admin() {
  RunningServer& r = running();
  std::lock_guard<std::mutex> lock(r.mu);
  stop_locked(r);
}

}  // namespace gmr
