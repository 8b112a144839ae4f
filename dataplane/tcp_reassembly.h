// TCP reassembly: turns the segments of one TCP connection into two in-order byte
// streams, delivering each byte exactly once, and announcing every hole as a gap.
//
// This is where inspection engines are evaded (overlaps with different data, segments
// out of order, retransmissions, sequence wrap), so every rule below is deliberate and
// tested with hand-built segment sequences in tests/dataplane/tcp_reassembly_test.cc.
//
//   TcpSession s(cfg, memory, counters);
//   s.on_segment(Side::client, seg, ts_ns, sink);   // for every TCP packet of the flow
//   s.close(sink);                                  // at flow end: flush what is held
//
// Overlap policies (what wins when two segments carry different bytes for the same
// sequence numbers, among data not yet delivered):
//   first  - the bytes that arrived first win (BSD-like, Windows-like).
//   last   - the bytes that arrived last win.
//   linux  - the default, what a Linux receiver does (tcp_data_queue_ofo + tcp_ofo_queue):
//            the segment that *starts* at the lower sequence number wins the overlap;
//            on an equal start, the new segment wins only if it ends later (it replaces
//            the old one), otherwise the old one is kept.
// Bytes already delivered are never re-delivered, whatever the policy: a later segment
// that disagrees with delivered bytes is counted as `overlap_conflict` (an evasion signal).
#pragma once

#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

#include "common/dlp/bytes.h"
#include "dataplane/packet.h"

namespace dlp::dataplane {

enum class OverlapPolicy : std::uint8_t { first, last, linux_ };
bool parse_overlap_policy(std::string_view name, OverlapPolicy& out);  // "first"|"last"|"linux"
std::string_view overlap_policy_name(OverlapPolicy p);

enum class Side : std::uint8_t { client = 0, server = 1 };

struct ReassemblyConfig {
  OverlapPolicy policy = OverlapPolicy::linux_;
  std::uint32_t flow_max_held_bytes = 1u << 20;  // out-of-order bytes held per direction
  std::uint32_t max_held_segments = 2048;        // per direction
  std::uint64_t max_stream_depth = 0;            // bytes inspected per direction, 0 = all
};

// Out-of-order bytes held by every flow of one worker. Not thread-safe: per worker.
struct ReassemblyMemory {
  std::uint64_t cap = 256ull << 20;
  std::uint64_t used = 0;
};

struct ReassemblyCounters {
  std::uint64_t segments = 0;
  std::uint64_t in_order = 0;          // delivered straight from the packet
  std::uint64_t out_of_order = 0;      // held for later
  std::uint64_t retransmissions = 0;   // entirely old data
  std::uint64_t overlaps = 0;          // partially or wholly overlapping held/delivered data
  std::uint64_t overlap_conflicts = 0; // overlapping bytes that differ
  std::uint64_t gaps = 0;              // holes skipped
  std::uint64_t gap_bytes = 0;
  std::uint64_t flow_cap_hits = 0;     // per-flow hold limit reached
  std::uint64_t global_cap_hits = 0;   // worker memory cap reached
  std::uint64_t midstream = 0;         // connections picked up without a handshake
  std::uint64_t depth_reached = 0;     // max_stream_depth reached
  std::uint64_t bad_segments = 0;      // e.g. data on a SYN outside the window, seq far off
};

// Receives the in-order output of one direction.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual void on_data(Side side, Bytes bytes) = 0;
  virtual void on_gap(Side side, std::uint64_t len) = 0;
};

struct Segment {
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint8_t flags = 0;
  std::uint16_t window = 0;
  Bytes payload;
};

// Connection-level TCP state as seen by a passive observer.
enum class TcpState : std::uint8_t {
  none, syn_sent, syn_received, established, closing, closed
};

// One direction of a connection.
class TcpStream {
 public:
  // True once the first sequence number of this direction is known.
  bool started() const { return started_; }
  // Next sequence number expected (the first byte not yet delivered).
  std::uint32_t next_seq() const { return next_seq_; }
  std::uint64_t delivered() const { return delivered_; }
  std::uint64_t held_bytes() const { return held_bytes_; }
  bool fin_seen() const { return fin_seen_; }

 private:
  friend class TcpSession;
  struct Held {
    std::uint64_t orig_start;         // stream offset where the original segment began
    std::vector<std::uint8_t> bytes;  // copied: the only copy on the path
  };
  bool started_ = false;
  bool fin_seen_ = false;
  bool depth_reached_ = false;
  std::uint32_t isn_ = 0;       // sequence number of stream offset 0
  std::uint32_t next_seq_ = 0;
  std::uint64_t delivered_ = 0;  // stream offset of next_seq_
  std::uint64_t held_bytes_ = 0;
  std::uint64_t fin_offset_ = 0;
  std::map<std::uint64_t, Held> held_;  // by stream offset, non-overlapping
};

class TcpSession {
 public:
  TcpSession(const ReassemblyConfig& cfg, ReassemblyMemory& memory, ReassemblyCounters& counters);
  ~TcpSession();
  TcpSession(const TcpSession&) = delete;
  TcpSession& operator=(const TcpSession&) = delete;

  // Feed one segment sent by `from`. Delivers whatever becomes in order to `sink`.
  void on_segment(Side from, const Segment& seg, StreamSink& sink);
  // Flush both directions: held data after holes is delivered with gaps. Idempotent.
  void close(StreamSink& sink);

  TcpState state() const { return state_; }
  // Both FINs (acknowledged or not) or an RST: the flow can move to the closed timeout.
  bool finished() const { return state_ == TcpState::closed; }
  const TcpStream& stream(Side s) const { return streams_[static_cast<int>(s)]; }
  // The side that sent the first SYN, or for midstream pickup the side guessed client.
  bool handshake_seen() const { return handshake_seen_; }

 private:
  void insert(Side side, std::uint64_t off, Bytes data, StreamSink& sink);
  void drain(Side side, StreamSink& sink);
  void skip_to_first_held(Side side, StreamSink& sink);
  void release(TcpStream& st, std::uint64_t bytes);

  const ReassemblyConfig& cfg_;
  ReassemblyMemory& memory_;
  ReassemblyCounters& counters_;
  TcpStream streams_[2];
  TcpState state_ = TcpState::none;
  bool handshake_seen_ = false;
  bool closed_ = false;
};

}  // namespace dlp::dataplane
