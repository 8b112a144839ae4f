#include "mgmt/analyzer.h"

#include <gtest/gtest.h>

#include "mgmt/identity.h"

namespace dlp::mgmt {
namespace {

constexpr std::uint64_t kMonday = 1'709'510'400'000'000'000ull;

dataplane::Finding finding(std::uint64_t ts, const std::string& category,
                           const std::string& severity, std::uint32_t count,
                           const std::string& host, std::uint64_t id) {
  dataplane::Finding f;
  f.ts_ns = ts;
  f.finding_id = id;
  f.detector = "x." + category;
  f.category = category;
  f.severity = severity;
  f.confidence = signatures::Confidence::high;
  f.count = count;
  f.stream_offset = 1000;
  f.meta.app = inspectors::App::http;
  f.meta.http_host = host;
  parse_ip("203.0.113.10", f.dst_ip);
  return f;
}

TEST(AnalyzerTest, DestinationIsTheRegisteredDomain) {
  auto f = finding(kMonday, "email", "low", 1, "gfs208n117.userstorage.mega.co.nz:443", 1);
  EXPECT_EQ(finding_destination(f), "mega.co.nz");
  f.meta.http_host.clear();
  EXPECT_EQ(finding_destination(f), "203.0.113.10");
  f.meta.smtp_rcpt_to = {"<someone@mail.Example.COM>"};
  EXPECT_EQ(finding_destination(f), "example.com");
}

TEST(AnalyzerTest, ABurstToANewPlaceBecomesAnExplainedIncidentAndPolicyBlocksIt) {
  AnalyzerConfig cfg;
  auto policy = Policy::parse(R"(policy:
  rules:
    - name: risky users may not send cards
      category: credit_card
      min_risk_level: high
      action: block
)", "p.yaml");
  ASSERT_TRUE(policy) << policy.error().message;
  cfg.policy = *policy;
  Analyzer a(cfg);
  std::uint64_t id = 1;
  // Two weeks of one card a day to the payment partner, in office hours.
  for (int d = 0; d < 14; ++d) {
    for (int h : {10, 15}) {
      const auto ts = kMonday + d * kNsPerDay + h * kNsPerHour;
      const AnalyzerDecision dec =
          a.on_finding(finding(ts, "credit_card", "medium", 1, "pay.partner.example", id++),
                       "alice", "finance");
      EXPECT_EQ(dec.action, "alert");
      EXPECT_EQ(dec.destination, "partner.example");
    }
  }
  EXPECT_LT(a.score("alice", a.now()).level, RiskLevel::elevated);
  EXPECT_TRUE(a.incidents().empty());

  // Then, at 02:00, hundreds of cards to a storage site she never used.
  const auto night = kMonday + 14 * kNsPerDay + 2 * kNsPerHour;
  AnalyzerDecision last;
  for (int i = 0; i < 5; ++i) {
    last = a.on_finding(finding(night + i * 60'000'000'000ull, "credit_card", "high", 200,
                                "upload.mega.nz", id++),
                        "alice", "finance");
  }
  EXPECT_GE(last.risk_level, RiskLevel::high);
  EXPECT_EQ(last.action, "block");
  EXPECT_EQ(last.rule, "risky users may not send cards");
  ASSERT_EQ(a.incidents().size(), 1u);
  const Incident& inc = a.incidents()[0];
  EXPECT_EQ(inc.user, "alice");
  EXPECT_EQ(inc.finding_ids.size(), 5u);
  EXPECT_EQ(inc.matches_by_category.at("credit_card"), 1000u);
  EXPECT_EQ(inc.destinations, std::vector<std::string>{"mega.nz"});
  EXPECT_EQ(inc.action, "block");
  EXPECT_EQ(inc.max_severity, "high");
  ASSERT_FALSE(inc.reasons.empty());
  bool names_deviation = false, names_destination = false, names_hour = false;
  for (const auto& r : inc.reasons) {
    names_deviation |= r.find("against an own normal") != std::string::npos;
    names_destination |= r.find("new destination mega.nz") != std::string::npos;
    names_hour |= r.find("unusual hour") != std::string::npos;
  }
  EXPECT_TRUE(names_deviation);
  EXPECT_TRUE(names_destination);
  EXPECT_TRUE(names_hour);

  // An hour and more later is a new incident.
  a.on_finding(finding(night + 3 * kNsPerHour, "credit_card", "high", 50, "upload.mega.nz", id++),
               "alice", "finance");
  EXPECT_EQ(a.incidents().size(), 2u);
}

}  // namespace
}  // namespace dlp::mgmt
