// gmr built with add_subdirectory: the admin endpoint answers in-process.
#include <gmr/admin.hpp>

#include <cstdio>
#include <string>

int main() {
  gmr::AdminResponse sections = gmr::handle_admin_request({"GET", "/gmr/sections", "", {}});
  gmr::AdminResponse threads =
      gmr::handle_admin_request({"GET", "/gmr/sections/threads", "format=text", {}});
  gmr::shutdown();
  bool ok = sections.status == 200 && sections.body.find("\"threads\"") != std::string::npos &&
            threads.status == 200 && threads.body.find("Thread #") != std::string::npos;
  std::printf("%s: GET /gmr/sections %d, GET /gmr/sections/threads?format=text %d\n",
              ok ? "ok" : "FAILED", sections.status, threads.status);
  return ok ? 0 : 1;
}
