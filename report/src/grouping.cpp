// Groups of identical stacks: a service with 500 workers parked in the same
// place gets one stack with a count, as Go's goroutine dumps fold them.
#include <algorithm>
#include <map>
#include <unordered_map>

#include "internal.hpp"

namespace gmr {
namespace {

// Frames are identical when every frame names the same function, file and line
// (two threads interrupted on the same line at different instructions still
// fold together).
std::string stack_key(const Value& frames) {
  std::string key;
  for (const Value& f : frames.as_list()) {
    key += f.get_string("function");
    key += '\x1f';
    key += f.get_string("file");
    key += '\x1f';
    key += std::to_string(f.get_int("line"));
    key += '\x1e';
  }
  return key;
}

}  // namespace

Value group_stacks(const Value& members, const std::vector<std::string>& member_keys) {
  struct Group {
    size_t first;  // index of the first member, for a stable order among equals
    Value frames;
    Value members = Value::list();
  };
  std::map<std::string, Group> by_key;
  // Threads parked in one place share their frames (Value::shared): their key is
  // computed once.
  std::unordered_map<const void*, std::map<std::string, Group>::iterator> by_identity;
  const auto& list = members.as_list();
  for (size_t i = 0; i < list.size(); ++i) {
    const Value* frames = list[i].find("frames");
    if (!frames || !frames->is_list() || frames->as_list().empty()) continue;
    const void* identity = frames->shared_identity();
    auto known = identity ? by_identity.find(identity) : by_identity.end();
    auto [it, fresh] = known != by_identity.end()
                           ? std::make_pair(known->second, false)
                           : by_key.try_emplace(stack_key(*frames));
    if (identity) by_identity.emplace(identity, it);
    if (fresh) {
      it->second.first = i;
      it->second.frames = *frames;
    }
    Value member = Value::map();
    for (const std::string& k : member_keys) {
      if (const Value* v = list[i].find(k)) member.set(k, *v);
    }
    it->second.members.push_back(std::move(member));
  }
  std::vector<Group*> groups;
  for (auto& entry : by_key) groups.push_back(&entry.second);
  std::sort(groups.begin(), groups.end(), [](const Group* a, const Group* b) {
    const size_t na = a->members.as_list().size(), nb = b->members.as_list().size();
    return na != nb ? na > nb : a->first < b->first;
  });
  Value out = Value::list();
  for (Group* g : groups) {
    out.push_back(Value::map({{"count", g->members.as_list().size()},
                              {"members", std::move(g->members)},
                              {"frames", std::move(g->frames)}}));
  }
  return out;
}

}  // namespace gmr
