#include "mgmt/run.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "dataplane/dpdk/engine.h"
#include "inspectors/inspector.h"
#include "mgmt/analyzer.h"
#include "mgmt/detectors_load.h"
#include "mgmt/finding_json.h"
#include "mgmt/identity.h"
#include "mgmt/identity_import.h"
#include "mgmt/run_config.h"
#include "signatures/redact.h"

namespace dlp::mgmt {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

extern "C" void on_stop_signal(int) { g_stop.store(true); }
extern "C" void on_reload_signal(int) { g_reload.store(true); }

int current_year() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  return tm.tm_year + 1900;
}

Result<void> load_identity(const RunConfig& cfg, IdentityTable& identity, Directory& directory) {
  if (!cfg.identity_csv.empty()) {
    if (auto r = identity.load_csv(cfg.identity_csv); !r) return r.error();
  }
  if (!cfg.directory_csv.empty()) {
    if (auto r = directory.load(cfg.directory_csv); !r) return r.error();
  }
  for (const std::string& path : cfg.dhcp_logs) {
    std::ifstream probe(path);
    std::string first, line;
    while (first.empty() && std::getline(probe, line)) {
      if (!line.empty() && line[0] != '#') first = line;
    }
    auto r = first.rfind("lease ", 0) == 0 || first.rfind("authoring-byte-order", 0) == 0
                 ? import_dhcp_leases(identity, directory, path)
                 : import_dhcp_syslog(identity, directory, path, current_year());
    if (!r) return r.error();
  }
  for (const std::string& path : cfg.logon_events) {
    if (auto r = import_logon_events(identity, directory, path); !r) return r.error();
  }
  return {};
}

std::shared_ptr<const dataplane::Enforcement> make_enforcement(
    std::uint64_t version, const std::vector<dataplane::ActionRule>& actions,
    const std::unordered_map<dataplane::IpAddr, dataplane::Verdict, dataplane::IpAddrHash>& sources) {
  auto e = std::make_shared<dataplane::Enforcement>();
  e->version = version;
  e->actions = actions;
  e->sources = sources;
  return e;
}

nlohmann::ordered_json stats_json(const dataplane::EngineStats& s) {
  nlohmann::ordered_json j;
  j["mode"] = s.mode;
  j["enforcement_version"] = s.enforcement_version;
  j["ports"] = nlohmann::ordered_json::array();
  for (const auto& p : s.ports) {
    j["ports"].push_back({{"port", p.port}, {"name", p.name}, {"rx_packets", p.rx_packets},
                          {"rx_bytes", p.rx_bytes}, {"tx_packets", p.tx_packets},
                          {"tx_bytes", p.tx_bytes}, {"rx_missed", p.rx_missed},
                          {"rx_errors", p.rx_errors}, {"rx_nombuf", p.rx_nombuf},
                          {"tx_errors", p.tx_errors}});
  }
  j["workers"] = nlohmann::ordered_json::array();
  for (const auto& w : s.workers) {
    j["workers"].push_back(
        {{"worker", w.worker}, {"lcore", w.lcore}, {"packets", w.packets}, {"bytes", w.bytes},
         {"forwarded", w.forwarded}, {"forwarded_uninspected", w.forwarded_uninspected},
         {"dropped", {{"verdict", w.dropped_verdict}, {"overload", w.dropped_overload},
                      {"tx", w.dropped_tx}, {"not_linearizable", w.not_linearizable}}},
         {"held", w.held}, {"released", w.released}, {"resets_sent", w.resets_sent},
         {"flows", {{"active", w.flows_active}, {"created", w.flows_created}}},
         {"findings", w.findings},
         {"verdicts", {{"drop", w.verdict_drop}, {"reset", w.verdict_reset}}},
         {"decode_malformed", w.decode_malformed},
         {"latency_ns", {{"p50", w.latency_p50_ns}, {"p99", w.latency_p99_ns}}},
         {"hung", w.hung}, {"stopped", w.stopped}});
  }
  return j;
}

void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
    if (!o) return;
    o << text;
  }
  std::rename(tmp.c_str(), path.c_str());
}

}  // namespace

int run_appliance(const RunOptions& opts, std::ostream& out, std::ostream& err) {
  const char* me = "dlpgate run";
  auto cfg = load_run_config(opts.config_path);
  if (!cfg) {
    err << me << ": " << cfg.error().message << "\n";
    return 2;
  }
  auto key = random_hash_key();
  if (!key) {
    err << me << ": " << key.error().message << "\n";
    return 2;
  }
  auto db = compile_detectors(cfg->packs, *key, cfg->cache_dir);
  if (!db) {
    err << me << ": " << db.error().message << "\n";
    return 2;
  }
  IdentityTable identity;
  Directory directory;
  if (auto r = load_identity(*cfg, identity, directory); !r) {
    err << me << ": " << r.error().message << "\n";
    return 2;
  }
  AnalyzerConfig acfg;
  if (!cfg->policy_path.empty()) {
    auto policy = Policy::load(cfg->policy_path);
    if (!policy) {
      err << me << ": " << policy.error().message << "\n";
      return 2;
    }
    acfg.policy = std::move(*policy);
  }
  Analyzer analyzer(std::move(acfg));

  std::ofstream findings_file;
  std::ostream* findings_out = &out;
  if (!cfg->findings_path.empty()) {
    findings_file.open(cfg->findings_path, std::ios::binary | std::ios::app);
    if (!findings_file) {
      err << me << ": cannot write findings to " << cfg->findings_path << "\n";
      return 2;
    }
    findings_out = &findings_file;
  }

  std::uint64_t enforcement_version = 1;
  std::vector<dataplane::ActionRule> actions = cfg->actions;
  std::unordered_map<dataplane::IpAddr, dataplane::Verdict, dataplane::IpAddrHash> sources;
  dataplane::RcuCell<dataplane::Enforcement> enforcement(
      make_enforcement(enforcement_version, actions, sources), cfg->engine.workers);

  const inspectors::Registry registry = inspectors::default_registry(cfg->engine.worker.limits);
  auto engine = dataplane::Engine::create(cfg->engine, *db, registry, enforcement);
  if (!engine) {
    err << me << ": " << engine.error().message << "\n";
    return 2;
  }
  if (auto r = (*engine)->start(); !r) {
    err << me << ": " << r.error().message << "\n";
    return 2;
  }

  g_stop.store(false);
  g_reload.store(false);
  struct sigaction sa{}, old_int{}, old_term{}, old_hup{};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  struct sigaction sr{};
  sr.sa_handler = on_reload_signal;
  sigemptyset(&sr.sa_mask);
  sigaction(SIGHUP, &sr, &old_hup);

  const auto& ecfg = (*engine)->config();
  err << me << ": " << (*db)->detectors().size() << " detectors, " << ecfg.workers
      << " worker(s) in " << (*engine)->stats().mode << " mode, inside port "
      << ecfg.inside_port << " <-> outside port " << ecfg.outside_port
      << (ecfg.inspect ? "" : " (inspection off)") << ", " << actions.size()
      << " action rule(s), on overload " << (ecfg.fail_open ? "fail_open" : "fail_closed") << "\n";
  if (opts.on_started) opts.on_started();

  signatures::Redactor redactor(*db);
  std::uint64_t findings = 0, blocked = 0;
  auto handle = [&](dataplane::Finding&& f) {
    redact_metadata(redactor, f.meta);
    const Identity* who = identity.lookup(f.src_ip, f.ts_ns);
    const std::string user = attributed_user(f, who);
    const std::string department = who ? who->department : directory.department(user);
    const AnalyzerDecision ad = analyzer.on_finding(f, user, department);
    Decision decision;
    decision.action = f.verdict != dataplane::Verdict::pass ? "block" : ad.action;
    decision.risk_score = ad.risk_score;
    auto j = finding_to_json(f, who, decision);
    j["verdict"] = std::string(dataplane::verdict_name(f.verdict));
    *findings_out << j.dump() << "\n";
    ++findings;
    if (f.verdict != dataplane::Verdict::pass) ++blocked;
    // Risk-adaptive enforcement: the policy blocked this sender's finding, so the next
    // finding from the same address is stopped inline.
    if (ad.action == "block" && cfg->block_verdict != dataplane::Verdict::pass) {
      auto it = sources.find(f.src_ip);
      if (it == sources.end() || it->second < cfg->block_verdict) {
        sources[f.src_ip] = cfg->block_verdict;
        enforcement.publish(make_enforcement(++enforcement_version, actions, sources));
      }
    }
  };

  int status = 0;
  auto last_stats = std::chrono::steady_clock::now();
  auto last_packet_change = last_stats;
  const auto started = last_stats;
  std::uint64_t last_packets = 0;
  bool seen_packets = false;
  while (!g_stop.load()) {
    if ((*engine)->drain(handle) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    findings_out->flush();
    enforcement.reclaim();
    const auto now = std::chrono::steady_clock::now();
    if (g_reload.exchange(false)) {
      auto next = load_run_config(opts.config_path);
      if (!next) {
        err << me << ": reload refused, keeping the running configuration: " << next.error().message << "\n";
      } else {
        auto ndb = compile_detectors(next->packs, *key, next->cache_dir);
        if (!ndb) {
          err << me << ": reload refused, keeping the running configuration: " << ndb.error().message << "\n";
        } else {
          (*engine)->reload_database(*ndb);
          actions = next->actions;
          enforcement.publish(make_enforcement(++enforcement_version, actions, sources));
          err << me << ": reloaded " << (*ndb)->detectors().size() << " detectors and "
              << actions.size() << " action rule(s) (dataplane settings need a restart)\n";
        }
      }
    }
    if (now - last_stats >= std::chrono::seconds(1)) {
      last_stats = now;
      for (unsigned w : (*engine)->watchdog()) {
        const auto s = (*engine)->stats();
        if (w < s.workers.size() && !s.workers[w].stopped) {
          err << me << ": worker " << w << " is hung (no heartbeat for " << ecfg.stall_ms << " ms)\n";
        } else {
          err << me << ": worker " << w << " stopped unexpectedly; shutting down\n";
          status = 3;
          g_stop.store(true);
        }
      }
      if (!cfg->stats_path.empty()) write_atomically(cfg->stats_path, stats_json((*engine)->stats()).dump(2) + "\n");
    }
    if (opts.until_idle_ms || opts.max_seconds) {
      std::uint64_t packets = 0;
      for (const auto& w : (*engine)->stats().workers) packets += w.packets;
      if (packets != last_packets) {
        last_packets = packets;
        last_packet_change = now;
        seen_packets = true;
      }
      if (opts.until_idle_ms && seen_packets &&
          now - last_packet_change >= std::chrono::milliseconds(opts.until_idle_ms)) {
        break;
      }
      if (opts.max_seconds && now - started >= std::chrono::seconds(opts.max_seconds)) break;
    }
  }

  (*engine)->stop();  // workers drain, end every flow, release held frames
  while ((*engine)->drain(handle) != 0) {
  }
  findings_out->flush();
  const dataplane::EngineStats s = (*engine)->stats();
  if (!cfg->stats_path.empty()) write_atomically(cfg->stats_path, stats_json(s).dump(2) + "\n");
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGHUP, &old_hup, nullptr);

  std::uint64_t pk = 0, fw = 0, unin = 0, dv = 0, dov = 0, rs = 0;
  for (const auto& w : s.workers) {
    pk += w.packets;
    fw += w.forwarded;
    unin += w.forwarded_uninspected;
    dv += w.dropped_verdict;
    dov += w.dropped_overload;
    rs += w.resets_sent;
  }
  err << "\n== dlpgate run summary ==\n"
      << "packets    " << pk << " (forwarded " << fw << ", uninspected " << unin
      << ", dropped by verdict " << dv << ", dropped on overload " << dov << ")\n"
      << "resets     " << rs << " RST frames sent\n"
      << "findings   " << findings << " (" << blocked << " blocked inline)\n";
  for (const auto& p : s.ports) {
    err << "port " << p.port << "     " << p.name << ": rx " << p.rx_packets << ", tx " << p.tx_packets
        << ", missed " << p.rx_missed << "\n";
  }
  engine->reset();
  dataplane::Engine::shutdown_eal();
  return status;
}

}  // namespace dlp::mgmt
