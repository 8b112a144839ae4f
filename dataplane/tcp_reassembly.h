// TCP reassembly: turns the segments of one TCP connection into two in-order byte
// streams, delivering each byte exactly once, and announcing every hole as a gap.
//
// This is where inspection engines are evaded (overlaps with different data, segments
// out of order, retransmissions, sequence wrap), so every rule below is deliberate and
// tested with hand-built segment sequences in tests/dataplane/tcp_reassembly_test.cc.
//
//   TcpSession s(cfg, memory, counters);
//   s.on_segment(Side::client, seg, sink);   // for every TCP packet of the flow
//   s.close(sink);                           // at flow end: flush what is held
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
//
// Refinements (the exact rules the tests pin down):
// - Offsets. Sequence numbers are unwrapped to 64-bit stream offsets relative to the
//   direction's first byte (ISN+1 after a SYN; the first segment's seq on midstream
//   pickup, counted once per connection in `midstream`; a SYN-ACK whose SYN was missed
//   also starts the other direction at its ACK number). A segment more than 1 GiB (the
//   largest scaled window) before or after the next expected byte is `bad_segments` and
//   ignored, flags included.
// - Linux policy bookkeeping. Held data is kept as non-overlapping pieces, each
//   remembering the [start, end) of the segment it came from; a new segment is compared
//   with that original segment, not with the trimmed piece. A segment at the next
//   expected byte starts below every held segment, so under `linux` it always wins.
//   Under `first`, held bytes win even against the in-order segment.
// - Conflicts with delivered data. Delivered bytes are not kept, except the last
//   kDeliveredTail (64) bytes of each direction (a fixed inline array, no allocation),
//   so a retransmission or partial overlap is compared with what was delivered only
//   where it falls inside that tail (and not across a gap). Differences further back
//   go unseen. Overlaps with held data are always compared exactly.
// - Counting is per segment: `retransmissions` = entirely below the next expected
//   byte; `overlaps` = partly below it, or touching held data at all (an exact duplicate
//   of a held segment included); `overlap_conflicts` = at least one compared byte
//   differs; `in_order` = some bytes delivered straight from the packet;
//   `out_of_order` = some bytes copied into held storage; cap hits once per segment.
// - Memory. `ReassemblyMemory::used` counts held payload bytes (node overhead is
//   bounded by max_held_segments). When holding a segment would pass a limit, the
//   stream skips forward instead: a gap up to the lowest of (first held piece, the new
//   segment), delivery of what is then contiguous, repeated until the segment fits or
//   becomes in order. So a segment too large to hold is delivered after a gap.
// - Peer ACK. An ACK from the other side acknowledging bytes of this direction that
//   were never seen (capture loss) turns the missing bytes up to that ACK into a gap.
// - FIN. The FIN's offset ends the stream: data at or after it is ignored (counted in
//   `bad_segments`), held data beyond it is dropped. The first FIN of a direction wins;
//   a FIN below what was already delivered is `bad_segments`.
//   The connection becomes `closed` (finished()) when both FINs are seen *and* each
//   direction has delivered up to its FIN, so a segment reordered around the FINs is
//   still inspected; a hole before a FIN is then closed by the peer's ACK of the FIN,
//   or by close(), which announces any known hole before the FIN as a gap.
// - RST (from a started side: within 1 GiB of the expected byte) closes at once: both
//   directions are flushed as by close().
// - Depth. max_stream_depth counts stream offsets (gaps included); reaching it is
//   counted once per direction, drops held data, and ignores further data.
// - After close() (or an RST) every segment is counted in `segments` and ignored.
#pragma once

#include <array>
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
  // Delivered bytes kept to compare retransmissions against (see the header comment).
  static constexpr std::uint32_t kDeliveredTail = 64;

  // True once the first sequence number of this direction is known.
  bool started() const { return started_; }
  // Next sequence number expected (the first byte not yet delivered).
  std::uint32_t next_seq() const { return next_seq_; }
  // Stream offset of next_seq(): bytes delivered plus gap bytes announced.
  std::uint64_t delivered() const { return delivered_; }
  std::uint64_t held_bytes() const { return held_bytes_; }
  std::size_t held_segments() const { return held_.size(); }
  bool fin_seen() const { return fin_seen_; }
  std::uint64_t fin_offset() const { return fin_offset_; }
  bool depth_reached() const { return depth_reached_; }

 private:
  friend class TcpSession;
  struct Held {
    std::uint64_t orig_start;         // stream offset where the original segment began
    std::uint64_t orig_end;           // ... and ended (the linux policy compares both)
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
  // Offsets [max(tail_from_, delivered_ - kDeliveredTail), delivered_) are in tail_,
  // byte at offset o in tail_[o % kDeliveredTail].
  std::uint64_t tail_from_ = 0;
  std::array<std::uint8_t, kDeliveredTail> tail_{};
  std::map<std::uint64_t, Held> held_;  // by stream offset, non-overlapping, > delivered_
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
  // True when a SYN or SYN-ACK was seen (false for a midstream pickup).
  bool handshake_seen() const { return handshake_seen_; }

 private:
  struct Notes;  // what one segment did, counted once at its end
  using HeldIter = std::map<std::uint64_t, TcpStream::Held>::iterator;

  void start(TcpStream& st, std::uint32_t isn);
  void accept_data(Side side, std::uint64_t off, Bytes data, StreamSink& sink);
  void deliver_in_order(Side side, std::uint64_t off, Bytes data, Notes& notes,
                        StreamSink& sink);
  bool try_hold(Side side, std::uint64_t off, Bytes data, Notes& notes);
  bool new_wins(const TcpStream::Held& h, std::uint64_t start, std::uint64_t end) const;
  void on_peer_ack(Side data_side, std::uint32_t ack, StreamSink& sink);
  void accept_fin(TcpStream& st, std::uint64_t fin_offset);
  void flush(Side side, StreamSink& sink);
  void drain(Side side, StreamSink& sink);
  void skip_to_first_held(Side side, StreamSink& sink);
  void emit(Side side, Bytes bytes, StreamSink& sink);
  void emit_gap(Side side, std::uint64_t len, StreamSink& sink);
  bool differs_from_tail(const TcpStream& st, std::uint64_t off, Bytes data) const;
  void drop_held(TcpStream& st);
  void release(TcpStream& st, std::uint64_t bytes);
  void trim_held_front(TcpStream& st, std::map<std::uint64_t, TcpStream::Held>::iterator it,
                       std::uint64_t new_start);
  void update_state();

  const ReassemblyConfig& cfg_;
  ReassemblyMemory& memory_;
  ReassemblyCounters& counters_;
  TcpStream streams_[2];
  TcpState state_ = TcpState::none;
  bool handshake_seen_ = false;
  bool closed_ = false;
};

}  // namespace dlp::dataplane
