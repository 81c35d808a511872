// Tests of the JSON rendering: the document's shape and key order, the one-to-one mapping
// of the data, non-finite doubles, invalid UTF-8 and indentation.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gmr/report.hpp"
#include "gmr/value.hpp"

namespace gmr {
namespace {

using Json = nlohmann::ordered_json;

std::vector<std::string> KeysOf(const Json& object) {
  std::vector<std::string> keys;
  for (const auto& item : object.items()) keys.push_back(item.key());
  return keys;
}

Report TwoSectionReport() {
  Report report;
  report.service = "gmr-demo";
  report.generated_at = "2026-11-21T22:01:00.123Z";
  report.duration_ms = 12.5;
  report.sections = {
      {"package", "Package", Value::map({{"product", "Sharp Cheddar"}}), ""},
      {"work_queue", "Work Queue", nullptr, "generator threw: boom"},
  };
  return report;
}

TEST(RenderJsonTest, ReportHasTheDocumentedShapeAndKeyOrder) {
  const Json json = Json::parse(render_json(TwoSectionReport()));
  EXPECT_EQ(KeysOf(json), (std::vector<std::string>{"schema_version", "service", "generated_at",
                                                    "duration_ms", "sections"}));
  EXPECT_EQ(json["schema_version"], kSchemaVersion);
  EXPECT_EQ(json["service"], "gmr-demo");
  EXPECT_EQ(json["generated_at"], "2026-11-21T22:01:00.123Z");
  EXPECT_EQ(json["duration_ms"], 12.5);
  ASSERT_EQ(json["sections"].size(), 2u);
  EXPECT_EQ(KeysOf(json["sections"][0]), (std::vector<std::string>{"id", "title", "data"}));
  EXPECT_EQ(json["sections"][0]["data"]["product"], "Sharp Cheddar");
}

TEST(RenderJsonTest, ErrorIsPresentOnlyWhenTheSectionFailed) {
  const Json json = Json::parse(render_json(TwoSectionReport()));
  EXPECT_FALSE(json["sections"][0].contains("error"));
  EXPECT_EQ(KeysOf(json["sections"][1]),
            (std::vector<std::string>{"id", "title", "data", "error"}));
  EXPECT_TRUE(json["sections"][1]["data"].is_null());
  EXPECT_EQ(json["sections"][1]["error"], "generator threw: boom");
}

TEST(RenderJsonTest, SectionIsRenderedExactly) {
  const Section section{"cheese", "Cheese", Value::map({{"b", 1}, {"a", Value::list({true})}}), ""};
  EXPECT_EQ(render_section_json(section),
            "{\n"
            "  \"id\": \"cheese\",\n"
            "  \"title\": \"Cheese\",\n"
            "  \"data\": {\n"
            "    \"b\": 1,\n"
            "    \"a\": [\n"
            "      true\n"
            "    ]\n"
            "  }\n"
            "}");
}

TEST(RenderJsonTest, NegativeIndentIsCompact) {
  const Section section{"x", "X", Value::map({{"k", Value::list({1, 2})}}), "oops"};
  EXPECT_EQ(render_section_json(section, -1),
            R"({"id":"x","title":"X","data":{"k":[1,2]},"error":"oops"})");
  EXPECT_EQ(render_json(TwoSectionReport(), -1).find('\n'), std::string::npos);
}

TEST(RenderJsonTest, SectionJsonIsAnElementOfTheReportsSections) {
  const Report report = TwoSectionReport();
  const Json json = Json::parse(render_json(report));
  for (std::size_t i = 0; i < report.sections.size(); ++i) {
    EXPECT_EQ(Json::parse(render_section_json(report.sections[i])), json["sections"][i]);
  }
}

TEST(RenderJsonTest, ValuesMapOneToOneKeepingInsertionOrder) {
  const Value data = Value::map({{"zeta", nullptr},
                                 {"alpha", true},
                                 {"mid", -9007199254740993LL},
                                 {"float", 0.5},
                                 {"text", "caf\xC3\xA9"},
                                 {"list", Value::list({1, "two", Value::list(), Value::map()})},
                                 {"nested", Value::map({{"z", 1}, {"a", 2}})}});
  const Json json = Json::parse(render_section_json({"x", "X", data, ""}))["data"];
  EXPECT_EQ(KeysOf(json),
            (std::vector<std::string>{"zeta", "alpha", "mid", "float", "text", "list", "nested"}));
  EXPECT_TRUE(json["zeta"].is_null());
  EXPECT_TRUE(json["alpha"].is_boolean());
  EXPECT_EQ(json["alpha"], true);
  EXPECT_TRUE(json["mid"].is_number_integer());
  EXPECT_EQ(json["mid"].get<std::int64_t>(), -9007199254740993LL);
  EXPECT_TRUE(json["float"].is_number_float());
  EXPECT_EQ(json["float"], 0.5);
  EXPECT_EQ(json["text"], "caf\xC3\xA9");
  EXPECT_EQ(json["list"], Json::parse(R"([1, "two", [], {}])"));
  EXPECT_EQ(KeysOf(json["nested"]), (std::vector<std::string>{"z", "a"}));
}

TEST(RenderJsonTest, NonFiniteDoublesBecomeNull) {
  Report report = TwoSectionReport();
  report.duration_ms = std::numeric_limits<double>::quiet_NaN();
  report.sections = {{"x", "X",
                      Value::list({std::numeric_limits<double>::infinity(),
                                   -std::numeric_limits<double>::infinity(),
                                   std::numeric_limits<double>::quiet_NaN(), 1.5}),
                      ""}};
  const Json json = Json::parse(render_json(report));
  EXPECT_TRUE(json["duration_ms"].is_null());
  EXPECT_EQ(json["sections"][0]["data"], Json::parse("[null, null, null, 1.5]"));
}

TEST(RenderJsonTest, InvalidUtf8IsReplacedAndTheDocumentParses) {
  const std::string replacement = "\xEF\xBF\xBD";  // U+FFFD
  Report report = TwoSectionReport();
  report.service = "svc\xFF";
  report.sections = {{"x", "T\xC3", Value::map({{"name", "\xFF\xFE"}, {"k\x80", 1}}), "e\xFE"}};
  std::string text;
  ASSERT_NO_THROW(text = render_json(report));
  Json json;
  ASSERT_NO_THROW(json = Json::parse(text)) << text;  // parse rejects invalid UTF-8
  EXPECT_EQ(json["service"], "svc" + replacement);
  const Json& section = json["sections"][0];
  EXPECT_EQ(section["title"], "T" + replacement);
  EXPECT_EQ(section["data"]["name"], replacement + replacement);
  EXPECT_EQ(section["data"]["k" + replacement], 1);
  EXPECT_EQ(section["error"], "e" + replacement);
  EXPECT_NO_THROW(Json::parse(render_section_json(report.sections[0], -1)));
}

TEST(RenderJsonTest, ControlCharactersAreEscaped) {
  const std::string text = render_section_json({"x", "X", "a\nb\t\x01\"", ""}, -1);
  EXPECT_EQ(text, R"({"id":"x","title":"X","data":"a\nb\t\u0001\""})");
}

TEST(RenderJsonTest, EmptyReportIsValid) {
  EXPECT_EQ(render_json(Report{}, -1),
            R"({"schema_version":1,"service":"","generated_at":"","duration_ms":0.0,)"
            R"("sections":[]})");
}

}  // namespace
}  // namespace gmr
