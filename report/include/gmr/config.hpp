// gmr/config.hpp: the service's configuration object (oslo.config's CONF).
//
// Options are registered in groups ("DEFAULT" is the unnamed group), then loaded
// from INI files given with --config-file (repeatable, later files win) and from
// the command line (--GROUP.OPTION=VALUE, or --OPTION for DEFAULT; the command line
// wins over files). describe() gives the Configuration section's data, with secret
// values already replaced by "***".
//
// Thread-safety: every member function of Config is thread-safe (one internal
// mutex); none may be called from a signal handler.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gmr/value.hpp"

namespace gmr {

enum class OptType { String, Integer, Float, Boolean, List };

// One option's definition. The default may also be given as text ("4" for an
// Integer, "a, b" for a List), read as a file's value would be. Build it with the
// helpers below, e.g.
//   gmr::Opt::integer("workers", 4, "Number of worker threads").with_min(1)
//   gmr::Opt::string("password", "", "Database password").as_secret()
struct Opt {
  std::string name;
  OptType type = OptType::String;
  Value default_value;  // null means unset ("None")
  std::string help;
  bool secret = false;
  std::optional<double> min;  // Integer and Float only
  std::optional<double> max;

  static Opt string(std::string name, Value default_value, std::string help);
  static Opt integer(std::string name, Value default_value, std::string help);
  static Opt floating(std::string name, Value default_value, std::string help);
  static Opt boolean(std::string name, Value default_value, std::string help);
  // A list is written "a, b, c" (items separated by commas or new lines).
  static Opt list(std::string name, Value default_value, std::string help);

  Opt as_secret() const;
  Opt with_min(double v) const;
  Opt with_max(double v) const;
};

// What a load found. Errors read "FILE:LINE: what is wrong"; warnings likewise
// (unknown options, unknown command-line arguments).
struct LoadResult {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  bool help_requested = false;  // --help was given
  std::string help;             // the --help text (every option with its help)
  bool ok() const { return errors.empty(); }
};

class Config {
 public:
  Config();
  ~Config();
  Config(const Config&) = delete;
  Config& operator=(const Config&) = delete;

  // Registers an option in `group`. Registering the same definition again is a
  // no-op; a different definition under the same name throws std::invalid_argument,
  // as do a bad name (letters, digits, '_' and '-' only) and a default that does
  // not fit the type or min/max. register_opts registers all of `opts` or none.
  void register_opt(const std::string& group, Opt opt);
  void register_opts(const std::string& group, const std::vector<Opt>& opts);

  // Parses the command line (argv[0] is the program) and then reads every
  // --config-file in order. A load starts from the defaults: values from earlier
  // loads and set_override() are replaced. When there are errors nothing changes.
  // A Boolean option may be given bare ("--debug" means true). Boost does not take
  // an empty value after '=': write --GROUP.OPTION "" instead.
  [[nodiscard]] LoadResult load(int argc, const char* const* argv);
  // Reads the given INI files in order (later files win), without a command line.
  // Same rules as load().
  [[nodiscard]] LoadResult load_files(const std::vector<std::string>& files);

  // Sets an option from its text form, as the command line would. Returns an
  // empty string, or what is wrong.
  [[nodiscard]] std::string set_override(const std::string& group, const std::string& name,
                                         const std::string& text);

  // Returns the current value (the default when nothing set it). Throws
  // std::out_of_range for an option that is not registered.
  // The typed getters return the option's own type directly and an unset (null)
  // value as "", 0, 0.0, false or {}. Another type converts through its text form
  // (get_string gives "true"/"false" for booleans and "a, b" for lists), and
  // throws std::invalid_argument when that text does not parse (get_int of 1.5).
  Value get(const std::string& group, const std::string& name) const;
  std::string get_string(const std::string& group, const std::string& name) const;
  std::int64_t get_int(const std::string& group, const std::string& name) const;
  double get_float(const std::string& group, const std::string& name) const;
  bool get_bool(const std::string& group, const std::string& name) const;
  std::vector<std::string> get_list(const std::string& group, const std::string& name) const;
  bool has_opt(const std::string& group, const std::string& name) const;

  // Returns a command line (arguments joined by spaces) with the values of
  // secret options (--GROUP.NAME=VALUE or --GROUP.NAME VALUE) replaced by "***".
  std::string redact_command_line(const std::string& command_line) const;

  // Returns the Configuration section's data (docs/report-data.md): every
  // registered option by group, secrets as "***".
  Value describe() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Returns the process-wide configuration object (the seeds' CONF), with gmr's
// own [oslo_reports] options already registered. Thread-safe.
Config& conf();

// Registers gmr's [oslo_reports] options (log_dir, file_event_handler,
// file_event_handler_interval, ...) in `config`. Idempotent; thread-safe.
void register_report_opts(Config& config);

}  // namespace gmr
