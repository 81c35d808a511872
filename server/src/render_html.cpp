// render_html.cpp: the report as an HTML page (docs/admin-endpoint.md, "The page").
//
// A pure function of the report's data, like the text renderer: every section is an
// <section class="gmr-section"> whose body is chosen by the section's id; any shape the data
// may have renders without throwing. The class names, ids and data attributes below are the
// contract with web/gmr.js and the browser tests: change them only together.
#include "render_html.hpp"

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "assets.hpp"
#include "gmr/report.hpp"
#include "gmr/value.hpp"

namespace gmr {
namespace {

// Threads (and green threads) are open by default only when there are this many or fewer.
constexpr std::size_t kOpenThreadsMax = 20;
// Generic values nested deeper than this are cut short (keeps recursion bounded).
constexpr int kMaxDepth = 64;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The skeleton used when web/page.html is not embedded (it always is in a normal build).
constexpr std::string_view kFallbackPage =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>{{title}}</title>\n"
    "<link rel=\"stylesheet\" href=\"{{asset_prefix}}gmr.css\">\n"
    "<script src=\"{{asset_prefix}}gmr.js\" defer></script>\n</head>\n<body>\n"
    "<header class=\"page-header\"><h1>Guru Meditation {{service}}</h1>\n"
    "<p class=\"meta\">Generated <time datetime=\"{{generated_at}}\">{{generated_at_display}}"
    "</time> in {{duration_ms}} ms</p>\n"
    "<nav class=\"formats\"><a href=\"?format=json\">JSON</a> "
    "<a href=\"?format=text\">Text</a></nav></header>\n"
    "{{toc}}\n<main id=\"report\" data-service=\"{{service}}\" "
    "data-generated-at=\"{{generated_at}}\">\n{{body}}\n</main>\n</body>\n</html>\n";

// ---------------------------------------------------------------------------------------
// Escaping.

// Returns the length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF) that starts at s[i], or 0 when there is none.
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto byte = [&s](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;  // bounds of the second byte
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > s.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

// Returns the escape for an ASCII byte, or an empty view when it stands for itself.
std::string_view AsciiEscape(char c) {
  switch (c) {
    case '&':
      return "&amp;";
    case '<':
      return "&lt;";
    case '>':
      return "&gt;";
    case '"':
      return "&quot;";
    case '\'':
      return "&#39;";
    case '\t':
    case '\n':
    case '\r':
      return {};
    default:
      break;
  }
  const auto code = static_cast<unsigned char>(c);
  return code < 0x20 || code == 0x7F ? kReplacement : std::string_view();
}

void AppendEscaped(std::string& out, std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = Utf8SequenceLength(text, i);
    if (length == 0) {
      out += kReplacement;
      ++i;
    } else if (length == 1) {
      const std::string_view escape = AsciiEscape(text[i]);
      if (escape.empty()) {
        out += text[i];
      } else {
        out += escape;
      }
      ++i;
    } else {
      out.append(text, i, length);
      i += length;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Building elements. Tag names, class names and attribute names are literals of this file;
// everything else goes through AppendEscaped.

// Returns ` name="VALUE"` with the value escaped.
std::string Attr(std::string_view name, std::string_view value) {
  std::string out = " ";
  out += name;
  out += "=\"";
  AppendEscaped(out, value);
  out += '"';
  return out;
}

// Appends <TAG class="CLASS">TEXT</TAG> (no class attribute when `css_class` is empty).
void AppendElement(std::string& out, std::string_view tag, std::string_view css_class,
                   std::string_view text) {
  out += '<';
  out += tag;
  if (!css_class.empty()) out += Attr("class", css_class);
  out += '>';
  AppendEscaped(out, text);
  out += "</";
  out += tag;
  out += '>';
}

// Appends <span class="CLASS">TEXT</span>.
void AppendSpan(std::string& out, std::string_view css_class, std::string_view text) {
  AppendElement(out, "span", css_class, text);
}

// Returns "1 thread" or "N threads".
std::string Count(std::size_t n, std::string_view noun) {
  std::string out = std::to_string(n) + " " + std::string(noun);
  if (n != 1) out += 's';
  return out;
}

// Returns `d` with `decimals` digits after the point.
std::string Fixed(double d, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, d);
  return buffer;
}

// ---------------------------------------------------------------------------------------
// Reading the data without trusting its shape.

const Value& Member(const Value& v, std::string_view key) {
  static const Value kNull;
  const Value* found = v.find(key);
  return found ? *found : kNull;
}

const Value::List& ListMember(const Value& v, std::string_view key) {
  static const Value::List kEmpty;
  const Value& member = Member(v, key);
  return member.is_list() ? member.as_list() : kEmpty;
}

// Returns a scalar member as text (as the text report shows it), or "" when absent or null.
std::string MemberText(const Value& v, std::string_view key) {
  const Value& member = Member(v, key);
  return member.is_null() ? std::string() : member.scalar_text();
}

bool MemberIsTrue(const Value& v, std::string_view key) {
  const Value& member = Member(v, key);
  return member.is_bool() && member.as_bool();
}

// Returns a number of seconds as "0.12 s", or "" when it is not a number.
std::string Seconds(const Value& v) {
  if (v.is_double()) return Fixed(v.as_double(), 2) + " s";
  if (v.is_int()) return std::to_string(v.as_int()) + " s";
  return {};
}

// ---------------------------------------------------------------------------------------
// Generic values: the package, registered sections, option values, green thread details.

void AppendValue(std::string& out, const Value& v, int depth);

// Appends a scalar: its text as the text report shows it (None, True, 1.5, the string).
void AppendScalar(std::string& out, const Value& v) {
  if (v.is_null()) return AppendSpan(out, "scalar null", "None");
  if (v.is_bool()) return AppendSpan(out, "scalar bool", v.scalar_text());
  if (v.is_int() || v.is_double()) return AppendSpan(out, "scalar number", v.scalar_text());
  AppendSpan(out, "scalar string", v.scalar_text());
}

// Appends a mapping as <dl class="value-map">, keys in the data's order.
void AppendMap(std::string& out, const Value::Map& map, int depth) {
  if (map.empty()) return AppendSpan(out, "empty", "(empty)");
  out += "<dl class=\"value-map\">";
  for (const auto& [key, item] : map) {
    AppendElement(out, "dt", "", key);
    out += "<dd>";
    AppendValue(out, item, depth + 1);
    out += "</dd>";
  }
  out += "</dl>";
}

// Appends a list as <ul class="value-list">, in the data's order.
void AppendList(std::string& out, const Value::List& list, int depth) {
  if (list.empty()) return AppendSpan(out, "empty", "(empty)");
  out += "<ul class=\"value-list\">";
  for (const Value& item : list) {
    out += "<li>";
    AppendValue(out, item, depth + 1);
    out += "</li>";
  }
  out += "</ul>";
}

void AppendValue(std::string& out, const Value& v, int depth) {
  if (depth > kMaxDepth && (v.is_map() || v.is_list())) {
    return AppendSpan(out, "empty", "(nested too deep)");
  }
  if (v.is_map()) return AppendMap(out, v.as_map(), depth);
  if (v.is_list()) return AppendList(out, v.as_list(), depth);
  AppendScalar(out, v);
}

// ---------------------------------------------------------------------------------------
// Frames, threads and green threads.

// Returns where a frame is: FILE:LINE, else OBJECT+OFFSET, else its address, else "??".
std::string FrameLocation(const Value& frame) {
  const Value& file = Member(frame, "file");
  const Value& line = Member(frame, "line");
  if (file.is_string() && line.is_int()) return file.as_string() + ":" + line.scalar_text();
  const Value& object = Member(frame, "object");
  const Value& offset = Member(frame, "offset");
  if (object.is_string() && offset.is_string()) {
    return object.as_string() + "+" + offset.as_string();
  }
  const Value& address = Member(frame, "address");
  if (address.is_string()) return address.as_string();
  if (object.is_string()) return object.as_string();
  return "??";
}

// Returns the tooltip of a frame's location: its address, and its binary when the
// location shows a file.
std::string FrameDetail(const Value& frame) {
  std::string detail = MemberText(frame, "address");
  const Value& object = Member(frame, "object");
  const Value& offset = Member(frame, "offset");
  if (Member(frame, "file").is_string() && object.is_string()) {
    if (!detail.empty()) detail += " in ";
    detail += object.as_string();
    if (offset.is_string()) detail += "+" + offset.as_string();
  }
  return detail;
}

void AppendFrame(std::string& out, const Value& frame) {
  const bool inlined = MemberIsTrue(frame, "inlined");
  out += "<li class=\"frame\"";
  if (inlined) out += " data-inlined=\"true\"";
  out += '>';
  const Value& function = Member(frame, "function");
  if (function.is_string()) {
    AppendSpan(out, "function", function.as_string());
  } else {
    AppendSpan(out, "function unknown", "??");
  }
  if (inlined) {
    out += ' ';
    AppendSpan(out, "badge badge-inlined", "inlined");
  }
  out += " <span class=\"location\"";
  const std::string detail = FrameDetail(frame);
  if (!detail.empty()) out += Attr("title", detail);
  out += '>';
  AppendEscaped(out, FrameLocation(frame));
  out += "</span>";
  const Value& source = Member(frame, "source");
  if (source.is_string()) {
    out += ' ';
    AppendElement(out, "code", "source", source.as_string());
  }
  out += "</li>\n";
}

// Appends the frames, innermost first (as the data lists them; gdb's order), numbered from
// 0; or a line saying why there are none.
void AppendFrames(std::string& out, const Value& thread) {
  const Value::List& frames = ListMember(thread, "frames");
  const std::string detail = thread.get_string("status_detail");
  if (!detail.empty()) AppendElement(out, "p", "status-detail", detail);
  if (frames.empty()) {
    if (detail.empty()) AppendElement(out, "p", "no-frames", "No traceback.");
    return;
  }
  out += "<ol class=\"frames\" start=\"0\">\n";
  for (const Value& frame : frames) AppendFrame(out, frame);
  out += "</ol>\n";
}

// Returns where a thread is, for its summary: the innermost function with a source file
// that was not inlined (the innermost frames are often the C library's, inlined ones often
// the standard library's), else the innermost such function inlined or not, else the
// innermost known function.
std::string Whereabouts(const Value& thread) {
  const Value::List& frames = ListMember(thread, "frames");
  const auto find = [&frames](bool need_file, bool need_outlined) {
    for (const Value& frame : frames) {
      const Value& function = Member(frame, "function");
      if (!function.is_string()) continue;
      if (need_file && !Member(frame, "file").is_string()) continue;
      if (need_outlined && MemberIsTrue(frame, "inlined")) continue;
      return function.as_string();
    }
    return std::string();
  };
  std::string where = find(true, true);
  if (where.empty()) where = find(true, false);
  if (where.empty()) where = find(false, false);
  return where;
}

// Appends `in FUNCTION` to a summary when the thread has frames.
void AppendWhereabouts(std::string& out, const Value& thread) {
  const std::string where = Whereabouts(thread);
  if (where.empty()) return;
  out += " <span class=\"thread-where\"" + Attr("title", where) + ">in ";
  AppendEscaped(out, where);
  out += "</span>";
}

// Returns the words for a thread's status, or "" for a plain captured thread.
std::string_view StatusLabel(std::string_view status) {
  if (status == "self") return "reporting thread";
  if (status == "blocked") return "blocked";
  if (status == "not_responding") return "not responding";
  if (status == "ok" || status.empty()) return {};
  return status;
}

void AppendThread(std::string& out, const Value& thread, bool open) {
  const std::string id = MemberText(thread, "id");
  const std::string name = thread.get_string("name");
  const std::string status = thread.get_string("status", "ok");
  out += "<details class=\"thread\"" + Attr("data-thread-id", id) + Attr("data-thread-name", name) +
         Attr("data-status", status);
  if (open) out += " open";
  out += ">\n<summary>";
  AppendSpan(out, "thread-id", "#" + id);
  out += ' ';
  AppendSpan(out, name.empty() ? "thread-name unnamed" : "thread-name",
             name.empty() ? "(unnamed)" : name);
  const std::string state = MemberText(thread, "state");
  if (!state.empty()) {
    out += ' ';
    AppendSpan(out, "thread-state", state);
  }
  const std::string user = Seconds(Member(thread, "cpu_user_s"));
  const std::string system = Seconds(Member(thread, "cpu_system_s"));
  if (!user.empty() || !system.empty()) {
    out += ' ';
    AppendSpan(out, "thread-cpu",
               "CPU " + (user.empty() ? "?" : user) + " user, " + (system.empty() ? "?" : system) +
                   " system");
  }
  const std::string_view label = StatusLabel(status);
  if (!label.empty()) {
    out += ' ';
    AppendSpan(out, "badge badge-status", label);
  }
  AppendWhereabouts(out, thread);
  out += "</summary>\n";
  AppendFrames(out, thread);
  out += "</details>\n";
}

// Returns a member of a group of identical stacks as text: "4242 (worker-3)" for a thread,
// "fetcher (test-scheduler)" for a green thread.
std::string GroupMember(const Value& member) {
  const std::string id = MemberText(member, "id");
  const std::string name = member.get_string("name");
  const std::string source = member.get_string("source");
  std::string text = id.empty() ? (name.empty() ? "(unnamed)" : name) : id;
  const std::string& extra = id.empty() ? source : name;
  if (!extra.empty()) text += " (" + extra + ")";
  return text;
}

void AppendStackGroup(std::string& out, const Value& group, std::string_view noun, bool open) {
  constexpr std::size_t kNamedInSummary = 4;
  const Value::List& members = ListMember(group, "members");
  const std::string count = MemberText(group, "count");
  out += "<details class=\"stack-group\"" + Attr("data-count", count);
  if (open) out += " open";
  out += ">\n<summary>";
  AppendSpan(out, "group-count",
             count == "1" ? "1 " + std::string(noun) : count + " " + std::string(noun) + "s");
  std::string named;
  for (std::size_t i = 0; i < members.size() && i < kNamedInSummary; ++i) {
    named += (i == 0 ? "" : ", ") + GroupMember(members[i]);
  }
  if (members.size() > kNamedInSummary) {
    named += " and " + std::to_string(members.size() - kNamedInSummary) + " more";
  }
  out += ' ';
  AppendSpan(out, "group-members", named);
  out += "</summary>\n";
  if (members.size() > kNamedInSummary) {
    std::string all;
    for (const Value& member : members) all += (all.empty() ? "" : ", ") + GroupMember(member);
    AppendElement(out, "p", "group-members-all", all);
  }
  AppendFrames(out, group);
  out += "</details>\n";
}

// Returns the groups of identical stacks that more than one thread shares.
std::size_t SharedStacks(const Value& data) {
  std::size_t shared = 0;
  for (const Value& group : ListMember(data, "groups")) shared += group.get_int("count") > 1;
  return shared;
}

// Appends the section's summary line: how many stacks more than one thread shares.
void AppendSummary(std::string& out, std::string_view summary, std::size_t shared_stacks) {
  out += "<p class=\"section-summary\">";
  AppendEscaped(out, summary);
  if (shared_stacks > 0) {
    out += " · ";
    AppendEscaped(out, Count(shared_stacks, "shared stack"));
  }
  out += "</p>\n";
}

// Appends the switch between the grouped view and the flat list; the script shows it
// (without the script both views are on the page, the grouped one first).
void AppendViewSwitch(std::string& out, std::string_view flat_label) {
  out += "<div class=\"view-switch\" role=\"group\" aria-label=\"View\" hidden>"
         "<button type=\"button\" class=\"view-button\" data-view=\"grouped\" "
         "aria-pressed=\"true\">Grouped stacks</button>"
         "<button type=\"button\" class=\"view-button\" data-view=\"flat\" "
         "aria-pressed=\"false\">";
  AppendEscaped(out, flat_label);
  out += "</button></div>\n";
}

// Appends every group of identical stacks, largest first (a group of one is a stack no
// other thread shares): the grouped view.
void AppendStackGroups(std::string& out, const Value& data, std::string_view noun,
                       std::string_view anchor) {
  const Value::List& groups = ListMember(data, "groups");
  if (groups.empty()) return;
  out += "<div class=\"stack-groups\"" + Attr("id", anchor) + ">\n";
  AppendElement(out, "h3", "", "Grouped stacks (" + Count(groups.size(), "distinct stack") + ")");
  const bool open = groups.size() <= kOpenThreadsMax;
  for (const Value& group : groups) AppendStackGroup(out, group, noun, open);
  out += "</div>\n";
}

void AppendThreadsBody(std::string& out, const Value& data) {
  const Value::List& threads = ListMember(data, "threads");
  std::string summary = Count(threads.size(), "thread");
  const std::string signal = data.get_string("capture_signal_name");
  if (!signal.empty()) {
    summary += ", captured with " + signal;
    const std::string number = MemberText(data, "capture_signal");
    if (!number.empty()) summary += " (" + number + ")";
  }
  AppendSummary(out, summary, SharedStacks(data));
  const bool grouped = !ListMember(data, "groups").empty();
  if (grouped) AppendViewSwitch(out, "All threads");
  out += "<div class=\"thread-views\" data-view=\"grouped\">\n";
  AppendStackGroups(out, data, "thread", "threads-grouped");
  const bool open = threads.size() <= kOpenThreadsMax;
  out += "<div class=\"threads\">\n";
  if (grouped) AppendElement(out, "h3", "", "All threads");
  for (const Value& thread : threads) AppendThread(out, thread, open);
  out += "</div>\n</div>\n";
}

void AppendGreenThread(std::string& out, const Value& thread, bool open) {
  const std::string name = thread.get_string("name");
  out += "<details class=\"green-thread\"" + Attr("data-thread-name", name);
  if (open) out += " open";
  out += ">\n<summary>";
  AppendSpan(out, name.empty() ? "thread-name unnamed" : "thread-name",
             name.empty() ? "(unnamed)" : name);
  for (const char* key : {"state", "source"}) {
    const std::string text = MemberText(thread, key);
    if (text.empty()) continue;
    out += ' ';
    AppendSpan(out, std::string("thread-") + key, text);
  }
  AppendWhereabouts(out, thread);
  out += "</summary>\n";
  AppendFrames(out, thread);
  const Value* details = thread.find("details");
  if (details != nullptr && !details->is_null()) {
    out += "<div class=\"green-thread-details\">";
    AppendValue(out, *details, 0);
    out += "</div>\n";
  }
  out += "</details>\n";
}

void AppendGreenThreadsBody(std::string& out, const Value& data) {
  const Value::List& threads = ListMember(data, "green_threads");
  std::string summary = Count(threads.size(), "green thread");
  const Value::List& sources = ListMember(data, "sources");
  std::string from;
  for (const Value& source : sources) {
    if (!from.empty()) from += ", ";
    from += source.get_string("name") + " (" + MemberText(source, "count") + ")";
  }
  if (!from.empty()) summary += " from " + from;
  AppendSummary(out, summary, SharedStacks(data));
  for (const Value& source : sources) {
    const std::string error = source.get_string("error");
    if (error.empty()) continue;
    AppendElement(out, "p", "source-error",
                  "Green thread source " + source.get_string("name") + " failed: " + error);
  }
  const bool grouped = !ListMember(data, "groups").empty();
  if (grouped) AppendViewSwitch(out, "All green threads");
  out += "<div class=\"thread-views\" data-view=\"grouped\">\n";
  AppendStackGroups(out, data, "green thread", "green-threads-grouped");
  const bool open = threads.size() <= kOpenThreadsMax;
  out += "<div class=\"green-threads\">\n";
  if (grouped) AppendElement(out, "h3", "", "All green threads");
  for (const Value& thread : threads) AppendGreenThread(out, thread, open);
  out += "</div>\n</div>\n";
}

// ---------------------------------------------------------------------------------------
// Processes.

void AppendProcessTree(std::string& out, const Value::List& processes, int depth);

void AppendProcess(std::string& out, const Value& process, int depth) {
  out += "<li class=\"process\"" + Attr("data-pid", MemberText(process, "pid")) + ">";
  out += "<div class=\"process-line\">";
  AppendSpan(out, "pid", MemberText(process, "pid"));
  out += ' ';
  AppendSpan(out, "command", MemberText(process, "command"));
  out += "</div><div class=\"process-meta\">";
  const std::string uid = MemberText(process, "uid");
  const Value& user = Member(process, "user");
  std::string meta = "parent " + MemberText(process, "ppid") + " · run by " +
                     (user.is_string() ? user.as_string() : uid) + " (" + uid + ")";
  const std::string state = MemberText(process, "state");
  if (!state.empty()) meta += " · " + state;
  AppendEscaped(out, meta);
  out += "</div>";
  const Value::List& children = ListMember(process, "children");
  if (!children.empty()) AppendProcessTree(out, children, depth + 1);
  out += "</li>\n";
}

void AppendProcessTree(std::string& out, const Value::List& processes, int depth) {
  if (depth > kMaxDepth) return AppendSpan(out, "empty", "(nested too deep)");
  out += "<ul class=\"process-tree\">\n";
  for (const Value& process : processes) AppendProcess(out, process, depth);
  out += "</ul>\n";
}

void AppendProcessesBody(std::string& out, const Value& data) {
  AppendProcessTree(out, ListMember(data, "processes"), 0);
}

// ---------------------------------------------------------------------------------------
// Configuration.

// Returns an option's `value` or `default` as shown: a secret shows `***` unless unset (the
// collector already redacts; this keeps a secret from leaking if one ever did not).
Value Shown(const Value& option, std::string_view key) {
  const Value& value = Member(option, key);
  if (MemberIsTrue(option, "secret") && !value.is_null()) return Value("***");
  return value;
}

// Appends <td class="CSS" data-label="LABEL"> with a value in it.
void AppendValueCell(std::string& out, std::string_view css_class, std::string_view label,
                     const Value& v) {
  out += "<td" + Attr("class", css_class) + Attr("data-label", label) + ">";
  AppendValue(out, v, 0);
  out += "</td>";
}

void AppendOption(std::string& out, const Value& option) {
  const std::string name = option.get_string("name");
  const bool secret = MemberIsTrue(option, "secret");
  out += "<tr class=\"option\"" + Attr("data-option", name);
  if (secret) out += " data-secret=\"true\"";
  out += "><th scope=\"row\">";
  AppendSpan(out, "option-name", name);
  if (secret) {
    out += ' ';
    AppendSpan(out, "badge badge-secret", "secret");
  }
  const std::string help = option.get_string("help");
  if (!help.empty()) AppendElement(out, "div", "help", help);
  out += "</th>";
  AppendValueCell(out, "value", "Value", Shown(option, "value"));
  AppendValueCell(out, "default", "Default", Shown(option, "default"));
  out += "<td class=\"type\" data-label=\"Type\">";
  AppendEscaped(out, MemberText(option, "type"));
  out += "</td><td class=\"source\" data-label=\"Source\">";
  AppendEscaped(out, MemberText(option, "source"));
  out += "</td></tr>\n";
}

void AppendGroup(std::string& out, const Value& group) {
  const std::string name = group.get_string("name");
  out += "<table class=\"config-group\"" + Attr("data-group", name) + ">\n";
  AppendElement(out, "caption", "", name);
  out +=
      "\n<thead><tr><th scope=\"col\">Option</th><th scope=\"col\">Value</th>"
      "<th scope=\"col\">Default</th><th scope=\"col\">Type</th>"
      "<th scope=\"col\">Source</th></tr></thead>\n<tbody>\n";
  for (const Value& option : ListMember(group, "options")) AppendOption(out, option);
  out += "</tbody>\n</table>\n";
}

void AppendConfigurationBody(std::string& out, const Value& data) {
  for (const Value& group : ListMember(data, "groups")) AppendGroup(out, group);
}

// ---------------------------------------------------------------------------------------
// Sections and the page.

struct BodyRenderer {
  std::string_view section_id;
  void (*append)(std::string& out, const Value& data);
};

// The built-in sections' bodies, by section id; any other section is generic.
constexpr BodyRenderer kBodyRenderers[] = {
    {"threads", AppendThreadsBody},
    {"green_threads", AppendGreenThreadsBody},
    {"processes", AppendProcessesBody},
    {"configuration", AppendConfigurationBody},
};

void AppendBody(std::string& out, const Section& section) {
  // A section that failed before collecting anything has only its error to show.
  if (section.data.is_null() && !section.error.empty()) return;
  if (section.data.is_map()) {
    for (const BodyRenderer& renderer : kBodyRenderers) {
      if (renderer.section_id != section.id) continue;
      renderer.append(out, section.data);
      return;
    }
  }
  out += "<div class=\"section-data\">";
  AppendValue(out, section.data, 0);
  out += "</div>\n";
}

void AppendSection(std::string& out, const Section& section) {
  const std::string anchor = "section-" + section.id;
  out += "<section class=\"gmr-section\"" + Attr("id", anchor) +
         Attr("data-section-id", section.id) + ">\n<h2>";
  AppendEscaped(out, section.title);
  out += " <a class=\"anchor\"" + Attr("href", "#" + anchor) +
         " aria-label=\"Link to this section\">#</a></h2>\n";
  if (!section.error.empty()) AppendElement(out, "p", "section-error", "Error: " + section.error);
  AppendBody(out, section);
  out += "</section>\n";
}

// Returns the table of contents (links within the page), or "" for a one-section page.
std::string TableOfContents(const Report& report) {
  if (report.sections.size() < 2) return {};
  std::string out = "<nav class=\"toc\" aria-label=\"Sections\"><ul>";
  for (const Section& section : report.sections) {
    out += "<li";
    if (!section.error.empty()) out += " class=\"failed\"";
    out += "><a" + Attr("href", "#section-" + section.id) + ">";
    AppendEscaped(out, section.title);
    out += "</a></li>";
  }
  out += "</ul></nav>";
  return out;
}

// Returns 2026-11-21T22:01:00.123Z as "2026-11-21 22:01:00.123 UTC"; anything else as is.
std::string DisplayTime(const std::string& iso) {
  if (iso.size() < 20 || iso[10] != 'T' || iso.back() != 'Z') return iso;
  return iso.substr(0, 10) + " " + iso.substr(11, iso.size() - 12) + " UTC";
}

std::string PageTitle(const Report& report) {
  std::string title =
      report.service.empty() ? "Guru Meditation" : report.service + ": Guru Meditation";
  if (report.sections.size() == 1) title = report.sections.front().title + " · " + title;
  return title;
}

using Substitutions = std::vector<std::pair<std::string_view, std::string>>;

// Returns `page` with every {{name}} that `values` knows replaced by its value, in one pass:
// a value is never scanned for placeholders. Unknown placeholders are left as they are.
std::string Fill(std::string_view page, const Substitutions& values) {
  std::string out;
  out.reserve(page.size());
  std::size_t i = 0;
  while (i < page.size()) {
    const std::size_t open = page.find("{{", i);
    const std::size_t close = open == std::string_view::npos ? open : page.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(page, i, open - i);
    const std::string_view name = page.substr(open + 2, close - open - 2);
    const std::string* value = nullptr;
    for (const auto& entry : values) {
      if (entry.first == name) value = &entry.second;
    }
    if (value != nullptr) {
      out += *value;
    } else {
      out.append(page, open, close + 2 - open);
    }
    i = close + 2;
  }
  out.append(page, i, std::string_view::npos);
  return out;
}

std::string_view PageTemplate() {
  const assets::Asset* page = assets::find("page.html");
  return page != nullptr ? page->data : kFallbackPage;
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  AppendEscaped(out, text);
  return out;
}

std::string render_html(const Report& report, const HtmlOptions& options) {
  std::string body;
  for (const Section& section : report.sections) AppendSection(body, section);
  const Substitutions values = {
      {"title", html_escape(PageTitle(report))},
      {"asset_prefix", html_escape(options.asset_prefix)},
      {"service", html_escape(report.service)},
      {"generated_at", html_escape(report.generated_at)},
      {"generated_at_display", html_escape(DisplayTime(report.generated_at))},
      {"duration_ms", html_escape(Fixed(report.duration_ms, 1))},
      {"schema_version", std::to_string(report.schema_version)},
      {"toc", TableOfContents(report)},
      {"body", std::move(body)},
  };
  return Fill(PageTemplate(), values);
}

}  // namespace gmr
