// The DPDK engine's watchdog, in process, on net_null ports (they receive frames as fast as
// they are polled, and discard what is sent): a worker whose loop stops for longer than
// stall_ms is reported hung once and recovers; a worker that leaves its loop on an
// exception is reported as stopped, and the engine still stops cleanly.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "dataplane/dpdk/engine.h"
#include "inspectors/inspector.h"
#include "signatures/detector.h"
#include "signatures/scanner.h"

namespace dlp::itest {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<dataplane::Engine> start_engine(dataplane::RcuCell<dataplane::Enforcement>& enf,
                                                const inspectors::Registry& registry) {
  signatures::HashKey key{};
  auto db = signatures::Database::compile(signatures::builtin_detectors(), key);
  EXPECT_TRUE(db) << db.error().message;
  dataplane::EngineConfig cfg;
  cfg.eal = {"--no-huge", "-m", "256", "--no-pci", "--no-telemetry", "--vdev=net_null0",
             "--vdev=net_null1"};
  cfg.workers = 1;
  cfg.mempool_mbufs = 4095;
  cfg.stall_ms = 300;
  cfg.idle_sleep_us = 50;
  auto e = dataplane::Engine::create(cfg, *db, registry, enf);
  EXPECT_TRUE(e) << e.error().message;
  if (!e) return nullptr;
  auto r = (*e)->start();
  EXPECT_TRUE(r) << r.error().message;
  return std::move(*e);
}

// Polls the watchdog as dlpgate run does, for up to `limit`.
std::vector<unsigned> watch(dataplane::Engine& e, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    auto bad = e.watchdog();
    if (!bad.empty()) return bad;
    std::this_thread::sleep_for(20ms);
  }
  return {};
}

TEST(EngineWatchdog, AStalledWorkerIsReportedOnceAndAStoppedOneAsStopped) {
  const inspectors::Registry registry = inspectors::default_registry({});
  dataplane::RcuCell<dataplane::Enforcement> enf(std::make_shared<const dataplane::Enforcement>(), 1);
  auto engine = start_engine(enf, registry);
  ASSERT_TRUE(engine);
  // Running and forwarding: no report.
  EXPECT_TRUE(watch(*engine, 500ms).empty());
  EXPECT_GT(engine->stats().workers[0].packets, 0u);

  // Stalled for 5x stall_ms (1.5 s against 300 ms): reported once, flagged hung while it lasts.
  engine->inject_fault(0, dataplane::EngineFault::stall, 1500);
  EXPECT_EQ(watch(*engine, 1300ms), std::vector<unsigned>{0});
  EXPECT_TRUE(engine->stats().workers[0].hung);
  EXPECT_FALSE(engine->stats().workers[0].stopped);
  EXPECT_TRUE(engine->watchdog().empty());  // not reported twice for the same stall
  // It resumes: the heartbeat moves again and the flag clears.
  std::this_thread::sleep_for(1500ms);
  EXPECT_TRUE(watch(*engine, 400ms).empty());
  EXPECT_FALSE(engine->stats().workers[0].hung);
  const auto before = engine->stats().workers[0].packets;
  std::this_thread::sleep_for(100ms);
  EXPECT_GT(engine->stats().workers[0].packets, before);

  // A worker that dies: reported, and seen as stopped (crashed), not hung.
  engine->inject_fault(0, dataplane::EngineFault::crash);
  EXPECT_EQ(watch(*engine, 2000ms), std::vector<unsigned>{0});
  const auto ws = engine->stats().workers[0];
  EXPECT_TRUE(ws.stopped);
  EXPECT_TRUE(ws.crashed);
  EXPECT_FALSE(ws.hung);
  engine->stop();  // returns: nothing waits for the dead worker
  EXPECT_FALSE(engine->running());
}

}  // namespace
}  // namespace dlp::itest
