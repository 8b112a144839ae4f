// Policy: what to do with a finding, given who sent it, where to, and how risky they are.
//
// A YAML document with an ordered list of rules; the first rule whose every condition
// holds decides (allow | alert | block); no match gives `default`. Conditions (all
// optional, lists mean "any of"):
//
//   policy:
//     default: alert
//     rules:
//       - name: cards to personal storage
//         category: [credit_card]          # or detector: [pci.credit_card]
//         min_confidence: high             # medium | high
//         min_count: 10                    # matches in the content stream
//         department: [finance]            # or user: [alice]
//         destination:                     # any of these, against host / SNI / DNS domain / IP
//           domains: [dropbox.com, "*.mega.nz"]   # a domain matches itself and subdomains
//           ips: [198.51.100.0/24]
//         app: [http, smtp]
//         min_risk_level: high             # low | elevated | high | critical
//         action: block
//
// Risk-adaptive: the same finding is allowed for a low-risk user and blocked for a
// critical one by putting a min_risk_level rule before a general one.
// Errors name the file, line and reason; a policy with an error is not used.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/dlp/result.h"
#include "dataplane/finding.h"
#include "mgmt/risk.h"

namespace dlp::mgmt {

struct Cidr {
  dataplane::IpAddr net;
  int prefix = 128;  // over the 16-byte form (IPv4 prefixes are stored +96)
  bool contains(const dataplane::IpAddr& ip) const;
};
bool parse_cidr(const std::string& text, Cidr& out);

struct PolicyRule {
  std::string name;
  std::vector<std::string> categories, detectors, departments, users, apps;
  std::vector<std::string> domains;  // "example.com" or "*.example.com": both match subdomains
  std::vector<Cidr> ips;
  std::optional<signatures::Confidence> min_confidence;
  std::uint32_t min_count = 0;
  std::optional<RiskLevel> min_risk_level;
  std::string action = "alert";  // allow | alert | block
  int line = 0;                  // where it was written, for explanations
};

struct PolicyDecision {
  std::string action;  // allow | alert | block
  std::string rule;    // the rule's name, or "default"
};

// What the policy sees of the sender besides the finding.
struct PolicySubject {
  std::string user;
  std::string department;
  RiskLevel risk = RiskLevel::low;
};

class Policy {
 public:
  static Result<Policy> parse(const std::string& yaml_text, const std::string& origin);
  static Result<Policy> load(const std::string& path);

  PolicyDecision decide(const dataplane::Finding& f, const PolicySubject& who) const;
  const std::vector<PolicyRule>& rules() const { return rules_; }
  const std::string& default_action() const { return default_; }
  // The text it was parsed from (stored as a policy version).
  const std::string& source() const { return source_; }

 private:
  std::vector<PolicyRule> rules_;
  std::string default_ = "alert";
  std::string source_;
};

// Where a finding went, as policy destinations see it: the HTTP host, TLS server name,
// DNS domain, or the domains of the mail recipients.
std::vector<std::string> finding_destinations(const dataplane::Finding& f);
// "mail.example.com" matches "example.com" and "*.example.com"; case-insensitive.
bool domain_matches(const std::string& host, const std::string& pattern);

}  // namespace dlp::mgmt
