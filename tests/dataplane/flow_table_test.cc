// The flow table: lookup from both directions, orientation, timeouts on packet time,
// eviction, on_flow_end exactly once per flow, and a 300,000-flow population.
#include "dataplane/flow_table.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace dlp::dataplane {
namespace {

using namespace tcp_flag;

constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;

// Test-only: IpAddr's own helpers live in packet.cc, which this suite does not need.
IpAddr ip(std::uint32_t host_order) {
  IpAddr a;
  a.b[10] = a.b[11] = 0xff;
  a.b[12] = static_cast<std::uint8_t>(host_order >> 24);
  a.b[13] = static_cast<std::uint8_t>(host_order >> 16);
  a.b[14] = static_cast<std::uint8_t>(host_order >> 8);
  a.b[15] = static_cast<std::uint8_t>(host_order);
  return a;
}

constexpr std::uint32_t kHostA = 0x0A000001;  // 10.0.0.1
constexpr std::uint32_t kHostB = 0xC0000201;  // 192.0.2.1

Decoded pkt(std::uint32_t src, std::uint16_t sport, std::uint32_t dst, std::uint16_t dport,
            std::uint8_t proto = kTcp, std::uint8_t flags = kAck) {
  Decoded d;
  d.ip_version = 4;
  d.src = ip(src);
  d.dst = ip(dst);
  d.sport = sport;
  d.dport = dport;
  d.proto = proto;
  d.tcp_flags = proto == kTcp ? flags : 0;
  return d;
}

struct NullSink final : StreamSink {
  void on_data(Side, Bytes) override {}
  void on_gap(Side, std::uint64_t) override {}
};

std::string key_str(const Flow& f) {
  return std::to_string(f.client_ip.b[15]) + ":" + std::to_string(f.client_port) + ">" +
         std::to_string(f.server_ip.b[15]) + ":" + std::to_string(f.server_port) + "/" +
         std::to_string(f.proto);
}

class RecordingEvents final : public FlowEvents {
 public:
  void on_flow_end(Flow& flow, FlowEnd why) override {
    EXPECT_TRUE(flow.in_use_);  // called before the slot is reused
    if (flow.tcp) flow.tcp->close(sink);  // the session is still alive here
    ended.push_back({key_str(flow), why});
    ++per_flow[&flow];
  }
  std::vector<std::pair<std::string, FlowEnd>> ended;
  std::map<const Flow*, int> per_flow;
  NullSink sink;
};

class FlowTableTest : public ::testing::Test {
 protected:
  FlowTableTest() {
    cfg.max_flows = 64;
    cfg.syn_idle_ns = 30;
    cfg.tcp_idle_ns = 300;
    cfg.udp_idle_ns = 60;
    cfg.closed_ns = 10;
  }
  FlowTable& table() {
    if (!table_) table_ = std::make_unique<FlowTable>(cfg, reasm, mem, reasm_counters, events);
    return *table_;
  }
  // Drive a flow's TCP state the way the worker would.
  void segment(FlowLookup r, std::uint32_t seq, std::uint32_t ack, std::uint8_t flags,
               std::string_view payload = {}) {
    Segment seg{seq, ack, flags, 1000, as_bytes(payload)};
    r.flow->tcp->on_segment(r.from, seg, sink);
  }

  FlowConfig cfg;
  ReassemblyConfig reasm;
  ReassemblyMemory mem;
  ReassemblyCounters reasm_counters;
  RecordingEvents events;
  NullSink sink;

 private:
  std::unique_ptr<FlowTable> table_;
};

TEST(FlowKeyHash, SymmetricAndSensitive) {
  FlowKey k{ip(kHostA), ip(kHostB), 40000, 443, kTcp};
  FlowKey swapped{ip(kHostB), ip(kHostA), 443, 40000, kTcp};
  EXPECT_EQ(hash_flow_key(k), hash_flow_key(swapped));
  FlowKey other_port = k;
  other_port.pa = 40001;
  EXPECT_NE(hash_flow_key(k), hash_flow_key(other_port));
  FlowKey other_proto = k;
  other_proto.proto = kUdp;
  EXPECT_NE(hash_flow_key(k), hash_flow_key(other_proto));
  // Ports swapped between the ends is a different flow.
  FlowKey crossed{ip(kHostA), ip(kHostB), 443, 40000, kTcp};
  EXPECT_NE(hash_flow_key(k), hash_flow_key(crossed));
}

TEST_F(FlowTableTest, BothDirectionsHitOneEntry) {
  FlowLookup r1 = table().lookup_or_create(pkt(kHostA, 40000, kHostB, 80, kTcp, kSyn), 100);
  ASSERT_NE(r1.flow, nullptr);
  EXPECT_TRUE(r1.created);
  EXPECT_EQ(r1.from, Side::client);
  FlowLookup r2 = table().lookup_or_create(pkt(kHostB, 80, kHostA, 40000, kTcp, kSyn | kAck), 110);
  EXPECT_EQ(r2.flow, r1.flow);
  EXPECT_FALSE(r2.created);
  EXPECT_EQ(r2.from, Side::server);
  FlowLookup r3 = table().lookup_or_create(pkt(kHostA, 40000, kHostB, 80), 120);
  EXPECT_EQ(r3.flow, r1.flow);
  EXPECT_EQ(r3.from, Side::client);
  EXPECT_EQ(table().size(), 1u);
  EXPECT_EQ(table().counters().created, 1u);
  EXPECT_EQ(r1.flow->first_ns, 100u);
  EXPECT_EQ(r1.flow->last_ns, 120u);
  EXPECT_TRUE(r1.flow->tcp.has_value());
  EXPECT_EQ(r1.flow->proto, kTcp);
  // A different port is another flow; UDP on the same ports is another flow.
  EXPECT_TRUE(table().lookup_or_create(pkt(kHostA, 40001, kHostB, 80), 130).created);
  FlowLookup u = table().lookup_or_create(pkt(kHostA, 40000, kHostB, 80, kUdp), 130);
  EXPECT_TRUE(u.created);
  EXPECT_FALSE(u.flow->tcp.has_value());
  EXPECT_EQ(table().size(), 3u);
}

TEST_F(FlowTableTest, NotTcpOrUdpIsCounted) {
  EXPECT_EQ(table().lookup_or_create(pkt(kHostA, 0, kHostB, 0, 1), 1).flow, nullptr);
  EXPECT_EQ(table().lookup_or_create(pkt(kHostA, 0, kHostB, 0, 47), 1).flow, nullptr);
  EXPECT_EQ(table().counters().not_flow, 2u);
  EXPECT_EQ(table().size(), 0u);
}

TEST_F(FlowTableTest, NoRoomAtAllIsCounted) {
  cfg.max_flows = 0;
  EXPECT_EQ(table().lookup_or_create(pkt(kHostA, 1, kHostB, 2), 1).flow, nullptr);
  EXPECT_EQ(table().counters().not_flow, 1u);
}

TEST_F(FlowTableTest, Orientation) {
  struct Case {
    Decoded d;
    bool sender_is_client;
  };
  const Case cases[] = {
      {pkt(kHostA, 40000, kHostB, 80, kTcp, kSyn), true},             // SYN: sender
      {pkt(kHostB, 80, kHostA, 40001, kTcp, kSyn | kAck), false},      // SYN-ACK: receiver
      {pkt(kHostA, 50000, kHostB, 60000, kTcp, kSyn), true},          // SYN beats ports
      {pkt(kHostA, 80, kHostB, 40002, kTcp, kAck), false},             // midstream: higher port
      {pkt(kHostA, 40003, kHostB, 80, kTcp, kAck | kPsh), true},
      {pkt(kHostA, 53, kHostB, 33000, kUdp), false},                   // UDP: higher port
      {pkt(kHostA, 33001, kHostB, 53, kUdp), true},
      {pkt(kHostA, 5000, kHostB, 5000, kUdp), true},                   // tie: sender
      {pkt(kHostB, 5001, kHostA, 5001, kTcp, kAck), true},
  };
  for (const Case& c : cases) {
    FlowLookup r = table().lookup_or_create(c.d, 1);
    ASSERT_TRUE(r.created);
    const Flow& f = *r.flow;
    EXPECT_EQ(r.from, c.sender_is_client ? Side::client : Side::server);
    EXPECT_EQ(f.client_ip, c.sender_is_client ? c.d.src : c.d.dst);
    EXPECT_EQ(f.server_ip, c.sender_is_client ? c.d.dst : c.d.src);
    EXPECT_EQ(f.client_port, c.sender_is_client ? c.d.sport : c.d.dport);
    EXPECT_EQ(f.server_port, c.sender_is_client ? c.d.dport : c.d.sport);
    // The other direction is the other side.
    Decoded back = c.d;
    std::swap(back.src, back.dst);
    std::swap(back.sport, back.dport);
    FlowLookup rb = table().lookup_or_create(back, 2);
    EXPECT_EQ(rb.flow, r.flow);
    EXPECT_EQ(rb.from, c.sender_is_client ? Side::server : Side::client);
  }
  // Tie on ports, one host talking to itself: both directions are the same tuple.
  FlowLookup self = table().lookup_or_create(pkt(kHostA, 7, kHostA, 7, kUdp), 3);
  EXPECT_EQ(self.from, Side::client);
  EXPECT_EQ(table().lookup_or_create(pkt(kHostA, 7, kHostA, 7, kUdp), 4).flow, self.flow);
}

TEST_F(FlowTableTest, HalfOpenFlowExpiresOnTheSynTimeout) {
  table().lookup_or_create(pkt(kHostA, 40000, kHostB, 80, kTcp, kSyn), 1000);
  table().expire(1029);
  EXPECT_EQ(table().size(), 1u);
  table().expire(1030);  // now >= last + syn_idle
  EXPECT_EQ(table().size(), 0u);
  ASSERT_EQ(events.ended.size(), 1u);
  EXPECT_EQ(events.ended[0].second, FlowEnd::idle_timeout);
  EXPECT_EQ(table().counters().ended_idle, 1u);
}

TEST_F(FlowTableTest, EstablishedFlowUsesTheTcpTimeout) {
  FlowLookup r = table().lookup_or_create(pkt(kHostA, 40000, kHostB, 80, kTcp, kSyn), 0);
  segment(r, 100, 0, kSyn);
  r = table().lookup_or_create(pkt(kHostB, 80, kHostA, 40000, kTcp, kSyn | kAck), 1);
  segment(r, 900, 101, kSyn | kAck);
  r = table().lookup_or_create(pkt(kHostA, 40000, kHostB, 80, kTcp, kAck), 2);
  segment(r, 101, 901, kAck);
  ASSERT_EQ(r.flow->tcp->state(), TcpState::established);
  // The last packet found the flow half-open, so it sits on the SYN list; at the SYN
  // timeout it is found established and moves to the TCP list instead of ending.
  table().expire(2 + 30);
  EXPECT_EQ(table().size(), 1u);
  EXPECT_TRUE(events.ended.empty());
  table().expire(2 + 299);
  EXPECT_EQ(table().size(), 1u);
  table().expire(2 + 300);
  EXPECT_EQ(table().size(), 0u);
  ASSERT_EQ(events.ended.size(), 1u);
  EXPECT_EQ(events.ended[0].second, FlowEnd::idle_timeout);
  // A packet after the handshake puts it on the TCP list directly.
  r = table().lookup_or_create(pkt(kHostA, 40000, kHostB, 80, kTcp, kAck), 1000);
  segment(r, 5000, 7000, kAck, "midstream");
  table().lookup_or_create(pkt(kHostA, 40000, kHostB, 80, kTcp, kAck), 1001);
  table().expire(1001 + 30);
  EXPECT_EQ(table().size(), 1u);
  table().expire(1001 + 300);
  EXPECT_EQ(table().size(), 0u);
}

TEST_F(FlowTableTest, UdpIdleTimeoutAndTouchesKeepFlowsAlive) {
  table().lookup_or_create(pkt(kHostA, 5353, kHostB, 53, kUdp), 0);
  table().lookup_or_create(pkt(kHostA, 5354, kHostB, 53, kUdp), 10);
  table().lookup_or_create(pkt(kHostB, 53, kHostA, 5353, kUdp), 50);  // touches the first
  table().expire(69);
  EXPECT_EQ(table().size(), 2u);
  table().expire(70);
  EXPECT_EQ(table().size(), 1u);
  ASSERT_EQ(events.ended.size(), 1u);
  EXPECT_EQ(events.ended[0].first, key_str(*table().lookup_or_create(pkt(kHostA, 5354, kHostB, 53, kUdp), 70).flow));
  EXPECT_EQ(table().size(), 2u);  // that lookup re-created it
  table().expire(110);
  EXPECT_EQ(table().size(), 1u);
  EXPECT_EQ(events.ended[1].first, "1:5353>1:53/17");
}

TEST_F(FlowTableTest, SynFloodExpiresBehindALongLivedConnection) {
  FlowLookup r = table().lookup_or_create(pkt(kHostA, 40000, kHostB, 443, kTcp, kAck), 0);
  segment(r, 1, 1, kAck, "x");
  table().lookup_or_create(pkt(kHostA, 40000, kHostB, 443, kTcp, kAck), 1);  // on the TCP list
  for (std::uint16_t p = 1; p <= 20; ++p) {
    table().lookup_or_create(pkt(kHostA, static_cast<std::uint16_t>(50000 + p), kHostB, 443, kTcp, kSyn), 2 + p);
  }
  EXPECT_EQ(table().size(), 21u);
  table().expire(22 + 30);
  EXPECT_EQ(table().size(), 1u);  // the 300 ns connection did not hold them up
  EXPECT_EQ(table().counters().ended_idle, 20u);
}

TEST_F(FlowTableTest, ClosedFlowsUseTheClosedTimeout) {
  FlowLookup r = table().lookup_or_create(pkt(kHostA, 40000, kHostB, 80, kTcp, kAck), 100);
  table().mark_closing(*r.flow);
  table().mark_closing(*r.flow);  // idempotent
  EXPECT_TRUE(r.flow->closing);
  table().lookup_or_create(pkt(kHostB, 80, kHostA, 40000, kTcp, kAck), 105);  // final ACK
  table().expire(114);
  EXPECT_EQ(table().size(), 1u);
  table().expire(115);
  EXPECT_EQ(table().size(), 0u);
  ASSERT_EQ(events.ended.size(), 1u);
  EXPECT_EQ(events.ended[0].second, FlowEnd::closed);
  EXPECT_EQ(table().counters().ended_closed, 1u);
}

TEST_F(FlowTableTest, SynOnAClosingFlowStartsANewConnection) {
  FlowLookup r = table().lookup_or_create(pkt(kHostA, 40000, kHostB, 80, kTcp, kSyn), 1);
  table().mark_closing(*r.flow);
  FlowLookup again = table().lookup_or_create(pkt(kHostA, 40000, kHostB, 80, kTcp, kSyn), 2);
  EXPECT_TRUE(again.created);
  EXPECT_FALSE(again.flow->closing);
  EXPECT_EQ(again.flow->first_ns, 2u);
  ASSERT_EQ(events.ended.size(), 1u);
  EXPECT_EQ(events.ended[0].second, FlowEnd::closed);
  EXPECT_EQ(table().size(), 1u);
  EXPECT_EQ(table().counters().created, 2u);
  // A SYN-ACK or data on a closing flow does not.
  table().mark_closing(*again.flow);
  EXPECT_FALSE(table().lookup_or_create(pkt(kHostB, 80, kHostA, 40000, kTcp, kSyn | kAck), 3).created);
}

TEST_F(FlowTableTest, EvictionTakesTheLeastRecentlyUsed) {
  cfg.max_flows = 4;
  for (std::uint16_t p = 1; p <= 4; ++p) table().lookup_or_create(pkt(kHostA, p, kHostB, 9999, kUdp), p);
  table().lookup_or_create(pkt(kHostA, 1, kHostB, 9999, kUdp), 5);  // 1 is now recent
  FlowLookup r = table().lookup_or_create(pkt(kHostA, 5, kHostB, 9999, kUdp), 6);
  ASSERT_NE(r.flow, nullptr);
  EXPECT_TRUE(r.created);
  ASSERT_EQ(events.ended.size(), 1u);
  EXPECT_EQ(events.ended[0], std::make_pair(std::string("1:9999>1:2/17"), FlowEnd::evicted));
  EXPECT_EQ(table().counters().evicted, 1u);
  EXPECT_EQ(table().size(), 4u);
  // Across lists: the least recently used of the TCP, half-open and UDP lists.
  FlowLookup t = table().lookup_or_create(pkt(kHostA, 40000, kHostB, 443, kTcp, kAck), 7);  // evicts 3
  segment(t, 1, 1, kAck, "x");
  EXPECT_EQ(events.ended.back().first, "1:9999>1:3/17");
  table().lookup_or_create(pkt(kHostA, 4, kHostB, 9999, kUdp), 8);
  table().lookup_or_create(pkt(kHostA, 1, kHostB, 9999, kUdp), 9);
  table().lookup_or_create(pkt(kHostA, 5, kHostB, 9999, kUdp), 10);
  table().lookup_or_create(pkt(kHostA, 6, kHostB, 9999, kUdp), 11);  // TCP flow (7) is oldest
  EXPECT_EQ(events.ended.back().first, "1:40000>1:443/6");
  // A closing flow goes first, however recent.
  FlowLookup c = table().lookup_or_create(pkt(kHostA, 5, kHostB, 9999, kUdp), 12);
  table().mark_closing(*c.flow);
  table().lookup_or_create(pkt(kHostA, 7, kHostB, 9999, kUdp), 13);
  EXPECT_EQ(events.ended.back().first, "1:9999>1:5/17");
  EXPECT_EQ(events.ended.back().second, FlowEnd::evicted);
  EXPECT_EQ(table().counters().evicted, 4u);
  EXPECT_EQ(table().size(), 4u);
  EXPECT_EQ(table().counters().peak_active, 4u);
}

TEST_F(FlowTableTest, EndingAFlowReturnsItsReassemblyMemory) {
  FlowLookup r = table().lookup_or_create(pkt(kHostA, 40000, kHostB, 80, kTcp, kSyn), 1);
  segment(r, 100, 0, kSyn);
  segment(r, 110, 0, 0, "held back");  // out of order: held
  EXPECT_EQ(mem.used, 9u);
  table().flush();
  EXPECT_EQ(mem.used, 0u);
  EXPECT_EQ(table().counters().flushed, 1u);
  EXPECT_EQ(table().size(), 0u);
  // The slot is reused clean.
  FlowLookup u = table().lookup_or_create(pkt(kHostA, 1, kHostB, 2, kUdp), 2);
  EXPECT_EQ(u.flow, r.flow);
  EXPECT_FALSE(u.flow->tcp.has_value());
  EXPECT_FALSE(u.flow->closing);
  EXPECT_EQ(u.flow->packets[0], 0u);
}

TEST_F(FlowTableTest, FlowEndIsCalledExactlyOncePerFlow) {
  cfg.max_flows = 16;
  std::uint64_t now = 0;
  for (int round = 0; round < 52; ++round) {
    Flow* last = nullptr;
    for (std::uint16_t p = 0; p < 7; ++p) {
      const auto port = static_cast<std::uint16_t>(1000 + (round * 7 + p) % 40);
      const std::uint8_t proto = p % 2 ? kUdp : kTcp;
      FlowLookup r = table().lookup_or_create(pkt(kHostA, port, kHostB, 80, proto, kSyn), ++now);
      ASSERT_NE(r.flow, nullptr);
      if (p == 3) table().mark_closing(*r.flow);  // often evicted before it expires
      last = r.flow;
    }
    if (round % 5 == 4) {
      // Every fifth round a quiet period: everything times out, idle or closed.
      table().mark_closing(*last);
      now += 100;
    }
    table().expire(now);
    now += 3;
  }
  table().flush();
  const FlowCounters& k = table().counters();
  EXPECT_EQ(table().size(), 0u);
  EXPECT_EQ(events.ended.size(), k.created);
  EXPECT_EQ(k.ended_closed + k.ended_idle + k.evicted + k.flushed, k.created);
  EXPECT_GT(k.evicted, 0u);
  EXPECT_GT(k.ended_idle, 0u);
  EXPECT_GT(k.ended_closed, 0u);
  EXPECT_GT(k.flushed, 0u);
  EXPECT_EQ(mem.used, 0u);
}

TEST_F(FlowTableTest, ThreeHundredThousandConcurrentFlows) {
  cfg = FlowConfig{};  // default: 512K flows
  constexpr std::uint32_t kFlows = 300'000;
  std::vector<Flow*> flows(kFlows);
  for (std::uint32_t i = 0; i < kFlows; ++i) {
    // 10.x.y.z:port -> 192.0.2.1:53, a distinct client per flow.
    const std::uint32_t src = 0x0A000000u + i / 4;
    const auto port = static_cast<std::uint16_t>(40000 + i % 4);
    FlowLookup r = table().lookup_or_create(pkt(src, port, kHostB, 53, kUdp), i);
    ASSERT_TRUE(r.created);
    flows[i] = r.flow;
  }
  EXPECT_EQ(table().size(), kFlows);
  EXPECT_EQ(table().counters().created, kFlows);
  EXPECT_EQ(table().counters().peak_active, kFlows);
  // Every flow found again from the other direction.
  for (std::uint32_t i = 0; i < kFlows; ++i) {
    const std::uint32_t src = 0x0A000000u + i / 4;
    const auto port = static_cast<std::uint16_t>(40000 + i % 4);
    FlowLookup r = table().lookup_or_create(pkt(kHostB, 53, src, port, kUdp), kFlows + i);
    ASSERT_EQ(r.flow, flows[i]) << i;
    ASSERT_FALSE(r.created);
    ASSERT_EQ(r.from, Side::server);
  }
  EXPECT_EQ(table().counters().created, kFlows);
  EXPECT_EQ(table().counters().evicted, 0u);
  EXPECT_GT(table().memory_bytes(), kFlows * sizeof(Flow));
  table().flush();
  EXPECT_EQ(events.ended.size(), kFlows);
  EXPECT_EQ(events.per_flow.size(), kFlows);
  for (const auto& [flow, calls] : events.per_flow) ASSERT_EQ(calls, 1);
  EXPECT_EQ(table().counters().flushed, kFlows);
  EXPECT_EQ(table().size(), 0u);
}

TEST_F(FlowTableTest, FlushEndsEveryFlowOnEveryList) {
  FlowLookup closing = table().lookup_or_create(pkt(kHostA, 1, kHostB, 80, kTcp, kAck), 1);
  table().mark_closing(*closing.flow);
  table().lookup_or_create(pkt(kHostA, 2, kHostB, 80, kTcp, kSyn), 2);
  table().lookup_or_create(pkt(kHostA, 3, kHostB, 53, kUdp), 3);
  FlowLookup est = table().lookup_or_create(pkt(kHostA, 4, kHostB, 80, kTcp, kAck), 4);
  segment(est, 1, 1, kAck, "x");
  table().lookup_or_create(pkt(kHostA, 4, kHostB, 80, kTcp, kAck), 5);
  table().flush();
  EXPECT_EQ(table().size(), 0u);
  EXPECT_EQ(events.ended.size(), 4u);
  for (const auto& e : events.ended) EXPECT_EQ(e.second, FlowEnd::flushed);
  EXPECT_EQ(table().counters().flushed, 4u);
  table().flush();  // nothing left
  EXPECT_EQ(events.ended.size(), 4u);
  table().expire(1'000'000);
  EXPECT_EQ(events.ended.size(), 4u);
}

TEST_F(FlowTableTest, PoolGrowsInChunks) {
  cfg.max_flows = 10'000;
  FlowTable& t = table();
  const std::size_t empty = t.memory_bytes();
  t.lookup_or_create(pkt(kHostA, 1, kHostB, 2, kUdp), 1);
  const std::size_t one_chunk = t.memory_bytes();
  EXPECT_GT(one_chunk, empty);
  for (std::uint16_t p = 2; p <= 4096; ++p) t.lookup_or_create(pkt(kHostA, p, kHostB, 2, kUdp), 1);
  EXPECT_EQ(t.memory_bytes(), one_chunk);  // 4096 flows fit in the first chunk
  t.lookup_or_create(pkt(kHostA, 4097, kHostB, 2, kUdp), 1);
  EXPECT_GT(t.memory_bytes(), one_chunk);
  EXPECT_EQ(t.size(), 4097u);
}

}  // namespace
}  // namespace dlp::dataplane
