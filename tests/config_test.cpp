// Tests of gmr::Config: registration, the INI reader, the command line, errors,
// secrets in describe(), and gmr's own [oslo_reports] options.

#include "gmr/config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace gmr {
namespace {

namespace fs = std::filesystem;

// A fresh temporary directory per test, removed afterwards.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "gmr-config-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Writes `content` to a file in the test directory and returns its path.
  std::string write(const std::string& name, const std::string& content) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  // A configuration with one option of each type in [DEFAULT] and [db].
  static void register_sample(Config& c) {
    c.register_opts("DEFAULT", {
        Opt::boolean("debug", false, "Print debug output"),
        Opt::integer("workers", 4, "Number of worker threads").with_min(1).with_max(64),
        Opt::string("name", "demo", "Service name"),
    });
    c.register_opts("db", {
        Opt::string("url", nullptr, "Database URL"),
        Opt::string("password", "changeme", "Database password").as_secret(),
        Opt::floating("timeout", 2.5, "Seconds to wait"),
        Opt::list("hosts", Value::list({"a", "b"}), "Database hosts"),
    });
  }

  // Loads argv (program name first) and returns the result.
  static LoadResult load(Config& c, std::vector<std::string> args) {
    args.insert(args.begin(), "prog");
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    return c.load(static_cast<int>(argv.size()), argv.data());
  }

  fs::path dir_;
};

// Finds an option's describe() entry.
const Value* find_option(const Value& described, const std::string& group,
                         const std::string& name) {
  for (const Value& g : described.find("groups")->as_list()) {
    if (g.get_string("name") != group) continue;
    for (const Value& o : g.find("options")->as_list())
      if (o.get_string("name") == name) return &o;
  }
  return nullptr;
}

// True when `needle` appears in any key, string or number anywhere in `v`.
bool contains_text(const Value& v, const std::string& needle) {
  if (v.is_map()) {
    for (const auto& [key, member] : v.as_map())
      if (key.find(needle) != std::string::npos || contains_text(member, needle)) return true;
    return false;
  }
  if (v.is_list()) {
    for (const Value& item : v.as_list())
      if (contains_text(item, needle)) return true;
    return false;
  }
  return v.scalar_text().find(needle) != std::string::npos;
}

// gmock's HasSubstr without gmock (the test target links GoogleTest only).
::testing::AssertionResult Contains(const std::string& haystack, const std::string& needle) {
  if (haystack.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << needle << "' not in:\n" << haystack;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

// --- Registration ---------------------------------------------------------

TEST_F(ConfigTest, RegisteredOptionsHaveTheirDefaults) {
  Config c;
  register_sample(c);
  EXPECT_TRUE(c.has_opt("DEFAULT", "debug"));
  EXPECT_TRUE(c.has_opt("db", "hosts"));
  EXPECT_FALSE(c.has_opt("db", "debug"));
  EXPECT_FALSE(c.has_opt("nope", "x"));
  EXPECT_EQ(c.get("DEFAULT", "debug"), Value(false));
  EXPECT_EQ(c.get_int("DEFAULT", "workers"), 4);
  EXPECT_EQ(c.get_string("DEFAULT", "name"), "demo");
  EXPECT_TRUE(c.get("db", "url").is_null());
  EXPECT_EQ(c.get_string("db", "url"), "");  // unset reads as empty
  EXPECT_DOUBLE_EQ(c.get_float("db", "timeout"), 2.5);
  EXPECT_EQ(c.get_list("db", "hosts"), (std::vector<std::string>{"a", "b"}));
  EXPECT_THROW(c.get("db", "nope"), std::out_of_range);
  EXPECT_THROW(c.get_int("nope", "workers"), std::out_of_range);
}

TEST_F(ConfigTest, DefaultsAreStoredInTheOptionsType) {
  Config c;
  c.register_opts("g", {
      Opt::floating("f", 1, ""),          // an int default of a float option
      Opt::integer("i", "12", ""),        // text, read as a file's value would be
      Opt::integer("whole", 3.0, ""),
      Opt::list("l", "x, y\nz", ""),
      Opt::boolean("b", "yes", ""),
  });
  EXPECT_TRUE(c.get("g", "f").is_double());
  EXPECT_EQ(c.get("g", "i"), Value(12));
  EXPECT_EQ(c.get("g", "whole"), Value(3));
  EXPECT_EQ(c.get("g", "l"), Value::list({"x", "y", "z"}));
  EXPECT_EQ(c.get("g", "b"), Value(true));
}

TEST_F(ConfigTest, BadDefinitionsThrow) {
  Config c;
  EXPECT_THROW(c.register_opt("g", Opt::integer("i", "many", "")), std::invalid_argument);
  EXPECT_THROW(c.register_opt("g", Opt::integer("i", 1.5, "")), std::invalid_argument);
  EXPECT_THROW(c.register_opt("g", Opt::string("s", 5, "")), std::invalid_argument);
  EXPECT_THROW(c.register_opt("g", Opt::integer("i", 0, "").with_min(1)), std::invalid_argument);
  EXPECT_THROW(c.register_opt("g", Opt::string("s", "", "").with_min(1)), std::invalid_argument);
  EXPECT_THROW(c.register_opt("g", Opt::string("", "", "")), std::invalid_argument);
  EXPECT_THROW(c.register_opt("a.b", Opt::string("s", "", "")), std::invalid_argument);
  EXPECT_THROW(c.register_opt("DEFAULT", Opt::string("help", "", "")), std::invalid_argument);
  EXPECT_FALSE(c.has_opt("g", "i"));
  EXPECT_FALSE(c.has_opt("g", "s"));
}

TEST_F(ConfigTest, IdenticalReRegistrationIsANoOp) {
  Config c;
  register_sample(c);
  ASSERT_EQ(c.set_override("DEFAULT", "workers", "8"), "");
  EXPECT_NO_THROW(register_sample(c));
  EXPECT_EQ(c.get_int("DEFAULT", "workers"), 8);  // the value set survives
  // The same definition written differently (2 and 2.0 for a float) is identical.
  c.register_opt("g", Opt::floating("f", 2, "h"));
  EXPECT_NO_THROW(c.register_opt("g", Opt::floating("f", 2.0, "h")));
}

TEST_F(ConfigTest, ConflictingReRegistrationThrows) {
  Config c;
  register_sample(c);
  EXPECT_THROW(c.register_opt("DEFAULT", Opt::integer("workers", 5, "Number of worker threads")
                                             .with_min(1).with_max(64)),
               std::invalid_argument);
  EXPECT_THROW(c.register_opt("DEFAULT", Opt::integer("workers", 4, "Other help")
                                             .with_min(1).with_max(64)),
               std::invalid_argument);
  EXPECT_THROW(c.register_opt("DEFAULT", Opt::integer("workers", 4, "Number of worker threads")),
               std::invalid_argument);  // min/max differ
  EXPECT_THROW(c.register_opt("DEFAULT", Opt::string("workers", "4", "Number of worker threads")),
               std::invalid_argument);
  EXPECT_THROW(c.register_opt("db", Opt::string("url", nullptr, "Database URL").as_secret()),
               std::invalid_argument);
  // A batch with a conflict registers none of its options.
  EXPECT_THROW(c.register_opts("db", {Opt::string("fresh", "", ""),
                                      Opt::string("url", "x", "Database URL")}),
               std::invalid_argument);
  EXPECT_FALSE(c.has_opt("db", "fresh"));
  // Two different definitions within one batch conflict too.
  EXPECT_THROW(c.register_opts("g", {Opt::string("x", "1", ""), Opt::string("x", "2", "")}),
               std::invalid_argument);
  EXPECT_FALSE(c.has_opt("g", "x"));
}

// --- The INI reader -------------------------------------------------------

TEST_F(ConfigTest, IniReadsDefaultAndNamedGroups) {
  Config c;
  register_sample(c);
  c.register_opts("more", {
      Opt::string("single", "", ""), Opt::string("unbalanced", "", ""),
      Opt::string("lone_quote", "", ""), Opt::string("motd", "", ""),
      Opt::list("items", Value::list(), ""), Opt::string("equals", "", ""),
  });
  const std::string path = write("a.conf",
      "# a comment\n"
      "; another comment\n"
      "\n"
      "[DEFAULT]\n"
      "debug = true\n"
      "workers: 7\n"
      "   # an indented comment\n"
      "name = \"quoted name\"\n"
      "\n"
      "[db]\n"
      "url=postgres://u@h/db?x=1\n"
      "timeout = 0.25\n"
      "hosts = h1, h2 ,, h3\n"
      "[more]\n"
      "single = 'single'\n"
      "unbalanced = \"left only\n"
      "lone_quote = \"\n"
      "motd = first line\n"
      "  second line\n"
      "\tthird line\n"
      "items = one,\n"
      "    two\n"
      "    three, four\n"
      "\n"
      "equals = a: b = c\n");
  LoadResult r = c.load_files({path});
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
  EXPECT_TRUE(c.get_bool("DEFAULT", "debug"));
  EXPECT_EQ(c.get_int("DEFAULT", "workers"), 7);
  EXPECT_EQ(c.get_string("DEFAULT", "name"), "quoted name");
  EXPECT_EQ(c.get_string("db", "url"), "postgres://u@h/db?x=1");
  EXPECT_DOUBLE_EQ(c.get_float("db", "timeout"), 0.25);
  EXPECT_EQ(c.get_list("db", "hosts"), (std::vector<std::string>{"h1", "h2", "h3"}));
  EXPECT_EQ(c.get_string("more", "single"), "single");
  EXPECT_EQ(c.get_string("more", "unbalanced"), "\"left only");
  EXPECT_EQ(c.get_string("more", "lone_quote"), "\"");
  EXPECT_EQ(c.get_string("more", "motd"), "first line\nsecond line\nthird line");
  EXPECT_EQ(c.get_list("more", "items"),
            (std::vector<std::string>{"one", "two", "three", "four"}));
  EXPECT_EQ(c.get_string("more", "equals"), "a: b = c");  // split at the first '=' or ':'
  // Stored in the option's type.
  EXPECT_EQ(c.get("DEFAULT", "workers"), Value(7));
  EXPECT_EQ(c.get("db", "hosts"), Value::list({"h1", "h2", "h3"}));
}

TEST_F(ConfigTest, IniAcceptsCrlfAndTheLastOfRepeatedKeys) {
  Config c;
  register_sample(c);
  const std::string path = write("crlf.conf", "[DEFAULT]\r\nworkers = 2\r\nworkers = 3\r\n");
  LoadResult r = c.load_files({path});
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  EXPECT_EQ(c.get_int("DEFAULT", "workers"), 3);
  EXPECT_EQ(find_option(c.describe(), "DEFAULT", "workers")->get_string("source"), path + ":3");
}

TEST_F(ConfigTest, BooleansAcceptEverySpelling) {
  Config c;
  register_sample(c);
  for (const char* t : {"true", "TRUE", "Yes", "on", "1", " true "}) {
    ASSERT_EQ(c.set_override("DEFAULT", "debug", "false"), "");
    EXPECT_EQ(c.set_override("DEFAULT", "debug", t), "") << t;
    EXPECT_TRUE(c.get_bool("DEFAULT", "debug")) << t;
  }
  for (const char* f : {"false", "False", "NO", "off", "0"}) {
    ASSERT_EQ(c.set_override("DEFAULT", "debug", "true"), "");
    EXPECT_EQ(c.set_override("DEFAULT", "debug", f), "") << f;
    EXPECT_FALSE(c.get_bool("DEFAULT", "debug")) << f;
  }
  for (const char* bad : {"maybe", "", "2", "yess"})
    EXPECT_NE(c.set_override("DEFAULT", "debug", bad), "") << bad;
}

TEST_F(ConfigTest, NumbersMustBeWholeAndInRange) {
  Config c;
  register_sample(c);
  c.register_opt("db", Opt::floating("ratio", 0.5, "").with_min(0).with_max(1));
  EXPECT_EQ(c.set_override("DEFAULT", "workers", "+12"), "");
  EXPECT_EQ(c.get_int("DEFAULT", "workers"), 12);
  EXPECT_EQ(c.set_override("DEFAULT", "workers", "1.5"),
            "invalid value for [DEFAULT] workers: '1.5' is not an integer");
  EXPECT_EQ(c.set_override("DEFAULT", "workers", "0x10"),
            "invalid value for [DEFAULT] workers: '0x10' is not an integer");
  EXPECT_EQ(c.set_override("DEFAULT", "workers", "0"),
            "invalid value for [DEFAULT] workers: '0' is below the minimum 1");
  EXPECT_EQ(c.set_override("DEFAULT", "workers", "65"),
            "invalid value for [DEFAULT] workers: '65' is above the maximum 64");
  EXPECT_EQ(c.set_override("DEFAULT", "workers", "99999999999999999999"),
            "invalid value for [DEFAULT] workers: '99999999999999999999' is out of range");
  EXPECT_EQ(c.get_int("DEFAULT", "workers"), 12);  // failed overrides changed nothing
  EXPECT_EQ(c.set_override("db", "ratio", "1e-1"), "");
  EXPECT_DOUBLE_EQ(c.get_float("db", "ratio"), 0.1);
  EXPECT_EQ(c.set_override("db", "ratio", "1.5"),
            "invalid value for [db] ratio: '1.5' is above the maximum 1.0");
  EXPECT_EQ(c.set_override("db", "ratio", "inf"),
            "invalid value for [db] ratio: 'inf' is not a finite number");
  EXPECT_EQ(c.set_override("db", "ratio", "half"),
            "invalid value for [db] ratio: 'half' is not a number");
  EXPECT_EQ(c.set_override("db", "nope", "1"), "unknown option [db] nope");
}

TEST_F(ConfigTest, GettersConvertBetweenTypes) {
  Config c;
  register_sample(c);
  c.register_opts("g", {Opt::string("num", "42", ""), Opt::string("word", "abc", ""),
                        Opt::floating("whole", 3.0, ""), Opt::floating("half", 1.5, ""),
                        Opt::string("unset", nullptr, "")});
  EXPECT_EQ(c.get_int("g", "num"), 42);
  EXPECT_DOUBLE_EQ(c.get_float("g", "num"), 42.0);
  EXPECT_DOUBLE_EQ(c.get_float("DEFAULT", "workers"), 4.0);
  EXPECT_EQ(c.get_int("g", "whole"), 3);
  EXPECT_THROW(c.get_int("g", "half"), std::invalid_argument);
  EXPECT_THROW(c.get_int("g", "word"), std::invalid_argument);
  EXPECT_EQ(c.get_string("DEFAULT", "workers"), "4");
  EXPECT_EQ(c.get_string("DEFAULT", "debug"), "false");
  EXPECT_EQ(c.get_string("db", "timeout"), "2.5");
  EXPECT_EQ(c.get_string("db", "hosts"), "a, b");
  EXPECT_EQ(c.get_list("g", "word"), (std::vector<std::string>{"abc"}));
  EXPECT_EQ(c.get_int("g", "unset"), 0);
  EXPECT_FALSE(c.get_bool("g", "unset"));
  EXPECT_TRUE(c.get_list("g", "unset").empty());
}

// --- Several sources ------------------------------------------------------

TEST_F(ConfigTest, LaterFilesWin) {
  Config c;
  register_sample(c);
  const std::string first = write("first.conf", "[DEFAULT]\nworkers = 2\nname = one\n");
  const std::string second = write("second.conf", "[DEFAULT]\n\nworkers = 3\n");
  LoadResult r = c.load_files({first, second});
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  EXPECT_EQ(c.get_int("DEFAULT", "workers"), 3);
  EXPECT_EQ(c.get_string("DEFAULT", "name"), "one");  // only the first sets it
  const Value d = c.describe();
  EXPECT_EQ(find_option(d, "DEFAULT", "workers")->get_string("source"), second + ":3");
  EXPECT_EQ(find_option(d, "DEFAULT", "name")->get_string("source"), first + ":3");

  // And the other way round.
  r = c.load_files({second, first});
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  EXPECT_EQ(c.get_int("DEFAULT", "workers"), 2);
}

TEST_F(ConfigTest, CommandLineWinsOverFilesWhateverTheOrder) {
  Config c;
  register_sample(c);
  const std::string a = write("a.conf", "[DEFAULT]\nworkers = 2\ndebug = false\n"
                                        "[db]\nurl = from-a\ntimeout = 9\n");
  const std::string b = write("b.conf", "[db]\nurl = from-b\n");
  LoadResult r = load(c, {"--workers", "5", "--db.url=from-cli", "--config-file", a,
                          "--config-file=" + b, "--debug", "--db.hosts", "x,y"});
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
  EXPECT_FALSE(r.help_requested);
  EXPECT_EQ(c.get_int("DEFAULT", "workers"), 5);
  EXPECT_TRUE(c.get_bool("DEFAULT", "debug"));  // a bare boolean flag means true
  EXPECT_EQ(c.get_string("db", "url"), "from-cli");
  EXPECT_DOUBLE_EQ(c.get_float("db", "timeout"), 9.0);  // from a.conf
  EXPECT_EQ(c.get_list("db", "hosts"), (std::vector<std::string>{"x", "y"}));

  const Value d = c.describe();
  EXPECT_EQ(find_option(d, "DEFAULT", "workers")->get_string("source"), "command line");
  EXPECT_EQ(find_option(d, "db", "url")->get_string("source"), "command line");
  EXPECT_EQ(find_option(d, "db", "timeout")->get_string("source"), a + ":6");
  EXPECT_EQ(find_option(d, "DEFAULT", "name")->get_string("source"), "default");
}

TEST_F(ConfigTest, BooleanFlagTakesAnExplicitValue) {
  Config c;
  register_sample(c);
  ASSERT_EQ(c.set_override("DEFAULT", "debug", "true"), "");
  LoadResult r = load(c, {"--debug", "false"});
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
  EXPECT_FALSE(c.get_bool("DEFAULT", "debug"));
  r = load(c, {"--debug=on"});
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  EXPECT_TRUE(c.get_bool("DEFAULT", "debug"));
}

TEST_F(ConfigTest, LoadReplacesEarlierValues) {
  Config c;
  register_sample(c);
  const std::string path = write("a.conf", "[DEFAULT]\nworkers = 2\n");
  ASSERT_TRUE(c.load_files({path}).ok());
  ASSERT_EQ(c.set_override("DEFAULT", "name", "override"), "");
  LoadResult r = load(c, {});
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  EXPECT_EQ(c.get_int("DEFAULT", "workers"), 4);
  EXPECT_EQ(c.get_string("DEFAULT", "name"), "demo");
  EXPECT_EQ(find_option(c.describe(), "DEFAULT", "workers")->get_string("source"), "default");
}

// --- Errors and warnings --------------------------------------------------

// Loads one file with `content` and returns its errors.
class ConfigErrorTest : public ConfigTest {
 protected:
  std::vector<std::string> errors_of(const std::string& content) {
    Config c;
    register_sample(c);
    path_ = write("bad.conf", content);
    LoadResult r = c.load_files({path_});
    return r.errors;
  }
  std::string path_;
};

TEST_F(ConfigErrorTest, SyntaxError) {
  auto errors = errors_of("[DEFAULT]\ndebug = true\nthis line has no separator\n");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        path_ + ":3: expected 'name = value' or 'name: value'"}));
  errors = errors_of("[DEFAULT]\n= 3\n");
  EXPECT_EQ(errors, (std::vector<std::string>{path_ + ":2: missing option name before '='"}));
  errors = errors_of("[DEFAULT]\n\n  indented = 1\n");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        path_ + ":3: unexpected indented line (continuation lines must follow "
                                "an option)"}));
}

TEST_F(ConfigErrorTest, UnterminatedHeader) {
  // The lines under a broken header are not errors of their own.
  auto errors = errors_of("[DEFAULT]\nworkers = 2\n[db\nurl = x\n");
  EXPECT_EQ(errors, (std::vector<std::string>{path_ + ":3: unterminated section header '[db'"}));
  errors = errors_of("[ ]\n");
  EXPECT_EQ(errors, (std::vector<std::string>{path_ + ":1: empty section name"}));
}

TEST_F(ConfigErrorTest, KeyBeforeAnySection) {
  auto errors = errors_of("# header comment\nworkers = 2\n  continued\n[DEFAULT]\n");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        path_ + ":2: option 'workers' comes before any [section] header"}));
}

TEST_F(ConfigErrorTest, BadInteger) {
  auto errors = errors_of("[DEFAULT]\n\nworkers = many\n");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        path_ + ":3: invalid value for [DEFAULT] workers: 'many' is not an "
                                "integer"}));
}

TEST_F(ConfigErrorTest, OutOfRange) {
  auto errors = errors_of("[DEFAULT]\nworkers = 100\n");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        path_ + ":2: invalid value for [DEFAULT] workers: '100' is above the "
                                "maximum 64"}));
}

TEST_F(ConfigErrorTest, BadBoolean) {
  auto errors = errors_of("[DEFAULT]\ndebug = perhaps\n");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        path_ + ":2: invalid value for [DEFAULT] debug: 'perhaps' is not a "
                                "boolean (use true/false, yes/no, on/off or 1/0)"}));
}

TEST_F(ConfigErrorTest, EveryErrorOfAFileIsReported) {
  auto errors = errors_of("[DEFAULT]\nworkers = x\ndebug = y\n");
  ASSERT_EQ(errors.size(), 2u) << joined(errors);
  EXPECT_EQ(errors[0].rfind(path_ + ":2: ", 0), 0u);
  EXPECT_EQ(errors[1].rfind(path_ + ":3: ", 0), 0u);
}

TEST_F(ConfigTest, MissingOrUnreadableFile) {
  Config c;
  register_sample(c);
  const std::string missing = (dir_ / "missing.conf").string();
  LoadResult r = c.load_files({missing});
  EXPECT_EQ(r.errors,
            (std::vector<std::string>{missing + ": cannot read: No such file or directory"}));
  r = c.load_files({dir_.string()});
  EXPECT_EQ(r.errors, (std::vector<std::string>{dir_.string() + ": cannot read: Is a directory"}));
  // Through the command line too.
  r = load(c, {"--config-file", missing});
  EXPECT_EQ(r.errors,
            (std::vector<std::string>{missing + ": cannot read: No such file or directory"}));
}

TEST_F(ConfigTest, ALoadWithErrorsChangesNothing) {
  Config c;
  register_sample(c);
  ASSERT_EQ(c.set_override("DEFAULT", "workers", "9"), "");
  const std::string good = write("good.conf", "[DEFAULT]\nname = changed\n");
  LoadResult r = load(c, {"--config-file", good, "--workers", "zero"});
  ASSERT_EQ(r.errors, (std::vector<std::string>{
                          "command line: invalid value for [DEFAULT] workers: 'zero' is not an "
                          "integer"}));
  EXPECT_EQ(c.get_int("DEFAULT", "workers"), 9);
  EXPECT_EQ(c.get_string("DEFAULT", "name"), "demo");
}

TEST_F(ConfigTest, CommandLineSyntaxErrors) {
  Config c;
  register_sample(c);
  LoadResult r = load(c, {"--workers"});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(Contains(r.errors[0], "command line: "));
  EXPECT_TRUE(Contains(r.errors[0], "--workers"));
  // No prefix guessing: --db.ur is not --db.url.
  r = load(c, {"--db.ur=x"});
  EXPECT_TRUE(r.ok()) << joined(r.errors);
  EXPECT_TRUE(c.get("db", "url").is_null());
}

TEST_F(ConfigTest, UnknownOptionsAreWarnings) {
  Config c;
  register_sample(c);
  const std::string path = write("a.conf",
      "[DEFAULT]\nworkers = 2\nbogus = 1\n[nogroup]\nx = y\n[db]\nurl = u\n");
  LoadResult r = c.load_files({path});
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  EXPECT_EQ(r.warnings, (std::vector<std::string>{
                            path + ":3: unknown option [DEFAULT] bogus, ignored",
                            path + ":5: unknown option [nogroup] x, ignored"}));
  EXPECT_EQ(c.get_int("DEFAULT", "workers"), 2);
  EXPECT_EQ(c.get_string("db", "url"), "u");

  r = load(c, {"--nope=1", "--db.nope", "stray", "--workers=3"});
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  EXPECT_EQ(r.warnings, (std::vector<std::string>{
                            "command line: unknown option --nope, ignored",
                            "command line: unknown option --db.nope, ignored",
                            "command line: unexpected argument 'stray', ignored"}));
  EXPECT_EQ(c.get_int("DEFAULT", "workers"), 3);
}

// --- describe() -----------------------------------------------------------

TEST_F(ConfigTest, DescribeListsEveryOptionSorted) {
  Config c;
  register_sample(c);
  c.register_opt("alpha", Opt::string("z", "", ""));
  const Value d = c.describe();
  std::vector<std::string> groups;
  for (const Value& g : d.find("groups")->as_list()) groups.push_back(g.get_string("name"));
  EXPECT_EQ(groups, (std::vector<std::string>{"DEFAULT", "alpha", "db"}));

  std::vector<std::string> names;
  for (const Value& g : d.find("groups")->as_list())
    if (g.get_string("name") == "db")
      for (const Value& o : g.find("options")->as_list()) names.push_back(o.get_string("name"));
  EXPECT_EQ(names, (std::vector<std::string>{"hosts", "password", "timeout", "url"}));

  const Value* workers = find_option(d, "DEFAULT", "workers");
  ASSERT_NE(workers, nullptr);
  EXPECT_EQ(*workers, Value::map({{"name", "workers"},
                                  {"type", "integer"},
                                  {"default", 4},
                                  {"value", 4},
                                  {"help", "Number of worker threads"},
                                  {"secret", false},
                                  {"source", "default"}}));
  EXPECT_EQ(find_option(d, "db", "hosts")->find("type")->as_string(), "list");
  EXPECT_EQ(*find_option(d, "db", "hosts")->find("value"), Value::list({"a", "b"}));
  EXPECT_EQ(find_option(d, "db", "timeout")->find("type")->as_string(), "float");
  EXPECT_EQ(find_option(d, "DEFAULT", "debug")->find("type")->as_string(), "boolean");
  EXPECT_EQ(find_option(d, "DEFAULT", "name")->find("type")->as_string(), "string");
  EXPECT_TRUE(find_option(d, "db", "url")->find("value")->is_null());
}

TEST_F(ConfigTest, SecretsNeverAppearInDescribe) {
  Config c;
  register_sample(c);
  c.register_opts("vault", {Opt::integer("pin", 271828, "").as_secret(),
                            Opt::string("unset", nullptr, "").as_secret(),
                            Opt::string("empty", "", "").as_secret()});
  const std::string path =
      write("s.conf", "[db]\npassword = \"s3cr3t-pa55\"\n[vault]\npin = 314159\n");
  LoadResult r = load(c, {"--config-file", path});
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  ASSERT_EQ(c.get_string("db", "password"), "s3cr3t-pa55");  // the real value is there
  ASSERT_EQ(c.get_int("vault", "pin"), 314159);

  const Value d = c.describe();
  for (const char* secret : {"s3cr3t-pa55", "changeme", "314159", "271828"})
    EXPECT_FALSE(contains_text(d, secret)) << secret;
  const Value* password = find_option(d, "db", "password");
  EXPECT_EQ(*password->find("value"), Value("***"));
  EXPECT_EQ(*password->find("default"), Value("***"));
  EXPECT_EQ(*password->find("secret"), Value(true));
  EXPECT_EQ(password->get_string("source"), path + ":2");
  EXPECT_EQ(*find_option(d, "vault", "pin")->find("value"), Value("***"));
  EXPECT_TRUE(find_option(d, "vault", "unset")->find("value")->is_null());  // null stays null
  EXPECT_EQ(*find_option(d, "vault", "empty")->find("value"), Value("***"));

  // Nor in --help, nor in the error of an invalid secret value.
  r = load(c, {"--help", "--vault.pin=161803x"});
  EXPECT_FALSE(r.help.find("changeme") != std::string::npos);
  EXPECT_FALSE(r.help.find("271828") != std::string::npos);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].find("161803"), std::string::npos) << r.errors[0];
}

// --- --help ---------------------------------------------------------------

TEST_F(ConfigTest, HelpListsEveryOption) {
  Config c;
  register_report_opts(c);
  register_sample(c);
  LoadResult r = load(c, {"--help"});
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  EXPECT_TRUE(r.help_requested);
  // Boost wraps the descriptions; compare with runs of whitespace made one space.
  std::string help;
  for (char ch : r.help) {
    const bool space = ch == ' ' || ch == '\n';
    if (!(space && !help.empty() && help.back() == ' ')) help += space ? ' ' : ch;
  }
  EXPECT_TRUE(Contains(help, "Usage: prog"));
  EXPECT_TRUE(Contains(help, "--config-file FILE"));
  EXPECT_TRUE(Contains(help, "--workers"));
  EXPECT_TRUE(Contains(help, "--db.hosts"));
  EXPECT_TRUE(Contains(help, "--oslo_reports.http_port"));
  EXPECT_TRUE(Contains(help, "(integer, default 9911, min 0, max 65535)"));
  EXPECT_TRUE(Contains(help, "(string, default None, secret)"));
  EXPECT_TRUE(Contains(help, "Serve the report over HTTP"));
  // Every registered option is there.
  const Value described = c.describe();
  for (const Value& g : described.find("groups")->as_list()) {
    for (const Value& o : g.find("options")->as_list()) {
      std::string key = g.get_string("name") == "DEFAULT"
                            ? "--" + o.get_string("name")
                            : "--" + g.get_string("name") + "." + o.get_string("name");
      EXPECT_TRUE(Contains(help, key + " "));
    }
  }
  EXPECT_FALSE(load(c, {}).help_requested);
  EXPECT_TRUE(load(c, {}).help.empty());
}

// --- gmr's own options ----------------------------------------------------

TEST_F(ConfigTest, ReportOptionsAreRegisteredWithTheirDefaults) {
  Config& c = conf();
  EXPECT_EQ(&c, &conf());
  const Value d = c.describe();
  struct Expected {
    const char* name;
    const char* type;
    Value default_value;
    bool secret;
  };
  const std::vector<Expected> expected = {
      {"file_event_handler", "string", Value(), false},
      {"file_event_handler_interval", "integer", Value(1), false},
      {"group_stacks", "boolean", Value(false), false},
      {"http_enabled", "boolean", Value(true), false},
      {"http_host", "string", Value("127.0.0.1"), false},
      {"http_port", "integer", Value(9911), false},
      {"http_token", "string", Value(), true},
      {"log_dir", "string", Value(), false},
  };
  std::vector<std::string> names;
  for (const Value& g : d.find("groups")->as_list())
    if (g.get_string("name") == "oslo_reports")
      for (const Value& o : g.find("options")->as_list()) names.push_back(o.get_string("name"));
  ASSERT_EQ(names.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const Expected& e = expected[i];
    EXPECT_EQ(names[i], e.name);
    const Value* o = find_option(d, "oslo_reports", e.name);
    ASSERT_NE(o, nullptr) << e.name;
    EXPECT_EQ(o->get_string("type"), e.type) << e.name;
    EXPECT_EQ(*o->find("default"), e.default_value) << e.name;
    EXPECT_EQ(*o->find("secret"), Value(e.secret)) << e.name;
  }
  EXPECT_EQ(find_option(d, "oslo_reports", "log_dir")->get_string("help"),
            "Path to a log directory where to create a file");
  EXPECT_EQ(find_option(d, "oslo_reports", "file_event_handler")->get_string("help"),
            "The path to a file to watch for changes to trigger the reports, instead of "
            "signals. Setting this option disables the signal trigger for the reports.");
  EXPECT_EQ(find_option(d, "oslo_reports", "file_event_handler_interval")->get_string("help"),
            "How many seconds to wait between polls when file_event_handler is set");

  // The bounds are enforced; a private Config keeps the global one untouched.
  Config mine;
  register_report_opts(mine);
  EXPECT_NO_THROW(register_report_opts(mine));  // idempotent
  EXPECT_NE(mine.set_override("oslo_reports", "file_event_handler_interval", "0"), "");
  EXPECT_NE(mine.set_override("oslo_reports", "http_port", "65536"), "");
  EXPECT_NE(mine.set_override("oslo_reports", "http_port", "-1"), "");
  EXPECT_EQ(mine.set_override("oslo_reports", "http_port", "0"), "");
  EXPECT_EQ(mine.set_override("oslo_reports", "http_port", "65535"), "");
  const std::string path = write("r.conf", "[oslo_reports]\nhttp_port = 70000\n");
  EXPECT_EQ(mine.load_files({path}).errors,
            (std::vector<std::string>{path + ":2: invalid value for [oslo_reports] http_port: "
                                             "'70000' is above the maximum 65535"}));
}

// --- Threads --------------------------------------------------------------

TEST_F(ConfigTest, ConcurrentReadsAndWrites) {
  Config c;
  register_sample(c);
  const std::string path = write("t.conf", "[DEFAULT]\nworkers = 2\n");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c, &path, t] {
      for (int i = 0; i < 200; ++i) {
        if (t == 0) {
          (void)c.load_files({path});
        } else if (t == 1) {
          (void)c.set_override("DEFAULT", "workers", std::to_string(1 + i % 60));
        } else {
          std::int64_t w = c.get_int("DEFAULT", "workers");
          EXPECT_TRUE(w >= 1 && w <= 64) << w;
          EXPECT_NE(find_option(c.describe(), "DEFAULT", "workers"), nullptr);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
}

}  // namespace
}  // namespace gmr

namespace {

TEST(ConfigRedaction, SecretValuesOnACommandLineAreMasked) {
  gmr::Config config;
  config.register_opts("database", {gmr::Opt::string("password", nullptr, "pw").as_secret(),
                                    gmr::Opt::integer("retries", 3, "n")});
  config.register_opt("DEFAULT", gmr::Opt::string("token", nullptr, "t").as_secret());
  EXPECT_EQ(config.redact_command_line(
                "/usr/bin/svc --database.password=hunter2 --database.retries=4 "
                "--database.password hunter3 --token=abc --tokenx=keep"),
            "/usr/bin/svc --database.password=*** --database.retries=4 "
            "--database.password *** --token=*** --tokenx=keep");
  EXPECT_EQ(config.redact_command_line(""), "");
  EXPECT_EQ(config.redact_command_line("--database.password"), "--database.password");
}

}  // namespace
