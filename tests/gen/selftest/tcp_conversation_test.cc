// TCP conversation self-tests: sequence/ack bookkeeping, sequence wrap, midstream,
// crafted segments; frames parsed by the independent test parser.
#include "tests/gen/tcp_conversation.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "common/dlp/bytes.h"
#include "tests/gen/selftest/testutil.h"

namespace dlp::testgen {
namespace {

using testutil::parse;

std::string text(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<char>('a' + i % 26);
  return s;
}

// Client→server stream rebuilt from data segments by sequence offset (first write wins).
std::string client_stream(const std::vector<Packet>& pkts, std::uint32_t isn, std::uint16_t client_port) {
  std::map<std::uint32_t, std::string> by_off;
  for (const auto& p : pkts) {
    const auto f = parse(p.frame);
    if (f.sport != client_port || f.payload.empty()) continue;
    by_off.emplace(f.seq - (isn + 1), std::string(f.payload.begin(), f.payload.end()));
  }
  std::string out;
  for (const auto& [off, data] : by_off) {
    if (off > out.size()) break;
    if (off + data.size() > out.size()) out += data.substr(out.size() - off);
  }
  return out;
}

TEST(testgen_tcp_conversation, HandshakeDataAndCloseNumbers) {
  TcpConfig cfg;
  cfg.client_isn = 1000;
  cfg.server_isn = 5000;
  cfg.step_ns = 10;
  cfg.start_ns = 100;
  TcpConversation c(cfg);
  c.handshake();
  c.send(Side::kClient, text(3000), 1000);
  c.send(Side::kServer, text(10));
  c.fin();
  const auto& pk = c.packets();
  // SYN, SYN-ACK, ACK, 3 data (ACK after 2 and after the last), response + ACK, FIN, FIN, ACK
  ASSERT_EQ(pk.size(), 3u + 3 + 2 + 2 + 3);
  for (std::size_t i = 0; i < pk.size(); ++i) {
    EXPECT_EQ(pk[i].ts_ns, 100 + 10 * i);
    const auto f = parse(pk[i].frame);
    EXPECT_TRUE(f.l4_checksum_ok && f.ip_checksum_ok) << i;
  }
  auto f = parse(pk[0].frame);
  EXPECT_EQ(f.flags, kTcpSyn);
  EXPECT_EQ(f.seq, 1000u);
  EXPECT_EQ(f.tcp_options, (std::vector<std::uint8_t>{2, 4, 0x05, 0xb4}));
  f = parse(pk[1].frame);
  EXPECT_EQ(f.flags, kTcpSyn | kTcpAck);
  EXPECT_EQ(f.seq, 5000u);
  EXPECT_EQ(f.ack, 1001u);
  EXPECT_EQ(f.sport, cfg.server_port);
  EXPECT_EQ(f.src, "cb007150");  // 203.0.113.80: server address mirrored
  f = parse(pk[2].frame);
  EXPECT_EQ(f.flags, kTcpAck);
  EXPECT_EQ(f.seq, 1001u);
  EXPECT_EQ(f.ack, 5001u);
  f = parse(pk[3].frame);
  EXPECT_EQ(f.seq, 1001u);
  EXPECT_EQ(f.payload.size(), 1000u);
  EXPECT_EQ(f.flags, kTcpAck);
  f = parse(pk[5].frame);  // server ACK after two segments
  EXPECT_EQ(f.sport, cfg.server_port);
  EXPECT_EQ(f.ack, 3001u);
  f = parse(pk[6].frame);
  EXPECT_EQ(f.seq, 3001u);
  EXPECT_EQ(f.flags, kTcpAck | kTcpPsh);
  EXPECT_EQ(parse(pk[7].frame).ack, 4001u);
  f = parse(pk[10].frame);  // client FIN after the response's ACK
  EXPECT_EQ(f.flags, kTcpFin | kTcpAck);
  EXPECT_EQ(f.seq, 4001u);
  EXPECT_EQ(f.ack, 5011u);
  f = parse(pk[11].frame);
  EXPECT_EQ(f.flags, kTcpFin | kTcpAck);
  EXPECT_EQ(f.ack, 4002u);
  f = parse(pk[12].frame);
  EXPECT_EQ(f.ack, 5012u);
  EXPECT_EQ(c.next_seq(Side::kClient), 4002u);
  EXPECT_EQ(c.bytes_sent(Side::kClient), 3000u);
  EXPECT_EQ(c.bytes_sent(Side::kServer), 10u);
}

TEST(testgen_tcp_conversation, SequenceWrapAndReassembly) {
  TcpConfig cfg;
  cfg.client_isn = 0xFFFFFF00;
  TcpConversation c(cfg);
  c.handshake();
  const std::string data = text(1000);
  c.send(Side::kClient, data, 100);
  bool wrapped = false;
  for (const auto& p : c.packets()) {
    const auto f = parse(p.frame);
    if (f.sport == cfg.client_port && !f.payload.empty() && f.seq < 0x1000) wrapped = true;
  }
  EXPECT_TRUE(wrapped);
  EXPECT_EQ(c.next_seq(Side::kClient), static_cast<std::uint32_t>(0xFFFFFF01u + 1000));
  EXPECT_EQ(client_stream(c.packets(), cfg.client_isn, cfg.client_port), data);
}

TEST(testgen_tcp_conversation, ReorderedAndOverlappingSegmentsStillCarryTheStream) {
  TcpConfig cfg;
  cfg.ip = {.src = "2001:db8:10::20", .dst = "2001:db8:cafe::80", .ipv6_ext_headers = true};
  cfg.l2.vlans = {100};
  TcpConversation c(cfg);
  c.handshake();
  const std::string data = text(500);
  c.send(Side::kClient, data, 128);
  auto pk = c.packets();
  std::swap(pk[3].frame, pk[4].frame);
  const Packet overlap = c.segment_at(Side::kClient, 100, as_bytes(std::string_view(data).substr(100, 200)));
  const auto f = parse(overlap.frame);
  EXPECT_EQ(f.seq, cfg.client_isn + 1 + 100);
  EXPECT_EQ(f.ack, cfg.server_isn + 1);
  EXPECT_EQ(f.flags, kTcpAck | kTcpPsh);
  EXPECT_TRUE(f.v6);
  EXPECT_EQ(f.tag_values, (std::vector<std::uint16_t>{100}));
  EXPECT_TRUE(f.l4_checksum_ok);
  pk.insert(pk.begin() + 3, overlap);
  EXPECT_EQ(client_stream(pk, cfg.client_isn, cfg.client_port), data);
}

TEST(testgen_tcp_conversation, MidstreamSendCutRstAndPush) {
  TcpConfig cfg;
  cfg.client_isn = 77;
  cfg.server_isn = 99;
  cfg.ack_every = 100;
  TcpConversation c(cfg);
  const std::string data = text(300);
  const std::size_t cuts[] = {10, 250};
  c.send_cut(Side::kClient, as_bytes(data), cuts);
  c.rst(Side::kClient);
  ASSERT_EQ(c.packets().size(), 3u + 1 + 1);
  auto f = parse(c.packets()[0].frame);
  EXPECT_EQ(f.seq, 78u) << "first data byte is ISN + 1 without a handshake";
  EXPECT_EQ(f.payload.size(), 10u);
  EXPECT_EQ(parse(c.packets()[1].frame).payload.size(), 240u);
  EXPECT_EQ(parse(c.packets()[2].frame).payload.size(), 50u);
  EXPECT_EQ(parse(c.packets()[3].frame).ack, 378u);
  f = parse(c.packets()[4].frame);
  EXPECT_EQ(f.flags, kTcpRst | kTcpAck);
  EXPECT_EQ(f.seq, 378u);
  const std::uint64_t before = c.now_ns();
  c.push(c.frame(Side::kServer, 1, 2, kTcpAck, {}));
  EXPECT_EQ(c.packets().back().ts_ns, before);
  EXPECT_EQ(c.now_ns(), before + cfg.step_ns);
  auto taken = c.take_packets();
  EXPECT_EQ(taken.size(), 6u);
  EXPECT_TRUE(c.packets().empty());
  const std::size_t bad_cuts[] = {200, 100};
  EXPECT_THROW(c.send_cut(Side::kClient, as_bytes(data), bad_cuts), std::invalid_argument);
}

TEST(testgen_tcp_conversation, ServerOverrides) {
  TcpConfig cfg;
  Ip server_ip;
  server_ip.src = "198.51.100.1";
  server_ip.dst = "10.1.0.10";
  server_ip.ttl = 40;
  cfg.server_ip.emplace(std::move(server_ip));
  cfg.server_l2.emplace().vlans = {5};
  TcpConversation c(cfg);
  c.send(Side::kServer, std::string_view("hi"));
  const auto f = parse(c.packets()[0].frame);
  EXPECT_EQ(f.src, "c6336401");
  EXPECT_EQ(f.ttl, 40);
  EXPECT_EQ(f.tag_values, (std::vector<std::uint16_t>{5}));
  EXPECT_TRUE(f.l4_checksum_ok);
}

}  // namespace
}  // namespace dlp::testgen
