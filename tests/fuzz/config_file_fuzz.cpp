// Fuzzes the configuration file parser: gmr::Config::load_files on the input as a
// file (a memfd, so nothing is written to disk), then every getter and describe().
//
// Invariants: every error and warning starts with "FILE:"; a load with errors
// changes nothing; a secret option's value is never shown by describe().
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "gmr/config.hpp"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

void register_all(gmr::Config& config) {
  for (const char* group : {"DEFAULT", "g", "database"}) {
    config.register_opts(group, {
        gmr::Opt::string("s", "default", "a string"),
        gmr::Opt::integer("i", 4, "an integer").with_min(-5).with_max(1000),
        gmr::Opt::floating("f", 0.5, "a float").with_min(0).with_max(1),
        gmr::Opt::boolean("b", false, "a boolean"),
        gmr::Opt::list("l", "a, b", "a list"),
        gmr::Opt::string("password", nullptr, "a secret").as_secret(),
        gmr::Opt::integer("secret_number", 7, "a secret integer").as_secret(),
    });
  }
  gmr::register_report_opts(config);
}

void read_everything(const gmr::Config& config) {
  for (const char* group : {"DEFAULT", "g", "database"}) {
    for (const char* name : {"s", "i", "f", "b", "l", "password", "secret_number"}) {
      (void)config.get(group, name);
      (void)config.get_string(group, name);
      (void)config.get_list(group, name);
      try {  // another type converts through its text, or throws invalid_argument
        (void)config.get_bool(group, name);
      } catch (const std::invalid_argument&) {
      }
      try {
        (void)config.get_int(group, name);
      } catch (const std::invalid_argument&) {
      }
      try {
        (void)config.get_float(group, name);
      } catch (const std::invalid_argument&) {
      }
    }
  }
  (void)config.get_string("oslo_reports", "log_dir");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int fd = memfd_create("gmr-fuzz.conf", MFD_CLOEXEC);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0) std::abort();
  if (ftruncate(fd, 0) != 0) std::abort();
  if (size > 0 && pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) std::abort();

  gmr::Config config;
  register_all(config);
  const gmr::Value before = config.describe();
  gmr::LoadResult result = config.load_files({path});
  for (const std::string& e : result.errors) check(e.rfind(path + ":", 0) == 0, "error prefix");
  for (const std::string& w : result.warnings) check(w.rfind(path + ":", 0) == 0, "warning prefix");
  const gmr::Value after = config.describe();
  if (!result.ok()) check(after == before, "a load with errors changes nothing");

  for (const gmr::Value& group : after.find("groups")->as_list()) {
    for (const gmr::Value& opt : group.find("options")->as_list()) {
      if (!opt.find("secret")->as_bool()) continue;
      const gmr::Value* value = opt.find("value");
      check(value->is_null() || (value->is_string() && value->as_string() == "***"),
            "describe() masks secrets");
    }
  }
  read_everything(config);
  (void)config.redact_command_line(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
