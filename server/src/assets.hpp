// assets.hpp (internal): the files of web/ and openapi/openapi.yaml, embedded
// into the binary at build time (cmake/embed.cmake). Nothing here reads the
// file system, so no request path can reach it.
#pragma once

#include <string_view>
#include <vector>

namespace gmr::assets {

struct Asset {
  std::string_view name;          // the file's base name: "gmr.css"
  std::string_view content_type;  // "text/css; charset=utf-8"
  std::string_view data;
};

// Returns the embedded file with this exact base name, or nullptr.
const Asset* find(std::string_view name);

// Returns the names of every embedded file.
std::vector<std::string_view> names();

}  // namespace gmr::assets
