// `dlpgate scan`: the embedded default. Reads captures (or a live interface), runs the
// full inspection path single-threaded with the built-in detector packs, attributes each
// finding to a user, writes findings as JSON lines and prints a summary.
//
//   ScanOptions o;
//   o.captures = {"sample.pcap"};
//   o.identity_csv = "identity.csv";
//   int rc = run_scan(o, std::cout, std::cerr);   // 0 clean, 1 findings (if asked), 2 error
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace dlp::mgmt {

struct ScanOptions {
  std::vector<std::string> captures;  // pcap/pcapng files, read in order
  std::string interface;              // live capture instead of files
  std::string bpf_filter;             // live only
  std::uint64_t max_packets = 0;      // live: stop after this many (0: until signalled)
  std::string identity_csv;
  // Identity over time (mgmt/identity_import.h): device owners, DHCP, logon sessions.
  std::string directory_csv;
  std::vector<std::string> dhcp_logs;
  int dhcp_year = 0;  // 0: the current year
  std::vector<std::string> logon_events;
  std::string out_path;               // findings JSON lines; empty: standard output
  std::vector<std::string> extra_packs;  // detector packs on top of the built-in ones
  std::string overlap_policy = "linux";
  std::string cache_dir;  // compiled-detector cache; empty: compile every time
  std::string edm_index;  // exact-data-match index (dlpctl edm index); empty: none
  std::uint32_t edm_min_fields = 3;
  std::uint32_t edm_window = 512;
  bool normalize = true;  // anti-evasion text normalisation before the scan
  std::string policy_path;  // YAML policy (mgmt/policy.h); empty: every finding alerts
  // The incident store (mgmt/store.h): a SQLite path or a PostgreSQL connection string;
  // empty: nothing is stored. The `dlpgate scan` CLI defaults it to ./dlpgate.db.
  std::string store;
  // With a store and no policy_path: decide with the store's current policy version
  // (the one `dlpctl policy apply` stored), if there is one.
  bool use_store_policy = true;
  std::size_t top_users = 10;  // users listed by risk in the summary
  bool fail_on_findings = false;
  int progress = -1;  // -1 auto (a terminal), 0 off, 1 on
  // Called once reading starts (after detectors are compiled and the source is open), so
  // a caller driving live traffic knows the capture is ready.
  std::function<void()> on_started;
};

// Returns the process exit status: 0 ran clean (findings or not, unless
// fail_on_findings), 1 findings present and fail_on_findings, 2 usage or input error
// (a bad option, an unreadable or corrupt capture; everything readable is still scanned
// and reported first).
int run_scan(const ScanOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace dlp::mgmt
