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

  const WorkerCounters& counters() const { return counters_; }
  const FlowCounters& flow_counters() const { return flows_.counters(); }
  const ReassemblyCounters& reassembly_counters() const { return reasm_counters_; }
  const DefragCounters& defrag_counters() const { return defrag_.counters(); }
  const signatures::ScanStats& scan_stats() const { return scanner_.stats(); }
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
  void push(Finding&& f);

  WorkerConfig cfg_;
  std::uint16_t worker_id_;
  const inspectors::Registry& registry_;
  SpscRing<Finding>& ring_;
  signatures::Scanner scanner_;
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
};

}  // namespace dlp::dataplane
