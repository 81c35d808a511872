// gmr/value.hpp: the plain data that sections collect and renderers read.
//
// A Value is null, a bool, an integer, a float, a string, a list of Values or a
// mapping from strings to Values (kept in insertion order). It is a plain value
// type: copying it copies the tree, except for subtrees frozen with
// Value::shared(), which copies share (a reference count) and which are never
// changed again: writing to a shared subtree through a copy first makes that copy
// its own (copy on write). Stack frames are shared that way between the many
// threads parked in the same place. Thread safety is that of a std::string:
// concurrent reads are fine, writes need the caller's own synchronisation
// (shared subtrees may be read from any number of threads).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace gmr {

class Value {
 public:
  using List = std::vector<Value>;
  using Map = std::vector<std::pair<std::string, Value>>;

  Value() = default;  // null
  Value(std::nullptr_t) {}
  Value(bool b) : v_(b) {}
  Value(int i) : v_(static_cast<std::int64_t>(i)) {}
  Value(long i) : v_(static_cast<std::int64_t>(i)) {}
  Value(long long i) : v_(static_cast<std::int64_t>(i)) {}
  Value(unsigned i) : v_(static_cast<std::int64_t>(i)) {}
  Value(unsigned long i) : v_(static_cast<std::int64_t>(i)) {}
  Value(unsigned long long i) : v_(static_cast<std::int64_t>(i)) {}
  Value(double d) : v_(d) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(List l) : v_(std::move(l)) {}
  Value(Map m) : v_(std::move(m)) {}

  // Returns a mapping built from key/value pairs, in the given order.
  static Value map(std::initializer_list<std::pair<std::string, Value>> items = {}) {
    return Value(Map(items));
  }
  // Returns a list of the given values.
  static Value list(std::initializer_list<Value> items = {}) { return Value(List(items)); }
  // Returns `v` frozen: copies of the result share one tree, which nothing changes
  // any more. Reading it is the same as reading `v`.
  static Value shared(Value v);
  // Returns the frozen tree this Value shares, or nullptr when it owns its data.
  // Renderers may use it to render a subtree seen many times only once.
  const void* shared_identity() const;

  bool is_null() const { return std::holds_alternative<std::monostate>(data()); }
  bool is_bool() const { return std::holds_alternative<bool>(data()); }
  bool is_int() const { return std::holds_alternative<std::int64_t>(data()); }
  bool is_double() const { return std::holds_alternative<double>(data()); }
  bool is_string() const { return std::holds_alternative<std::string>(data()); }
  bool is_list() const { return std::holds_alternative<List>(data()); }
  bool is_map() const { return std::holds_alternative<Map>(data()); }

  // Accessors; each throws std::bad_variant_access when the type differs. The
  // non-const ones first make a shared subtree this Value's own.
  bool as_bool() const { return std::get<bool>(data()); }
  std::int64_t as_int() const { return std::get<std::int64_t>(data()); }
  double as_double() const { return std::get<double>(data()); }
  const std::string& as_string() const { return std::get<std::string>(data()); }
  const List& as_list() const { return std::get<List>(data()); }
  const Map& as_map() const { return std::get<Map>(data()); }
  List& as_list() { return std::get<List>(own()); }
  Map& as_map() { return std::get<Map>(own()); }

  // Returns the member named `key` of a mapping, or nullptr (also for non-mappings).
  const Value* find(std::string_view key) const;
  // Returns the member's string, or `fallback` when absent or not a string.
  std::string get_string(std::string_view key, std::string_view fallback = "") const;
  // Returns the member's integer, or `fallback` when absent or not an integer.
  std::int64_t get_int(std::string_view key, std::int64_t fallback = 0) const;

  // Sets (or replaces) a member of a mapping; a null Value becomes a mapping first.
  Value& set(std::string key, Value value);
  // Appends to a list; a null Value becomes a list first.
  Value& push_back(Value value);

  // Returns a short scalar rendering: None, True/False, numbers, the string itself.
  // Lists and mappings return an empty string (renderers lay those out themselves).
  std::string scalar_text() const;

  // Compares the data: a shared subtree equals an owned one with the same data.
  friend bool operator==(const Value& a, const Value& b);
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

 private:
  using Data = std::variant<std::monostate, bool, std::int64_t, double, std::string, List, Map>;
  struct Frozen;
  // The data: this Value's own, or that of the frozen tree it shares.
  const Data& data() const;
  // The data, made this Value's own first if it was shared.
  Data& own();

  Data v_;
  std::shared_ptr<const Frozen> frozen_;  // set: v_ is null and the data is frozen_'s
};

}  // namespace gmr
