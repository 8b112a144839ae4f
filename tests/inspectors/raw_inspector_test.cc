#include "inspectors/raw_inspector.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/inspectors/recording_sink.h"

namespace dlp::inspectors {
namespace {

using testing::RecordedGap;
using testing::RecordingSink;

TEST(RawInspector, ToServerOnlyByDefault) {
  RecordingSink sink;
  auto insp = RawInspectorFactory().create(sink, FlowInfo{});
  const std::string a = "card 4111 1111";
  const std::string b = " 1111 1111";
  insp->data(Dir::to_client, as_bytes("220 banner\r\n"));
  EXPECT_TRUE(sink.streams.empty());  // opened lazily, and never for to_client
  insp->data(Dir::to_server, as_bytes(a));
  insp->data(Dir::to_client, as_bytes("250 ok\r\n"));
  insp->data(Dir::to_server, as_bytes(b));
  insp->gap(Dir::to_client, 100);
  ASSERT_EQ(sink.streams.size(), 1u);
  EXPECT_FALSE(sink.streams[0].closed);
  insp->close();

  ASSERT_EQ(sink.streams.size(), 1u);
  const auto& s = sink.streams[0];
  EXPECT_EQ(s.meta.app, App::raw);
  EXPECT_EQ(s.meta.dir, Dir::to_server);
  EXPECT_EQ(s.bytes, "card 4111 1111 1111 1111");
  EXPECT_TRUE(s.gaps.empty());
  EXPECT_TRUE(s.closed);
  // Passed through: one write per data() call, pointing into the caller's bytes.
  ASSERT_EQ(s.write_ptrs.size(), 2u);
  EXPECT_EQ(s.write_ptrs[0], as_bytes(a).data());
  EXPECT_EQ(s.write_ptrs[1], as_bytes(b).data());
  EXPECT_TRUE(sink.weirds.empty());
  EXPECT_TRUE(sink.errors.empty());
}

TEST(RawInspector, BothDirectionsWhenAsked) {
  RecordingSink sink;
  auto insp = RawInspectorFactory({.inspect_responses = true}).create(sink, FlowInfo{});
  insp->data(Dir::to_client, as_bytes("hello "));
  insp->data(Dir::to_server, as_bytes("up"));
  insp->data(Dir::to_client, as_bytes("client"));
  insp->close();
  ASSERT_EQ(sink.streams.size(), 2u);
  EXPECT_EQ(sink.streams[0].meta.dir, Dir::to_client);
  EXPECT_EQ(sink.streams[0].bytes, "hello client");
  EXPECT_EQ(sink.streams[1].meta.dir, Dir::to_server);
  EXPECT_EQ(sink.streams[1].bytes, "up");
  EXPECT_TRUE(sink.all_closed());
  EXPECT_TRUE(sink.errors.empty());
}

TEST(RawInspector, GapIsPassedOn) {
  RecordingSink sink;
  auto insp = RawInspectorFactory().create(sink, FlowInfo{});
  insp->data(Dir::to_server, as_bytes("abc"));
  insp->gap(Dir::to_server, 1460);
  insp->data(Dir::to_server, as_bytes("def"));
  insp->close();
  ASSERT_EQ(sink.streams.size(), 1u);
  EXPECT_EQ(sink.streams[0].bytes, "abcdef");
  EXPECT_EQ(sink.streams[0].gaps, (std::vector<RecordedGap>{{3, 1460}}));
  EXPECT_TRUE(sink.streams[0].closed);
  EXPECT_TRUE(sink.errors.empty());
}

TEST(RawInspector, GapBeforeAnyDataOpensTheStream) {
  RecordingSink sink;
  auto insp = RawInspectorFactory().create(sink, FlowInfo{});
  insp->gap(Dir::to_server, 7);
  insp->data(Dir::to_server, as_bytes("x"));
  insp->close();
  ASSERT_EQ(sink.streams.size(), 1u);
  EXPECT_EQ(sink.streams[0].gaps, (std::vector<RecordedGap>{{0, 7}}));
  EXPECT_EQ(sink.streams[0].bytes, "x");
}

TEST(RawInspector, NoDataNoStreamAndCloseIsIdempotent) {
  RecordingSink sink;
  auto insp = RawInspectorFactory().create(sink, FlowInfo{});
  insp->data(Dir::to_server, Bytes{});
  insp->close();
  insp->close();
  insp->data(Dir::to_server, as_bytes("late"));  // after close: ignored
  EXPECT_TRUE(sink.streams.empty());
  EXPECT_TRUE(sink.errors.empty());
}

}  // namespace
}  // namespace dlp::inspectors
