#include "symbolizer.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <backtrace.h>  // libbacktrace's API, as Boost.Stacktrace's backend uses it

#include <boost/core/demangle.hpp>
#include <cstdio>
#include <fstream>
#include <mutex>

namespace gmr {
namespace {

constexpr std::size_t kMaxCacheEntries = 1 << 20;
constexpr std::size_t kMaxCachedStacks = 1 << 14;
constexpr std::size_t kMaxSourceBytes = 8 << 20;

std::string hex(std::uintptr_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%zx", static_cast<std::size_t>(v));
  return buf;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

void on_error(void*, const char*, int) {}  // a missing debug file is not an error here

// The process's one libbacktrace state (libbacktrace never frees one).
struct Backtrace {
  std::mutex mu;
  backtrace_state* state = backtrace_create_state(nullptr, /*threaded=*/1, on_error, nullptr);
};

Backtrace& backtrace() {
  static Backtrace* b = new Backtrace;
  return *b;
}

std::string demangle(const char* name) { return boost::core::demangle(name); }

int on_pcinfo(void* data, std::uintptr_t, const char* file, int line, const char* function) {
  auto* chain = static_cast<std::vector<std::pair<std::string, std::pair<std::string, int>>>*>(data);
  chain->push_back({function ? demangle(function) : "", {file ? file : "", line}});
  return 0;  // go on: the enclosing functions of inlined calls follow
}

void on_syminfo(void* data, std::uintptr_t, const char* symbol, std::uintptr_t, std::uintptr_t) {
  if (symbol) *static_cast<std::string*>(data) = demangle(symbol);
}

std::string read_self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

const Symbolizer::Entry& Symbolizer::lookup(std::uintptr_t address) {
  auto it = cache_.find(address);
  if (it != cache_.end()) return it->second;
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();  // a bound, never reached in practice

  Entry e;
  std::vector<std::pair<std::string, std::pair<std::string, int>>> chain;
  std::string symbol;
  {
    Backtrace& bt = backtrace();
    std::lock_guard<std::mutex> lock(bt.mu);
    if (bt.state) {
      backtrace_pcinfo(bt.state, address, on_pcinfo, on_error, &chain);
      // DWARF names functions of internal linkage without their scope or
      // parameters ("yield"); the symbol table has the full mangled name.
      if (chain.empty() || chain.back().first.find('(') == std::string::npos) {
        backtrace_syminfo(bt.state, address, on_syminfo, on_error, &symbol);
      }
    }
  }
  for (auto& [function, where] : chain) {
    Location loc{std::move(function), where.second > 0 ? std::move(where.first) : "", where.second};
    if (loc.function.empty() && loc.file.empty()) continue;
    e.chain.push_back(std::move(loc));
  }
  if (e.chain.empty()) e.chain.push_back(Location{});
  if (!symbol.empty()) e.chain.back().function = symbol;

  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(address), &info) != 0) {
    if (info.dli_fname && info.dli_fname[0] == '/') {
      e.object = info.dli_fname;
    } else {
      // The main executable is listed under its argv[0] (or nothing).
      if (self_exe_.empty()) self_exe_ = read_self_exe();
      e.object = self_exe_;
    }
    e.offset = address - reinterpret_cast<std::uintptr_t>(info.dli_fbase);
    // Exported symbols of libraries without debug information or symbol table.
    if (e.chain.back().function.empty() && info.dli_sname) e.chain.back().function = demangle(info.dli_sname);
  }
  return cache_.emplace(address, std::move(e)).first->second;
}

const std::string* Symbolizer::source_line(const std::string& file, int line) {
  // Relative paths (from DWARF compiled elsewhere) would be read against our own
  // working directory and show the wrong text: only absolute paths are read.
  if (file.empty() || file[0] != '/' || line <= 0) return nullptr;
  auto it = sources_.find(file);
  if (it == sources_.end()) {
    std::unique_ptr<std::vector<std::string>> lines;
    std::ifstream in(file, std::ios::binary);
    if (in) {
      in.seekg(0, std::ios::end);
      auto size = in.tellg();
      in.seekg(0);
      if (size >= 0 && static_cast<std::size_t>(size) <= kMaxSourceBytes) {
        lines = std::make_unique<std::vector<std::string>>();
        std::string l;
        while (std::getline(in, l)) lines->push_back(std::move(l));
      }
    }
    it = sources_.emplace(file, std::move(lines)).first;
  }
  const auto& lines = it->second;
  if (!lines || static_cast<std::size_t>(line) > lines->size()) return nullptr;
  return &(*lines)[static_cast<std::size_t>(line) - 1];
}

const std::vector<Value>& Symbolizer::frames_at(std::uintptr_t pc, bool exact) {
  const std::uintptr_t key = pc * 2 + (exact ? 1 : 0);  // pc * 2 cannot overflow: user space
  auto cached = frames_at_.find(key);
  if (cached != frames_at_.end()) return cached->second;
  if (frames_at_.size() >= kMaxCacheEntries) frames_at_.clear();
  const std::uintptr_t lookup_address = exact || pc == 0 ? pc : pc - 1;
  const Entry& e = lookup(lookup_address);
  std::vector<Value> out;
  for (std::size_t i = 0; i < e.chain.size(); ++i) {
    const Location& loc = e.chain[i];
    Value f = Value::map({{"address", hex(pc)}});
    f.set("function", loc.function.empty() ? Value() : Value(loc.function));
    f.set("file", loc.file.empty() ? Value() : Value(loc.file));
    f.set("line", loc.line > 0 ? Value(loc.line) : Value());
    f.set("object", e.object.empty() ? Value() : Value(e.object));
    f.set("offset", e.object.empty() ? Value() : Value(hex(e.offset)));
    const std::string* src = source_line(loc.file, loc.line);
    f.set("source", src ? Value(trim(*src)) : Value());
    f.set("inlined", i + 1 < e.chain.size());
    out.push_back(Value::shared(std::move(f)));
  }
  return frames_at_.emplace(key, std::move(out)).first->second;
}

Value Symbolizer::frame(std::uintptr_t pc, bool exact) {
  return frames_at(pc, exact).back();  // the function that holds any inlined calls
}

std::size_t Symbolizer::StackHash::operator()(const Stack& s) const {
  std::size_t h = s.first_exact ? 1 : 0;
  for (std::uintptr_t pc : s.pcs) h = (h ^ pc) * 0x100000001b3ULL;  // FNV-1a style
  return h;
}

Value Symbolizer::frames(const std::vector<std::uintptr_t>& pcs, bool first_exact) {
  Stack key{pcs, first_exact && !pcs.empty()};
  auto cached = stacks_.find(key);
  if (cached != stacks_.end()) return cached->second;
  if (stacks_.size() >= kMaxCachedStacks) stacks_.clear();
  Value::List out;
  for (std::size_t i = 0; i < pcs.size(); ++i) {
    for (const Value& f : frames_at(pcs[i], first_exact && i == 0)) out.push_back(f);
  }
  return stacks_.emplace(std::move(key), Value::shared(Value(std::move(out)))).first->second;
}

void Symbolizer::warm_up() {
  lookup(reinterpret_cast<std::uintptr_t>(&read_self_exe));
}

}  // namespace gmr
