// The worker: the per-core loop that carries a burst of frames through decode, defrag,
// the flow table, TCP reassembly, the flow's inspector and the streaming scanner, and
// pushes Findings into its ring. One per core; it owns its flows, scratch and counters,
// and shares nothing writable with anyone.
//
//   Worker w(cfg, db, registry, ring, /*worker_id=*/0);
//   while (size_t n = source.next_burst(burst)) w.process({burst, n});
//   w.finish();                       // end of input: every flow ends, findings flushed
//   const WorkerCounters& c = w.counters();
//
// Hot path: no exceptions, no logging, no locks. Allocation happens per flow (inspector,
// reassembly state for out-of-order data) and per content stream (Hyperscan stream
// state), never per in-order packet.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "dataplane/decode.h"
#include "dataplane/defrag.h"
#include "dataplane/finding.h"
#include "dataplane/flow_table.h"
#include "dataplane/packet.h"
#include "dataplane/spsc_ring.h"
#include "dataplane/tcp_reassembly.h"
#include "dataplane/verdict.h"
#include "inspectors/files/file_sink.h"
#include "inspectors/inspector.h"
#include "inspectors/normalizer.h"
#include "signatures/edm.h"
#include "signatures/scanner.h"

namespace dlp::dataplane {

struct WorkerConfig {
  FlowConfig flows;
  ReassemblyConfig reassembly;
  std::uint64_t reassembly_memory_cap = 256ull << 20;
  DefragConfig defrag;
  // Anti-evasion text normalisation (UTF-16, NFKC, format characters, HTML entities)
  // between the inspectors and the scanner.
  bool normalize = true;
  // Depth, decompression, file and memory limits of the inspectors and the file layer
  // (the Registry's factories take the same values).
  inspectors::Limits limits;
  // Exact data match: when an index is given, every content stream is also matched
  // against it, and a row seen with enough fields becomes a customer_record finding.
  std::shared_ptr<const signatures::EdmIndex> edm;
  signatures::EdmConfig edm_config;
  // Inline: most packets held at once per worker; past it the oldest is let go,
  // forwarded uninspected when hold_cap_open (fail-open), else dropped (fail-closed).
  std::size_t max_held_packets = 8192;
  bool hold_cap_open = true;
};

// Inline mode: what becomes of one packet handed to Worker::inspect().
enum class Disposition : std::uint8_t {
  forward,  // send it on
  drop,     // its flow has a drop/reset verdict (or it is the packet that earned one)
  held,     // TCP data not yet inspected (out of order): the worker keeps the cookie and
            // hands it back through released() once the bytes are inspected
};

// A held packet whose fate is known.
struct Released {
  void* cookie = nullptr;
  bool forward = false;
  bool uninspected = false;  // let go by the hold cap (fail-open) rather than inspected
};

struct InlineCounters {
  std::uint64_t verdict_drop = 0;    // flows given a drop verdict
  std::uint64_t verdict_reset = 0;   // flows given a reset verdict
  std::uint64_t dropped_packets = 0; // packets not forwarded because of a verdict
  std::uint64_t resets_sent = 0;     // RST frames built
  std::uint64_t held = 0;            // packets held for inspection
  std::uint64_t released = 0;        // held packets forwarded after inspection
  std::uint64_t hold_overflow = 0;   // held packets let go by the cap (see hold_cap_open)
};

struct WorkerCounters {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;          // frame bytes on the wire
  std::uint64_t payload_bytes = 0;  // bytes handed to inspectors
  std::uint64_t tcp_packets = 0;
  std::uint64_t udp_packets = 0;
  std::uint64_t content_streams = 0;
  std::uint64_t findings = 0;
  std::uint64_t findings_backlogged = 0;  // ring was full; kept and pushed later
  std::uint64_t edm_matches = 0;          // customer rows found
  std::uint64_t reports = 0;              // findings raised by inspectors (dns_exfil, limit)
  DecodeCounters decode;
  // Anomalies reported by inspectors, by name.
  std::map<std::string_view, std::uint64_t> weirds;
};

class Worker final : public FlowEvents, public StreamSink, public inspectors::ContentSink {
 public:
  Worker(const WorkerConfig& cfg, std::shared_ptr<const signatures::Database> db,
         const inspectors::Registry& registry, SpscRing<Finding>& ring, std::uint16_t worker_id);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void process(std::span<const RawPacket> burst);
  // End of input: end every flow (flushing reassembly and inspectors) and push findings.
  void finish();
  // Push findings that did not fit in the ring earlier. Returns true when none remain.
  bool flush_backlog();

  // Inline mode (the appliance). The same inspection as process(), one packet at a time,
  // with a verdict before the packet goes anywhere:
  //   w.set_enforcement(snapshot);                 // once per burst (RCU read side)
  //   for each frame: switch (w.inspect(pkt, mbuf)) { forward / drop / held }
  //                   for (auto& r : w.resets()) send r.frame; w.resets().clear();
  //   w.end_burst();  for (auto& r : w.released()) forward or free r.cookie; clear.
  // A packet is `held` when it carries TCP bytes the reassembler could not deliver yet;
  // it is released (forward) once they are inspected, or dropped if its flow earns a
  // verdict first. Bytes already seen and forwarded are never held again.
  Disposition inspect(const RawPacket& pkt, void* cookie);
  void end_burst();
  // No frame arrived, but time went on to `now_ns` (inline: the wall clock): expires what
  // timed out, as end_burst() does.
  void tick(std::uint64_t now_ns);
  void set_enforcement(const Enforcement* e) { enforcement_ = e; }
  // Detector reload: content streams opened from now on use `db`; those already open
  // finish on the database they started with (its scanner lives until they close).
  void swap_database(std::shared_ptr<const signatures::Database> db);
  std::vector<ResetFrame>& resets() { return resets_; }
  std::vector<Released>& released() { return released_; }
  // Every held packet, released with the verdict of its flow (shutdown: call after finish()).
  void release_all();
  std::size_t held_packets() const { return holds_.size(); }
  const InlineCounters& inline_counters() const { return inline_; }

  const WorkerCounters& counters() const { return counters_; }
  const FlowCounters& flow_counters() const { return flows_.counters(); }
  const ReassemblyCounters& reassembly_counters() const { return reasm_counters_; }
  const DefragCounters& defrag_counters() const { return defrag_.counters(); }
  // Of the current database's scanner (a reload starts them afresh).
  const signatures::ScanStats& scan_stats() const { return scanner_->stats(); }
  std::uint64_t flow_memory_bytes() const { return flows_.memory_bytes(); }
  // Summed over every content stream so far.
  inspectors::NormalizerStats normalizer_stats() const;
  const inspectors::FileStats& file_stats() const { return files_.stats(); }

  // FlowEvents
  void on_flow_end(Flow& flow, FlowEnd why) override;
  // StreamSink (reassembled TCP bytes of the current flow)
  void on_data(Side side, Bytes bytes) override;
  void on_gap(Side side, std::uint64_t len) override;
  // inspectors::ContentSink (decoded content of the current flow)
  StreamId open(const inspectors::ContentMeta& meta) override;
  void write(StreamId id, Bytes data) override;
  void gap(StreamId id, std::uint64_t len) override;
  void close(StreamId id) override;
  void weird(std::string_view what) override;
  void flow_meta(const inspectors::ContentMeta& meta) override;
  void report(const inspectors::Report& r) override;
  std::uint64_t now_ns() const override { return now_ns_; }

 private:
  struct ContentSlot;
  void handle_packet(const RawPacket& pkt);
  void handle_l4(Decoded& d, std::uint64_t ts_ns);
  void ensure_inspector(Flow& flow, Side first_side, Bytes first_bytes);
  void emit(ContentSlot& slot);
  void emit_edm(ContentSlot& slot);
  Finding make_finding(const ContentSlot& slot, std::uint64_t ts_ns);
  void add_flow_meta(Finding& f) const;
  // Inline: the verdict this finding earns (action rules, then per-source enforcement),
  // with its reason, applied to the flow being inspected.
  void judge_finding(Finding& f);
  void push(Finding&& f);
  // Inline: the hits of `slot` (or an inspector report) against the enforcement snapshot.
  void judge(ContentSlot& slot);
  void apply_verdict(Flow& flow, Verdict v);
  void resolve_holds(Flow& flow, bool flow_ending);

  WorkerConfig cfg_;
  std::uint16_t worker_id_;
  const inspectors::Registry& registry_;
  SpscRing<Finding>& ring_;
  std::unique_ptr<signatures::Scanner> scanner_;
  std::size_t scanner_open_ = 0;  // content streams open on scanner_
  // Scanners of replaced databases, kept until their last content stream closes.
  std::vector<std::pair<std::unique_ptr<signatures::Scanner>, std::size_t>> retired_scanners_;
  ReassemblyMemory reasm_memory_;
  ReassemblyCounters reasm_counters_;
  Defragmenter defrag_;
  FlowTable flows_;
  WorkerCounters counters_;
  // Inspectors write into the file layer, which writes into this worker.
  inspectors::FileSink files_;

  std::vector<std::unique_ptr<ContentSlot>> slots_;
  std::vector<StreamId> free_slots_;
  std::vector<Finding> backlog_;
  std::uint64_t next_finding_ = 1;

  // Context of the packet being processed (packet time, its flow).
  std::uint64_t now_ns_ = 0;
  Flow* current_flow_ = nullptr;

  // Inline state.
  struct Hold {
    void* cookie;
    Flow* flow;
    std::uint64_t serial;
    std::uint64_t end;  // stream offset the packet's bytes end at
    Side side;
  };
  const Enforcement* enforcement_ = nullptr;
  bool in_inspect_ = false;      // inside inspect()
  Flow* pkt_flow_ = nullptr;     // the flow of the packet being inspected
  Side pkt_side_ = Side::client;
  bool pkt_hold_ = false;
  std::uint64_t pkt_end_ = 0;
  ResetSeq pkt_rst_{};
  std::vector<Hold> holds_;
  std::vector<ResetFrame> resets_;
  std::vector<Released> released_;
  InlineCounters inline_;
};

}  // namespace dlp::dataplane
