// IPv4 and IPv6 fragment reassembly with bounded memory and packet-time timeouts.
// Datagrams are keyed by (src, dst, identification, protocol) for IPv4 and (src, dst,
// identification) for IPv6 (RFC 8200 4.5). Overlapping IPv4 fragments are resolved
// "first wins" (the bytes received first are kept; counted in `overlaps`). A datagram
// with overlapping IPv6 fragments is dropped whole (RFC 5722; `dropped_overlap_v6`).
// An exact duplicate (same range, same bytes) is ignored in both families (`duplicates`).
// Fragments that cannot be part of a valid datagram (a non-last fragment whose length is
// not a multiple of 8, an empty one, data past a known end, a second and different end)
// are dropped (`invalid`); for IPv6 the whole datagram goes with them.
// Bounds: a datagram past 65535 bytes is dropped (`too_big`); pending datagrams older
// than `timeout_ns` (packet time, from their first fragment) are dropped by expire() or
// when their key is seen again; above `max_datagrams` or `max_bytes` the oldest pending
// datagram is evicted (`memory_evictions`); a datagram with more than
// `max_fragments_per_datagram` fragments is dropped (`too_many_fragments`).
// For IPv6, extension headers at the start of the fragmentable part (destination
// options, routing, AH) are skipped in the reassembled datagram, so payload() starts at
// the L4 header and `d.proto` is the L4 protocol.
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
  std::uint64_t duplicates = 0;       // exact duplicate fragments, ignored
  std::uint64_t invalid = 0;          // fragments that fit no valid datagram (see above)
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
  // is then the L4 protocol of the datagram and d.l3/frag_* still describe the fragment
  // that completed it. The fragment's bytes are copied: `d` may go away after the call.
  std::optional<Datagram> add(Decoded& d, std::uint64_t now_ns);
  // Drop pending datagrams older than the timeout at `now_ns`.
  void expire(std::uint64_t now_ns);
  const DefragCounters& counters() const { return counters_; }
  std::uint64_t pending_bytes() const;      // bytes buffered for pending datagrams
  std::uint64_t pending_datagrams() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  DefragCounters counters_;
};

}  // namespace dlp::dataplane
