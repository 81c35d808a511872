#include "gmr/value.hpp"

#include <cmath>
#include <cstdio>

namespace gmr {

struct Value::Frozen {
  Value value;  // owns its data (never itself shared)
};

Value Value::shared(Value v) {
  if (v.frozen_) return v;
  Value out;
  out.frozen_ = std::make_shared<const Frozen>(Frozen{std::move(v)});
  return out;
}

const void* Value::shared_identity() const { return frozen_.get(); }

const Value::Data& Value::data() const { return frozen_ ? frozen_->value.v_ : v_; }

Value::Data& Value::own() {
  if (frozen_) {
    v_ = frozen_->value.v_;  // a copy; the frozen subtrees inside it stay shared
    frozen_.reset();
  }
  return v_;
}

bool operator==(const Value& a, const Value& b) {
  if (a.frozen_ && a.frozen_ == b.frozen_) return true;
  const Value::Data& x = a.data();
  const Value::Data& y = b.data();
  if (x.index() != y.index()) return false;
  if (const auto* l = std::get_if<Value::List>(&x)) return *l == std::get<Value::List>(y);
  if (const auto* m = std::get_if<Value::Map>(&x)) return *m == std::get<Value::Map>(y);
  return x == y;  // scalars
}

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
  if (is_null()) own() = Map{};
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
  if (is_null()) own() = List{};
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
