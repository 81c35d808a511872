#include "negotiation.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <vector>

namespace gmr {
namespace {

struct Offer {
  Format format;
  std::string_view type;     // "text"
  std::string_view subtype;  // "html"
  std::string_view name;     // the ?format= value
};

// In the order that breaks ties: JSON is the default.
constexpr std::array<Offer, 3> kOffers = {{
    {Format::kJson, "application", "json", "json"},
    {Format::kHtml, "text", "html", "html"},
    {Format::kText, "text", "plain", "text"},
}};

// One media range of an Accept header: "text/*;q=0.5".
struct MediaRange {
  std::string type;     // lower case; "*" for a wildcard
  std::string subtype;  // lower case; "*" for a wildcard
  double q = 1.0;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Reads a qvalue: "0", "0.5", "1", "1.000". Anything else is nullopt.
std::optional<double> parse_q(std::string_view text) {
  if (text.empty() || text.size() > 5 || (text[0] != '0' && text[0] != '1')) return std::nullopt;
  if (text.size() > 1 && text[1] != '.') return std::nullopt;
  for (size_t i = 2; i < text.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
  double q = std::strtod(std::string(text).c_str(), nullptr);
  if (q > 1.0) return std::nullopt;
  return q;
}

// Parses one element of the header; nullopt for one that makes no sense, which is
// then ignored rather than failing the whole request.
std::optional<MediaRange> parse_media_range(std::string_view element) {
  std::vector<std::string_view> parts;
  for (size_t semi; (semi = element.find(';')) != std::string_view::npos;) {
    parts.push_back(trim(element.substr(0, semi)));
    element.remove_prefix(semi + 1);
  }
  parts.push_back(trim(element));

  MediaRange range;
  std::string type = lower(parts[0]);
  if (type == "*") type = "*/*";  // old clients (Java's) send a bare "*"
  size_t slash = type.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == type.size()) return std::nullopt;
  range.type = type.substr(0, slash);
  range.subtype = type.substr(slash + 1);
  if (range.type == "*" && range.subtype != "*") return std::nullopt;
  for (size_t i = 1; i < parts.size(); ++i) {
    size_t eq = parts[i].find('=');
    if (eq == std::string_view::npos || lower(trim(parts[i].substr(0, eq))) != "q") continue;
    auto q = parse_q(trim(parts[i].substr(eq + 1)));
    if (!q) return std::nullopt;
    range.q = *q;
  }
  return range;
}

// How precisely `range` names `offer`: 3 exactly, 2 by type/*, 1 by */*, 0 not at all.
int precision(const MediaRange& range, const Offer& offer) {
  if (range.type == "*") return 1;
  if (range.type != offer.type) return 0;
  if (range.subtype == "*") return 2;
  return range.subtype == offer.subtype ? 3 : 0;
}

}  // namespace

std::string_view content_type_of(Format format) {
  switch (format) {
    case Format::kJson: return "application/json; charset=utf-8";
    case Format::kHtml: return "text/html; charset=utf-8";
    case Format::kText: return "text/plain; charset=utf-8";
  }
  return "application/octet-stream";
}

std::optional<Format> negotiate_accept(const std::string* accept) {
  if (accept == nullptr || trim(*accept).empty()) return Format::kJson;
  std::vector<MediaRange> ranges;
  std::string_view rest = *accept;
  for (;;) {
    size_t comma = rest.find(',');
    std::string_view element = trim(rest.substr(0, comma));
    if (!element.empty()) {
      if (auto range = parse_media_range(element)) ranges.push_back(std::move(*range));
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }

  std::optional<Format> best;
  double best_q = 0;
  int best_precision = 0;
  for (const Offer& offer : kOffers) {
    // The most precise range that names the offer decides its q.
    int offer_precision = 0;
    double q = 0;
    for (const MediaRange& range : ranges) {
      int p = precision(range, offer);
      if (p > offer_precision) offer_precision = p, q = range.q;
    }
    if (q <= 0) continue;
    if (!best || q > best_q || (q == best_q && offer_precision > best_precision)) {
      best = offer.format, best_q = q, best_precision = offer_precision;
    }
  }
  return best;
}

FormatChoice choose_format(const url::QueryParams& query, const std::string* accept) {
  FormatChoice choice;
  std::vector<std::string> formats = url::values_of(query, "format");
  if (formats.size() > 1) {
    choice.status = 400;
    choice.message = "give format once";
    return choice;
  }
  if (formats.size() == 1) {
    for (const Offer& offer : kOffers) {
      if (formats[0] == offer.name) {
        choice.format = offer.format;
        return choice;
      }
    }
    choice.status = 400;
    choice.message = "format must be json, html or text";
    return choice;
  }
  if (auto format = negotiate_accept(accept)) {
    choice.format = *format;
    return choice;
  }
  choice.status = 406;
  choice.message =
      "none of application/json, text/html, text/plain is acceptable; or use ?format=";
  return choice;
}

}  // namespace gmr
