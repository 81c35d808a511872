// gmr fetched with FetchContent: a report is collected and rendered.
#include <gmr/gmr.hpp>

#include <cstdio>
#include <string>

int main() {
  gmr::register_section("Consumer", [] { return gmr::Value::map({{"built_with", "FetchContent"}}); });
  std::string text = gmr::render_text(gmr::collect());
  gmr::shutdown();
  bool ok = text.find("Guru Meditation") != std::string::npos &&
            text.find("built_with = FetchContent") != std::string::npos;
  std::printf("%s: the text report has %zu bytes\n", ok ? "ok" : "FAILED", text.size());
  return ok ? 0 : 1;
}
