// Defragmenter tests: fragments from tests/gen's fragment_frame/fragment_piece, decoded,
// then reassembled; the result must equal the original datagram's L4 bytes exactly.
#include "dataplane/defrag.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "dataplane/decode.h"
#include "tests/gen/frames.h"

namespace dlp::dataplane {
namespace {

using testgen::Frame;
using testgen::Ip;
using testgen::L2;

constexpr std::uint64_t kSec = 1'000'000'000;

std::vector<std::uint8_t> body(std::size_t n, char base = 'a') {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(base + i % 26);
  return v;
}

Ip v4(std::uint16_t id = 0x1234) {
  Ip ip{.src = "10.0.0.1", .dst = "192.0.2.9"};
  ip.ip_id = id;
  return ip;
}
Ip v6(bool ext = false) {
  Ip ip{.src = "2001:db8::1", .dst = "2001:db8::9"};
  ip.ipv6_ext_headers = ext;
  return ip;
}

// The L4 bytes (header + payload) of a whole frame: what reassembly must give back.
std::vector<std::uint8_t> l4_of(const Frame& f) {
  const auto lay = testgen::frame_layout(f);
  RawPacket p;
  p.data = Bytes(f.data(), f.size());
  p.wire_len = static_cast<std::uint32_t>(f.size());
  Decoded d;
  EXPECT_EQ(decode(p, d), DecodeStatus::ok);
  const std::size_t end = lay.l3_offset + d.l3.size();
  return {f.begin() + static_cast<std::ptrdiff_t>(lay.l4_offset),
          f.begin() + static_cast<std::ptrdiff_t>(end)};
}

Decoded decoded(const Frame& f) {
  RawPacket p;
  p.data = Bytes(f.data(), f.size());
  p.wire_len = static_cast<std::uint32_t>(f.size());
  Decoded d;
  EXPECT_EQ(decode(p, d), DecodeStatus::ok);
  EXPECT_TRUE(d.is_fragment);
  return d;
}

// A fragment frame and its decoded view (which points into the frame).
struct Piece {
  Frame f;
  Decoded d;
};
Piece piece(Frame f) {
  Piece p{std::move(f), {}};
  p.d = decoded(p.f);
  return p;  // moving the vector keeps its buffer, so p.d stays valid
}

// Feeds fragments in the given order; returns the datagram if the last one completed it.
std::optional<Datagram> feed(Defragmenter& df, const std::vector<Frame>& frags,
                             const std::vector<std::size_t>& order, Decoded& last,
                             std::uint64_t ts = kSec) {
  std::optional<Datagram> out;
  for (std::size_t i = 0; i < order.size(); ++i) {
    Decoded d = decoded(frags[order[i]]);
    out = df.add(d, ts);
    if (i + 1 < order.size()) {
      EXPECT_FALSE(out.has_value()) << "fragment " << i;
    }
    last = d;
  }
  return out;
}

std::vector<std::size_t> iota(std::size_t n, bool reverse = false) {
  std::vector<std::size_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = reverse ? n - 1 - i : i;
  return v;
}

TEST(DefragIpv4, InOrderTcp) {
  const Frame whole = testgen::tcp_frame(L2{}, v4(), 40000, 80, 5, 6, 0x18, body(1000));
  const auto frags = testgen::fragment_frame(whole, 256);
  ASSERT_EQ(frags.size(), 4u);  // 1020 bytes of TCP
  Defragmenter df({});
  Decoded d;
  auto dg = feed(df, frags, iota(4), d);
  ASSERT_TRUE(dg.has_value());
  EXPECT_EQ(d.proto, 6);
  EXPECT_EQ(dg->bytes_, l4_of(whole));
  ASSERT_EQ(decode_l4(d.proto, dg->payload(), d), DecodeStatus::ok);
  EXPECT_EQ(d.sport, 40000);
  EXPECT_EQ(d.seq, 5u);
  EXPECT_EQ(std::vector<std::uint8_t>(d.payload.begin(), d.payload.end()), body(1000));
  EXPECT_EQ(df.counters().fragments, 4u);
  EXPECT_EQ(df.counters().reassembled, 1u);
  EXPECT_EQ(df.counters().overlaps, 0u);
  EXPECT_EQ(df.pending_bytes(), 0u);
  EXPECT_EQ(df.pending_datagrams(), 0u);
}

TEST(DefragIpv4, ReverseAndShuffledUdp) {
  const Frame whole = testgen::udp_frame(L2{.vlans = {3}}, v4(77), 53, 5353, body(700));
  const auto frags = testgen::fragment_frame(whole, 200);
  ASSERT_EQ(frags.size(), 4u);
  for (const auto& order : {iota(4, true), std::vector<std::size_t>{2, 0, 3, 1}}) {
    Defragmenter df({});
    Decoded d;
    auto dg = feed(df, frags, order, d);
    ASSERT_TRUE(dg.has_value());
    EXPECT_EQ(d.proto, 17);
    EXPECT_EQ(dg->bytes_, l4_of(whole));
    ASSERT_EQ(decode_l4(d.proto, dg->payload(), d), DecodeStatus::ok);
    EXPECT_EQ(d.dport, 5353);
    EXPECT_EQ(d.payload.size(), 700u);
  }
}

TEST(DefragIpv4, SameIdDifferentKeysStayApart) {
  const Frame a = testgen::udp_frame(L2{}, v4(5), 1, 2, body(100, 'a'));
  Ip other = v4(5);
  other.src = "10.0.0.2";
  const Frame b = testgen::udp_frame(L2{}, other, 1, 2, body(100, 'A'));
  const auto fa = testgen::fragment_frame(a, 64), fb = testgen::fragment_frame(b, 64);
  Defragmenter df({});
  Decoded d0 = decoded(fa[0]), d1 = decoded(fb[1]);
  EXPECT_FALSE(df.add(d0, kSec));
  EXPECT_FALSE(df.add(d1, kSec));
  EXPECT_EQ(df.pending_datagrams(), 2u);
  Decoded d2 = decoded(fa[1]);
  auto dg = df.add(d2, kSec);
  ASSERT_TRUE(dg);
  EXPECT_EQ(dg->bytes_, l4_of(a));
  EXPECT_EQ(df.pending_datagrams(), 1u);
}

// Overlap: pieces of two frames with identical headers but different payload bytes.
// First wins: every byte comes from whichever fragment brought it first.
TEST(DefragIpv4, OverlapFirstWinsExactBytes) {
  const Frame orig = testgen::udp_frame(L2{}, v4(9), 7, 8, body(152, 'a'));     // 160 of UDP
  const Frame other = testgen::udp_frame(L2{}, v4(9), 7, 8, body(152, 'A'));
  const auto want_l4 = l4_of(orig), other_l4 = l4_of(other);
  {
    Defragmenter df({});
    Piece a = piece(testgen::fragment_piece(orig, 0, 64, true));
    Piece b = piece(testgen::fragment_piece(other, 32, 64, true));  // [32, 96)
    Piece c = piece(testgen::fragment_piece(orig, 96, 64, false));
    EXPECT_FALSE(df.add(a.d, kSec));
    EXPECT_FALSE(df.add(b.d, kSec));
    auto dg = df.add(c.d, kSec);
    ASSERT_TRUE(dg);
    std::vector<std::uint8_t> want(want_l4.begin(), want_l4.begin() + 64);
    want.insert(want.end(), other_l4.begin() + 64, other_l4.begin() + 96);
    want.insert(want.end(), want_l4.begin() + 96, want_l4.end());
    EXPECT_EQ(dg->bytes_, want);
    EXPECT_EQ(df.counters().overlaps, 1u);
    EXPECT_EQ(df.counters().dropped_overlap_v6, 0u);
  }
  {
    // The overlapping piece first: it keeps [32, 96); the original fills around it,
    // including a hole on each side of the piece it overlaps.
    Defragmenter df({});
    Piece b = piece(testgen::fragment_piece(other, 32, 64, true));
    Piece a = piece(testgen::fragment_piece(orig, 0, 128, true));
    Piece c = piece(testgen::fragment_piece(orig, 128, 32, false));
    EXPECT_FALSE(df.add(b.d, kSec));
    EXPECT_FALSE(df.add(a.d, kSec));
    auto dg = df.add(c.d, kSec);
    ASSERT_TRUE(dg);
    std::vector<std::uint8_t> want(want_l4.begin(), want_l4.begin() + 32);
    want.insert(want.end(), other_l4.begin() + 32, other_l4.begin() + 96);
    want.insert(want.end(), want_l4.begin() + 96, want_l4.end());
    EXPECT_EQ(dg->bytes_, want);
    EXPECT_EQ(df.counters().overlaps, 1u);
  }
}

TEST(DefragIpv4, DuplicateIgnored) {
  const Frame whole = testgen::tcp_frame(L2{}, v4(3), 1, 2, 3, 4, 0x10, body(300));
  const auto frags = testgen::fragment_frame(whole, 128);
  ASSERT_EQ(frags.size(), 3u);
  Defragmenter df({});
  Decoded d;
  auto dg = feed(df, frags, {0, 1, 1, 0, 2}, d);
  ASSERT_TRUE(dg);
  EXPECT_EQ(dg->bytes_, l4_of(whole));
  EXPECT_EQ(df.counters().duplicates, 2u);
  EXPECT_EQ(df.counters().overlaps, 0u);
  EXPECT_EQ(df.counters().reassembled, 1u);
}

TEST(DefragIpv4, InvalidFragments) {
  const Frame whole = testgen::udp_frame(L2{}, v4(11), 1, 2, body(200));
  Defragmenter df({});
  // A non-last fragment whose length is not a multiple of 8.
  Piece odd = piece(testgen::fragment_piece(whole, 0, 60, true));
  EXPECT_FALSE(df.add(odd.d, kSec));
  EXPECT_EQ(df.counters().invalid, 1u);
  // Data past the end a last fragment already set.
  Piece last = piece(testgen::fragment_piece(whole, 64, 40, false));  // end 104
  Piece past = piece(testgen::fragment_piece(whole, 96, 64, true));   // end 160
  EXPECT_FALSE(df.add(last.d, kSec));
  EXPECT_FALSE(df.add(past.d, kSec));
  EXPECT_EQ(df.counters().invalid, 2u);
  // A second, different end.
  Piece other_end = piece(testgen::fragment_piece(whole, 8, 48, false));  // end 56
  EXPECT_FALSE(df.add(other_end.d, kSec));
  EXPECT_EQ(df.counters().invalid, 3u);
  // IPv4 keeps the datagram through all that: the missing piece completes it.
  Piece first = piece(testgen::fragment_piece(whole, 0, 64, true));
  auto dg = df.add(first.d, kSec);
  ASSERT_TRUE(dg);
  const auto l4 = l4_of(whole);
  EXPECT_EQ(dg->bytes_, std::vector<std::uint8_t>(l4.begin(), l4.begin() + 104));
}

TEST(DefragIpv4, TooBig) {
  Frame f = testgen::fragment_piece(testgen::udp_frame(L2{}, v4(12), 1, 2, body(200)), 64, 64,
                                    false);
  // Move it to offset 65480: 20 + 65480 + 64 > 65535 (the ping of death).
  const std::uint16_t field = 65480 / 8;
  f[20] = static_cast<std::uint8_t>(field >> 8);
  f[21] = static_cast<std::uint8_t>(field);
  f[24] = f[25] = 0;
  const auto sum = testgen::internet_checksum({f.data() + 14, 20});
  f[24] = static_cast<std::uint8_t>(sum >> 8);
  f[25] = static_cast<std::uint8_t>(sum);
  Defragmenter df({});
  Piece first = piece(testgen::fragment_piece(testgen::udp_frame(L2{}, v4(12), 1, 2, body(200)),
                                                  0, 64, true));
  EXPECT_FALSE(df.add(first.d, kSec));
  Decoded d = decoded(f);
  EXPECT_EQ(d.frag_offset, 65480u);
  EXPECT_FALSE(df.add(d, kSec));
  EXPECT_EQ(df.counters().too_big, 1u);
  EXPECT_EQ(df.pending_datagrams(), 0u);  // the datagram it belonged to went too
  EXPECT_EQ(df.pending_bytes(), 0u);
}

TEST(DefragTimeout, ExpireOnPacketTime) {
  DefragConfig cfg;
  cfg.timeout_ns = 10 * kSec;
  const Frame whole = testgen::udp_frame(L2{}, v4(20), 1, 2, body(100));
  const auto frags = testgen::fragment_frame(whole, 64);
  Defragmenter df(cfg);
  Decoded a = decoded(frags[0]);
  EXPECT_FALSE(df.add(a, 100 * kSec));
  df.expire(110 * kSec);  // exactly the timeout: still pending
  EXPECT_EQ(df.pending_datagrams(), 1u);
  df.expire(110 * kSec + 1);
  EXPECT_EQ(df.pending_datagrams(), 0u);
  EXPECT_EQ(df.pending_bytes(), 0u);
  EXPECT_EQ(df.counters().timeouts, 1u);
  // The rest arrives late: it starts a new datagram that never completes.
  Decoded b = decoded(frags[1]);
  EXPECT_FALSE(df.add(b, 111 * kSec));
  EXPECT_EQ(df.pending_datagrams(), 1u);
}

TEST(DefragTimeout, StaleDatagramReplacedOnAdd) {
  DefragConfig cfg;
  cfg.timeout_ns = 10 * kSec;
  const Frame whole = testgen::udp_frame(L2{}, v4(21), 1, 2, body(100));
  const auto frags = testgen::fragment_frame(whole, 64);
  Defragmenter df(cfg);
  Decoded old_last = decoded(frags[1]);
  EXPECT_FALSE(df.add(old_last, 1 * kSec));
  // No expire() call: the id is reused 20 s later, the old half must not be mixed in.
  Decoded a = decoded(frags[0]);
  EXPECT_FALSE(df.add(a, 21 * kSec));
  EXPECT_EQ(df.counters().timeouts, 1u);
  Decoded b = decoded(frags[1]);
  auto dg = df.add(b, 22 * kSec);
  ASSERT_TRUE(dg);
  EXPECT_EQ(dg->bytes_, l4_of(whole));
}

TEST(DefragBounds, MemoryCapEvictsOldest) {
  DefragConfig cfg;
  cfg.max_bytes = 1000;
  Defragmenter df(cfg);
  const Frame a = testgen::udp_frame(L2{}, v4(30), 1, 2, body(1200));
  const Frame b = testgen::udp_frame(L2{}, v4(31), 1, 2, body(1200));
  const auto fa = testgen::fragment_frame(a, 600), fb = testgen::fragment_frame(b, 600);
  ASSERT_EQ(fa.size(), 3u);  // 600 + 600 + 8
  Decoded a0 = decoded(fa[0]);
  EXPECT_FALSE(df.add(a0, 1 * kSec));
  EXPECT_EQ(df.pending_bytes(), 600u);
  Decoded b0 = decoded(fb[0]);
  EXPECT_FALSE(df.add(b0, 2 * kSec));
  EXPECT_EQ(df.counters().memory_evictions, 1u);  // a went
  EXPECT_EQ(df.pending_datagrams(), 1u);
  EXPECT_EQ(df.pending_bytes(), 600u);
  // b alone grows past the cap: it goes too.
  Decoded b1 = decoded(fb[1]);
  EXPECT_FALSE(df.add(b1, 3 * kSec));
  EXPECT_EQ(df.counters().memory_evictions, 2u);
  EXPECT_EQ(df.pending_datagrams(), 0u);
  EXPECT_EQ(df.pending_bytes(), 0u);
}

TEST(DefragBounds, MaxDatagramsEvictsOldest) {
  DefragConfig cfg;
  cfg.max_datagrams = 2;
  Defragmenter df(cfg);
  std::vector<Frame> wholes;
  for (std::uint16_t id = 40; id < 43; ++id) {
    wholes.push_back(testgen::udp_frame(L2{}, v4(id), 1, 2, body(100)));
    Piece p = piece(testgen::fragment_frame(wholes.back(), 64)[0]);
    EXPECT_FALSE(df.add(p.d, id * kSec));
  }
  EXPECT_EQ(df.pending_datagrams(), 2u);
  EXPECT_EQ(df.counters().memory_evictions, 1u);
  // 41 still completes; id 40 is gone, so its second half starts a new datagram.
  Piece d41 = piece(testgen::fragment_frame(wholes[1], 64)[1]);
  auto dg = df.add(d41.d, 50 * kSec);
  ASSERT_TRUE(dg);
  EXPECT_EQ(dg->bytes_, l4_of(wholes[1]));
  Piece old = piece(testgen::fragment_frame(wholes[0], 64)[1]);
  EXPECT_FALSE(df.add(old.d, 50 * kSec));
  EXPECT_EQ(df.counters().reassembled, 1u);
}

TEST(DefragBounds, TooManyFragments) {
  DefragConfig cfg;
  cfg.max_fragments_per_datagram = 3;
  Defragmenter df(cfg);
  const Frame whole = testgen::udp_frame(L2{}, v4(50), 1, 2, body(400));
  const auto frags = testgen::fragment_frame(whole, 64);
  ASSERT_EQ(frags.size(), 7u);
  Decoded d;
  for (std::size_t i = 0; i < 3; ++i) {
    d = decoded(frags[i]);
    EXPECT_FALSE(df.add(d, kSec));
  }
  d = decoded(frags[3]);
  EXPECT_FALSE(df.add(d, kSec));
  EXPECT_EQ(df.counters().too_many_fragments, 1u);
  EXPECT_EQ(df.pending_datagrams(), 0u);
}

TEST(DefragIpv6, InOrderReverseWithExtHeaders) {
  // Hop-by-hop stays in every fragment; destination options travel in the fragmentable
  // part and are skipped after reassembly.
  const Frame whole = testgen::tcp_frame(L2{.vlans = {9}}, v6(true), 443, 50000, 77, 88, 0x18,
                                         body(500));
  const auto frags = testgen::fragment_frame(whole, 128, 0x01020304);
  ASSERT_EQ(frags.size(), 5u);  // 8 + 20 + 500 = 528
  for (bool reverse : {false, true}) {
    Defragmenter df({});
    Decoded d;
    auto dg = feed(df, frags, iota(5, reverse), d);
    ASSERT_TRUE(dg);
    EXPECT_EQ(d.proto, 6);
    EXPECT_EQ(dg->bytes_, l4_of(whole));
    ASSERT_EQ(decode_l4(d.proto, dg->payload(), d), DecodeStatus::ok);
    EXPECT_EQ(d.sport, 443);
    EXPECT_EQ(d.ack, 88u);
    EXPECT_EQ(std::vector<std::uint8_t>(d.payload.begin(), d.payload.end()), body(500));
  }
}

TEST(DefragIpv6, PlainUdp) {
  const Frame whole = testgen::udp_frame(L2{}, v6(), 1, 2, body(300));
  const auto frags = testgen::fragment_frame(whole, 100, 99);
  ASSERT_EQ(frags.size(), 4u);  // 96 + 96 + 96 + 20
  Defragmenter df({});
  Decoded d;
  auto dg = feed(df, frags, {3, 1, 0, 2}, d);
  ASSERT_TRUE(dg);
  EXPECT_EQ(d.proto, 17);
  EXPECT_EQ(dg->bytes_, l4_of(whole));
}

TEST(DefragIpv6, OverlapDropsDatagram) {
  const Frame orig = testgen::udp_frame(L2{}, v6(), 7, 8, body(152, 'a'));
  const Frame other = testgen::udp_frame(L2{}, v6(), 7, 8, body(152, 'A'));
  Defragmenter df({});
  Piece a = piece(testgen::fragment_piece(orig, 0, 64, true, 5));
  Piece b = piece(testgen::fragment_piece(other, 32, 64, true, 5));
  Piece c = piece(testgen::fragment_piece(orig, 64, 96, false, 5));
  EXPECT_FALSE(df.add(a.d, kSec));
  EXPECT_FALSE(df.add(b.d, kSec));
  EXPECT_EQ(df.counters().dropped_overlap_v6, 1u);
  EXPECT_EQ(df.pending_datagrams(), 0u);
  EXPECT_EQ(df.pending_bytes(), 0u);
  // What arrives after the drop cannot complete it.
  EXPECT_FALSE(df.add(c.d, kSec));
  EXPECT_EQ(df.counters().reassembled, 0u);
}

TEST(DefragIpv6, ExactDuplicateKept) {
  const Frame whole = testgen::udp_frame(L2{}, v6(), 1, 2, body(200));
  const auto frags = testgen::fragment_frame(whole, 64, 6);
  ASSERT_EQ(frags.size(), 4u);
  Defragmenter df({});
  Decoded d;
  auto dg = feed(df, frags, {0, 2, 2, 1, 3}, d);
  ASSERT_TRUE(dg);
  EXPECT_EQ(dg->bytes_, l4_of(whole));
  EXPECT_EQ(df.counters().duplicates, 1u);
  EXPECT_EQ(df.counters().dropped_overlap_v6, 0u);
}

TEST(DefragIpv6, AtomicFragmentIsNotAFragment) {
  // fragment_frame with a piece size beyond the payload gives one fragment, offset 0 and
  // M = 0: RFC 6946 says that is the whole packet.
  const Frame whole = testgen::tcp_frame(L2{}, v6(), 1, 2, 3, 4, 0x18, body(40));
  const auto frags = testgen::fragment_frame(whole, 1024, 8);
  ASSERT_EQ(frags.size(), 1u);
  RawPacket p;
  p.data = Bytes(frags[0].data(), frags[0].size());
  p.wire_len = static_cast<std::uint32_t>(frags[0].size());
  Decoded d;
  ASSERT_EQ(decode(p, d), DecodeStatus::ok);
  EXPECT_FALSE(d.is_fragment);
  EXPECT_EQ(d.proto, 6);
  EXPECT_EQ(d.sport, 1);
  EXPECT_EQ(d.payload.size(), 40u);
}

TEST(DefragIpv6, TooBig) {
  Frame f = testgen::fragment_piece(testgen::udp_frame(L2{}, v6(), 1, 2, body(200)), 64, 64,
                                    false, 13);
  // Fragment offset field (13 bits, 8-byte units) at bytes 2-3 of the fragment header.
  const std::uint16_t field = static_cast<std::uint16_t>((65480 / 8) << 3);
  f[14 + 40 + 2] = static_cast<std::uint8_t>(field >> 8);
  f[14 + 40 + 3] = static_cast<std::uint8_t>(field);
  Defragmenter df({});
  Decoded d = decoded(f);
  EXPECT_EQ(d.frag_offset, 65480u);
  EXPECT_FALSE(df.add(d, kSec));
  EXPECT_EQ(df.counters().too_big, 1u);
  EXPECT_EQ(df.pending_datagrams(), 0u);
}

}  // namespace
}  // namespace dlp::dataplane
