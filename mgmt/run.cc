#include "mgmt/run.h"

#include <unistd.h>

#include <grp.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/dlp/file.h"
#include "dataplane/dpdk/engine.h"
#include "inspectors/inspector.h"
#include "mgmt/analyzer.h"
#include "mgmt/audit.h"
#include "mgmt/control.h"
#include "mgmt/detectors_load.h"
#include "mgmt/finding_json.h"
#include "mgmt/identity.h"
#include "mgmt/identity_import.h"
#include "mgmt/identity_live.h"
#include "mgmt/requests.h"
#include "mgmt/run_config.h"
#include "mgmt/store.h"
#include "mgmt/store_records.h"
#include "signatures/redact.h"

namespace dlp::mgmt {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};
std::atomic<bool> g_policy_changed{false};    // dlpctl policy apply
std::atomic<bool> g_identity_changed{false};  // dlpctl identity import

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
         {"hung", w.hung}, {"stopped", w.stopped}, {"crashed", w.crashed}});
  }
  return j;
}

nlohmann::json to_json(const RadiusCounters& c) {
  return {{"received", c.received}, {"answered", c.answered}, {"starts", c.starts},
          {"interims", c.interims}, {"stops", c.stops}, {"nas_restarts", c.nas_restarts},
          {"other_status", c.other_status}, {"bound", c.bound}, {"ended", c.ended},
          {"unchanged", c.unchanged}, {"no_identity", c.no_identity},
          {"stop_unmatched", c.stop_unmatched}, {"stale", c.stale}, {"send_failed", c.send_failed},
          {"internal_errors", c.internal_errors},
          {"dropped", {{"total", c.dropped()}, {"not_allowed", c.not_allowed}, {"truncated", c.truncated},
                       {"bad_length", c.bad_length},
                       {"not_accounting_request", c.not_accounting_request},
                       {"bad_authenticator", c.bad_authenticator},
                       {"bad_attribute", c.bad_attribute}, {"no_status_type", c.no_status_type}}}};
}

nlohmann::json to_json(const SyslogCounters& c) {
  return {{"received", c.received}, {"bound", c.bound}, {"ended", c.ended},
          {"renewed", c.renewed}, {"unowned", c.unowned}, {"ignored", c.ignored},
          {"internal_errors", c.internal_errors},
          {"dropped", {{"total", c.dropped()}, {"not_allowed", c.not_allowed}, {"bad_frame", c.bad_frame},
                       {"bad_dhcp", c.bad_dhcp}, {"bad_logon", c.bad_logon}}}};
}

// The identity part of `dlpctl status`: how many bindings, and each live source's counters.
nlohmann::json identity_status(const SharedIdentity& ids, const LiveIdentity& live,
                               const RunConfig& cfg) {
  nlohmann::json j;
  const auto [all, live_bindings] = ids.read(
      [](const IdentityTable& t) { return std::make_pair(t.size(), t.live_size()); });
  j["bindings"] = all;
  j["live_bindings"] = live_bindings;
  if (const auto* r = live.radius()) {
    j["radius"] = to_json(r->counters());
    j["radius"]["listen"] = cfg.live_identity.radius_listen;
    j["radius"]["port"] = r->port();
  }
  if (const auto* sl = live.syslog()) {
    j["syslog"] = to_json(sl->counters());
    j["syslog"]["listen"] = cfg.live_identity.syslog_listen;
    j["syslog"]["port"] = sl->port();
  }
  return j;
}

// The store keeps what the files said; live bindings stay in the running table.
IdentityTable file_bindings(const IdentityTable& all) {
  IdentityTable out;
  for (IdentityTable::Entry& e : all.entries()) {
    if (!e.live) out.bind(e.ip, std::move(e.who), e.start_ns, e.end_ns, e.source);
  }
  return out;
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


struct PolicyState {
  std::optional<Policy> policy;
  std::string note;  // where it came from, for messages
  std::int64_t version = 0;
};

// The policy to enforce. The config's file is applied to the store when its text is not
// already a stored version (`apply_file`); then the store's current version wins. Without
// a store, the file is the policy.
Result<PolicyState> sync_policy(const RunConfig& cfg, Store* store, const Caller& who,
                                bool apply_file) {
  PolicyState st;
  std::optional<Policy> from_file;
  if (!cfg.policy_path.empty()) {
    std::string text;
    if (!read_file(cfg.policy_path, text)) return make_error(cfg.policy_path + ": cannot read the policy file");
    auto p = Policy::parse(text, cfg.policy_path);
    if (!p) return p.error();
    from_file = std::move(*p);
    if (store && apply_file) {
      auto history = store->policy_history(100000);
      if (!history) return history.error();
      const std::string sha = sha256_hex(text);
      bool known = false;
      for (const PolicyVersion& v : *history) known = known || v.sha256 == sha;
      if (!known) {
        if (auto v = store->apply_policy(text, cfg.policy_path, who); !v) return v.error();
      }
    }
  }
  if (store) {
    auto cur = store->current_policy();
    if (!cur) return cur.error();
    if (*cur) {
      const PolicyVersion& v = **cur;
      auto p = Policy::parse(v.source, store->location() + ": policy v" + std::to_string(v.version));
      if (!p) return p.error();
      st.policy = std::move(*p);
      st.version = v.version;
      st.note = "policy v" + std::to_string(v.version) + " from the store";
      return st;
    }
  }
  if (from_file) {
    st.policy = std::move(from_file);
    st.note = "policy " + cfg.policy_path;
  } else {
    st.note = "no policy (every finding is alerted)";
  }
  return st;
}

// The files of the config plus every binding in the store (`dlpctl identity import`).
Result<void> build_identity(const RunConfig& cfg, Store* store, IdentityTable& identity,
                            Directory& directory) {
  if (auto r = load_identity(cfg, identity, directory); !r) return r;
  if (!store) return {};
  auto stored = store->bindings("");
  if (!stored) return stored.error();
  for (const BindingRecord& b : *stored) {
    dataplane::IpAddr ip;
    IdentitySource src = IdentitySource::static_map;
    if (!parse_ip(b.ip, ip)) continue;
    parse_identity_source(b.source, src);
    identity.bind(ip, Identity{b.user, b.department}, b.start_ns, b.end_ns, src);
  }
  return {};
}

// A `dlpctl reload` waiting for the main thread to carry it out.
struct PendingReload {
  std::mutex mu;
  std::condition_variable cv;
  bool pending = false, done = false;
  Caller who;
  nlohmann::json reply;
};

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
  const Caller self = Caller::current();
  std::unique_ptr<Store> store;  // the main thread's connection
  if (!cfg->store.empty()) {
    auto opened = open_store(cfg->store);
    if (!opened) {
      err << me << ": " << opened.error().message << "\n";
      return 2;
    }
    store = std::move(*opened);
  }
  auto directory = std::make_unique<Directory>();
  // Files and store first; the live listeners (started below) add to the same table, so
  // one rule (identity.h) ranks every source at a finding's packet time.
  SharedIdentity identity;
  {
    IdentityTable files;
    if (auto r = build_identity(*cfg, store.get(), files, *directory); !r) {
      err << me << ": " << r.error().message << "\n";
      return 2;
    }
    identity.replace_files(std::move(files));
  }
  auto pstate = sync_policy(*cfg, store.get(), self, true);
  if (!pstate) {
    err << me << ": " << pstate.error().message << "\n";
    return 2;
  }
  std::string policy_note = pstate->note;
  AnalyzerConfig acfg;
  acfg.policy = std::move(pstate->policy);
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

  // The control socket: dlpctl's verbs against the store (on the server's own connection),
  // plus status and reload answered by this process.
  LiveIdentity live;  // declared after `identity`, so it stops before the table goes
  std::mutex status_mu;
  nlohmann::json status_doc = {{"ok", true}, {"daemon", true}, {"state", "starting"}};
  PendingReload reload_req;
  std::unique_ptr<Store> control_store;
  ControlServer control;
  if (cfg->control) {
    if (store) {
      auto opened = open_store(cfg->store);
      if (!opened) {
        err << me << ": " << opened.error().message << "\n";
        return 2;
      }
      control_store = std::move(*opened);
      register_store_handlers(control, *control_store,
                              [](const ControlRequest& r, const nlohmann::json&) {
                                const std::string cmd = r.body.value("cmd", std::string());
                                if (cmd == "policy.apply") g_policy_changed.store(true);
                                if (cmd == "identity.import") g_identity_changed.store(true);
                              });
    }
    control.handle("status", [&](const ControlRequest&) {
      nlohmann::json reply;
      {
        std::lock_guard lk(status_mu);
        reply = status_doc;
      }
      if (control_store) {
        if (auto sum = control_store->summary()) reply["store"] = to_json(*sum);
      }
      return reply;
    });
    // Who the daemon would name: files, store and live sources together, by the same rule
    // as a finding (the store alone knows only imported and file bindings).
    control.handle("identity.lookup", [&](const ControlRequest& r) {
      nlohmann::json reply = identity.read(
          [&](const IdentityTable& t) { return identity_lookup_in(r.body, t); });
      if (reply.value("ok", false)) reply["daemon"] = true;
      return reply;
    });
    // The store's bindings (files and imports), then what the live listeners bound, which
    // is kept in the running table only.
    control.handle("identity.list", [&](const ControlRequest& r) {
      nlohmann::json reply = control_store
                                 ? run_request(control_store.get(), r.body, r.peer)
                                 : nlohmann::json{{"ok", true}, {"bindings", nlohmann::json::array()}};
      if (!reply.value("ok", false)) return reply;
      const std::string want = r.body.value("ip", std::string());
      dataplane::IpAddr want_ip;
      if (!want.empty() && !parse_ip(want, want_ip)) {
        return nlohmann::json{{"ok", false}, {"error", "not an IP address: '" + want + "'"}};
      }
      for (const IdentityTable::Entry& e : identity.entries()) {
        if (!e.live || (!want.empty() && e.ip != want_ip)) continue;
        reply["bindings"].push_back(to_json(BindingRecord{
            e.ip.str(), e.who.user, e.who.department, e.start_ns, e.end_ns,
            identity_source_name(e.source), "live"}));
      }
      reply["daemon"] = true;
      return reply;
    });
    control.handle("reload", [&](const ControlRequest& r) {
      std::unique_lock lk(reload_req.mu);
      reload_req.pending = true;
      reload_req.done = false;
      reload_req.who = r.peer;
      g_reload.store(true);
      if (!reload_req.cv.wait_for(lk, std::chrono::seconds(120), [&] { return reload_req.done; })) {
        reload_req.pending = false;
        return nlohmann::json{{"ok", false}, {"error", "the daemon did not finish the reload in 120 s"}};
      }
      return reload_req.reply;
    });
    ControlOptions copts;
    copts.path = cfg->control_socket.empty() ? default_control_socket() : cfg->control_socket;
    if (!cfg->control_group.empty()) {
      if (const group* g = getgrnam(cfg->control_group.c_str())) copts.group = g->gr_gid;
    }
    if (auto r = control.start(copts); !r) {
      err << me << ": control socket: " << r.error().message << "\n";
      return 2;
    }
  }

  {
    auto started = start_live_identity(cfg->live_identity, identity, *directory);
    if (!started) {
      err << me << ": identity: " << started.error().message << "\n";
      return 2;
    }
    live = std::move(*started);
  }

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
  g_policy_changed.store(false);
  g_identity_changed.store(false);
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
  std::size_t detector_count = (*db)->detectors().size();
  err << me << ": " << detector_count << " detectors, " << ecfg.workers << " worker(s) in "
      << (*engine)->stats().mode << " mode, inside port " << ecfg.inside_port
      << " <-> outside port " << ecfg.outside_port << (ecfg.inspect ? "" : " (inspection off)")
      << ", " << actions.size() << " action rule(s), on overload "
      << (ecfg.fail_open ? "fail_open" : "fail_closed") << ", " << policy_note;
  if (store) err << ", store " << store->location();
  if (control.running()) err << ", control socket " << control.path();
  if (live.radius()) err << ", RADIUS accounting on udp port " << live.radius()->port();
  if (live.syslog()) err << ", identity syslog on udp port " << live.syslog()->port();
  err << "\n";

  const std::string run_id = new_run_id();
  std::uint64_t store_errors = 0;
  auto audit = [&](const std::string& action, const nlohmann::json& detail, const Caller& who) {
    if (!store) return;
    if (auto r = store->audit(action, "run " + run_id, detail, who); !r) {
      ++store_errors;
      err << me << ": audit log: " << r.error().message << "\n";
    }
  };
  audit("daemon.start",
        {{"config", cfg->path}, {"pid", static_cast<long>(getpid())}, {"detectors", detector_count},
         {"actions", actions.size()}, {"policy", policy_note}},
        self);

  auto redactor = std::make_unique<signatures::Redactor>(*db);
  std::uint64_t findings = 0, blocked = 0;
  std::vector<FindingRecord> pending;  // not yet in the store
  UserSightings sightings;
  auto handle = [&](dataplane::Finding&& f) {
    redact_metadata(*redactor, f.meta);
    const std::optional<Identity> held = identity.lookup(f.src_ip, f.ts_ns);
    const Identity* who = held ? &*held : nullptr;
    const std::string user = attributed_user(f, who);
    const std::string department = who ? who->department : directory->department(user);
    const AnalyzerDecision ad = analyzer.on_finding(f, user, department);
    Decision decision;
    decision.action = f.verdict != dataplane::Verdict::pass ? "block" : ad.action;
    decision.risk_score = ad.risk_score;
    auto j = finding_to_json(f, who, decision);
    j["verdict"] = std::string(dataplane::verdict_name(f.verdict));
    *findings_out << j.dump() << "\n";
    if (store) {
      pending.push_back(finding_record(f, user, department, ad, j));
      sightings.add(pending.back());
    }
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

  // Findings, incidents, users and baselines go to the store under this run's id every
  // few seconds (the store makes a repeated ingest of one run idempotent). A failed write
  // keeps the findings for the next attempt; they are in the findings output regardless.
  bool bindings_stored = false;
  auto flush_store = [&] {
    if (!store || (pending.empty() && bindings_stored)) return;
    Ingest batch;
    batch.run_id = run_id;
    batch.findings = pending;
    batch.incidents = incident_records(analyzer);
    batch.users = sightings.records(analyzer);
    batch.baselines = baseline_records(analyzer);
    if (!bindings_stored) {
      batch.bindings = binding_records(identity.read(file_bindings), [&](IdentitySource src) -> std::string {
        if (src == IdentitySource::static_map && !cfg->identity_csv.empty()) return cfg->identity_csv;
        return cfg->path;
      });
    }
    batch.summary = {{"config", cfg->path}, {"policy", policy_note}, {"daemon", true}};
    if (auto r = store->ingest(batch, self); !r) {
      ++store_errors;
      err << me << ": storing " << pending.size() << " finding(s) failed, will retry: "
          << r.error().message << "\n";
      return;
    }
    pending.clear();
    bindings_stored = true;
  };

  auto do_reload = [&](const Caller& who) -> nlohmann::json {
    auto next = load_run_config(opts.config_path);
    if (!next) return {{"ok", false}, {"error", "reload refused, keeping the running configuration: " + next.error().message}};
    auto ndb = compile_detectors(next->packs, *key, next->cache_dir);
    if (!ndb) return {{"ok", false}, {"error", "reload refused, keeping the running configuration: " + ndb.error().message}};
    auto np = sync_policy(*next, store.get(), who, true);
    if (!np) return {{"ok", false}, {"error", "reload refused, keeping the running configuration: " + np.error().message}};
    auto nid = std::make_unique<IdentityTable>();
    auto ndir = std::make_unique<Directory>();
    if (auto r = build_identity(*next, store.get(), *nid, *ndir); !r) {
      return {{"ok", false}, {"error", "reload refused, keeping the running configuration: " + r.error().message}};
    }
    const bool live_changed =
        next->live_identity.radius_listen != cfg->live_identity.radius_listen ||
        next->live_identity.radius_secret_file != cfg->live_identity.radius_secret_file ||
        next->live_identity.syslog_listen != cfg->live_identity.syslog_listen ||
        next->live_identity.radius_allow != cfg->live_identity.radius_allow ||
        next->live_identity.syslog_allow != cfg->live_identity.syslog_allow;
    (*engine)->reload_database(*ndb);
    redactor = std::make_unique<signatures::Redactor>(*ndb);
    detector_count = (*ndb)->detectors().size();
    actions = next->actions;
    enforcement.publish(make_enforcement(++enforcement_version, actions, sources));
    analyzer.set_policy(std::move(np->policy));
    policy_note = np->note;
    identity.replace_files(std::move(*nid));
    directory = std::move(ndir);
    live.set_directory(*directory);
    const std::string msg = std::to_string(detector_count) + " detectors, " +
                            std::to_string(actions.size()) + " action rule(s), " + policy_note +
                            ", " + std::to_string(identity.size()) +
                            " identity binding(s) (dataplane settings" +
                            (live_changed ? " and the changed identity listeners" : "") +
                            " need a restart)";
    audit("daemon.reload", {{"config", next->path}, {"detectors", detector_count},
                            {"actions", actions.size()}, {"policy", policy_note}}, who);
    return {{"ok", true}, {"message", msg}};
  };

  auto publish_status = [&](const dataplane::EngineStats& s, const std::string& state) {
    std::uint64_t pk = 0, by = 0, fw = 0, dropped = 0, rs = 0;
    for (const auto& w : s.workers) {
      pk += w.packets;
      by += w.bytes;
      fw += w.forwarded;
      dropped += w.dropped_verdict + w.dropped_overload + w.dropped_tx;
      rs += w.resets_sent;
    }
    nlohmann::json j = {{"ok", true},
                        {"daemon", true},
                        {"state", state},
                        {"pid", static_cast<long>(getpid())},
                        {"config", cfg->path},
                        {"run", run_id},
                        {"mode", s.mode},
                        {"workers", s.workers.size()},
                        {"detectors", detector_count},
                        {"policy", policy_note},
                        {"enforcement", s.enforcement_version},
                        {"packets", pk},
                        {"bytes", by},
                        {"forwarded", fw},
                        {"dropped", dropped},
                        {"resets", rs},
                        {"findings", findings},
                        {"blocked", blocked},
                        {"store_errors", store_errors},
                        {"identity", identity_status(identity, live, *cfg)},
                        {"counters", nlohmann::json::parse(stats_json(s).dump())}};
    std::lock_guard lk(status_mu);
    status_doc = std::move(j);
  };
  publish_status((*engine)->stats(), "running");
  if (opts.on_started) opts.on_started();

  int status = 0;
  auto last_stats = std::chrono::steady_clock::now();
  auto last_store = last_stats;
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
      Caller who = self;
      {
        std::lock_guard lk(reload_req.mu);
        if (reload_req.pending) who = reload_req.who;
      }
      nlohmann::json reply = do_reload(who);
      if (reply.value("ok", false)) {
        err << me << ": reloaded " << reply.value("message", std::string()) << "\n";
      } else {
        err << me << ": " << reply.value("error", std::string()) << "\n";
      }
      std::lock_guard lk(reload_req.mu);
      if (reload_req.pending) {
        reload_req.pending = false;
        reload_req.done = true;
        reload_req.reply = std::move(reply);
        reload_req.cv.notify_all();
      }
    }
    if (g_policy_changed.exchange(false)) {
      auto np = sync_policy(*cfg, store.get(), self, false);
      if (!np) {
        err << me << ": the new policy could not be loaded, keeping " << policy_note << ": "
            << np.error().message << "\n";
      } else {
        analyzer.set_policy(std::move(np->policy));
        policy_note = np->note;
        err << me << ": now enforcing " << policy_note << "\n";
      }
    }
    if (g_identity_changed.exchange(false)) {
      auto nid = std::make_unique<IdentityTable>();
      auto ndir = std::make_unique<Directory>();
      if (auto r = build_identity(*cfg, store.get(), *nid, *ndir); !r) {
        err << me << ": imported bindings could not be loaded: " << r.error().message << "\n";
      } else {
        identity.replace_files(std::move(*nid));
        directory = std::move(ndir);
        live.set_directory(*directory);
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
      const dataplane::EngineStats s = (*engine)->stats();
      publish_status(s, "running");
      if (!cfg->stats_path.empty()) write_atomically(cfg->stats_path, stats_json(s).dump(2) + "\n");
    }
    if (now - last_store >= std::chrono::seconds(2)) {
      last_store = now;
      flush_store();
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
  live.stop();        // the listeners' threads end; their counters stay readable
  while ((*engine)->drain(handle) != 0) {
  }
  findings_out->flush();
  const dataplane::EngineStats s = (*engine)->stats();
  flush_store();
  if (!cfg->stats_path.empty()) write_atomically(cfg->stats_path, stats_json(s).dump(2) + "\n");
  publish_status(s, "stopping");
  control.stop();
  {
    // A reload asked for while stopping is answered, not left waiting.
    std::lock_guard lk(reload_req.mu);
    if (reload_req.pending) {
      reload_req.pending = false;
      reload_req.done = true;
      reload_req.reply = {{"ok", false}, {"error", "the daemon is stopping"}};
      reload_req.cv.notify_all();
    }
  }
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
  audit("daemon.stop", {{"packets", pk}, {"findings", findings}, {"blocked", blocked},
                        {"unstored_findings", pending.size()}}, self);
  err << "\n== dlpgate run summary ==\n"
      << "packets    " << pk << " (forwarded " << fw << ", uninspected " << unin
      << ", dropped by verdict " << dv << ", dropped on overload " << dov << ")\n"
      << "resets     " << rs << " RST frames sent\n"
      << "findings   " << findings << " (" << blocked << " blocked inline)\n";
  for (const auto& p : s.ports) {
    err << "port " << p.port << "     " << p.name << ": rx " << p.rx_packets << ", tx " << p.tx_packets
        << ", missed " << p.rx_missed << "\n";
  }
  if (store) {
    err << "store      " << store->location() << " (" << store->backend() << "): run " << run_id;
    if (!pending.empty()) err << ", " << pending.size() << " finding(s) could NOT be stored";
    err << "\n";
    if (!pending.empty() && status == 0) status = 4;
  }
  engine->reset();
  dataplane::Engine::shutdown_eal();
  return status;
}

}  // namespace dlp::mgmt
