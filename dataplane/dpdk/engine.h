// The inline dataplane on DPDK: two ports bridged at layer 2 (a bump in the wire), worker
// lcores that run the same inspection as `dlpgate scan` on every frame before it is
// forwarded, and verdicts (pass / drop / reset) applied on the spot.
//
//   EngineConfig cfg;  cfg.eal = {"--no-huge", "-m", "512", "--vdev=net_af_packet0,iface=veth-in", ...};
//   auto engine = Engine::create(cfg, db, registry, enforcement);   // EAL, ports, queues
//   (*engine)->start();                                             // workers on their lcores
//   while (running) { (*engine)->drain(on_finding); (*engine)->watchdog(); sleep; }
//   (*engine)->stop();                                              // drain, flush, findings out
//
// Layout. Frames from the inside port go out of the outside port and back; whatever is not
// TCP/UDP over IP (ARP, ICMP, LLDP, ...) is forwarded unchanged. Each worker owns its flows.
// Both directions of a flow reach one worker:
//   - RSS mode: when both ports have a receive and a transmit queue per worker and offer
//     RSS on IP, each worker polls queue i of both ports and RSS runs with the symmetric
//     key (0x6d5a repeated), over IP addresses only, so fragments and both directions of a
//     flow hash alike;
//   - distributor mode otherwise (one queue, e.g. net_af_packet, net_pcap): worker 0 polls
//     the ports, hashes each frame's address pair symmetrically and hands other workers
//     theirs through single-producer/single-consumer rings; they return what to transmit
//     through a second ring and worker 0 sends it. A full hand-off ring is overload.
// No locks and no allocation per packet on the workers: mbufs come from one mempool,
// findings leave through one SPSC ring per worker, the enforcement snapshot is read through
// an RCU cell once per burst.
//
// Overload: a full hand-off ring or the held-packet cap follows `fail_open` (forward
// uninspected, counted) or fail-closed (drop, counted); nothing waits. The watchdog sees a
// worker whose heartbeat stops (hung) or whose lcore returned (crashed).
//
// DPDK's EAL is initialised once per process, by the first Engine (later ones reuse it and
// ignore their `eal` arguments); Engine::shutdown_eal() releases it at the very end.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/dlp/result.h"
#include "dataplane/finding.h"
#include "dataplane/rcu.h"
#include "dataplane/verdict.h"
#include "dataplane/worker.h"

namespace dlp::dataplane {

struct EngineConfig {
  std::vector<std::string> eal;  // EAL arguments (argv[0] is added)
  std::uint16_t inside_port = 0;   // faces the users
  std::uint16_t outside_port = 1;  // faces the internet
  unsigned workers = 1;
  std::uint32_t mempool_mbufs = 16383;  // per appliance
  std::uint32_t mbuf_cache = 256;
  std::uint16_t rx_descriptors = 1024;  // per queue
  std::uint16_t tx_descriptors = 1024;
  std::uint32_t ring_size = 2048;       // distributor hand-off rings (power of two)
  std::uint16_t burst = 32;
  std::uint32_t findings_ring = 4096;   // per worker (power of two)
  bool fail_open = true;                // on overload: forward uninspected; else drop
  bool inspect = true;                  // false: pure bridge (the benchmark's baseline)
  // A worker that saw no packet for this many polls sleeps idle_sleep_us (0: pure
  // polling, for cores of its own; a lab on shared cores wants a few microseconds).
  std::uint32_t idle_polls = 256;
  std::uint32_t idle_sleep_us = 0;
  std::uint32_t stall_ms = 2000;        // watchdog: a heartbeat older than this is hung
  WorkerConfig worker;
};

// One port's figures, from rte_eth_stats_get plus our own transmit accounting.
struct PortStats {
  std::uint16_t port = 0;
  std::string name;  // device name (net_af_packet0, 0000:03:00.0)
  std::uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
  std::uint64_t rx_missed = 0, rx_errors = 0, rx_nombuf = 0, tx_errors = 0;
};

// One worker's figures, published by the worker after every burst (relaxed atomics).
struct WorkerStats {
  unsigned worker = 0;
  unsigned lcore = 0;
  std::uint64_t packets = 0, bytes = 0;
  std::uint64_t forwarded = 0, forwarded_uninspected = 0;
  std::uint64_t dropped_verdict = 0, dropped_overload = 0, dropped_tx = 0;
  std::uint64_t held = 0, released = 0, resets_sent = 0;
  std::uint64_t flows_active = 0, flows_created = 0;
  std::uint64_t findings = 0, verdict_drop = 0, verdict_reset = 0;
  std::uint64_t decode_malformed = 0, not_linearizable = 0;
  std::uint64_t heartbeat = 0;
  std::uint64_t latency_p50_ns = 0, latency_p99_ns = 0;  // receive to transmit, per packet
  bool hung = false, stopped = false, crashed = false;
};

struct EngineStats {
  std::vector<PortStats> ports;
  std::vector<WorkerStats> workers;
  std::string mode;  // "rss" | "distributor"
  std::uint64_t enforcement_version = 0;
};

enum class EngineFault { stall, crash };

class Engine {
 public:
  // Initialises the EAL with cfg.eal, checks the ports, creates the mempool and queues.
  // Errors say which port or argument and DPDK's reason.
  static Result<std::unique_ptr<Engine>> create(const EngineConfig& cfg,
                                                std::shared_ptr<const signatures::Database> db,
                                                const inspectors::Registry& registry,
                                                RcuCell<Enforcement>& enforcement);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts the ports and launches the workers on their lcores.
  Result<void> start();
  // Stops receiving, lets workers drain their queues, ends every flow (findings flushed,
  // held packets released by their verdicts), stops the ports. Idempotent.
  void stop();
  // Control plane: hands every finding waiting in the workers' rings to `fn`.
  std::size_t drain(const std::function<void(Finding&&)>& fn);
  // Control plane: a new detector database for content streams opened from now on;
  // streams already open finish with the one they started with. No packet is dropped.
  void reload_database(std::shared_ptr<const signatures::Database> db);
  EngineStats stats() const;
  // Returns the workers found hung or stopped since the last call (and logs nothing).
  std::vector<unsigned> watchdog();
  // Tests of the watchdog: worker `worker` sleeps `stall_ms` once (stall), or leaves its
  // loop on an exception as a broken worker would (crash).
  void inject_fault(unsigned worker, EngineFault fault, std::uint32_t stall_ms = 0);
  bool running() const;
  // Releases the EAL; no Engine may be created afterwards in this process.
  static void shutdown_eal();
  const EngineConfig& config() const;

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dlp::dataplane
