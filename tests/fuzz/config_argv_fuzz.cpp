// Fuzzes the command line: gmr::Config::load(argc, argv) with the input split
// into arguments at new lines (so seeds read as one argument per line).
//
// Invariants: every error and warning starts with "command line: " (no file is
// read: inputs naming --config-file are skipped, as the fuzzer could otherwise
// name /dev/zero); a load with errors changes nothing; describe() masks secrets.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "gmr/config.hpp"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  if (input.find("config") != std::string::npos) return -1;  // no files: see above
  std::vector<std::string> args = {"prog"};
  for (size_t start = 0; start <= input.size() && args.size() < 256;) {
    size_t end = input.find('\n', start);
    if (end == std::string::npos) end = input.size();
    args.push_back(input.substr(start, end - start));
    start = end + 1;
  }
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);

  gmr::Config config;
  config.register_opts("DEFAULT", {gmr::Opt::boolean("debug", false, "debug"),
                                   gmr::Opt::string("token", nullptr, "a secret").as_secret()});
  config.register_opts("g", {gmr::Opt::string("s", "x", "a string"),
                             gmr::Opt::integer("i", 1, "an integer").with_min(0).with_max(9),
                             gmr::Opt::floating("f", 1.0, "a float"),
                             gmr::Opt::list("l", nullptr, "a list"),
                             gmr::Opt::string("password", nullptr, "a secret").as_secret()});
  gmr::register_report_opts(config);
  const gmr::Value before = config.describe();
  gmr::LoadResult result = config.load(static_cast<int>(args.size()), argv.data());
  for (const std::string& e : result.errors) {
    check(e.rfind("command line: ", 0) == 0 || e.rfind("cannot load the configuration: ", 0) == 0,
          "error prefix");
  }
  for (const std::string& w : result.warnings) check(w.rfind("command line: ", 0) == 0, "warning prefix");
  const gmr::Value after = config.describe();
  if (!result.ok()) check(after == before, "a load with errors changes nothing");
  if (result.help_requested) check(!result.help.empty(), "--help gives the help");
  for (const gmr::Value& group : after.find("groups")->as_list()) {
    for (const gmr::Value& opt : group.find("options")->as_list()) {
      if (!opt.find("secret")->as_bool()) continue;
      const gmr::Value* value = opt.find("value");
      check(value->is_null() || value->as_string() == "***", "describe() masks secrets");
    }
  }
  std::string joined;
  for (const std::string& a : args) joined += (joined.empty() ? "" : " ") + a;
  (void)config.redact_command_line(joined);
  return 0;
}
