#include "gmr/value.hpp"

#include <cmath>
#include <cstdio>

namespace gmr {

const Value* Value::find(std::string_view key) const {
  if (!is_map()) return nullptr;
  for (const auto& [k, v] : as_map())
    if (k == key) return &v;
  return nullptr;
}

std::string Value::get_string(std::string_view key, std::string_view fallback) const {
  const Value* v = find(key);
  return v && v->is_string() ? v->as_string() : std::string(fallback);
}

std::int64_t Value::get_int(std::string_view key, std::int64_t fallback) const {
  const Value* v = find(key);
  return v && v->is_int() ? v->as_int() : fallback;
}

Value& Value::set(std::string key, Value value) {
  if (is_null()) v_ = Map{};
  Map& m = as_map();
  for (auto& [k, v] : m) {
    if (k == key) {
      v = std::move(value);
      return v;
    }
  }
  m.emplace_back(std::move(key), std::move(value));
  return m.back().second;
}

Value& Value::push_back(Value value) {
  if (is_null()) v_ = List{};
  List& l = as_list();
  l.push_back(std::move(value));
  return l.back();
}

std::string Value::scalar_text() const {
  if (is_null()) return "None";
  if (is_bool()) return as_bool() ? "True" : "False";
  if (is_int()) return std::to_string(as_int());
  if (is_double()) {
    double d = as_double();
    if (!std::isfinite(d)) return std::isnan(d) ? "nan" : (d > 0 ? "inf" : "-inf");
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.15g", d);
    std::string s = buf;
    // Like Python's repr: a float always shows it is one.
    if (s.find_first_of(".e") == std::string::npos) s += ".0";
    return s;
  }
  if (is_string()) return as_string();
  return "";
}

}  // namespace gmr
