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
  ipv6_truncated,
  ipv6_bad_ext,       // extension header runs past the packet or is malformed
  ipv6_too_many_ext,
  tcp_truncated,
  tcp_bad_offset,
  udp_truncated,
  udp_bad_length,
  unsupported_l4,     // ICMP, SCTP, ...: decoded to L3, no flow
  unsupported_link,   // a DLT we do not read
  kCount
};
std::string_view decode_status_name(DecodeStatus s);

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
