#include "dataplane/tcp_reassembly.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <iterator>
#include <utility>

namespace dlp::dataplane {
namespace {

// Farther than the largest scaled window (2^30) from the next expected byte cannot be
// this connection's data; it also keeps 32-bit unwrapping unambiguous (< 2^31).
constexpr std::int64_t kMaxDistance = std::int64_t{1} << 30;

std::int64_t seq_diff(std::uint32_t a, std::uint32_t b) {
  return static_cast<std::int32_t>(a - b);
}

int idx(Side s) { return static_cast<int>(s); }
Side other(Side s) { return s == Side::client ? Side::server : Side::client; }

std::uint64_t piece_end(std::uint64_t start, const std::vector<std::uint8_t>& bytes) {
  return start + bytes.size();
}

}  // namespace

bool parse_overlap_policy(std::string_view name, OverlapPolicy& out) {
  if (name == "first") {
    out = OverlapPolicy::first;
  } else if (name == "last") {
    out = OverlapPolicy::last;
  } else if (name == "linux") {
    out = OverlapPolicy::linux_;
  } else {
    return false;
  }
  return true;
}

std::string_view overlap_policy_name(OverlapPolicy p) {
  switch (p) {
    case OverlapPolicy::first: return "first";
    case OverlapPolicy::last: return "last";
    case OverlapPolicy::linux_: return "linux";
  }
  return "linux";
}

// What one segment did; counters move once per segment whatever path it took.
struct TcpSession::Notes {
  bool in_order = false;
  bool held = false;
  bool overlapped = false;
  bool conflict = false;
  bool flow_cap = false;
  bool global_cap = false;
};

TcpSession::TcpSession(const ReassemblyConfig& cfg, ReassemblyMemory& memory,
                       ReassemblyCounters& counters)
    : cfg_(cfg), memory_(memory), counters_(counters) {}

TcpSession::~TcpSession() {
  for (TcpStream& st : streams_) memory_.used -= st.held_bytes_;
}

void TcpSession::start(TcpStream& st, std::uint32_t isn) {
  drop_held(st);
  st.started_ = true;
  st.fin_seen_ = false;
  st.depth_reached_ = false;
  st.isn_ = isn;
  st.next_seq_ = isn;
  st.delivered_ = 0;
  st.fin_offset_ = 0;
  st.tail_from_ = 0;
}

void TcpSession::on_segment(Side from, const Segment& seg, StreamSink& sink) {
  ++counters_.segments;
  if (closed_) return;
  TcpStream& st = streams_[idx(from)];
  TcpStream& peer = streams_[idx(other(from))];
  const bool syn = seg.flags & tcp_flag::kSyn;
  const bool ack = seg.flags & tcp_flag::kAck;
  const bool fin = seg.flags & tcp_flag::kFin;

  if (seg.flags & tcp_flag::kRst) {
    // An RST far from the expected sequence is not this connection's (or is a blind
    // injection meant to make us stop looking).
    if (st.started_) {
      const std::int64_t d = seq_diff(seg.seq, st.next_seq_);
      if (d > kMaxDistance || d < -kMaxDistance) {
        ++counters_.bad_segments;
        return;
      }
    }
    close(sink);
    return;
  }

  if (syn) {
    const std::uint32_t isn = seg.seq + 1;
    if (!st.started_) {
      start(st, isn);
    } else if (isn != st.isn_) {
      // A new ISN before any data is a restarted handshake; after data it is bogus.
      if (st.delivered_ == 0 && st.held_.empty() && !st.fin_seen_ &&
          state_ < TcpState::established) {
        start(st, isn);
      } else {
        ++counters_.bad_segments;
        return;
      }
    }
    handshake_seen_ = true;
    if (!ack) {
      if (state_ == TcpState::none) state_ = TcpState::syn_sent;
    } else {
      // SYN-ACK: if the SYN was missed, its ACK still tells where the other side starts.
      if (!peer.started_) start(peer, seg.ack);
      if (state_ == TcpState::none || state_ == TcpState::syn_sent) {
        state_ = TcpState::syn_received;
      }
    }
  } else {
    if (!st.started_) {
      start(st, seg.seq);
      if (state_ == TcpState::none) {
        ++counters_.midstream;
        state_ = TcpState::established;
      }
    }
    if (ack && (state_ == TcpState::syn_sent || state_ == TcpState::syn_received)) {
      state_ = TcpState::established;
    }
  }

  const std::uint32_t data_seq = seg.seq + (syn ? 1u : 0u);
  const std::int64_t d = seq_diff(data_seq, st.next_seq_);
  if (d > kMaxDistance || d < -kMaxDistance) {
    ++counters_.bad_segments;
    return;
  }
  std::int64_t off = static_cast<std::int64_t>(st.delivered_) + d;
  const std::int64_t end = off + static_cast<std::int64_t>(seg.payload.size());
  const auto delivered = static_cast<std::int64_t>(st.delivered_);
  bool fin_accepted = false;

  if (st.depth_reached_) {
    // Nothing more is inspected; follow the sequence space so a FIN still lands.
    if (end > delivered) {
      st.next_seq_ += static_cast<std::uint32_t>(end - delivered);
      st.delivered_ = static_cast<std::uint64_t>(end);
    }
    if (fin && !st.fin_seen_) {
      st.fin_seen_ = true;
      st.fin_offset_ = static_cast<std::uint64_t>(end);
      fin_accepted = true;
    }
  } else {
    if (fin && !st.fin_seen_) {
      if (end < delivered) {
        ++counters_.bad_segments;
      } else {
        accept_fin(st, static_cast<std::uint64_t>(end));
        fin_accepted = true;
      }
    }
    Bytes data = seg.payload;
    if (!data.empty() && off < 0) {
      // Bytes before the first byte of the stream: old by definition.
      if (end <= 0) {
        ++counters_.retransmissions;
        data = {};
      } else {
        data = data.subspan(static_cast<std::size_t>(-off));
        off = 0;
      }
    }
    if (!data.empty()) accept_data(from, static_cast<std::uint64_t>(off), data, sink);
  }
  if (fin_accepted && state_ < TcpState::closing) state_ = TcpState::closing;

  if (ack) on_peer_ack(other(from), seg.ack, sink);

  for (TcpStream& s : streams_) {
    if (s.depth_reached_) drop_held(s);
  }
  update_state();
}

void TcpSession::accept_fin(TcpStream& st, std::uint64_t fin_offset) {
  st.fin_seen_ = true;
  st.fin_offset_ = fin_offset;
  // Held bytes past the end of the stream will never be delivered.
  auto it = st.held_.lower_bound(fin_offset);
  if (it != st.held_.begin()) {
    auto prev = std::prev(it);
    const std::uint64_t pe = piece_end(prev->first, prev->second.bytes);
    if (pe > fin_offset) {
      prev->second.bytes.resize(fin_offset - prev->first);
      release(st, pe - fin_offset);
    }
  }
  while (it != st.held_.end()) {
    release(st, it->second.bytes.size());
    it = st.held_.erase(it);
  }
}

void TcpSession::accept_data(Side side, std::uint64_t off, Bytes data, StreamSink& sink) {
  TcpStream& st = streams_[idx(side)];
  if (data.empty() || st.depth_reached_) return;
  if (st.fin_seen_ && off >= st.fin_offset_) {
    ++counters_.bad_segments;  // data after the FIN
    return;
  }
  std::uint64_t limit = st.fin_seen_ ? st.fin_offset_ : ~std::uint64_t{0};
  if (cfg_.max_stream_depth != 0) limit = std::min(limit, cfg_.max_stream_depth);
  if (off >= limit) return;
  if (off + data.size() > limit) data = data.first(limit - off);

  Notes notes;
  bool first_pass = true;
  for (;;) {
    const std::uint64_t end = off + data.size();
    if (end <= st.delivered_) {
      if (first_pass) {
        ++counters_.retransmissions;
      } else {
        notes.overlapped = true;  // became old because a skip delivered what it overlapped
      }
      if (differs_from_tail(st, off, data)) notes.conflict = true;
      break;
    }
    if (off < st.delivered_) {
      notes.overlapped = true;
      const std::uint64_t old = st.delivered_ - off;
      if (differs_from_tail(st, off, data.first(old))) notes.conflict = true;
      data = data.subspan(old);
      off = st.delivered_;
    }
    first_pass = false;
    if (off == st.delivered_) {
      deliver_in_order(side, off, data, notes, sink);
      break;
    }
    if (try_hold(side, off, data, notes)) break;
    // No room: give up on the lowest hole and try again.
    if (!st.held_.empty() && st.held_.begin()->first < off) {
      skip_to_first_held(side, sink);
    } else {
      emit_gap(side, off - st.delivered_, sink);
    }
    if (st.depth_reached_) break;
  }

  if (notes.in_order) ++counters_.in_order;
  if (notes.held) ++counters_.out_of_order;
  if (notes.overlapped) ++counters_.overlaps;
  if (notes.conflict) ++counters_.overlap_conflicts;
  if (notes.flow_cap) ++counters_.flow_cap_hits;
  if (notes.global_cap) ++counters_.global_cap_hits;
}

bool TcpSession::new_wins(const TcpStream::Held& h, std::uint64_t start,
                          std::uint64_t end) const {
  switch (cfg_.policy) {
    case OverlapPolicy::first: return false;
    case OverlapPolicy::last: return true;
    case OverlapPolicy::linux_:
      return start < h.orig_start || (start == h.orig_start && end > h.orig_end);
  }
  return false;
}

// `data` starts at the next expected byte: delivered from the packet itself, except
// where held bytes that win the overlap sit inside it.
void TcpSession::deliver_in_order(Side side, std::uint64_t off, Bytes data, Notes& notes,
                                  StreamSink& sink) {
  TcpStream& st = streams_[idx(side)];
  notes.in_order = true;
  const std::uint64_t end = off + data.size();
  std::uint64_t cur = off;
  auto it = st.held_.begin();
  while (it != st.held_.end() && it->first < end) {
    const std::uint64_t ps = it->first;
    TcpStream::Held& h = it->second;
    const std::uint64_t pe = piece_end(ps, h.bytes);
    notes.overlapped = true;
    if (ps > cur) {
      emit(side, data.subspan(cur - off, ps - cur), sink);
      if (st.depth_reached_) return;
      cur = ps;
    }
    const std::uint64_t ov_end = std::min(pe, end);
    const Bytes mine = data.subspan(ps - off, ov_end - ps);
    const Bytes theirs{h.bytes.data(), ov_end - ps};
    if (!std::equal(mine.begin(), mine.end(), theirs.begin())) notes.conflict = true;
    emit(side, new_wins(h, off, end) ? mine : theirs, sink);
    if (st.depth_reached_) return;
    cur = ov_end;
    if (pe <= end) {
      release(st, pe - ps);
      it = st.held_.erase(it);
    } else {
      // The piece reaches past this segment: keep its tail, re-keyed (no allocation).
      trim_held_front(st, it, ov_end);
      break;
    }
  }
  if (cur < end) emit(side, data.subspan(cur - off), sink);
  if (!st.depth_reached_) drain(side, sink);
}

// Out-of-order data: resolve overlaps with held pieces by policy and copy what survives.
// A dry run first, so that a segment that does not fit changes nothing.
bool TcpSession::try_hold(Side side, std::uint64_t off, Bytes data, Notes& notes) {
  TcpStream& st = streams_[idx(side)];
  const std::uint64_t end = off + data.size();

  auto first = st.held_.upper_bound(off);
  if (first != st.held_.begin()) {
    auto prev = std::prev(first);
    if (piece_end(prev->first, prev->second.bytes) > off) first = prev;
  }

  std::uint64_t keep = 0;
  std::uint64_t freed = 0;
  std::int64_t pieces_delta = 0;
  std::uint64_t cur = off;
  bool overlapped = false;
  bool conflict = false;
  for (auto p = first; p != st.held_.end() && p->first < end; ++p) {
    const std::uint64_t ps = p->first;
    const TcpStream::Held& h = p->second;
    const std::uint64_t pe = piece_end(ps, h.bytes);
    const std::uint64_t a = std::max(ps, off);
    const std::uint64_t b = std::min(pe, end);
    overlapped = true;
    if (!std::equal(data.begin() + static_cast<std::ptrdiff_t>(a - off),
                    data.begin() + static_cast<std::ptrdiff_t>(b - off),
                    h.bytes.begin() + static_cast<std::ptrdiff_t>(a - ps))) {
      conflict = true;
    }
    if (new_wins(h, off, end)) {
      freed += b - a;
      if (a == ps && b == pe) {
        --pieces_delta;
      } else if (a > ps && b < pe) {
        ++pieces_delta;  // split in two
      }
    } else {
      if (a > cur) {
        keep += a - cur;
        ++pieces_delta;
      }
      cur = std::max(cur, b);
    }
  }
  if (cur < end) {
    keep += end - cur;
    ++pieces_delta;
  }

  const std::uint64_t flow_bytes = st.held_bytes_ - freed + keep;
  const auto flow_segments = static_cast<std::int64_t>(st.held_.size()) + pieces_delta;
  if (keep > freed || pieces_delta > 0) {
    if (flow_bytes > cfg_.flow_max_held_bytes ||
        flow_segments > static_cast<std::int64_t>(cfg_.max_held_segments)) {
      notes.flow_cap = true;
      return false;
    }
    if (memory_.used - freed + keep > memory_.cap) {
      notes.global_cap = true;
      return false;
    }
  }

  if (overlapped) notes.overlapped = true;
  if (conflict) notes.conflict = true;

  // Take the overlapped bytes away from the pieces the new segment wins against.
  for (auto p = first; p != st.held_.end() && p->first < end;) {
    const std::uint64_t ps = p->first;
    TcpStream::Held& h = p->second;
    const std::uint64_t pe = piece_end(ps, h.bytes);
    if (!new_wins(h, off, end)) {
      ++p;
      continue;
    }
    const std::uint64_t a = std::max(ps, off);
    const std::uint64_t b = std::min(pe, end);
    if (a == ps && b == pe) {
      release(st, pe - ps);
      p = st.held_.erase(p);
    } else if (a == ps) {
      // Front taken; the piece reaches past the new segment, so it is the last one.
      trim_held_front(st, p, b);
      break;
    } else if (b == pe) {
      h.bytes.resize(a - ps);
      release(st, pe - a);
      ++p;
    } else {
      // The new segment sits inside the piece: split it around the new bytes.
      TcpStream::Held right{h.orig_start, h.orig_end,
                            std::vector<std::uint8_t>(
                                h.bytes.begin() + static_cast<std::ptrdiff_t>(b - ps),
                                h.bytes.end())};
      h.bytes.resize(a - ps);
      release(st, b - a);
      st.held_.emplace_hint(std::next(p), b, std::move(right));
      break;
    }
  }

  // What is left overlapping [off, end) are pieces that won; copy the bytes between them.
  auto p = st.held_.upper_bound(off);
  if (p != st.held_.begin()) {
    auto prev = std::prev(p);
    if (piece_end(prev->first, prev->second.bytes) > off) p = prev;
  }
  cur = off;
  while (cur < end) {
    const bool more = p != st.held_.end() && p->first < end;
    const std::uint64_t next = more ? std::max(p->first, cur) : end;
    if (next > cur) {
      const auto* src = data.data() + (cur - off);
      st.held_.emplace_hint(p, cur,
                            TcpStream::Held{off, end, std::vector<std::uint8_t>(src, src + (next - cur))});
      st.held_bytes_ += next - cur;
      memory_.used += next - cur;
      notes.held = true;
    }
    if (!more) break;
    cur = std::max(cur, piece_end(p->first, p->second.bytes));
    ++p;
  }
  return true;
}

void TcpSession::drain(Side side, StreamSink& sink) {
  TcpStream& st = streams_[idx(side)];
  while (!st.held_.empty() && !st.depth_reached_) {
    auto it = st.held_.begin();
    assert(it->first >= st.delivered_);
    if (it->first != st.delivered_) break;
    emit(side, Bytes{it->second.bytes}, sink);
    if (st.depth_reached_) return;  // drop_held() follows at the entry point
    release(st, it->second.bytes.size());
    st.held_.erase(it);
  }
}

void TcpSession::skip_to_first_held(Side side, StreamSink& sink) {
  TcpStream& st = streams_[idx(side)];
  if (st.held_.empty()) return;
  const std::uint64_t first = st.held_.begin()->first;
  if (first > st.delivered_) emit_gap(side, first - st.delivered_, sink);
  if (!st.depth_reached_) drain(side, sink);
}

void TcpSession::on_peer_ack(Side data_side, std::uint32_t ack, StreamSink& sink) {
  TcpStream& st = streams_[idx(data_side)];
  if (!st.started_ || st.depth_reached_) return;
  const std::int64_t d = seq_diff(ack, st.next_seq_);
  if (d <= 0 || d > kMaxDistance) return;
  std::uint64_t acked = st.delivered_ + static_cast<std::uint64_t>(d);
  // The FIN takes a sequence number but carries no byte.
  if (st.fin_seen_) acked = std::min(acked, st.fin_offset_);
  while (st.delivered_ < acked && !st.depth_reached_) {
    std::uint64_t stop = acked;
    if (!st.held_.empty()) stop = std::min(stop, st.held_.begin()->first);
    if (stop > st.delivered_) emit_gap(data_side, stop - st.delivered_, sink);
    drain(data_side, sink);
  }
}

void TcpSession::flush(Side side, StreamSink& sink) {
  TcpStream& st = streams_[idx(side)];
  while (!st.held_.empty() && !st.depth_reached_) skip_to_first_held(side, sink);
  if (st.fin_seen_ && !st.depth_reached_ && st.delivered_ < st.fin_offset_) {
    emit_gap(side, st.fin_offset_ - st.delivered_, sink);  // known lost before the FIN
  }
  drop_held(st);
}

void TcpSession::close(StreamSink& sink) {
  if (closed_) return;
  flush(Side::client, sink);
  flush(Side::server, sink);
  state_ = TcpState::closed;
  closed_ = true;
}

void TcpSession::emit(Side side, Bytes bytes, StreamSink& sink) {
  TcpStream& st = streams_[idx(side)];
  if (st.depth_reached_) return;
  const std::uint64_t depth = cfg_.max_stream_depth;
  if (depth != 0 && st.delivered_ + bytes.size() > depth) bytes = bytes.first(depth - st.delivered_);
  if (!bytes.empty()) {
    sink.on_data(side, bytes);
    // Keep the last bytes to compare retransmissions with: at most two small copies.
    constexpr std::uint64_t kTail = TcpStream::kDeliveredTail;
    const std::size_t k = std::min<std::size_t>(bytes.size(), kTail);
    const std::uint8_t* src = bytes.data() + bytes.size() - k;
    const std::size_t pos = (st.delivered_ + bytes.size() - k) % kTail;
    const std::size_t first = std::min<std::size_t>(k, kTail - pos);
    std::memcpy(st.tail_.data() + pos, src, first);
    std::memcpy(st.tail_.data(), src + first, k - first);
    st.delivered_ += bytes.size();
    st.next_seq_ += static_cast<std::uint32_t>(bytes.size());
  }
  if (depth != 0 && st.delivered_ >= depth) {
    st.depth_reached_ = true;
    ++counters_.depth_reached;
  }
}

void TcpSession::emit_gap(Side side, std::uint64_t len, StreamSink& sink) {
  TcpStream& st = streams_[idx(side)];
  if (st.depth_reached_) return;
  const std::uint64_t depth = cfg_.max_stream_depth;
  if (depth != 0 && st.delivered_ + len > depth) len = depth - st.delivered_;
  if (len != 0) {
    sink.on_gap(side, len);
    ++counters_.gaps;
    counters_.gap_bytes += len;
    st.delivered_ += len;
    st.next_seq_ += static_cast<std::uint32_t>(len);
    st.tail_from_ = st.delivered_;  // nothing before the hole is comparable any more
  }
  if (depth != 0 && st.delivered_ >= depth) {
    st.depth_reached_ = true;
    ++counters_.depth_reached;
  }
}

bool TcpSession::differs_from_tail(const TcpStream& st, std::uint64_t off, Bytes data) const {
  constexpr std::uint64_t kTail = TcpStream::kDeliveredTail;
  std::uint64_t lo = std::max(off, st.tail_from_);
  if (st.delivered_ > kTail) lo = std::max(lo, st.delivered_ - kTail);
  const std::uint64_t hi = std::min<std::uint64_t>(off + data.size(), st.delivered_);
  for (std::uint64_t o = lo; o < hi; ++o) {
    if (st.tail_[o % kTail] != data[o - off]) return true;
  }
  return false;
}

void TcpSession::drop_held(TcpStream& st) {
  release(st, st.held_bytes_);
  st.held_.clear();
}

void TcpSession::trim_held_front(TcpStream& st, std::map<std::uint64_t, TcpStream::Held>::iterator it,
                                 std::uint64_t new_start) {
  // Drop the piece's bytes before new_start and re-key it there (node handle: no allocation).
  const std::uint64_t old_start = it->first;
  auto node = st.held_.extract(it);
  auto& bytes = node.mapped().bytes;
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(new_start - old_start));
  node.key() = new_start;
  st.held_.insert(std::move(node));
  release(st, new_start - old_start);
}

void TcpSession::release(TcpStream& st, std::uint64_t bytes) {
  st.held_bytes_ -= bytes;
  memory_.used -= bytes;
}

void TcpSession::update_state() {
  if (state_ == TcpState::closed) return;
  auto done = [](const TcpStream& s) {
    return s.fin_seen_ && (s.depth_reached_ || s.delivered_ >= s.fin_offset_);
  };
  if (done(streams_[0]) && done(streams_[1])) state_ = TcpState::closed;
}

}  // namespace dlp::dataplane
