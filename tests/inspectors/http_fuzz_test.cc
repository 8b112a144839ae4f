// A deterministic fuzz-ish loop: mutated corpus entries and random bytes, fed whole, cut
// at random places, and with gaps and response bytes mixed in. Asserts the inspector never
// crashes, never breaks the sink contract, emits no more bytes than it was given, closes
// every stream, and frames identically however the input is cut.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "inspectors/http_inspector.h"
#include "tests/inspectors/http_corpus.h"
#include "tests/inspectors/http_test_util.h"
#include "tests/inspectors/recording_sink.h"

namespace dlp::inspectors {
namespace {

using testing::http_corpus;
using testing::RecordingSink;
using testing::run_http;
using testing::run_http_pieces;

constexpr const char* kTokens[] = {
    "\r\n", "\n", "\r\n\r\n", " ", ":", ";", "0\r\n\r\n", "chunked", "Transfer-Encoding: chunked\r\n",
    "Content-Length: 5\r\n", "Content-Length: ", "GET ", "POST / HTTP/1.1\r\n", "CONNECT x:1 HTTP/1.1\r\n\r\n",
    "HTTP/1.1", "ffffffffffffffff", "\t", "Authorization: Basic ", "=", "\x00", "\xff",
};

std::string mutate(std::string s, std::mt19937& rng) {
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n)(rng); };
  if (pick(19) == 0) {  // 5%: pure noise
    std::string noise(pick(300), '\0');
    for (char& c : noise) c = static_cast<char>(pick(255));
    return noise;
  }
  const std::size_t n_mut = 1 + pick(7);
  for (std::size_t m = 0; m < n_mut; ++m) {
    const std::size_t pos = s.empty() ? 0 : pick(s.size() - 1);
    switch (pick(5)) {
      case 0:  // flip a byte
        if (!s.empty()) s[pos] = static_cast<char>(pick(255));
        break;
      case 1: {  // insert a protocol token
        const char* tok = kTokens[pick(std::size(kTokens) - 1)];
        s.insert(pos, std::string(tok, std::max<std::size_t>(1, std::char_traits<char>::length(tok))));
        break;
      }
      case 2:  // delete a range
        s.erase(pos, pick(16));
        break;
      case 3:  // duplicate a range
        if (!s.empty()) s.insert(pos, s.substr(pick(s.size() - 1), pick(32)));
        break;
      case 4:  // truncate
        s.resize(pos);
        break;
      default:  // insert a random byte
        s.insert(pos, 1, static_cast<char>(pick(255)));
        break;
    }
  }
  return s;
}

void check_invariants(const RecordingSink& s, std::size_t input_size, std::size_t gaps,
                      const std::string& input) {
  ASSERT_TRUE(s.errors.empty()) << RecordingSink::escape(input) << "\n" << s.dump();
  ASSERT_TRUE(s.all_closed()) << RecordingSink::escape(input) << "\n" << s.dump();
  // Every emitted byte is an input byte, emitted once.
  ASSERT_LE(s.total_bytes(), input_size) << RecordingSink::escape(input) << "\n" << s.dump();
  ASSERT_LE(s.streams.size(), input_size + gaps + 1) << RecordingSink::escape(input);
  ASSERT_LE(s.weirds.size(), input_size + gaps + 1) << RecordingSink::escape(input);
}

TEST(HttpFuzz, TenThousandMutatedInputs) {
  std::mt19937 rng(20240601);
  const auto corpus = http_corpus();
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n)(rng); };
  std::size_t streams_seen = 0;
  for (int iter = 0; iter < 10000; ++iter) {
    const auto& seed = corpus[pick(corpus.size() - 1)];
    const HttpLimits limits = pick(3) == 0 ? testing::tight_limits() : seed.limits;
    const std::string input = mutate(seed.input, rng);

    // Whole, then cut into up to 6 pieces: identical framing.
    const RecordingSink whole = run_http(input, limits);
    check_invariants(whole, input.size(), 0, input);
    streams_seen += whole.streams.size();
    std::vector<std::string> pieces;
    std::size_t at = 0;
    for (std::size_t k = pick(5); k > 0 && at < input.size(); --k) {
      const std::size_t len = pick(input.size() - at);
      pieces.push_back(input.substr(at, len));
      at += len;
    }
    pieces.push_back(input.substr(at));
    const RecordingSink cut = run_http_pieces(pieces, limits);
    ASSERT_EQ(cut.dump(), whole.dump()) << "input " << RecordingSink::escape(input);

    // With gaps and responses interleaved: only the invariants hold.
    RecordingSink sink;
    auto insp = HttpInspectorFactory(limits).create(sink, FlowInfo{});
    std::size_t gaps = 0;
    for (const std::string& p : pieces) {
      if (pick(3) == 0) {
        insp->gap(Dir::to_server, 1 + pick(64));
        ++gaps;
      }
      if (pick(4) == 0) insp->data(Dir::to_client, as_bytes("HTTP/1.1 200 OK\r\n\r\n"));
      insp->data(Dir::to_server, as_bytes(p));
    }
    insp->close();
    check_invariants(sink, input.size(), gaps, input);
  }
  EXPECT_GT(streams_seen, 10000u);  // the mutations still reach deep states
}

}  // namespace
}  // namespace dlp::inspectors
