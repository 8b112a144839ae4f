// Framing must depend on the bytes, never on how reassembly cut them into data() calls.
#include <gtest/gtest.h>

#include <string>

#include "tests/inspectors/http_corpus.h"
#include "tests/inspectors/http_test_util.h"

namespace dlp::inspectors {
namespace {

using testing::http_corpus;
using testing::run_http;
using testing::run_http_pieces;

TEST(HttpSplit, EveryTwoWaySplitGivesTheSameResult) {
  for (const auto& c : http_corpus()) {
    const std::string ref = run_http(c.input, c.limits).dump();
    ASSERT_FALSE(ref.empty()) << c.name;
    for (std::size_t i = 0; i <= c.input.size(); ++i) {
      const std::string got =
          run_http_pieces({c.input.substr(0, i), c.input.substr(i)}, c.limits).dump();
      ASSERT_EQ(got, ref) << c.name << " split at " << i;
    }
  }
}

TEST(HttpSplit, OneByteAtATimeGivesTheSameResult) {
  for (const auto& c : http_corpus()) {
    std::vector<std::string> bytes;
    for (char ch : c.input) bytes.emplace_back(1, ch);
    EXPECT_EQ(run_http_pieces(bytes, c.limits).dump(), run_http(c.input, c.limits).dump())
        << c.name;
  }
}

// Pins the reference output of the richest case, so the split tests compare against a
// known-good result and not just against themselves.
TEST(HttpSplit, PipelinedReference) {
  EXPECT_EQ(run_http(http_corpus()[0].input).dump(),
            "stream 0 http to_server method=GET host=h1 url=\"/one?card=4111111111111111\" ua=ua "
            "mime= user=\n  bytes=\"/one?card=4111111111111111\"\n  closed\n"
            "stream 1 http to_server method=POST host=h2 url=\"/two\" ua= mime=text/plain user=\n"
            "  bytes=\"/two\"\n  closed\n"
            "stream 2 http to_server method=POST host=h2 url=\"/two\" ua= mime=text/plain user=\n"
            "  bytes=\"body2\"\n  closed\n"
            "stream 3 http to_server method=POST host=h3 url=\"/three\" ua= mime= user=\n"
            "  bytes=\"/three\"\n  closed\n"
            "stream 4 http to_server method=POST host=h3 url=\"/three\" ua= mime= user=\n"
            "  bytes=\"body3\"\n  closed\n");
}

}  // namespace
}  // namespace dlp::inspectors
