// L2-L4 decode: Ethernet, 802.1Q and QinQ (0x8100, 0x88a8, 0x9100), raw IP and Linux
// cooked captures, IPv4 with options, IPv6 with extension headers (hop-by-hop, routing,
// destination options, fragment, AH), TCP and UDP. Works on a view into the frame and
// copies nothing. A frame that cannot be decoded is reported with a reason, counted by
// the caller and skipped; nothing here throws or logs.
//
//   Decoded d;
//   DecodeStatus st = decode(pkt, d);
//   if (st != DecodeStatus::ok) counters.count(st);
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "dataplane/packet.h"

namespace dlp::dataplane {

enum class DecodeStatus : std::uint8_t {
  ok,
  not_ip,             // ARP, LLDP, ...: not an error, just not ours
  eth_truncated,
  vlan_truncated,
  vlan_too_deep,      // more than two tags
  ipv4_truncated,
  ipv4_bad_version,
  ipv4_bad_ihl,
  ipv4_bad_length,    // total length shorter than header or longer than the frame
  ipv4_bad_checksum,
  ipv6_truncated,     // shorter than the 40-byte header, or a snapped fragment
  ipv6_bad_ext,       // extension header runs past the packet or is malformed
  ipv6_too_many_ext,  // more than kMaxIpv6ExtHeaders extension headers
  ipv6_bad_version,   // version nibble is not 6 (ethertype 0x86dd or SLL said IPv6)
  ipv6_bad_length,    // payload length longer than the frame (and not snapped)
  tcp_truncated,
  tcp_bad_offset,
  udp_truncated,
  udp_bad_length,
  unsupported_l4,     // ICMP, SCTP, ...: decoded to L3, no flow
  unsupported_link,   // a DLT we do not read
  kCount
};
std::string_view decode_status_name(DecodeStatus s);

// Linktypes read (RawPacket::linktype, as pcap_datalink() reports them): 1 Ethernet,
// 101/12/14 raw IP (LINKTYPE_RAW and the DLT_RAW values libpcap maps it to), 228/229 raw
// IPv4/IPv6, 113 Linux cooked (SLL), 276 SLL2, 0 BSD loopback (host byte order family),
// 108 OpenBSD loopback (network byte order). Anything else is unsupported_link.
//
// Lengths: Ethernet padding after the IP datagram is trimmed off. A frame shorter than
// its IP length is accepted only when the capture snapped it (RawPacket::wire_len larger
// than the captured bytes, and long enough for the IP length): then L3/L4 are decoded
// and the payload is what was captured. Otherwise it is *_bad_length. A snapped
// fragment is reported as *_truncated: it cannot be reassembled.
// IPv4 header checksums are verified; TCP/UDP checksums are not (capture-side offload
// leaves them wrong in many captures of the sending host).
inline constexpr int kMaxIpv6ExtHeaders = 8;

// Decode one frame. On ok, `out` has L3 and (unless it is a fragment, or L4 is not
// TCP/UDP) L4 fields. `unsupported_l4` also fills L3.
DecodeStatus decode(const RawPacket& pkt, Decoded& out);

// Decode the transport header of a reassembled IP datagram payload (after defrag).
// `proto` is the L4 protocol; fills sport/dport/seq/ack/flags/window/payload.
DecodeStatus decode_l4(std::uint8_t proto, Bytes l4, Decoded& out);

struct DecodeCounters {
  std::array<std::uint64_t, static_cast<std::size_t>(DecodeStatus::kCount)> by_status{};
  void count(DecodeStatus s) { ++by_status[static_cast<std::size_t>(s)]; }
  std::uint64_t malformed() const;  // everything but ok, not_ip, unsupported_*
};

}  // namespace dlp::dataplane
