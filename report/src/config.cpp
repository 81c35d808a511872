// The configuration object: option registry, INI reader, command line, describe().
//
// The command line goes through Boost.ProgramOptions. The INI files do not: its
// config-file parser reports no line numbers and rejects `;` comments, `key: value`
// and continuation lines (see docs/config-parser.md), so IniReader below follows
// oslo.config's iniparser instead.

#include "gmr/config.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

namespace gmr {
namespace po = boost::program_options;

namespace {

constexpr char kDefaultGroup[] = "DEFAULT";
constexpr char kDefaultSource[] = "default";
constexpr char kCommandLine[] = "command line";
constexpr char kSecretMask[] = "***";

// ---------------------------------------------------------------------------
// Text helpers

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view trim(std::string_view s) { return trim_left(trim_right(s)); }

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string errno_text(int err) { return std::generic_category().message(err); }

const char* type_name(OptType type) {
  switch (type) {
    case OptType::String: return "string";
    case OptType::Integer: return "integer";
    case OptType::Float: return "float";
    case OptType::Boolean: return "boolean";
    case OptType::List: return "list";
  }
  return "string";
}

bool is_numeric(OptType type) { return type == OptType::Integer || type == OptType::Float; }

// "[group] name", as messages name an option.
std::string opt_label(const std::string& group, const std::string& name) {
  return "[" + group + "] " + name;
}

// ---------------------------------------------------------------------------
// Typed values from their text form. Each parser returns the value, or nullopt
// with *error saying what is wrong. `shown` is how the text may appear in that
// message: a secret option's text is never echoed, not even when it is invalid.

std::optional<Value> parse_integer(std::string_view text, const std::string& shown,
                                   std::string* error) {
  text = trim(text);
  // from_chars takes "-" but not "+"; oslo.config (Python's int()) takes both.
  if (text.size() > 1 && text[0] == '+' && text[1] != '-') text.remove_prefix(1);
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc::result_out_of_range) {
    *error = shown + " is out of range";
    return std::nullopt;
  }
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    *error = shown + " is not an integer";
    return std::nullopt;
  }
  return Value(v);
}

std::optional<Value> parse_float(std::string_view text, const std::string& shown,
                                 std::string* error) {
  text = trim(text);
  if (text.size() > 1 && text[0] == '+' && text[1] != '-') text.remove_prefix(1);
  // from_chars, unlike strtod, ignores the locale's decimal point and hex floats.
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    *error = shown + " is not a number";
    return std::nullopt;
  }
  if (!std::isfinite(v)) {
    *error = shown + " is not a finite number";
    return std::nullopt;
  }
  return Value(v);
}

std::optional<Value> parse_boolean(std::string_view text, const std::string& shown,
                                   std::string* error) {
  const std::string t = to_lower(trim(text));
  if (t == "true" || t == "yes" || t == "on" || t == "1") return Value(true);
  if (t == "false" || t == "no" || t == "off" || t == "0") return Value(false);
  *error = shown + " is not a boolean (use true/false, yes/no, on/off or 1/0)";
  return std::nullopt;
}

// Items are separated by commas or new lines (a continued INI value); blanks drop.
Value parse_list(std::string_view text) {
  Value::List items;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find_first_of(",\n", start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = trim(text.substr(start, end - start));
    if (!item.empty()) items.emplace_back(std::string(item));
    start = end + 1;
  }
  return Value(std::move(items));
}

// Formats a min/max bound the way the option's values are written.
std::string bound_text(OptType type, double bound) {
  if (type == OptType::Integer && std::floor(bound) == bound && std::fabs(bound) < 1e18)
    return std::to_string(static_cast<long long>(bound));
  return Value(bound).scalar_text();
}

// Checks a numeric value against the option's min and max.
bool check_bounds(const Opt& opt, const Value& v, const std::string& shown, std::string* error) {
  const double d = v.is_int() ? static_cast<double>(v.as_int()) : v.as_double();
  if (opt.min && d < *opt.min) {
    *error = shown + " is below the minimum " + bound_text(opt.type, *opt.min);
    return false;
  }
  if (opt.max && d > *opt.max) {
    *error = shown + " is above the maximum " + bound_text(opt.type, *opt.max);
    return false;
  }
  return true;
}

// Converts `text` to the option's type and checks its bounds.
std::optional<Value> parse_for_opt(const Opt& opt, std::string_view text, std::string* error) {
  const std::string shown = opt.secret ? "the (secret) value" : "'" + std::string(text) + "'";
  std::optional<Value> v;
  switch (opt.type) {
    case OptType::String: return Value(std::string(text));
    case OptType::List: return parse_list(text);
    case OptType::Boolean: return parse_boolean(text, shown, error);
    case OptType::Integer: v = parse_integer(text, shown, error); break;
    case OptType::Float: v = parse_float(text, shown, error); break;
  }
  if (v && !check_bounds(opt, *v, shown, error)) return std::nullopt;
  return v;
}

// The text form of a value, as get_string() returns it and the parsers read it back.
std::string text_form(const Value& v) {
  if (v.is_null()) return "";
  if (v.is_bool()) return v.as_bool() ? "true" : "false";
  if (v.is_list()) {
    std::string out;
    for (const Value& item : v.as_list()) {
      if (!out.empty()) out += ", ";
      out += text_form(item);
    }
    return out;
  }
  return v.scalar_text();
}

// Reads a value of another type as `type` through its text form, as the typed
// getters do; throws std::invalid_argument when that text does not parse.
Value parse_text_as(OptType type, const Value& v) {
  std::string error;
  Opt as;
  as.type = type;
  std::optional<Value> parsed = parse_for_opt(as, text_form(v), &error);
  if (!parsed) throw std::invalid_argument(error);
  return *parsed;
}

// ---------------------------------------------------------------------------
// Registration checks

bool valid_name(const std::string& name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// Returns the default in the option's own type (an Integer default of 4.0 or "4"
// is 4, a Float default of 1 is 1.0, a List default "a, b" is a list), or nullopt
// with *error when the option could never hold it.
std::optional<Value> coerce_default(const Opt& opt, std::string* error) {
  const Value& d = opt.default_value;
  // Text is read as a file's value would be (parse_for_opt also checks min/max).
  if (d.is_string() && opt.type != OptType::String) return parse_for_opt(opt, d.as_string(), error);
  switch (opt.type) {
    case OptType::String:
      if (d.is_string()) return d;
      break;
    case OptType::Boolean:
      if (d.is_bool()) return d;
      break;
    case OptType::Integer:
      if (d.is_int()) return d;
      if (d.is_double() && std::floor(d.as_double()) == d.as_double() &&
          std::fabs(d.as_double()) < 9e18) {
        return Value(static_cast<std::int64_t>(d.as_double()));
      }
      break;
    case OptType::Float:
      if (d.is_double()) return d;
      if (d.is_int()) return Value(static_cast<double>(d.as_int()));
      break;
    case OptType::List:
      if (d.is_list() && std::all_of(d.as_list().begin(), d.as_list().end(),
                                     [](const Value& item) { return item.is_string(); })) {
        return d;
      }
      break;
  }
  *error = "wrong type for a " + std::string(type_name(opt.type)) + " option";
  return std::nullopt;
}

// Returns the option's default in its own type; throws std::invalid_argument for a
// default it could never hold, or one outside its min/max.
Value normalized_default(const std::string& group, const Opt& opt) {
  if (opt.default_value.is_null()) return opt.default_value;
  const std::string where = "default of " + opt_label(group, opt.name) + ": ";
  std::string error;
  std::optional<Value> v = coerce_default(opt, &error);
  if (!v) throw std::invalid_argument(where + error);
  if (is_numeric(opt.type) && !check_bounds(opt, *v, text_form(*v), &error))
    throw std::invalid_argument(where + error);
  return *v;
}

// Checks `opt` and returns it with its default normalized; throws std::invalid_argument.
Opt checked_opt(const std::string& group, Opt opt) {
  if (!valid_name(group)) throw std::invalid_argument("invalid group name '" + group + "'");
  if (!valid_name(opt.name))
    throw std::invalid_argument("invalid option name '" + opt.name + "' in [" + group + "]");
  // These two belong to the command line itself.
  if (group == kDefaultGroup && (opt.name == "help" || opt.name == "config-file"))
    throw std::invalid_argument("option name '" + opt.name + "' is reserved");
  if ((opt.min || opt.max) && !is_numeric(opt.type))
    throw std::invalid_argument(opt_label(group, opt.name) + ": min/max need a number type");
  if (opt.min && opt.max && *opt.min > *opt.max)
    throw std::invalid_argument(opt_label(group, opt.name) + ": min is above max");
  opt.default_value = normalized_default(group, opt);
  return opt;
}

bool same_definition(const Opt& a, const Opt& b) {
  return a.name == b.name && a.type == b.type && a.default_value == b.default_value &&
         a.help == b.help && a.secret == b.secret && a.min == b.min && a.max == b.max;
}

// ---------------------------------------------------------------------------
// The registry

struct Entry {
  Opt opt;
  std::optional<Value> value;  // unset: the default applies
  std::string source = kDefaultSource;

  const Value& current() const { return value ? *value : opt.default_value; }
};

// std::map keeps groups and options sorted by name, as describe() lists them.
using Registry = std::map<std::string, std::map<std::string, Entry>>;

const Entry* find_entry(const Registry& registry, const std::string& group,
                        const std::string& name) {
  auto g = registry.find(group);
  if (g == registry.end()) return nullptr;
  auto o = g->second.find(name);
  return o == g->second.end() ? nullptr : &o->second;
}

// ---------------------------------------------------------------------------
// The INI reader (oslo.config's iniparser, with comments also allowed indented)

// One "name = value" found in a file or on the command line. `where` is both the
// prefix of its messages and its source: "FILE:LINE" or "command line".
struct Assignment {
  std::string group;
  std::string name;
  std::string text;
  std::string where;
};

class IniReader {
 public:
  explicit IniReader(std::string path) : path_(std::move(path)) {}

  // Parses a whole file's text into assignments (in file order) and errors.
  void parse(std::string_view text, std::vector<Assignment>* assignments,
             std::vector<std::string>* errors) {
    assignments_ = assignments;
    errors_ = errors;
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a UTF-8 BOM
    while (!text.empty()) {
      std::size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
      ++lineno_;
      handle_line(trim_right(line));  // also drops a CRLF file's '\r'
    }
    flush();
  }

 private:
  void handle_line(std::string_view line) {
    if (line.empty()) {  // a blank line ends a multi-line value
      flush();
      return;
    }
    const std::string_view content = trim_left(line);
    if (content.front() == '#' || content.front() == ';') {
      flush();
      return;
    }
    if (content.size() != line.size()) {  // indented: continues the value above
      continue_value(content);
      return;
    }
    flush();
    if (line.front() == '[') {
      section_header(line);
    } else {
      key_value(line);
    }
  }

  void continue_value(std::string_view content) {
    if (!pending_) {
      error("unexpected indented line (continuation lines must follow an option)");
      return;
    }
    pending_->text += "\n";
    pending_->text += content;
  }

  void section_header(std::string_view line) {
    section_.reset();
    seen_header_ = true;
    if (line.back() != ']') {
      error("unterminated section header '" + std::string(line) + "'");
      return;
    }
    std::string_view name = trim(line.substr(1, line.size() - 2));
    if (name.empty()) {
      error("empty section name");
      return;
    }
    section_ = std::string(name);
  }

  void key_value(std::string_view line) {
    // The value is not echoed in these messages: it may be a secret.
    const std::size_t sep = line.find_first_of("=:");
    if (sep == std::string_view::npos) {
      error("expected 'name = value' or 'name: value'");
      return;
    }
    const std::string name(trim(line.substr(0, sep)));
    if (name.empty()) {
      error("missing option name before '" + std::string(1, line[sep]) + "'");
      return;
    }
    if (!section_) {
      // After a broken header its error already covers the lines below it.
      if (!seen_header_) error("option '" + name + "' comes before any [section] header");
      skip_continuation_ = true;
      return;
    }
    std::string_view value = trim(line.substr(sep + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    pending_ = Assignment{*section_, name, std::string(value), location()};
  }

  // Ends the pending assignment, if any: it has all its continuation lines now.
  void flush() {
    if (pending_) assignments_->push_back(std::move(*pending_));
    pending_.reset();
    skip_continuation_ = false;
  }

  void error(const std::string& what) {
    // A rejected option's own continuation lines are not separate errors.
    if (skip_continuation_) return;
    errors_->push_back(location() + ": " + what);
  }

  std::string location() const { return path_ + ":" + std::to_string(lineno_); }

  std::string path_;
  int lineno_ = 0;
  std::optional<std::string> section_;  // unset before the first header or after a bad one
  bool seen_header_ = false;
  std::optional<Assignment> pending_;
  bool skip_continuation_ = false;
  std::vector<Assignment>* assignments_ = nullptr;
  std::vector<std::string>* errors_ = nullptr;
};

// Reads a whole file, or returns nullopt with *error = "FILE: cannot read: reason".
std::optional<std::string> read_whole_file(const std::string& path, std::string* error) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    *error = path + ": cannot read: " + errno_text(errno);
    return std::nullopt;
  }
  std::string content;
  char buf[8192];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) content.append(buf, n);
  const int read_errno = std::ferror(f) ? errno : 0;  // e.g. EISDIR for a directory
  std::fclose(f);
  if (read_errno != 0) {
    *error = path + ": cannot read: " + errno_text(read_errno);
    return std::nullopt;
  }
  return content;
}

// ---------------------------------------------------------------------------
// The command line

struct CommandLine {
  std::vector<std::string> files;         // --config-file, in order
  std::vector<Assignment> assignments;    // --GROUP.OPTION VALUE, in order
};

// "--group.name", or "--name" in DEFAULT.
std::string cli_key(const std::string& group, const std::string& name) {
  return group == kDefaultGroup ? name : group + "." + name;
}

std::string default_text(const Opt& opt) {
  const Value& d = opt.default_value;
  if (d.is_null()) return "None";
  if (opt.secret) return kSecretMask;
  if (d.is_string() && d.as_string().empty()) return "''";
  return text_form(d);
}

// The option's --help line: "(integer, default 1, min 1) How many ...".
std::string help_line(const Opt& opt) {
  std::string s = "(" + std::string(type_name(opt.type)) + ", default " + default_text(opt);
  if (opt.min) s += ", min " + bound_text(opt.type, *opt.min);
  if (opt.max) s += ", max " + bound_text(opt.type, *opt.max);
  if (opt.secret) s += ", secret";
  return s + ") " + opt.help;
}

const char* value_name(OptType type) {
  switch (type) {
    case OptType::String: return "STRING";
    case OptType::Integer: return "INT";
    case OptType::Float: return "FLOAT";
    case OptType::Boolean: return "BOOL";
    case OptType::List: return "LIST";
  }
  return "VALUE";
}

// Boost's descriptions of every option: they drive the parser and print --help.
struct CliOptions {
  po::options_description general{"General options"};
  std::vector<po::options_description> groups;
  po::options_description all;
  std::map<std::string, std::pair<std::string, std::string>> keys;  // key -> group, name
};

void describe_cli(const Registry& registry, CliOptions* cli) {
  cli->general.add_options()
      ("config-file", po::value<std::string>()->value_name("FILE"),
       "INI file to read; repeat it for more (later files win)")
      ("help", "Show this help and exit");
  cli->all.add(cli->general);
  for (const auto& [group, opts] : registry) {
    po::options_description desc("[" + group + "] options");
    for (const auto& [name, entry] : opts) {
      const Opt& opt = entry.opt;
      auto* semantic = po::value<std::string>()->value_name(value_name(opt.type));
      // A bare "--debug" means true; "--debug false" still works (Boost takes the
      // next token when it is not an option).
      if (opt.type == OptType::Boolean) semantic->implicit_value("true");
      const std::string key = cli_key(group, name);
      desc.add_options()(key.c_str(), semantic, help_line(opt).c_str());
      cli->keys[key] = {group, name};
    }
    cli->all.add(desc);
    cli->groups.push_back(std::move(desc));
  }
}

std::string help_text(const std::string& program, const CliOptions& cli) {
  std::ostringstream out;
  out << "Usage: " << program << " [--config-file FILE]... [--GROUP.OPTION VALUE]...\n"
      << "Options of the DEFAULT group are written --OPTION.\n\n"
      << cli.general;
  for (const po::options_description& group : cli.groups) out << "\n" << group;
  return out.str();
}

// Splits the command line into config files and assignments. Returns false (with
// an error in *result) when Boost cannot parse it.
bool parse_command_line(int argc, const char* const* argv, const Registry& registry,
                        CommandLine* cl, LoadResult* result) {
  CliOptions cli;
  describe_cli(registry, &cli);
  std::vector<std::string> args;
  for (int i = 1; argv != nullptr && i < argc; ++i) args.emplace_back(argv[i]);
  po::parsed_options parsed(nullptr);
  try {
    // Long options only, and no guessing from prefixes: "--oslo_reports.http"
    // must not quietly mean one of several http_* options.
    namespace style = po::command_line_style;
    parsed = po::command_line_parser(args)
                 .options(cli.all)
                 .style(style::allow_long | style::long_allow_adjacent |
                        style::long_allow_next)
                 .allow_unregistered()
                 .run();
  } catch (const std::exception& e) {  // po::error: a missing value, "--x=" ...
    result->errors.push_back(std::string(kCommandLine) + ": " + e.what());
    return false;
  }
  for (const po::option& o : parsed.options) {
    const std::string value = o.value.empty() ? "" : o.value.front();
    if (o.position_key >= 0) {
      result->warnings.push_back(std::string(kCommandLine) + ": unexpected argument '" +
                                 value + "', ignored");
    } else if (o.unregistered) {
      result->warnings.push_back(std::string(kCommandLine) + ": unknown option --" +
                                 o.string_key + ", ignored");
    } else if (o.string_key == "help") {
      result->help_requested = true;
    } else if (o.string_key == "config-file") {
      cl->files.push_back(value);
    } else {
      const auto& [group, name] = cli.keys.at(o.string_key);
      // An implicit value (a bare boolean flag) is not in o.value.
      const std::string text = o.value.empty() ? "true" : value;
      cl->assignments.push_back({group, name, text, kCommandLine});
    }
  }
  if (result->help_requested) {
    const std::string program = argc > 0 && argv != nullptr && argv[0] ? argv[0] : "program";
    result->help = help_text(program, cli);
  }
  return true;
}

// ---------------------------------------------------------------------------
// A load: collects new values aside, so that a load with errors changes nothing.

class Loader {
 public:
  Loader(const Registry& registry, LoadResult* result) : registry_(registry), result_(result) {}

  void read_file(const std::string& path) {
    std::string error;
    std::optional<std::string> content = read_whole_file(path, &error);
    if (!content) {
      result_->errors.push_back(error);
      return;
    }
    std::vector<Assignment> assignments;
    IniReader(path).parse(*content, &assignments, &result_->errors);
    for (const Assignment& a : assignments) apply(a);
  }

  // Later assignments replace earlier ones: later files, then the command line.
  void apply(const Assignment& a) {
    const Entry* entry = find_entry(registry_, a.group, a.name);
    if (entry == nullptr) {
      result_->warnings.push_back(a.where + ": unknown option " + opt_label(a.group, a.name) +
                                  ", ignored");
      return;
    }
    std::string error;
    std::optional<Value> v = parse_for_opt(entry->opt, a.text, &error);
    if (!v) {
      result_->errors.push_back(a.where + ": invalid value for " +
                                opt_label(a.group, a.name) + ": " + error);
      return;
    }
    settings_[{a.group, a.name}] = {std::move(*v), a.where};
  }

  // Replaces every option's value: what this load set, or the default.
  void commit(Registry* registry) {
    for (auto& [group, opts] : *registry) {
      for (auto& [name, entry] : opts) {
        auto it = settings_.find({group, name});
        if (it == settings_.end()) {
          entry.value.reset();
          entry.source = kDefaultSource;
        } else {
          entry.value = std::move(it->second.first);
          entry.source = std::move(it->second.second);
        }
      }
    }
  }

 private:
  const Registry& registry_;
  LoadResult* result_;
  std::map<std::pair<std::string, std::string>, std::pair<Value, std::string>> settings_;
};

// ---------------------------------------------------------------------------
// describe()

Value masked(const Opt& opt, const Value& v) {
  return opt.secret && !v.is_null() ? Value(kSecretMask) : v;
}

Value describe_entry(const std::string& name, const Entry& entry) {
  const Opt& opt = entry.opt;
  return Value::map({{"name", name},
                     {"type", type_name(opt.type)},
                     {"default", masked(opt, opt.default_value)},
                     {"value", masked(opt, entry.current())},
                     {"help", opt.help},
                     {"secret", opt.secret},
                     {"source", entry.source}});
}

}  // namespace

// ---------------------------------------------------------------------------
// Opt

namespace {
Opt make_opt(std::string name, OptType type, Value default_value, std::string help) {
  Opt opt;
  opt.name = std::move(name);
  opt.type = type;
  opt.default_value = std::move(default_value);
  opt.help = std::move(help);
  return opt;
}
}  // namespace

Opt Opt::string(std::string name, Value default_value, std::string help) {
  return make_opt(std::move(name), OptType::String, std::move(default_value), std::move(help));
}

Opt Opt::integer(std::string name, Value default_value, std::string help) {
  return make_opt(std::move(name), OptType::Integer, std::move(default_value), std::move(help));
}

Opt Opt::floating(std::string name, Value default_value, std::string help) {
  return make_opt(std::move(name), OptType::Float, std::move(default_value), std::move(help));
}

Opt Opt::boolean(std::string name, Value default_value, std::string help) {
  return make_opt(std::move(name), OptType::Boolean, std::move(default_value), std::move(help));
}

Opt Opt::list(std::string name, Value default_value, std::string help) {
  return make_opt(std::move(name), OptType::List, std::move(default_value), std::move(help));
}

Opt Opt::as_secret() const {
  Opt o = *this;
  o.secret = true;
  return o;
}

Opt Opt::with_min(double v) const {
  Opt o = *this;
  o.min = v;
  return o;
}

Opt Opt::with_max(double v) const {
  Opt o = *this;
  o.max = v;
  return o;
}

// ---------------------------------------------------------------------------
// Config

struct Config::Impl {
  mutable std::mutex mu;
  Registry registry;

  // Throws std::out_of_range for an option that is not registered.
  const Entry& entry(const std::string& group, const std::string& name) const {
    const Entry* e = find_entry(registry, group, name);
    if (e == nullptr) throw std::out_of_range("no option " + opt_label(group, name));
    return *e;
  }
};

Config::Config() : impl_(std::make_unique<Impl>()) {}
Config::~Config() = default;

void Config::register_opt(const std::string& group, Opt opt) {
  register_opts(group, {std::move(opt)});
}

void Config::register_opts(const std::string& group, const std::vector<Opt>& opts) {
  // Check everything first, so that a conflict registers none of `opts`.
  std::vector<Opt> checked;
  for (const Opt& opt : opts) checked.push_back(checked_opt(group, opt));
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& group_opts = impl_->registry[group];
  std::map<std::string, const Opt*> batch;
  for (const Opt& opt : checked) {
    const Opt* existing = nullptr;
    if (auto it = group_opts.find(opt.name); it != group_opts.end()) existing = &it->second.opt;
    if (auto it = batch.find(opt.name); it != batch.end()) existing = it->second;
    if (existing != nullptr && !same_definition(*existing, opt)) {
      if (group_opts.empty()) impl_->registry.erase(group);
      throw std::invalid_argument("option " + opt_label(group, opt.name) +
                                  " is already registered with a different definition");
    }
    batch[opt.name] = &opt;
  }
  for (const Opt& opt : checked) {
    if (group_opts.count(opt.name) == 0) group_opts[opt.name].opt = opt;
  }
}

LoadResult Config::load(int argc, const char* const* argv) {
  LoadResult result;
  try {
    // The lock is held while the files are read: they are small, and readers then
    // never see half a load.
    std::lock_guard<std::mutex> lock(impl_->mu);
    CommandLine cl;
    if (!parse_command_line(argc, argv, impl_->registry, &cl, &result)) return result;
    Loader loader(impl_->registry, &result);
    for (const std::string& file : cl.files) loader.read_file(file);
    // After every file, whatever their order on the command line: it wins.
    for (const Assignment& a : cl.assignments) loader.apply(a);
    if (result.ok()) loader.commit(&impl_->registry);
  } catch (const std::exception& e) {
    result.errors.push_back(std::string("cannot load the configuration: ") + e.what());
  } catch (...) {
    result.errors.push_back("cannot load the configuration: unknown exception");
  }
  return result;
}

LoadResult Config::load_files(const std::vector<std::string>& files) {
  LoadResult result;
  try {
    std::lock_guard<std::mutex> lock(impl_->mu);
    Loader loader(impl_->registry, &result);
    for (const std::string& file : files) loader.read_file(file);
    if (result.ok()) loader.commit(&impl_->registry);
  } catch (const std::exception& e) {
    result.errors.push_back(std::string("cannot load the configuration: ") + e.what());
  } catch (...) {
    result.errors.push_back("cannot load the configuration: unknown exception");
  }
  return result;
}

std::string Config::set_override(const std::string& group, const std::string& name,
                                 const std::string& text) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto g = impl_->registry.find(group);
  if (g == impl_->registry.end() || g->second.count(name) == 0)
    return "unknown option " + opt_label(group, name);
  Entry& entry = g->second.at(name);
  std::string error;
  std::optional<Value> v = parse_for_opt(entry.opt, text, &error);
  if (!v) return "invalid value for " + opt_label(group, name) + ": " + error;
  entry.value = std::move(*v);
  entry.source = kCommandLine;
  return "";
}

Value Config::get(const std::string& group, const std::string& name) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->entry(group, name).current();
}

// The typed getters: the matching type directly, null as the type's zero, and any
// other type through its text form (std::invalid_argument when that does not parse).

std::string Config::get_string(const std::string& group, const std::string& name) const {
  return text_form(get(group, name));
}

std::int64_t Config::get_int(const std::string& group, const std::string& name) const {
  const Value v = get(group, name);
  if (v.is_null()) return 0;
  if (v.is_int()) return v.as_int();
  // A whole float converts; 1.5 throws rather than silently truncating.
  if (v.is_double() && std::floor(v.as_double()) == v.as_double() &&
      std::fabs(v.as_double()) < 9e18) {
    return static_cast<std::int64_t>(v.as_double());
  }
  return parse_text_as(OptType::Integer, v).as_int();
}

double Config::get_float(const std::string& group, const std::string& name) const {
  const Value v = get(group, name);
  if (v.is_null()) return 0.0;
  if (v.is_double()) return v.as_double();
  if (v.is_int()) return static_cast<double>(v.as_int());
  return parse_text_as(OptType::Float, v).as_double();
}

bool Config::get_bool(const std::string& group, const std::string& name) const {
  const Value v = get(group, name);
  if (v.is_null()) return false;
  if (v.is_bool()) return v.as_bool();
  return parse_text_as(OptType::Boolean, v).as_bool();
}

std::vector<std::string> Config::get_list(const std::string& group,
                                          const std::string& name) const {
  const Value v = get(group, name);
  std::vector<std::string> items;
  const Value list = v.is_list() ? v : parse_list(text_form(v));
  for (const Value& item : list.as_list()) items.push_back(text_form(item));
  return items;
}

bool Config::has_opt(const std::string& group, const std::string& name) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return find_entry(impl_->registry, group, name) != nullptr;
}

std::string Config::redact_command_line(const std::string& command_line) const {
  std::set<std::string> secret_flags;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (const auto& [group, opts] : impl_->registry) {
      for (const auto& [name, entry] : opts) {
        if (entry.opt.secret) secret_flags.insert("--" + cli_key(group, name));
      }
    }
  }
  std::string out;
  bool mask_next = false;
  size_t pos = 0;
  while (pos <= command_line.size()) {
    size_t end = command_line.find(' ', pos);
    if (end == std::string::npos) end = command_line.size();
    std::string word = command_line.substr(pos, end - pos);
    if (mask_next) {
      word = "***";
      mask_next = false;
    } else if (size_t eq = word.find('='); eq != std::string::npos) {
      if (secret_flags.count(word.substr(0, eq))) word = word.substr(0, eq + 1) + "***";
    } else if (secret_flags.count(word)) {
      mask_next = true;  // --group.secret VALUE
    }
    if (pos > 0) out += ' ';
    out += word;
    pos = end + 1;
  }
  return out;
}

Value Config::describe() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Value groups = Value::list();
  for (const auto& [group, opts] : impl_->registry) {
    Value options = Value::list();
    for (const auto& [name, entry] : opts) options.push_back(describe_entry(name, entry));
    groups.push_back(Value::map({{"name", group}, {"options", std::move(options)}}));
  }
  return Value::map({{"groups", std::move(groups)}});
}

// ---------------------------------------------------------------------------

Config& conf() {
  // Never destroyed: threads and exit handlers may still read it while the
  // process exits, after static destructors have run.
  static Config* const instance = [] {
    auto* c = new Config;
    register_report_opts(*c);
    return c;
  }();
  return *instance;
}

void register_report_opts(Config& config) {
  config.register_opts(
      "oslo_reports",
      {
          Opt::string("log_dir", nullptr, "Path to a log directory where to create a file"),
          Opt::string("file_event_handler", nullptr,
                      "The path to a file to watch for changes to trigger the reports, "
                      "instead of signals. Setting this option disables the signal trigger "
                      "for the reports."),
          Opt::integer("file_event_handler_interval", 1,
                       "How many seconds to wait between polls when file_event_handler is set")
              .with_min(1),
          Opt::boolean("http_enabled", true, "Serve the report over HTTP"),
          Opt::string("http_host", "127.0.0.1", "Address the admin endpoint binds"),
          Opt::integer("http_port", 9911, "Port of the admin endpoint; 0 picks a free port")
              .with_min(0)
              .with_max(65535),
          Opt::string("http_token", nullptr,
                      "Bearer token required by the admin endpoint; empty means none")
              .as_secret(),
          Opt::boolean("group_stacks", false, "Add groups of identical stacks to the text report"),
      });
}

}  // namespace gmr
