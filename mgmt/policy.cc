#include "mgmt/policy.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "mgmt/identity.h"

namespace dlp::mgmt {

bool Cidr::contains(const dataplane::IpAddr& ip) const {
  int bits = prefix;
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((ip.b[i] & mask) != (net.b[i] & mask)) return false;
  }
  return true;
}

bool parse_cidr(const std::string& text, Cidr& out) {
  const auto slash = text.find('/');
  if (!parse_ip(text.substr(0, slash), out.net)) return false;
  const int max = out.net.is_v4() ? 32 : 128;
  int len = max;
  if (slash != std::string::npos) {
    const std::string p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), ::isdigit)) return false;
    len = std::stoi(p);
    if (len > max) return false;
  }
  out.prefix = out.net.is_v4() ? len + 96 : len;
  return true;
}

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string where(const std::string& origin, const YAML::Node& n) {
  return origin + ":" + std::to_string(n.Mark().line + 1);
}

// A scalar or a list of scalars.
Result<std::vector<std::string>> strings(const YAML::Node& n, const std::string& origin,
                                         const char* key) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.as<std::string>());
  } else if (n.IsSequence()) {
    for (const auto& e : n) {
      if (!e.IsScalar()) return make_error(where(origin, e) + ": " + key + ": expected a string");
      out.push_back(e.as<std::string>());
    }
  } else {
    return make_error(where(origin, n) + ": " + key + ": expected a string or a list");
  }
  return out;
}

bool valid_action(const std::string& a) { return a == "allow" || a == "alert" || a == "block"; }

Result<PolicyRule> parse_rule(const YAML::Node& n, const std::string& origin, std::size_t index) {
  PolicyRule r;
  r.line = n.Mark().line + 1;
  r.name = "rule " + std::to_string(index + 1);
  if (!n.IsMap()) return make_error(where(origin, n) + ": a rule must be a mapping");
  static const std::set<std::string> kKeys = {
      "name",  "category", "detector",       "min_confidence", "min_count", "department",
      "user",  "app",      "destination",    "min_risk_level", "action"};
  bool has_action = false;
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (!kKeys.count(key)) return make_error(where(origin, kv.first) + ": unknown rule key '" + key + "'");
    auto list_into = [&](std::vector<std::string>& into) -> Result<void> {
      auto l = strings(v, origin, key.c_str());
      if (!l) return l.error();
      into = std::move(*l);
      return {};
    };
    Result<void> ok;
    if (key == "name") {
      r.name = v.as<std::string>();
    } else if (key == "category") {
      ok = list_into(r.categories);
    } else if (key == "detector") {
      ok = list_into(r.detectors);
    } else if (key == "department") {
      ok = list_into(r.departments);
    } else if (key == "user") {
      ok = list_into(r.users);
    } else if (key == "app") {
      ok = list_into(r.apps);
      static const std::set<std::string> kApps = {"http", "smtp", "ftp", "dns", "tls", "raw"};
      for (const auto& a : r.apps) {
        if (!kApps.count(a)) return make_error(where(origin, v) + ": unknown app '" + a + "'");
      }
    } else if (key == "min_confidence") {
      const std::string c = v.as<std::string>();
      if (c == "medium") r.min_confidence = signatures::Confidence::medium;
      else if (c == "high") r.min_confidence = signatures::Confidence::high;
      else if (c == "low") r.min_confidence = signatures::Confidence::low;
      else return make_error(where(origin, v) + ": min_confidence must be low, medium or high");
    } else if (key == "min_count") {
      long long c = -1;
      try {
        c = v.as<long long>();
      } catch (const YAML::Exception&) {
      }
      if (c < 0) return make_error(where(origin, v) + ": min_count must be a number >= 0");
      r.min_count = static_cast<std::uint32_t>(c);
    } else if (key == "min_risk_level") {
      RiskLevel l;
      if (!parse_risk_level(v.as<std::string>(), l)) {
        return make_error(where(origin, v) + ": min_risk_level must be low, elevated, high or critical");
      }
      r.min_risk_level = l;
    } else if (key == "destination") {
      if (!v.IsMap()) return make_error(where(origin, v) + ": destination must be a mapping (domains, ips)");
      for (const auto& dkv : v) {
        const std::string dkey = dkv.first.as<std::string>();
        auto l = strings(dkv.second, origin, dkey.c_str());
        if (!l) return l.error();
        if (dkey == "domains") {
          for (auto& d : *l) r.domains.push_back(lower(d));
        } else if (dkey == "ips") {
          for (const auto& s : *l) {
            Cidr c;
            if (!parse_cidr(s, c)) return make_error(where(origin, dkv.second) + ": bad address or CIDR '" + s + "'");
            r.ips.push_back(c);
          }
        } else {
          return make_error(where(origin, dkv.first) + ": unknown destination key '" + dkey + "' (domains, ips)");
        }
      }
    } else if (key == "action") {
      r.action = v.as<std::string>();
      if (!valid_action(r.action)) return make_error(where(origin, v) + ": action must be allow, alert or block");
      has_action = true;
    }
    if (!ok) return ok.error();
  }
  if (!has_action) return make_error(where(origin, n) + ": rule '" + r.name + "' has no action");
  return r;
}

bool any_of(const std::vector<std::string>& list, const std::string& v) {
  return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
}

}  // namespace

bool domain_matches(const std::string& host, const std::string& pattern) {
  std::string h = lower(host);
  if (auto colon = h.rfind(':'); colon != std::string::npos && h.find(':') == colon) h.resize(colon);
  while (!h.empty() && h.back() == '.') h.pop_back();
  std::string p = pattern;
  if (p.rfind("*.", 0) == 0) p = p.substr(2);
  if (p.empty()) return false;
  if (h == p) return true;
  return h.size() > p.size() && h.compare(h.size() - p.size(), p.size(), p) == 0 &&
         h[h.size() - p.size() - 1] == '.';
}

std::vector<std::string> finding_destinations(const dataplane::Finding& f) {
  std::vector<std::string> out;
  if (!f.meta.http_host.empty()) out.push_back(f.meta.http_host);
  if (!f.meta.tls_sni.empty()) out.push_back(f.meta.tls_sni);
  if (!f.meta.dns_domain.empty()) out.push_back(f.meta.dns_domain);
  for (const auto& rcpt : f.meta.smtp_rcpt_to) {
    std::string r = rcpt;
    if (auto gt = r.find('>'); gt != std::string::npos) r.resize(gt);
    if (auto at = r.rfind('@'); at != std::string::npos) out.push_back(r.substr(at + 1));
  }
  return out;
}

Result<Policy> Policy::parse(const std::string& yaml_text, const std::string& origin) {
  Policy p;
  p.source_ = yaml_text;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    return make_error(origin + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  YAML::Node pol = root.IsMap() && root["policy"] ? root["policy"] : root;
  if (!pol.IsMap()) return make_error(origin + ": expected a 'policy:' mapping with 'rules:'");
  try {
    for (const auto& kv : pol) {
      const std::string key = kv.first.as<std::string>();
      if (key == "default") {
        p.default_ = kv.second.as<std::string>();
        if (!valid_action(p.default_)) return make_error(where(origin, kv.second) + ": default must be allow, alert or block");
      } else if (key == "rules") {
        if (!kv.second.IsSequence()) return make_error(where(origin, kv.second) + ": rules must be a list");
        for (std::size_t i = 0; i < kv.second.size(); ++i) {
          auto r = parse_rule(kv.second[i], origin, i);
          if (!r) return r.error();
          p.rules_.push_back(std::move(*r));
        }
      } else if (key != "version") {
        return make_error(where(origin, kv.first) + ": unknown policy key '" + key + "' (default, rules)");
      }
    }
  } catch (const YAML::Exception& e) {
    return make_error(origin + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return p;
}

Result<Policy> Policy::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(path + ": cannot read");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

PolicyDecision Policy::decide(const dataplane::Finding& f, const PolicySubject& who) const {
  const std::string app(inspectors::app_name(f.meta.app));
  std::vector<std::string> dests;
  bool dests_done = false;
  for (const PolicyRule& r : rules_) {
    if (!any_of(r.categories, f.category) || !any_of(r.detectors, f.detector)) continue;
    if (!any_of(r.departments, who.department) || !any_of(r.users, who.user)) continue;
    if (!any_of(r.apps, app)) continue;
    if (r.min_confidence && f.confidence < *r.min_confidence) continue;
    if (f.count < r.min_count) continue;
    if (r.min_risk_level && who.risk < *r.min_risk_level) continue;
    if (!r.domains.empty() || !r.ips.empty()) {
      if (!dests_done) {
        dests = finding_destinations(f);
        dests_done = true;
      }
      bool hit = false;
      for (const auto& pat : r.domains) {
        for (const auto& d : dests) hit = hit || domain_matches(d, pat);
      }
      for (const auto& c : r.ips) hit = hit || c.contains(f.dst_ip);
      if (!hit) continue;
    }
    return {r.action, r.name};
  }
  return {default_, "default"};
}

}  // namespace dlp::mgmt
