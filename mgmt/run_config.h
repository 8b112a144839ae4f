// The appliance's configuration file (`dlpgate run --config FILE`), YAML:
//
//   dataplane:
//     eal: ["--no-huge", "-m", "512", "--no-pci",
//           "--vdev=net_af_packet0,iface=veth-in", "--vdev=net_af_packet1,iface=veth-out"]
//     inside_port: 0          # faces the users
//     outside_port: 1         # faces the internet
//     workers: 2
//     on_overload: fail_open  # or fail_closed
//     mempool_mbufs: 16383    # optional tuning: rx_descriptors, tx_descriptors, ring_size,
//     burst: 32               #   findings_ring, max_held_packets, idle_sleep_us, stall_ms
//     inspect: true           # false: a plain bridge (benchmark baseline)
//   actions:                  # first match wins
//     - { category: credit_card, min_confidence: medium, verdict: reset }
//     - { detector: secrets.private_key, verdict: drop }
//   block_verdict: reset      # what a management-plane `block` decision does inline
//   detectors: { packs: [extra.yaml], cache_dir: /var/cache/dlpgate }
//   identity:
//     csv: identity.csv                 # files, read at start and at every reload
//     directory: users.csv
//     dhcp_logs: [dhcpd.leases, dhcpd.log]
//     logon_events: [logons.jsonl]
//     radius: { listen: "127.0.0.1:1813", secret_file: /etc/dlpgate/radius.secret,
//               allow: [10.20.0.0/24] }      # live sources (identity_live.h), from start;
//     syslog: { listen: "127.0.0.1:5514" }   #   allow: the senders taken (default: any)
//   policy: policy.yaml
//   findings: /var/log/dlpgate/findings.jsonl   # default: standard output
//   stats: /run/dlpgate/stats.json              # counters, rewritten every second
//   store: /var/lib/dlpgate/dlpgate.db          # or postgresql://...; "none": no store
//   control: { socket: /run/dlpgate/dlpgate.sock, group: dlpgate }   # or control: none
//
// The store is the policy's source of truth while running: the `policy:` file is applied
// to it (a new, audited version) when its text is not already a stored version, and the
// daemon enforces the store's current version, so `dlpctl policy apply` takes effect at
// once and a later restart does not undo it unless the file itself changed.
//
// Errors name the file, the line and the reason; unknown keys are errors too (a typo in
// an appliance's config must not pass silently). Relative paths are relative to the
// config file's directory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/dlp/result.h"
#include "dataplane/dpdk/engine.h"
#include "dataplane/verdict.h"
#include "mgmt/identity_live.h"

namespace dlp::mgmt {

struct RunConfig {
  std::string path;  // the file it came from
  dataplane::EngineConfig engine;
  std::vector<dataplane::ActionRule> actions;
  dataplane::Verdict block_verdict = dataplane::Verdict::reset;
  std::vector<std::string> packs;
  std::string cache_dir;
  std::string identity_csv, directory_csv;
  std::vector<std::string> dhcp_logs, logon_events;
  LiveIdentityConfig live_identity;  // empty listen addresses: that source is off
  std::string policy_path;
  std::string findings_path;  // empty: standard output
  std::string stats_path;     // empty: none
  std::string store = "dlpgate.db";  // SQLite path or PostgreSQL spec; empty: none
  bool control = true;               // the dlpctl socket
  std::string control_socket;        // empty: default_control_socket()
  std::string control_group;         // empty: the daemon's own group
};

Result<RunConfig> load_run_config(const std::string& path);
// The same from text; `origin` names it in errors and anchors relative paths.
Result<RunConfig> parse_run_config(const std::string& yaml_text, const std::string& origin);

}  // namespace dlp::mgmt
