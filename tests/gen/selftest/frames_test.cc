// Frame builder self-tests: layouts, checksums (recomputed naively), VLAN tags, IPv6
// extension headers, and fragmentation (reassembled independently).
#include "tests/gen/frames.h"

#include <gtest/gtest.h>

#include <string>

#include "common/dlp/bytes.h"
#include "tests/gen/selftest/testutil.h"

namespace dlp::testgen {
namespace {

using testutil::parse;

std::vector<std::uint8_t> bytes(std::size_t n, std::uint8_t seed = 1) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(seed + i * 7);
  return v;
}

TEST(testgen_frames, InternetChecksumKnownAnswer) {
  // A well-known IPv4 header (192.168.0.1 -> 192.168.0.199, UDP) whose checksum is 0xb861.
  std::vector<std::uint8_t> h = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(internet_checksum(h), 0xb861);
  h[10] = 0xb8;
  h[11] = 0x61;
  EXPECT_EQ(internet_checksum(h), 0);
  // Odd length: the last byte is padded with zero.
  const std::vector<std::uint8_t> odd = {0x01, 0x02, 0x03};
  EXPECT_EQ(internet_checksum(odd), static_cast<std::uint16_t>(~(0x0102 + 0x0300)));
}

TEST(testgen_frames, Ipv4TcpLayoutAndChecksums) {
  const L2 l2{.src_mac = parse_mac("02:00:00:00:00:0a"), .dst_mac = parse_mac("02:00:00:00:00:0b")};
  const Ip ip{.src = "10.0.0.5", .dst = "192.0.2.80", .ttl = 61, .ip_id = 0x1234};
  const auto payload = bytes(333);
  const Frame f = tcp_frame(l2, ip, 40001, 80, 0xdeadbeef, 0x01020304, kTcpAck | kTcpPsh, payload, 1000);
  ASSERT_EQ(f.size(), 14u + 20 + 20 + 333);
  EXPECT_EQ(f[0], 0x02);
  EXPECT_EQ(f[5], 0x0b);  // destination first
  EXPECT_EQ(f[11], 0x0a);
  const auto p = parse(f);
  EXPECT_EQ(p.ethertype, 0x0800);
  EXPECT_TRUE(p.tag_types.empty());
  EXPECT_EQ(p.src, "0a000005");
  EXPECT_EQ(p.dst, "c0000250");
  EXPECT_EQ(p.ttl, 61);
  EXPECT_EQ(p.ip_id, 0x1234);
  EXPECT_EQ(p.proto, 6);
  EXPECT_TRUE(p.ip_checksum_ok);
  ASSERT_TRUE(p.has_l4);
  EXPECT_TRUE(p.l4_checksum_ok);
  EXPECT_EQ(p.sport, 40001);
  EXPECT_EQ(p.dport, 80);
  EXPECT_EQ(p.seq, 0xdeadbeefu);
  EXPECT_EQ(p.ack, 0x01020304u);
  EXPECT_EQ(p.flags, kTcpAck | kTcpPsh);
  EXPECT_EQ(p.window, 1000);
  EXPECT_EQ(p.payload, payload);
  // The library's own verifier agrees, and a flipped payload byte breaks the checksum.
  const auto lay = frame_layout(f);
  EXPECT_EQ(l4_checksum(ip, kIpProtoTcp, {f.data() + lay.l4_offset, f.size() - lay.l4_offset}), 0);
  Frame bad = f;
  bad.back() ^= 0x40;
  EXPECT_FALSE(parse(bad).l4_checksum_ok);
}

TEST(testgen_frames, ShortFramesArePaddedButIpLengthIsExact) {
  const Frame f = tcp_frame({}, {.src = "10.0.0.1", .dst = "10.0.0.2"}, 1, 2, 3, 4, kTcpAck, {});
  EXPECT_EQ(f.size(), 60u);
  const auto p = parse(f);
  EXPECT_EQ(p.ip_total, 40u);
  EXPECT_TRUE(p.payload.empty());
  EXPECT_TRUE(p.l4_checksum_ok);
  L2 nopad;
  nopad.pad = false;
  EXPECT_EQ(tcp_frame(nopad, {.src = "10.0.0.1", .dst = "10.0.0.2"}, 1, 2, 3, 4, kTcpAck, {}).size(), 54u);
}

TEST(testgen_frames, AckNumberZeroWithoutAckFlag) {
  const Frame f = tcp_frame({}, {.src = "10.0.0.1", .dst = "10.0.0.2"}, 1, 2, 100, 999, kTcpSyn, {},
                            65535, tcp_mss_option(1460));
  const auto p = parse(f);
  EXPECT_EQ(p.ack, 0u);
  EXPECT_EQ(p.tcp_options, (std::vector<std::uint8_t>{2, 4, 0x05, 0xb4}));
  EXPECT_TRUE(p.l4_checksum_ok);
}

TEST(testgen_frames, Ipv4OptionsArePaddedAndChecksummed) {
  Ip ip{.src = "10.0.0.1", .dst = "10.0.0.2"};
  ip.ipv4_options = {0x94, 0x04, 0x00, 0x00, 0x01};  // router alert + NOP -> padded to 8
  const Frame f = tcp_frame({}, ip, 1000, 2000, 1, 1, kTcpAck, bytes(10));
  EXPECT_EQ(f[14] & 0x0f, 7);  // 20 + 8 bytes = 7 words
  const auto p = parse(f);
  EXPECT_TRUE(p.ip_checksum_ok);
  EXPECT_TRUE(p.l4_checksum_ok);
  EXPECT_EQ(p.payload, bytes(10));
  EXPECT_EQ(f[14 + 20 + 5], 0);  // EOL padding
}

TEST(testgen_frames, VlanAndQinQTags) {
  const Ip ip{.src = "10.0.0.1", .dst = "10.0.0.2"};
  const auto one = parse(tcp_frame({.vlans = {100}}, ip, 1, 2, 3, 4, kTcpAck, bytes(5)));
  EXPECT_EQ(one.tag_types, (std::vector<std::uint16_t>{0x8100}));
  EXPECT_EQ(one.tag_values, (std::vector<std::uint16_t>{100}));
  EXPECT_EQ(one.ethertype, 0x0800);
  EXPECT_TRUE(one.l4_checksum_ok);
  const Frame qq = udp_frame({.vlans = {200, 0x2000 | 10}}, ip, 5353, 53, bytes(20));
  EXPECT_EQ(qq[12], 0x88);
  EXPECT_EQ(qq[13], 0xa8);
  const auto two = parse(qq);
  EXPECT_EQ(two.tag_types, (std::vector<std::uint16_t>{0x88a8, 0x8100}));
  EXPECT_EQ(two.tag_values, (std::vector<std::uint16_t>{200, 0x2000 | 10}));
  EXPECT_EQ(two.payload, bytes(20));
  EXPECT_TRUE(two.l4_checksum_ok);
  EXPECT_EQ(frame_layout(qq).l3_offset, 22u);
  EXPECT_THROW(ethernet({.vlans = {1, 2, 3}}, kEtherTypeIpv4, bytes(40)), std::invalid_argument);
}

TEST(testgen_frames, Ipv6TcpUdpAndExtensionHeaders) {
  const Ip ip{.src = "2001:db8::5", .dst = "2001:db8:cafe::80", .ttl = 50};
  const Frame t = tcp_frame({}, ip, 443, 50000, 7, 8, kTcpAck, bytes(100));
  ASSERT_EQ(t.size(), 14u + 40 + 20 + 100);
  auto p = parse(t);
  EXPECT_TRUE(p.v6);
  EXPECT_EQ(p.ttl, 50);
  EXPECT_EQ(p.src, "20010db8000000000000000000000005");
  EXPECT_TRUE(p.ext_chain.empty());
  EXPECT_TRUE(p.l4_checksum_ok);
  EXPECT_EQ(p.payload, bytes(100));

  Ip ext = ip;
  ext.ipv6_ext_headers = true;
  const Frame u = udp_frame({}, ext, 5000, 53, bytes(31));
  p = parse(u);
  EXPECT_EQ(p.ext_chain, (std::vector<std::uint8_t>{0, 60}));
  EXPECT_EQ(p.proto, 17);
  EXPECT_EQ(p.ip_total, 40u + 16 + 8 + 31);
  EXPECT_TRUE(p.l4_checksum_ok);
  EXPECT_EQ(p.payload, bytes(31));
  const auto lay = frame_layout(u);
  EXPECT_EQ(lay.l4_offset, 14u + 40 + 16);
  EXPECT_EQ(lay.l4_protocol, kIpProtoUdp);
  EXPECT_TRUE(is_ipv6(ip));
  EXPECT_THROW(is_ipv6({.src = "10.0.0.1", .dst = "2001:db8::1"}), std::invalid_argument);
  EXPECT_THROW(is_ipv6({.src = "10.0.0.300", .dst = "10.0.0.1"}), std::invalid_argument);
}

TEST(testgen_frames, Ipv4FragmentationReassembles) {
  const L2 l2{.vlans = {7}};
  Ip ip{.src = "10.1.0.10", .dst = "203.0.113.30", .ip_id = 0x4242, .dont_fragment = true};
  ip.ipv4_options = {0x01, 0x01, 0x07, 0x07, 0x04, 0, 0, 0, 0,  // NOP NOP, record route (not copied)
                     0x94, 0x04, 0x00, 0x00};                  // router alert (copied)
  const auto payload = bytes(1000, 3);
  const Frame whole = tcp_frame(l2, ip, 40000, 80, 1, 1, kTcpAck, payload);
  const auto frags = fragment_frame(whole, 300);  // rounded down to 296
  ASSERT_EQ(frags.size(), 4u);                    // 1020 bytes of IP payload
  std::vector<std::uint8_t> joined;
  for (std::size_t i = 0; i < frags.size(); ++i) {
    const auto p = parse(frags[i]);
    EXPECT_EQ(p.tag_values, (std::vector<std::uint16_t>{7}));
    EXPECT_TRUE(p.ip_checksum_ok) << i;
    EXPECT_EQ(p.ip_id, 0x4242);
    EXPECT_EQ(p.frag_offset, i * 296);
    EXPECT_EQ(p.more_fragments, i + 1 < frags.size());
    EXPECT_EQ(frags[i][14 + 4 + 6] & 0x40, 0) << "DF cleared";
    const std::size_t ihl = (frags[i][18] & 15) * 4u;
    EXPECT_EQ(ihl, i == 0 ? 36u : 24u) << "only copied options after the first";
    if (i > 0) {
      EXPECT_EQ(frags[i][18 + 20], 0x94);
    }
    joined.insert(joined.end(), p.ip_payload.begin(), p.ip_payload.end());
  }
  const auto original = parse(whole);
  EXPECT_EQ(joined, original.ip_payload);
  // The independent reassembler recovers the TCP segment with a valid checksum.
  std::vector<testutil::Record> recs;
  for (auto it = frags.rbegin(); it != frags.rend(); ++it) recs.push_back({0, 0, 0, *it});
  const auto all = testutil::parse_all_with_defrag(recs);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all[0].l4_checksum_ok);
  EXPECT_EQ(all[0].payload, payload);
}

TEST(testgen_frames, Ipv4RefragmentKeepsOffsets) {
  const Frame whole = udp_frame({}, {.src = "10.0.0.1", .dst = "10.0.0.2", .ip_id = 9}, 1, 2, bytes(600));
  const auto first = fragment_frame(whole, 400);
  ASSERT_EQ(first.size(), 2u);
  const auto again = fragment_frame(first[1], 64);  // second fragment starts at 400
  EXPECT_EQ(parse(again.front()).frag_offset, 400u);
  EXPECT_FALSE(parse(again.back()).more_fragments);
  const auto again0 = fragment_frame(first[0], 200);
  EXPECT_TRUE(parse(again0.back()).more_fragments) << "MF of the original fragment is kept";
}

TEST(testgen_frames, Ipv6FragmentationKeepsUnfragmentablePart) {
  Ip ip{.src = "2001:db8:10::20", .dst = "2001:db8:cafe::80", .ipv6_ext_headers = true};
  const auto payload = bytes(700, 9);
  const Frame whole = tcp_frame({}, ip, 50000, 80, 10, 20, kTcpAck | kTcpPsh, payload);
  const auto frags = fragment_frame(whole, 256, 0xabcdef01);
  ASSERT_EQ(frags.size(), 3u);  // 8 (dest opts) + 20 + 700 = 728 bytes fragmentable
  std::vector<std::uint8_t> joined;
  for (std::size_t i = 0; i < frags.size(); ++i) {
    const auto p = parse(frags[i]);
    EXPECT_EQ(p.ext_chain.at(0), 0) << "hop-by-hop stays unfragmentable";
    EXPECT_EQ(p.ext_chain.at(1), 44);
    EXPECT_EQ(p.frag_id, 0xabcdef01u);
    EXPECT_EQ(p.frag_offset, i * 256);
    EXPECT_EQ(p.more_fragments, i + 1 < frags.size());
    // Fragment header's next header is destination options (60), part of the payload.
    EXPECT_EQ(p.proto, 60);
    joined.insert(joined.end(), p.ip_payload.begin(), p.ip_payload.end());
  }
  EXPECT_EQ(joined.size(), 728u);
  EXPECT_EQ(joined[0], kIpProtoTcp);  // dest-opts header: next header TCP
  const std::vector<std::uint8_t> tcp(joined.begin() + 8, joined.end());
  testutil::ParsedFrame p = parse(whole);
  EXPECT_EQ(std::vector<std::uint8_t>(p.ip_payload.begin(), p.ip_payload.end()), tcp);

  // Without extension headers, and with the default (hash) identification.
  ip.ipv6_ext_headers = false;
  const Frame plain = udp_frame({}, ip, 1, 2, bytes(100));
  const auto f2 = fragment_frame(plain, 48);
  ASSERT_EQ(f2.size(), 3u);
  const auto id = parse(f2[0]).frag_id;
  EXPECT_NE(id, 0u);
  std::vector<testutil::Record> recs;
  for (const auto& f : f2) recs.push_back({0, 0, 0, f});
  const auto all = testutil::parse_all_with_defrag(recs);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].frag_id, id);
  EXPECT_TRUE(all[0].l4_checksum_ok);
  EXPECT_EQ(all[0].payload, bytes(100));
}

TEST(testgen_frames, FragmentPieceBuildsOverlaps) {
  const Frame whole = udp_frame({}, {.src = "10.0.0.1", .dst = "10.0.0.2", .ip_id = 77}, 1, 2, bytes(64));
  const Frame a = fragment_piece(whole, 0, 48, true);
  const Frame b = fragment_piece(whole, 40, 1000, false);  // overlaps 8 bytes, clipped to the end
  const auto pa = parse(a), pb = parse(b);
  EXPECT_EQ(pa.ip_payload.size(), 48u);
  EXPECT_EQ(pb.frag_offset, 40u);
  EXPECT_EQ(pb.ip_payload.size(), 72u - 40u);
  EXPECT_TRUE(pb.ip_checksum_ok);
  EXPECT_EQ(std::vector<std::uint8_t>(pa.ip_payload.begin() + 40, pa.ip_payload.end()),
            std::vector<std::uint8_t>(pb.ip_payload.begin(), pb.ip_payload.begin() + 8));
  EXPECT_THROW(fragment_piece(whole, 4, 8, true), std::invalid_argument);
}

TEST(testgen_frames, UdpChecksumAndMacParsing) {
  const auto p = parse(udp_frame({}, {.src = "192.0.2.1", .dst = "192.0.2.2"}, 53, 5353, as_bytes("hello")));
  EXPECT_TRUE(p.l4_checksum_ok);
  EXPECT_EQ(std::string(p.payload.begin(), p.payload.end()), "hello");
  EXPECT_EQ(parse_mac("aa:BB:0c:1:2:ff"), (Mac{0xaa, 0xbb, 0x0c, 0x01, 0x02, 0xff}));
  EXPECT_THROW(parse_mac("aa:bb:cc"), std::invalid_argument);
  EXPECT_THROW(parse_mac("aa:bb:cc:dd:ee:100"), std::invalid_argument);
}

}  // namespace
}  // namespace dlp::testgen
