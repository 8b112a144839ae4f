// dlpgate: the appliance binary. `dlpgate scan` is the embedded default (captures in,
// findings out); `dlpgate run --config FILE` is the inline appliance on DPDK ports.
#include <boost/program_options.hpp>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "mgmt/run.h"
#include "mgmt/scan.h"

namespace po = boost::program_options;

namespace {

constexpr const char* kUsage =
    "usage: dlpgate <command> [options]\n"
    "\n"
    "commands:\n"
    "  scan CAPTURE...   scan pcap/pcapng files (or --interface) with the built-in detectors\n"
    "  run --config FILE the inline appliance: DPDK ports bridged, verdicts enforced\n"
    "  version           print the version\n"
    "\n"
    "Run 'dlpgate scan --help' for the options of scan.\n";

int cmd_scan(const std::vector<std::string>& args) {
  dlp::mgmt::ScanOptions o;
  std::string progress = "auto";
  po::options_description desc("dlpgate scan [options] CAPTURE...");
  desc.add_options()
      ("help,h", "show this help")
      ("identity", po::value(&o.identity_csv), "CSV of ip,user,department bindings")
      ("directory", po::value(&o.directory_csv), "CSV of user,department,devices (host names or MACs, ';'-separated): owners of devices, peer groups")
      ("dhcp-log", po::value(&o.dhcp_logs)->composing(), "ISC dhcpd.leases file, or dhcpd/dnsmasq syslog with DHCPACK lines; repeatable")
      ("dhcp-year", po::value(&o.dhcp_year), "year of syslog time stamps (they carry none; default: this year)")
      ("logon-events", po::value(&o.logon_events)->composing(), "Windows logon events 4624/4634 as JSON lines; repeatable")
      ("policy", po::value(&o.policy_path), "YAML policy deciding allow/alert/block per finding (default: the store's current policy, else alert)")
      ("store", po::value(&o.store)->default_value("./dlpgate.db"), "incident store: a SQLite file, or a PostgreSQL connection string (postgresql://... or 'host=... dbname=...'); 'none' to store nothing")
      ("out,o", po::value(&o.out_path), "write findings as JSON lines to FILE (default: stdout; the summary then goes to stderr)")
      ("interface,i", po::value(&o.interface), "capture live from this interface instead of files")
      ("filter", po::value(&o.bpf_filter), "BPF filter for --interface")
      ("count,c", po::value(&o.max_packets), "stop after this many packets")
      ("pack", po::value(&o.extra_packs)->composing(), "additional detector pack (YAML); repeatable")
      ("overlap-policy", po::value(&o.overlap_policy), "TCP overlap policy: linux (default), first, last")
      ("cache-dir", po::value(&o.cache_dir), "where compiled detector databases are cached (default: $XDG_CACHE_HOME/dlpgate or ~/.cache/dlpgate; 'none' to disable)")
      ("edm", po::value(&o.edm_index), "exact-data-match index built by 'dlpctl edm index'")
      ("edm-min-fields", po::value(&o.edm_min_fields), "fields of one row needed for a customer_record finding (default 3)")
      ("edm-window", po::value(&o.edm_window), "bytes within which those fields must appear (default 512)")
      ("no-normalize", "skip anti-evasion normalisation (UTF-16, NFKC, zero-width, HTML entities)")
      ("fail-on-findings", po::bool_switch(&o.fail_on_findings), "exit with status 1 when anything is found")
      ("progress", po::value(&progress), "progress bar on stderr: auto (on a terminal), on, off");
  po::options_description hidden;
  hidden.add_options()("capture", po::value(&o.captures)->composing());
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("capture", -1);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "dlpgate scan: " << e.what() << "\n\n" << desc << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n"
              << "exit status: 0 ran clean, 1 findings present (with --fail-on-findings),\n"
              << "             2 usage or input error\n";
    return 0;
  }
  o.normalize = vm.count("no-normalize") == 0;
  if (o.store == "none") o.store.clear();
  if (o.cache_dir == "none") {
    o.cache_dir.clear();
  } else if (o.cache_dir.empty()) {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
      o.cache_dir = std::string(xdg) + "/dlpgate";
    } else if (const char* home = std::getenv("HOME"); home && *home) {
      o.cache_dir = std::string(home) + "/.cache/dlpgate";
    }
  }
  if (progress == "auto") o.progress = -1;
  else if (progress == "on") o.progress = 1;
  else if (progress == "off") o.progress = 0;
  else {
    std::cerr << "dlpgate scan: --progress takes auto, on or off\n";
    return 2;
  }
  if (!o.interface.empty() && !o.captures.empty()) {
    std::cerr << "dlpgate scan: give capture files or --interface, not both\n";
    return 2;
  }
  return dlp::mgmt::run_scan(o, std::cout, std::cerr);
}

int cmd_run(const std::vector<std::string>& args) {
  dlp::mgmt::RunOptions o;
  po::options_description desc("dlpgate run --config FILE [options]");
  desc.add_options()
      ("help,h", "show this help")
      ("config,c", po::value(&o.config_path), "the appliance configuration (YAML: dataplane, actions, ...)")
      ("until-idle", po::value(&o.until_idle_ms), "stop once no frame arrived for this many ms after the first (replays through net_pcap)")
      ("max-seconds", po::value(&o.max_seconds), "stop after this many seconds");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "dlpgate run: " << e.what() << "\n\n" << desc << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n"
              << "signals: SIGINT/SIGTERM stop cleanly, SIGHUP reloads detectors and actions\n"
              << "exit status: 0 stopped cleanly, 2 configuration or start-up error, 3 a worker died\n";
    return 0;
  }
  if (o.config_path.empty()) {
    std::cerr << "dlpgate run: --config FILE is required\n\n" << desc << "\n";
    return 2;
  }
  return dlp::mgmt::run_appliance(o, std::cout, std::cerr);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string cmd = argv[1];
  std::vector<std::string> rest(argv + 2, argv + argc);
  if (cmd == "scan") return cmd_scan(rest);
  if (cmd == "run") return cmd_run(rest);
  if (cmd == "version" || cmd == "--version") {
    std::cout << "dlpgate " << DLPGATE_VERSION << "\n";
    return 0;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << "dlpgate: unknown command '" << cmd << "'\n\n" << kUsage;
  return 2;
}
