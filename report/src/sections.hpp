// sections.hpp (internal): the built-in sections' collectors. Each returns the
// plain data documented in docs/report-data.md and may throw; the engine turns a
// throw into the section's error.
#pragma once

#include <chrono>
#include <string>

#include "gmr/gmr.hpp"
#include "symbolizer.hpp"
#include "thread_capture.hpp"

namespace gmr {

Value collect_package(const Version& version, const std::string& service);
Value collect_threads(ThreadCapture& capture, Symbolizer& symbolizer,
                      std::chrono::milliseconds timeout);
Value collect_green_threads(Symbolizer& symbolizer);
// Lists this process and its children; secret options on their command lines
// are masked with `config`'s definitions when given.
Value collect_processes(const Config* config = nullptr);

}  // namespace gmr
