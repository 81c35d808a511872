// A consumer's shared library with gmr::report linked in: only gmr's public API may
// appear among its exported symbols.
#include <gmr/gmr.hpp>

#include <string>

extern "C" int consumer_plugin_sections() {
  return static_cast<int>(gmr::collect().sections.size());
}

extern "C" const char* consumer_plugin_json() {
  static std::string json = gmr::render_json(gmr::collect());
  return json.c_str();
}
