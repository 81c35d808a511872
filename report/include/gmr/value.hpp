// gmr/value.hpp: the plain data that sections collect and renderers read.
//
// A Value is null, a bool, an integer, a float, a string, a list of Values or a
// mapping from strings to Values (kept in insertion order). It is a plain value
// type: copying it copies the tree. Nothing here is shared between threads, so a
// Value is as thread-safe as a std::string: concurrent reads are fine, writes need
// the caller's own synchronisation.
#pragma once

#include <cstdint>
#include <initializer_list>
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

  bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
  bool is_bool() const { return std::holds_alternative<bool>(v_); }
  bool is_int() const { return std::holds_alternative<std::int64_t>(v_); }
  bool is_double() const { return std::holds_alternative<double>(v_); }
  bool is_string() const { return std::holds_alternative<std::string>(v_); }
  bool is_list() const { return std::holds_alternative<List>(v_); }
  bool is_map() const { return std::holds_alternative<Map>(v_); }

  // Accessors; each throws std::bad_variant_access when the type differs.
  bool as_bool() const { return std::get<bool>(v_); }
  std::int64_t as_int() const { return std::get<std::int64_t>(v_); }
  double as_double() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const List& as_list() const { return std::get<List>(v_); }
  const Map& as_map() const { return std::get<Map>(v_); }
  List& as_list() { return std::get<List>(v_); }
  Map& as_map() { return std::get<Map>(v_); }

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

  friend bool operator==(const Value& a, const Value& b) { return a.v_ == b.v_; }
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

 private:
  std::variant<std::monostate, bool, std::int64_t, double, std::string, List, Map> v_;
};

}  // namespace gmr
