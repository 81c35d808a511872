// render_html.hpp (internal): the report as an HTML page (docs/admin-endpoint.md, "The page").
//
// The page is complete without JavaScript: every section is rendered here, on the server.
// Its skeleton is the embedded web/page.html; its stylesheet and script are linked, never
// inlined (the endpoint's Content-Security-Policy forbids inline script and style). Every
// value from the data goes through html_escape.
//
// Both functions are pure functions of their arguments (no files, no clocks, no shared
// state), so they are thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "gmr/report.hpp"

namespace gmr {

struct HtmlOptions {
  // Prefix of the links to gmr.css and gmr.js, relative to the page's URL: "gmr/static/"
  // for /gmr, "../static/" for /gmr/sections/{id}. Keep it relative so that the page works
  // behind a reverse proxy on a sub-path.
  std::string asset_prefix = "gmr/static/";
};

// Returns the whole page for `report` (all of its sections, in order).
std::string render_html(const Report& report, const HtmlOptions& options = {});

// Returns `text` safe for HTML text and for quoted attribute values: & < > " ' are
// escaped, bytes that are not well-formed UTF-8 and control characters other than tab,
// line feed and carriage return become U+FFFD.
std::string html_escape(std::string_view text);

}  // namespace gmr
