// Decoder tests. Valid frames come from tests/gen (written from the RFCs independently of
// the decoder); malformed ones are valid frames with bytes changed or cut off.
#include "dataplane/decode.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "tests/gen/frames.h"

namespace dlp::dataplane {
namespace {

using testgen::Frame;
using testgen::Ip;
using testgen::L2;

const Ip kV4{.src = "10.1.0.10", .dst = "203.0.113.80"};
const Ip kV6{.src = "2001:db8::10", .dst = "2001:db8:1::80"};

std::vector<std::uint8_t> body(std::size_t n, char base = 'a') {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(base + i % 26);
  return v;
}

RawPacket raw(const Frame& f, std::uint32_t linktype = 1) {
  RawPacket p;
  p.data = Bytes(f.data(), f.size());
  p.wire_len = static_cast<std::uint32_t>(f.size());
  p.linktype = linktype;
  return p;
}

DecodeStatus dec(const Frame& f, Decoded& d, std::uint32_t linktype = 1) {
  return decode(raw(f, linktype), d);
}

std::string str(Bytes b) { return std::string(as_chars(b)); }

void put16(Frame& f, std::size_t at, std::uint16_t v) {
  f[at] = static_cast<std::uint8_t>(v >> 8);
  f[at + 1] = static_cast<std::uint8_t>(v);
}

// Recomputes the IPv4 header checksum after a test changed a header field.
void fix_ipv4_checksum(Frame& f, std::size_t l3) {
  const std::size_t ihl = static_cast<std::size_t>(f[l3] & 0x0f) * 4;
  put16(f, l3 + 10, 0);
  put16(f, l3 + 10, testgen::internet_checksum({f.data() + l3, ihl}));
}

Frame strip_ethernet(const Frame& f) { return Frame(f.begin() + 14, f.end()); }

// An IPv6 packet with a hand-built extension header chain: each entry is (type, bytes);
// the first byte of each header (next header) is filled in here.
struct Ext {
  std::uint8_t type;
  std::vector<std::uint8_t> bytes;
};
Frame ipv6_with_chain(std::vector<Ext> chain, std::uint8_t last, const Frame& l4) {
  std::vector<std::uint8_t> pl;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    chain[i].bytes[0] = i + 1 < chain.size() ? chain[i + 1].type : last;
    pl.insert(pl.end(), chain[i].bytes.begin(), chain[i].bytes.end());
  }
  pl.insert(pl.end(), l4.begin(), l4.end());
  Frame ip = {0x60, 0, 0, 0, static_cast<std::uint8_t>(pl.size() >> 8),
              static_cast<std::uint8_t>(pl.size()), chain.empty() ? last : chain[0].type, 64};
  const std::uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
  const std::uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80};
  ip.insert(ip.end(), src, src + 16);
  ip.insert(ip.end(), dst, dst + 16);
  ip.insert(ip.end(), pl.begin(), pl.end());
  return testgen::ethernet(L2{}, testgen::kEtherTypeIpv6, ip);
}
Frame v6_tcp_l4() {
  const auto b = body(10);
  return testgen::tcp_segment(kV6, 1111, 443, 7, 9, testgen::kTcpAck | testgen::kTcpPsh, b);
}
Ext dest_opts() { return {60, {0, 0, 1, 4, 0, 0, 0, 0}}; }  // PadN to 8 bytes
Ext ah() {  // RFC 4302: length (4 + 2) * 4 = 24 bytes: 12 fixed + 12 of ICV
  Ext e{51, std::vector<std::uint8_t>(24, 0)};
  e.bytes[1] = 4;
  return e;
}

// ---------------------------------------------------------------------------------------

TEST(DecodeIpAddr, FormatsAndCompares) {
  const IpAddr a = IpAddr::v4(0xC0000201);
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a.str(), "192.0.2.1");
  const std::uint8_t q[4] = {192, 0, 2, 1};
  EXPECT_EQ(IpAddr::v4_bytes(q), a);
  const std::uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const IpAddr b = IpAddr::v6_bytes(v6);
  EXPECT_FALSE(b.is_v4());
  EXPECT_EQ(b.str(), "2001:db8::1");
  EXPECT_LT(a, b);  // byte order: ::ffff:192.0.2.1 starts with 0x00, 2001:db8::1 with 0x20
}

TEST(DecodeEthernet, Ipv4TcpAllFields) {
  const auto b = body(5);
  const Frame f = testgen::tcp_frame(L2{}, kV4, 40001, 80, 1000, 2000,
                                     testgen::kTcpAck | testgen::kTcpPsh, b, 4321);
  ASSERT_EQ(f.size(), 60u);  // 59 bytes + 1 byte of Ethernet padding
  Decoded d;
  ASSERT_EQ(dec(f, d), DecodeStatus::ok);
  EXPECT_EQ(d.vlan_depth, 0);
  EXPECT_EQ(d.ip_version, 4);
  EXPECT_EQ(d.src.str(), "10.1.0.10");
  EXPECT_EQ(d.dst.str(), "203.0.113.80");
  EXPECT_EQ(d.proto, 6);
  EXPECT_EQ(d.ttl, 64);
  EXPECT_EQ(d.l3_offset, 14u);
  EXPECT_EQ(d.l3.size(), 45u);  // padding trimmed
  EXPECT_EQ(d.l3.data(), f.data() + 14);
  EXPECT_FALSE(d.is_fragment);
  EXPECT_EQ(d.sport, 40001);
  EXPECT_EQ(d.dport, 80);
  EXPECT_EQ(d.seq, 1000u);
  EXPECT_EQ(d.ack, 2000u);
  EXPECT_EQ(d.tcp_flags, tcp_flag::kAck | tcp_flag::kPsh);
  EXPECT_EQ(d.window, 4321);
  EXPECT_EQ(str(d.payload), "abcde");
}

TEST(DecodeEthernet, PaddingTrimmedFromUdp) {
  const std::vector<std::uint8_t> one = {'x'};
  const Frame f = testgen::udp_frame(L2{}, kV4, 5353, 53, one);
  ASSERT_EQ(f.size(), 60u);  // 43 bytes of frame + 17 bytes of padding
  Decoded d;
  ASSERT_EQ(dec(f, d), DecodeStatus::ok);
  EXPECT_EQ(d.proto, 17);
  EXPECT_EQ(d.sport, 5353);
  EXPECT_EQ(d.dport, 53);
  EXPECT_EQ(str(d.payload), "x");
  EXPECT_EQ(d.l3.size(), 29u);
}

TEST(DecodeEthernet, SingleVlan) {
  const Frame f = testgen::udp_frame(L2{.vlans = {100}}, kV4, 1, 2, body(3));
  Decoded d;
  ASSERT_EQ(dec(f, d), DecodeStatus::ok);
  EXPECT_EQ(d.vlan_depth, 1);
  EXPECT_EQ(d.vlan[0], 100);
  EXPECT_EQ(d.vlan[1], 0);
  EXPECT_EQ(d.l3_offset, 18u);
  EXPECT_EQ(str(d.payload), "abc");
}

TEST(DecodeEthernet, VlanIdWithoutPriorityBits) {
  const Frame f = testgen::udp_frame(L2{.vlans = {0xE064}}, kV4, 1, 2, body(3));  // PCP 7
  Decoded d;
  ASSERT_EQ(dec(f, d), DecodeStatus::ok);
  EXPECT_EQ(d.vlan[0], 100);
}

TEST(DecodeEthernet, QinQ) {
  const Frame f = testgen::tcp_frame(L2{.vlans = {200, 300}}, kV6, 1, 2, 3, 4, 0x10, body(4));
  Decoded d;
  ASSERT_EQ(dec(f, d), DecodeStatus::ok);
  EXPECT_EQ(d.vlan_depth, 2);
  EXPECT_EQ(d.vlan[0], 200);
  EXPECT_EQ(d.vlan[1], 300);
  EXPECT_EQ(d.l3_offset, 22u);
  EXPECT_EQ(d.ip_version, 6);
  EXPECT_EQ(str(d.payload), "abcd");
}

TEST(DecodeEthernet, Tpid9100) {
  Frame f = testgen::udp_frame(L2{.vlans = {42}}, kV4, 1, 2, body(3));
  put16(f, 12, 0x9100);
  Decoded d;
  ASSERT_EQ(dec(f, d), DecodeStatus::ok);
  EXPECT_EQ(d.vlan_depth, 1);
  EXPECT_EQ(d.vlan[0], 42);
}

TEST(DecodeEthernet, ThreeTagsTooDeep) {
  Frame f = testgen::udp_frame(L2{.vlans = {200, 300}}, kV4, 1, 2, body(3));
  const std::uint8_t tag[4] = {0x81, 0x00, 0x00, 0x05};
  f.insert(f.begin() + 12, tag, tag + 4);
  Decoded d;
  EXPECT_EQ(dec(f, d), DecodeStatus::vlan_too_deep);
}

TEST(DecodeEthernet, NotIp) {
  const std::vector<std::uint8_t> arp(28, 0);
  const Frame f = testgen::ethernet(L2{}, 0x0806, arp);
  Decoded d;
  EXPECT_EQ(dec(f, d), DecodeStatus::not_ip);
  EXPECT_EQ(dec(testgen::ethernet(L2{.vlans = {7}}, 0x88cc, arp), d), DecodeStatus::not_ip);
}

TEST(DecodeLink, RawIpAllNumbers) {
  const Frame v4 = strip_ethernet(testgen::udp_frame(L2{.pad = false}, kV4, 1, 2, body(3)));
  const Frame v6 = strip_ethernet(testgen::udp_frame(L2{.pad = false}, kV6, 1, 2, body(3)));
  for (std::uint32_t lt : {101u, 12u, 14u}) {
    Decoded d;
    ASSERT_EQ(dec(v4, d, lt), DecodeStatus::ok) << lt;
    EXPECT_EQ(d.ip_version, 4);
    EXPECT_EQ(d.l3_offset, 0u);
    EXPECT_EQ(str(d.payload), "abc");
    ASSERT_EQ(dec(v6, d, lt), DecodeStatus::ok) << lt;
    EXPECT_EQ(d.ip_version, 6);
    EXPECT_EQ(str(d.payload), "abc");
  }
  Decoded d;
  EXPECT_EQ(dec(v4, d, 228), DecodeStatus::ok);
  EXPECT_EQ(dec(v6, d, 229), DecodeStatus::ok);
  EXPECT_EQ(dec(v6, d, 228), DecodeStatus::ipv4_bad_version);
  EXPECT_EQ(dec(v4, d, 229), DecodeStatus::ipv6_truncated);  // 31 bytes < 40
  Frame bad = v4;
  bad[0] = 0x55;
  EXPECT_EQ(dec(bad, d, 101), DecodeStatus::ipv4_bad_version);
  EXPECT_EQ(dec(Frame{}, d, 101), DecodeStatus::ipv4_truncated);
}

TEST(DecodeLink, LinuxCooked) {
  const Frame ip = strip_ethernet(testgen::tcp_frame(L2{.pad = false}, kV4, 5, 6, 1, 0, 2, {}));
  Frame sll = {0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00};
  sll.insert(sll.end(), ip.begin(), ip.end());
  Decoded d;
  ASSERT_EQ(dec(sll, d, 113), DecodeStatus::ok);
  EXPECT_EQ(d.l3_offset, 16u);
  EXPECT_EQ(d.sport, 5);
  EXPECT_EQ(d.tcp_flags, tcp_flag::kSyn);
  EXPECT_EQ(dec(Frame(sll.begin(), sll.begin() + 15), d, 113), DecodeStatus::eth_truncated);
  put16(sll, 14, 0x0004);  // 802.2 frame
  EXPECT_EQ(dec(sll, d, 113), DecodeStatus::not_ip);

  Frame sll2 = {0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0};
  const Frame ip6 = strip_ethernet(testgen::tcp_frame(L2{.pad = false}, kV6, 5, 6, 1, 0, 2, {}));
  sll2.insert(sll2.end(), ip6.begin(), ip6.end());
  ASSERT_EQ(dec(sll2, d, 276), DecodeStatus::ok);
  EXPECT_EQ(d.l3_offset, 20u);
  EXPECT_EQ(d.ip_version, 6);
  EXPECT_EQ(d.dport, 6);
}

TEST(DecodeLink, BsdLoopback) {
  const Frame v4 = strip_ethernet(testgen::udp_frame(L2{.pad = false}, kV4, 1, 2, body(3)));
  const Frame v6 = strip_ethernet(testgen::udp_frame(L2{.pad = false}, kV6, 1, 2, body(3)));
  auto with = [](std::vector<std::uint8_t> hdr, const Frame& ip) {
    hdr.insert(hdr.end(), ip.begin(), ip.end());
    return hdr;
  };
  Decoded d;
  EXPECT_EQ(dec(with({2, 0, 0, 0}, v4), d, 0), DecodeStatus::ok);   // little-endian host
  EXPECT_EQ(d.l3_offset, 4u);
  EXPECT_EQ(dec(with({0, 0, 0, 2}, v4), d, 0), DecodeStatus::ok);   // big-endian host
  EXPECT_EQ(dec(with({30, 0, 0, 0}, v6), d, 0), DecodeStatus::ok);  // Darwin AF_INET6
  EXPECT_EQ(d.ip_version, 6);
  EXPECT_EQ(dec(with({0, 0, 0, 24}, v6), d, 108), DecodeStatus::ok);  // OpenBSD DLT_LOOP
  EXPECT_EQ(dec(with({0, 0, 0, 2}, v4), d, 108), DecodeStatus::ok);
  EXPECT_EQ(dec(with({7, 0, 0, 0}, v4), d, 0), DecodeStatus::not_ip);
  EXPECT_EQ(dec(Frame{2, 0}, d, 0), DecodeStatus::eth_truncated);
  EXPECT_EQ(dec(v4, d, 105), DecodeStatus::unsupported_link);  // 802.11
}

TEST(DecodeIpv4, Options) {
  Ip ip = kV4;
  // Router alert, NOP, record route with room for one address.
  ip.ipv4_options = {0x94, 0x04, 0x00, 0x00, 0x01, 0x07, 0x07, 0x04, 0, 0, 0, 0};
  const Frame f = testgen::tcp_frame(L2{}, ip, 1, 2, 3, 4, 0x18, body(30));
  Decoded d;
  ASSERT_EQ(dec(f, d), DecodeStatus::ok);
  EXPECT_EQ(d.l3[0] & 0x0f, 8);  // 32-byte header (options padded to 12)
  EXPECT_EQ(d.l3.size(), 32u + 20 + 30);
  EXPECT_EQ(d.sport, 1);
  EXPECT_EQ(str(d.payload), str(body(30)));
}

TEST(DecodeIpv4, HeaderErrors) {
  const Frame good = testgen::tcp_frame(L2{}, kV4, 1, 2, 3, 4, 0x18, body(40));
  Decoded d;
  Frame f = good;
  f[24] ^= 0x01;  // checksum
  EXPECT_EQ(dec(f, d), DecodeStatus::ipv4_bad_checksum);
  f = good;
  f[22] = 1;  // TTL changed, checksum not fixed
  EXPECT_EQ(dec(f, d), DecodeStatus::ipv4_bad_checksum);
  fix_ipv4_checksum(f, 14);
  EXPECT_EQ(dec(f, d), DecodeStatus::ok);
  EXPECT_EQ(d.ttl, 1);

  f = good;
  f[14] = 0x55;
  EXPECT_EQ(dec(f, d), DecodeStatus::ipv4_bad_version);
  f = good;
  f[14] = 0x44;
  EXPECT_EQ(dec(f, d), DecodeStatus::ipv4_bad_ihl);
  f = good;
  f[14] = 0x4f;  // 60-byte header: fits in the 80-byte datagram, but the checksum is off
  EXPECT_EQ(dec(f, d), DecodeStatus::ipv4_bad_checksum);
  const Frame small = testgen::tcp_frame(L2{.pad = false}, kV4, 1, 2, 3, 4, 0x18, {});
  f = small;
  f[14] = 0x4f;  // 60-byte header in a 40-byte datagram
  EXPECT_EQ(dec(f, d), DecodeStatus::ipv4_bad_length);
  f = small;
  f[14] = 0x46;  // 24-byte header in a 40-byte datagram: fits; the checksum is now off
  put16(f, 16, 24);
  EXPECT_EQ(dec(f, d), DecodeStatus::ipv4_bad_checksum);
  f = Frame(small.begin(), small.begin() + 14 + 22);
  f[14] = 0x46;  // the frame ends inside the options
  EXPECT_EQ(dec(f, d), DecodeStatus::ipv4_truncated);

  f = good;
  put16(f, 16, 19);  // total length shorter than the header
  EXPECT_EQ(dec(f, d), DecodeStatus::ipv4_bad_length);
  f = good;
  put16(f, 16, 81);  // one byte more than the frame, and not snapped
  fix_ipv4_checksum(f, 14);
  EXPECT_EQ(dec(f, d), DecodeStatus::ipv4_bad_length);
}

TEST(DecodeIpv4, UnsupportedL4FillsL3) {
  const std::vector<std::uint8_t> icmp = {8, 0, 0xf7, 0xff, 0, 0, 0, 0};
  Ip ip = kV4;
  const Frame f = testgen::ethernet(L2{}, 0x0800, testgen::ip_packet(ip, 1, icmp));
  Decoded d;
  EXPECT_EQ(dec(f, d), DecodeStatus::unsupported_l4);
  EXPECT_EQ(d.proto, 1);
  EXPECT_EQ(d.src.str(), "10.1.0.10");
  EXPECT_EQ(d.l3.size(), 28u);
}

TEST(DecodeIpv4, FragmentsCarryNoL4) {
  Ip ip = kV4;
  ip.ip_id = 0x4242;
  const Frame whole = testgen::tcp_frame(L2{}, ip, 1234, 80, 1, 2, 0x18, body(100));
  const auto frags = testgen::fragment_frame(whole, 48);
  ASSERT_EQ(frags.size(), 3u);  // 120 bytes of TCP: 48 + 48 + 24
  Decoded d;
  ASSERT_EQ(dec(frags[0], d), DecodeStatus::ok);
  EXPECT_TRUE(d.is_fragment);
  EXPECT_EQ(d.frag_id, 0x4242u);
  EXPECT_EQ(d.frag_offset, 0u);
  EXPECT_TRUE(d.frag_more);
  EXPECT_EQ(d.frag_payload.size(), 48u);
  EXPECT_EQ(d.frag_payload.data(), frags[0].data() + 34);
  EXPECT_EQ(d.proto, 6);
  EXPECT_EQ(d.sport, 0);  // L4 waits for reassembly
  ASSERT_EQ(dec(frags[2], d), DecodeStatus::ok);
  EXPECT_TRUE(d.is_fragment);
  EXPECT_EQ(d.frag_offset, 96u);
  EXPECT_FALSE(d.frag_more);
  EXPECT_EQ(d.frag_payload.size(), 24u);
}

TEST(DecodeSnapped, DecodesWhatWasCaptured) {
  const Frame f = testgen::tcp_frame(L2{}, kV4, 1, 2, 3, 4, 0x18, body(100));
  ASSERT_EQ(f.size(), 154u);
  RawPacket p = raw(f);
  p.data = p.data.first(64);  // snaplen 64
  Decoded d;
  ASSERT_EQ(decode(p, d), DecodeStatus::ok);
  EXPECT_EQ(d.sport, 1);
  EXPECT_EQ(str(d.payload), "abcdefghij");
  EXPECT_EQ(d.l3.size(), 50u);

  const Frame u = testgen::udp_frame(L2{}, kV6, 7, 8, body(100));
  p = raw(u);
  p.data = p.data.first(14 + 40 + 8 + 5);
  ASSERT_EQ(decode(p, d), DecodeStatus::ok);
  EXPECT_EQ(str(d.payload), "abcde");

  // A frame cut short with wire_len == captured length is malformed, not snapped.
  Frame cut(f.begin(), f.begin() + 64);
  EXPECT_EQ(dec(cut, d), DecodeStatus::ipv4_bad_length);
  Frame cut6(u.begin(), u.begin() + 67);
  EXPECT_EQ(dec(cut6, d), DecodeStatus::ipv6_bad_length);

  // Snapped, but the IP length claims more than even the wire carried.
  Frame big = f;
  put16(big, 16, 1000);
  fix_ipv4_checksum(big, 14);
  p = raw(big);
  p.data = p.data.first(64);
  EXPECT_EQ(decode(p, d), DecodeStatus::ipv4_bad_length);
}

TEST(DecodeSnapped, FragmentCutShortIsTruncated) {
  Ip ip = kV4;
  ip.ip_id = 9;
  const auto frags = testgen::fragment_frame(testgen::udp_frame(L2{}, ip, 1, 2, body(200)), 64);
  RawPacket p = raw(frags[0]);
  p.data = p.data.first(60);
  Decoded d;
  EXPECT_EQ(decode(p, d), DecodeStatus::ipv4_truncated);
}

TEST(DecodeTcp, OptionsAndOffsetErrors) {
  const auto mss = testgen::tcp_mss_option(1460);
  const Frame f = testgen::tcp_frame(L2{}, kV4, 1, 2, 3, 4, 0x02, body(8), 1024, mss);
  Decoded d;
  ASSERT_EQ(dec(f, d), DecodeStatus::ok);
  EXPECT_EQ(str(d.payload), "abcdefgh");
  EXPECT_EQ(d.l3.size(), 20u + 24 + 8);

  Frame g = f;
  g[34 + 12] = 0x40;  // data offset 4
  EXPECT_EQ(dec(g, d), DecodeStatus::tcp_bad_offset);
  g[34 + 12] = 0xf0;  // 60 bytes of header in 32 bytes of segment
  EXPECT_EQ(dec(g, d), DecodeStatus::tcp_bad_offset);
  // The same lie in a snapped frame reads as truncation.
  RawPacket p = raw(g);
  p.wire_len += 100;
  Frame h = g;
  put16(h, 16, 20 + 32 + 100);
  fix_ipv4_checksum(h, 14);
  p.data = Bytes(h.data(), h.size());
  EXPECT_EQ(decode(p, d), DecodeStatus::tcp_truncated);

  // IP total length leaves 10 bytes for TCP.
  Frame t = testgen::tcp_frame(L2{.pad = false}, kV4, 1, 2, 3, 4, 0x10, body(30));
  put16(t, 16, 30);
  fix_ipv4_checksum(t, 14);
  EXPECT_EQ(dec(t, d), DecodeStatus::tcp_truncated);
}

TEST(DecodeTcp, CwrEceNotInFlags) {
  Frame f = testgen::tcp_frame(L2{}, kV4, 1, 2, 3, 4, 0x10, {});
  f[34 + 13] = 0xd2;  // CWR ECE ACK SYN
  Decoded d;
  ASSERT_EQ(dec(f, d), DecodeStatus::ok);
  EXPECT_EQ(d.tcp_flags, tcp_flag::kAck | tcp_flag::kSyn);
}

TEST(DecodeUdp, LengthChecks) {
  const Frame f = testgen::udp_frame(L2{.pad = false}, kV4, 1, 2, body(20));
  Decoded d;
  Frame g = f;
  put16(g, 34 + 4, 7);
  EXPECT_EQ(dec(g, d), DecodeStatus::udp_bad_length);
  put16(g, 34 + 4, 29);  // one byte more than the IP payload
  EXPECT_EQ(dec(g, d), DecodeStatus::udp_bad_length);
  put16(g, 34 + 4, 12);  // shorter than the IP payload: trimmed to it
  ASSERT_EQ(dec(g, d), DecodeStatus::ok);
  EXPECT_EQ(str(d.payload), "abcd");

  Frame t = f;
  put16(t, 16, 27);  // 7 bytes of UDP
  fix_ipv4_checksum(t, 14);
  EXPECT_EQ(dec(t, d), DecodeStatus::udp_truncated);
}

TEST(DecodeIpv6, PlainAndGeneratorExtHeaders) {
  Decoded d;
  const Frame f = testgen::tcp_frame(L2{}, kV6, 4000, 443, 11, 22, 0x18, body(12));
  ASSERT_EQ(dec(f, d), DecodeStatus::ok);
  EXPECT_EQ(d.ip_version, 6);
  EXPECT_EQ(d.src.str(), "2001:db8::10");
  EXPECT_EQ(d.dst.str(), "2001:db8:1::80");
  EXPECT_EQ(d.ttl, 64);
  EXPECT_EQ(d.l3.size(), 40u + 20 + 12);
  EXPECT_EQ(d.seq, 11u);
  EXPECT_EQ(str(d.payload), str(body(12)));

  Ip ip = kV6;
  ip.ipv6_ext_headers = true;
  const Frame e = testgen::udp_frame(L2{.vlans = {5}}, ip, 53, 9999, body(7));
  ASSERT_EQ(dec(e, d), DecodeStatus::ok);
  EXPECT_EQ(d.proto, 17);
  EXPECT_EQ(d.sport, 53);
  EXPECT_EQ(str(d.payload), "abcdefg");
}

TEST(DecodeIpv6, EachExtensionHeader) {
  const Frame l4 = v6_tcp_l4();
  const std::vector<Ext> cases[] = {
      {{0, {0, 0, 1, 4, 0, 0, 0, 0}}},                               // hop-by-hop
      {{43, {0, 0, 0, 0, 0, 0, 0, 0}}},                              // routing, segs left 0
      {dest_opts()},                                                 // destination options
      {{44, {0, 0, 0, 0, 0, 0, 0, 1}}},                              // atomic fragment
      {ah()},                                                        // AH, 24 bytes
      {{0, {0, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}, {43, {0, 0, 0, 0, 0, 0, 0, 0}},
       ah(), dest_opts()},                                           // all in a row
  };
  for (const auto& chain : cases) {
    const Frame f = ipv6_with_chain(chain, 6, l4);
    Decoded d;
    ASSERT_EQ(dec(f, d), DecodeStatus::ok) << int(chain[0].type);
    EXPECT_FALSE(d.is_fragment);
    EXPECT_EQ(d.proto, 6);
    EXPECT_EQ(d.sport, 1111);
    EXPECT_EQ(d.dport, 443);
    EXPECT_EQ(str(d.payload), "abcdefghij");
  }
}

TEST(DecodeIpv6, ChainEnds) {
  Decoded d;
  const Frame l4 = v6_tcp_l4();
  EXPECT_EQ(dec(ipv6_with_chain({dest_opts()}, 50, l4), d), DecodeStatus::unsupported_l4);
  EXPECT_EQ(d.proto, 50);
  EXPECT_EQ(d.ip_version, 6);
  EXPECT_EQ(dec(ipv6_with_chain({}, 59, {}), d), DecodeStatus::unsupported_l4);
  EXPECT_EQ(d.proto, 59);
  EXPECT_EQ(d.l3.size(), 40u);
  EXPECT_EQ(dec(ipv6_with_chain({}, 58, {128, 0, 0, 0, 0, 0, 0, 0}), d),
            DecodeStatus::unsupported_l4);
  EXPECT_EQ(d.proto, 58);
}

TEST(DecodeIpv6, ExtensionHeaderErrors) {
  Decoded d;
  const Frame l4 = v6_tcp_l4();
  // Hop-by-hop anywhere but first.
  EXPECT_EQ(dec(ipv6_with_chain({dest_opts(), {0, {0, 0, 1, 4, 0, 0, 0, 0}}}, 6, l4), d),
            DecodeStatus::ipv6_bad_ext);
  // A header whose length runs past the packet.
  Ext long_opts = dest_opts();
  long_opts.bytes[1] = 10;
  EXPECT_EQ(dec(ipv6_with_chain({long_opts}, 6, l4), d), DecodeStatus::ipv6_bad_ext);
  // Header starts but its length byte is past the end.
  EXPECT_EQ(dec(ipv6_with_chain({}, 60, {}), d), DecodeStatus::ipv6_bad_ext);
  // Two fragment headers.
  const Ext frag{44, {0, 0, 0, 0, 0, 0, 0, 1}};
  EXPECT_EQ(dec(ipv6_with_chain({frag, frag}, 6, l4), d), DecodeStatus::ipv6_bad_ext);
  // kMaxIpv6ExtHeaders is fine, one more is not.
  std::vector<Ext> chain(kMaxIpv6ExtHeaders, dest_opts());
  EXPECT_EQ(dec(ipv6_with_chain(chain, 6, l4), d), DecodeStatus::ok);
  chain.push_back(dest_opts());
  EXPECT_EQ(dec(ipv6_with_chain(chain, 6, l4), d), DecodeStatus::ipv6_too_many_ext);
}

TEST(DecodeIpv6, HeaderErrors) {
  Decoded d;
  const Frame f = testgen::tcp_frame(L2{}, kV6, 1, 2, 3, 4, 0x18, body(12));
  Frame g = f;
  g[14] = 0x40;
  EXPECT_EQ(dec(g, d), DecodeStatus::ipv6_bad_version);
  g = f;
  put16(g, 18, 33);  // payload length one more than the frame holds
  EXPECT_EQ(dec(g, d), DecodeStatus::ipv6_bad_length);
  EXPECT_EQ(dec(Frame(f.begin(), f.begin() + 53), d), DecodeStatus::ipv6_truncated);
  g = f;
  put16(g, 18, 19);  // 19 bytes left for TCP
  EXPECT_EQ(dec(g, d), DecodeStatus::tcp_truncated);
}

TEST(DecodeIpv6, FragmentAndAtomicFragment) {
  Ip ip = kV6;
  ip.ipv6_ext_headers = true;
  const Frame whole = testgen::tcp_frame(L2{}, ip, 1, 2, 3, 4, 0x18, body(100));
  const auto frags = testgen::fragment_frame(whole, 64, 0xabcdef01);
  ASSERT_EQ(frags.size(), 2u);
  Decoded d;
  ASSERT_EQ(dec(frags[1], d), DecodeStatus::ok);
  EXPECT_TRUE(d.is_fragment);
  EXPECT_EQ(d.frag_id, 0xabcdef01u);
  EXPECT_EQ(d.frag_offset, 64u);
  EXPECT_FALSE(d.frag_more);
  EXPECT_EQ(d.sport, 0);
  // dest opts (8) + TCP (20) + 100 = 128 bytes fragmentable: 64 in each.
  EXPECT_EQ(d.frag_payload.size(), 64u);
  ASSERT_EQ(dec(frags[0], d), DecodeStatus::ok);
  EXPECT_TRUE(d.frag_more);
  EXPECT_EQ(d.frag_offset, 0u);
  EXPECT_EQ(d.proto, 60);  // next header after the fragment header

  // RFC 6946: offset 0 and M = 0 is a whole packet.
  const Frame atomic = ipv6_with_chain({{44, {0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78}}}, 6, v6_tcp_l4());
  ASSERT_EQ(dec(atomic, d), DecodeStatus::ok);
  EXPECT_FALSE(d.is_fragment);
  EXPECT_EQ(d.sport, 1111);
  EXPECT_EQ(str(d.payload), "abcdefghij");
}

// Cutting a valid frame at every length must give the error of the layer that was cut,
// and never read past the (exactly sized, heap-allocated) copy.
TEST(DecodeTruncation, EveryPrefixOfIpv4Tcp) {
  Ip ip = kV4;
  ip.ipv4_options = {0x94, 0x04, 0x00, 0x00};
  const Frame f = testgen::tcp_frame(L2{.vlans = {10}}, ip, 1, 2, 3, 4, 0x18, body(40),
                                     100, testgen::tcp_mss_option(1400));
  const std::size_t l3 = 18, l4 = l3 + 24, pl = l4 + 24;
  ASSERT_EQ(f.size(), pl + 40);
  for (std::size_t n = 0; n < f.size(); ++n) {
    const std::vector<std::uint8_t> cut(f.begin(), f.begin() + n);
    RawPacket p = raw(cut);
    Decoded d;
    const DecodeStatus st = decode(p, d);
    const DecodeStatus want = n < 14   ? DecodeStatus::eth_truncated
                              : n < l3 ? DecodeStatus::vlan_truncated
                              : n < l4 ? DecodeStatus::ipv4_truncated
                                       : DecodeStatus::ipv4_bad_length;
    EXPECT_EQ(st, want) << "length " << n;

    // The same cut made by a snap length: decoded as far as it goes.
    p.wire_len = static_cast<std::uint32_t>(f.size());
    const DecodeStatus snapped = decode(p, d);
    const DecodeStatus want_snapped = n < 14   ? DecodeStatus::eth_truncated
                                      : n < l3 ? DecodeStatus::vlan_truncated
                                      : n < l4 ? DecodeStatus::ipv4_truncated
                                      : n < pl ? DecodeStatus::tcp_truncated
                                               : DecodeStatus::ok;
    EXPECT_EQ(snapped, want_snapped) << "snapped at " << n;
    if (snapped == DecodeStatus::ok) {
      EXPECT_EQ(d.payload.size(), n - pl);
      EXPECT_EQ(d.payload.data(), cut.data() + pl);
    }
  }
}

TEST(DecodeTruncation, EveryPrefixOfIpv6WithExtHeaders) {
  Ip ip = kV6;
  ip.ipv6_ext_headers = true;
  const Frame f = testgen::udp_frame(L2{.vlans = {10, 20}}, ip, 1, 2, body(30));
  const testgen::FrameLayout lay = testgen::frame_layout(f);
  ASSERT_EQ(lay.l3_offset, 22u);
  const std::size_t l4 = lay.l4_offset, pl = l4 + 8;
  for (std::size_t n = 0; n < f.size(); ++n) {
    const std::vector<std::uint8_t> cut(f.begin(), f.begin() + n);
    RawPacket p = raw(cut);
    Decoded d;
    const DecodeStatus st = decode(p, d);
    const DecodeStatus want = n < 14   ? DecodeStatus::eth_truncated
                              : n < 22 ? DecodeStatus::vlan_truncated
                              : n < 62 ? DecodeStatus::ipv6_truncated
                                       : DecodeStatus::ipv6_bad_length;
    EXPECT_EQ(st, want) << "length " << n;
    p.wire_len = static_cast<std::uint32_t>(f.size());
    const DecodeStatus snapped = decode(p, d);
    const DecodeStatus want_snapped = n < 14   ? DecodeStatus::eth_truncated
                                      : n < 22 ? DecodeStatus::vlan_truncated
                                      : n < l4 ? DecodeStatus::ipv6_truncated
                                      : n < pl ? DecodeStatus::udp_truncated
                                               : DecodeStatus::ok;
    EXPECT_EQ(snapped, want_snapped) << "snapped at " << n;
    if (snapped == DecodeStatus::ok) {
      EXPECT_EQ(d.payload.size(), n - pl);
    }
  }
}

// Every byte of a valid frame flipped to every bit pattern that matters for length
// fields must never crash or read out of bounds (run under -fsanitize=address).
TEST(DecodeTruncation, CorruptEveryByteNeverReadsOutside) {
  Ip ip = kV6;
  ip.ipv6_ext_headers = true;
  const Frame frames[] = {
      testgen::tcp_frame(L2{.vlans = {1, 2}}, ip, 1, 2, 3, 4, 0x18, body(16)),
      testgen::udp_frame(L2{}, kV4, 1, 2, body(3)),
      testgen::fragment_frame(testgen::udp_frame(L2{}, ip, 1, 2, body(64)), 32, 7)[0],
  };
  std::size_t decoded_ok = 0;
  for (const Frame& f : frames) {
    for (std::size_t i = 0; i < f.size(); ++i) {
      for (std::uint8_t v : {0x00, 0x01, 0x0f, 0x2c, 0x33, 0x3b, 0x45, 0x4f, 0x60, 0x7f,
                             0x80, 0xff}) {
        std::vector<std::uint8_t> g(f.begin(), f.end());
        g[i] = v;
        for (std::uint32_t lt : {1u, 101u, 113u}) {
          RawPacket p = raw(g, lt);
          p.wire_len += 1000;  // also the snapped paths
          Decoded d;
          if (decode(p, d) == DecodeStatus::ok) {
            ++decoded_ok;
            const auto* lo = g.data();
            const auto* hi = g.data() + g.size();
            EXPECT_TRUE(d.payload.empty() ||
                        (d.payload.data() >= lo && d.payload.data() + d.payload.size() <= hi));
            EXPECT_TRUE(d.l3.data() >= lo && d.l3.data() + d.l3.size() <= hi);
          }
        }
      }
    }
  }
  EXPECT_GT(decoded_ok, 0u);
}

TEST(DecodeL4, ReassembledPayload) {
  const Frame udp = testgen::udp_datagram(kV4, 10, 20, body(5));
  Decoded d;
  ASSERT_EQ(decode_l4(17, udp, d), DecodeStatus::ok);
  EXPECT_EQ(d.proto, 17);
  EXPECT_EQ(d.sport, 10);
  EXPECT_EQ(str(d.payload), "abcde");
  EXPECT_EQ(decode_l4(6, Bytes(udp).first(19), d), DecodeStatus::tcp_truncated);
  EXPECT_EQ(decode_l4(1, udp, d), DecodeStatus::unsupported_l4);
}

TEST(DecodeCounters, NamesAndMalformed) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < static_cast<std::size_t>(DecodeStatus::kCount); ++i) {
    const auto name = decode_status_name(static_cast<DecodeStatus>(i));
    EXPECT_NE(name, "unknown");
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(DecodeStatus::kCount));
  EXPECT_EQ(decode_status_name(DecodeStatus::ipv4_bad_checksum), "ipv4_bad_checksum");

  DecodeCounters c;
  c.count(DecodeStatus::ok);
  c.count(DecodeStatus::not_ip);
  c.count(DecodeStatus::unsupported_l4);
  c.count(DecodeStatus::unsupported_link);
  EXPECT_EQ(c.malformed(), 0u);
  c.count(DecodeStatus::ipv4_bad_checksum);
  c.count(DecodeStatus::tcp_bad_offset);
  c.count(DecodeStatus::tcp_bad_offset);
  EXPECT_EQ(c.malformed(), 3u);
  EXPECT_EQ(c.by_status[static_cast<std::size_t>(DecodeStatus::tcp_bad_offset)], 2u);
}

}  // namespace
}  // namespace dlp::dataplane
