// IPv4 and IPv6 fragment reassembly with bounded memory and packet-time timeouts.
// Overlapping fragments are resolved "first wins" for both families (RFC 5722 says a
// datagram with overlapping IPv6 fragments must be dropped: we drop it and count it).
//
//   Defragmenter defrag(cfg);
//   if (d.is_fragment) {
//     if (auto dgram = defrag.add(d, pkt.ts_ns)) {   // complete datagram
//       decode_l4(d.proto, dgram->payload(), d);
//     }
//   }
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "dataplane/packet.h"

namespace dlp::dataplane {

struct DefragConfig {
  std::uint64_t timeout_ns = 30ull * 1'000'000'000;  // RFC 791 suggests 15-120 s
  std::uint64_t max_bytes = 64ull << 20;             // all pending fragments of a worker
  std::uint32_t max_datagrams = 16384;               // pending datagrams
  std::uint32_t max_fragments_per_datagram = 256;
};

struct DefragCounters {
  std::uint64_t fragments = 0;
  std::uint64_t reassembled = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t overlaps = 0;
  std::uint64_t dropped_overlap_v6 = 0;
  std::uint64_t too_big = 0;          // beyond 65535 bytes
  std::uint64_t memory_evictions = 0; // oldest datagram dropped to stay under max_bytes
  std::uint64_t too_many_fragments = 0;
};

// A reassembled datagram: the L4 header and payload, contiguous.
class Datagram {
 public:
  Bytes payload() const { return {bytes_.data(), bytes_.size()}; }
  std::vector<std::uint8_t> bytes_;
};

class Defragmenter {
 public:
  explicit Defragmenter(const DefragConfig& cfg);
  ~Defragmenter();
  // Add one fragment (d.is_fragment). Returns the datagram when it is complete; `d.proto`
  // is then the L4 protocol of the datagram.
  std::optional<Datagram> add(Decoded& d, std::uint64_t now_ns);
  // Drop pending datagrams older than the timeout at `now_ns`.
  void expire(std::uint64_t now_ns);
  const DefragCounters& counters() const { return counters_; }
  std::uint64_t pending_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  DefragCounters counters_;
};

}  // namespace dlp::dataplane
