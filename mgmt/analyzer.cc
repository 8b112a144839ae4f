#include "mgmt/analyzer.h"

#include "dataplane/verdict.h"

#include <algorithm>

#include <libpsl.h>

namespace dlp::mgmt {

int severity_rank(const std::string& s) {
  if (s == "critical") return 3;
  if (s == "high") return 2;
  if (s == "medium") return 1;
  return 0;
}

namespace {

int action_rank(const std::string& a) { return a == "block" ? 2 : a == "alert" ? 1 : 0; }

std::string registrable(std::string host) {
  if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(':') == colon) {
    host.resize(colon);  // host:port (IPv6 literals have several colons and stay whole)
  }
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!host.empty() && host.back() == '.') host.pop_back();
  if (host.empty()) return host;
  static const psl_ctx_t* psl = psl_builtin();
  if (psl != nullptr) {
    if (const char* reg = psl_registrable_domain(psl, host.c_str())) return reg;
  }
  return host;  // an address literal or a bare name: itself
}

}  // namespace

std::string finding_destination(const dataplane::Finding& f) {
  for (const std::string& d : finding_destinations(f)) {
    std::string r = registrable(d);
    if (!r.empty()) return r;
  }
  return f.dst_ip.str();
}

Analyzer::Analyzer(AnalyzerConfig cfg)
    : cfg_(std::move(cfg)), baseline_(cfg_.baseline), risk_(cfg_.risk) {}

AnalyzerDecision Analyzer::on_finding(const dataplane::Finding& f, const std::string& user,
                                      const std::string& department) {
  now_ns_ = std::max(now_ns_, f.ts_ns);
  AnalyzerDecision out;
  out.destination = finding_destination(f);

  Activity a;
  a.ts_ns = f.ts_ns;
  a.user = user;
  a.department = department;
  a.category = f.category;
  a.count = std::max<std::uint32_t>(f.count, 1);
  a.bytes = f.stream_offset;  // how far into its content stream the data was
  a.destination = out.destination;

  RiskSignals s;
  s.new_destination = baseline_.own_days(user) > 0 && baseline_.new_destination(user, a.destination);
  s.destination = a.destination;
  s.hour_share = baseline_.hour_share(user, department, f.ts_ns);
  s.severity = f.severity;
  s.high_confidence = f.confidence == signatures::Confidence::high;
  baseline_.observe(a);
  s.deviation = baseline_.deviation(user, department, f.category, f.ts_ns);
  risk_.add(a, s);

  const RiskScore score = risk_.score(user, f.ts_ns);
  out.risk_score = score.score;
  out.risk_level = score.level;
  if (cfg_.policy) {
    const PolicyDecision pd = cfg_.policy->decide(f, {user, department, score.level});
    out.action = pd.action;
    out.rule = pd.rule;
  }
  if (f.verdict != dataplane::Verdict::pass) {
    // The dataplane already stopped it inline (an action rule or an earlier block of this
    // sender): that is a block whatever the policy would have said.
    out.action = "block";
    out.rule = std::string("inline ") + std::string(dataplane::verdict_name(f.verdict));
  }

  // What an analyst should look at: what was blocked, and whatever makes the user's risk
  // elevated or worse. Routine high-severity work (finance sending cards to the bank)
  // stays a finding, not an incident.
  const bool notable = out.action == "block" || score.level >= RiskLevel::elevated;
  if (!notable) return out;
  Incident* inc = nullptr;
  if (auto it = open_incident_.find(user); it != open_incident_.end()) {
    Incident& open = incidents_[it->second];
    if (f.ts_ns <= open.last_ns + cfg_.incident_gap_ns) inc = &open;
  }
  if (inc == nullptr) {
    Incident fresh;
    fresh.id = incidents_.size() + 1;
    fresh.user = user;
    fresh.department = department;
    fresh.first_ns = f.ts_ns;
    incidents_.push_back(std::move(fresh));
    open_incident_[user] = incidents_.size() - 1;
    inc = &incidents_.back();
  }
  inc->last_ns = std::max(inc->last_ns, f.ts_ns);
  inc->finding_ids.push_back(f.finding_id);
  inc->matches_by_category[f.category] += a.count;
  if (std::find(inc->destinations.begin(), inc->destinations.end(), a.destination) ==
      inc->destinations.end()) {
    inc->destinations.push_back(a.destination);
  }
  if (severity_rank(f.severity) > severity_rank(inc->max_severity)) inc->max_severity = f.severity;
  if (action_rank(out.action) > action_rank(inc->action)) inc->action = out.action;
  inc->risk_score = score.score;
  inc->risk_level = score.level;
  inc->reasons.clear();
  for (std::size_t i = 0; i < score.reasons.size() && i < 5; ++i) {
    inc->reasons.push_back(score.reasons[i].text);
  }
  out.incident_id = inc->id;
  return out;
}

}  // namespace dlp::mgmt
