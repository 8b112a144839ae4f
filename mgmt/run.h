// `dlpgate run --config FILE`: the inline appliance. Compiles the detectors, starts the
// DPDK engine (dataplane/dpdk/engine.h) on the configured ports, and runs the control
// plane on the main thread: findings from the workers are attributed to users, go through
// the analyzer (baselines, risk, policy) and out as JSON lines; a `block` decision of the
// policy is published back to the workers as a per-source verdict in the enforcement
// snapshot (RCU), so the next finding of that sender is stopped inline.
//
// Signals: SIGINT/SIGTERM stop cleanly (ports drained, every flow ended, findings
// flushed, summary printed); SIGHUP reloads detectors and actions from the same file
// without stopping the ports (a bad file is refused and the running configuration kept).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

namespace dlp::mgmt {

struct RunOptions {
  std::string config_path;
  // Stop once no frame has arrived for this long after the first one (replays through
  // net_pcap, tests, benchmarks); 0: run until signalled.
  std::uint32_t until_idle_ms = 0;
  // Stop after this long in any case (0: never).
  std::uint32_t max_seconds = 0;
  // Called once the ports are up and the workers run.
  std::function<void()> on_started;
};

// Exit status: 0 stopped cleanly, 2 configuration or start-up error, 3 a worker died.
int run_appliance(const RunOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace dlp::mgmt
