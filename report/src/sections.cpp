#include "sections.hpp"

#include <unistd.h>

#include <map>
#include <stdexcept>

#include "internal.hpp"
#include "procfs.hpp"

namespace gmr {

Value collect_package(const Version& version, const std::string& service) {
  return Value::map({
      {"product", version.product},
      {"vendor", version.vendor},
      {"version", version.version},
      {"service", service},
      {"executable", executable_name()},
      {"pid", static_cast<long>(::getpid())},
      {"gmr_version", GMR_VERSION},
      {"compiler", GMR_COMPILER},
      {"build_type", GMR_BUILD_TYPE},
  });
}

namespace {

const char* status_name(CaptureStatus s) {
  switch (s) {
    case CaptureStatus::kOk: return "ok";
    case CaptureStatus::kSelf: return "self";
    case CaptureStatus::kBlocked: return "blocked";
    case CaptureStatus::kNotResponding: return "not_responding";
  }
  return "unknown";
}

}  // namespace

Value collect_threads(ThreadCapture& capture, Symbolizer& symbolizer,
                      std::chrono::milliseconds timeout) {
  CaptureResult result = capture.capture(timeout);
  if (!result.error.empty()) throw std::runtime_error(result.error);
  Value threads = Value::list();
  for (const RawThread& t : result.threads) {
    Value v = Value::map({
        {"id", static_cast<long>(t.tid)},
        {"name", t.name},
        {"state", procfs::state_name(t.state)},
        {"cpu_user_s", t.cpu_user_s},
        {"cpu_system_s", t.cpu_system_s},
        {"status", status_name(t.status)},
    });
    if (!t.status_detail.empty()) v.set("status_detail", t.status_detail);
    v.set("frames", symbolizer.frames(t.pcs, t.status == CaptureStatus::kOk));
    threads.push_back(std::move(v));
  }
  Value groups = group_stacks(threads, {"id", "name"});
  return Value::map({{"capture_signal", capture.signal()},
                     {"capture_signal_name", signal_name(capture.signal())},
                     {"threads", std::move(threads)},
                     {"groups", std::move(groups)}});
}

Value collect_green_threads(Symbolizer& symbolizer) {
  Value threads = Value::list();
  Value sources = Value::list();
  for (const GreenThreadSnapshot& snap : snapshot_green_threads()) {
    Value source = Value::map({{"name", snap.source}, {"count", snap.threads.size()}});
    if (!snap.error.empty()) source.set("error", snap.error);
    sources.push_back(std::move(source));
    for (const GreenThread& g : snap.threads) {
      Value v = Value::map({{"name", g.name}, {"state", g.state}, {"source", snap.source}});
      v.set("frames", symbolizer.frames(g.stack, false));
      if (!g.details.is_null()) v.set("details", g.details);
      threads.push_back(std::move(v));
    }
  }
  Value groups = group_stacks(threads, {"name", "source"});
  return Value::map({{"green_threads", std::move(threads)},
                     {"groups", std::move(groups)},
                     {"sources", std::move(sources)}});
}

namespace {

// Masks the values of secret options argument by argument: a value may hold
// spaces, which the joined command line cannot tell from argument boundaries
// ("--database.password=a b" would show "b"). `config` says which flags are
// secret: it masks "--FLAG=x" or the word after "--FLAG" when FLAG is one.
std::string redacted_command(const Config& config, const std::vector<std::string>& args) {
  std::string out;
  bool mask_next = false;
  for (const std::string& arg : args) {
    std::string shown = arg;
    if (mask_next) {
      shown = "***";
      mask_next = false;
    } else if (arg.rfind("--", 0) == 0) {
      const size_t eq = arg.find('=');
      const std::string flag = arg.substr(0, eq);
      if (eq != std::string::npos) {
        if (config.redact_command_line(flag + "=x") == flag + "=***") shown = flag + "=***";
      } else if (config.redact_command_line(flag + " x") == flag + " ***") {
        mask_next = true;
      }
    }
    if (!out.empty()) out += ' ';
    out += shown;
  }
  return out;
}

Value process_tree(procfs::Process p, const std::multimap<pid_t, procfs::Process>& children,
                   std::map<uid_t, Value>& users, const Config* config, int depth) {
  procfs::read_details(p);
  // A secret given on the command line (--database.password=...) is masked here
  // as it is in the Configuration section.
  if (config) {
    p.command = p.args.empty() ? config->redact_command_line(p.command)
                               : redacted_command(*config, p.args);
  }
  auto user = users.find(p.uid);
  if (user == users.end()) {
    auto name = procfs::user_name(p.uid);
    user = users.emplace(p.uid, name ? Value(*name) : Value()).first;
  }
  Value v = Value::map({
      {"pid", static_cast<long>(p.pid)},
      {"ppid", static_cast<long>(p.ppid)},
      {"uid", static_cast<long>(p.uid)},
      {"user", user->second},
      {"state", procfs::state_name(p.state)},
      {"command", p.command},
  });
  Value kids = Value::list();
  if (depth < 64) {  // a bound against a corrupt or cyclic listing
    auto range = children.equal_range(p.pid);
    for (auto it = range.first; it != range.second; ++it) {
      kids.push_back(process_tree(it->second, children, users, config, depth + 1));
    }
  }
  v.set("children", std::move(kids));
  return v;
}

}  // namespace

Value collect_processes(const Config* config) {
  const pid_t self = ::getpid();
  std::multimap<pid_t, procfs::Process> children;
  procfs::Process me;
  bool found = false;
  for (procfs::Process& p : procfs::list_processes()) {
    if (p.pid == self) {
      me = p;
      found = true;
    } else if (p.pid != p.ppid) {
      children.emplace(p.ppid, p);
    }
  }
  if (!found) throw std::runtime_error("cannot read /proc/self");
  std::map<uid_t, Value> users;
  return Value::map({{"processes", Value::list({process_tree(me, children, users, config, 0)})}});
}

}  // namespace gmr
