// render_json.cpp: the report as JSON (docs/report-data.md), with nlohmann_json.
//
// The data maps one to one: mappings keep their insertion order (ordered_json), doubles
// that are not finite become null, and bytes that are not valid UTF-8 are replaced by
// U+FFFD when dumping, so the document is always valid UTF-8 and rendering never throws
// on account of the data.
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "gmr/report.hpp"
#include "gmr/value.hpp"

namespace gmr {
namespace {

using Json = nlohmann::ordered_json;

// Returns `d`, or null when it is not finite (JSON has no NaN or infinity).
Json FiniteOrNull(double d) { return std::isfinite(d) ? Json(d) : Json(nullptr); }

Json ToJson(const Value& v) {
  if (v.is_bool()) return v.as_bool();
  if (v.is_int()) return v.as_int();
  if (v.is_double()) return FiniteOrNull(v.as_double());
  if (v.is_string()) return v.as_string();
  if (v.is_list()) {
    Json array = Json::array();
    for (const Value& item : v.as_list()) array.push_back(ToJson(item));
    return array;
  }
  if (v.is_map()) {
    Json object = Json::object();
    for (const auto& [key, item] : v.as_map()) object[key] = ToJson(item);
    return object;
  }
  return nullptr;
}

Json SectionJson(const Section& section) {
  Json json = Json::object();
  json["id"] = section.id;
  json["title"] = section.title;
  json["data"] = ToJson(section.data);
  if (!section.error.empty()) json["error"] = section.error;
  return json;
}

Json ReportJson(const Report& report) {
  Json json = Json::object();
  json["schema_version"] = report.schema_version;
  json["service"] = report.service;
  json["generated_at"] = report.generated_at;
  json["duration_ms"] = FiniteOrNull(report.duration_ms);
  Json sections = Json::array();
  for (const Section& section : report.sections) sections.push_back(SectionJson(section));
  json["sections"] = std::move(sections);
  return json;
}

std::string Dump(const Json& json, int indent) {
  return json.dump(indent < 0 ? -1 : indent, ' ', /*ensure_ascii=*/false,
                   Json::error_handler_t::replace);
}

}  // namespace

std::string render_json(const Report& report, int indent) {
  return Dump(ReportJson(report), indent);
}

std::string render_section_json(const Section& section, int indent) {
  return Dump(SectionJson(section), indent);
}

}  // namespace gmr
