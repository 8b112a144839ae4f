// The analyst in the box: turns attributed findings into decisions, risk and incidents.
//
// For every finding (in packet-time order), with the user it is attributed to:
//   1. signals from the baselines as they were before it: a destination the user never
//      sent to, the hour's share of their usual activity;
//   2. the baselines learn it; today's deviation from own and peer normal is measured;
//   3. the risk engine adds its points with reasons;
//   4. the policy decides (allow | alert | block) on the finding, the user, the
//      destination and the user's risk level after this finding;
//   5. it joins the user's open incident (or opens one) when it matters: blocked, or the
//      user's risk at elevated or above.
// Deterministic: the same findings in the same order give the same scores and incidents.
//
//   Analyzer a(cfg);
//   AnalyzerDecision d = a.on_finding(f, "alice", "finance");
//   for (const RiskScore& s : a.top(a.now(), 10)) ...
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/finding.h"
#include "mgmt/baseline.h"
#include "mgmt/policy.h"
#include "mgmt/risk.h"

namespace dlp::mgmt {

struct AnalyzerConfig {
  BaselineConfig baseline;
  RiskConfig risk;
  std::optional<Policy> policy;  // none: every finding is alerted
  std::uint64_t incident_gap_ns = kNsPerHour;  // a quieter gap closes the user's incident
};

struct AnalyzerDecision {
  std::string action = "alert";  // allow | alert | block
  std::string rule = "default";
  int risk_score = 0;
  RiskLevel risk_level = RiskLevel::low;
  std::uint64_t incident_id = 0;  // 0: not part of an incident
  std::string destination;
};

struct Incident {
  std::uint64_t id = 0;
  std::string user, department;
  std::uint64_t first_ns = 0, last_ns = 0;
  std::vector<std::uint64_t> finding_ids;
  std::map<std::string, std::uint64_t> matches_by_category;
  std::vector<std::string> destinations;
  std::string max_severity = "low";
  std::string action = "alert";  // the strongest action taken on its findings
  int risk_score = 0;            // at the last finding
  RiskLevel risk_level = RiskLevel::low;
  std::vector<std::string> reasons;  // the risk reasons at the last finding, largest first
};

class Analyzer {
 public:
  explicit Analyzer(AnalyzerConfig cfg = {});

  AnalyzerDecision on_finding(const dataplane::Finding& f, const std::string& user,
                              const std::string& department);
  std::vector<RiskScore> top(std::uint64_t now_ns, std::size_t n = SIZE_MAX) const {
    return risk_.top(now_ns, n);
  }
  RiskScore score(const std::string& user, std::uint64_t now_ns) const {
    return risk_.score(user, now_ns);
  }
  // A new policy for the findings that follow (a reload, `dlpctl policy apply`); baselines,
  // scores and incidents carry on.
  void set_policy(std::optional<Policy> p) { cfg_.policy = std::move(p); }
  const std::optional<Policy>& policy() const { return cfg_.policy; }
  const std::vector<Incident>& incidents() const { return incidents_; }
  const BaselineModel& baselines() const { return baseline_; }
  std::uint64_t now() const { return now_ns_; }

 private:
  AnalyzerConfig cfg_;
  BaselineModel baseline_;
  RiskEngine risk_;
  std::vector<Incident> incidents_;
  std::map<std::string, std::size_t> open_incident_;  // user -> index in incidents_
  std::uint64_t now_ns_ = 0;
};

// Where a finding went, reduced to what a person would call the destination: the
// registered domain of the host, server name, DNS domain or recipient ("mega.nz" for
// "gfs208n117.userstorage.mega.co.nz" → "mega.co.nz"), else the destination address.
std::string finding_destination(const dataplane::Finding& f);
int severity_rank(const std::string& severity);

}  // namespace dlp::mgmt
