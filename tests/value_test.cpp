// Tests of gmr::Value's shared (frozen) subtrees: copies share them, writing through a
// copy never changes the others, equality looks at the data, and the JSON renderer
// writes a shared subtree exactly as it writes the same data unshared.
#include <gtest/gtest.h>

#include <string>

#include "gmr/report.hpp"
#include "gmr/value.hpp"

namespace gmr {
namespace {

Value Frames() {
  return Value::list({Value::map({{"function", "wait"}, {"line", 10}}),
                      Value::map({{"function", "main"}, {"line", 3}, {"source", "tab\there \"q\" é"}})});
}

TEST(ValueTest, SharedReadsLikeItsData) {
  const Value shared = Value::shared(Frames());
  EXPECT_TRUE(shared.is_list());
  EXPECT_EQ(shared.as_list().size(), 2u);
  EXPECT_EQ(shared.as_list()[1].get_string("function"), "main");
  EXPECT_NE(shared.shared_identity(), nullptr);
  EXPECT_EQ(Frames().shared_identity(), nullptr);
  EXPECT_EQ(Value::shared(shared).shared_identity(), shared.shared_identity());
}

TEST(ValueTest, CopiesShareAndEqualTheUnsharedData) {
  const Value a = Value::shared(Frames());
  const Value b = a;
  EXPECT_EQ(a.shared_identity(), b.shared_identity());
  EXPECT_EQ(a, Frames());
  EXPECT_EQ(Frames(), b);
  EXPECT_NE(a, Value::list({}));
  EXPECT_EQ(Value::map({{"frames", a}}), Value::map({{"frames", Frames()}}));
}

TEST(ValueTest, WritingThroughACopyLeavesTheSharedTreeAlone) {
  const Value a = Value::shared(Frames());
  Value b = a;
  b.push_back(Value::map({{"function", "start"}}));
  EXPECT_EQ(b.shared_identity(), nullptr);
  EXPECT_EQ(b.as_list().size(), 3u);
  EXPECT_EQ(a.as_list().size(), 2u);
  EXPECT_EQ(a, Frames());

  Value m = Value::shared(Value::map({{"k", 1}}));
  m.set("k", 2);
  EXPECT_EQ(m.get_int("k"), 2);
  m.as_map().clear();
  EXPECT_TRUE(m.as_map().empty());
}

TEST(ValueTest, JsonOfSharedSubtreesEqualsJsonOfTheSameData) {
  const Value frames = Value::shared(Frames());
  Value shared = Value::map({{"threads", Value::list({Value::map({{"id", 1}, {"frames", frames}}),
                                                      Value::map({{"id", 2}, {"frames", frames}})})},
                             {"groups", Value::list({Value::map({{"frames", frames}})})}});
  Value plain = Value::map({{"threads", Value::list({Value::map({{"id", 1}, {"frames", Frames()}}),
                                                     Value::map({{"id", 2}, {"frames", Frames()}})})},
                            {"groups", Value::list({Value::map({{"frames", Frames()}})})}});
  for (int indent : {-1, 0, 2, 4}) {
    const Section a{"threads", "Threads", shared, ""};
    const Section b{"threads", "Threads", plain, ""};
    EXPECT_EQ(render_section_json(a, indent), render_section_json(b, indent)) << indent;
  }
  EXPECT_NE(render_section_json({"t", "T", shared, ""}).find("\"tab\\there \\\"q\\\" é\""),
            std::string::npos);
}

TEST(ValueTest, DoublesKeepShowingTheyAreDoubles) {
  const std::string json = render_section_json({"x", "X", Value::list({1.0, 0.25, -3.0, 1e20}), ""}, -1);
  EXPECT_EQ(json, R"({"id":"x","title":"X","data":[1.0,0.25,-3.0,1e+20]})");
}

}  // namespace
}  // namespace gmr
