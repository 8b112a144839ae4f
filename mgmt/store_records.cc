#include "mgmt/store_records.h"

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>

#include "mgmt/risk.h"

namespace dlp::mgmt {

std::string new_run_id() {
  unsigned char b[8];
  if (RAND_bytes(b, sizeof b) != 1) {
    return std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  }
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s += kHex[c >> 4];
    s += kHex[c & 15];
  }
  return s;
}

FindingRecord finding_record(const dataplane::Finding& f, const std::string& user,
                             const std::string& department, const AnalyzerDecision& ad,
                             const nlohmann::ordered_json& doc) {
  FindingRecord r;
  r.finding_id = f.finding_id;
  r.ts_ns = f.ts_ns;
  r.user = user;
  r.department = department;
  r.detector = f.detector;
  r.category = f.category;
  r.severity = f.severity;
  r.confidence = doc.value("confidence", "");
  r.count = f.count;
  r.masked = f.masked;
  r.src_ip = f.src_ip.str();
  r.dst_ip = f.dst_ip.str();
  r.src_port = f.src_port;
  r.dst_port = f.dst_port;
  r.app = doc.value("app", "");
  r.destination = ad.destination;
  r.action = doc.value("action", ad.action);
  r.rule = ad.rule;
  r.risk_score = ad.risk_score;
  r.risk_level = risk_level_name(ad.risk_level);
  r.incident_id = static_cast<std::int64_t>(ad.incident_id);
  r.doc = nlohmann::json::parse(doc.dump());
  return r;
}

void UserSightings::add(const FindingRecord& f) {
  auto& s = seen_[f.user];
  if (!f.department.empty()) s.first = f.department;
  s.second = std::max(s.second, f.ts_ns);
}

std::vector<UserRecord> UserSightings::records(const Analyzer& a) const {
  std::vector<UserRecord> out;
  for (const RiskScore& s : a.top(a.now())) {
    UserRecord u;
    u.user = s.user;
    u.risk_score = s.score;
    u.risk_level = risk_level_name(s.level);
    for (const RiskReason& r : s.reasons) u.reasons.push_back(r.text);
    u.scored_ns = a.now();
    if (auto it = seen_.find(s.user); it != seen_.end()) {
      u.department = it->second.first;
      u.last_seen_ns = it->second.second;
    }
    out.push_back(std::move(u));
  }
  return out;
}

std::vector<IncidentRecord> incident_records(const Analyzer& a) {
  std::vector<IncidentRecord> out;
  for (const Incident& i : a.incidents()) {
    IncidentRecord r;
    r.id = static_cast<std::int64_t>(i.id);
    r.user = i.user;
    r.department = i.department;
    r.first_ns = i.first_ns;
    r.last_ns = i.last_ns;
    r.max_severity = i.max_severity;
    r.action = i.action;
    r.risk_score = i.risk_score;
    r.risk_level = risk_level_name(i.risk_level);
    r.finding_count = static_cast<std::int64_t>(i.finding_ids.size());
    r.matches_by_category = i.matches_by_category;
    r.destinations = i.destinations;
    r.reasons = i.reasons;
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<BaselineRecord> baseline_records(const Analyzer& a) {
  std::vector<BaselineRecord> out;
  for (const auto& e : a.baselines().entries()) {
    out.push_back(BaselineRecord{e.user, e.department, e.category, e.count.mean, e.count.var,
                                 e.bytes.mean, e.bytes.var, e.count.days});
  }
  return out;
}

std::vector<BindingRecord> binding_records(
    const IdentityTable& ids, const std::function<std::string(IdentitySource)>& origin) {
  std::vector<BindingRecord> out;
  for (const auto& e : ids.entries()) {
    out.push_back(BindingRecord{e.ip.str(), e.who.user, e.who.department, e.start_ns, e.end_ns,
                                identity_source_name(e.source), origin(e.source)});
  }
  return out;
}

}  // namespace dlp::mgmt
