#include "mgmt/run_config.h"

#include <grp.h>

#include <openssl/crypto.h>

#include "mgmt/store.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace dlp::mgmt {
namespace {

struct Ctx {
  std::string origin;
  std::filesystem::path base;
};

struct ConfigError {
  std::string message;
};

std::string where(const Ctx& c, const YAML::Node& n) {
  return c.origin + ":" + std::to_string(n.Mark().line + 1);
}

[[noreturn]] void fail(const Ctx& c, const YAML::Node& n, const std::string& why) {
  throw ConfigError{where(c, n) + ": " + why};
}

void check_keys(const Ctx& c, const YAML::Node& map, const std::string& section,
                std::initializer_list<const char*> allowed) {
  if (!map.IsMap()) fail(c, map, section + " must be a mapping");
  std::set<std::string> ok(allowed.begin(), allowed.end());
  for (const auto& kv : map) {
    const std::string k = kv.first.as<std::string>();
    if (!ok.count(k)) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      fail(c, kv.first, "unknown key '" + k + "' in " + section + " (known: " + list + ")");
    }
  }
}

template <class T>
T scalar(const Ctx& c, const YAML::Node& n, const std::string& what) {
  if (!n.IsScalar()) fail(c, n, what + " must be a single value");
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    fail(c, n, what + ": '" + n.Scalar() + "' is not a valid value");
  }
}

std::uint64_t number(const Ctx& c, const YAML::Node& n, const std::string& what,
                     std::uint64_t lo, std::uint64_t hi) {
  const std::string s = scalar<std::string>(c, n, what);
  std::uint64_t v = 0;
  std::size_t used = 0;
  try {
    v = std::stoull(s, &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || s.empty() || s[0] == '-') fail(c, n, what + " must be a whole number, not '" + s + "'");
  if (v < lo || v > hi) {
    fail(c, n, what + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  }
  return v;
}

std::string path_of(const Ctx& c, const YAML::Node& n, const std::string& what) {
  const std::string s = scalar<std::string>(c, n, what);
  if (s.empty()) fail(c, n, what + " is empty");
  std::filesystem::path p(s);
  if (p.is_relative() && !c.base.empty()) p = c.base / p;
  return p.string();
}

std::vector<std::string> paths_of(const Ctx& c, const YAML::Node& n, const std::string& what) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(path_of(c, n, what));
    return out;
  }
  if (!n.IsSequence()) fail(c, n, what + " must be a file or a list of files");
  for (const auto& e : n) out.push_back(path_of(c, e, what));
  return out;
}

void parse_dataplane(const Ctx& c, const YAML::Node& d, dataplane::EngineConfig& e) {
  check_keys(c, d, "dataplane",
             {"eal", "inside_port", "outside_port", "workers", "on_overload", "mempool_mbufs",
              "mbuf_cache", "rx_descriptors", "tx_descriptors", "ring_size", "burst",
              "findings_ring", "max_held_packets", "idle_polls", "idle_sleep_us", "stall_ms",
              "inspect", "normalize", "reassembly_memory_mb", "max_flows"});
  if (const auto n = d["eal"]) {
    if (!n.IsSequence()) fail(c, n, "dataplane.eal must be a list of EAL arguments");
    for (const auto& a : n) e.eal.push_back(scalar<std::string>(c, a, "dataplane.eal entry"));
  }
  if (const auto n = d["inside_port"]) e.inside_port = static_cast<std::uint16_t>(number(c, n, "inside_port", 0, 1023));
  if (const auto n = d["outside_port"]) e.outside_port = static_cast<std::uint16_t>(number(c, n, "outside_port", 0, 1023));
  if (e.inside_port == e.outside_port) fail(c, d, "inside_port and outside_port must be different ports");
  if (const auto n = d["workers"]) e.workers = static_cast<unsigned>(number(c, n, "workers", 1, 127));
  if (const auto n = d["on_overload"]) {
    const std::string m = scalar<std::string>(c, n, "on_overload");
    if (m == "fail_open") e.fail_open = true;
    else if (m == "fail_closed") e.fail_open = false;
    else fail(c, n, "on_overload must be fail_open or fail_closed, not '" + m + "'");
  }
  auto pow2 = [&](const char* key, std::uint32_t& out, std::uint64_t lo, std::uint64_t hi) {
    if (const auto n = d[key]) {
      const std::uint64_t v = number(c, n, key, lo, hi);
      if (v & (v - 1)) fail(c, n, std::string(key) + " must be a power of two");
      out = static_cast<std::uint32_t>(v);
    }
  };
  if (const auto n = d["mempool_mbufs"]) e.mempool_mbufs = static_cast<std::uint32_t>(number(c, n, "mempool_mbufs", 1024, 1u << 24));
  if (const auto n = d["mbuf_cache"]) e.mbuf_cache = static_cast<std::uint32_t>(number(c, n, "mbuf_cache", 0, 512));
  if (const auto n = d["rx_descriptors"]) e.rx_descriptors = static_cast<std::uint16_t>(number(c, n, "rx_descriptors", 64, 32768));
  if (const auto n = d["tx_descriptors"]) e.tx_descriptors = static_cast<std::uint16_t>(number(c, n, "tx_descriptors", 64, 32768));
  pow2("ring_size", e.ring_size, 64, 1u << 20);
  pow2("findings_ring", e.findings_ring, 64, 1u << 20);
  if (const auto n = d["burst"]) e.burst = static_cast<std::uint16_t>(number(c, n, "burst", 1, 64));
  if (const auto n = d["max_held_packets"]) e.worker.max_held_packets = number(c, n, "max_held_packets", 16, 1u << 20);
  if (const auto n = d["idle_polls"]) e.idle_polls = static_cast<std::uint32_t>(number(c, n, "idle_polls", 1, 1u << 30));
  if (const auto n = d["idle_sleep_us"]) e.idle_sleep_us = static_cast<std::uint32_t>(number(c, n, "idle_sleep_us", 0, 100000));
  if (const auto n = d["stall_ms"]) e.stall_ms = static_cast<std::uint32_t>(number(c, n, "stall_ms", 100, 600000));
  if (const auto n = d["inspect"]) e.inspect = scalar<bool>(c, n, "inspect");
  if (const auto n = d["normalize"]) e.worker.normalize = scalar<bool>(c, n, "normalize");
  if (const auto n = d["reassembly_memory_mb"]) e.worker.reassembly_memory_cap = number(c, n, "reassembly_memory_mb", 1, 1u << 20) << 20;
  if (const auto n = d["max_flows"]) e.worker.flows.max_flows = static_cast<std::uint32_t>(number(c, n, "max_flows", 1024, 1u << 26));
  e.worker.hold_cap_open = e.fail_open;
}

dataplane::ActionRule parse_action(const Ctx& c, const YAML::Node& a) {
  check_keys(c, a, "an action", {"category", "detector", "min_confidence", "verdict"});
  dataplane::ActionRule r;
  r.source = where(c, a);
  if (const auto n = a["category"]) r.category = scalar<std::string>(c, n, "category");
  if (const auto n = a["detector"]) r.detector = scalar<std::string>(c, n, "detector");
  if (const auto n = a["min_confidence"]) {
    const std::string s = scalar<std::string>(c, n, "min_confidence");
    if (s == "low") r.min_confidence = signatures::Confidence::low;
    else if (s == "medium") r.min_confidence = signatures::Confidence::medium;
    else if (s == "high") r.min_confidence = signatures::Confidence::high;
    else fail(c, n, "min_confidence must be low, medium or high, not '" + s + "'");
  }
  const auto v = a["verdict"];
  if (!v) fail(c, a, "an action needs a verdict (pass, drop or reset)");
  if (!dataplane::parse_verdict(scalar<std::string>(c, v, "verdict"), r.verdict)) {
    fail(c, v, "verdict must be pass, drop or reset, not '" + v.Scalar() + "'");
  }
  return r;
}

}  // namespace

Result<RunConfig> parse_run_config(const std::string& yaml_text, const std::string& origin) {
  Ctx c{origin, std::filesystem::path(origin).parent_path()};
  RunConfig cfg;
  cfg.path = origin;
  try {
    const YAML::Node root = YAML::Load(yaml_text);
    if (!root.IsMap()) return make_error(origin + ": the configuration must be a YAML mapping");
    check_keys(c, root, "the configuration",
               {"dataplane", "actions", "block_verdict", "detectors", "identity", "policy",
                "findings", "stats", "store", "control"});
    const auto dp = root["dataplane"];
    if (!dp) return make_error(origin + ": no dataplane: section (eal, inside_port, outside_port, workers)");
    parse_dataplane(c, dp, cfg.engine);
    if (const auto acts = root["actions"]) {
      if (!acts.IsSequence()) fail(c, acts, "actions must be a list of { category|detector, min_confidence, verdict }");
      for (const auto& a : acts) cfg.actions.push_back(parse_action(c, a));
    }
    if (const auto n = root["block_verdict"]) {
      if (!dataplane::parse_verdict(scalar<std::string>(c, n, "block_verdict"), cfg.block_verdict) ||
          cfg.block_verdict == dataplane::Verdict::pass) {
        fail(c, n, "block_verdict must be drop or reset");
      }
    }
    if (const auto det = root["detectors"]) {
      check_keys(c, det, "detectors", {"packs", "cache_dir"});
      if (const auto n = det["packs"]) cfg.packs = paths_of(c, n, "detectors.packs");
      if (const auto n = det["cache_dir"]) cfg.cache_dir = path_of(c, n, "detectors.cache_dir");
    }
    if (const auto id = root["identity"]) {
      check_keys(c, id, "identity",
                 {"csv", "directory", "dhcp_logs", "logon_events", "radius", "syslog"});
      if (const auto n = id["csv"]) cfg.identity_csv = path_of(c, n, "identity.csv");
      if (const auto n = id["directory"]) cfg.directory_csv = path_of(c, n, "identity.directory");
      if (const auto n = id["dhcp_logs"]) cfg.dhcp_logs = paths_of(c, n, "identity.dhcp_logs");
      if (const auto n = id["logon_events"]) cfg.logon_events = paths_of(c, n, "identity.logon_events");
      auto listen_of = [&](const YAML::Node& section, const std::string& key) {
        const auto n = section["listen"];
        if (!n) fail(c, section, key + " needs listen: ADDRESS:PORT, e.g. 127.0.0.1:1813");
        const std::string s = scalar<std::string>(c, n, key + ".listen");
        if (!valid_listen_address(s)) {
          fail(c, n, key + ".listen must be ADDRESS:PORT with a numeric address (127.0.0.1:1813, "
                     "0.0.0.0:1813, [::]:1813), not '" + s + "'");
        }
        return s;
      };
      auto allow_of = [&](const YAML::Node& section, const std::string& key) {
        std::vector<std::string> out;
        const auto n = section["allow"];
        if (!n) return out;
        if (!n.IsSequence()) fail(c, n, key + ".allow must be a list of addresses or CIDRs");
        for (const auto& e : n) {
          const std::string a = scalar<std::string>(c, e, key + ".allow entry");
          Cidr cidr;
          if (!parse_cidr(a, cidr)) {
            fail(c, e, key + ".allow: '" + a + "' is not an address or a CIDR (10.0.0.5, 10.0.0.0/24)");
          }
          out.push_back(a);
        }
        return out;
      };
      if (const auto r = id["radius"]) {
        check_keys(c, r, "identity.radius", {"listen", "secret_file", "allow"});
        cfg.live_identity.radius_listen = listen_of(r, "identity.radius");
        cfg.live_identity.radius_allow = allow_of(r, "identity.radius");
        const auto n = r["secret_file"];
        if (!n) fail(c, r, "identity.radius needs secret_file: the file holding the RADIUS shared secret");
        cfg.live_identity.radius_secret_file = path_of(c, n, "identity.radius.secret_file");
        // Refused here, with the line, rather than at start; the secret is not kept.
        if (auto sec = read_secret_file(cfg.live_identity.radius_secret_file,
                                        "identity.radius.secret_file");
            !sec) {
          fail(c, n, sec.error().message);
        } else {
          OPENSSL_cleanse(sec->data(), sec->size());
        }
      }
      if (const auto sl = id["syslog"]) {
        check_keys(c, sl, "identity.syslog", {"listen", "allow"});
        cfg.live_identity.syslog_listen = listen_of(sl, "identity.syslog");
        cfg.live_identity.syslog_allow = allow_of(sl, "identity.syslog");
      }
    }
    if (const auto n = root["policy"]) cfg.policy_path = path_of(c, n, "policy");
    if (const auto n = root["findings"]) {
      const std::string s = scalar<std::string>(c, n, "findings");
      cfg.findings_path = s == "-" ? std::string() : path_of(c, n, "findings");
    }
    if (const auto n = root["stats"]) cfg.stats_path = path_of(c, n, "stats");
    if (const auto n = root["store"]) {
      const std::string s = scalar<std::string>(c, n, "store");
      cfg.store = s == "none" ? std::string() : is_postgres_spec(s) ? s : path_of(c, n, "store");
    }
    if (const auto n = root["control"]) {
      if (n.IsScalar()) {
        const std::string s = n.Scalar();
        if (s != "none" && s != "false" && s != "off") {
          fail(c, n, "control is a mapping { socket, group } or none, not '" + s + "'");
        }
        cfg.control = false;
      } else {
        check_keys(c, n, "control", {"socket", "group"});
        if (const auto k = n["socket"]) cfg.control_socket = path_of(c, k, "control.socket");
        if (const auto k = n["group"]) {
          cfg.control_group = scalar<std::string>(c, k, "control.group");
          if (!getgrnam(cfg.control_group.c_str())) {
            fail(c, k, "control.group: no group named '" + cfg.control_group + "'");
          }
        }
      }
    }
  } catch (const ConfigError& e) {
    return make_error(e.message);
  } catch (const YAML::ParserException& e) {
    return make_error(origin + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  } catch (const YAML::Exception& e) {
    return make_error(origin + ": " + e.what());
  }
  return cfg;
}

Result<RunConfig> load_run_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(path + ": cannot read the configuration file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_run_config(ss.str(), path);
}

}  // namespace dlp::mgmt
