#include "dataplane/dpdk/engine.h"

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "dataplane/decode.h"

namespace dlp::dataplane {
namespace {

constexpr std::size_t kMaxBurst = 64;
constexpr std::size_t kTxBuf = 256;  // per port per worker, flushed when full and per burst

// The symmetric Toeplitz key: with 0x6d5a repeated, swapping source and destination gives
// the same hash (Woo and Park, "Scalable TCP Session Monitoring with Symmetric RSS").
constexpr std::array<std::uint8_t, 40> kSymmetricRssKey = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};

std::uint64_t wall_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Symmetric hash of a frame's IP address pair (addresses only, so fragments and every
// flow between two hosts stay together, as do FTP control and data connections).
std::uint32_t pair_hash(const std::uint8_t* p, std::uint32_t len) {
  std::uint32_t off = 12;
  if (len < 14) return 0;
  std::uint16_t type = static_cast<std::uint16_t>((p[12] << 8) | p[13]);
  off = 14;
  for (int tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8 || type == 0x9100); ++tags) {
    if (len < off + 4) return 0;
    type = static_cast<std::uint16_t>((p[off + 2] << 8) | p[off + 3]);
    off += 4;
  }
  std::uint64_t a = 0, b = 0;
  if (type == 0x0800 && len >= off + 20) {
    std::uint32_t s, d;
    std::memcpy(&s, p + off + 12, 4);
    std::memcpy(&d, p + off + 16, 4);
    a = s;
    b = d;
  } else if (type == 0x86dd && len >= off + 40) {
    std::uint64_t s[2], d[2];
    std::memcpy(s, p + off + 8, 16);
    std::memcpy(d, p + off + 24, 16);
    a = s[0] ^ (s[1] * 0x9e3779b97f4a7c15ull);
    b = d[0] ^ (d[1] * 0x9e3779b97f4a7c15ull);
  } else {
    return 0;
  }
  std::uint64_t x = (a ^ b) + (a & b) * 0x2545f4914f6cdd1dull;  // symmetric in (a, b)
  x ^= x >> 29;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 32;
  return static_cast<std::uint32_t>(x);
}

// Latency histogram: 8 sub-buckets per power of two of nanoseconds (12% resolution).
struct LatencyHist {
  static constexpr int kBuckets = 64 * 8;
  std::array<std::uint64_t, kBuckets> n{};
  std::uint64_t total = 0;
  static int bucket(std::uint64_t ns) {
    if (ns < 8) return static_cast<int>(ns);
    const int lg = 63 - __builtin_clzll(ns);
    const int sub = static_cast<int>((ns >> (lg - 3)) & 7);
    return std::min(kBuckets - 1, (lg - 2) * 8 + sub);
  }
  static std::uint64_t value(int b) {
    if (b < 8) return static_cast<std::uint64_t>(b);
    const int lg = b / 8 + 2;
    const int sub = b % 8;
    return (8ull + static_cast<std::uint64_t>(sub)) << (lg - 3);
  }
  void add(std::uint64_t ns, std::uint64_t count) {
    n[bucket(ns)] += count;
    total += count;
  }
  std::uint64_t quantile(double q) const {
    if (total == 0) return 0;
    const auto want = static_cast<std::uint64_t>(q * static_cast<double>(total));
    std::uint64_t seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
      seen += n[b];
      if (seen > want) return value(b);
    }
    return value(kBuckets - 1);
  }
};

std::string rte_reason() { return rte_strerror(rte_errno); }

}  // namespace

// Published by its worker after every burst, read by the control plane.
struct alignas(64) SharedStats {
  std::atomic<std::uint64_t> packets{0}, bytes{0}, forwarded{0}, forwarded_uninspected{0},
      dropped_verdict{0}, dropped_overload{0}, dropped_tx{0}, held{0}, released{0},
      resets_sent{0}, flows_active{0}, flows_created{0}, findings{0}, verdict_drop{0},
      verdict_reset{0}, decode_malformed{0}, not_linearizable{0}, heartbeat{0},
      lat_p50{0}, lat_p99{0};
  std::atomic<bool> stopped{false};
  std::atomic<bool> crashed{false};  // the worker left on an exception (stopped is set too)
  // Fault injection (tests of the watchdog): checked once per loop, relaxed.
  std::atomic<std::uint32_t> fault_stall_ms{0};
  std::atomic<bool> fault_throw{false};
};

struct WorkerCtx {
  Engine::Impl* engine = nullptr;
  unsigned index = 0;
  unsigned lcore = 0;
  std::unique_ptr<SpscRing<Finding>> findings;
  std::unique_ptr<Worker> worker;
  rte_ring* to_worker = nullptr;    // distributor: frames for this worker (worker 0 produces)
  rte_ring* from_worker = nullptr;  // distributor: frames this worker wants sent
  SharedStats shared;
  // Owned by the worker thread.
  std::array<std::array<rte_mbuf*, kTxBuf>, 2> tx{};
  std::array<std::uint16_t, 2> tx_n{};
  std::array<std::uint64_t, 2> tx_ts{};  // receive TSC of the oldest frame in tx[p]
  LatencyHist lat;
  std::uint64_t packets = 0, bytes = 0, forwarded = 0, forwarded_uninspected = 0,
                dropped_verdict = 0, dropped_overload = 0, dropped_tx = 0,
                not_linearizable = 0;
  std::uint64_t db_version_seen = 0;
  std::uint64_t last_heartbeat = 0;
  std::uint64_t last_heartbeat_tsc = 0;
  bool reported = false;
};

struct Engine::Impl {
  EngineConfig cfg;
  const inspectors::Registry* registry = nullptr;
  RcuCell<Enforcement>* enforcement = nullptr;
  rte_mempool* pool = nullptr;
  std::array<std::uint16_t, 2> ports{};  // [0] inside, [1] outside
  bool rss = false;
  std::vector<std::unique_ptr<WorkerCtx>> workers;
  std::atomic<bool> stop{false};
  std::atomic<bool> started{false};
  bool stopped_done = false;
  std::uint64_t tsc_hz = 1;
  // Detector reload: workers look at the version once per burst, and take the mutex only
  // when it changed (once per reload, never per packet).
  std::atomic<std::uint64_t> db_version{0};
  std::mutex db_mu;
  std::shared_ptr<const signatures::Database> db;

  int port_index(std::uint16_t port_id) const { return port_id == ports[0] ? 0 : 1; }
  void run_worker(WorkerCtx& w);
  void inspect_one(WorkerCtx& w, rte_mbuf* m, int in, std::uint64_t now, std::uint64_t rx_tsc);
  void queue_tx(WorkerCtx& w, int out, rte_mbuf* m, std::uint64_t rx_tsc);
  void flush_tx(WorkerCtx& w, int out);
  void send_or_return(WorkerCtx& w, int out, rte_mbuf* m, std::uint64_t rx_tsc);
  void publish(WorkerCtx& w);
  void handle_released(WorkerCtx& w, std::uint64_t rx_tsc);
  void handle_resets(WorkerCtx& w, int in, std::uint64_t rx_tsc);
};

namespace {

int worker_main(void* arg) {
  auto* w = static_cast<WorkerCtx*>(arg);
  try {
    w->engine->run_worker(*w);
  } catch (...) {
    // A worker that cannot go on (out of memory, a broken invariant) stops and says so;
    // the watchdog reports it and the control plane decides (dlpgate run exits with 3).
    w->shared.crashed.store(true, std::memory_order_relaxed);
    w->shared.stopped.store(true, std::memory_order_release);
    return -1;
  }
  return 0;
}

// Where the frame leaves: the other port. Frames we build (RSTs) and frames handed between
// workers carry their *input* port in m->port, so the same rule holds for them.
inline int out_of(int in) { return in ^ 1; }

}  // namespace

void Engine::Impl::queue_tx(WorkerCtx& w, int out, rte_mbuf* m, std::uint64_t rx_tsc) {
  if (w.tx_n[out] == 0) w.tx_ts[out] = rx_tsc;
  w.tx[out][w.tx_n[out]++] = m;
  if (w.tx_n[out] == kTxBuf) flush_tx(w, out);
}

void Engine::Impl::flush_tx(WorkerCtx& w, int out) {
  const std::uint16_t n = w.tx_n[out];
  if (n == 0) return;
  const std::uint16_t q = rss ? static_cast<std::uint16_t>(w.index) : 0;
  std::uint16_t sent = 0;
  for (int tries = 0; sent < n && tries < 8; ++tries) {
    sent += rte_eth_tx_burst(ports[out], q, w.tx[out].data() + sent, static_cast<std::uint16_t>(n - sent));
  }
  for (std::uint16_t i = sent; i < n; ++i) rte_pktmbuf_free(w.tx[out][i]);
  w.dropped_tx += n - sent;
  if (sent > 0) w.lat.add((rte_rdtsc() - w.tx_ts[out]) * 1'000'000'000ull / tsc_hz, sent);
  w.tx_n[out] = 0;
}

// A worker other than 0 in distributor mode cannot touch the ports: it hands the frame
// back to worker 0, which transmits it.
void Engine::Impl::send_or_return(WorkerCtx& w, int out, rte_mbuf* m, std::uint64_t rx_tsc) {
  if (rss || w.index == 0) {
    queue_tx(w, out, m, rx_tsc);
    return;
  }
  m->port = ports[out ^ 1];  // input-port convention: it leaves by `out`
  if (rte_ring_sp_enqueue(w.from_worker, m) != 0) {
    rte_pktmbuf_free(m);
    ++w.dropped_tx;
  }
}

void Engine::Impl::handle_resets(WorkerCtx& w, int in, std::uint64_t rx_tsc) {
  auto& resets = w.worker->resets();
  for (const ResetFrame& r : resets) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) {
      ++w.dropped_tx;
      continue;
    }
    char* dst = rte_pktmbuf_append(m, static_cast<std::uint16_t>(r.frame.size()));
    if (dst == nullptr) {
      rte_pktmbuf_free(m);
      ++w.dropped_tx;
      continue;
    }
    std::memcpy(dst, r.frame.data(), r.frame.size());
    send_or_return(w, r.toward_sender ? in : out_of(in), m, rx_tsc);
  }
  resets.clear();
}

void Engine::Impl::handle_released(WorkerCtx& w, std::uint64_t rx_tsc) {
  auto& rel = w.worker->released();
  for (const Released& r : rel) {
    auto* m = static_cast<rte_mbuf*>(r.cookie);
    if (r.forward) {
      if (r.uninspected) ++w.forwarded_uninspected;
      else ++w.forwarded;
      send_or_return(w, out_of(port_index(m->port)), m, rx_tsc);
    } else {
      if (r.uninspected) ++w.dropped_overload;
      else ++w.dropped_verdict;
      rte_pktmbuf_free(m);
    }
  }
  rel.clear();
}

void Engine::Impl::inspect_one(WorkerCtx& w, rte_mbuf* m, int in, std::uint64_t now,
                               std::uint64_t rx_tsc) {
  ++w.packets;
  w.bytes += m->pkt_len;
  if (!cfg.inspect) {
    ++w.forwarded;
    send_or_return(w, out_of(in), m, rx_tsc);
    return;
  }
  if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0) {
    // A chained frame we cannot see whole: the overload rule decides.
    ++w.not_linearizable;
    if (cfg.fail_open) {
      ++w.forwarded_uninspected;
      send_or_return(w, out_of(in), m, rx_tsc);
    } else {
      ++w.dropped_overload;
      rte_pktmbuf_free(m);
    }
    return;
  }
  RawPacket raw;
  raw.ts_ns = now;
  raw.data = Bytes(rte_pktmbuf_mtod(m, const std::uint8_t*), rte_pktmbuf_data_len(m));
  raw.wire_len = m->pkt_len;
  raw.index = w.packets;
  raw.linktype = 1;
  m->port = ports[in];
  const Disposition d = w.worker->inspect(raw, m);
  if (!w.worker->resets().empty()) handle_resets(w, in, rx_tsc);
  switch (d) {
    case Disposition::forward:
      ++w.forwarded;
      send_or_return(w, out_of(in), m, rx_tsc);
      break;
    case Disposition::drop:
      ++w.dropped_verdict;
      rte_pktmbuf_free(m);
      break;
    case Disposition::held:
      break;  // the worker keeps it; it comes back through released()
  }
  if (!w.worker->released().empty()) handle_released(w, rx_tsc);
}

void Engine::Impl::publish(WorkerCtx& w) {
  SharedStats& s = w.shared;
  const auto r = std::memory_order_relaxed;
  s.packets.store(w.packets, r);
  s.bytes.store(w.bytes, r);
  s.forwarded.store(w.forwarded, r);
  s.forwarded_uninspected.store(w.forwarded_uninspected, r);
  s.dropped_verdict.store(w.dropped_verdict, r);
  s.dropped_overload.store(w.dropped_overload, r);
  s.dropped_tx.store(w.dropped_tx, r);
  s.not_linearizable.store(w.not_linearizable, r);
  const InlineCounters& ic = w.worker->inline_counters();
  s.held.store(ic.held, r);
  s.released.store(ic.released, r);
  s.resets_sent.store(ic.resets_sent, r);
  s.verdict_drop.store(ic.verdict_drop, r);
  s.verdict_reset.store(ic.verdict_reset, r);
  s.flows_active.store(w.worker->flow_counters().active, r);
  s.flows_created.store(w.worker->flow_counters().created, r);
  s.findings.store(w.worker->counters().findings, r);
  s.decode_malformed.store(w.worker->counters().decode.malformed(), r);
  s.heartbeat.fetch_add(1, r);
}

void Engine::Impl::run_worker(WorkerCtx& w) {
  const std::uint16_t burst = static_cast<std::uint16_t>(std::min<std::size_t>(cfg.burst, kMaxBurst));
  const unsigned nworkers = static_cast<unsigned>(workers.size());
  const bool io = rss || w.index == 0;  // polls the ports itself
  std::array<rte_mbuf*, kMaxBurst> rx{};
  std::array<void*, kMaxBurst> ring_buf{};
  std::uint32_t idle = 0;
  std::uint64_t lat_publish = 0;
  enforcement->online(w.index);
  bool draining = false;
  int quiet_rounds = 0;

  for (;;) {
    if (stop.load(std::memory_order_relaxed) && !draining) draining = true;
    if (const std::uint32_t ms = w.shared.fault_stall_ms.exchange(0, std::memory_order_relaxed)) [[unlikely]] {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
    if (w.shared.fault_throw.load(std::memory_order_relaxed)) [[unlikely]] {
      enforcement->offline(w.index);
      throw std::runtime_error("injected fault");
    }
    enforcement->quiescent(w.index);
    w.worker->set_enforcement(cfg.inspect ? enforcement->get() : nullptr);
    if (const std::uint64_t v = db_version.load(std::memory_order_acquire); v != w.db_version_seen) {
      std::shared_ptr<const signatures::Database> next;
      {
        std::lock_guard<std::mutex> lk(db_mu);
        next = db;
      }
      w.worker->swap_database(std::move(next));
      w.db_version_seen = v;
    }
    // Packet time for inline traffic is the wall clock, read once per burst that has frames.
    std::uint64_t now = 0;
    std::size_t got = 0;

    if (io) {
      for (int p = 0; p < 2; ++p) {
        const std::uint16_t q = rss ? static_cast<std::uint16_t>(w.index) : 0;
        const std::uint16_t n = rte_eth_rx_burst(ports[p], q, rx.data(), burst);
        got += n;
        if (n == 0) continue;
        if (now == 0) now = wall_ns();
        const std::uint64_t rx_tsc = rte_rdtsc();
        for (std::uint16_t i = 0; i < n; ++i) {
          rte_mbuf* m = rx[i];
          if (!rss && nworkers > 1) {
            const unsigned t = pair_hash(rte_pktmbuf_mtod(m, const std::uint8_t*),
                                         rte_pktmbuf_data_len(m)) % nworkers;
            if (t != 0) {
              m->port = ports[p];
              if (rte_ring_sp_enqueue(workers[t]->to_worker, m) == 0) continue;
              // That worker is behind: overload, by the configured mode.
              ++w.packets;
              w.bytes += m->pkt_len;
              if (cfg.fail_open) {
                ++w.forwarded_uninspected;
                queue_tx(w, out_of(p), m, rx_tsc);
              } else {
                ++w.dropped_overload;
                rte_pktmbuf_free(m);
              }
              continue;
            }
          }
          inspect_one(w, m, p, now, rx_tsc);
        }
      }
      // What the other workers want sent.
      if (!rss && w.index == 0) {
        for (unsigned t = 1; t < nworkers; ++t) {
          const unsigned n = rte_ring_sc_dequeue_burst(workers[t]->from_worker, ring_buf.data(),
                                                       kMaxBurst, nullptr);
          got += n;
          const std::uint64_t tsc = rte_rdtsc();
          for (unsigned i = 0; i < n; ++i) {
            auto* m = static_cast<rte_mbuf*>(ring_buf[i]);
            queue_tx(w, out_of(port_index(m->port)), m, tsc);
          }
        }
      }
    } else {
      const unsigned n = rte_ring_sc_dequeue_burst(w.to_worker, ring_buf.data(), burst, nullptr);
      got += n;
      if (n > 0) now = wall_ns();
      const std::uint64_t rx_tsc = rte_rdtsc();
      for (unsigned i = 0; i < n; ++i) {
        auto* m = static_cast<rte_mbuf*>(ring_buf[i]);
        inspect_one(w, m, port_index(m->port), now, rx_tsc);
      }
    }

    if (got == 0 && !draining && (idle & 1023) != 0) {
      // Nothing arrived: no timeouts to run, nothing to send; keep polling.
      ++idle;
      if (idle >= cfg.idle_polls && cfg.idle_sleep_us > 0) {
        std::this_thread::sleep_for(std::chrono::microseconds(cfg.idle_sleep_us));
      } else {
        rte_pause();
      }
      continue;
    }
    if (cfg.inspect) {
      // With no traffic time still passes (inline packet time is the wall clock): idle
      // flows expire and their findings leave without waiting for the next frame.
      if (got == 0) w.worker->tick(wall_ns());
      else w.worker->end_burst();
      if (!w.worker->released().empty()) handle_released(w, rte_rdtsc());
    }
    flush_tx(w, 0);
    flush_tx(w, 1);
    publish(w);
    if (++lat_publish % 1024 == 0) {
      w.shared.lat_p50.store(w.lat.quantile(0.5), std::memory_order_relaxed);
      w.shared.lat_p99.store(w.lat.quantile(0.99), std::memory_order_relaxed);
    }

    if (draining) {
      // Shutdown: keep going until the queues are quiet (and, for worker 0, every other
      // worker has stopped handing frames back), then end every flow.
      bool others_done = true;
      if (!rss && w.index == 0) {
        for (unsigned t = 1; t < nworkers; ++t) {
          if (!workers[t]->shared.stopped.load(std::memory_order_acquire) ||
              rte_ring_count(workers[t]->from_worker) != 0) {
            others_done = false;
          }
        }
      }
      quiet_rounds = got == 0 ? quiet_rounds + 1 : 0;
      if (quiet_rounds >= 3 && others_done) break;
      if (got == 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
      continue;
    }
    if (got == 0) {
      if (++idle >= cfg.idle_polls && cfg.idle_sleep_us > 0) {
        std::this_thread::sleep_for(std::chrono::microseconds(cfg.idle_sleep_us));
      } else {
        rte_pause();
      }
    } else {
      idle = 0;
    }
  }

  // End of traffic: every flow ends (findings flushed), held frames go by their verdicts.
  if (cfg.inspect) {
    w.worker->finish();
    if (!w.worker->resets().empty()) w.worker->resets().clear();  // no trigger frame left
    w.worker->release_all();
    handle_released(w, rte_rdtsc());
    while (!w.worker->flush_backlog()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  flush_tx(w, 0);
  flush_tx(w, 1);
  publish(w);
  w.shared.lat_p50.store(w.lat.quantile(0.5), std::memory_order_relaxed);
  w.shared.lat_p99.store(w.lat.quantile(0.99), std::memory_order_relaxed);
  enforcement->offline(w.index);
  w.shared.stopped.store(true, std::memory_order_release);
  // Worker 0 in distributor mode transmits for the others: it stops last (see above).
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() {
  stop();
  for (auto& w : impl_->workers) {
    if (w->to_worker) rte_ring_free(w->to_worker);
    if (w->from_worker) rte_ring_free(w->from_worker);
  }
  for (std::uint16_t p : impl_->ports) {
    rte_eth_dev_close(p);
  }
  impl_->workers.clear();
  if (impl_->pool) rte_mempool_free(impl_->pool);
}

void Engine::shutdown_eal() { rte_eal_cleanup(); }

const EngineConfig& Engine::config() const { return impl_->cfg; }

Result<std::unique_ptr<Engine>> Engine::create(const EngineConfig& cfg,
                                               std::shared_ptr<const signatures::Database> db,
                                               const inspectors::Registry& registry,
                                               RcuCell<Enforcement>& enforcement) {
  if (cfg.workers == 0) return make_error("dataplane: workers must be at least 1");
  if (cfg.inside_port == cfg.outside_port) {
    return make_error("dataplane: inside_port and outside_port must differ");
  }
  // EAL arguments: ours first, then the operator's, so theirs win where they overlap.
  std::vector<std::string> args = {"dlpgate"};
  bool has_lcores = false, has_prefix = false, has_log = false, no_huge = false, in_memory = false;
  for (const std::string& a : cfg.eal) {
    if (a == "-l" || a == "-c" || a.rfind("--lcores", 0) == 0 || a.rfind("-l", 0) == 0) has_lcores = true;
    if (a.rfind("--file-prefix", 0) == 0) has_prefix = true;
    if (a.rfind("--log-level", 0) == 0) has_log = true;
    if (a == "--no-huge") no_huge = true;
    if (a == "--in-memory") in_memory = true;
  }
  if (!has_lcores) {
    // One lcore for the control plane and one per worker, floating over the CPUs this
    // process may use (a lab on two cores runs three lcores).
    const unsigned ncpu = std::max(1u, std::thread::hardware_concurrency());
    args.push_back("--lcores=(0-" + std::to_string(cfg.workers) + ")@(0-" + std::to_string(ncpu - 1) + ")");
  }
  // Several appliances (or tests) on one host must not share EAL runtime files: without
  // hugepages the EAL uses legacy memory, which rules out --in-memory, so each process
  // gets a prefix of its own instead.
  if (!has_prefix && !in_memory) {
    if (no_huge) args.push_back("--file-prefix=dlpgate-" + std::to_string(getpid()));
    else args.push_back("--in-memory");
  }
  if (!has_log) args.push_back("--log-level=lib.eal:warning");
  for (const std::string& a : cfg.eal) args.push_back(a);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  static bool eal_ready = false;  // the EAL initialises once per process
  if (!eal_ready) {
    if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0) {
      return make_error("dataplane: DPDK EAL initialisation failed: " + rte_reason() +
                        " (check the `eal:` arguments; without hugepages use --no-huge -m 512)");
    }
    eal_ready = true;
  }
  static unsigned instance = 0;  // names of pools and rings must be unique per process
  const std::string tag = std::to_string(instance++);

  auto impl = std::make_unique<Impl>();
  impl->cfg = cfg;
  impl->registry = &registry;
  impl->enforcement = &enforcement;
  impl->db = db;
  impl->tsc_hz = std::max<std::uint64_t>(1, rte_get_tsc_hz());
  impl->ports = {cfg.inside_port, cfg.outside_port};
  auto fail = [&](std::string msg) -> Result<std::unique_ptr<Engine>> {
    impl->workers.clear();
    if (impl->pool) rte_mempool_free(impl->pool);
    return make_error(std::move(msg));
  };

  const unsigned avail = rte_eth_dev_count_avail();
  for (std::uint16_t p : impl->ports) {
    if (!rte_eth_dev_is_valid_port(p)) {
      return fail("dataplane: port " + std::to_string(p) + " does not exist (" +
                  std::to_string(avail) + " DPDK ports found; give devices with -a PCI or --vdev=...)");
    }
  }
  if (rte_lcore_count() < cfg.workers + 1) {
    return fail("dataplane: " + std::to_string(cfg.workers) + " workers need " +
                std::to_string(cfg.workers + 1) + " lcores, EAL has " +
                std::to_string(rte_lcore_count()) + " (see -l / --lcores)");
  }

  // RSS when both ports can give every worker its own queue pair and hash on IP.
  std::array<rte_eth_dev_info, 2> info{};
  bool rss = cfg.workers > 1;
  for (int i = 0; i < 2; ++i) {
    if (rte_eth_dev_info_get(impl->ports[i], &info[i]) != 0) {
      return fail("dataplane: cannot query port " + std::to_string(impl->ports[i]));
    }
    if (info[i].max_rx_queues < cfg.workers || info[i].max_tx_queues < cfg.workers ||
        (info[i].flow_type_rss_offloads & RTE_ETH_RSS_IP) == 0) {
      rss = false;
    }
  }
  impl->rss = rss;
  const std::uint16_t nq = rss ? static_cast<std::uint16_t>(cfg.workers) : 1;

  const unsigned socket = static_cast<unsigned>(std::max(0, static_cast<int>(rte_socket_id())));
  impl->pool = rte_pktmbuf_pool_create(("dlp_mbufs" + tag).c_str(), cfg.mempool_mbufs, cfg.mbuf_cache, 0,
                                       RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(socket));
  if (impl->pool == nullptr) {
    return fail("dataplane: cannot create the mbuf pool of " + std::to_string(cfg.mempool_mbufs) +
                " buffers: " + rte_reason() + " (raise -m or lower mempool_mbufs)");
  }

  for (int i = 0; i < 2; ++i) {
    const std::uint16_t port = impl->ports[i];
    rte_eth_conf conf{};
    if (rss) {
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_key = const_cast<std::uint8_t*>(kSymmetricRssKey.data());
      conf.rx_adv_conf.rss_conf.rss_key_len = kSymmetricRssKey.size();
      conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IP & info[i].flow_type_rss_offloads;
    }
    if (int rc = rte_eth_dev_configure(port, nq, nq, &conf); rc != 0) {
      return fail("dataplane: cannot configure port " + std::to_string(port) + ": " + rte_strerror(-rc));
    }
    std::uint16_t nrx = cfg.rx_descriptors, ntx = cfg.tx_descriptors;
    rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx);
    for (std::uint16_t q = 0; q < nq; ++q) {
      if (int rc = rte_eth_rx_queue_setup(port, q, nrx, rte_eth_dev_socket_id(port), nullptr, impl->pool); rc != 0) {
        return fail("dataplane: port " + std::to_string(port) + " rx queue " + std::to_string(q) + ": " + rte_strerror(-rc));
      }
      if (int rc = rte_eth_tx_queue_setup(port, q, ntx, rte_eth_dev_socket_id(port), nullptr); rc != 0) {
        return fail("dataplane: port " + std::to_string(port) + " tx queue " + std::to_string(q) + ": " + rte_strerror(-rc));
      }
    }
  }

  // Workers: one per lcore after the main one.
  std::vector<unsigned> lcores;
  unsigned lc;
  RTE_LCORE_FOREACH_WORKER(lc) { lcores.push_back(lc); }
  for (unsigned i = 0; i < cfg.workers; ++i) {
    auto w = std::make_unique<WorkerCtx>();
    w->engine = impl.get();
    w->index = i;
    w->lcore = lcores[i];
    w->findings = std::make_unique<SpscRing<Finding>>(cfg.findings_ring);
    w->worker = std::make_unique<Worker>(cfg.worker, db, registry, *w->findings,
                                         static_cast<std::uint16_t>(i));
    if (!rss && cfg.workers > 1 && i > 0) {
      const std::string a = "dlp_to" + tag + "_" + std::to_string(i), b = "dlp_from" + tag + "_" + std::to_string(i);
      w->to_worker = rte_ring_create(a.c_str(), cfg.ring_size, static_cast<int>(socket), RING_F_SP_ENQ | RING_F_SC_DEQ);
      w->from_worker = rte_ring_create(b.c_str(), cfg.ring_size * 2, static_cast<int>(socket), RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (!w->to_worker || !w->from_worker) {
        return fail("dataplane: cannot create the hand-off rings of worker " + std::to_string(i) + ": " + rte_reason() +
                    " (ring_size must be a power of two)");
      }
    }
    impl->workers.push_back(std::move(w));
  }
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Result<void> Engine::start() {
  Impl& m = *impl_;
  if (m.started.exchange(true)) return {};
  for (std::uint16_t p : m.ports) {
    if (int rc = rte_eth_dev_start(p); rc != 0) {
      return make_error("dataplane: cannot start port " + std::to_string(p) + ": " + rte_strerror(-rc));
    }
    // A bump in the wire forwards every frame, whoever it is addressed to.
    rte_eth_promiscuous_enable(p);
  }
  for (auto& w : m.workers) {
    w->last_heartbeat_tsc = rte_rdtsc();
    if (int rc = rte_eal_remote_launch(worker_main, w.get(), w->lcore); rc != 0) {
      m.stop.store(true);
      return make_error("dataplane: cannot launch worker " + std::to_string(w->index) + " on lcore " +
                        std::to_string(w->lcore) + ": " + rte_strerror(-rc));
    }
  }
  return {};
}

void Engine::stop() {
  Impl& m = *impl_;
  if (m.stopped_done) return;
  m.stopped_done = true;
  m.stop.store(true);
  if (m.started.load()) {
    // Workers other than 0 stop first in distributor mode; worker 0 waits for them.
    for (auto& w : m.workers) rte_eal_wait_lcore(w->lcore);
    for (std::uint16_t p : m.ports) rte_eth_dev_stop(p);
  }
}

bool Engine::running() const { return impl_->started.load() && !impl_->stop.load(); }

std::size_t Engine::drain(const std::function<void(Finding&&)>& fn) {
  std::size_t n = 0;
  for (auto& w : impl_->workers) {
    while (auto f = w->findings->try_pop()) {
      fn(std::move(*f));
      ++n;
    }
  }
  return n;
}

void Engine::reload_database(std::shared_ptr<const signatures::Database> db) {
  Impl& m = *impl_;
  {
    std::lock_guard<std::mutex> lk(m.db_mu);
    m.db = std::move(db);
  }
  m.db_version.fetch_add(1, std::memory_order_release);
}

EngineStats Engine::stats() const {
  const Impl& m = *impl_;
  EngineStats out;
  out.mode = m.rss ? "rss" : "distributor";
  if (auto e = m.enforcement->current()) out.enforcement_version = e->version;
  for (std::uint16_t p : m.ports) {
    PortStats ps;
    ps.port = p;
    char name[RTE_ETH_NAME_MAX_LEN] = {0};
    if (rte_eth_dev_get_name_by_port(p, name) == 0) ps.name = name;
    rte_eth_stats st{};
    if (rte_eth_stats_get(p, &st) == 0) {
      ps.rx_packets = st.ipackets;
      ps.rx_bytes = st.ibytes;
      ps.tx_packets = st.opackets;
      ps.tx_bytes = st.obytes;
      ps.rx_missed = st.imissed;
      ps.rx_errors = st.ierrors;
      ps.rx_nombuf = st.rx_nombuf;
      ps.tx_errors = st.oerrors;
    }
    out.ports.push_back(std::move(ps));
  }
  const auto r = std::memory_order_relaxed;
  for (const auto& w : m.workers) {
    const SharedStats& s = w->shared;
    WorkerStats ws;
    ws.worker = w->index;
    ws.lcore = w->lcore;
    ws.packets = s.packets.load(r);
    ws.bytes = s.bytes.load(r);
    ws.forwarded = s.forwarded.load(r);
    ws.forwarded_uninspected = s.forwarded_uninspected.load(r);
    ws.dropped_verdict = s.dropped_verdict.load(r);
    ws.dropped_overload = s.dropped_overload.load(r);
    ws.dropped_tx = s.dropped_tx.load(r);
    ws.held = s.held.load(r);
    ws.released = s.released.load(r);
    ws.resets_sent = s.resets_sent.load(r);
    ws.flows_active = s.flows_active.load(r);
    ws.flows_created = s.flows_created.load(r);
    ws.findings = s.findings.load(r);
    ws.verdict_drop = s.verdict_drop.load(r);
    ws.verdict_reset = s.verdict_reset.load(r);
    ws.decode_malformed = s.decode_malformed.load(r);
    ws.not_linearizable = s.not_linearizable.load(r);
    ws.heartbeat = s.heartbeat.load(r);
    ws.latency_p50_ns = s.lat_p50.load(r);
    ws.latency_p99_ns = s.lat_p99.load(r);
    ws.stopped = s.stopped.load(r);
    ws.crashed = s.crashed.load(r);
    ws.hung = w->reported && !ws.stopped;
    out.workers.push_back(ws);
  }
  return out;
}

void Engine::inject_fault(unsigned worker, EngineFault fault, std::uint32_t stall_ms) {
  if (worker >= impl_->workers.size()) return;
  SharedStats& s = impl_->workers[worker]->shared;
  if (fault == EngineFault::stall) s.fault_stall_ms.store(stall_ms, std::memory_order_relaxed);
  else s.fault_throw.store(true, std::memory_order_relaxed);
}

std::vector<unsigned> Engine::watchdog() {
  Impl& m = *impl_;
  std::vector<unsigned> bad;
  if (!m.started.load() || m.stop.load()) return bad;
  const std::uint64_t now = rte_rdtsc();
  for (auto& w : m.workers) {
    const std::uint64_t hb = w->shared.heartbeat.load(std::memory_order_relaxed);
    const bool exited = w->shared.stopped.load(std::memory_order_acquire) ||
                        rte_eal_get_lcore_state(w->lcore) != RUNNING;
    if (hb != w->last_heartbeat) {
      w->last_heartbeat = hb;
      w->last_heartbeat_tsc = now;
      w->reported = false;
    }
    const bool hung = (now - w->last_heartbeat_tsc) * 1000 / m.tsc_hz > m.cfg.stall_ms;
    if ((hung || exited) && !w->reported) {
      w->reported = true;
      bad.push_back(w->index);
    }
  }
  return bad;
}

}  // namespace dlp::dataplane
