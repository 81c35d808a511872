// render_json.cpp: the report as JSON (docs/report-data.md).
//
// The data maps one to one: mappings keep their insertion order, doubles that are
// not finite become null, and bytes that are not valid UTF-8 are replaced by U+FFFD,
// so the document is always valid UTF-8 and rendering never throws on account of
// the data. The layout is nlohmann_json's dump(indent).
//
// The Value tree is written directly (no intermediate document), and a subtree that
// is shared (Value::shared, e.g. the stack of 500 threads parked in one place) is
// written once per depth and copied for its other occurrences. A first pass only
// counts the bytes, so that the document is written into one allocation of its
// exact size (a report of 1000 threads is about 10 MB: growing it by doubling
// costs three times the page faults, which dominated). Strings that need
// escaping or hold non-ASCII bytes are escaped by nlohmann_json, which also checks
// the UTF-8.
#include <charconv>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "gmr/report.hpp"
#include "gmr/value.hpp"

namespace gmr {
namespace {

// Writes JSON into `out`, or only counts its bytes (`counting`).
class Writer {
 public:
  Writer(int indent, bool counting) : indent_(indent < 0 ? -1 : indent), counting_(counting) {}

  std::string out;
  std::size_t size() const { return counting_ ? counted_ : out.size(); }

  void put(std::string_view s) {
    if (counting_) {
      counted_ += s.size();
    } else {
      out += s;
    }
  }
  void put(char c) { put(std::string_view(&c, 1)); }

  void value(const Value& v, int depth) {
    if (const void* id = v.shared_identity()) {
      auto [it, fresh] = written_.try_emplace({id, depth});
      if (!fresh) {
        const auto [offset, length] = it->second;
        if (counting_) {
          counted_ += length;
        } else {
          out.reserve(out.size() + length);
          out.append(out.data() + offset, length);  // no reallocation: reserved above
        }
        return;
      }
      const std::size_t offset = size();
      unshared_value(v, depth);
      it->second = {offset, size() - offset};
      return;
    }
    unshared_value(v, depth);
  }

  void string(std::string_view s) {
    for (const char c : s) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u >= 0x80 || c == '"' || c == '\\') {
        put(nlohmann::json(std::string(s)).dump(-1, ' ', /*ensure_ascii=*/false,
                                                nlohmann::json::error_handler_t::replace));
        return;
      }
    }
    put('"');
    put(s);
    put('"');
  }

  void number(double d) {
    if (!std::isfinite(d)) {
      put("null");
      return;
    }
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    std::string_view text(buf, static_cast<std::size_t>(end - buf));
    put(text);
    // As nlohmann_json writes them: a double always shows it is one.
    if (text.find_first_of(".e") == std::string_view::npos) put(".0");
  }

  void number(std::int64_t i) {
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, i);
    put(std::string_view(buf, static_cast<std::size_t>(end - buf)));
  }

  // Starts the member `key` of an object whose members are at `depth`.
  void key(std::string_view key, bool first, int depth) {
    if (!first) put(',');
    newline(depth);
    string(key);
    put(indent_ < 0 ? ":" : ": ");
  }

  void newline(int depth) {
    if (indent_ < 0) return;
    if (counting_) {
      counted_ += 1 + static_cast<std::size_t>(depth * indent_);
      return;
    }
    out += '\n';
    out.append(static_cast<std::size_t>(depth * indent_), ' ');
  }

 private:
  void unshared_value(const Value& v, int depth) {
    if (v.is_bool()) {
      put(v.as_bool() ? "true" : "false");
    } else if (v.is_int()) {
      number(v.as_int());
    } else if (v.is_double()) {
      number(v.as_double());
    } else if (v.is_string()) {
      string(v.as_string());
    } else if (v.is_list()) {
      const Value::List& list = v.as_list();
      if (list.empty()) {
        put("[]");
        return;
      }
      put('[');
      for (std::size_t i = 0; i < list.size(); ++i) {
        if (i > 0) put(',');
        newline(depth + 1);
        value(list[i], depth + 1);
      }
      newline(depth);
      put(']');
    } else if (v.is_map()) {
      const Value::Map& map = v.as_map();
      if (map.empty()) {
        put("{}");
        return;
      }
      put('{');
      bool first = true;
      for (const auto& [k, item] : map) {
        key(k, first, depth + 1);
        first = false;
        value(item, depth + 1);
      }
      newline(depth);
      put('}');
    } else {
      put("null");
    }
  }

  int indent_;
  bool counting_;
  std::size_t counted_ = 0;
  // Where a shared subtree was written at a depth: offset and length in `out`.
  std::map<std::pair<const void*, int>, std::pair<std::size_t, std::size_t>> written_;
};

void WriteSection(Writer& w, const Section& section, int depth) {
  w.put('{');
  w.key("id", true, depth + 1);
  w.string(section.id);
  w.key("title", false, depth + 1);
  w.string(section.title);
  w.key("data", false, depth + 1);
  w.value(section.data, depth + 1);
  if (!section.error.empty()) {
    w.key("error", false, depth + 1);
    w.string(section.error);
  }
  w.newline(depth);
  w.put('}');
}

void WriteReport(Writer& w, const Report& report) {
  w.put('{');
  w.key("schema_version", true, 1);
  w.number(std::int64_t{report.schema_version});
  w.key("service", false, 1);
  w.string(report.service);
  w.key("generated_at", false, 1);
  w.string(report.generated_at);
  w.key("duration_ms", false, 1);
  w.number(report.duration_ms);
  w.key("sections", false, 1);
  if (report.sections.empty()) {
    w.put("[]");
  } else {
    w.put('[');
    for (std::size_t i = 0; i < report.sections.size(); ++i) {
      if (i > 0) w.put(',');
      w.newline(2);
      WriteSection(w, report.sections[i], 2);
    }
    w.newline(1);
    w.put(']');
  }
  w.newline(0);
  w.put('}');
}


}  // namespace

// Writes the document twice: counting its bytes, then into one allocation of that size.
template <class Write>
std::string TwoPasses(int indent, Write write) {
  Writer count(indent, /*counting=*/true);
  write(count);
  Writer w(indent, /*counting=*/false);
  w.out.reserve(count.size());
  write(w);
  return std::move(w.out);
}

std::string render_json(const Report& report, int indent) {
  return TwoPasses(indent, [&](Writer& w) { WriteReport(w, report); });
}

std::string render_section_json(const Section& section, int indent) {
  return TwoPasses(indent, [&](Writer& w) { WriteSection(w, section, 0); });
}

}  // namespace gmr
