// Built against the installed gmr: the version agrees with the package's, the
// JSON's schema_version with the major version, and every component links.
#include <gmr/admin.hpp>
#include <gmr/fibers.hpp>
#include <gmr/gmr.hpp>

#include <cstdio>
#include <string>

static_assert(gmr::kSchemaVersion == GMR_EXPECTED_SCHEMA,
              "gmr::kSchemaVersion is not the package's major version");

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what.c_str());
  if (!ok) ++failures;
}

}  // namespace

int main() {
  gmr::register_section("Consumer", [] { return gmr::Value::map({{"built_with", "find_package"}}); });

  gmr::Report report = gmr::collect();
  check(report.schema_version == GMR_EXPECTED_SCHEMA, "schema_version is the major version");
  std::string version;
  for (const gmr::Section& s : report.sections) {
    if (s.id == "package") version = s.data.get_string("gmr_version");
  }
  check(version == GMR_EXPECTED_VERSION, "gmr_version '" + version + "' is the package's");
  std::string json = gmr::render_json(report, -1);
  check(json.find("\"schema_version\":" + std::to_string(GMR_EXPECTED_SCHEMA)) != std::string::npos,
        "the JSON carries schema_version");
  check(gmr::render_text(report).find("Guru Meditation") != std::string::npos, "the text report");

  gmr::AdminResponse r = gmr::handle_admin_request({"GET", "/gmr/sections/consumer", "", {}});
  check(r.status == 200 && r.body.find("find_package") != std::string::npos,
        "GET /gmr/sections/consumer");

  std::string fibers = gmr::fibers::stack_support_problem();  // links gmr::fibers
  std::printf("gmr::fibers: %s\n", fibers.empty() ? "fiber stacks supported" : fibers.c_str());
  gmr::shutdown();
  return failures == 0 ? 0 : 1;
}
