// Fuzzes the request target and Accept handling without a report behind them:
// url::path_segments, url::parse_query, url::percent_decode, negotiate_accept and
// choose_format. Input: the path, the query and the Accept value on three lines.
//
// Invariants: no path segment can walk the tree ("." "..", '/' '\\' in a decoded
// segment); %00 never decodes to NUL; ?format= decides alone when
// it is a single json, html or text.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "negotiation.hpp"
#include "url.hpp"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

std::string next_line(const std::string& input, size_t& pos) {
  if (pos > input.size()) return "";
  size_t end = input.find('\n', pos);
  if (end == std::string::npos) end = input.size();
  std::string line = input.substr(pos, end - pos);
  pos = end + 1;
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  size_t pos = 0;
  const std::string path = next_line(input, pos);
  const std::string query = next_line(input, pos);
  const bool has_accept = pos <= input.size();
  const std::string accept = next_line(input, pos);

  if (auto segments = gmr::url::path_segments(path)) {
    check(!path.empty() && path[0] == '/', "paths start with '/'");
    for (const std::string& s : *segments) {
      check(s != "." && s != "..", "no dot segments");
      check(s.find('/') == std::string::npos && s.find('\\') == std::string::npos,
            "no separators in a segment");
      // %00 never decodes (a raw NUL byte can only come from the raw path).
      if (path.find('\0') == std::string::npos) check(s.find('\0') == std::string::npos, "no NUL");
    }
  }
  for (bool plus : {false, true}) {
    if (auto decoded = gmr::url::percent_decode(query, plus)) {
      if (query.find('\0') == std::string::npos) {
        check(decoded->find('\0') == std::string::npos, "%00 never decodes");
      }
      check(decoded->size() <= query.size(), "decoding never grows");
    }
  }
  auto params = gmr::url::parse_query(query);
  (void)gmr::negotiate_accept(has_accept ? &accept : nullptr);
  if (params) {
    gmr::FormatChoice choice = gmr::choose_format(*params, has_accept ? &accept : nullptr);
    check(choice.status == 200 || choice.status == 400 || choice.status == 406, "status");
    auto formats = gmr::url::values_of(*params, "format");
    if (formats.size() == 1 && (formats[0] == "json" || formats[0] == "html" || formats[0] == "text")) {
      check(choice.status == 200, "a valid ?format= is always served");
      const gmr::Format expected = formats[0] == "json"   ? gmr::Format::kJson
                                   : formats[0] == "html" ? gmr::Format::kHtml
                                                          : gmr::Format::kText;
      check(choice.format == expected, "?format= wins over Accept");
    }
    if (choice.status != 200) check(!choice.message.empty(), "an error says why");
  }
  return 0;
}
