// Request bodies decoded before the scan: content codings (gzip, deflate, br, stacked),
// form urlencoding, JSON escapes, close-delimited bodies, Upgrade, and the limits that
// stop bombs and endless chunking.
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "inspectors/decompress.h"
#include "inspectors/form.h"
#include "tests/gen/file_gen.h"
#include "tests/gen/http_bodies.h"
#include "tests/inspectors/http_test_util.h"

namespace dlp::inspectors::testing {
namespace {

using testgen::http_request_with;

struct Collect final : ByteSink {
  std::string text;
  void bytes(Bytes b) override { text.append(as_chars(b)); }
};

// The body streams (every stream after the URL stream), concatenated.
std::string bodies(const RecordingSink& s) {
  std::string out;
  for (std::size_t i = 1; i < s.streams.size(); ++i) out += s.streams[i].bytes;
  return out;
}

const std::string kJson =
    R"({"customer":{"name":"Pat","card":"\u0034\u0031\u0031\u0031111111111111","note":"ok\/fine"}})";
const std::string kJsonDecoded =
    R"({"customer":{"name":"Pat","card":"4111111111111111","note":"ok/fine"}})";

TEST(HttpBody, GzipDeflateAndBrotliBodiesAreDecoded) {
  const std::string text = "ssn 123-45-6789 and card 4111 1111 1111 1111\n";
  struct Case {
    const char* coding;
    std::string body;
  } cases[] = {
      {"gzip", testgen::gzip(text)},
      {"x-gzip", testgen::gzip(text)},
      {"deflate", testgen::zlib_compress(text)},
      {"deflate", testgen::raw_deflate(text)},
      {"br", testgen::brotli(text)},
      {"identity", text},
      {"gzip, br", testgen::brotli(testgen::gzip(text))},
  };
  for (const Case& c : cases) {
    const RecordingSink s = run_http(http_request_with(
        "POST", "h", "/u", c.body, {{"Content-Type", "application/octet-stream"},
                                    {"Content-Encoding", c.coding}}));
    EXPECT_EQ(bodies(s), text) << c.coding;
    EXPECT_TRUE(s.weirds.empty()) << c.coding << "\n" << s.dump();
    EXPECT_TRUE(s.all_closed());
  }
}

TEST(HttpBody, GzipBodySplitAtEveryByteAndChunkedGivesTheSameResult) {
  const std::string body = testgen::gzip(kJson + std::string(300, ' ') + kJson);
  const std::string req = http_request_with(
      "POST", "api.example", "/v1/customers", body,
      {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}}, /*chunk=*/17);
  const RecordingSink whole = run_http(req);
  EXPECT_EQ(bodies(whole), kJsonDecoded + std::string(300, ' ') + kJsonDecoded);
  EXPECT_TRUE(whole.weirds.empty()) << whole.dump();
  const std::string want = whole.dump();
  for (std::size_t i = 1; i < req.size(); ++i) {
    ASSERT_EQ(run_http_pieces({req.substr(0, i), req.substr(i)}).dump(), want) << "cut at " << i;
  }
}

TEST(HttpBody, JsonEscapesAreDecodedEvenWithoutTheContentType) {
  // A card hidden as \u escapes, split across chunks, sent as text/plain.
  const RecordingSink s =
      run_http(http_request_with("POST", "h", "/x", kJson, {{"Content-Type", "text/plain"}}, 5));
  EXPECT_EQ(bodies(s), kJsonDecoded);
  // Surrogate pairs and a broken escape.
  Collect c;
  JsonUnescaper j;
  j.feed(as_bytes(R"(["\ud83d\ude00","\u12G4","\ud800x"])"), c);
  j.finish(c);
  EXPECT_EQ(c.text, "[\"\xf0\x9f\x98\x80\",\"G4\",\"\xef\xbf\xbdx\"]");
  EXPECT_EQ(j.bad_escapes(), 2u);
}

TEST(HttpBody, UrlencodedFormIsPercentDecodedAcrossCalls) {
  const std::string form = "name=Pat+Doe&card=4111%201111%201111%201111&bad=%zz%4";
  const std::string want = "name: Pat Doe\ncard: 4111 1111 1111 1111\nbad: %zz%4";
  const std::string req = http_request_with(
      "POST", "shop.example", "/pay", form, {{"Content-Type", "application/x-www-form-urlencoded"}});
  const RecordingSink whole = run_http(req);
  ASSERT_EQ(whole.streams.size(), 2u);
  EXPECT_EQ(whole.streams[1].bytes, want);
  EXPECT_EQ(whole.streams[1].meta.form_field, "form");
  for (std::size_t i = 1; i < req.size(); ++i) {
    ASSERT_EQ(run_http_pieces({req.substr(0, i), req.substr(i)}).dump(), whole.dump()) << i;
  }
}

TEST(HttpBody, BrokenOrUnknownCodingsStillScanTheBytes) {
  const std::string text = "plain text with card 4111111111111111";
  // Claims gzip, is not: every byte still reaches the scanner.
  RecordingSink s = run_http(http_request_with("POST", "h", "/", text,
                                               {{"Content-Encoding", "gzip"}}));
  EXPECT_EQ(bodies(s), text);
  EXPECT_EQ(s.weird_count("http.bad_content_encoding"), 1u);
  s = run_http(http_request_with("POST", "h", "/", text, {{"Content-Encoding", "zstd"}}));
  EXPECT_EQ(bodies(s), text);
  EXPECT_EQ(s.weird_count("http.unknown_content_encoding"), 1u);
}

TEST(HttpBody, GzipBombStopsAtTheRatioLimitWithAReport) {
  const std::string bomb = testgen::gzip(std::string(100u << 20, '\0'));
  RecordingSink s = run_http(http_request_with("POST", "h", "/", bomb,
                                               {{"Content-Encoding", "gzip"}}));
  ASSERT_EQ(s.reports.size(), 1u) << s.dump();
  EXPECT_EQ(s.reports[0].detector, "limit.decompression_ratio");
  EXPECT_EQ(s.weird_count("limit.decompression_ratio"), 1u);
  // Stopped shortly after the first MiB, not after 100.
  EXPECT_LT(bodies(s).size(), 2u << 20);
  EXPECT_GT(bodies(s).size(), 1u << 20);

  Limits tight;
  tight.max_decompressed_bytes = 1000;
  tight.limits_are_findings = false;
  s = run_http_pieces({http_request_with("POST", "h", "/", testgen::gzip(std::string(5000, 'a')),
                                         {{"Content-Encoding", "gzip"}})},
                      {}, tight);
  EXPECT_EQ(bodies(s).size(), 1000u);
  EXPECT_EQ(s.weird_count("limit.decompressed_bytes"), 1u);
  EXPECT_TRUE(s.reports.empty());
}

TEST(HttpBody, EndlessChunkingAndLongBodiesHitCountedLimits) {
  HttpLimits hl;
  hl.max_chunks = 50;
  std::string req = "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 200; ++i) req += "1\r\na\r\n";
  RecordingSink s = run_http_pieces({req}, hl);
  EXPECT_EQ(s.weird_count("limit.chunks"), 1u);
  ASSERT_EQ(s.reports.size(), 1u);
  EXPECT_EQ(s.reports[0].category, "limit");
  // Before the limit the chunks were de-chunked; after it the bytes are scanned raw.
  EXPECT_EQ(bodies(s).substr(0, 50), std::string(50, 'a'));
  EXPECT_NE(bodies(s).find("1\r\na"), std::string::npos);

  Limits small;
  small.max_stream_bytes = 10;
  s = run_http_pieces({http_request_with("POST", "h", "/", std::string(100, 'z'), {})}, {}, small);
  EXPECT_EQ(bodies(s), std::string(10, 'z'));
  EXPECT_EQ(s.weird_count("limit.stream_bytes"), 1u);
}

TEST(HttpBody, MultipartUploadOfAGzippedFormIsSplitIntoParts) {
  const std::string form = testgen::multipart_form(
      {{"note", "", "", "see file"},
       {"upload", "cards.csv", "text/csv", "name,card\nPat,4111 1111 1111 1111\n"}},
      "XyZ");
  const std::string req = http_request_with(
      "POST", "files.example", "/upload", testgen::gzip(form),
      {{"Content-Type", "multipart/form-data; boundary=XyZ"}, {"Content-Encoding", "gzip"}}, 33);
  const RecordingSink whole = run_http(req);
  ASSERT_EQ(whole.streams.size(), 3u) << whole.dump();
  EXPECT_EQ(whole.streams[1].meta.form_field, "note");
  EXPECT_EQ(whole.streams[1].bytes, "see file");
  EXPECT_EQ(whole.streams[2].meta.form_field, "upload");
  EXPECT_EQ(whole.streams[2].meta.file_name, "cards.csv");
  EXPECT_EQ(whole.streams[2].meta.file_mime, "text/csv");
  EXPECT_EQ(whole.streams[2].meta.http_host, "files.example");
  EXPECT_EQ(whole.streams[2].bytes, "name,card\nPat,4111 1111 1111 1111\n");
  EXPECT_TRUE(whole.weirds.empty()) << whole.dump();
  for (std::size_t i = 1; i < req.size(); i += 7) {
    ASSERT_EQ(run_http_pieces({req.substr(0, i), req.substr(i)}).dump(), whole.dump()) << i;
  }
}

TEST(HttpBody, Http10BodyWithoutLengthRunsToTheEnd) {
  const RecordingSink s = run_http("POST /u HTTP/1.0\r\nHost: h\r\n\r\nsecret body to the end");
  EXPECT_EQ(bodies(s), "secret body to the end");
  EXPECT_EQ(s.weird_count("http.body_until_close"), 1u);
}

TEST(HttpBody, UpgradeIsNotedAndTheRestIsScannedRaw) {
  const RecordingSink s = run_http(
      "GET /chat HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
      "\x81\x05hello GET /not-a-request HTTP/1.1\r\n\r\n");
  ASSERT_EQ(s.flow_metas.size(), 1u);
  EXPECT_EQ(s.merged_flow_meta().notes, std::vector<std::string>{"upgrade: websocket"});
  ASSERT_EQ(s.streams.size(), 2u) << s.dump();
  EXPECT_EQ(s.streams[1].bytes, "\x81\x05hello GET /not-a-request HTTP/1.1\r\n\r\n");
}

TEST(Decompressor, RandomDamageNeverCrashes) {
  std::mt19937_64 rng(3);
  const std::string good[] = {testgen::gzip(kJson), testgen::brotli(kJson), testgen::raw_deflate(kJson)};
  const Coding codings[] = {Coding::gzip, Coding::br, Coding::deflate};
  for (int i = 0; i < 3000; ++i) {
    const int k = i % 3;
    std::string b = good[k];
    b[rng() % b.size()] = static_cast<char>(rng());
    Decompressor d(codings[k], Limits{});
    Collect c;
    d.feed(as_bytes(b), c);
    ASSERT_LE(c.text.size(), Limits{}.max_decompressed_bytes);
  }
}

}  // namespace
}  // namespace dlp::inspectors::testing
