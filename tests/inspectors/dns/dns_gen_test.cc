// The DNS generator's packets carry what the inspector expects: queries framed over UDP
// and TCP, answers after them, and a capture file that can be written.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tests/gen/pcap_writer.h"
#include "tests/inspectors/dns/dns_test_util.h"

namespace dlp::inspectors {
namespace {

using testgen::DnsQueryEvent;
using testing::ipv4;
using testing::RecordingSink;

struct L4 {
  std::uint16_t sport = 0, dport = 0;
  Bytes payload;
};

L4 l4_of(const testgen::Frame& f) {
  const testgen::FrameLayout lay = testgen::frame_layout(f);
  const std::uint8_t* p = f.data() + lay.l4_offset;
  L4 out;
  out.sport = static_cast<std::uint16_t>((p[0] << 8) | p[1]);
  out.dport = static_cast<std::uint16_t>((p[2] << 8) | p[3]);
  std::size_t hdr = 8;
  std::size_t end = f.size();
  if (lay.l4_protocol == testgen::kIpProtoTcp) {
    hdr = static_cast<std::size_t>(p[12] >> 4) * 4;
    // IPv4 total length bounds the segment (frames are padded to 60 bytes).
    end = lay.l3_offset + static_cast<std::size_t>((f[lay.l3_offset + 2] << 8) | f[lay.l3_offset + 3]);
  } else {
    end = lay.l4_offset + static_cast<std::size_t>((p[4] << 8) | p[5]);
  }
  out.payload = Bytes(p + hdr, end - lay.l4_offset - hdr);
  return out;
}

const std::vector<DnsQueryEvent> kEvents = {
    {1'000'000'000, "www.example.com", testgen::kDnsA},
    {2'000'000'000, "mail.example.org", testgen::kDnsMx},
    {3'000'000'000, "4111111111111111.exfil-example.net", testgen::kDnsTxt}};

TEST(DnsGen, UdpPacketsCarryOneQueryEachThenTheAnswer) {
  const auto pkts = testgen::dns_udp_packets(kEvents, {.src = "10.1.0.10", .dst = "10.0.0.53"});
  ASSERT_EQ(pkts.size(), 6u);
  DnsInspectorFactory dns;
  RecordingSink sink;
  for (std::size_t i = 0; i < pkts.size(); ++i) {
    const L4 l4 = l4_of(pkts[i].frame);
    const bool query = i % 2 == 0;
    EXPECT_EQ(query ? l4.dport : l4.sport, 53);
    EXPECT_EQ(pkts[i].ts_ns, kEvents[i / 2].ts_ns + (query ? 0 : 1'000'000));
    EXPECT_EQ(dns.probe(l4.payload), query);
    sink.clock_ns = pkts[i].ts_ns;
    auto insp = dns.create(sink, testing::udp_flow(ipv4(10, 1, 0, 10), query ? l4.sport : l4.dport));
    insp->data(query ? Dir::to_server : Dir::to_client, l4.payload);
    insp->close();
  }
  ASSERT_EQ(sink.streams.size(), 3u);
  EXPECT_EQ(sink.streams[2].bytes, "4111111111111111.exfil-example.net\n");
  EXPECT_TRUE(sink.weirds.empty());
}

TEST(DnsGen, TcpConversationCarriesFramedQueries) {
  testgen::TcpConfig cfg;
  cfg.server_port = 53;
  const auto pkts = testgen::dns_tcp_packets(kEvents, cfg, true, 7);  // tiny segments
  DnsInspectorFactory dns;
  RecordingSink sink;
  auto insp = dns.create(sink, testing::tcp_flow(ipv4(10, 1, 0, 10)));
  std::uint64_t last_query_ts = 0;
  for (const auto& p : pkts) {
    const L4 l4 = l4_of(p.frame);
    if (l4.payload.empty()) continue;
    sink.clock_ns = p.ts_ns;
    if (l4.dport == 53) last_query_ts = p.ts_ns;
    insp->data(l4.dport == 53 ? Dir::to_server : Dir::to_client, l4.payload);
  }
  insp->close();
  ASSERT_EQ(sink.streams.size(), 1u);
  EXPECT_EQ(sink.streams[0].bytes,
            "www.example.com\nmail.example.org\n4111111111111111.exfil-example.net\n");
  EXPECT_TRUE(sink.weirds.empty());
  EXPECT_GE(last_query_ts, kEvents.back().ts_ns);  // sent at (or just after) the event time
}

TEST(DnsGen, TunnelNamesDecodeBackToThePayload) {
  testgen::TunnelConfig tc;
  tc.encoding = testgen::TunnelEncoding::kHex;
  tc.sequence = false;
  const std::string secret = "card 4111111111111111 exp 12/29";
  const auto ev = testgen::tunnel_queries(as_bytes(secret), tc);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].name, testgen::hex_encode(as_bytes(secret)) + ".exfil-example.net");
  EXPECT_EQ(testgen::base32_encode(as_bytes("foobar")), "mzxw6ytboi");  // RFC 4648 §10
  EXPECT_LE(ev[0].name.size(), tc.max_name);
}

TEST(DnsGen, TunnelNamesStayWithinDnsLimits) {
  testgen::TunnelConfig tc;
  std::string payload(5000, 'z');
  for (const auto& e : testgen::tunnel_queries(as_bytes(payload), tc)) {
    EXPECT_LE(e.name.size(), 253u);
    EXPECT_NO_THROW(testgen::dns_name_wire(e.name));
  }
  tc.domain = std::string(250, 'a');
  EXPECT_THROW(testgen::tunnel_bytes_per_query(tc), std::invalid_argument);
}

TEST(DnsGen, PacketsCanBeWrittenToACapture) {
  const std::string path = ::testing::TempDir() + "dns_gen_test.pcap";
  testgen::TunnelConfig tc;
  const auto ev = testgen::tunnel_queries(as_bytes(std::string(1000, 'q')), tc);
  const auto pkts = testgen::dns_udp_packets(ev, {.src = "10.1.0.10", .dst = "10.0.0.53"});
  auto w = testgen::CaptureWriter::open(path, testgen::Format::kPcap);
  w->write_all(pkts);
  w->close();
  EXPECT_EQ(w->records_written(), 2 * ev.size());
  EXPECT_EQ(testgen::capture_records(path).size(), 2 * ev.size());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace dlp::inspectors
