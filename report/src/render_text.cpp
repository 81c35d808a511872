// render_text.cpp: the text report, in oslo.reports' layout (spec/text-report.md).
//
// A pure function of the report's data: every section is a banner and a body chosen by
// the section's id; anything the data lacks is left out rather than guessed, and any shape
// the data may have renders without throwing. Widths are counted in characters (UTF-8 code
// points; a byte that is not valid UTF-8 counts as one character).
#include <algorithm>
#include <cstddef>
#include <string>
#include <unordered_map>
#include <string_view>
#include <utility>
#include <vector>

#include "gmr/report.hpp"
#include "gmr/value.hpp"

namespace gmr {
namespace {

constexpr std::size_t kWidth = 72;        // every banner line
constexpr std::size_t kTitleField = 64;   // the title inside `====` ... `====`
constexpr std::size_t kThreadField = 60;  // the label inside `------` ... `------`
constexpr int kStep = 2;                  // indentation of nested values
constexpr int kProcessStep = 4;           // indentation of child processes
constexpr std::string_view kEllipsis = "...";

// ---------------------------------------------------------------------------------------
// Characters and lines.

// Returns the length in bytes of the UTF-8 character starting at s[i], or 1 when the byte
// there does not start a complete, well-formed sequence.
std::size_t CharLength(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = 1;
  if ((c & 0xE0) == 0xC0) n = 2;
  if ((c & 0xF0) == 0xE0) n = 3;
  if ((c & 0xF8) == 0xF0) n = 4;
  if (i + n > s.size()) return 1;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
  }
  return n;
}

// Returns the number of characters in `s`.
std::size_t Width(std::string_view s) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size(); i += CharLength(s, i)) ++count;
  return count;
}

// Returns the first `count` characters of `s`.
std::string_view FirstChars(std::string_view s, std::size_t count) {
  std::size_t i = 0;
  for (; i < s.size() && count > 0; --count) i += CharLength(s, i);
  return s.substr(0, i);
}

// Returns `s` shortened with "..." to at most `width` characters.
std::string Fit(std::string_view s, std::size_t width) {
  if (Width(s) <= width) return std::string(s);
  if (width < kEllipsis.size()) return std::string(FirstChars(s, width));
  return std::string(FirstChars(s, width - kEllipsis.size())) + std::string(kEllipsis);
}

// Returns `s` centred in `width` characters; when the padding is odd the extra space goes
// to the right, as Python's '{0: ^N}'.format(s) does.
std::string Centre(std::string_view s, std::size_t width) {
  const std::size_t used = Width(s);
  if (used >= width) return std::string(s);
  const std::size_t left = (width - used) / 2;
  return std::string(left, ' ') + std::string(s) + std::string(width - used - left, ' ');
}

// Returns `s` with line breaks spelled out, for text that must stay on one line
// (banners, keys, names, locations).
std::string OneLine(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  return out;
}

// Appends each line of `text` on its own line, indented by `indent` spaces.
void AppendLines(std::string& out, int indent, std::string_view text) {
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find('\n', start);
    out.append(static_cast<std::size_t>(indent), ' ');
    out.append(text.substr(start, end - start));
    out += '\n';
    if (end == std::string_view::npos) return;
    start = end + 1;
  }
}

// Appends `head` followed by `text` at `indent`. A text that spans lines goes below the
// head instead, every one of its lines indented one step further (oslo.reports' layout for
// a multi-line value), so that no line of it can be mistaken for an entry of its own.
void AppendScalar(std::string& out, int indent, std::string_view head, std::string_view text) {
  if (text.find('\n') == std::string_view::npos) {
    out.append(static_cast<std::size_t>(indent), ' ');
    out.append(head);
    out.append(text);
    out += '\n';
    return;
  }
  if (!head.empty()) AppendLines(out, indent, head);
  AppendLines(out, indent + kStep, text);
}

// ---------------------------------------------------------------------------------------
// Reading the data without trusting its shape.

// Returns the member `key` of a mapping, or a null Value.
const Value& Member(const Value& v, std::string_view key) {
  static const Value kNull;
  const Value* found = v.find(key);
  return found ? *found : kNull;
}

// Returns the member `key` when it is a list, else an empty list.
const Value::List& ListMember(const Value& v, std::string_view key) {
  static const Value::List kEmpty;
  const Value& member = Member(v, key);
  return member.is_list() ? member.as_list() : kEmpty;
}

// Returns the member `key` as one line of text (None when absent or null).
std::string MemberText(const Value& v, std::string_view key) {
  return OneLine(Member(v, key).scalar_text());
}

// ---------------------------------------------------------------------------------------
// Generic values: registered sections, package, configuration options.

enum class ListOrder { kAsGiven, kSorted };

void AppendValue(std::string& out, int indent, std::string_view head, const Value& v,
                 ListOrder order);

// Appends `key = value` entries sorted by key.
void AppendEntries(std::string& out, int indent, const Value::Map& map, ListOrder order) {
  std::vector<const Value::Map::value_type*> entries;
  for (const auto& entry : map) entries.push_back(&entry);
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto* a, const auto* b) { return a->first < b->first; });
  for (const auto* entry : entries) {
    AppendValue(out, indent, OneLine(entry->first) + " = ", entry->second, order);
  }
}

// Returns the text a list item sorts by: a scalar's text, a container's rendering.
std::string SortKey(const Value& item) {
  if (!item.is_list() && !item.is_map()) return item.scalar_text();
  std::string rendered;
  AppendValue(rendered, 0, "", item, ListOrder::kSorted);
  return rendered;
}

// Appends each item of a list on its own line(s), at `indent`.
void AppendItems(std::string& out, int indent, const Value::List& list, ListOrder order) {
  std::vector<std::pair<std::string, const Value*>> items;
  for (const Value& item : list) {
    items.emplace_back(order == ListOrder::kSorted ? SortKey(item) : std::string(), &item);
  }
  if (order == ListOrder::kSorted) {
    std::stable_sort(items.begin(), items.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  for (const auto& item : items) AppendValue(out, indent, "", *item.second, order);
}

// Appends one value: `head` (`key = `, or nothing for a list item) and the value, with
// containers below it, one step further in. A mapping inside a list is headed `[dict]`.
void AppendValue(std::string& out, int indent, std::string_view head, const Value& v,
                 ListOrder order) {
  if (v.is_map()) {
    AppendLines(out, indent, head.empty() ? std::string_view("[dict]") : head);
    AppendEntries(out, indent + kStep, v.as_map(), order);
  } else if (v.is_list()) {
    if (!head.empty()) AppendLines(out, indent, head);
    AppendItems(out, indent + kStep, v.as_list(), order);
  } else {
    AppendScalar(out, indent, head, v.scalar_text());
  }
}

// A registered section (and the package): a mapping as sorted `key = value` lines, a list
// as one item per line, a scalar as itself.
void AppendAnyBody(std::string& out, const Value& data) {
  if (data.is_map()) {
    AppendEntries(out, 0, data.as_map(), ListOrder::kSorted);
  } else if (data.is_list()) {
    AppendItems(out, 0, data.as_list(), ListOrder::kSorted);
  } else {
    AppendLines(out, 0, data.scalar_text());
  }
}

// ---------------------------------------------------------------------------------------
// Threads and green threads.

// Returns `------`, the label centred in 60 characters, `------`: the label is `prefix`,
// then ` (NAME)` when the name is not empty, shortened so that the line stays 72 wide.
std::string SubBanner(std::string_view prefix, std::string_view name) {
  std::string label(prefix);
  const std::string one_line_name = OneLine(name);
  if (!one_line_name.empty()) {
    const std::size_t fixed = Width(prefix) + 4;  // " (" and ") "
    const std::size_t room = kThreadField > fixed ? kThreadField - fixed : 0;
    label += " (" + Fit(one_line_name, room) + ")";
  }
  label += ' ';
  return "------" + Centre(label, kThreadField) + "------\n";
}

// Returns where a frame is: FILE:LINE, else OBJECT+OFFSET, else its address.
std::string FrameLocation(const Value& frame) {
  const Value& file = Member(frame, "file");
  const Value& line = Member(frame, "line");
  if (file.is_string() && line.is_int()) {
    return OneLine(file.as_string()) + ":" + line.scalar_text();
  }
  const Value& object = Member(frame, "object");
  const Value& offset = Member(frame, "offset");
  if (object.is_string() && offset.is_string()) {
    return OneLine(object.as_string()) + "+" + OneLine(offset.as_string());
  }
  const Value& address = Member(frame, "address");
  if (address.is_string()) return OneLine(address.as_string());
  if (object.is_string()) return OneLine(object.as_string());
  return "??";
}

// Appends `LOCATION in FUNCTION`, the source line (or `(source not found)`), an empty line.
void AppendFrame(std::string& out, const Value& frame) {
  const Value& function = Member(frame, "function");
  const Value& source = Member(frame, "source");
  out += FrameLocation(frame) + " in ";
  out += function.is_string() ? OneLine(function.as_string()) : std::string("??");
  out += '\n';
  out += source.is_string() ? "    `" + OneLine(source.as_string()) + "`\n"
                            : std::string("    (source not found)\n");
  out += '\n';
}

// Appends frames outermost first (the data lists them innermost first). A stack that
// threads share (Value::shared: all parked in one place) is laid out once and copied.
class StackTexts {
 public:
  void Append(std::string& out, const Value& frames) {
    if (!frames.is_list()) return;
    const void* id = frames.shared_identity();
    if (id != nullptr) {
      auto done = done_.find(id);
      if (done != done_.end()) {
        out += done->second;
        return;
      }
    }
    const std::size_t start = out.size();
    const Value::List& list = frames.as_list();
    for (auto frame = list.rbegin(); frame != list.rend(); ++frame) AppendFrame(out, *frame);
    if (id != nullptr) done_.emplace(id, out.substr(start));
  }

 private:
  std::unordered_map<const void*, std::string> done_;
};

// Appends a thread's sub-banner, an empty line and its frames, outermost first; a thread
// without frames says `No Traceback!` and why.
void AppendThread(std::string& out, StackTexts& stacks, const std::string& banner,
                  const Value& thread) {
  out += banner;
  out += '\n';
  stacks.Append(out, Member(thread, "frames"));
  if (!ListMember(thread, "frames").empty()) return;
  out += "No Traceback!\n";
  const std::string detail = thread.get_string("status_detail");
  if (!detail.empty()) AppendLines(out, 4, detail);
  out += '\n';
}

// Appends the groups of identical stacks (only when asked: the seeds' layout is one
// entry per thread): a sub-banner with the count, the members, then the stack once.
void AppendGroups(std::string& out, StackTexts& stacks, const Value& data, std::string_view noun,
                  const TextOptions& options) {
  if (!options.group_stacks) return;
  for (const Value& group : ListMember(data, "groups")) {
    const std::string count = MemberText(group, "count");
    const std::string label = " " + count + " " + std::string(noun) + " with this stack ";
    out += "------" + Centre(Fit(label, kThreadField), kThreadField) + "------\n\n";
    std::string members;
    for (const Value& m : ListMember(group, "members")) {
      if (!members.empty()) members += ", ";
      const std::string id = MemberText(m, "id");
      const std::string name = OneLine(m.get_string("name"));
      members += id.empty() ? (name.empty() ? "(unnamed)" : name)
                            : (name.empty() ? id : id + " (" + name + ")");
    }
    AppendScalar(out, 0, "Members: ", members);
    out += '\n';
    stacks.Append(out, Member(group, "frames"));
  }
}

void AppendThreadsBody(std::string& out, const Value& data, const TextOptions& options) {
  StackTexts stacks;
  for (const Value& thread : ListMember(data, "threads")) {
    const std::string prefix = " Thread #" + MemberText(thread, "id");
    AppendThread(out, stacks, SubBanner(prefix, thread.get_string("name")), thread);
  }
  AppendGroups(out, stacks, data, "threads", options);
}

void AppendGreenThreadsBody(std::string& out, const Value& data, const TextOptions& options) {
  StackTexts stacks;
  for (const Value& thread : ListMember(data, "green_threads")) {
    AppendThread(out, stacks, SubBanner(" Green Thread", thread.get_string("name")), thread);
  }
  AppendGroups(out, stacks, data, "green threads", options);
  for (const Value& source : ListMember(data, "sources")) {
    const std::string error = source.get_string("error");
    if (error.empty()) continue;
    const std::string head =
        "ERROR: green thread source " + OneLine(source.get_string("name")) + ": ";
    AppendScalar(out, 0, head, error);
  }
}

// ---------------------------------------------------------------------------------------
// Processes.

// Appends `Process PID (under PPID) [ run by: USER (UID), state: STATE ]`, then its
// children one level (four spaces) further in.
void AppendProcess(std::string& out, const Value& process, int depth) {
  const Value& user = Member(process, "user");
  const std::string uid = MemberText(process, "uid");
  out.append(static_cast<std::size_t>(depth * kProcessStep), ' ');
  out += "Process " + MemberText(process, "pid") + " (under " + MemberText(process, "ppid") +
         ") [ run by: " + (user.is_string() ? OneLine(user.as_string()) : uid) + " (" + uid +
         "), state: " + MemberText(process, "state") + " ]\n";
  for (const Value& child : ListMember(process, "children")) {
    AppendProcess(out, child, depth + 1);
  }
}

void AppendProcessesBody(std::string& out, const Value& data, const TextOptions&) {
  for (const Value& process : ListMember(data, "processes")) AppendProcess(out, process, 0);
}

// ---------------------------------------------------------------------------------------
// Configuration.

// Returns a group's name as printed: the DEFAULT (or unnamed) group is `default`.
std::string GroupName(const Value& group) {
  const std::string name = group.get_string("name");
  return name.empty() || name == "DEFAULT" ? std::string("default") : OneLine(name);
}

// Returns an option's value as printed: a secret shows `***` unless it is unset (the
// collector already redacts; this keeps a secret from leaking if one ever did not).
Value OptionValue(const Value& option) {
  const Value& value = Member(option, "value");
  const Value& secret = Member(option, "secret");
  if (secret.is_bool() && secret.as_bool() && !value.is_null()) return Value("***");
  return value;
}

// Returns the members of `list`, stably sorted by `key_of`.
template <typename KeyOf>
std::vector<const Value*> SortedBy(const Value::List& list, KeyOf key_of) {
  std::vector<std::pair<std::string, const Value*>> keyed;
  for (const Value& item : list) keyed.emplace_back(key_of(item), &item);
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<const Value*> sorted;
  for (const auto& item : keyed) sorted.push_back(item.second);
  return sorted;
}

void AppendConfigurationBody(std::string& out, const Value& data, const TextOptions&) {
  out += '\n';
  for (const Value* group : SortedBy(ListMember(data, "groups"), GroupName)) {
    out += GroupName(*group) + ": \n";
    const auto option_name = [](const Value& option) { return option.get_string("name"); };
    for (const Value* option : SortedBy(ListMember(*group, "options"), option_name)) {
      const std::string head = OneLine(option_name(*option)) + " = ";
      AppendValue(out, kStep, head, OptionValue(*option), ListOrder::kAsGiven);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Sections.

// Returns the three lines of a title banner: 72 `=`, the title centred between `====`s,
// 72 `=`.
std::string TitleBanner(std::string_view title) {
  const std::string rule(kWidth, '=');
  return rule + "\n====" + Centre(Fit(OneLine(title), kTitleField), kTitleField) + "====\n" + rule +
         "\n";
}

struct BodyRenderer {
  std::string_view section_id;
  void (*append)(std::string& out, const Value& data, const TextOptions& options);
};

// The built-in sections' bodies, by section id; any other section is generic.
constexpr BodyRenderer kBodyRenderers[] = {
    {"threads", AppendThreadsBody},
    {"green_threads", AppendGreenThreadsBody},
    {"processes", AppendProcessesBody},
    {"configuration", AppendConfigurationBody},
};

void AppendBody(std::string& out, const Section& section, const TextOptions& options) {
  // A section that failed before collecting anything has only its error to show.
  if (section.data.is_null() && !section.error.empty()) return;
  if (section.data.is_map()) {
    for (const BodyRenderer& renderer : kBodyRenderers) {
      if (renderer.section_id != section.id) continue;
      renderer.append(out, section.data, options);
      return;
    }
  }
  AppendAnyBody(out, section.data);
}

void AppendSection(std::string& out, const Section& section, const TextOptions& options) {
  out += TitleBanner(section.title);
  AppendBody(out, section, options);
  if (!section.error.empty()) AppendScalar(out, 0, "ERROR: ", section.error);
}

}  // namespace

std::string render_text(const Report& report, const TextOptions& options) {
  std::string out = TitleBanner("Guru Meditation");
  out += std::string(kWidth, '|') + "\n\n\n";
  for (const Section& section : report.sections) AppendSection(out, section, options);
  return out;
}

}  // namespace gmr
