// bench_inline: the inline dataplane end to end, with inspection on against the same
// dataplane with inspection off (a plain bridge), in one run so the ratio is meaningful on
// a shared machine. The engine runs exactly as `dlpgate run` does (worker lcore, burst
// receive, verdicts, burst transmit) on two net_ring ports: this thread feeds frames into
// the inside port's receive ring and takes them off the outside port's transmit ring, so
// everything between is the dataplane. Traffic: HTTP uploads of ordinary text (no
// findings), many flows interleaved, full handshakes and closes.
//
//   build/bench/bench_inline [--benchmark_min_time=2s]
// Prints packets/s and Gbit/s per worker for both, the ratio, and the per-packet latency
// (receive to transmit) the engine measured.
#include <benchmark/benchmark.h>

#include <rte_eth_ring.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <thread>

#include "dataplane/dpdk/engine.h"
#include "inspectors/inspector.h"
#include "signatures/detector.h"
#include "signatures/scanner.h"
#include "tests/gen/payloads.h"
#include "tests/gen/tcp_conversation.h"

namespace {

using namespace dlp;

std::vector<testgen::Frame> make_traffic() {
  std::mt19937_64 rng(99);
  std::vector<testgen::Packet> all;
  for (int f = 0; f < 48; ++f) {
    testgen::TcpConfig c;
    c.client_port = static_cast<std::uint16_t>(30000 + f);
    c.ip.src = "10.2." + std::to_string(f / 200) + "." + std::to_string(10 + f % 200);
    c.start_ns = 1'700'000'000'000'000'000ull + static_cast<std::uint64_t>(f) * 13'000;
    c.step_ns = 50'000;
    testgen::TcpConversation conv(c);
    conv.handshake();
    conv.send(testgen::Side::kClient,
              testgen::http_post("files.example", "/upload/" + std::to_string(f),
                                 testgen::benign_text(rng, 96 * 1024), "text/plain"));
    conv.send(testgen::Side::kServer, testgen::http_response(200, "stored"));
    conv.fin();
    for (auto& p : conv.packets()) all.push_back(p);
  }
  std::stable_sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.ts_ns < b.ts_ns; });
  std::vector<testgen::Frame> out;
  for (auto& p : all) out.push_back(std::move(p.frame));
  return out;
}

const std::vector<testgen::Frame>& traffic() {
  static const std::vector<testgen::Frame> t = make_traffic();
  return t;
}

std::shared_ptr<const signatures::Database> database() {
  static std::shared_ptr<const signatures::Database> db = [] {
    signatures::HashKey key{};
    auto r = signatures::Database::compile(signatures::builtin_detectors(), key);
    if (!r) {
      std::fprintf(stderr, "%s\n", r.error().message.c_str());
      std::exit(2);
    }
    return *r;
  }();
  return db;
}

std::map<bool, double> g_pps;  // inspect -> packets/s, for the ratio printed at the end
std::map<bool, std::pair<std::uint64_t, std::uint64_t>> g_latency;

void BM_Inline(benchmark::State& state) {
  const bool inspect = state.range(0) != 0;
  static int instance = 0;
  const std::string tag = std::to_string(instance++);
  // Rings: inside rx (we feed), inside tx (RSTs back inside), outside rx (idle),
  // outside tx (we drain).
  auto mk = [&](const char* what) {
    return rte_ring_create((std::string(what) + tag).c_str(), 8192, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  };
  rte_ring* in_rx = mk("b_in_rx");
  rte_ring* in_tx = mk("b_in_tx");
  rte_ring* out_rx = mk("b_out_rx");
  rte_ring* out_tx = mk("b_out_tx");
  const int p0 = rte_eth_from_rings(("b_in" + tag).c_str(), &in_rx, 1, &in_tx, 1, 0);
  const int p1 = rte_eth_from_rings(("b_out" + tag).c_str(), &out_rx, 1, &out_tx, 1, 0);
  rte_mempool* feed_pool = rte_pktmbuf_pool_create(("b_feed" + tag).c_str(), 8191, 256, 0,
                                                   RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  if (p0 < 0 || p1 < 0 || !feed_pool) {
    state.SkipWithError("cannot create the ring ports");
    return;
  }
  dataplane::EngineConfig cfg;
  cfg.inside_port = static_cast<std::uint16_t>(p0);
  cfg.outside_port = static_cast<std::uint16_t>(p1);
  cfg.workers = 1;
  cfg.inspect = inspect;
  cfg.mempool_mbufs = 2047;  // the engine's own pool only carries RSTs here
  const inspectors::Registry registry = inspectors::default_registry({});
  dataplane::RcuCell<dataplane::Enforcement> enforcement(std::make_shared<const dataplane::Enforcement>(), 1);
  auto engine = dataplane::Engine::create(cfg, database(), registry, enforcement);
  if (!engine) {
    state.SkipWithError(engine.error().message.c_str());
    return;
  }
  if (auto r = (*engine)->start(); !r) {
    state.SkipWithError(r.error().message.c_str());
    return;
  }
  const auto& frames = traffic();
  std::uint64_t bytes_per_iter = 0;
  for (const auto& f : frames) bytes_per_iter += f.size();

  std::vector<rte_mbuf*> burst(64);
  for (auto _ : state) {
    std::size_t fed = 0, back = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (back < frames.size()) {
      // Feed as much as the ring and the pool take.
      while (fed < frames.size()) {
        rte_mbuf* m = rte_pktmbuf_alloc(feed_pool);
        if (!m) break;
        const auto& f = frames[fed];
        std::memcpy(rte_pktmbuf_append(m, static_cast<std::uint16_t>(f.size())), f.data(), f.size());
        if (rte_ring_sp_enqueue(in_rx, m) != 0) {
          rte_pktmbuf_free(m);
          break;
        }
        ++fed;
      }
      std::size_t got = 0;
      for (rte_ring* r : {out_tx, in_tx}) {
        const unsigned n = rte_ring_sc_dequeue_burst(r, reinterpret_cast<void**>(burst.data()), 64, nullptr);
        for (unsigned i = 0; i < n; ++i) rte_pktmbuf_free(burst[i]);
        got += n;
      }
      back += got;
      // On a machine with fewer cores than threads, let the worker have the CPU.
      if (got == 0) std::this_thread::yield();
      if (std::chrono::steady_clock::now() > deadline) {
        state.SkipWithError("frames did not come back through the dataplane");
        break;
      }
    }
  }
  (*engine)->stop();
  const auto st = (*engine)->stats();
  engine->reset();
  const double iters = static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<std::int64_t>(iters * static_cast<double>(frames.size())));
  state.SetBytesProcessed(static_cast<std::int64_t>(iters * static_cast<double>(bytes_per_iter)));
  state.counters["pps"] = benchmark::Counter(iters * static_cast<double>(frames.size()), benchmark::Counter::kIsRate);
  state.counters["Gbit/s"] = benchmark::Counter(iters * static_cast<double>(bytes_per_iter) * 8 / 1e9,
                                                benchmark::Counter::kIsRate);
  state.counters["findings"] = static_cast<double>(st.workers[0].findings);
  state.counters["lat_p50_us"] = static_cast<double>(st.workers[0].latency_p50_ns) / 1000.0;
  state.counters["lat_p99_us"] = static_cast<double>(st.workers[0].latency_p99_ns) / 1000.0;
  g_latency[inspect] = {st.workers[0].latency_p50_ns, st.workers[0].latency_p99_ns};
}
BENCHMARK(BM_Inline)->ArgName("inspect")->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);

// The same frames through the same inspection, offline (Worker::process, what
// `dlpgate scan` does), on this thread: what the inspection itself costs without DPDK,
// verdicts or forwarding, so the inline overhead can be read off as a ratio too.
void BM_OfflineWorker(benchmark::State& state) {
  const auto& frames = traffic();
  std::uint64_t bytes_per_iter = 0;
  for (const auto& f : frames) bytes_per_iter += f.size();
  const inspectors::Registry registry = inspectors::default_registry({});
  dataplane::SpscRing<dataplane::Finding> ring(4096);
  dataplane::WorkerConfig cfg;
  dataplane::Worker w(cfg, database(), registry, ring, 0);
  std::vector<dataplane::RawPacket> burst(32);
  std::uint64_t t = 1'700'000'000'000'000'000ull;
  for (auto _ : state) {
    for (std::size_t i = 0; i < frames.size(); i += 32) {
      const std::size_t n = std::min<std::size_t>(32, frames.size() - i);
      for (std::size_t k = 0; k < n; ++k) {
        burst[k] = {t += 1000, Bytes(frames[i + k].data(), frames[i + k].size()),
                    static_cast<std::uint32_t>(frames[i + k].size()), i + k + 1, 1};
      }
      w.process({burst.data(), n});
      while (ring.try_pop()) {
      }
    }
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["pps"] = benchmark::Counter(iters * static_cast<double>(frames.size()), benchmark::Counter::kIsRate);
  state.counters["Gbit/s"] = benchmark::Counter(iters * static_cast<double>(bytes_per_iter) * 8 / 1e9,
                                                benchmark::Counter::kIsRate);
}
BENCHMARK(BM_OfflineWorker)->UseRealTime()->Unit(benchmark::kMillisecond);

double g_offline_pps = 0;

// Remembers the rates so the ratio can be printed after the run.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred || r.run_type != Run::RT_Iteration) continue;
      const auto it = r.counters.find("pps");
      if (it != r.counters.end() && r.benchmark_name().find("Offline") != std::string::npos) {
        g_offline_pps = it->second.value;
        continue;
      }
      if (it != r.counters.end()) g_pps[r.benchmark_name().find("inspect:1") != std::string::npos] = it->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

}  // namespace

int main(int argc, char** argv) {
  // The EAL, once for the whole run: one control lcore and one worker, no hugepages.
  {
    signatures::HashKey key{};
    (void)key;
    dataplane::EngineConfig boot;
    boot.eal = {"--no-huge", "-m", "512", "--no-pci", "--no-telemetry", "--log-level=lib.eal:error"};
    // Creating an engine with no ports initialises the EAL; its error (no port 0) is expected.
    const inspectors::Registry registry = inspectors::default_registry({});
    dataplane::RcuCell<dataplane::Enforcement> e(std::make_shared<const dataplane::Enforcement>(), 1);
    auto none = dataplane::Engine::create(boot, database(), registry, e);
    (void)none;
  }
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  if (g_pps.count(true) && g_pps.count(false) && g_pps[false] > 0) {
    std::printf("\ninspection on / inspection off: %.1f%% of the bridge's packet rate (bar: >= 80%%)\n",
                100.0 * g_pps[true] / g_pps[false]);
    if (g_offline_pps > 0) {
      std::printf("inline inspection / offline inspection (Worker::process, no DPDK): %.1f%%\n",
                  100.0 * g_pps[true] / g_offline_pps);
    }
    std::printf("latency receive->transmit: off p50 %.1f us p99 %.1f us; on p50 %.1f us p99 %.1f us\n",
                g_latency[false].first / 1e3, g_latency[false].second / 1e3, g_latency[true].first / 1e3,
                g_latency[true].second / 1e3);
  }
  benchmark::Shutdown();
  dataplane::Engine::shutdown_eal();
  return 0;
}
