#include "url.hpp"

namespace gmr::url {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> pieces;
  for (;;) {
    size_t end = text.find(separator);
    pieces.push_back(text.substr(0, end));
    if (end == std::string_view::npos) return pieces;
    text.remove_prefix(end + 1);
  }
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      if (c == '\0') return std::nullopt;  // a NUL only ever cuts strings short
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    out.push_back(c);
  }
  return out;
}

std::optional<QueryParams> parse_query(std::string_view query) {
  QueryParams params;
  if (query.empty()) return params;
  for (std::string_view piece : split(query, '&')) {
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    auto name = percent_decode(piece.substr(0, eq), true);
    auto value = eq == std::string_view::npos ? std::optional<std::string>("")
                                              : percent_decode(piece.substr(eq + 1), true);
    if (!name || !value) return std::nullopt;
    params.emplace_back(std::move(*name), std::move(*value));
  }
  return params;
}

std::vector<std::string> values_of(const QueryParams& params, std::string_view name) {
  std::vector<std::string> values;
  for (const auto& [n, v] : params)
    if (n == name) values.push_back(v);
  return values;
}

std::optional<std::vector<std::string>> path_segments(std::string_view path) {
  if (path.empty() || path[0] != '/') return std::nullopt;
  std::vector<std::string> segments;
  if (path.size() == 1) return segments;
  for (std::string_view raw : split(path.substr(1), '/')) {
    auto segment = percent_decode(raw, false);
    if (!segment || *segment == "." || *segment == ".." ||
        segment->find_first_of("/\\") != std::string::npos) {
      return std::nullopt;
    }
    segments.push_back(std::move(*segment));
  }
  return segments;
}

}  // namespace gmr::url
