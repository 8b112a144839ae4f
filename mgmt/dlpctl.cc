#include "mgmt/dlpctl.h"

#include "common/dlp/file.h"

#include <boost/program_options.hpp>

#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "mgmt/control.h"
#include "mgmt/requests.h"
#include "mgmt/store.h"

namespace dlp::mgmt {
namespace {

namespace po = boost::program_options;
using nlohmann::json;

struct Common {
  std::string store, socket;
  bool json = false;
  bool store_given = false, socket_given = false;
  std::size_t limit = 0;
};


std::string str(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// Sends to the daemon or runs on the store. `via` says which.
json execute(const Common& c, const json& req, std::string& via, bool& no_daemon) {
  no_daemon = true;
  if (req.value("cmd", "") == "policy.check") {  // needs neither daemon nor store
    via = "dlpctl";
    return run_request(nullptr, req, Caller::current());
  }
  if (!c.store_given || c.socket_given) {
    bool absent = false;
    auto r = control_call(c.socket, req, 60000, &absent);
    if (r) {
      no_daemon = false;
      via = "daemon at " + c.socket;
      return *r;
    }
    if (!absent) return json{{"ok", false}, {"error", r.error().message}};
    if (c.socket_given && !c.store_given) {
      return json{{"ok", false}, {"error", "no dlpgate daemon is listening on " + c.socket}};
    }
  }
  via = "store " + c.store;
  auto store = open_store(c.store);
  if (!store) return json{{"ok", false}, {"error", store.error().message}};
  return run_request(store->get(), req, Caller::current());
}

void print_users(std::ostream& out, const json& users) {
  out << std::left << std::setw(20) << "user" << std::setw(14) << "department" << std::right
      << std::setw(6) << "score" << "  " << std::left << std::setw(9) << "level" << std::right
      << std::setw(9) << "findings" << "  top reason\n";
  for (const json& u : users) {
    const auto& reasons = u["reasons"];
    out << std::left << std::setw(20) << str(u, "user") << std::setw(14) << str(u, "department")
        << std::right << std::setw(6) << u.value("risk_score", 0) << "  " << std::left
        << std::setw(9) << str(u, "risk_level") << std::right << std::setw(9)
        << u.value("findings", 0) << "  "
        << (reasons.empty() ? "" : reasons[0].get<std::string>()) << "\n";
  }
  out << std::right;
}

void print_incident_line(std::ostream& out, const json& i) {
  out << std::setw(6) << i.value("id", 0) << "  " << std::left << std::setw(14)
      << str(i, "status") << std::setw(16) << str(i, "user") << std::right << std::setw(4)
      << i.value("risk_score", 0) << " " << std::left << std::setw(9) << str(i, "risk_level")
      << std::setw(7) << str(i, "action") << std::right << std::setw(5) << i.value("findings", 0)
      << "  " << str(i, "first") << " .. " << str(i, "last") << "\n";
}

void print_finding_line(std::ostream& out, const json& f) {
  std::string masked;
  for (const auto& m : f["masked"]) masked += (masked.empty() ? "" : " ") + m.get<std::string>();
  out << "  " << str(f, "time") << "  " << std::left << std::setw(20) << str(f, "category")
      << std::setw(7) << str(f, "action") << std::right << std::setw(5) << f.value("count", 0)
      << "  risk " << std::setw(3) << f.value("risk_score", 0) << "  " << str(f, "app") << " -> "
      << str(f, "destination") << "  " << masked << "\n";
}

void print_binding(std::ostream& out, const json& b) {
  out << std::left << std::setw(18) << str(b, "ip") << std::setw(16) << str(b, "user")
      << std::setw(12) << str(b, "department") << std::setw(9) << str(b, "source")
      << str(b, "start") << " .. " << str(b, "end") << "  " << str(b, "origin") << "\n"
      << std::right;
}

void print_text(std::ostream& out, const std::string& cmd, const json& r) {
  if (cmd == "status") {
    if (r.value("daemon", false)) {
      out << "daemon     running\n";
      for (auto it = r.begin(); it != r.end(); ++it) {
        // Scalars one per line; the full counters (ports, workers) are in --json.
        if (it.key() != "ok" && it.key() != "daemon" && it.key() != "store" &&
            !it.value().is_structured()) {
          out << std::left << std::setw(11) << it.key() << std::right
              << (it.value().is_string() ? it.value().get<std::string>() : it.value().dump()) << "\n";
        }
      }
      if (r.contains("counters") && r["counters"].contains("workers")) {
        for (const json& w : r["counters"]["workers"]) {
          out << "worker " << w.value("worker", 0) << "   packets " << w.value("packets", 0)
              << ", flows " << w["flows"].value("active", 0) << ", findings "
              << w.value("findings", 0) << ", drops " << w["dropped"].value("verdict", 0) << "+"
              << w["dropped"].value("overload", 0) << ", latency p50/p99 "
              << w["latency_ns"].value("p50", 0) / 1000 << "/" << w["latency_ns"].value("p99", 0) / 1000
              << " us" << (w.value("hung", false) ? " HUNG" : "") << "\n";
        }
      }
      if (r.contains("identity") && r["identity"].is_object()) {
        const json& id = r["identity"];
        out << "identity   " << id.value("bindings", 0) << " bindings (" << id.value("live_bindings", 0)
            << " from live sources)\n";
        // Drops by reason, only the reasons that happened.
        auto drops = [](const json& d) {
          std::string s;
          for (auto it = d.begin(); it != d.end(); ++it) {
            if (it.key() != "total" && it.value().is_number() && it.value().get<std::uint64_t>() > 0) {
              s += (s.empty() ? " (" : ", ") + it.key() + " " + it.value().dump();
            }
          }
          return s.empty() ? s : s + ")";
        };
        if (id.contains("radius")) {
          const json& c = id["radius"];
          out << "radius     " << str(c, "listen") << ": received " << c.value("received", 0)
              << ", answered " << c.value("answered", 0) << ", bound " << c.value("bound", 0)
              << ", ended " << c.value("ended", 0) << ", dropped " << c["dropped"].value("total", 0)
              << drops(c["dropped"]) << "\n";
        }
        if (id.contains("syslog")) {
          const json& c = id["syslog"];
          out << "syslog     " << str(c, "listen") << ": received " << c.value("received", 0)
              << ", bound " << c.value("bound", 0) << ", ended " << c.value("ended", 0)
              << ", ignored " << c.value("ignored", 0) << ", dropped "
              << c["dropped"].value("total", 0) << drops(c["dropped"]) << "\n";
        }
      }
    } else {
      out << "daemon     not running (read from the store)\n";
    }
    if (r.contains("store")) {
      const json& s = r["store"];
      out << "store      " << str(s, "location") << " (" << str(s, "backend") << ", schema v"
          << s.value("schema_version", 0) << ")\n"
          << "findings   " << s.value("findings", 0) << "  (last " << str(s, "last_finding")
          << ", run " << str(s, "last_run_id") << ")\n"
          << "incidents  " << s.value("incidents", 0) << "  (" << s.value("open_incidents", 0)
          << " open)\n"
          << "users      " << s.value("users", 0) << "\n"
          << "bindings   " << s.value("bindings", 0) << "\n"
          << "baselines  " << s.value("baselines", 0) << "\n"
          << "policy     " << (s.value("policy_version", 0) ? "v" + str(s, "policy_version") : "none")
          << "  (" << s.value("policy_versions", 0) << " versions)\n"
          << "audit      " << s.value("audit_rows", 0) << " rows\n";
    }
  } else if (cmd == "users.top") {
    print_users(out, r["users"]);
  } else if (cmd == "user.show") {
    const json& u = r["user"];
    out << str(u, "user") << " (" << str(u, "department") << "): risk " << u.value("risk_score", 0)
        << " " << str(u, "risk_level") << ", " << u.value("findings", 0) << " findings, last seen "
        << str(u, "last_seen") << "\n";
    for (const auto& reason : u["reasons"]) out << "  reason: " << reason.get<std::string>() << "\n";
    if (!r["baselines"].empty()) {
      out << "\nbaselines (daily, EWMA)\n";
      for (const json& b : r["baselines"]) {
        out << "  " << std::left << std::setw(20) << str(b, "category") << std::right
            << std::fixed << std::setprecision(1) << b.value("count_mean", 0.0)
            << " matches/day, " << b.value("bytes_mean", 0.0) << " bytes/day over "
            << b.value("days", 0) << " days\n";
      }
    }
    out << "\ntimeline (findings and risk after each)\n";
    for (const json& f : r["timeline"]) print_finding_line(out, f);
    if (!r["incidents"].empty()) {
      out << "\nincidents\n";
      for (const json& i : r["incidents"]) print_incident_line(out, i);
    }
  } else if (cmd == "incidents.list") {
    out << std::setw(6) << "id" << "  " << std::left << std::setw(14) << "status"
        << std::setw(16) << "user" << std::right << std::setw(4) << "risk" << " " << std::left
        << std::setw(9) << "level" << std::setw(7) << "action" << std::right << std::setw(5)
        << "finds" << "  time\n";
    for (const json& i : r["incidents"]) print_incident_line(out, i);
  } else if (cmd == "incident.show" || cmd == "incident.ack") {
    const json& i = r["incident"];
    out << "incident " << i.value("id", 0) << " (" << str(i, "status") << "): " << str(i, "user")
        << " (" << str(i, "department") << "), risk " << i.value("risk_score", 0) << " "
        << str(i, "risk_level") << ", action " << str(i, "action") << ", max severity "
        << str(i, "max_severity") << "\n  " << str(i, "first") << " .. " << str(i, "last")
        << ", " << i.value("findings", 0) << " findings\n";
    if (i.contains("acked_by")) {
      out << "  acknowledged by " << str(i, "acked_by") << " (uid " << str(i, "acked_uid")
          << ") at " << str(i, "acked_at")
          << (str(i, "ack_note").empty() ? "" : ": " + str(i, "ack_note")) << "\n";
    }
    out << "  matches: " << i["matches_by_category"].dump() << "\n";
    for (const auto& d : i["destinations"]) out << "  destination: " << d.get<std::string>() << "\n";
    for (const auto& reason : i["reasons"]) out << "  reason: " << reason.get<std::string>() << "\n";
    if (r.contains("findings")) {
      out << "\nfindings\n";
      for (const json& f : r["findings"]) print_finding_line(out, f);
    }
  } else if (cmd == "policy.check") {
    out << str(r, "origin") << ": ok, " << r.value("rules", 0) << " rules, default "
        << str(r, "default") << "\n";
  } else if (cmd == "policy.apply") {
    const json& p = r["policy"];
    out << "policy v" << p.value("version", 0) << " applied by " << str(p, "applied_by") << " ("
        << r.value("rules", 0) << " rules, sha256 " << str(p, "sha256").substr(0, 16)
        << "...); recorded in the audit log\n";
  } else if (cmd == "policy.show") {
    if (r["policy"].is_null()) {
      out << "no policy stored (every finding is alerted); use 'dlpctl policy apply FILE'\n";
    } else {
      const json& p = r["policy"];
      out << "# policy v" << p.value("version", 0) << " from " << str(p, "origin") << ", applied by "
          << str(p, "applied_by") << " at " << str(p, "applied_at") << "\n"
          << str(p, "source");
      if (!str(p, "source").empty() && str(p, "source").back() != '\n') out << "\n";
    }
    if (r.contains("history")) {
      out << "\nhistory\n";
      for (const json& v : r["history"]) {
        out << "  v" << v.value("version", 0) << "  " << str(v, "applied_at") << "  "
            << str(v, "applied_by") << "  " << str(v, "origin") << "\n";
      }
    }
  } else if (cmd == "identity.import") {
    out << "imported " << r.value("bindings", 0) << " bindings (" << r.value("unowned", 0)
        << " leases of unknown devices skipped, " << r.value("ended", 0)
        << " sessions ended); recorded in the audit log\n";
  } else if (cmd == "identity.list") {
    for (const json& b : r["bindings"]) print_binding(out, b);
    out << r["bindings"].size() << " bindings\n";
  } else if (cmd == "identity.lookup") {
    if (r["identity"].is_null()) {
      out << str(r, "ip") << " at " << str(r, "time") << ": unknown (" << r.value("candidates", 0)
          << " bindings of this address, none in force)\n";
    } else {
      out << str(r, "ip") << " at " << str(r, "time") << ": " << str(r["identity"], "user") << " ("
          << str(r["identity"], "department") << ")\n";
    }
  } else if (cmd == "audit.verify") {
    const json& v = r["verdict"];
    if (v.value("ok", false)) {
      out << "audit log intact: " << v.value("rows", 0) << " rows, head " << str(v, "head_hash")
          << "\n";
    } else {
      out << "audit log TAMPERED: first bad row " << v.value("first_bad_row", 0) << ": "
          << str(v, "reason") << "\n";
    }
  } else if (cmd == "audit.log") {
    for (const json& e : r["entries"]) {
      out << std::setw(5) << e.value("seq", 0) << "  " << str(e, "time") << "  " << std::left
          << std::setw(12) << str(e, "user") << std::setw(16) << str(e, "action")
          << std::setw(22) << str(e, "target") << std::right << e["detail"].dump() << "\n";
    }
  } else {
    out << r.dump(2) << "\n";
  }
}

}  // namespace

const char* const kDlpctlUsage =
    "  status                                        daemon counters, or the store's contents\n"
    "  users top [--limit N]                         users by risk, with the top reason\n"
    "  user show NAME [--limit N]                    a user's timeline of findings and risk\n"
    "  incidents list [--status open|acknowledged] [--user U] [--limit N]\n"
    "  incidents show ID | incidents ack ID [--note TEXT]\n"
    "  policy check FILE | policy apply FILE | policy show [--history]\n"
    "  identity import [--identity CSV] [--directory CSV] [--dhcp-log F]... [--logon-events F]...\n"
    "  identity list [--ip IP] | identity lookup IP TIME\n"
    "  audit verify | audit log [--limit N]           check the hash chain / show the newest rows\n"
    "  reload                                        make the daemon reload its configuration\n"
    "\n"
    "  every verb: --json, --store PATH|CONNINFO (default $DLPGATE_STORE or ./dlpgate.db),\n"
    "              --socket PATH (default $DLPGATE_SOCKET or /run/dlpgate/dlpgate.sock)\n";

bool is_dlpctl_noun(const std::string& noun) {
  return noun == "status" || noun == "users" || noun == "user" || noun == "incidents" ||
         noun == "incident" || noun == "policy" || noun == "identity" || noun == "audit" ||
         noun == "reload";
}

int run_dlpctl(const std::string& noun, const std::vector<std::string>& args_in,
               std::ostream& out, std::ostream& err) {
  std::vector<std::string> args = args_in;
  std::string verb;
  const bool has_verb = noun != "status" && noun != "reload";
  if (has_verb) {
    if (args.empty() || args[0].rfind("-", 0) == 0) {
      err << "dlpctl " << noun << ": give a verb\n\n" << kDlpctlUsage;
      return 2;
    }
    verb = args[0];
    args.erase(args.begin());
  }
  const std::string what = "dlpctl " + noun + (verb.empty() ? "" : " " + verb);

  Common c;
  std::string status, user, note, ip, identity_csv, directory;
  std::vector<std::string> dhcp_logs, logon_events, positional;
  int dhcp_year = 0;
  bool history = false;
  po::options_description desc(what);
  desc.add_options()("help,h", "show this help")("json", po::bool_switch(&c.json), "JSON output")(
      "store", po::value(&c.store), "SQLite file or PostgreSQL connection string")(
      "socket", po::value(&c.socket), "control socket of a running dlpgate")(
      "limit", po::value(&c.limit), "at most this many rows");
  if (noun == "incidents" || noun == "incident") {
    desc.add_options()("status", po::value(&status), "open or acknowledged (list)")(
        "user", po::value(&user), "only this user's (list)")("note", po::value(&note),
                                                            "why it is acknowledged (ack)");
  } else if (noun == "policy") {
    desc.add_options()("history", po::bool_switch(&history), "list every version (show)");
  } else if (noun == "identity") {
    desc.add_options()("identity", po::value(&identity_csv), "CSV of ip,user,department")(
        "directory", po::value(&directory), "CSV of user,department,devices")(
        "dhcp-log", po::value(&dhcp_logs)->composing(), "dhcpd.leases or DHCPACK syslog; repeatable")(
        "logon-events", po::value(&logon_events)->composing(), "4624/4634 JSON lines; repeatable")(
        "dhcp-year", po::value(&dhcp_year), "year of syslog time stamps (default: this year)")(
        "ip", po::value(&ip), "only this address (list)");
  }
  po::options_description hidden;
  hidden.add_options()("arg", po::value(&positional)->composing());
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("arg", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    err << what << ": " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    out << desc << "\n";
    return 0;
  }
  c.store_given = vm.count("store") > 0;
  c.socket_given = vm.count("socket") > 0;
  if (!c.store_given) {
    const char* s = std::getenv("DLPGATE_STORE");
    c.store = s && *s ? s : "./dlpgate.db";
  }
  if (!c.socket_given) c.socket = default_control_socket();

  auto want_args = [&](std::size_t n, const char* shape) {
    if (positional.size() == n) return true;
    err << what << ": expected " << shape << "\n";
    return false;
  };
  json req;
  std::string cmd;
  if (noun == "status") {
    if (!want_args(0, "no arguments")) return 2;
    cmd = "status";
  } else if (noun == "reload") {
    if (!want_args(0, "no arguments")) return 2;
    cmd = "reload";
  } else if (noun == "users" && verb == "top") {
    if (!want_args(0, "no arguments")) return 2;
    cmd = "users.top";
    req["limit"] = c.limit ? c.limit : 10;
  } else if (noun == "user" && verb == "show") {
    if (!want_args(1, "a user NAME")) return 2;
    cmd = "user.show";
    req["user"] = positional[0];
    req["limit"] = c.limit ? c.limit : 200;
  } else if ((noun == "incidents" || noun == "incident") && verb == "list") {
    if (!want_args(0, "no arguments")) return 2;
    cmd = "incidents.list";
    req["status"] = status;
    req["user"] = user;
    req["limit"] = c.limit ? c.limit : 100;
  } else if ((noun == "incidents" || noun == "incident") && (verb == "show" || verb == "ack")) {
    if (!want_args(1, "an incident ID")) return 2;
    std::int64_t id = 0;
    try {
      std::size_t used = 0;
      id = std::stoll(positional[0], &used);
      if (used != positional[0].size() || id <= 0) throw std::invalid_argument("id");
    } catch (...) {
      err << what << ": '" << positional[0] << "' is not an incident ID (a positive number)\n";
      return 2;
    }
    cmd = verb == "show" ? "incident.show" : "incident.ack";
    req["id"] = id;
    if (verb == "ack") req["note"] = note;
  } else if (noun == "policy" && (verb == "check" || verb == "apply")) {
    if (!want_args(1, "one policy FILE (YAML)")) return 2;
    std::string text;
    if (!read_file(positional[0], text)) {
      err << what << ": cannot read " << positional[0] << "\n";
      return 2;
    }
    cmd = verb == "check" ? "policy.check" : "policy.apply";
    req["text"] = text;
    req["origin"] = positional[0];
  } else if (noun == "policy" && verb == "show") {
    if (!want_args(0, "no arguments")) return 2;
    cmd = "policy.show";
    req["history"] = history;
  } else if (noun == "identity" && verb == "import") {
    if (!want_args(0, "only options: --identity, --directory, --dhcp-log, --logon-events")) return 2;
    cmd = "identity.import";
    auto doc = [&](const std::string& path, json& into) {
      std::string text;
      if (!read_file(path, text)) {
        err << what << ": cannot read " << path << "\n";
        return false;
      }
      into = json{{"origin", path}, {"text", text}};
      return true;
    };
    if (!identity_csv.empty() && !doc(identity_csv, req["identity_csv"])) return 2;
    if (!directory.empty() && !doc(directory, req["directory"])) return 2;
    for (const auto& [key, files] : {std::pair{"dhcp_logs", &dhcp_logs},
                                     std::pair{"logon_events", &logon_events}}) {
      for (const std::string& f : *files) {
        json d;
        if (!doc(f, d)) return 2;
        req[key].push_back(d);
      }
    }
    if (dhcp_year) req["dhcp_year"] = dhcp_year;
  } else if (noun == "identity" && verb == "list") {
    if (!want_args(0, "no arguments (use --ip IP)")) return 2;
    cmd = "identity.list";
    req["ip"] = ip;
  } else if (noun == "identity" && verb == "lookup") {
    if (!want_args(2, "IP TIME (ISO-8601 like 2024-03-04T09:00:00Z, epoch seconds, or now)")) return 2;
    cmd = "identity.lookup";
    req["ip"] = positional[0];
    req["time"] = positional[1];
  } else if (noun == "audit" && (verb == "verify" || verb == "log")) {
    if (!want_args(0, "no arguments")) return 2;
    cmd = verb == "verify" ? "audit.verify" : "audit.log";
    if (verb == "log") req["limit"] = c.limit ? c.limit : 50;
  } else {
    err << "dlpctl " << noun << ": unknown verb '" << verb << "'\n\n" << kDlpctlUsage;
    return 2;
  }
  req["cmd"] = cmd;

  std::string via;
  bool no_daemon = true;
  json reply;
  if (cmd == "reload") {
    bool absent = false;
    auto r = control_call(c.socket, req, 60000, &absent);
    if (!r) {
      if (absent) {
        const std::string msg = "no dlpgate daemon is listening on " + c.socket +
                                "; nothing to reload (dlpgate scan reads its configuration "
                                "at every start)";
        if (c.json) out << json{{"ok", false}, {"daemon", false}, {"error", msg}}.dump() << "\n";
        else err << what << ": " << msg << "\n";
        return 1;
      }
      err << what << ": " << r.error().message << "\n";
      return 2;
    }
    reply = *r;
  } else {
    reply = execute(c, req, via, no_daemon);
  }
  if (!reply.value("ok", false)) {
    const std::string msg = reply.value("error", std::string("failed"));
    if (c.json) out << reply.dump() << "\n";
    else err << what << ": " << msg << "\n";
    return msg.rfind("no incident", 0) == 0 || msg.rfind("no user", 0) == 0 ? 1 : 2;
  }
  if (c.json) {
    out << reply.dump(2) << "\n";
  } else if (cmd == "reload") {
    out << "reloaded" << (reply.contains("message") ? ": " + str(reply, "message") : "") << "\n";
  } else {
    print_text(out, cmd, reply);
  }
  if (cmd == "audit.verify" && !reply["verdict"].value("ok", false)) return 1;
  return 0;
}

}  // namespace dlp::mgmt
