// The flow table: one entry per 5-tuple holding both directions, owned by one worker.
//
// Entries live in a pool that grows in fixed chunks up to `max_flows` and never shrinks
// while running, so a lookup or an insert costs the same at 1,000 or 500,000 flows:
// a hash of the normalised key, a walk of a short bucket chain, and an O(1) move to the
// tail of an LRU list. Timeouts run on packet time: expire(now) pops flows from the head
// of the idle list and of the closed list while they are older than their timeout. When
// the pool is full the least recently used flow is evicted (counted), never the new one.
//
//   FlowTable table(cfg, reasm, memory, reasm_counters, events);
//   auto r = table.lookup_or_create(decoded, pkt.ts_ns);
//   if (!r.flow) { /* counted: non-TCP/UDP or no room */ }
//   table.expire(pkt.ts_ns);            // cheap; call once per burst
//   table.flush();                       // end of input: every flow ends
//
// Details the tests pin down:
// - Idle lists. An open flow sits on one of three LRU lists, each with one timeout, so
//   popping from the head is exact: half-open TCP (handshake not completed: syn_idle_ns),
//   TCP (tcp_idle_ns) and UDP (udp_idle_ns). One list with per-flow timeouts would let a
//   SYN flood's 30 s flows wait behind a 300 s connection. A flow's list is chosen when a
//   packet touches it, from the TcpSession state *before* that packet is processed; a
//   half-open flow found established at its timeout moves to the TCP list then, which
//   can end it up to syn_idle_ns later than tcp_idle_ns after its last packet.
// - A flow expires when now >= last_ns + timeout. last_ns never moves backwards.
// - mark_closing() moves a flow to the closed list (closed_ns, counted from its last
//   packet; later packets keep it there). A SYN without ACK for a closing TCP flow is a
//   new connection on a reused port: the old flow ends (FlowEnd::closed) and a new one
//   is created.
// - Eviction (pool full) takes the head of the closed list if any (those flows are done),
//   otherwise the least recently used flow of the three idle lists.
// - on_flow_end() is called exactly once per flow, before its TcpSession and inspector
//   are destroyed and its slot reused. The destructor ends nothing: call flush() first
//   (the worker does); it only frees sessions, which returns their held memory.
// - The ReassemblyConfig passed in must outlive the table (sessions keep a reference).
// - hash_flow_key is symmetric in (a, pa) <-> (b, pb) even for a key that is not
//   normalised, and seeded once per process so chains cannot be grown on purpose.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "dataplane/packet.h"
#include "dataplane/tcp_reassembly.h"
#include "inspectors/inspector.h"

namespace dlp::dataplane {

// Normalised so that both directions give the same key: (a, pa) <= (b, pb).
struct FlowKey {
  IpAddr a, b;
  std::uint16_t pa = 0, pb = 0;
  std::uint8_t proto = 0;
  bool operator==(const FlowKey&) const = default;
};
std::uint64_t hash_flow_key(const FlowKey& k);  // symmetric by construction
// The normalised key of a decoded TCP/UDP packet: the same for both directions.
FlowKey flow_key_of(const Decoded& d);

struct FlowConfig {
  std::uint32_t max_flows = 512 * 1024;
  std::uint64_t tcp_idle_ns = 300ull * 1'000'000'000;   // established, no packets
  std::uint64_t udp_idle_ns = 60ull * 1'000'000'000;
  std::uint64_t closed_ns = 10ull * 1'000'000'000;      // after FIN both ways or RST
  std::uint64_t syn_idle_ns = 30ull * 1'000'000'000;    // handshake never completed
};

enum class FlowEnd : std::uint8_t { closed, idle_timeout, evicted, flushed };

struct Flow {
  FlowKey key;
  // Orientation: the client is who sent the first SYN (or, midstream, the guess).
  IpAddr client_ip, server_ip;
  std::uint16_t client_port = 0, server_port = 0;
  std::uint8_t proto = 0;
  std::uint64_t first_ns = 0, last_ns = 0;
  std::uint64_t packets[2] = {0, 0};  // by Side
  std::uint64_t bytes[2] = {0, 0};    // payload bytes by Side
  bool closing = false;               // moved to the closed-timeout list

  std::optional<TcpSession> tcp;      // TCP only
  std::unique_ptr<inspectors::Inspector> inspector;  // chosen on the first payload
  // Flow-level metadata from the inspector (TLS SNI/ALPN/JA4, notes); only when set.
  std::unique_ptr<inspectors::ContentMeta> meta;
  std::uint32_t app_data = 0;         // free for the worker (e.g. verdict, flags)
  // Unique per flow within one table (1, 2, ...): tells a reused slot from the flow that
  // held it before, for anyone keeping a Flow* across packets (inline held packets).
  std::uint64_t serial = 0;

  // Intrusive links (pool indices), owned by FlowTable.
  std::uint32_t self_ = 0, hash_next_ = 0, lru_prev_ = 0, lru_next_ = 0;
  std::uint64_t hash_ = 0;
  bool in_use_ = false;
  std::uint8_t list_ = 0;  // which timeout list the flow is on (FlowTable's business)
};

struct FlowCounters {
  std::uint64_t created = 0;
  std::uint64_t ended_closed = 0;
  std::uint64_t ended_idle = 0;
  std::uint64_t evicted = 0;     // pool full: LRU flow pushed out
  std::uint64_t flushed = 0;
  std::uint64_t active = 0;
  std::uint64_t peak_active = 0;
  std::uint64_t not_flow = 0;    // packets with no flow (not TCP/UDP)
};

// Told when a flow ends, before its entry is reused, so the worker can close the
// inspector (which flushes content streams into findings).
class FlowEvents {
 public:
  virtual ~FlowEvents() = default;
  virtual void on_flow_end(Flow& flow, FlowEnd why) = 0;
};

struct FlowLookup {
  Flow* flow = nullptr;
  Side from = Side::client;  // which end sent this packet
  bool created = false;
};

class FlowTable {
 public:
  FlowTable(const FlowConfig& cfg, const ReassemblyConfig& reasm, ReassemblyMemory& memory,
            ReassemblyCounters& reasm_counters, FlowEvents& events);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // Find the flow of a decoded TCP/UDP packet, creating it if new; moves it to the LRU
  // tail and updates last_ns. For TCP the TcpSession is constructed on creation.
  FlowLookup lookup_or_create(const Decoded& d, std::uint64_t now_ns);
  // Put a flow on the closed-timeout list (after FIN both ways or RST).
  void mark_closing(Flow& flow);
  // End flows whose timeout has passed at `now_ns`.
  void expire(std::uint64_t now_ns);
  // End every flow (end of capture, shutdown).
  void flush();

  const FlowCounters& counters() const { return counters_; }
  std::size_t size() const { return counters_.active; }
  std::size_t memory_bytes() const;  // pool + buckets, for the summary

 private:
  // The implementation owns the rest.
  struct Impl;
  std::unique_ptr<Impl> impl_;
  FlowCounters counters_;
};

}  // namespace dlp::dataplane
