#include "dataplane/worker.h"

#include <optional>
#include <utility>

namespace dlp::dataplane {
namespace {

// Flow::app_data bits owned by the worker.
constexpr std::uint32_t kInspectorClosed = 1u << 0;

inspectors::Dir dir_of(Side side) {
  return side == Side::client ? inspectors::Dir::to_server : inspectors::Dir::to_client;
}

}  // namespace

// One open content stream: its normaliser feeds the scanner (and the EDM matcher) through
// text(). Slots are reused; the normaliser resets itself at finish().
struct Worker::ContentSlot final : inspectors::TextSink {
  void text(Bytes normalized) override {
    if (scan->write(normalized) && first_hit_ns == 0) first_hit_ns = *now_ns;
    if (edm) edm->write(normalized);
  }
  explicit ContentSlot(const std::uint64_t* clock) : now_ns(clock) {}

  const std::uint64_t* now_ns;
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
      scanner_(std::move(db)),
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

  current_flow_ = &flow;
  if (flow.tcp) {
    ++counters_.tcp_packets;
    Segment seg{d.seq, d.ack, d.tcp_flags, d.window, d.payload};
    flow.tcp->on_segment(r.from, seg, *this);
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
  current_flow_ = saved;
}

inspectors::ContentSink::StreamId Worker::open(const inspectors::ContentMeta& meta) {
  StreamId id;
  if (!free_slots_.empty()) {
    id = free_slots_.back();
    free_slots_.pop_back();
  } else {
    id = static_cast<StreamId>(slots_.size());
    slots_.push_back(std::make_unique<ContentSlot>(&now_ns_));
  }
  ContentSlot& slot = *slots_[id];
  slot.scan.emplace(scanner_.open());
  if (cfg_.edm) slot.edm.emplace(*cfg_.edm, cfg_.edm_config);
  slot.meta = meta;
  slot.first_hit_ns = 0;
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
  emit(slot);
  if (slot.edm) {
    slot.edm->close();
    emit_edm(slot);
    slot.edm.reset();
  }
  slot.scan.reset();
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
    ++counters_.edm_matches;
    ++counters_.findings;
    push(std::move(f));
  }
}

void Worker::emit(ContentSlot& slot) {
  const auto& detectors = scanner_.db().detectors();
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
    ++counters_.findings;
    push(std::move(f));
  }
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

}  // namespace dlp::dataplane
