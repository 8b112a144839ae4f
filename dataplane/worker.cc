#include "dataplane/worker.h"

#include <optional>
#include <utility>

namespace dlp::dataplane {
namespace {

// Flow::app_data bits owned by the worker.
constexpr std::uint32_t kInspectorClosed = 1u << 0;
// Inline: the flow's verdict (two bits), whether its RSTs went out, and how many of its
// packets are held (the rest of the word).
constexpr std::uint32_t kVerdictShift = 1;
constexpr std::uint32_t kVerdictMask = 3u << kVerdictShift;
constexpr std::uint32_t kResetSent = 1u << 3;
constexpr std::uint32_t kHoldShift = 8;

Verdict verdict_of(const Flow& f) {
  return static_cast<Verdict>((f.app_data & kVerdictMask) >> kVerdictShift);
}
std::uint32_t holds_of(const Flow& f) { return f.app_data >> kHoldShift; }
void add_holds(Flow& f, int n) {
  f.app_data = static_cast<std::uint32_t>(
      (f.app_data & ((1u << kHoldShift) - 1)) |
      (static_cast<std::uint32_t>(static_cast<int>(holds_of(f)) + n) << kHoldShift));
}
bool seq_after(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) > 0; }

inspectors::Dir dir_of(Side side) {
  return side == Side::client ? inspectors::Dir::to_server : inspectors::Dir::to_client;
}

}  // namespace

// One open content stream: its normaliser feeds the scanner (and the EDM matcher) through
// text(). Slots are reused; the normaliser resets itself at finish().
struct Worker::ContentSlot final : inspectors::TextSink {
  void text(Bytes normalized) override {
    if (scan->write(normalized)) {
      if (first_hit_ns == 0) first_hit_ns = *now_ns;
      if (owner->enforcement_ != nullptr) owner->judge(*this);
    }
    if (edm) edm->write(normalized);
  }
  ContentSlot(Worker* w, const std::uint64_t* clock) : owner(w), now_ns(clock) {}

  Worker* owner;
  const std::uint64_t* now_ns;
  Verdict verdict = Verdict::pass;  // inline: strongest verdict its hits earned
  signatures::Scanner* scanner = nullptr;  // the one its StreamScan was opened on
  inspectors::Normalizer norm;
  std::optional<signatures::StreamScan> scan;
  std::optional<signatures::EdmMatcher> edm;
  inspectors::ContentMeta meta;
  IpAddr src, dst;
  std::uint16_t sport = 0, dport = 0;
  std::uint8_t transport = 0;
  std::uint64_t first_hit_ns = 0;
};

Worker::Worker(const WorkerConfig& cfg, std::shared_ptr<const signatures::Database> db,
               const inspectors::Registry& registry, SpscRing<Finding>& ring,
               std::uint16_t worker_id)
    : cfg_(cfg),
      worker_id_(worker_id),
      registry_(registry),
      ring_(ring),
      scanner_(std::make_unique<signatures::Scanner>(std::move(db))),
      reasm_memory_{cfg.reassembly_memory_cap, 0},
      defrag_(cfg_.defrag),
      flows_(cfg_.flows, cfg_.reassembly, reasm_memory_, reasm_counters_, *this),
      files_(*this, cfg_.limits) {}

Worker::~Worker() {
  // Flows reference the reassembly memory and call back into this worker: end them
  // while every member is still alive.
  flows_.flush();
}

void Worker::process(std::span<const RawPacket> burst) {
  for (const RawPacket& pkt : burst) handle_packet(pkt);
  if (!burst.empty()) {
    // Timeouts are checked once per burst, on the time of its last packet: packet time,
    // so a replayed capture expires flows exactly as it did the first time.
    flows_.expire(now_ns_);
    defrag_.expire(now_ns_);
  }
  if (!backlog_.empty()) flush_backlog();
}

void Worker::finish() {
  flows_.flush();
  flush_backlog();
}

void Worker::handle_packet(const RawPacket& pkt) {
  if (pkt.ts_ns > now_ns_) now_ns_ = pkt.ts_ns;  // a capture may step back in time
  ++counters_.packets;
  counters_.bytes += pkt.wire_len;

  Decoded d;
  DecodeStatus st = decode(pkt, d);
  counters_.decode.count(st);
  if (st != DecodeStatus::ok) return;

  if (d.is_fragment) {
    std::optional<Datagram> dgram = defrag_.add(d, now_ns_);
    if (!dgram) return;
    st = decode_l4(d.proto, dgram->payload(), d);
    if (st != DecodeStatus::ok) {
      counters_.decode.count(st);
      return;
    }
    handle_l4(d, now_ns_);  // d's views point into *dgram, alive until here
    return;
  }
  handle_l4(d, now_ns_);
}

void Worker::handle_l4(Decoded& d, std::uint64_t ts_ns) {
  FlowLookup r = flows_.lookup_or_create(d, ts_ns);
  if (r.flow == nullptr) return;
  Flow& flow = *r.flow;
  const auto side = static_cast<int>(r.from);
  ++flow.packets[side];
  flow.bytes[side] += d.payload.size();

  if (in_inspect_) {
    pkt_flow_ = &flow;
    pkt_side_ = r.from;
    if (flow.tcp) {
      const TcpStream& me = flow.tcp->stream(r.from);
      const TcpStream& peer = flow.tcp->stream(r.from == Side::client ? Side::server : Side::client);
      pkt_rst_.to_receiver_seq = me.started() ? me.next_seq() : d.seq;
      pkt_rst_.to_sender_seq = peer.started() ? peer.next_seq() : d.ack;
    }
    // A flow with a verdict is not inspected any further: nothing of it is forwarded.
    if (verdict_of(flow) != Verdict::pass) return;
  }

  current_flow_ = &flow;
  if (flow.tcp) {
    ++counters_.tcp_packets;
    Segment seg{d.seq, d.ack, d.tcp_flags, d.window, d.payload};
    flow.tcp->on_segment(r.from, seg, *this);
    if (in_inspect_ && !d.payload.empty() && !flow.tcp->finished()) {
      // Bytes the reassembler holds (out of order) are not inspected yet: so neither
      // may the packet carrying them be forwarded.
      const TcpStream& me = flow.tcp->stream(r.from);
      std::uint32_t end_seq = d.seq + static_cast<std::uint32_t>(d.payload.size());
      if (d.tcp_flags & tcp_flag::kSyn) ++end_seq;
      if (me.started() && !me.depth_reached() && !(flow.app_data & kInspectorClosed) &&
          seq_after(end_seq, me.next_seq())) {
        pkt_hold_ = true;
        pkt_end_ = me.delivered() + (end_seq - me.next_seq());
      }
    }
    if (flow.tcp->finished() && !flow.closing) {
      // Both FINs or an RST: flush now so findings leave at the end of the connection,
      // not when its closed timeout runs out.
      flow.tcp->close(*this);
      if (flow.inspector && !(flow.app_data & kInspectorClosed)) flow.inspector->close();
      flow.app_data |= kInspectorClosed;
      flow.inspector.reset();  // its memory is not needed while the flow waits out closed_ns
      flows_.mark_closing(flow);
    }
  } else {
    ++counters_.udp_packets;
    if (!d.payload.empty()) on_data(r.from, d.payload);
  }
  current_flow_ = nullptr;
}

void Worker::ensure_inspector(Flow& flow, Side first_side, Bytes first_bytes) {
  if (flow.inspector) return;
  inspectors::FlowInfo info;
  info.client_port = flow.client_port;
  info.server_port = flow.server_port;
  info.ip_proto = flow.proto;
  info.client_ip = flow.client_ip.b;
  info.server_ip = flow.server_ip.b;
  info.start_ns = flow.first_ns;
  // Content sniffing looks at what the client says first; when the server speaks first
  // (SMTP, FTP banners) the choice falls back to the port.
  const auto& factory =
      registry_.choose(info, first_side == Side::client ? first_bytes : Bytes{});
  flow.inspector = factory.create(files_, info);
}

void Worker::on_data(Side side, Bytes bytes) {
  Flow& flow = *current_flow_;
  if (flow.app_data & kInspectorClosed) return;
  ensure_inspector(flow, side, bytes);
  counters_.payload_bytes += bytes.size();
  flow.inspector->data(dir_of(side), bytes);
}

void Worker::on_gap(Side side, std::uint64_t len) {
  Flow& flow = *current_flow_;
  if (!flow.inspector || (flow.app_data & kInspectorClosed)) return;
  flow.inspector->gap(dir_of(side), len);
}

void Worker::on_flow_end(Flow& flow, FlowEnd /*why*/) {
  // May be called from inside lookup_or_create (eviction) while another flow is current.
  Flow* saved = current_flow_;
  current_flow_ = &flow;
  if (!(flow.app_data & kInspectorClosed)) {
    if (flow.tcp) flow.tcp->close(*this);
    if (flow.inspector) flow.inspector->close();
    flow.app_data |= kInspectorClosed;
  }
  flow.inspector.reset();
  if (holds_of(flow) != 0) resolve_holds(flow, true);
  current_flow_ = saved;
}

inspectors::ContentSink::StreamId Worker::open(const inspectors::ContentMeta& meta) {
  StreamId id;
  if (!free_slots_.empty()) {
    id = free_slots_.back();
    free_slots_.pop_back();
  } else {
    id = static_cast<StreamId>(slots_.size());
    slots_.push_back(std::make_unique<ContentSlot>(this, &now_ns_));
  }
  ContentSlot& slot = *slots_[id];
  slot.scan.emplace(scanner_->open());
  slot.scanner = scanner_.get();
  ++scanner_open_;
  if (cfg_.edm) slot.edm.emplace(*cfg_.edm, cfg_.edm_config);
  slot.meta = meta;
  slot.first_hit_ns = 0;
  slot.verdict = Verdict::pass;
  const Flow& flow = *current_flow_;
  const bool outbound = meta.dir == inspectors::Dir::to_server;
  slot.src = outbound ? flow.client_ip : flow.server_ip;
  slot.dst = outbound ? flow.server_ip : flow.client_ip;
  slot.sport = outbound ? flow.client_port : flow.server_port;
  slot.dport = outbound ? flow.server_port : flow.client_port;
  slot.transport = flow.proto;
  ++counters_.content_streams;
  return id;
}

void Worker::write(StreamId id, Bytes data) {
  ContentSlot& slot = *slots_[id];
  if (!slot.scan) return;
  if (cfg_.normalize) {
    slot.norm.write(data, slot);
  } else {
    slot.text(data);
  }
}

void Worker::gap(StreamId id, std::uint64_t len) {
  ContentSlot& slot = *slots_[id];
  if (!slot.scan) return;
  if (cfg_.normalize) slot.norm.gap(slot);
  slot.scan->gap(len);
  if (slot.edm) slot.edm->gap(len);
}

void Worker::close(StreamId id) {
  ContentSlot& slot = *slots_[id];
  if (!slot.scan) return;
  if (cfg_.normalize) slot.norm.finish(slot);
  slot.scan->close();  // end-anchored matches found here take the current packet time
  if (enforcement_ != nullptr) judge(slot);
  emit(slot);
  if (slot.edm) {
    slot.edm->close();
    emit_edm(slot);
    slot.edm.reset();
  }
  slot.scan.reset();
  if (slot.scanner == scanner_.get()) {
    --scanner_open_;
  } else {
    for (std::size_t i = 0; i < retired_scanners_.size(); ++i) {
      if (retired_scanners_[i].first.get() != slot.scanner) continue;
      if (--retired_scanners_[i].second == 0) retired_scanners_.erase(retired_scanners_.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
  slot.scanner = nullptr;
  free_slots_.push_back(id);
}

inspectors::NormalizerStats Worker::normalizer_stats() const {
  inspectors::NormalizerStats sum;
  for (const auto& slot : slots_) {
    const auto& s = slot->norm.stats();
    sum.bytes_in += s.bytes_in;
    sum.bytes_out += s.bytes_out;
    sum.ascii_fast += s.ascii_fast;
    sum.utf16_streams += s.utf16_streams;
    sum.nfkc_changed += s.nfkc_changed;
    sum.format_removed += s.format_removed;
    sum.entities_decoded += s.entities_decoded;
    sum.invalid_utf8 += s.invalid_utf8;
    sum.invalid_utf16 += s.invalid_utf16;
  }
  return sum;
}

void Worker::weird(std::string_view what) { ++counters_.weirds[what]; }

void Worker::flow_meta(const inspectors::ContentMeta& meta) {
  if (current_flow_ == nullptr) return;
  Flow& flow = *current_flow_;
  if (!flow.meta) flow.meta = std::make_unique<inspectors::ContentMeta>();
  // Newer flow facts win over older ones (a later SNI-less record must not erase one).
  inspectors::ContentMeta merged = meta;
  inspectors::merge_meta(merged, *flow.meta);
  *flow.meta = std::move(merged);
}

void Worker::add_flow_meta(Finding& f) const {
  if (current_flow_ != nullptr && current_flow_->meta) {
    inspectors::merge_meta(f.meta, *current_flow_->meta);
  }
}

void Worker::report(const inspectors::Report& r) {
  if (current_flow_ == nullptr) return;
  const Flow& flow = *current_flow_;
  Finding f;
  f.ts_ns = now_ns_;
  f.finding_id = (static_cast<std::uint64_t>(worker_id_) << 48) | next_finding_++;
  const bool outbound = r.meta.dir == inspectors::Dir::to_server;
  f.src_ip = outbound ? flow.client_ip : flow.server_ip;
  f.dst_ip = outbound ? flow.server_ip : flow.client_ip;
  f.src_port = outbound ? flow.client_port : flow.server_port;
  f.dst_port = outbound ? flow.server_port : flow.client_port;
  f.transport = flow.proto;
  f.detector = r.detector;
  f.detector_name = r.name;
  f.category = r.category;
  f.severity = r.severity;
  f.confidence = r.high_confidence ? signatures::Confidence::high : signatures::Confidence::medium;
  f.count = r.count;
  f.meta = r.meta;
  add_flow_meta(f);
  f.reasons = r.reasons;
  judge_finding(f);
  ++counters_.reports;
  ++counters_.findings;
  push(std::move(f));
}

Finding Worker::make_finding(const ContentSlot& slot, std::uint64_t ts_ns) {
  Finding f;
  f.ts_ns = ts_ns;
  f.finding_id = (static_cast<std::uint64_t>(worker_id_) << 48) | next_finding_++;
  f.src_ip = slot.src;
  f.dst_ip = slot.dst;
  f.src_port = slot.sport;
  f.dst_port = slot.dport;
  f.transport = slot.transport;
  f.meta = slot.meta;
  add_flow_meta(f);
  return f;
}

void Worker::emit_edm(ContentSlot& slot) {
  for (const signatures::EdmHit& hit : slot.edm->hits()) {
    Finding f = make_finding(slot, now_ns_);
    f.detector = "edm.customer_record";
    f.detector_name = "Customer record (exact data match)";
    f.category = "customer_record";
    f.severity = "high";
    f.confidence = signatures::Confidence::high;
    f.count = hit.fields;
    f.masked = hit.masked;
    f.hashes = {hit.row_hash_id};
    f.stream_offset = hit.first_offset;
    std::string cols;
    for (const auto& c : hit.columns) cols += (cols.empty() ? "" : ", ") + c;
    f.reasons.push_back(std::to_string(hit.fields) + " fields of one indexed row (" + cols +
                        ") within " + std::to_string(cfg_.edm_config.window) + " bytes");
    judge_finding(f);
    ++counters_.edm_matches;
    ++counters_.findings;
    push(std::move(f));
  }
}

void Worker::emit(ContentSlot& slot) {
  const auto& detectors = slot.scanner->db().detectors();
  for (const signatures::DetectorHit* hit : slot.scan->reportable()) {
    const signatures::Detector& det = detectors[hit->detector];
    Finding f = make_finding(slot, slot.first_hit_ns != 0 ? slot.first_hit_ns : now_ns_);
    f.detector = det.id;
    f.detector_name = det.name;
    f.category = det.category;
    f.severity = det.severity;
    f.confidence = hit->confidence;
    f.count = hit->count;
    f.masked = hit->masked;
    f.hashes = hit->hashes;
    f.stream_offset = hit->first_offset;
    f.reasons = hit->reasons;  // validator, context, count: why this confidence
    f.reasons.push_back(std::to_string(hit->count) + (hit->count == 1 ? " match" : " matches") +
                        " in one " + std::string(inspectors::app_name(slot.meta.app)) +
                        " content stream");
    judge_finding(f);  // the stream's verdict is already applied (judge())
    ++counters_.findings;
    push(std::move(f));
  }
}

void Worker::judge_finding(Finding& f) {
  if (enforcement_ == nullptr) return;
  const ActionRule* rule = nullptr;
  f.verdict = enforcement_->decide(f.category, f.detector, f.confidence, f.src_ip, &rule);
  if (f.verdict == Verdict::pass) return;
  f.reasons.push_back(std::string("inline verdict ") + std::string(verdict_name(f.verdict)) +
                      (rule ? " by action rule at " + rule->source
                            : std::string(" by management-plane enforcement for this source")));
  if (current_flow_ != nullptr) apply_verdict(*current_flow_, f.verdict);
}

void Worker::push(Finding&& f) {
  // Never lose a finding: when the ring is full, keep it and retry after the burst.
  if (backlog_.empty() && ring_.try_push(std::move(f))) return;
  ++counters_.findings_backlogged;
  backlog_.push_back(std::move(f));
}

bool Worker::flush_backlog() {
  std::size_t i = 0;
  while (i < backlog_.size() && ring_.try_push(std::move(backlog_[i]))) ++i;
  backlog_.erase(backlog_.begin(), backlog_.begin() + static_cast<std::ptrdiff_t>(i));
  return backlog_.empty();
}

void Worker::swap_database(std::shared_ptr<const signatures::Database> db) {
  if (!db || db.get() == &scanner_->db()) return;
  auto next = std::make_unique<signatures::Scanner>(std::move(db));
  if (scanner_open_ > 0) retired_scanners_.emplace_back(std::move(scanner_), scanner_open_);
  scanner_ = std::move(next);
  scanner_open_ = 0;
}

// ---- inline mode ----

Disposition Worker::inspect(const RawPacket& pkt, void* cookie) {
  in_inspect_ = true;
  pkt_flow_ = nullptr;
  pkt_hold_ = false;
  handle_packet(pkt);
  in_inspect_ = false;
  Flow* f = pkt_flow_;
  pkt_flow_ = nullptr;
  if (f == nullptr) return Disposition::forward;  // not a flow (ARP, ICMP, fragment): bridged
  const Verdict v = verdict_of(*f);
  if (v != Verdict::pass) {
    if (!(f->app_data & kInspectorClosed)) {
      // Nothing more of this flow is inspected: its findings leave now, with the verdict,
      // not when the blocked connection finally times out.
      if (f->inspector) f->inspector->close();
      f->inspector.reset();
      f->app_data |= kInspectorClosed;
    }
    ++inline_.dropped_packets;
    if (v == Verdict::reset && f->tcp && !(f->app_data & kResetSent)) {
      f->app_data |= kResetSent;
      const std::size_t before = resets_.size();
      build_resets(pkt.data, pkt.linktype, pkt_rst_, resets_);
      inline_.resets_sent += resets_.size() - before;
    }
    return Disposition::drop;
  }
  if (pkt_hold_) {
    holds_.push_back({cookie, f, f->serial, pkt_end_, pkt_side_});
    add_holds(*f, 1);
    ++inline_.held;
    if (holds_.size() > cfg_.max_held_packets) {
      // The oldest held packet goes, by the overload mode: never stall, always counted.
      Hold h = holds_.front();
      holds_.erase(holds_.begin());
      if (h.flow->serial == h.serial) add_holds(*h.flow, -1);
      ++inline_.hold_overflow;
      released_.push_back({h.cookie, cfg_.hold_cap_open, true});
    }
    return Disposition::held;
  }
  if (holds_of(*f) != 0) resolve_holds(*f, false);
  return Disposition::forward;
}

void Worker::end_burst() {
  flows_.expire(now_ns_);
  defrag_.expire(now_ns_);
  if (!backlog_.empty()) flush_backlog();
}

void Worker::tick(std::uint64_t now_ns) {
  if (now_ns > now_ns_) now_ns_ = now_ns;
  end_burst();
}

void Worker::release_all() {
  for (const Hold& h : holds_) {
    const bool valid = h.flow->serial == h.serial;
    const bool fwd = !valid || verdict_of(*h.flow) == Verdict::pass;
    released_.push_back({h.cookie, fwd, false});
    if (valid) add_holds(*h.flow, -1);
  }
  holds_.clear();
}

void Worker::resolve_holds(Flow& flow, bool flow_ending) {
  const Verdict v = verdict_of(flow);
  std::size_t keep = 0;
  for (std::size_t i = 0; i < holds_.size(); ++i) {
    Hold& h = holds_[i];
    if (h.flow != &flow || h.serial != flow.serial) {
      holds_[keep++] = h;
      continue;
    }
    bool done = flow_ending || v != Verdict::pass || !flow.tcp || flow.tcp->finished() ||
                (flow.app_data & kInspectorClosed);
    if (!done) {
      const TcpStream& st = flow.tcp->stream(h.side);
      done = st.delivered() >= h.end || st.depth_reached();
    }
    if (!done) {
      holds_[keep++] = h;
      continue;
    }
    add_holds(flow, -1);
    if (v == Verdict::pass) {
      ++inline_.released;
      released_.push_back({h.cookie, true, false});
    } else {
      ++inline_.dropped_packets;
      released_.push_back({h.cookie, false, false});
    }
  }
  holds_.resize(keep);
}

void Worker::apply_verdict(Flow& flow, Verdict v) {
  const Verdict cur = verdict_of(flow);
  if (v <= cur) return;
  if (cur == Verdict::pass) {
    if (v == Verdict::drop) ++inline_.verdict_drop;
    else ++inline_.verdict_reset;
  }
  flow.app_data = (flow.app_data & ~kVerdictMask) | (static_cast<std::uint32_t>(v) << kVerdictShift);
  if (holds_of(flow) != 0) resolve_holds(flow, false);
}

void Worker::judge(ContentSlot& slot) {
  if (enforcement_ == nullptr || current_flow_ == nullptr || !slot.scan) return;
  const auto& dets = slot.scanner->db().detectors();
  Verdict best = slot.verdict;
  for (const signatures::DetectorHit& h : slot.scan->hits()) {
    const signatures::Detector& det = dets[h.detector];
    if (h.count < det.min_count) continue;
    const Verdict v = enforcement_->decide(det.category, det.id, h.confidence, slot.src);
    if (v > best) best = v;
  }
  if (best > slot.verdict) {
    slot.verdict = best;
    apply_verdict(*current_flow_, best);
  }
}

}  // namespace dlp::dataplane
