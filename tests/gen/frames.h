// Frame building for the traffic generator: Ethernet (no tag, 802.1Q, QinQ), IPv4 (with
// options) and IPv6 (with optional hop-by-hop + destination-options headers), TCP and UDP,
// every checksum correct (IPv4 header; TCP/UDP over the v4 or v6 pseudo-header), plus IP
// fragmentation. Written from RFC 791/8200/793/768/1071 and IEEE 802.1Q/ad, independently
// of the decoder in dataplane/, so it can serve as the decoder's oracle.
//
// Frames are plain byte vectors, so a test can corrupt any byte afterwards.
//
//   using namespace dlp::testgen;
//   L2 l2{.vlans = {100}};
//   Ip ip{.src = "10.1.0.10", .dst = "203.0.113.80"};
//   Frame syn = tcp_frame(l2, ip, 40001, 80, 1000, 0, kTcpSyn, {});
//   auto frags = fragment_frame(tcp_frame(l2, ip, 40001, 80, 1001, 1, kTcpAck | kTcpPsh,
//                                         dlp::as_bytes(body)), 512);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace dlp::testgen {

using Frame = std::vector<std::uint8_t>;
using Mac = std::array<std::uint8_t, 6>;

// One captured packet: its timestamp (nanoseconds since the Unix epoch) and its frame.
struct Packet {
  std::uint64_t ts_ns = 0;
  Frame frame;
};

inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr std::uint16_t kEtherTypeVlan = 0x8100;  // 802.1Q C-tag
inline constexpr std::uint16_t kEtherTypeQinQ = 0x88a8;  // 802.1ad S-tag

inline constexpr std::uint8_t kIpProtoHopByHop = 0;
inline constexpr std::uint8_t kIpProtoTcp = 6;
inline constexpr std::uint8_t kIpProtoUdp = 17;
inline constexpr std::uint8_t kIpProtoRouting = 43;
inline constexpr std::uint8_t kIpProtoFragment = 44;
inline constexpr std::uint8_t kIpProtoDestOpts = 60;

inline constexpr std::uint8_t kTcpFin = 0x01;
inline constexpr std::uint8_t kTcpSyn = 0x02;
inline constexpr std::uint8_t kTcpRst = 0x04;
inline constexpr std::uint8_t kTcpPsh = 0x08;
inline constexpr std::uint8_t kTcpAck = 0x10;
inline constexpr std::uint8_t kTcpUrg = 0x20;

// Layer 2. vlans: empty = untagged; {v} = one 802.1Q tag (0x8100); {outer, inner} = QinQ
// (outer 0x88a8, inner 0x8100). Values are the 16-bit TCI (PCP/DEI/VID); a plain VLAN id
// below 4096 is just the VID.
struct L2 {
  Mac src_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  Mac dst_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
  std::vector<std::uint16_t> vlans;
  bool pad = true;  // zero-pad to the 60-byte Ethernet minimum, as frames are on the wire
};

// Layer 3. Addresses are text ("10.0.0.5" or "2001:db8::5", parsed with inet_pton); both
// must be the same family. ttl is the IPv6 hop limit too.
struct Ip {
  std::string src, dst;
  std::uint8_t ttl = 64;
  std::vector<std::uint8_t> ipv4_options;  // raw option bytes; padded with EOL to 4 bytes
  bool ipv6_ext_headers = false;           // add hop-by-hop + destination options before L4
  std::uint16_t ip_id = 0;                 // IPv4 identification
  bool dont_fragment = false;              // IPv4 DF flag
};

// True when ip.src is an IPv6 address. Throws std::invalid_argument on unparsable or
// mixed-family addresses.
bool is_ipv6(const Ip& ip);
// Parses a MAC "02:00:00:00:00:0a"; throws std::invalid_argument when malformed.
Mac parse_mac(const std::string& text);

// RFC 1071 one's-complement sum, folded and complemented. `initial` is an unfolded
// partial sum (e.g. a pseudo-header sum) added in first.
std::uint16_t internet_checksum(std::span<const std::uint8_t> data, std::uint32_t initial = 0);
// The TCP/UDP checksum of `l4` (header with its checksum field included as stored, plus
// payload) over the IPv4 or IPv6 pseudo-header of ip.src/ip.dst. A segment whose
// checksum field is correct yields 0 here.
std::uint16_t l4_checksum(const Ip& ip, std::uint8_t protocol, std::span<const std::uint8_t> l4);

// --- raw builders (each returns the bytes of that layer and everything inside it) ---
// Ethernet header (+ VLAN tags) + payload. No FCS.
Frame ethernet(const L2& l2, std::uint16_t ethertype, std::span<const std::uint8_t> payload);
// IPv4 or IPv6 packet (chosen by the address family) carrying `l4` as `protocol`. With
// ip.ipv6_ext_headers the chain is IPv6 → hop-by-hop → destination options → protocol.
Frame ip_packet(const Ip& ip, std::uint8_t protocol, std::span<const std::uint8_t> l4);
// TCP header (20 bytes + options, padded with NOP/EOL to 4 bytes) + payload, checksummed.
Frame tcp_segment(const Ip& ip, std::uint16_t sport, std::uint16_t dport, std::uint32_t seq,
                  std::uint32_t ack, std::uint8_t flags, std::span<const std::uint8_t> payload,
                  std::uint16_t window = 65535, std::span<const std::uint8_t> tcp_options = {});
// UDP header + payload, checksummed (a computed 0 is sent as 0xffff).
Frame udp_datagram(const Ip& ip, std::uint16_t sport, std::uint16_t dport,
                   std::span<const std::uint8_t> payload);
// TCP option bytes for an MSS option (kind 2, length 4).
std::vector<std::uint8_t> tcp_mss_option(std::uint16_t mss);

// --- complete frames ---
Frame tcp_frame(const L2& l2, const Ip& ip, std::uint16_t sport, std::uint16_t dport,
                std::uint32_t seq, std::uint32_t ack, std::uint8_t flags,
                std::span<const std::uint8_t> payload, std::uint16_t window = 65535,
                std::span<const std::uint8_t> tcp_options = {});
Frame udp_frame(const L2& l2, const Ip& ip, std::uint16_t sport, std::uint16_t dport,
                std::span<const std::uint8_t> payload);

// Where the layers of an Ethernet(+VLAN) frame start. Throws std::invalid_argument when
// the frame is not Ethernet/IPv4 or Ethernet/IPv6 (after up to two tags).
struct FrameLayout {
  std::size_t l3_offset = 0;      // start of the IP header
  std::uint16_t ethertype = 0;    // kEtherTypeIpv4 or kEtherTypeIpv6 (inner-most)
  std::size_t l4_offset = 0;      // start of the transport header (after IPv6 ext headers)
  std::uint8_t l4_protocol = 0;   // TCP, UDP, or kIpProtoFragment for a v6 fragment
};
FrameLayout frame_layout(std::span<const std::uint8_t> frame);

// Splits the IP payload of an Ethernet(+VLAN) frame into fragments, each a complete frame
// with correct IP header checksum (IPv4) or a Fragment extension header (IPv6).
// payload_per_fragment is rounded down to a multiple of 8 (minimum 8); the last fragment
// takes the rest. IPv4: the id is the frame's own; options whose copied flag is set are
// repeated in every fragment, the others only in the first; DF is cleared. IPv6: the
// unfragmentable part (IPv6 header, hop-by-hop, routing) is repeated; the identification is
// `ident`, or a hash of the frame when not given. A frame that already is an IPv4
// fragment is re-fragmented with its offsets kept.
std::vector<Frame> fragment_frame(const Frame& frame, std::size_t payload_per_fragment,
                                  std::optional<std::uint32_t> ident = std::nullopt);
// One fragment carrying bytes [offset, offset+length) of the frame's fragmentable part
// (offset a multiple of 8; length clipped to the end), so tests can build overlapping or
// duplicate fragments. more_fragments sets MF (IPv4) or the M flag (IPv6).
Frame fragment_piece(const Frame& frame, std::size_t offset, std::size_t length,
                     bool more_fragments, std::optional<std::uint32_t> ident = std::nullopt);

}  // namespace dlp::testgen
