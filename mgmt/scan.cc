#include "mgmt/scan.h"

#include <openssl/rand.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "dataplane/pcap_source.h"
#include "dataplane/worker.h"
#include "inspectors/inspector.h"
#include "mgmt/finding_json.h"
#include "mgmt/analyzer.h"
#include "mgmt/identity.h"
#include "mgmt/identity_import.h"
#include "mgmt/store.h"
#include "mgmt/store_records.h"
#include "signatures/detector.h"
#include "signatures/edm.h"
#include "signatures/redact.h"
#include "signatures/scanner.h"

namespace dlp::mgmt {
namespace {

constexpr std::size_t kBurst = 32;
constexpr std::size_t kRingSize = 4096;

std::atomic<dataplane::PcapLiveSource*> g_live{nullptr};

void on_signal(int) {
  if (auto* live = g_live.load()) live->stop();
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000.0 && u < 4) {
    b /= 1000.0;
    ++u;
  }
  std::ostringstream s;
  s << std::fixed << std::setprecision(u == 0 ? 0 : 1) << b << " " << units[u];
  return s.str();
}

// A one-line progress bar on a terminal, redrawn at most ten times a second.
class Progress {
 public:
  Progress(bool enabled, std::ostream& err) : enabled_(enabled), err_(err) {}
  void update(std::uint64_t done, std::uint64_t total, std::uint64_t packets) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    std::ostringstream line;
    if (total > 0) {
      const double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
      const int filled = static_cast<int>(frac * 30);
      line << "\r[" << std::string(filled, '#') << std::string(30 - filled, ' ') << "] "
           << std::setw(3) << static_cast<int>(frac * 100) << "% " << human_bytes(done) << " / "
           << human_bytes(total);
    } else {
      line << "\r" << packets << " packets";
    }
    err_ << line.str() << "   " << std::flush;
    drawn_ = true;
  }
  void done() {
    if (drawn_) err_ << "\r" << std::string(72, ' ') << "\r" << std::flush;
  }

 private:
  bool enabled_;
  std::ostream& err_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

struct Tally {
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> by_category;  // findings, matches
  std::map<std::string, std::uint64_t> by_user;
  std::map<std::string, std::uint64_t> by_action;
  std::uint64_t findings = 0;
};

// Peak resident memory of this process image, from /proc (VmHWM belongs to the current
// address space, so it is not inflated by whatever the parent held before exec).
std::uint64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

void print_summary(std::ostream& out, const ScanOptions& opts, const dataplane::Worker& w,
                   const Tally& tally, double seconds, std::size_t errors) {
  const auto& c = w.counters();
  const auto& fc = w.flow_counters();
  const auto& rc = w.reassembly_counters();
  const auto& dc = w.defrag_counters();
  const double gbps = seconds > 0 ? static_cast<double>(c.bytes) * 8 / seconds / 1e9 : 0.0;
  out << "\n== dlpgate scan summary ==\n";
  out << "input      " << (opts.interface.empty()
                               ? std::to_string(opts.captures.size()) + " capture file(s)"
                               : "interface " + opts.interface)
      << (errors ? ", " + std::to_string(errors) + " input error(s)" : "") << "\n";
  out << "packets    " << c.packets << "  (" << human_bytes(static_cast<double>(c.bytes))
      << " on the wire, " << human_bytes(static_cast<double>(c.payload_bytes)) << " inspected)\n";
  out << "flows      " << fc.created << "  (peak " << fc.peak_active << " concurrent, "
      << fc.evicted << " evicted)\n";
  out << "speed      " << std::fixed << std::setprecision(3) << seconds << " s, "
      << std::setprecision(2) << gbps << " Gbit/s\n";
  out << "memory     peak RSS " << human_bytes(static_cast<double>(peak_rss_bytes())) << ", flow table "
      << human_bytes(static_cast<double>(w.flow_memory_bytes())) << "\n";
  out << "findings   " << tally.findings << "\n";
  if (!tally.by_category.empty()) {
    out << "\n  " << std::left << std::setw(24) << "category" << std::right << std::setw(9)
        << "findings" << std::setw(9) << "matches" << "\n";
    for (const auto& [cat, n] : tally.by_category) {
      out << "  " << std::left << std::setw(24) << cat << std::right << std::setw(9) << n.first
          << std::setw(9) << n.second << "\n";
    }
    out << "\n  " << std::left << std::setw(33) << "user" << std::right << std::setw(9)
        << "findings" << "\n";
    for (const auto& [user, n] : tally.by_user) {
      out << "  " << std::left << std::setw(33) << user << std::right << std::setw(9) << n << "\n";
    }
  }
  std::uint64_t malformed = c.decode.malformed();
  out << "\nanomalies  malformed " << malformed << ", not-ip "
      << c.decode.by_status[static_cast<int>(dataplane::DecodeStatus::not_ip)]
      << ", fragments " << dc.fragments << " (reassembled " << dc.reassembled << ", timed out "
      << dc.timeouts << ")\n";
  const auto ns = w.normalizer_stats();
  out << "normalised " << human_bytes(static_cast<double>(ns.bytes_in)) << " ("
      << human_bytes(static_cast<double>(ns.ascii_fast)) << " ASCII fast path, "
      << ns.utf16_streams << " UTF-16 streams, " << ns.nfkc_changed << " NFKC changes, "
      << ns.format_removed << " format chars removed, " << ns.entities_decoded
      << " entities)\n";
  out << "tcp        out-of-order " << rc.out_of_order << ", retransmitted " << rc.retransmissions
      << ", overlaps " << rc.overlaps << " (conflicting " << rc.overlap_conflicts << "), gaps "
      << rc.gaps << " (" << rc.gap_bytes << " bytes), midstream " << rc.midstream << "\n";
  const auto& fs = w.file_stats();
  if (fs.files_opened || fs.decode_errors) {
    out << "files      " << fs.files_opened << " opened, " << fs.entries << " inner files, "
        << human_bytes(static_cast<double>(fs.bytes_extracted)) << " extracted, "
        << fs.decode_errors << " undecodable (scanned as bytes)\n";
  }
  if (c.reports) {
    out << "reported   " << c.reports << " findings raised by inspectors (dns_exfil, limits)\n";
  }
  if (malformed) {
    out << "malformed ";
    for (std::size_t i = 0; i < c.decode.by_status.size(); ++i) {
      const auto st = static_cast<dataplane::DecodeStatus>(i);
      if (c.decode.by_status[i] == 0 || st == dataplane::DecodeStatus::ok ||
          st == dataplane::DecodeStatus::not_ip)
        continue;
      out << " " << dataplane::decode_status_name(st) << "=" << c.decode.by_status[i];
    }
    out << "\n";
  }
  if (!c.weirds.empty()) {
    out << "weirds    ";
    for (const auto& [name, n] : c.weirds) out << " " << name << "=" << n;
    out << "\n";
  }
}

void print_risk(std::ostream& out, const ScanOptions& opts, const Analyzer& a,
                const Tally& tally) {
  if (tally.findings == 0 || opts.top_users == 0) return;
  out << "\nactions   ";
  for (const auto& [action, n] : tally.by_action) out << " " << action << "=" << n;
  out << "  (incidents " << a.incidents().size() << ")\n";
  out << "\n  " << std::left << std::setw(20) << "user (by risk)" << std::right << std::setw(6)
      << "score" << "  " << std::left << std::setw(9) << "level" << "top reason\n";
  for (const RiskScore& s : a.top(a.now(), opts.top_users)) {
    out << "  " << std::left << std::setw(20) << s.user << std::right << std::setw(6) << s.score
        << "  " << std::left << std::setw(9) << risk_level_name(s.level)
        << (s.reasons.empty() ? "" : s.reasons[0].text) << "\n";
  }
  out << std::right;
}

}  // namespace

int run_scan(const ScanOptions& opts, std::ostream& out, std::ostream& err) {
  if (opts.captures.empty() && opts.interface.empty()) {
    err << "dlpgate scan: no capture files given (or --interface for a live capture)\n";
    return 2;
  }

  // Detectors: the built-in packs plus any the user adds.
  std::vector<signatures::DetectorSet> sets{signatures::builtin_detectors()};
  for (const auto& path : opts.extra_packs) {
    auto pack = signatures::load_pack_file(path);
    if (!pack) {
      err << "dlpgate scan: " << pack.error().message << "\n";
      return 2;
    }
    sets.push_back(std::move(*pack));
  }
  auto merged = signatures::merge(std::move(sets));
  if (!merged) {
    err << "dlpgate scan: " << merged.error().message << "\n";
    return 2;
  }
  // Value hashes are keyed per run: they de-duplicate within a scan, and a small value
  // space (9-digit SSNs) cannot be reversed by hashing every candidate without the key.
  signatures::HashKey key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    err << "dlpgate scan: cannot get random bytes for the value-hash key\n";
    return 2;
  }
  auto db = signatures::Database::compile(*merged, key, signatures::DbMode::stream,
                                          opts.cache_dir);
  if (!db) {
    err << "dlpgate scan: " << db.error().message << "\n";
    return 2;
  }

  std::unique_ptr<Store> store;
  std::string policy_note;
  AnalyzerConfig acfg;
  if (!opts.store.empty()) {
    auto opened = open_store(opts.store);
    if (!opened) {
      err << "dlpgate scan: " << opened.error().message << "\n";
      return 2;
    }
    store = std::move(*opened);
    if (opts.policy_path.empty() && opts.use_store_policy) {
      auto current = store->current_policy();
      if (!current) {
        err << "dlpgate scan: " << current.error().message << "\n";
        return 2;
      }
      if (*current) {
        const PolicyVersion& v = **current;
        auto policy = Policy::parse(v.source, opts.store + ": policy v" + std::to_string(v.version));
        if (!policy) {
          err << "dlpgate scan: " << policy.error().message << "\n";
          return 2;
        }
        acfg.policy = std::move(*policy);
        policy_note = "policy v" + std::to_string(v.version) + " from the store";
      }
    }
  }
  if (!opts.policy_path.empty()) {
    auto policy = Policy::load(opts.policy_path);
    if (!policy) {
      err << "dlpgate scan: " << policy.error().message << "\n";
      return 2;
    }
    acfg.policy = std::move(*policy);
  }
  Analyzer analyzer(std::move(acfg));

  IdentityTable identity;
  if (!opts.identity_csv.empty()) {
    if (auto r = identity.load_csv(opts.identity_csv); !r) {
      err << "dlpgate scan: " << r.error().message << "\n";
      return 2;
    }
  }
  Directory directory;
  if (!opts.directory_csv.empty()) {
    if (auto r = directory.load(opts.directory_csv); !r) {
      err << "dlpgate scan: " << r.error().message << "\n";
      return 2;
    }
  }
  for (const std::string& path : opts.dhcp_logs) {
    // A lease database or a log: the lease file's blocks say which.
    std::ifstream probe(path);
    std::string first, line;
    while (first.empty() && std::getline(probe, line)) {
      if (!line.empty() && line[0] != '#') first = line;
    }
    int year = opts.dhcp_year;
    if (year == 0) {
      const std::time_t now = std::time(nullptr);
      std::tm tm{};
      gmtime_r(&now, &tm);
      year = tm.tm_year + 1900;
    }
    auto r = first.rfind("lease ", 0) == 0 || first.rfind("authoring-byte-order", 0) == 0
                 ? import_dhcp_leases(identity, directory, path)
                 : import_dhcp_syslog(identity, directory, path, year);
    if (!r) {
      err << "dlpgate scan: " << r.error().message << "\n";
      return 2;
    }
  }
  for (const std::string& path : opts.logon_events) {
    if (auto r = import_logon_events(identity, directory, path); !r) {
      err << "dlpgate scan: " << r.error().message << "\n";
      return 2;
    }
  }

  dataplane::WorkerConfig wcfg;
  wcfg.normalize = opts.normalize;
  if (!opts.edm_index.empty()) {
    auto index = signatures::EdmIndex::load(opts.edm_index);
    if (!index) {
      err << "dlpgate scan: " << index.error().message << "\n";
      return 2;
    }
    wcfg.edm = std::move(*index);
    wcfg.edm_config.min_fields = opts.edm_min_fields;
    wcfg.edm_config.window = opts.edm_window;
  }
  if (!dataplane::parse_overlap_policy(opts.overlap_policy, wcfg.reassembly.policy)) {
    err << "dlpgate scan: unknown overlap policy '" << opts.overlap_policy
        << "' (first, last or linux)\n";
    return 2;
  }

  std::unique_ptr<dataplane::PacketSource> source;
  dataplane::PcapLiveSource* live = nullptr;
  if (!opts.interface.empty()) {
    dataplane::LiveOptions lo;
    lo.interface = opts.interface;
    lo.bpf_filter = opts.bpf_filter;
    auto src = dataplane::PcapLiveSource::open(lo);
    if (!src) {
      err << "dlpgate scan: " << src.error().message << "\n";
      return 2;
    }
    live = src->get();
    source = std::move(*src);
  } else {
    source = std::make_unique<dataplane::PcapFileSource>(opts.captures);
  }

  std::ofstream out_file;
  std::ostream* findings_out = &out;
  if (!opts.out_path.empty() && opts.out_path != "-") {
    out_file.open(opts.out_path, std::ios::binary | std::ios::trunc);
    if (!out_file) {
      err << "dlpgate scan: cannot write " << opts.out_path << "\n";
      return 2;
    }
    findings_out = &out_file;
  }
  // When findings go to standard output, the summary goes to standard error.
  std::ostream& summary_out = findings_out == &out ? err : out;

  const inspectors::Registry registry = inspectors::default_registry(wcfg.limits);
  dataplane::SpscRing<dataplane::Finding> ring(kRingSize);
  dataplane::Worker worker(wcfg, *db, registry, ring, 0);
  Tally tally;
  std::vector<FindingRecord> stored;  // what goes into the store at the end
  UserSightings sightings;
  // Metadata (URL, host, file name, ...) leaves with the finding: mask values in it too.
  signatures::Redactor redactor(*db);

  auto drain = [&] {
    while (auto f = ring.try_pop()) {
      redact_metadata(redactor, f->meta);
      const Identity* who = identity.lookup(f->src_ip, f->ts_ns);
      std::string user = attributed_user(*f, who);
      const std::string department = who ? who->department : directory.department(user);
      const AnalyzerDecision ad = analyzer.on_finding(*f, user, department);
      Decision decision;
      decision.action = ad.action;
      decision.risk_score = ad.risk_score;
      nlohmann::ordered_json doc = finding_to_json(*f, who, decision);
      *findings_out << doc.dump() << "\n";
      if (store) {
        stored.push_back(finding_record(*f, user, department, ad, doc));
        sightings.add(stored.back());
      }
      ++tally.findings;
      ++tally.by_action[ad.action];
      auto& cat = tally.by_category[f->category];
      ++cat.first;
      cat.second += f->count;
      if (!department.empty()) user += " (" + department + ")";
      ++tally.by_user[user];
    }
  };

  using Handler = void (*)(int);
  Handler old_int = SIG_DFL, old_term = SIG_DFL;
  if (live) {
    g_live.store(live);
    old_int = std::signal(SIGINT, on_signal);
    old_term = std::signal(SIGTERM, on_signal);
  }
  Progress progress(opts.progress == 1 || (opts.progress < 0 && isatty(STDERR_FILENO)), err);
  std::size_t errors_seen = 0;
  if (opts.on_started) opts.on_started();
  const auto t0 = std::chrono::steady_clock::now();
  dataplane::RawPacket burst[kBurst];
  while (std::size_t n = source->next_burst(burst)) {
    worker.process({burst, n});
    drain();
    // Input errors are reported as they happen; reading goes on with the next file.
    const auto& errors = source->errors();
    if (errors.size() > errors_seen) {
      progress.done();
      for (; errors_seen < errors.size(); ++errors_seen) {
        err << "dlpgate scan: " << errors[errors_seen].message << "\n";
      }
    }
    progress.update(source->bytes_read(), source->bytes_total(), worker.counters().packets);
    if (opts.max_packets && worker.counters().packets >= opts.max_packets) break;
  }
  worker.finish();
  do {
    drain();
  } while (!worker.flush_backlog() || !ring.empty());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  progress.done();
  if (live) {
    g_live.store(nullptr);
    std::signal(SIGINT, old_int);
    std::signal(SIGTERM, old_term);
  }
  for (; errors_seen < source->errors().size(); ++errors_seen) {
    err << "dlpgate scan: " << source->errors()[errors_seen].message << "\n";
  }
  findings_out->flush();
  if (!*findings_out) {
    err << "dlpgate scan: writing findings failed\n";
    return 2;
  }

  print_summary(summary_out, opts, worker, tally, seconds, errors_seen);
  print_risk(summary_out, opts, analyzer, tally);
  if (store) {
    Ingest batch;
    batch.run_id = new_run_id();
    batch.findings = std::move(stored);
    batch.incidents = incident_records(analyzer);
    batch.users = sightings.records(analyzer);
    batch.baselines = baseline_records(analyzer);
    batch.bindings = binding_records(identity, [&](IdentitySource src) -> std::string {
      if (src == IdentitySource::session) return "scan --logon-events";
      if (src == IdentitySource::dhcp) return "scan --dhcp-log";
      return opts.identity_csv.empty() ? "scan" : opts.identity_csv;
    });
    batch.summary = {{"captures", opts.captures},
                     {"interface", opts.interface},
                     {"packets", worker.counters().packets},
                     {"policy", !opts.policy_path.empty() ? opts.policy_path : policy_note}};
    auto r = store->ingest(batch, Caller::current());
    if (!r) {
      err << "dlpgate scan: storing results failed: " << r.error().message << "\n";
      return 2;
    }
    summary_out << "\nstore      " << store->location() << " (" << store->backend() << "): run "
                << batch.run_id << ", " << r->findings << " findings, " << r->incidents
                << " incidents, " << r->users << " users"
                << (policy_note.empty() ? "" : ", " + policy_note) << "\n";
  }
  if (!opts.out_path.empty() && opts.out_path != "-") {
    summary_out << "\nfindings written to " << opts.out_path << "\n";
  }
  if (errors_seen) return 2;
  if (opts.fail_on_findings && tally.findings > 0) return 1;
  return 0;
}

}  // namespace dlp::mgmt
