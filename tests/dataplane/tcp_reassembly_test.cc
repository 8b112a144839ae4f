// TCP reassembly, with hand-built segment sequences. Every test asserts the exact byte
// string delivered per direction ("{N}" marks a gap of N bytes) and the counters.
#include "dataplane/tcp_reassembly.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace dlp::dataplane {
namespace {

using namespace tcp_flag;

class RecordingSink final : public StreamSink {
 public:
  void on_data(Side side, Bytes bytes) override { out[static_cast<int>(side)] += as_chars(bytes); }
  void on_gap(Side side, std::uint64_t len) override {
    out[static_cast<int>(side)] += "{" + std::to_string(len) + "}";
  }
  std::string out[2];
};

constexpr std::uint32_t kClientIsn = 1000;    // SYN seq; data starts at 1001
constexpr std::uint32_t kServerIsn = 900000;  // SYN-ACK seq; data starts at 900001

class Reassembly : public ::testing::Test {
 protected:
  TcpSession& s() {
    if (!session_) session_ = std::make_unique<TcpSession>(cfg, mem, cnt);
    return *session_;
  }
  void reset_session() { session_.reset(); }

  // Raw segment.
  void raw(Side side, std::uint32_t seq, std::string_view data, std::uint8_t flags,
           std::uint32_t ack = 0) {
    Segment seg{seq, ack, flags, 65535, as_bytes(data)};
    s().on_segment(side, seg, sink);
  }
  void handshake(std::uint32_t c = kClientIsn, std::uint32_t sv = kServerIsn) {
    base[0] = c + 1;
    base[1] = sv + 1;
    raw(Side::client, c, "", kSyn);
    raw(Side::server, sv, "", kSyn | kAck, c + 1);
    raw(Side::client, c + 1, "", kAck, sv + 1);
  }
  // Data at stream offset `off` of `side`, acknowledging what the other side delivered
  // so far (so no peer-ACK gap is implied), unless `flags` lacks ACK.
  void data(Side side, std::uint32_t off, std::string_view bytes,
            std::uint8_t flags = kAck | kPsh) {
    const TcpStream& peer = s().stream(side == Side::client ? Side::server : Side::client);
    const std::uint32_t ack = peer.started() ? peer.next_seq() : 0;
    raw(side, base[static_cast<int>(side)] + off, bytes, flags, ack);
  }
  void c(std::uint32_t off, std::string_view bytes, std::uint8_t flags = kAck | kPsh) {
    data(Side::client, off, bytes, flags);
  }
  // The server acknowledges client stream offset `off`.
  void server_acks(std::uint32_t off) {
    raw(Side::server, s().stream(Side::server).next_seq(), "", kAck, base[0] + off);
  }
  const std::string& client_out() const { return sink.out[0]; }
  const std::string& server_out() const { return sink.out[1]; }

  ReassemblyConfig cfg;
  ReassemblyMemory mem;
  ReassemblyCounters cnt;
  RecordingSink sink;
  std::uint32_t base[2] = {kClientIsn + 1, kServerIsn + 1};

 private:
  std::unique_ptr<TcpSession> session_;
};

TEST(OverlapPolicyNames, ParseAndName) {
  OverlapPolicy p = OverlapPolicy::first;
  EXPECT_TRUE(parse_overlap_policy("linux", p));
  EXPECT_EQ(p, OverlapPolicy::linux_);
  EXPECT_TRUE(parse_overlap_policy("last", p));
  EXPECT_EQ(p, OverlapPolicy::last);
  EXPECT_TRUE(parse_overlap_policy("first", p));
  EXPECT_EQ(p, OverlapPolicy::first);
  EXPECT_FALSE(parse_overlap_policy("bsd", p));
  EXPECT_EQ(p, OverlapPolicy::first);
  EXPECT_EQ(overlap_policy_name(OverlapPolicy::linux_), "linux");
  EXPECT_EQ(overlap_policy_name(OverlapPolicy::first), "first");
  EXPECT_EQ(overlap_policy_name(OverlapPolicy::last), "last");
}

TEST_F(Reassembly, InOrderBothDirections) {
  handshake();
  c(0, "hello ");
  data(Side::server, 0, "HTTP/1.1");
  c(6, "world");
  EXPECT_EQ(client_out(), "hello world");
  EXPECT_EQ(server_out(), "HTTP/1.1");
  EXPECT_EQ(cnt.segments, 6u);
  EXPECT_EQ(cnt.in_order, 3u);
  EXPECT_EQ(cnt.out_of_order, 0u);
  EXPECT_EQ(cnt.gaps, 0u);
  EXPECT_EQ(cnt.midstream, 0u);
  EXPECT_EQ(s().stream(Side::client).delivered(), 11u);
  EXPECT_EQ(s().stream(Side::client).next_seq(), kClientIsn + 1 + 11);
  EXPECT_EQ(s().stream(Side::server).delivered(), 8u);
  EXPECT_EQ(mem.used, 0u);
  EXPECT_EQ(s().state(), TcpState::established);
}

TEST_F(Reassembly, InOrderDeliveryIsZeroCopy) {
  handshake();
  struct PtrSink final : StreamSink {
    void on_data(Side, Bytes b) override { ptrs.push_back(b.data()); }
    void on_gap(Side, std::uint64_t) override {}
    std::vector<const std::uint8_t*> ptrs;
  } ptr_sink;
  const std::string payload = "straight from the packet";
  Segment seg{base[0], base[1], kAck, 100, as_bytes(payload)};
  s().on_segment(Side::client, seg, ptr_sink);
  ASSERT_EQ(ptr_sink.ptrs.size(), 1u);
  EXPECT_EQ(ptr_sink.ptrs[0], reinterpret_cast<const std::uint8_t*>(payload.data()));
}

TEST_F(Reassembly, HandshakeStates) {
  EXPECT_EQ(s().state(), TcpState::none);
  raw(Side::client, kClientIsn, "", kSyn);
  EXPECT_EQ(s().state(), TcpState::syn_sent);
  EXPECT_TRUE(s().handshake_seen());
  EXPECT_TRUE(s().stream(Side::client).started());
  EXPECT_FALSE(s().stream(Side::server).started());
  EXPECT_EQ(s().stream(Side::client).next_seq(), kClientIsn + 1);
  raw(Side::server, kServerIsn, "", kSyn | kAck, kClientIsn + 1);
  EXPECT_EQ(s().state(), TcpState::syn_received);
  EXPECT_EQ(s().stream(Side::server).next_seq(), kServerIsn + 1);
  raw(Side::client, kClientIsn + 1, "", kAck, kServerIsn + 1);
  EXPECT_EQ(s().state(), TcpState::established);
  EXPECT_EQ(cnt.midstream, 0u);
  EXPECT_EQ(client_out(), "");
  EXPECT_EQ(cnt.gaps, 0u);
}

TEST_F(Reassembly, MidstreamPickupStartsAtFirstSegment) {
  raw(Side::client, 5000, "abc", kAck | kPsh, 77000);
  EXPECT_EQ(cnt.midstream, 1u);
  EXPECT_FALSE(s().handshake_seen());
  EXPECT_EQ(s().state(), TcpState::established);
  raw(Side::server, 77000, "xyz", kAck, 5003);
  raw(Side::client, 5003, "def", kAck, 77003);
  EXPECT_EQ(client_out(), "abcdef");
  EXPECT_EQ(server_out(), "xyz");
  EXPECT_EQ(cnt.midstream, 1u);  // once per connection
  EXPECT_EQ(cnt.gaps, 0u);
  // Data from before the pickup point is old by definition.
  raw(Side::client, 4990, "0123456789", kAck, 77003);
  EXPECT_EQ(client_out(), "abcdef");
  EXPECT_EQ(cnt.retransmissions, 1u);
}

TEST_F(Reassembly, SynAckWithoutSynStartsTheClientAtItsAck) {
  raw(Side::server, kServerIsn, "", kSyn | kAck, kClientIsn + 1);
  EXPECT_EQ(s().state(), TcpState::syn_received);
  EXPECT_TRUE(s().stream(Side::client).started());
  EXPECT_EQ(s().stream(Side::client).next_seq(), kClientIsn + 1);
  c(0, "GET /");
  EXPECT_EQ(client_out(), "GET /");
  EXPECT_EQ(cnt.midstream, 0u);
  EXPECT_EQ(s().state(), TcpState::established);
}

TEST_F(Reassembly, SynWithData) {
  raw(Side::client, kClientIsn, "fast", kSyn);
  EXPECT_EQ(client_out(), "fast");
  EXPECT_EQ(s().stream(Side::client).delivered(), 4u);
  // The SYN retransmitted with its data: nothing new.
  raw(Side::client, kClientIsn, "fast", kSyn);
  EXPECT_EQ(client_out(), "fast");
  EXPECT_EQ(cnt.retransmissions, 1u);
  raw(Side::server, kServerIsn, "", kSyn | kAck, kClientIsn + 5);
  raw(Side::client, kClientIsn + 5, " open", kAck, kServerIsn + 1);
  EXPECT_EQ(client_out(), "fast open");
  EXPECT_EQ(cnt.gaps, 0u);
  EXPECT_EQ(s().state(), TcpState::established);
}

TEST_F(Reassembly, SynWithNewIsnAfterDataIsBad) {
  handshake();
  c(0, "abc");
  raw(Side::client, 5, "", kSyn);
  EXPECT_EQ(cnt.bad_segments, 1u);
  EXPECT_EQ(s().stream(Side::client).next_seq(), kClientIsn + 4);
  // Before any data a new ISN restarts the direction.
  reset_session();
  raw(Side::client, 100, "", kSyn);
  raw(Side::client, 500, "", kSyn);
  EXPECT_EQ(s().stream(Side::client).next_seq(), 501u);
  EXPECT_EQ(cnt.bad_segments, 1u);
}

TEST_F(Reassembly, EveryPermutationOfFourSegmentsDeliversTheSameBytes) {
  const std::string whole = "AAAABBBBCCCCDDDD";
  for (OverlapPolicy policy : {OverlapPolicy::first, OverlapPolicy::last, OverlapPolicy::linux_}) {
    std::vector<int> order = {0, 1, 2, 3};
    int permutations = 0;
    do {
      cfg.policy = policy;
      reset_session();
      sink = RecordingSink{};
      cnt = ReassemblyCounters{};
      handshake();
      for (int i : order) c(static_cast<std::uint32_t>(i * 4), std::string_view(whole).substr(i * 4, 4));
      // Segments arriving before their predecessor are held, the others are in order.
      std::uint64_t expect_held = 0;
      for (std::size_t k = 0; k < 4; ++k) {
        std::vector<bool> seen(4, false);
        for (std::size_t j = 0; j < k; ++j) seen[order[j]] = true;
        int next = 0;  // the first segment not delivered when segment k arrives
        while (next < 4 && seen[next]) ++next;
        if (order[k] != next) ++expect_held;
      }
      EXPECT_EQ(client_out(), whole) << "policy " << overlap_policy_name(policy);
      EXPECT_EQ(cnt.out_of_order, expect_held);
      EXPECT_EQ(cnt.in_order, 4 - expect_held);
      EXPECT_EQ(cnt.overlaps, 0u);
      EXPECT_EQ(cnt.gaps, 0u);
      EXPECT_EQ(mem.used, 0u);
      EXPECT_EQ(s().stream(Side::client).held_bytes(), 0u);
      ++permutations;
    } while (std::next_permutation(order.begin(), order.end()));
    EXPECT_EQ(permutations, 24);
  }
}

TEST_F(Reassembly, EveryPermutationOfOverlappingIdenticalSegments) {
  const std::string whole = "0123456789abcdef";
  const std::pair<int, int> segs[4] = {{0, 6}, {4, 10}, {8, 14}, {12, 16}};
  for (OverlapPolicy policy : {OverlapPolicy::first, OverlapPolicy::last, OverlapPolicy::linux_}) {
    std::vector<int> order = {0, 1, 2, 3};
    do {
      cfg.policy = policy;
      reset_session();
      sink = RecordingSink{};
      cnt = ReassemblyCounters{};
      handshake();
      for (int i : order) {
        const auto [a, b] = segs[i];
        c(static_cast<std::uint32_t>(a), std::string_view(whole).substr(a, b - a));
      }
      EXPECT_EQ(client_out(), whole);
      EXPECT_EQ(cnt.overlap_conflicts, 0u);
      EXPECT_EQ(mem.used, 0u);
    } while (std::next_permutation(order.begin(), order.end()));
  }
}

TEST_F(Reassembly, RetransmissionsAreDroppedAndCounted) {
  handshake();
  c(0, "abcd");
  c(4, "efgh");
  c(0, "abcd");
  c(4, "efgh");
  c(2, "cdef");
  EXPECT_EQ(client_out(), "abcdefgh");
  EXPECT_EQ(cnt.retransmissions, 3u);
  EXPECT_EQ(cnt.overlap_conflicts, 0u);
  // Same sequence numbers, different bytes: never re-delivered, counted as a conflict.
  c(4, "eXgh");
  EXPECT_EQ(client_out(), "abcdefgh");
  EXPECT_EQ(cnt.retransmissions, 4u);
  EXPECT_EQ(cnt.overlap_conflicts, 1u);
  EXPECT_EQ(cnt.overlaps, 0u);
}

TEST_F(Reassembly, PartialOverlapWithDeliveredDataDeliversOnlyTheNewTail) {
  handshake();
  c(0, "abcdef");
  c(4, "EFghij");  // "EF" disagrees with delivered "ef"
  EXPECT_EQ(client_out(), "abcdefghij");
  EXPECT_EQ(cnt.overlaps, 1u);
  EXPECT_EQ(cnt.overlap_conflicts, 1u);
  EXPECT_EQ(cnt.in_order, 2u);
  c(2, "cdefghijkl");  // agrees: no conflict
  EXPECT_EQ(client_out(), "abcdefghijkl");
  EXPECT_EQ(cnt.overlaps, 2u);
  EXPECT_EQ(cnt.overlap_conflicts, 1u);
}

TEST_F(Reassembly, DeliveredDataIsComparedOnlyWithinTheKeptTail) {
  handshake();
  const std::string first(200, 'a');
  c(0, first);
  // 200 bytes back: outside the 64-byte tail, the difference cannot be seen.
  c(0, "XXXXXXXXXX");
  EXPECT_EQ(cnt.retransmissions, 1u);
  EXPECT_EQ(cnt.overlap_conflicts, 0u);
  // Inside the tail it is.
  c(190, "aaaaaaaaaX");
  EXPECT_EQ(cnt.retransmissions, 2u);
  EXPECT_EQ(cnt.overlap_conflicts, 1u);
  // Bytes before a gap are not comparable (nor are gap bytes).
  c(210, "bbbb");
  server_acks(210);  // [200, 210) lost
  EXPECT_EQ(client_out(), first + "{10}bbbb");
  c(195, "ZZZZZZZZZZZZZZZZZZZ");  // [195, 214): only [210, 214) is comparable, and differs
  EXPECT_EQ(cnt.overlap_conflicts, 2u);
  c(198, "QQQQQQQQQQQQbbbb");  // [198, 214): [210, 214) agrees
  EXPECT_EQ(cnt.overlap_conflicts, 2u);
  EXPECT_EQ(client_out(), first + "{10}bbbb");
}

// Overlap of a new out-of-order segment with held data, under each policy. The stream
// has a hole at offset 0 that is never filled; close() flushes, so the output starts
// with a gap marker.
struct OverlapCase {
  const char* name;
  std::vector<std::pair<std::uint32_t, std::string>> segments;  // in arrival order
  std::string first, last, linux_;
};

class OverlapPolicies : public Reassembly {
 protected:
  std::string run(OverlapPolicy policy, const OverlapCase& oc) {
    cfg.policy = policy;
    reset_session();
    sink = RecordingSink{};
    cnt = ReassemblyCounters{};
    handshake();
    for (const auto& [off, bytes] : oc.segments) c(off, bytes);
    s().close(sink);
    EXPECT_EQ(mem.used, 0u);
    EXPECT_EQ(cnt.overlaps, oc.segments.size() - 1) << oc.name;
    EXPECT_EQ(cnt.overlap_conflicts, oc.segments.size() - 1) << oc.name;
    return client_out();
  }
};

TEST_F(OverlapPolicies, NewSegmentAgainstHeldData) {
  const std::vector<OverlapCase> cases = {
      {"starts before, ends inside", {{4, "OOOO"}, {2, "nnnn"}},
       "{2}nnOOOO", "{2}nnnnOO", "{2}nnnnOO"},
      {"starts inside, ends after", {{4, "OOOO"}, {6, "nnnn"}},
       "{4}OOOOnn", "{4}OOnnnn", "{4}OOOOnn"},
      {"same start, longer", {{4, "OOOO"}, {4, "nnnnnn"}},
       "{4}OOOOnn", "{4}nnnnnn", "{4}nnnnnn"},
      {"same start, shorter", {{4, "OOOO"}, {4, "nn"}},
       "{4}OOOO", "{4}nnOO", "{4}OOOO"},
      {"same start, same end", {{4, "OOOO"}, {4, "nnnn"}},
       "{4}OOOO", "{4}nnnn", "{4}OOOO"},
      {"fully inside", {{4, "OOOO"}, {5, "nn"}},
       "{4}OOOO", "{4}OnnO", "{4}OOOO"},
      {"covers the held segment", {{4, "OOOO"}, {3, "abcdef"}},
       "{3}aOOOOf", "{3}abcdef", "{3}abcdef"},
  };
  for (const OverlapCase& oc : cases) {
    EXPECT_EQ(run(OverlapPolicy::first, oc), oc.first) << oc.name;
    EXPECT_EQ(run(OverlapPolicy::last, oc), oc.last) << oc.name;
    EXPECT_EQ(run(OverlapPolicy::linux_, oc), oc.linux_) << oc.name;
  }
}

TEST_F(OverlapPolicies, NewSegmentCoversSeveralHeldSegments) {
  for (OverlapPolicy policy : {OverlapPolicy::first, OverlapPolicy::last, OverlapPolicy::linux_}) {
    cfg.policy = policy;
    reset_session();
    sink = RecordingSink{};
    cnt = ReassemblyCounters{};
    handshake();
    c(4, "OO");
    c(8, "PP");
    EXPECT_EQ(s().stream(Side::client).held_segments(), 2u);
    c(3, "abcdefgh");  // [3, 11)
    EXPECT_EQ(cnt.overlaps, 1u);
    EXPECT_EQ(cnt.overlap_conflicts, 1u);
    EXPECT_EQ(s().stream(Side::client).held_bytes(), 8u);
    EXPECT_EQ(mem.used, 8u);
    c(0, "xyz");
    const char* expect = policy == OverlapPolicy::first ? "xyzaOOdePPh" : "xyzabcdefgh";
    EXPECT_EQ(client_out(), expect) << overlap_policy_name(policy);
    EXPECT_EQ(mem.used, 0u);
    EXPECT_EQ(s().stream(Side::client).held_segments(), 0u);
  }
}

TEST_F(OverlapPolicies, LinuxComparesWithTheOriginalSegments) {
  // A [10,20), then B [5,15) wins [10,15) (starts lower), then C [12,18) starts after both
  // B and A began, so it loses everywhere under linux.
  const OverlapCase oc{"three segments",
                       {{10, "AAAAAAAAAA"}, {5, "BBBBBBBBBB"}, {12, "CCCCCC"}},
                       "{5}BBBBBAAAAAAAAAA", "{5}BBBBBBBCCCCCCAA", "{5}BBBBBBBBBBAAAAA"};
  EXPECT_EQ(run(OverlapPolicy::first, oc), oc.first);
  EXPECT_EQ(run(OverlapPolicy::last, oc), oc.last);
  EXPECT_EQ(run(OverlapPolicy::linux_, oc), oc.linux_);
}

TEST_F(OverlapPolicies, LinuxEqualStartIsJudgedAgainstTheOriginalSegment) {
  // A [4,12) loses [4,8) to B [2,8), which starts lower; what is left of A is the piece
  // [8,12), but A still *starts* at 4. E [4,10) has A's start and ends before A's end:
  // it loses [8,10) to A (compared with the piece it would have won) and [4,8) to B.
  // F [4,14) has A's start and ends later: it replaces A's bytes, loses B's.
  cfg.policy = OverlapPolicy::linux_;
  handshake();
  c(4, "AAAAAAAA");
  c(2, "BBBBBB");
  c(4, "EEEEEE");
  EXPECT_EQ(mem.used, 10u);
  c(4, "FFFFFFFFFF");
  s().close(sink);
  EXPECT_EQ(client_out(), "{2}BBBBBBFFFFFF");
  EXPECT_EQ(cnt.overlaps, 3u);
  EXPECT_EQ(cnt.overlap_conflicts, 3u);
}

TEST_F(OverlapPolicies, InOrderSegmentAgainstHeldData) {
  const std::pair<OverlapPolicy, const char*> expect[] = {
      {OverlapPolicy::first, "nnnnOOOO"},
      {OverlapPolicy::last, "nnnnnnOO"},
      {OverlapPolicy::linux_, "nnnnnnOO"},
  };
  for (const auto& [policy, out] : expect) {
    cfg.policy = policy;
    reset_session();
    sink = RecordingSink{};
    cnt = ReassemblyCounters{};
    handshake();
    c(4, "OOOO");
    c(0, "nnnnnn");
    EXPECT_EQ(client_out(), out) << overlap_policy_name(policy);
    EXPECT_EQ(cnt.in_order, 1u);
    EXPECT_EQ(cnt.out_of_order, 1u);
    EXPECT_EQ(cnt.overlaps, 1u);
    EXPECT_EQ(cnt.overlap_conflicts, 1u);
    EXPECT_EQ(mem.used, 0u);
  }
}

TEST_F(OverlapPolicies, DuplicateHeldSegmentIsAnOverlapWithoutConflict) {
  handshake();
  c(4, "OOOO");
  c(4, "OOOO");
  EXPECT_EQ(cnt.overlaps, 1u);
  EXPECT_EQ(cnt.overlap_conflicts, 0u);
  EXPECT_EQ(cnt.out_of_order, 1u);
  EXPECT_EQ(mem.used, 4u);
  c(0, "abcd");
  EXPECT_EQ(client_out(), "abcdOOOO");
}

TEST_F(Reassembly, WrapAroundWithOutOfOrderSegments) {
  for (bool midstream : {false, true}) {
    reset_session();
    sink = RecordingSink{};
    cnt = ReassemblyCounters{};
    if (midstream) {
      base[0] = 0xFFFFFFF1u;
      raw(Side::client, 0xFFFFFFF1u, "", kAck);  // picks the stream up at 0xFFFFFFF1
    } else {
      handshake(0xFFFFFFF0u, kServerIsn);
    }
    // Offsets 0, 8, 16, 24: seqs 0xFFFFFFF1, 0xFFFFFFF9, 0x00000001, 0x00000009.
    c(16, "CCCCCCCC");
    c(24, "DDDDDDDD");
    c(0, "AAAAAAAA");
    EXPECT_EQ(client_out(), "AAAAAAAA");
    c(8, "BBBBBBBB");
    EXPECT_EQ(client_out(), "AAAAAAAABBBBBBBBCCCCCCCCDDDDDDDD");
    EXPECT_EQ(s().stream(Side::client).delivered(), 32u);
    EXPECT_EQ(s().stream(Side::client).next_seq(), 0x11u);
    EXPECT_EQ(cnt.out_of_order, 2u);
    EXPECT_EQ(cnt.gaps, 0u);
    EXPECT_EQ(cnt.bad_segments, 0u);
    EXPECT_EQ(mem.used, 0u);
  }
}

TEST_F(Reassembly, PeerAckOverAHoleIsAGap) {
  handshake();
  c(0, "abcd");
  c(8, "ijkl");
  c(16, "qrst");
  server_acks(6);  // acknowledges 2 of the 4 missing bytes
  EXPECT_EQ(client_out(), "abcd{2}");
  c(6, "gh");
  EXPECT_EQ(client_out(), "abcd{2}ghijkl");
  server_acks(20);  // [12, 16) never seen by us, seen by the server
  EXPECT_EQ(client_out(), "abcd{2}ghijkl{4}qrst");
  EXPECT_EQ(cnt.gaps, 2u);
  EXPECT_EQ(cnt.gap_bytes, 6u);
  server_acks(25);  // acknowledged, never seen, nothing held after: still lost
  EXPECT_EQ(client_out(), "abcd{2}ghijkl{4}qrst{5}");
  EXPECT_EQ(s().stream(Side::client).delivered(), 25u);
  server_acks(3);  // old ACK: nothing
  EXPECT_EQ(cnt.gaps, 3u);
  EXPECT_EQ(mem.used, 0u);
}

TEST_F(Reassembly, CloseFlushesHeldDataWithGaps) {
  handshake();
  c(0, "abcd");
  c(8, "ijkl");
  c(14, "op");
  data(Side::server, 3, "late");
  EXPECT_EQ(mem.used, 10u);
  s().close(sink);
  EXPECT_EQ(client_out(), "abcd{4}ijkl{2}op");
  EXPECT_EQ(server_out(), "{3}late");
  EXPECT_EQ(cnt.gaps, 3u);
  EXPECT_EQ(cnt.gap_bytes, 9u);
  EXPECT_EQ(mem.used, 0u);
  EXPECT_TRUE(s().finished());
  s().close(sink);  // idempotent
  c(4, "efgh");     // ignored after close
  EXPECT_EQ(client_out(), "abcd{4}ijkl{2}op");
  EXPECT_EQ(cnt.segments, 8u);
}

TEST_F(Reassembly, PerFlowByteCapSkipsToHeldData) {
  cfg.flow_max_held_bytes = 8;
  handshake();
  c(4, "4444");
  c(10, "AAAA");
  EXPECT_EQ(mem.used, 8u);
  c(16, "BBBB");  // no room: give up on [0,4), deliver [4,8), hold the rest
  EXPECT_EQ(client_out(), "{4}4444");
  EXPECT_EQ(cnt.flow_cap_hits, 1u);
  EXPECT_EQ(s().stream(Side::client).held_bytes(), 8u);
  EXPECT_EQ(mem.used, 8u);
  s().close(sink);
  EXPECT_EQ(client_out(), "{4}4444{2}AAAA{2}BBBB");
  EXPECT_EQ(cnt.flow_cap_hits, 1u);
  EXPECT_EQ(mem.used, 0u);
}

TEST_F(Reassembly, PerFlowSegmentCap) {
  cfg.max_held_segments = 2;
  handshake();
  c(2, "b");
  c(4, "d");
  c(6, "f");
  EXPECT_EQ(client_out(), "{2}b");
  EXPECT_EQ(cnt.flow_cap_hits, 1u);
  EXPECT_EQ(s().stream(Side::client).held_segments(), 2u);
  c(3, "c");  // fills the hole between 'b' and 'd'
  EXPECT_EQ(client_out(), "{2}bcd");
  EXPECT_EQ(s().stream(Side::client).held_segments(), 1u);
}

TEST_F(Reassembly, SegmentLargerThanTheCapIsDeliveredAfterAGap) {
  cfg.flow_max_held_bytes = 8;
  handshake();
  c(0, "ab");
  c(6, "0123456789");  // cannot be held at all: the hole before it is given up
  EXPECT_EQ(client_out(), "ab{4}0123456789");
  EXPECT_EQ(cnt.flow_cap_hits, 1u);
  EXPECT_EQ(cnt.in_order, 2u);
  EXPECT_EQ(cnt.out_of_order, 0u);
  EXPECT_EQ(mem.used, 0u);
}

TEST_F(Reassembly, CapSkipsToTheNewSegmentWhenItIsLowest) {
  cfg.flow_max_held_bytes = 6;
  handshake();
  c(10, "KKKK");
  c(4, "EEEE");  // 8 > 6: the new segment is the lowest, delivered after a gap
  EXPECT_EQ(client_out(), "{4}EEEE");
  EXPECT_EQ(cnt.flow_cap_hits, 1u);
  EXPECT_EQ(s().stream(Side::client).held_bytes(), 4u);
  c(8, "IJ");
  EXPECT_EQ(client_out(), "{4}EEEEIJKKKK");
  EXPECT_EQ(mem.used, 0u);
}

TEST_F(Reassembly, GlobalCapIsSharedAcrossSessions) {
  mem.cap = 10;
  handshake();
  c(2, "12345678");  // this session holds 8 bytes
  EXPECT_EQ(mem.used, 8u);
  {
    ReassemblyCounters other_cnt;
    TcpSession other(cfg, mem, other_cnt);
    RecordingSink other_sink;
    Segment syn{50, 0, kSyn, 100, {}};
    other.on_segment(Side::client, syn, other_sink);
    const std::string bytes = "zzzz";
    Segment ooo{51 + 3, 0, 0, 100, as_bytes(bytes)};
    other.on_segment(Side::client, ooo, other_sink);  // 8 + 4 > 10
    EXPECT_EQ(other_sink.out[0], "{3}zzzz");
    EXPECT_EQ(other_cnt.global_cap_hits, 1u);
    EXPECT_EQ(other_cnt.flow_cap_hits, 0u);
    EXPECT_EQ(mem.used, 8u);
    const std::string two = "yy";
    Segment fits{51 + 9, 0, 0, 100, as_bytes(two)};
    other.on_segment(Side::client, fits, other_sink);  // 8 + 2 = 10: fits
    EXPECT_EQ(mem.used, 10u);
    EXPECT_EQ(other_cnt.global_cap_hits, 1u);
  }
  EXPECT_EQ(mem.used, 8u);  // the destructor gave its 2 bytes back
  c(0, "ab");
  EXPECT_EQ(client_out(), "ab12345678");
  EXPECT_EQ(mem.used, 0u);
}

TEST_F(Reassembly, DestructorReleasesHeldMemory) {
  handshake();
  c(5, "held");
  data(Side::server, 2, "also");
  EXPECT_EQ(mem.used, 8u);
  reset_session();
  EXPECT_EQ(mem.used, 0u);
}

TEST_F(Reassembly, FinWithDataThenBothFinsClose) {
  handshake();
  c(0, "request");
  c(7, "bye", kAck | kFin);
  EXPECT_EQ(client_out(), "requestbye");
  EXPECT_TRUE(s().stream(Side::client).fin_seen());
  EXPECT_EQ(s().stream(Side::client).fin_offset(), 10u);
  EXPECT_EQ(s().state(), TcpState::closing);
  EXPECT_FALSE(s().finished());
  data(Side::server, 0, "ok", kAck | kFin);
  EXPECT_EQ(server_out(), "ok");
  EXPECT_EQ(s().state(), TcpState::closed);
  EXPECT_TRUE(s().finished());
  EXPECT_EQ(cnt.gaps, 0u);
}

TEST_F(Reassembly, DataAfterFinIsIgnored) {
  handshake();
  c(0, "abc", kAck | kFin);
  c(3, "evil");
  c(1, "bcdef");  // straddles the FIN: only the part before it counts (old here)
  EXPECT_EQ(client_out(), "abc");
  EXPECT_EQ(cnt.bad_segments, 1u);
  EXPECT_EQ(cnt.retransmissions, 1u);
  // A second FIN further on does not move the end.
  c(10, "", kAck | kFin);
  EXPECT_EQ(s().stream(Side::client).fin_offset(), 3u);
}

TEST_F(Reassembly, FinDropsHeldDataBeyondIt) {
  handshake();
  c(6, "6789");
  c(12, "cdef");
  EXPECT_EQ(mem.used, 8u);
  c(8, "", kAck | kFin);  // the stream ends at offset 8
  EXPECT_EQ(mem.used, 2u);
  c(0, "012345");
  EXPECT_EQ(client_out(), "01234567");
  EXPECT_EQ(mem.used, 0u);
}

TEST_F(Reassembly, SegmentReorderedAroundTheFinsIsStillDelivered) {
  handshake();
  c(0, "abcd");
  c(8, "", kAck | kFin);  // [4, 8) is late
  data(Side::server, 0, "", kAck | kFin);
  EXPECT_EQ(s().state(), TcpState::closing);  // both FINs, but a hole before one
  EXPECT_FALSE(s().finished());
  c(4, "efgh");
  EXPECT_EQ(client_out(), "abcdefgh");
  EXPECT_TRUE(s().finished());
  EXPECT_EQ(cnt.gaps, 0u);
}

TEST_F(Reassembly, PeerAckOfTheFinClosesAHoleBeforeIt) {
  handshake();
  c(0, "abcd");
  c(6, "gh", kAck | kFin);  // FIN at offset 8, [4, 6) never seen
  data(Side::server, 0, "", kAck | kFin);
  EXPECT_FALSE(s().finished());
  server_acks(9);  // the FIN's sequence number: clamped to the stream end
  EXPECT_EQ(client_out(), "abcd{2}gh");
  EXPECT_TRUE(s().finished());
  EXPECT_EQ(s().stream(Side::client).delivered(), 8u);
}

TEST_F(Reassembly, CloseAnnouncesAKnownHoleBeforeTheFin) {
  handshake();
  c(0, "ab");
  c(6, "", kAck | kFin);
  s().close(sink);
  EXPECT_EQ(client_out(), "ab{4}");
  EXPECT_EQ(cnt.gap_bytes, 4u);
}

TEST_F(Reassembly, RstClosesAndFlushes) {
  handshake();
  c(0, "abc");
  c(6, "ghi");
  data(Side::server, 0, "resp");
  raw(Side::server, base[1] + 4, "", kRst);
  EXPECT_EQ(client_out(), "abc{3}ghi");
  EXPECT_EQ(server_out(), "resp");
  EXPECT_EQ(s().state(), TcpState::closed);
  EXPECT_TRUE(s().finished());
  EXPECT_EQ(mem.used, 0u);
  c(3, "def");  // after the RST: ignored
  EXPECT_EQ(client_out(), "abc{3}ghi");
}

TEST_F(Reassembly, RstFarFromTheWindowIsIgnored) {
  handshake();
  c(0, "abc");
  raw(Side::client, base[0] + 0x50000000u, "", kRst);
  EXPECT_EQ(cnt.bad_segments, 1u);
  EXPECT_EQ(s().state(), TcpState::established);
  c(3, "def");
  EXPECT_EQ(client_out(), "abcdef");
}

TEST_F(Reassembly, SegmentFarFromTheWindowIsBad) {
  handshake();
  raw(Side::client, base[0] + 0x7000000u * 16, "far", kAck, base[1]);
  EXPECT_EQ(cnt.bad_segments, 1u);
  EXPECT_EQ(mem.used, 0u);
  EXPECT_EQ(client_out(), "");
}

TEST_F(Reassembly, DepthLimit) {
  cfg.max_stream_depth = 10;
  handshake();
  c(12, "beyond");  // entirely past the depth: never held
  EXPECT_EQ(mem.used, 0u);
  c(8, "89ab");  // held only up to the depth
  EXPECT_EQ(mem.used, 2u);
  c(0, "012345");
  EXPECT_EQ(client_out(), "012345");
  c(6, "67");
  EXPECT_EQ(client_out(), "0123456789");
  EXPECT_EQ(cnt.depth_reached, 1u);
  EXPECT_TRUE(s().stream(Side::client).depth_reached());
  EXPECT_EQ(mem.used, 0u);
  c(10, "more");
  c(14, "even more");
  EXPECT_EQ(client_out(), "0123456789");
  EXPECT_EQ(cnt.depth_reached, 1u);
  // The other direction has its own depth.
  data(Side::server, 0, "0123456789abc");
  EXPECT_EQ(server_out(), "0123456789");
  EXPECT_EQ(cnt.depth_reached, 2u);
  // FINs still close the connection past the depth.
  c(23, "", kAck | kFin);
  data(Side::server, 13, "", kAck | kFin);
  EXPECT_TRUE(s().finished());
}

TEST_F(Reassembly, DepthCountsGapBytes) {
  cfg.max_stream_depth = 6;
  handshake();
  c(0, "ab");
  c(4, "efgh");
  server_acks(4);
  EXPECT_EQ(client_out(), "ab{2}ef");
  EXPECT_EQ(cnt.depth_reached, 1u);
  EXPECT_EQ(mem.used, 0u);
}

TEST_F(Reassembly, ZeroLengthSegments) {
  handshake();
  c(0, "abc");
  c(3, "");
  c(10, "");  // an empty segment ahead of the data: nothing held
  c(1, "");
  EXPECT_EQ(client_out(), "abc");
  EXPECT_EQ(cnt.in_order, 1u);
  EXPECT_EQ(cnt.out_of_order, 0u);
  EXPECT_EQ(cnt.retransmissions, 0u);
  EXPECT_EQ(cnt.gaps, 0u);
  EXPECT_EQ(mem.used, 0u);
  EXPECT_EQ(s().stream(Side::client).held_segments(), 0u);
  EXPECT_EQ(cnt.segments, 7u);
}

TEST_F(Reassembly, LongInOrderRunDrainsHeldDataInOnePass) {
  handshake();
  std::string expect;
  for (int i = 9; i >= 1; --i) c(static_cast<std::uint32_t>(i * 3), std::string(3, static_cast<char>('a' + i)));
  EXPECT_EQ(s().stream(Side::client).held_segments(), 9u);
  EXPECT_EQ(mem.used, 27u);
  c(0, "aaa");
  for (int i = 0; i <= 9; ++i) expect += std::string(3, static_cast<char>('a' + i));
  EXPECT_EQ(client_out(), expect);
  EXPECT_EQ(cnt.out_of_order, 9u);
  EXPECT_EQ(mem.used, 0u);
}

// Random segmentation, order, duplicates (same bytes) and wrap: whatever the policy,
// the stream comes out whole, with no conflict, and every held byte is released.
TEST_F(Reassembly, RandomisedReorderingAndDuplicationDeliversTheStream) {
  std::mt19937 rng(20240611);
  for (int round = 0; round < 300; ++round) {
    cfg.policy = static_cast<OverlapPolicy>(round % 3);
    reset_session();
    sink = RecordingSink{};
    cnt = ReassemblyCounters{};
    const std::uint32_t isn = 0xFFFFFF00u + static_cast<std::uint32_t>(rng() % 0x200);
    handshake(isn, kServerIsn);
    std::string whole(1 + rng() % 2000, '\0');
    for (char& ch : whole) ch = static_cast<char>('a' + rng() % 26);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> segs;  // [off, len)
    for (std::uint32_t off = 0; off < whole.size();) {
      const std::uint32_t len = std::min<std::uint32_t>(1 + rng() % 300,
                                                        static_cast<std::uint32_t>(whole.size()) - off);
      segs.push_back({off, len});
      if (rng() % 4 == 0) {  // an overlapping re-cut of the same bytes
        const std::uint32_t a = off + rng() % len;
        segs.push_back({a, std::min<std::uint32_t>(1 + rng() % 400,
                                                   static_cast<std::uint32_t>(whole.size()) - a)});
      }
      off += len;
    }
    std::shuffle(segs.begin(), segs.end(), rng);
    for (const auto& [off, len] : segs) c(off, std::string_view(whole).substr(off, len));
    ASSERT_EQ(client_out(), whole) << "round " << round;
    EXPECT_EQ(cnt.overlap_conflicts, 0u);
    EXPECT_EQ(cnt.gaps, 0u);
    EXPECT_EQ(mem.used, 0u);
  }
}

// With lost segments and tight caps the stream has gaps, but every offset is accounted
// for exactly once (data or gap) and memory accounting stays exact.
TEST_F(Reassembly, RandomisedLossUnderCapsAccountsForEveryByte) {
  std::mt19937 rng(77);
  for (int round = 0; round < 300; ++round) {
    cfg.policy = static_cast<OverlapPolicy>(round % 3);
    cfg.flow_max_held_bytes = 1 + rng() % 600;
    cfg.max_held_segments = 1 + rng() % 6;
    reset_session();
    sink = RecordingSink{};
    cnt = ReassemblyCounters{};
    handshake();
    std::string whole(100 + rng() % 3000, 'x');
    for (std::size_t i = 0; i < whole.size(); ++i) whole[i] = static_cast<char>('A' + i % 26);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> segs;
    for (std::uint32_t off = 0; off < whole.size();) {
      const std::uint32_t len = std::min<std::uint32_t>(1 + rng() % 200,
                                                        static_cast<std::uint32_t>(whole.size()) - off);
      if (rng() % 8 != 0) segs.push_back({off, len});  // one in eight lost
      off += len;
    }
    std::shuffle(segs.begin(), segs.end(), rng);
    for (const auto& [off, len] : segs) {
      c(off, std::string_view(whole).substr(off, len));
      ASSERT_EQ(mem.used, s().stream(Side::client).held_bytes());
      ASSERT_LE(s().stream(Side::client).held_bytes(), cfg.flow_max_held_bytes);
      ASSERT_LE(s().stream(Side::client).held_segments(), cfg.max_held_segments);
    }
    c(static_cast<std::uint32_t>(whole.size()), "", kAck | kFin);
    s().close(sink);
    // Replace each "{N}" by N dots and compare position by position.
    std::string expanded;
    const std::string& out = client_out();
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (out[i] == '{') {
        const std::size_t j = out.find('}', i);
        expanded.append(std::stoul(out.substr(i + 1, j - i - 1)), '.');
        i = j;
      } else {
        expanded += out[i];
      }
    }
    ASSERT_EQ(expanded.size(), whole.size()) << "round " << round;
    for (std::size_t i = 0; i < whole.size(); ++i) {
      if (expanded[i] != '.') {
        ASSERT_EQ(expanded[i], whole[i]) << "round " << round << " at " << i;
      }
    }
    EXPECT_EQ(mem.used, 0u);
  }
}

}  // namespace
}  // namespace dlp::dataplane
