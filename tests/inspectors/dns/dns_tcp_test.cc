// DNS over TCP: length framing must depend on the bytes, never on how they were cut.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "tests/inspectors/dns/dns_test_util.h"

namespace dlp::inspectors {
namespace {

using testing::ipv4;
using testing::RecordingSink;
using testing::tcp_bytes;
using testing::tcp_flow;

const Ip16 kClient = ipv4(10, 1, 0, 20);

// A short tunnel (enough to raise the finding) between ordinary names, all at one time.
std::vector<testgen::DnsQueryEvent> corpus() {
  std::vector<testgen::DnsQueryEvent> ev = {{0, "www.example.com"}, {0, "mail.Example.org", testgen::kDnsMx}};
  testgen::TunnelConfig tc;
  tc.start_ns = 0;
  tc.interval_ns = 0;
  std::string secret(30 * testgen::tunnel_bytes_per_query(tc), 'x');
  for (std::size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<char>(i * 131 + 7);
  for (auto& e : testgen::tunnel_queries(as_bytes(secret), tc)) ev.push_back(e);
  ev.push_back({0, "_dmarc.example.net", testgen::kDnsTxt});
  return ev;
}

std::string run_pieces(const std::vector<std::string>& pieces, std::size_t* reports = nullptr) {
  DnsInspectorFactory dns;
  RecordingSink sink;
  auto insp = dns.create(sink, tcp_flow(kClient));
  for (const std::string& p : pieces) {
    if (!p.empty()) insp->data(Dir::to_server, as_bytes(p));
  }
  insp->close();
  if (reports != nullptr) *reports = sink.reports.size();
  EXPECT_TRUE(sink.errors.empty());
  return sink.dump();
}

TEST(DnsTcp, SeveralMessagesInOneSegment) {
  const std::vector<testgen::DnsQueryEvent> ev = {{0, "a.example.com"}, {0, "b.example.com"}};
  DnsInspectorFactory dns;
  RecordingSink sink;
  auto insp = dns.create(sink, tcp_flow(kClient));
  insp->data(Dir::to_server, as_bytes(tcp_bytes(ev)));
  const auto resp = testgen::dns_tcp_framed(testgen::dns_response(testgen::dns_query(1, "a.example.com")));
  insp->data(Dir::to_client, resp);
  insp->close();
  ASSERT_EQ(sink.streams.size(), 1u);
  EXPECT_EQ(sink.streams[0].bytes, "a.example.com\nb.example.com\n");
  EXPECT_TRUE(sink.weirds.empty());
}

TEST(DnsTcp, EveryTwoWaySplitGivesTheSameResult) {
  const std::string input = tcp_bytes(corpus());
  std::size_t reports = 0;
  const std::string ref = run_pieces({input}, &reports);
  ASSERT_EQ(reports, 1u);  // the corpus does reach the tracker's threshold
  for (std::size_t i = 0; i <= input.size(); ++i) {
    ASSERT_EQ(run_pieces({input.substr(0, i), input.substr(i)}), ref) << "split at " << i;
  }
}

TEST(DnsTcp, OneByteAtATimeAndRandomThreeWayCuts) {
  const std::string input = tcp_bytes(corpus());
  const std::string ref = run_pieces({input});
  std::vector<std::string> bytes;
  for (char c : input) bytes.emplace_back(1, c);
  EXPECT_EQ(run_pieces(bytes), ref);
  std::mt19937_64 rng(4);
  for (int k = 0; k < 200; ++k) {
    std::size_t a = rng() % (input.size() + 1), b = rng() % (input.size() + 1);
    if (a > b) std::swap(a, b);
    ASSERT_EQ(run_pieces({input.substr(0, a), input.substr(a, b - a), input.substr(b)}), ref);
  }
}

TEST(DnsTcp, GapInsideAMessageDropsOnlyThatMessage) {
  const std::string input =
      tcp_bytes({{0, "one.example.com"}, {0, "two.example.com"}, {0, "three.example.com"}});
  const std::size_t first_len = 2 + 12 + 17 + 4;  // "one.example.com" is 17 wire octets
  DnsInspectorFactory dns;
  RecordingSink sink;
  auto insp = dns.create(sink, tcp_flow(kClient));
  // The first message and 20 bytes of the second, a 5-byte hole, then the rest.
  insp->data(Dir::to_server, as_bytes(input).first(first_len + 20));
  insp->gap(Dir::to_server, 5);
  insp->data(Dir::to_server, as_bytes(input).subspan(first_len + 25));
  insp->close();
  ASSERT_EQ(sink.streams.size(), 1u);
  EXPECT_EQ(sink.streams[0].bytes, "one.example.com\nthree.example.com\n");
  EXPECT_EQ(sink.weirds, std::vector<std::string>{"dns.gap"});
}

TEST(DnsTcp, GapAcrossAFrameBoundaryDesynchronisesButKeepsScanning) {
  const std::string input = tcp_bytes({{0, "one.example.com"}, {0, "two.example.com"}});
  DnsInspectorFactory dns;
  RecordingSink sink;
  auto insp = dns.create(sink, tcp_flow(kClient));
  insp->data(Dir::to_server, as_bytes(input).first(10));
  insp->gap(Dir::to_server, 100);  // more than the rest of the first message
  insp->data(Dir::to_server, as_bytes("4111111111111111"));
  insp->close();
  EXPECT_EQ(sink.weirds, std::vector<std::string>{"dns.gap_desync"});
  ASSERT_EQ(sink.streams.size(), 1u);
  EXPECT_EQ(sink.streams[0].bytes, "4111111111111111");
  EXPECT_TRUE(sink.all_closed());
}

TEST(DnsTcp, OversizedMessageIsSkippedAndFramingHolds) {
  Limits limits;
  limits.max_flow_memory = 64;
  limits.limits_are_findings = false;
  DnsInspectorFactory dns({}, limits);
  RecordingSink sink;
  auto insp = dns.create(sink, tcp_flow(kClient));
  const std::string big(60, 'a');
  const std::string input = tcp_bytes({{0, big + "." + big + ".example.com"}, {0, "ok.example.com"}});
  for (char c : input) insp->data(Dir::to_server, as_bytes(std::string_view(&c, 1)));
  insp->close();
  ASSERT_EQ(sink.streams.size(), 1u);
  EXPECT_EQ(sink.streams[0].bytes, "ok.example.com\n");
  EXPECT_EQ(sink.weirds, std::vector<std::string>{"limit.flow_memory"});
  EXPECT_TRUE(sink.reports.empty());
}

TEST(DnsTcp, EmptyMessageIsCounted) {
  DnsInspectorFactory dns;
  RecordingSink sink;
  auto insp = dns.create(sink, tcp_flow(kClient));
  std::string input("\0\0", 2);
  input += tcp_bytes({{0, "x.example.com"}});
  insp->data(Dir::to_server, as_bytes(input));
  insp->close();
  EXPECT_EQ(sink.weirds, std::vector<std::string>{"dns.empty_message"});
  ASSERT_EQ(sink.streams.size(), 1u);
  EXPECT_EQ(sink.streams[0].bytes, "x.example.com\n");
}

}  // namespace
}  // namespace dlp::inspectors
