// gmr/report.hpp: a report as plain data, and its renderings.
//
// A Report is a list of Sections, each holding plain data (gmr::Value) in the
// shape documented in docs/report-data.md. The renderers are pure functions of a
// Report: they read no files and no clocks, so they are thread-safe and may be
// called from any thread (but never from a signal handler: they allocate).
#pragma once

#include <string>
#include <vector>

#include "gmr/value.hpp"

namespace gmr {

// The version of the JSON document (and of this data model); bumped on any
// incompatible change. Agrees with the library's major version.
inline constexpr int kSchemaVersion = 1;

struct Section {
  std::string id;     // "package", "threads", "green_threads", "processes",
                      // "configuration", or the slug of a registered title
  std::string title;  // "Package", "Threads", ..., or the registered title
  Value data;         // the collected data (see docs/report-data.md)
  std::string error;  // non-empty when collecting this section failed
};

struct Report {
  int schema_version = kSchemaVersion;
  std::string service;       // the service name given at setup
  std::string generated_at;  // UTC, ISO 8601 with milliseconds: 2026-11-21T22:01:00.123Z
  double duration_ms = 0;    // how long the collection took
  std::vector<Section> sections;
};

// How the text report is laid out.
struct TextOptions {
  // Adds, after each thread list, the groups of identical stacks (count, members,
  // the stack once). Off by default: the seeds' layout is one entry per thread.
  bool group_stacks = false;
};

// Returns the text report in oslo.reports' layout (spec/text-report.md).
std::string render_text(const Report& report, const TextOptions& options = {});

// Returns the report as one JSON document (UTF-8; invalid bytes are replaced).
// `indent` < 0 gives a compact document.
std::string render_json(const Report& report, int indent = 2);

// Returns one section as a JSON document, in the same shape as an element of the
// report's "sections" array.
std::string render_section_json(const Section& section, int indent = 2);

}  // namespace gmr
