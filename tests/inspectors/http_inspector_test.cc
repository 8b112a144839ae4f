#include "inspectors/http_inspector.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/inspectors/http_test_util.h"
#include "tests/inspectors/recording_sink.h"

namespace dlp::inspectors {
namespace {

using testing::meta_of;
using testing::RecordedGap;
using testing::RecordingSink;
using testing::run_http;
using testing::run_http_pieces;

void expect_clean(const RecordingSink& s) {
  EXPECT_TRUE(s.weirds.empty()) << s.dump();
  EXPECT_TRUE(s.errors.empty()) << s.dump();
  EXPECT_TRUE(s.all_closed()) << s.dump();
}

TEST(HttpInspector, GetWithQueryString) {
  const RecordingSink s = run_http(
      "GET /search?q=4111111111111111&x=1 HTTP/1.1\r\n"
      "Host: example.com\r\n"
      "user-agent: curl/8.0\r\n"
      "Accept: */*\r\n"
      "\r\n");
  expect_clean(s);
  ASSERT_EQ(s.streams.size(), 1u);
  EXPECT_EQ(meta_of(s, 0),
            "http to_server method=GET host=example.com url=\"/search?q=4111111111111111&x=1\" "
            "ua=curl/8.0 mime= user=");
  EXPECT_EQ(s.streams[0].bytes, "/search?q=4111111111111111&x=1");
}

TEST(HttpInspector, ResponsesAreIgnored) {
  RecordingSink sink;
  auto insp = HttpInspectorFactory().create(sink, FlowInfo{});
  insp->data(Dir::to_client, as_bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
  insp->gap(Dir::to_client, 10);
  insp->data(Dir::to_server, as_bytes("GET /a HTTP/1.1\r\n\r\n"));
  insp->close();
  insp->data(Dir::to_server, as_bytes("GET /late HTTP/1.1\r\n\r\n"));  // after close
  expect_clean(sink);
  ASSERT_EQ(sink.streams.size(), 1u);
  EXPECT_EQ(sink.streams[0].bytes, "/a");
}

TEST(HttpInspector, PostContentLengthBodyPassedThrough) {
  const std::string head =
      "POST /upload HTTP/1.1\r\nHost: files.example\r\nContent-Type: text/plain\r\n"
      "Content-Length: 24\r\n\r\n";
  const std::string b1 = "SSN 078-05-";
  const std::string b2 = "1120 and ";
  const std::string b3 = "moreGET /next HTTP/1.1\r\n\r\n";  // 4 body bytes, then a request
  RecordingSink sink;
  auto insp = HttpInspectorFactory().create(sink, FlowInfo{});
  insp->data(Dir::to_server, as_bytes(head));
  insp->data(Dir::to_server, as_bytes(b1));
  insp->data(Dir::to_server, as_bytes(b2));
  insp->data(Dir::to_server, as_bytes(b3));
  ASSERT_EQ(sink.streams.size(), 3u);
  EXPECT_TRUE(sink.streams[1].closed);  // closed as soon as the 24th byte arrived
  insp->close();
  expect_clean(sink);
  EXPECT_EQ(meta_of(sink, 0),
            "http to_server method=POST host=files.example url=\"/upload\" ua= mime=text/plain "
            "user=");
  EXPECT_EQ(sink.streams[0].bytes, "/upload");
  EXPECT_EQ(meta_of(sink, 1), meta_of(sink, 0));
  EXPECT_EQ(sink.streams[1].bytes, "SSN 078-05-1120 and more");
  // One write per data() call, each pointing into the caller's buffer.
  ASSERT_EQ(sink.streams[1].write_ptrs.size(), 3u);
  EXPECT_EQ(sink.streams[1].write_ptrs[0], as_bytes(b1).data());
  EXPECT_EQ(sink.streams[1].write_ptrs[1], as_bytes(b2).data());
  EXPECT_EQ(sink.streams[1].write_ptrs[2], as_bytes(b3).data());
  EXPECT_EQ(meta_of(sink, 2), "http to_server method=GET host= url=\"/next\" ua= mime= user=");
}

TEST(HttpInspector, BodyInSameCallAsHeadersIsAViewOfTheInput) {
  const std::string in = "PUT /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
  RecordingSink sink;
  auto insp = HttpInspectorFactory().create(sink, FlowInfo{});
  insp->data(Dir::to_server, as_bytes(in));
  insp->close();
  expect_clean(sink);
  ASSERT_EQ(sink.streams.size(), 2u);
  EXPECT_EQ(sink.streams[1].bytes, "abc");
  ASSERT_EQ(sink.streams[1].write_ptrs.size(), 1u);
  EXPECT_EQ(sink.streams[1].write_ptrs[0], as_bytes(in).data() + in.size() - 3);
}

TEST(HttpInspector, NoBodyWithoutLengthOrEncoding) {
  const RecordingSink s = run_http("DELETE /item/7 HTTP/1.1\r\nHost: a\r\n\r\n"
                                   "HEAD /h HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
  expect_clean(s);
  ASSERT_EQ(s.streams.size(), 2u);
  EXPECT_EQ(meta_of(s, 0), "http to_server method=DELETE host=a url=\"/item/7\" ua= mime= user=");
  EXPECT_EQ(meta_of(s, 1), "http to_server method=HEAD host= url=\"/h\" ua= mime= user=");
}

TEST(HttpInspector, ChunkedValueSplitAcrossChunksIsContiguous) {
  const RecordingSink s = run_http(
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
      "Content-Type: application/json\r\n\r\n"
      "7\r\n4111-11\r\n"
      "0c\r\n11-1111-1111\r\n"
      "0\r\n\r\n");
  expect_clean(s);
  ASSERT_EQ(s.streams.size(), 2u);
  EXPECT_EQ(s.streams[0].bytes, "/c");
  EXPECT_EQ(meta_of(s, 1),
            "http to_server method=POST host=h url=\"/c\" ua= mime=application/json user=");
  EXPECT_EQ(s.streams[1].bytes, "4111-1111-1111-1111");
}

TEST(HttpInspector, ChunkExtensionsAndTrailers) {
  const RecordingSink s = run_http(
      "POST /c HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
      "5;name=value;foo\r\nhello\r\n"
      "6 ; ext=\"q\"\r\n world\r\n"
      "A\r\n0123456789\r\n"
      "0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
      "GET /after HTTP/1.1\r\n\r\n");
  expect_clean(s);
  ASSERT_EQ(s.streams.size(), 3u);
  EXPECT_EQ(s.streams[1].bytes, "hello world0123456789");
  EXPECT_EQ(meta_of(s, 2), "http to_server method=GET host= url=\"/after\" ua= mime= user=");
}

TEST(HttpInspector, EmptyChunkedBodyOpensNoStream) {
  const RecordingSink s = run_http("POST /e HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                                   "GET /n HTTP/1.1\r\n\r\n");
  expect_clean(s);
  ASSERT_EQ(s.streams.size(), 2u);
  EXPECT_EQ(s.streams[0].bytes, "/e");
  EXPECT_EQ(s.streams[1].bytes, "/n");
}

TEST(HttpInspector, TransferEncodingWinsOverContentLength) {
  const RecordingSink s = run_http(
      "POST /s HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\nabcd\r\n0\r\n\r\n");
  EXPECT_EQ(s.weirds, (std::vector<std::string>{"http.te_and_cl"}));
  ASSERT_EQ(s.streams.size(), 2u);
  EXPECT_EQ(s.streams[1].bytes, "abcd");
  EXPECT_TRUE(s.all_closed());
}

TEST(HttpInspector, PipelinedGetPostPostInOneCall) {
  const RecordingSink s = run_http(
      "GET /one?a=1 HTTP/1.1\r\nHost: h1\r\n\r\n"
      "POST /two HTTP/1.1\r\nHost: h2\r\nContent-Length: 5\r\n\r\nbody2"
      "POST /three HTTP/1.1\r\nHost: h3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nbod\r\n"
      "2\r\ny3\r\n0\r\n\r\n");
  expect_clean(s);
  ASSERT_EQ(s.streams.size(), 5u);
  EXPECT_EQ(meta_of(s, 0), "http to_server method=GET host=h1 url=\"/one?a=1\" ua= mime= user=");
  EXPECT_EQ(s.streams[0].bytes, "/one?a=1");
  EXPECT_EQ(meta_of(s, 1), "http to_server method=POST host=h2 url=\"/two\" ua= mime= user=");
  EXPECT_EQ(s.streams[1].bytes, "/two");
  EXPECT_EQ(meta_of(s, 2), meta_of(s, 1));
  EXPECT_EQ(s.streams[2].bytes, "body2");
  EXPECT_EQ(meta_of(s, 3), "http to_server method=POST host=h3 url=\"/three\" ua= mime= user=");
  EXPECT_EQ(s.streams[3].bytes, "/three");
  EXPECT_EQ(s.streams[4].bytes, "body3");
}

TEST(HttpInspector, ClientCrlfAfterBodyIsTolerated) {
  const RecordingSink s = run_http("POST /p HTTP/1.1\r\nContent-Length: 2\r\n\r\nok\r\n"
                                   "\r\nGET /q HTTP/1.1\r\n\r\n");
  expect_clean(s);
  ASSERT_EQ(s.streams.size(), 3u);
  EXPECT_EQ(s.streams[1].bytes, "ok");
  EXPECT_EQ(s.streams[2].bytes, "/q");
}

TEST(HttpInspector, BareLfLineEndings) {
  const RecordingSink s = run_http("POST /lf HTTP/1.1\nHost: h\nContent-Length: 2\n\nhi");
  expect_clean(s);
  ASSERT_EQ(s.streams.size(), 2u);
  EXPECT_EQ(meta_of(s, 0), "http to_server method=POST host=h url=\"/lf\" ua= mime= user=");
  EXPECT_EQ(s.streams[1].bytes, "hi");
}

TEST(HttpInspector, BasicAuthUserName) {
  // alice:s3cr3t
  const RecordingSink s = run_http(
      "GET /mail HTTP/1.1\r\nHost: webmail.example\r\nAuthorization: bAsIc YWxpY2U6czNjcjN0\r\n"
      "\r\n");
  expect_clean(s);
  ASSERT_EQ(s.streams.size(), 1u);
  EXPECT_EQ(s.streams[0].meta.user_hint, "alice");
}

TEST(HttpInspector, ProxyAuthorizationIsPreferred) {
  // bob:x for the proxy, carol:y for the site.
  const RecordingSink s = run_http(
      "POST http://site.example/form HTTP/1.1\r\nAuthorization: Basic Y2Fyb2w6eQ==\r\n"
      "Proxy-Authorization: Basic Ym9iOng=\r\nContent-Length: 1\r\n\r\nz");
  expect_clean(s);
  ASSERT_EQ(s.streams.size(), 2u);
  // absolute-form target: the host comes from the URL.
  EXPECT_EQ(meta_of(s, 1), "http to_server method=POST host=site.example "
                           "url=\"http://site.example/form\" ua= mime= user=bob");
}

TEST(HttpInspector, NonBasicAndBadCredentials) {
  const RecordingSink bearer = run_http("GET / HTTP/1.1\r\nAuthorization: Bearer abc.def\r\n\r\n");
  expect_clean(bearer);
  EXPECT_EQ(bearer.streams.at(0).meta.user_hint, "");

  const RecordingSink bad = run_http("GET / HTTP/1.1\r\nAuthorization: Basic !!!\r\n\r\n");
  EXPECT_EQ(bad.weirds, (std::vector<std::string>{"http.bad_basic_auth"}));
  EXPECT_EQ(bad.streams.at(0).meta.user_hint, "");

  // "nocolon" has no user:password separator.
  const RecordingSink nocolon = run_http("GET / HTTP/1.1\r\nAuthorization: Basic bm9jb2xvbg==\r\n\r\n");
  EXPECT_EQ(nocolon.weirds, (std::vector<std::string>{"http.bad_basic_auth"}));
  EXPECT_EQ(nocolon.streams.at(0).meta.user_hint, "");
}

TEST(HttpInspector, ObsFoldIsJoinedAndCounted) {
  const RecordingSink s = run_http(
      "GET / HTTP/1.1\r\nUser-Agent: Mozilla/5.0\r\n \t(folded part)\r\nHost: h\r\n\r\n");
  EXPECT_EQ(s.weirds, (std::vector<std::string>{"http.obs_fold"}));
  ASSERT_EQ(s.streams.size(), 1u);
  EXPECT_EQ(s.streams[0].meta.http_user_agent, "Mozilla/5.0 (folded part)");
  EXPECT_EQ(s.streams[0].meta.http_host, "h");
}

TEST(HttpInspector, ContentLengthVariants) {
  // Identical list values are fine (RFC 9110 §8.6).
  const RecordingSink list = run_http("POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc");
  expect_clean(list);
  EXPECT_EQ(list.streams.at(1).bytes, "abc");

  // Conflicting: counted, and the larger one is used so no byte escapes the body scan.
  const RecordingSink conflict = run_http(
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde");
  EXPECT_EQ(conflict.weirds, (std::vector<std::string>{"http.conflicting_content_length"}));
  EXPECT_EQ(conflict.streams.at(1).bytes, "abcde");

  // Invalid: no knowable end, the rest of the direction is the body.
  const RecordingSink bad = run_http(
      "POST / HTTP/1.1\r\nContent-Length: 12abc\r\n\r\nsecret\r\nGET /x HTTP/1.1\r\n\r\n");
  EXPECT_EQ(bad.weirds, (std::vector<std::string>{"http.bad_content_length"}));
  ASSERT_EQ(bad.streams.size(), 2u);
  EXPECT_EQ(bad.streams[1].bytes, "secret\r\nGET /x HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(bad.all_closed());

  const RecordingSink huge = run_http("POST / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\nab");
  EXPECT_EQ(huge.weirds, (std::vector<std::string>{"http.bad_content_length"}));
  EXPECT_EQ(huge.streams.at(1).bytes, "ab");
}

TEST(HttpInspector, UnchunkedTransferEncodingReadsToClose) {
  const RecordingSink s = run_http("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b"
                                   "data");
  EXPECT_EQ(s.weirds, (std::vector<std::string>{"http.bad_transfer_encoding"}));
  ASSERT_EQ(s.streams.size(), 2u);
  EXPECT_EQ(s.streams[1].bytes, "\x1f\x8b" "data");
}

TEST(HttpInspector, BadChunkSizeKeepsScanningRaw) {
  const RecordingSink s = run_http(
      "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\nsecret data\r\n");
  EXPECT_EQ(s.weirds, (std::vector<std::string>{"http.bad_chunk_size"}));
  ASSERT_EQ(s.streams.size(), 2u);
  EXPECT_EQ(s.streams[1].bytes, "abczzsecret data\r\n");
  EXPECT_TRUE(s.all_closed());
  EXPECT_TRUE(s.errors.empty());
}

TEST(HttpInspector, ChunkLongerThanAnnounced) {
  const RecordingSink s = run_http(
      "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n");
  EXPECT_EQ(s.weirds, (std::vector<std::string>{"http.bad_chunk_terminator"}));
  ASSERT_EQ(s.streams.size(), 2u);
  EXPECT_EQ(s.streams[1].bytes, "abcdef0\r\n\r\n");
}

TEST(HttpInspector, ChunkSizeOverflowAndLongChunkLine) {
  const RecordingSink over = run_http(
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\nxy");
  EXPECT_EQ(over.weirds, (std::vector<std::string>{"http.bad_chunk_size"}));
  EXPECT_EQ(over.streams.at(1).bytes, "11111111111111111xy");

  HttpLimits limits;
  limits.max_chunk_line = 16;
  const RecordingSink longline = run_http(
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=aaaaaaaaaaaaaaaaaaaa\r\nhello",
      limits);
  EXPECT_EQ(longline.weirds, (std::vector<std::string>{"http.chunk_line_too_long"}));
  EXPECT_EQ(longline.streams.at(1).bytes, "5;ext=aaaaaaaaaaaaaaaaaaaa\r\nhello");
}

TEST(HttpInspector, HeaderLineTooLongIsSkipped) {
  HttpLimits limits;
  limits.max_line = 64;
  const RecordingSink s = run_http("POST /p HTTP/1.1\r\nX-Long: " + std::string(100, 'a') +
                                       "\r\nContent-Length: 2\r\nHost: h\r\n\r\nok",
                                   limits);
  EXPECT_EQ(s.weirds, (std::vector<std::string>{"http.header_line_too_long"}));
  ASSERT_EQ(s.streams.size(), 2u);
  EXPECT_EQ(meta_of(s, 0), "http to_server method=POST host=h url=\"/p\" ua= mime= user=");
  EXPECT_EQ(s.streams[1].bytes, "ok");
  EXPECT_TRUE(s.all_closed());
}

TEST(HttpInspector, RequestLineTooLongGoesToUnparsed) {
  HttpLimits limits;
  limits.max_line = 32;
  const std::string bad = "GET /" + std::string(40, 'x') + " HTTP/1.1\r\nHost: h\r\n\r\n";
  const RecordingSink s = run_http(bad + "GET /ok HTTP/1.1\r\n\r\n", limits);
  EXPECT_EQ(s.weirds, (std::vector<std::string>{"http.request_line_too_long"}));
  ASSERT_EQ(s.streams.size(), 2u);
  EXPECT_EQ(meta_of(s, 0), "http to_server method= host= url=\"\" ua= mime= user=");
  EXPECT_EQ(s.streams[0].bytes, bad);
  EXPECT_EQ(s.streams[1].bytes, "/ok");
  EXPECT_TRUE(s.all_closed());
}

TEST(HttpInspector, TooManyHeadersAndHeaderBlockTooLong) {
  HttpLimits limits;
  limits.max_headers = 3;
  const RecordingSink many = run_http(
      "GET /m HTTP/1.1\r\nA: 1\r\nB: 2\r\nHost: h\r\nD: 4\r\nUser-Agent: late\r\n\r\n"
      "GET /n HTTP/1.1\r\n\r\n",
      limits);
  EXPECT_EQ(many.weirds, (std::vector<std::string>{"http.too_many_headers"}));
  ASSERT_EQ(many.streams.size(), 2u);
  EXPECT_EQ(meta_of(many, 0), "http to_server method=GET host=h url=\"/m\" ua= mime= user=");
  EXPECT_EQ(meta_of(many, 1), "http to_server method=GET host= url=\"/n\" ua= mime= user=");

  HttpLimits block;
  block.max_header_bytes = 30;
  const RecordingSink big = run_http(
      "GET /b HTTP/1.1\r\nHost: h\r\nX-Pad: 0123456789012345\r\nUser-Agent: ua\r\n\r\n", block);
  EXPECT_EQ(big.weirds, (std::vector<std::string>{"http.header_block_too_long"}));
  ASSERT_EQ(big.streams.size(), 1u);
  EXPECT_EQ(meta_of(big, 0), "http to_server method=GET host=h url=\"/b\" ua= mime= user=");
}

TEST(HttpInspector, BadHeaders) {
  const RecordingSink s = run_http(
      "POST /h HTTP/1.1\r\nno colon here\r\nContent-Length : 3\r\n: empty\r\nHost: a\r\n"
      "Host: b\r\n\r\nGET /n HTTP/1.1\r\n\r\n");
  EXPECT_EQ(s.weirds, (std::vector<std::string>{"http.bad_header", "http.bad_header_name",
                                                "http.bad_header", "http.multiple_host"}));
  ASSERT_EQ(s.streams.size(), 2u);
  EXPECT_EQ(meta_of(s, 0), "http to_server method=POST host=a url=\"/h\" ua= mime= user=");
  EXPECT_EQ(s.streams[1].bytes, "/n");
}

TEST(HttpInspector, VersionOddities) {
  const RecordingSink v3 = run_http("GET /v HTTP/3.0\r\nHost: h\r\n\r\n");
  EXPECT_EQ(v3.weirds, (std::vector<std::string>{"http.bad_version"}));
  EXPECT_EQ(v3.streams.at(0).bytes, "/v");

  const RecordingSink v09 = run_http("GET /old\r\nGET /new HTTP/1.0\r\n\r\n");
  EXPECT_EQ(v09.weirds, (std::vector<std::string>{"http.no_version"}));
  ASSERT_EQ(v09.streams.size(), 2u);
  EXPECT_EQ(v09.streams[0].bytes, "/old");
  EXPECT_EQ(v09.streams[1].bytes, "/new");

  const RecordingSink spaces = run_http("GET /a b c HTTP/1.1\r\n\r\n");
  expect_clean(spaces);
  EXPECT_EQ(spaces.streams.at(0).bytes, "/a b c");
}

TEST(HttpInspector, Http2PriorKnowledgeIsOpaque) {
  const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  const RecordingSink s = run_http(preface + "\x00\x00\x12\x04");
  EXPECT_EQ(s.weirds, (std::vector<std::string>{"http.h2_prior_knowledge"}));
  ASSERT_EQ(s.streams.size(), 1u);
  EXPECT_EQ(meta_of(s, 0), "http to_server method=PRI host= url=\"*\" ua= mime= user=");
  EXPECT_EQ(s.streams[0].bytes, "\r\nSM\r\n\r\n");  // the std::string + stops at the NUL
}

TEST(HttpInspector, BinaryGarbageIsScannedAsUnparsed) {
  static const char kGarbage[] = "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\nGETS /x\r\n\xff\r\n";
  const std::string garbage(kGarbage, sizeof(kGarbage) - 1);
  const RecordingSink s = run_http(garbage + "POST /y HTTP/1.1\r\nContent-Length: 1\r\n\r\nq");
  EXPECT_EQ(s.weirds, (std::vector<std::string>{"http.bad_request_line"}));
  ASSERT_EQ(s.streams.size(), 3u);
  EXPECT_EQ(meta_of(s, 0), "http to_server method= host= url=\"\" ua= mime= user=");
  EXPECT_EQ(s.streams[0].bytes, garbage);
  EXPECT_EQ(s.streams[1].bytes, "/y");
  EXPECT_EQ(s.streams[2].bytes, "q");
  EXPECT_TRUE(s.all_closed());
}

TEST(HttpInspector, UnparsedCarriesTheLastHost) {
  const RecordingSink s = run_http("GET /a HTTP/1.1\r\nHost: dropbox.example\r\n\r\n"
                                   "{\"ssn\":\"078-05-1120\"}\r\n");
  EXPECT_EQ(s.weirds, (std::vector<std::string>{"http.bad_request_line"}));
  ASSERT_EQ(s.streams.size(), 2u);
  EXPECT_EQ(meta_of(s, 1), "http to_server method= host=dropbox.example url=\"\" ua= mime= user=");
  EXPECT_EQ(s.streams[1].bytes, "{\"ssn\":\"078-05-1120\"}\r\n");
}

TEST(HttpInspector, PartialRequestLineAtCloseIsScanned) {
  const RecordingSink s = run_http("GET /leak?ssn=078-05-1120");
  EXPECT_TRUE(s.weirds.empty());
  ASSERT_EQ(s.streams.size(), 1u);
  EXPECT_EQ(s.streams[0].bytes, "GET /leak?ssn=078-05-1120");
  EXPECT_TRUE(s.all_closed());
}

TEST(HttpInspector, HeadersCutByCloseStillEmitTheUrl) {
  const RecordingSink s = run_http("GET /u?k=v HTTP/1.1\r\nHost: h\r\nUser-Ag");
  EXPECT_TRUE(s.weirds.empty());
  ASSERT_EQ(s.streams.size(), 1u);
  EXPECT_EQ(meta_of(s, 0), "http to_server method=GET host=h url=\"/u?k=v\" ua= mime= user=");
}

TEST(HttpInspector, TruncatedBody) {
  const RecordingSink s = run_http("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  EXPECT_EQ(s.weirds, (std::vector<std::string>{"http.truncated_body"}));
  ASSERT_EQ(s.streams.size(), 2u);
  EXPECT_EQ(s.streams[1].bytes, "abc");
  EXPECT_TRUE(s.all_closed());
}

TEST(HttpInspector, ConnectTunnelIsScanned) {
  const std::string hello("\x16\x03\x01\x00\x05hello", 10);
  const RecordingSink s = run_http_pieces(
      {"CONNECT files.example:443 HTTP/1.1\r\nHost: files.example:443\r\n\r\n", hello,
       "GET /not-a-request HTTP/1.1\r\n\r\n"});
  expect_clean(s);
  ASSERT_EQ(s.streams.size(), 2u);
  EXPECT_EQ(meta_of(s, 0), "http to_server method=CONNECT host=files.example:443 "
                           "url=\"files.example:443\" ua= mime= user=");
  EXPECT_EQ(s.streams[0].bytes, "files.example:443");
  EXPECT_EQ(meta_of(s, 1), meta_of(s, 0));
  EXPECT_EQ(s.streams[1].bytes, hello + "GET /not-a-request HTTP/1.1\r\n\r\n");
}

TEST(HttpInspector, ConnectRetriedAfter407) {
  const RecordingSink s = run_http(
      "CONNECT a.example:443 HTTP/1.1\r\n\r\n"
      "CONNECT a.example:443 HTTP/1.1\r\nProxy-Authorization: Basic Ym9iOng=\r\n\r\n"
      "tunnel bytes");
  expect_clean(s);
  ASSERT_EQ(s.streams.size(), 3u);
  EXPECT_EQ(meta_of(s, 0), "http to_server method=CONNECT host=a.example:443 "
                           "url=\"a.example:443\" ua= mime= user=");
  EXPECT_EQ(meta_of(s, 1), "http to_server method=CONNECT host=a.example:443 "
                           "url=\"a.example:443\" ua= mime= user=bob");
  EXPECT_EQ(meta_of(s, 2), meta_of(s, 1));
  EXPECT_EQ(s.streams[2].bytes, "tunnel bytes");
}

TEST(HttpInspector, GapInsideBodyStaysInSync) {
  RecordingSink sink;
  auto insp = HttpInspectorFactory().create(sink, FlowInfo{});
  insp->data(Dir::to_server, as_bytes("POST /g HTTP/1.1\r\nContent-Length: 11\r\n\r\nabc"));
  insp->gap(Dir::to_server, 5);
  insp->data(Dir::to_server, as_bytes("xyzGET /n HTTP/1.1\r\n\r\n"));
  insp->close();
  expect_clean(sink);
  ASSERT_EQ(sink.streams.size(), 3u);
  EXPECT_EQ(sink.streams[1].bytes, "abcxyz");
  EXPECT_EQ(sink.streams[1].gaps, (std::vector<RecordedGap>{{3, 5}}));
  EXPECT_EQ(sink.streams[2].bytes, "/n");
}

TEST(HttpInspector, GapInsideChunkStaysInSync) {
  RecordingSink sink;
  auto insp = HttpInspectorFactory().create(sink, FlowInfo{});
  insp->data(Dir::to_server,
             as_bytes("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nab"));
  insp->gap(Dir::to_server, 4);
  insp->data(Dir::to_server, as_bytes("gh\r\n0\r\n\r\n"));
  insp->close();
  expect_clean(sink);
  ASSERT_EQ(sink.streams.size(), 2u);
  EXPECT_EQ(sink.streams[1].bytes, "abgh");
  EXPECT_EQ(sink.streams[1].gaps, (std::vector<RecordedGap>{{2, 4}}));
}

TEST(HttpInspector, GapPastTheBodyResyncs) {
  RecordingSink sink;
  auto insp = HttpInspectorFactory().create(sink, FlowInfo{});
  insp->data(Dir::to_server, as_bytes("POST /g HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab"));
  insp->gap(Dir::to_server, 100);
  insp->data(Dir::to_server, as_bytes("ost: h\r\n\r\nPUT /r HTTP/1.1\r\nContent-Length: 1\r\n\r\nZ"));
  insp->close();
  EXPECT_EQ(sink.weirds, (std::vector<std::string>{"http.gap_resync"}));
  EXPECT_TRUE(sink.errors.empty());
  EXPECT_TRUE(sink.all_closed());
  ASSERT_EQ(sink.streams.size(), 5u);
  EXPECT_EQ(sink.streams[1].bytes, "ab");
  EXPECT_EQ(sink.streams[1].gaps, (std::vector<RecordedGap>{{2, 2}}));  // the 2 body bytes lost
  EXPECT_EQ(meta_of(sink, 2), "http to_server method= host=h url=\"\" ua= mime= user=");
  EXPECT_EQ(sink.streams[2].bytes, "ost: h\r\n\r\n");
  EXPECT_EQ(sink.streams[3].bytes, "/r");
  EXPECT_EQ(sink.streams[4].bytes, "Z");
}

TEST(HttpInspector, GapInHeadersEmitsUrlAndResyncs) {
  RecordingSink sink;
  auto insp = HttpInspectorFactory().create(sink, FlowInfo{});
  insp->data(Dir::to_server, as_bytes("GET /before?x=1 HTTP/1.1\r\nHost: h\r\nCook"));
  insp->gap(Dir::to_server, 30);
  insp->data(Dir::to_server, as_bytes("GET /after HTTP/1.1\r\n\r\n"));
  insp->close();
  EXPECT_EQ(sink.weirds, (std::vector<std::string>{"http.gap_resync"}));
  ASSERT_EQ(sink.streams.size(), 2u);
  EXPECT_EQ(meta_of(sink, 0), "http to_server method=GET host=h url=\"/before?x=1\" ua= mime= user=");
  EXPECT_EQ(sink.streams[1].bytes, "/after");  // a request right after the gap is found
  EXPECT_TRUE(sink.all_closed());
}

TEST(HttpInspector, GapDuringResyncIsMarkedInUnparsed) {
  RecordingSink sink;
  auto insp = HttpInspectorFactory().create(sink, FlowInfo{});
  insp->data(Dir::to_server, as_bytes("\x01junk"));
  insp->gap(Dir::to_server, 9);
  insp->data(Dir::to_server, as_bytes("more\nGE"));
  insp->data(Dir::to_server, as_bytes("T /z HTTP/1.1\r\n\r\n"));
  insp->close();
  EXPECT_EQ(sink.weirds, (std::vector<std::string>{"http.bad_request_line", "http.gap_resync"}));
  ASSERT_EQ(sink.streams.size(), 2u);
  EXPECT_EQ(sink.streams[0].bytes, "\x01junkmore\n");
  EXPECT_EQ(sink.streams[0].gaps, (std::vector<RecordedGap>{{5, 9}}));
  EXPECT_EQ(sink.streams[1].bytes, "/z");
  EXPECT_TRUE(sink.all_closed());
  EXPECT_TRUE(sink.errors.empty());
}

}  // namespace
}  // namespace dlp::inspectors
