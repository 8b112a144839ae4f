#include "mgmt/requests.h"

#include <chrono>
#include <ctime>

#include "mgmt/finding_json.h"
#include "mgmt/identity_import.h"
#include "mgmt/policy.h"

namespace dlp::mgmt {
namespace {

using nlohmann::json;

json fail(const std::string& why) { return json{{"ok", false}, {"error", why}}; }

template <class T>
bool take(const Result<T>& r, json& error) {
  if (r) return true;
  error = fail(r.error().message);
  return false;
}

std::size_t limit_of(const json& req, std::size_t dflt) {
  const auto it = req.find("limit");
  if (it == req.end() || !it->is_number_unsigned()) return dflt;
  return it->get<std::size_t>();
}

std::string text_of(const json& req, const char* key) {
  const auto it = req.find(key);
  return it != req.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool parse_time(const std::string& t, std::uint64_t& ns) {
  if (t == "now") {
    ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
    return true;
  }
  if (!t.empty() && t.find_first_not_of("0123456789") == std::string::npos && t.size() <= 12) {
    ns = std::stoull(t) * 1'000'000'000ull;
    return true;
  }
  return parse_iso8601(t, ns);
}

json identity_import(Store& store, const json& req, const Caller& who) {
  IdentityTable ids;
  Directory dir;
  json sources = json::array();
  ImportStats total;
  auto doc = [&](const json& d, const char* what, std::string& origin, std::string& text) -> bool {
    if (!d.is_object() || !d.contains("text") || !d["text"].is_string()) return false;
    origin = d.value("origin", std::string(what));
    text = d["text"].get<std::string>();
    return true;
  };
  std::string origin, text;
  if (req.contains("directory")) {
    if (!doc(req["directory"], "directory", origin, text)) return fail("directory: expected {origin, text}");
    if (auto r = dir.parse(text, origin); !r) return fail(r.error().message);
    sources.push_back(json{{"directory", origin}, {"users", dir.users()}});
  }
  if (req.contains("identity_csv")) {
    if (!doc(req["identity_csv"], "identity", origin, text)) return fail("identity_csv: expected {origin, text}");
    const std::size_t before = ids.size();
    if (auto r = ids.parse_csv(text, origin); !r) return fail(r.error().message);
    total.bindings += ids.size() - before;
    sources.push_back(json{{"identity", origin}});
  }
  int year = req.value("dhcp_year", 0);
  if (year == 0) {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    year = tm.tm_year + 1900;
  }
  for (const char* key : {"dhcp_logs", "logon_events"}) {
    if (!req.contains(key)) continue;
    if (!req[key].is_array()) return fail(std::string(key) + ": expected a list of {origin, text}");
    for (const json& d : req[key]) {
      if (!doc(d, key, origin, text)) return fail(std::string(key) + ": expected {origin, text}");
      Result<ImportStats> r = std::string(key) == "logon_events"
                                  ? import_logon_events_text(ids, dir, text, origin)
                                  : looks_like_lease_file(text)
                                        ? import_dhcp_leases_text(ids, dir, text, origin)
                                        : import_dhcp_syslog_text(ids, dir, text, origin, year);
      if (!r) return fail(r.error().message);
      total.bindings += r->bindings;
      total.unowned += r->unowned;
      total.ended += r->ended;
      sources.push_back(json{{key, origin}, {"bindings", r->bindings}, {"unowned", r->unowned}});
    }
  }
  if (sources.empty()) {
    return fail("nothing to import: give --identity, --directory, --dhcp-log or --logon-events");
  }
  // Origins per source kind, so `identity list` says where each binding came from.
  std::string origins;
  for (const json& s : sources) {
    for (auto it = s.begin(); it != s.end(); ++it) {
      if (it->is_string()) origins += (origins.empty() ? "" : ",") + it->get<std::string>();
    }
  }
  std::vector<BindingRecord> recs;
  for (const auto& e : ids.entries()) {
    recs.push_back(BindingRecord{e.ip.str(), e.who.user, e.who.department, e.start_ns, e.end_ns,
                                 identity_source_name(e.source), origins});
  }
  auto n = store.add_bindings(recs, json{{"sources", sources}}, who);
  if (!n) return fail(n.error().message);
  return json{{"ok", true},          {"bindings", *n},        {"unowned", total.unowned},
              {"ended", total.ended}, {"sources", sources}};
}

bool lookup_args(const json& req, dataplane::IpAddr& ip, std::uint64_t& ts, json& error) {
  const std::string ip_text = text_of(req, "ip");
  if (!parse_ip(ip_text, ip)) {
    error = fail("not an IP address: '" + ip_text + "'");
    return false;
  }
  const std::string t = text_of(req, "time");
  if (!parse_time(t, ts)) {
    error = fail("bad time '" + t + "' (ISO-8601 like 2024-03-04T09:00:00Z, epoch seconds, or now)");
    return false;
  }
  return true;
}

json identity_lookup(Store& store, const json& req) {
  dataplane::IpAddr ip;
  std::uint64_t ts = 0;
  json error;
  if (!lookup_args(req, ip, ts, error)) return error;
  auto rows = store.bindings(ip.str());
  if (!rows) return fail(rows.error().message);
  // The table's rule decides, exactly as at scan time.
  IdentityTable ids;
  for (const BindingRecord& b : *rows) {
    IdentitySource src = IdentitySource::static_map;
    parse_identity_source(b.source, src);
    ids.bind(ip, Identity{b.user, b.department}, b.start_ns, b.end_ns, src);
  }
  return identity_lookup_in(req, ids);
}

}  // namespace

json identity_lookup_in(const json& req, const IdentityTable& ids) {
  dataplane::IpAddr ip;
  std::uint64_t ts = 0;
  json error;
  if (!lookup_args(req, ip, ts, error)) return error;
  const Identity* who = ids.lookup(ip, ts);
  json j{{"ok", true}, {"ip", ip.str()}, {"time", iso8601_utc(ts)}, {"candidates", ids.bindings_of(ip)}};
  j["identity"] = who ? json{{"user", who->user}, {"department", who->department}} : json(nullptr);
  return j;
}

const std::vector<std::string>& store_request_names() {
  static const std::vector<std::string> names{
      "status",       "users.top",       "user.show",     "incidents.list",  "incident.show",
      "incident.ack", "policy.check",    "policy.apply",  "policy.show",     "identity.import",
      "identity.list", "identity.lookup", "audit.verify", "audit.log"};
  return names;
}

json run_request(Store* store, const json& req, const Caller& who) {
  if (!req.is_object() || !req.contains("cmd") || !req["cmd"].is_string()) {
    return fail("a request is a JSON object with a string \"cmd\"");
  }
  const std::string cmd = req["cmd"].get<std::string>();
  if (cmd == "policy.check" || cmd == "policy.apply") {
    const std::string text = text_of(req, "text");
    const std::string origin = req.value("origin", std::string("policy"));
    auto p = Policy::parse(text, origin);
    if (!p) return fail(p.error().message);
    if (cmd == "policy.check") {
      return json{{"ok", true}, {"origin", origin}, {"rules", p->rules().size()},
                  {"default", p->default_action()}};
    }
    if (!store) return fail("no store");
    auto v = store->apply_policy(text, origin, who);
    if (!v) return fail(v.error().message);
    return json{{"ok", true}, {"policy", to_json(*v, false)}, {"rules", p->rules().size()}};
  }
  if (!store) return fail("no store");
  json error;
  if (cmd == "status") {
    auto s = store->summary();
    if (!take(s, error)) return error;
    return json{{"ok", true}, {"daemon", false}, {"store", to_json(*s)}};
  }
  if (cmd == "users.top") {
    auto u = store->top_users(limit_of(req, 10));
    if (!take(u, error)) return error;
    json list = json::array();
    for (const auto& r : *u) list.push_back(to_json(r));
    return json{{"ok", true}, {"users", list}};
  }
  if (cmd == "user.show") {
    const std::string name = text_of(req, "user");
    auto u = store->user(name);
    if (!take(u, error)) return error;
    auto f = store->findings(FindingQuery{name, 0, limit_of(req, 200)});
    if (!take(f, error)) return error;
    if (!*u && f->empty()) return fail("no user '" + name + "' in " + store->location());
    auto b = store->baselines(name);
    if (!take(b, error)) return error;
    auto inc = store->incidents(IncidentQuery{"", name, 100});
    if (!take(inc, error)) return error;
    json timeline = json::array();
    for (auto it = f->rbegin(); it != f->rend(); ++it) timeline.push_back(to_json(*it));
    json base = json::array(), incs = json::array();
    for (const auto& r : *b) base.push_back(to_json(r));
    for (const auto& r : *inc) incs.push_back(to_json(r));
    UserRecord ur = *u ? **u : UserRecord{name};
    return json{{"ok", true}, {"user", to_json(ur)}, {"timeline", timeline},
                {"baselines", base}, {"incidents", incs}};
  }
  if (cmd == "incidents.list") {
    const std::string status = text_of(req, "status");
    if (!status.empty() && status != "open" && status != "acknowledged") {
      return fail("--status takes open or acknowledged");
    }
    auto inc = store->incidents(IncidentQuery{status, text_of(req, "user"), limit_of(req, 100)});
    if (!take(inc, error)) return error;
    json list = json::array();
    for (const auto& r : *inc) list.push_back(to_json(r));
    return json{{"ok", true}, {"incidents", list}};
  }
  if (cmd == "incident.show" || cmd == "incident.ack") {
    if (!req.contains("id") || !req["id"].is_number_integer()) return fail("give an incident ID");
    const std::int64_t id = req["id"].get<std::int64_t>();
    if (cmd == "incident.ack") {
      auto done = store->ack_incident(id, text_of(req, "note"), who);
      if (!take(done, error)) return error;
      if (!*done) return fail("no incident " + std::to_string(id));
    }
    auto inc = store->incident(id);
    if (!take(inc, error)) return error;
    if (!*inc) return fail("no incident " + std::to_string(id));
    json j{{"ok", true}, {"incident", to_json(**inc)}};
    if (cmd == "incident.show") {
      auto f = store->findings(FindingQuery{"", id, 1000});
      if (!take(f, error)) return error;
      json list = json::array();
      for (auto it = f->rbegin(); it != f->rend(); ++it) list.push_back(to_json(*it));
      j["findings"] = list;
    }
    return j;
  }
  if (cmd == "policy.show") {
    auto cur = store->current_policy();
    if (!take(cur, error)) return error;
    json j{{"ok", true}, {"policy", *cur ? to_json(**cur, true) : json(nullptr)}};
    if (req.value("history", false)) {
      auto h = store->policy_history(limit_of(req, 50));
      if (!take(h, error)) return error;
      json list = json::array();
      for (const auto& v : *h) list.push_back(to_json(v, false));
      j["history"] = list;
    }
    return j;
  }
  if (cmd == "identity.import") return identity_import(*store, req, who);
  if (cmd == "identity.list") {
    std::string ip = text_of(req, "ip");
    if (!ip.empty()) {
      dataplane::IpAddr a;
      if (!parse_ip(ip, a)) return fail("not an IP address: '" + ip + "'");
      ip = a.str();
    }
    auto b = store->bindings(ip);
    if (!take(b, error)) return error;
    json list = json::array();
    for (const auto& r : *b) list.push_back(to_json(r));
    return json{{"ok", true}, {"bindings", list}};
  }
  if (cmd == "identity.lookup") return identity_lookup(*store, req);
  if (cmd == "audit.verify") {
    auto v = store->verify_audit();
    if (!take(v, error)) return error;
    return json{{"ok", true}, {"store", store->location()}, {"verdict", to_json(*v)}};
  }
  if (cmd == "audit.log") {
    auto l = store->audit_log(limit_of(req, 50));
    if (!take(l, error)) return error;
    json list = json::array();
    for (const auto& e : *l) list.push_back(to_json(e));
    return json{{"ok", true}, {"entries", list}};
  }
  return fail("unknown command '" + cmd + "'");
}

}  // namespace dlp::mgmt
