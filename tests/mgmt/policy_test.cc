#include "mgmt/policy.h"

#include "mgmt/identity.h"

#include <gtest/gtest.h>

namespace dlp::mgmt {
namespace {

dataplane::Finding card_finding() {
  dataplane::Finding f;
  f.detector = "pci.credit_card";
  f.category = "credit_card";
  f.confidence = signatures::Confidence::high;
  f.count = 12;
  f.meta.app = inspectors::App::http;
  f.meta.http_host = "uploads.Dropbox.com:443";
  parse_ip("198.51.100.7", f.dst_ip);
  return f;
}

const char* kPolicy = R"(policy:
  default: alert
  rules:
    - name: critical users never send cards out
      category: credit_card
      min_risk_level: critical
      action: block
    - name: cards to personal storage
      category: [credit_card]
      min_confidence: high
      min_count: 10
      destination:
        domains: ["*.dropbox.com", mega.nz]
      action: block
    - name: finance may send invoices
      department: finance
      destination: { ips: [203.0.113.0/24] }
      action: allow
)";

TEST(PolicyTest, FirstMatchingRuleDecides) {
  auto p = Policy::parse(kPolicy, "policy.yaml");
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->rules().size(), 3u);
  EXPECT_EQ(p->rules()[1].line, 8);

  dataplane::Finding f = card_finding();
  PolicySubject who{"alice", "finance", RiskLevel::low};
  PolicyDecision d = p->decide(f, who);
  EXPECT_EQ(d.action, "block");
  EXPECT_EQ(d.rule, "cards to personal storage");

  f.count = 3;  // under min_count: falls through to the default
  d = p->decide(f, who);
  EXPECT_EQ(d.action, "alert");
  EXPECT_EQ(d.rule, "default");

  parse_ip("203.0.113.9", f.dst_ip);
  f.meta.http_host = "invoices.example.net";
  d = p->decide(f, who);
  EXPECT_EQ(d.action, "allow");
  who.department = "sales";
  EXPECT_EQ(p->decide(f, who).action, "alert");
}

TEST(PolicyTest, RiskAdaptiveSameFindingDifferentUsers) {
  auto p = Policy::parse(kPolicy, "policy.yaml");
  ASSERT_TRUE(p);
  dataplane::Finding f = card_finding();
  f.count = 1;
  f.meta.http_host = "partner.example.org";
  EXPECT_EQ(p->decide(f, {"bob", "sales", RiskLevel::low}).action, "alert");
  EXPECT_EQ(p->decide(f, {"bob", "sales", RiskLevel::high}).action, "alert");
  const PolicyDecision d = p->decide(f, {"bob", "sales", RiskLevel::critical});
  EXPECT_EQ(d.action, "block");
  EXPECT_EQ(d.rule, "critical users never send cards out");
}

TEST(PolicyTest, DestinationsComeFromHostSniDnsAndRecipients) {
  dataplane::Finding f;
  f.meta.smtp_rcpt_to = {"<x@gmail.com>", "y@corp.example"};
  f.meta.tls_sni = "api.mega.nz";
  const auto d = finding_destinations(f);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0], "api.mega.nz");
  EXPECT_EQ(d[1], "gmail.com");
  EXPECT_EQ(d[2], "corp.example");
  EXPECT_TRUE(domain_matches("API.Mega.NZ.", "mega.nz"));
  EXPECT_TRUE(domain_matches("mega.nz", "*.mega.nz"));
  EXPECT_FALSE(domain_matches("notmega.nz", "mega.nz"));
  EXPECT_FALSE(domain_matches("mega.nz.evil.com", "mega.nz"));
}

TEST(PolicyTest, CidrMatchesV4AndV6) {
  Cidr c;
  ASSERT_TRUE(parse_cidr("10.1.0.0/16", c));
  dataplane::IpAddr ip;
  ASSERT_TRUE(parse_ip("10.1.200.3", ip));
  EXPECT_TRUE(c.contains(ip));
  ASSERT_TRUE(parse_ip("10.2.0.1", ip));
  EXPECT_FALSE(c.contains(ip));
  ASSERT_TRUE(parse_cidr("2001:db8::/32", c));
  ASSERT_TRUE(parse_ip("2001:db8:1::5", ip));
  EXPECT_TRUE(c.contains(ip));
  EXPECT_FALSE(parse_cidr("10.0.0.0/33", c));
  EXPECT_FALSE(parse_cidr("10.0.0.0/", c));
  EXPECT_FALSE(parse_cidr("host.example/8", c));
}

TEST(PolicyTest, BadPoliciesNameFileLineAndReason) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"policy:\n  rules:\n    - category: x\n      action: explode\n",
       "p.yaml:4: action must be allow, alert or block"},
      {"policy:\n  rules:\n    - category: x\n", "p.yaml:3: rule 'rule 1' has no action"},
      {"policy:\n  rules:\n    - colour: red\n      action: block\n",
       "p.yaml:3: unknown rule key 'colour'"},
      {"policy:\n  rules:\n    - destination: {ips: [300.1.1.1]}\n      action: block\n",
       "p.yaml:3: bad address or CIDR '300.1.1.1'"},
      {"policy:\n  rules:\n    - min_risk_level: severe\n      action: block\n",
       "p.yaml:3: min_risk_level must be low, elevated, high or critical"},
      {"policy:\n  default: maybe\n", "p.yaml:2: default must be allow, alert or block"},
      {"policy:\n  rules: [\n", nullptr},
  };
  for (const auto& c : cases) {
    auto p = Policy::parse(c.text, "p.yaml");
    ASSERT_FALSE(p) << c.text;
    if (c.error) {
      EXPECT_EQ(p.error().message, c.error);
    } else {
      EXPECT_EQ(p.error().message.rfind("p.yaml:", 0), 0u) << p.error().message;
    }
  }
  EXPECT_EQ(Policy::load("/nonexistent/policy.yaml").error().message,
            "/nonexistent/policy.yaml: cannot read");
}

}  // namespace
}  // namespace dlp::mgmt
