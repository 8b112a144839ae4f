// Packet-level types shared by the dataplane's parts: a captured frame, an IP address,
// the decoded view of a frame, and the flow key. Decoded fields are views into the frame
// (zero-copy); they are valid while the frame is.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>

#include "common/dlp/bytes.h"

namespace dlp::dataplane {

// One captured frame as a packet source hands it over.
struct RawPacket {
  std::uint64_t ts_ns = 0;     // packet time, nanoseconds since the Unix epoch
  Bytes data;                  // captured bytes (may be shorter than wire_len)
  std::uint32_t wire_len = 0;  // length on the wire
  std::uint64_t index = 0;     // 1-based packet number within its source file
  std::uint32_t linktype = 1;  // DLT_* of the source (1 Ethernet, 101 raw IP, 113 SLL)
};

// IPv4 is held v4-mapped (::ffff:a.b.c.d) so both families share one key type.
struct IpAddr {
  std::array<std::uint8_t, 16> b{};
  bool is_v4() const {
    static constexpr std::uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(b.data(), kPrefix, 12) == 0;
  }
  static IpAddr v4(std::uint32_t host_order);
  static IpAddr v4_bytes(const std::uint8_t* p);
  static IpAddr v6_bytes(const std::uint8_t* p);
  std::string str() const;  // 192.0.2.1 or 2001:db8::1
  bool operator==(const IpAddr&) const = default;
  auto operator<=>(const IpAddr&) const = default;
};

// What decode() found in a frame. Offsets and views point into RawPacket::data.
struct Decoded {
  std::uint16_t vlan[2] = {0, 0};  // outer, inner (QinQ); 0 when absent
  std::uint8_t vlan_depth = 0;
  std::uint8_t ip_version = 0;     // 4 or 6
  IpAddr src, dst;
  std::uint8_t proto = 0;          // final L4 protocol (after IPv6 extension headers)
  std::uint8_t ttl = 0;
  Bytes l3;                        // from the IP header to the end of the IP payload
  std::uint32_t l3_offset = 0;     // where the IP header starts in the frame (for rewriting)

  // Fragments (IPv4 MF/offset, IPv6 Fragment header). When is_fragment, the L4 fields
  // below are not filled; the fragment goes to defrag first.
  bool is_fragment = false;
  std::uint32_t frag_id = 0;
  std::uint32_t frag_offset = 0;   // bytes
  bool frag_more = false;
  Bytes frag_payload;              // the fragment's data after the IP (and frag) header

  // L4
  std::uint16_t sport = 0, dport = 0;
  std::uint32_t seq = 0, ack = 0;
  std::uint8_t tcp_flags = 0;
  std::uint16_t window = 0;
  Bytes payload;                   // TCP/UDP payload, trimmed to the IP length
};

namespace tcp_flag {
inline constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08,
                              kAck = 0x10, kUrg = 0x20;
}

}  // namespace dlp::dataplane
