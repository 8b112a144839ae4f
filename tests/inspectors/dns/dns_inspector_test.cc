// DNS message parsing: name streams, malformed messages, probe, ports.
#include <gtest/gtest.h>

#include <iterator>
#include <string>
#include <vector>

#include "tests/inspectors/dns/dns_test_util.h"

namespace dlp::inspectors {
namespace {

using testing::ipv4;
using testing::RecordingSink;
using testing::udp_flow;
using testgen::dns_query;

const Ip16 kClient = ipv4(10, 1, 0, 10);

RecordingSink run_message(const std::vector<std::uint8_t>& msg) {
  DnsInspectorFactory dns;
  RecordingSink sink;
  auto insp = dns.create(sink, udp_flow(kClient));
  insp->data(Dir::to_server, msg);
  insp->close();
  return sink;
}

// Header (id 1, RD, qdcount) followed by raw bytes.
std::vector<std::uint8_t> raw_query(std::uint16_t qdcount, std::vector<std::uint8_t> body) {
  const std::uint8_t header[] = {0, 1, 1, 0, 0, static_cast<std::uint8_t>(qdcount), 0, 0, 0, 0, 0, 0};
  body.insert(body.begin(), std::begin(header), std::end(header));
  return body;
}

TEST(DnsInspector, QueryNameBecomesOneLineOfTheFlowStream) {
  const RecordingSink s = run_message(dns_query(7, "www.Example.com", testgen::kDnsAaaa, true));
  ASSERT_EQ(s.streams.size(), 1u);
  EXPECT_EQ(s.streams[0].bytes, "www.Example.com\n");
  EXPECT_EQ(s.streams[0].meta.app, App::dns);
  EXPECT_EQ(s.streams[0].meta.dir, Dir::to_server);
  EXPECT_TRUE(s.streams[0].closed);
  EXPECT_TRUE(s.weirds.empty());
  EXPECT_TRUE(s.reports.empty());
  EXPECT_TRUE(s.errors.empty());
}

TEST(DnsInspector, SeveralQuestionsAndABackwardPointer) {
  // q1: a.example.com; q2: b + pointer to "example.com" inside q1 (offset 14).
  std::vector<std::uint8_t> body = {1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
                                    0, 1, 0, 1, 1, 'b', 0xc0, 14, 0, 16, 0, 1};
  const RecordingSink s = run_message(raw_query(2, body));
  ASSERT_EQ(s.streams.size(), 1u);
  EXPECT_EQ(s.streams[0].bytes, "a.example.com\nb.example.com\n");
  EXPECT_TRUE(s.weirds.empty());
}

TEST(DnsInspector, CardNumberInLabelsReachesTheContentStream) {
  const RecordingSink s = run_message(dns_query(1, "4111111111111111.exp.exfil-example.net"));
  ASSERT_EQ(s.streams.size(), 1u);
  EXPECT_EQ(s.streams[0].bytes, "4111111111111111.exp.exfil-example.net\n");
}

TEST(DnsInspector, BinaryLabelBytesAreEscaped) {
  std::vector<std::uint8_t> body = {4, 'a', '.', 0, 0xff, 3, 'c', 'o', 'm', 0, 0, 1, 0, 1};
  const RecordingSink s = run_message(raw_query(1, body));
  ASSERT_EQ(s.streams.size(), 1u);
  EXPECT_EQ(s.streams[0].bytes, "a\\046\\000\\255.com\n");
  EXPECT_EQ(s.weirds, std::vector<std::string>{"dns.binary_label"});
}

TEST(DnsInspector, PointerToItselfIsALoop) {
  const RecordingSink s = run_message(raw_query(1, {0xc0, 12, 0, 1, 0, 1}));
  EXPECT_EQ(s.weirds, std::vector<std::string>{"dns.pointer_loop"});
  EXPECT_TRUE(s.streams.empty());
}

TEST(DnsInspector, ForwardPointerIsALoop) {
  // a label, then a pointer to the pointer after it, which points back to the first: a cycle
  // if forward pointers were followed.
  const RecordingSink s = run_message(raw_query(1, {1, 'a', 0xc0, 16, 0xc0, 12, 0, 1, 0, 1}));
  EXPECT_EQ(s.weirds, std::vector<std::string>{"dns.pointer_loop"});
}

TEST(DnsInspector, PointerOutOfTheMessageOrIntoTheHeader) {
  EXPECT_EQ(run_message(raw_query(1, {0xc1, 0x00, 0, 1, 0, 1})).weirds,
            std::vector<std::string>{"dns.bad_pointer"});
  EXPECT_EQ(run_message(raw_query(1, {1, 'a', 0xc0, 2, 0, 1, 0, 1})).weirds,
            std::vector<std::string>{"dns.bad_pointer"});
}

TEST(DnsInspector, TruncatedMessages) {
  EXPECT_EQ(run_message({0, 1, 1, 0, 0}).weirds, std::vector<std::string>{"dns.truncated"});
  EXPECT_EQ(run_message(raw_query(1, {5, 'a', 'b'})).weirds,
            std::vector<std::string>{"dns.truncated"});
  EXPECT_EQ(run_message(raw_query(1, {1, 'a', 3, 'c', 'o', 'm'})).weirds,
            std::vector<std::string>{"dns.truncated"});
  EXPECT_EQ(run_message(raw_query(1, {0xc0})).weirds, std::vector<std::string>{"dns.truncated"});
  // A whole name without its type and class: still scanned, then counted.
  const RecordingSink s = run_message(raw_query(1, {1, 'a', 3, 'c', 'o', 'm', 0, 0}));
  EXPECT_EQ(s.weirds, std::vector<std::string>{"dns.truncated"});
  ASSERT_EQ(s.streams.size(), 1u);
  EXPECT_EQ(s.streams[0].bytes, "a.com\n");
}

TEST(DnsInspector, ExtendedLabelTypesAndOverlongNames) {
  EXPECT_EQ(run_message(raw_query(1, {0x41, 'a', 0, 0, 1, 0, 1})).weirds,
            std::vector<std::string>{"dns.bad_label"});
  std::vector<std::uint8_t> body;
  for (int i = 0; i < 5; ++i) {  // 5 * 64 octets > 255
    body.push_back(63);
    body.insert(body.end(), 63, 'x');
  }
  body.insert(body.end(), {0, 0, 1, 0, 1});
  EXPECT_EQ(run_message(raw_query(1, body)).weirds, std::vector<std::string>{"dns.name_too_long"});
}

TEST(DnsInspector, ResponsesAreIgnoredAndOddQueriesCounted) {
  DnsInspectorFactory dns;
  RecordingSink sink;
  auto insp = dns.create(sink, udp_flow(kClient));
  const auto q = dns_query(9, "www.example.com");
  insp->data(Dir::to_client, testgen::dns_response(q));
  insp->data(Dir::to_server, testgen::dns_response(q));  // a response sent by the client
  auto update = dns_query(10, "example.com");
  update[2] = 0x28;  // opcode 5, UPDATE
  insp->data(Dir::to_server, update);
  insp->data(Dir::to_server, raw_query(0, {}));
  insp->close();
  EXPECT_TRUE(sink.streams.empty());
  EXPECT_EQ(sink.weirds, (std::vector<std::string>{"dns.response_to_server", "dns.opcode",
                                                    "dns.no_question"}));
}

TEST(DnsInspector, TooManyQuestionsParsesTheFirstFour) {
  std::vector<std::uint8_t> body;
  for (char c = 'a'; c <= 'f'; ++c) body.insert(body.end(), {1, static_cast<std::uint8_t>(c), 0, 0, 1, 0, 1});
  const RecordingSink s = run_message(raw_query(6, body));
  EXPECT_EQ(s.weirds, std::vector<std::string>{"dns.too_many_questions"});
  ASSERT_EQ(s.streams.size(), 1u);
  EXPECT_EQ(s.streams[0].bytes, "a\nb\nc\nd\n");
}

TEST(DnsInspector, StreamLimitIsCountedAndReported) {
  Limits limits;
  limits.max_stream_bytes = 20;
  DnsInspectorFactory dns({}, limits);
  RecordingSink sink;
  auto insp = dns.create(sink, testing::tcp_flow(kClient));
  const std::string bytes = testing::tcp_bytes(
      {{0, "www.example.com"}, {0, "mail.example.com"}, {0, "docs.example.com"}});
  insp->data(Dir::to_server, as_bytes(bytes));
  insp->close();
  ASSERT_EQ(sink.streams.size(), 1u);
  EXPECT_EQ(sink.streams[0].bytes, "www.example.com\nmail");
  EXPECT_EQ(sink.weird_count("limit.stream_bytes"), 1u);
  ASSERT_EQ(sink.reports.size(), 1u);
  EXPECT_EQ(sink.reports[0].category, "limit");
}

TEST(DnsInspector, PortsAndProbe) {
  DnsInspectorFactory dns;
  EXPECT_EQ(dns.app(), App::dns);
  EXPECT_EQ(dns.name(), "dns");
  EXPECT_TRUE(dns.wants_port(53));
  EXPECT_FALSE(dns.wants_port(5353));
  const auto q = dns_query(1, "www.example.com", testgen::kDnsA, true);
  const auto plain = dns_query(1, "www.example.com");
  EXPECT_TRUE(dns.probe(q));
  EXPECT_TRUE(dns.probe(plain));
  EXPECT_TRUE(dns.probe(testgen::dns_tcp_framed(q)));
  EXPECT_FALSE(dns.probe(testgen::dns_response(q)));
  EXPECT_FALSE(dns.probe(as_bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
  EXPECT_FALSE(dns.probe(Bytes(q.data(), q.size() - 1)));  // cut short
  auto trailing = plain;
  trailing.push_back(0);
  EXPECT_FALSE(dns.probe(trailing));
  EXPECT_FALSE(dns.probe(as_bytes("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00")));
}

TEST(DnsInspector, ExcludedNames) {
  DnsInspectorFactory dns;
  EXPECT_TRUE(dns.excluded("1.0.0.10.in-addr.arpa"));
  EXPECT_TRUE(dns.excluded("arpa"));
  EXPECT_TRUE(dns.excluded("printer._ipp._tcp.local"));
  EXPECT_TRUE(dns.excluded("abc.0.4.sfi_usr.sophosxl.net"));
  EXPECT_TRUE(dns.excluded("sophosxl.net"));
  EXPECT_FALSE(dns.excluded("notsophosxl.net"));
  EXPECT_FALSE(dns.excluded("www.example.com"));
  DnsExfilConfig cfg;
  cfg.allowlist = {"*.Corp.Example.", ".cdn.example"};
  DnsInspectorFactory mine(cfg);
  EXPECT_TRUE(mine.excluded("a.corp.example"));
  EXPECT_TRUE(mine.excluded("x.cdn.example"));
  EXPECT_FALSE(mine.excluded("abc.sophosxl.net"));
}

}  // namespace
}  // namespace dlp::inspectors
