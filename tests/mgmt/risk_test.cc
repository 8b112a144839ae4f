#include "mgmt/risk.h"

#include <cmath>

#include <gtest/gtest.h>

namespace dlp::mgmt {
namespace {

constexpr std::uint64_t kMonday = 1'709'510'400'000'000'000ull;

Activity finding(std::uint64_t ts, const std::string& user, const std::string& cat,
                 std::uint64_t count) {
  return Activity{ts, user, "finance", cat, count, 1000, ""};
}

TEST(RiskTest, LevelsFollowTheThresholds) {
  RiskEngine r;
  EXPECT_EQ(r.level_of(0), RiskLevel::low);
  EXPECT_EQ(r.level_of(24), RiskLevel::low);
  EXPECT_EQ(r.level_of(25), RiskLevel::elevated);
  EXPECT_EQ(r.level_of(50), RiskLevel::high);
  EXPECT_EQ(r.level_of(75), RiskLevel::critical);
  RiskLevel l;
  EXPECT_TRUE(parse_risk_level("critical", l));
  EXPECT_EQ(l, RiskLevel::critical);
  EXPECT_FALSE(parse_risk_level("severe", l));
}

TEST(RiskTest, AnOrdinaryFindingScoresLowAndTheScoreIsExplained) {
  RiskEngine r;
  RiskSignals s;
  s.severity = "medium";
  s.deviation.has_baseline = true;
  r.add(finding(kMonday + 10 * kNsPerHour, "alice", "email", 1), s);
  const RiskScore sc = r.score("alice", kMonday + 10 * kNsPerHour);
  // base = 3 * 0.6 * (1 + log2(2)/2) = 2.7, a tenth of it as nothing about it is unusual;
  // score = 100 * (1 - exp(-0.27/40)).
  EXPECT_EQ(sc.score, static_cast<int>(std::lround(100 * (1 - std::exp(-0.27 / 40)))));
  EXPECT_EQ(sc.score, 1);
  EXPECT_EQ(sc.level, RiskLevel::low);
  ASSERT_EQ(sc.reasons.size(), 1u);
  EXPECT_EQ(sc.reasons[0].text, "email: medium severity findings sent (usual for this user)");
  EXPECT_NEAR(sc.reasons[0].points, 0.27, 1e-9);

  // The same finding from a user without history whose peers never send e-mail addresses
  // is not routine, and the peers weigh fully.
  RiskSignals odd = s;
  odd.deviation.cold_start = true;
  odd.deviation.own_weight = 0;
  odd.deviation.today_count = 1;
  odd.deviation.z_peer = 3.5;
  odd.deviation.z = 3.5;
  r.add(finding(kMonday + 10 * kNsPerHour, "newbie", "email", 1), odd);
  const RiskScore n = r.score("newbie", kMonday + 10 * kNsPerHour);
  ASSERT_EQ(n.reasons.size(), 2u);
  EXPECT_EQ(n.reasons[0].text, "email: medium severity findings sent");
  EXPECT_NEAR(n.reasons[0].points, 2.7, 1e-9);
  EXPECT_EQ(n.reasons[1].text, "email: 1 matches today against a department normal of 0.0 (3.5 sigma)");
  EXPECT_NEAR(n.reasons[1].points, 2.7 * 1.0 * 0.5, 1e-9);
  EXPECT_EQ(r.score("nobody", kMonday).score, 0);
  // On the appliance's first day there is nothing to compare with, and it says so.
  RiskSignals first;
  first.severity = "medium";
  r.add(finding(kMonday, "early", "email", 1), first);
  EXPECT_EQ(r.score("early", kMonday).reasons.at(0).text,
            "email: medium severity findings sent (no baseline yet)");
}

TEST(RiskTest, DeviationNewDestinationAndOffHoursRaiseItWithReasons) {
  RiskEngine r;
  RiskSignals s;
  s.severity = "high";
  s.high_confidence = true;
  s.deviation.z_own = 12;
  s.deviation.z = 12;
  s.deviation.today_count = 480;
  s.deviation.own_mean_count = 1.5;
  s.deviation.own_days = 20;
  s.new_destination = true;
  s.destination = "mega.nz";
  s.hour_share = 0.0;
  const std::uint64_t t = kMonday + kNsPerDay + 3 * kNsPerHour;  // Tuesday 03:00
  r.add(finding(t, "mallory", "credit_card", 480), s);
  const RiskScore sc = r.score("mallory", t);
  EXPECT_GE(sc.level, RiskLevel::high);
  ASSERT_EQ(sc.reasons.size(), 4u);
  // Largest first: 9 sigma over the threshold of 3 outweighs the rest.
  EXPECT_EQ(sc.reasons[0].text,
            "credit_card: 480 matches today against an own normal of 1.5 a day (12.0 sigma, 20 days "
            "of history)");
  std::vector<std::string> texts;
  for (const auto& x : sc.reasons) texts.push_back(x.text);
  EXPECT_NE(std::find(texts.begin(), texts.end(), "sent credit_card to a new destination mega.nz"),
            texts.end());
  EXPECT_NE(std::find(texts.begin(), texts.end(),
                      "activity at an unusual hour (Tue 03:00, 0.0% of usual activity)"),
            texts.end());
}

TEST(RiskTest, ScoreDecaysWithTheHalfLife) {
  RiskConfig cfg;
  cfg.half_life_hours = 24;
  cfg.routine_weight = 1.0;  // count every finding fully, to see the decay alone
  RiskEngine r(cfg);
  RiskSignals s;
  s.severity = "critical";
  s.high_confidence = true;
  for (int i = 0; i < 10; ++i) r.add(finding(kMonday, "dave", "private_key", 1), s);
  const double raw0 = 10 * 15 * 1.0 * 1.5;
  auto expect = [&](double raw) { return static_cast<int>(std::lround(100 * (1 - std::exp(-raw / 40)))); };
  EXPECT_EQ(r.score("dave", kMonday).score, expect(raw0));
  EXPECT_EQ(r.score("dave", kMonday + 24 * kNsPerHour).score, expect(raw0 / 2));
  EXPECT_EQ(r.score("dave", kMonday + 96 * kNsPerHour).score, expect(raw0 / 16));
}

TEST(RiskTest, TopRanksByScoreThenName) {
  RiskEngine r;
  RiskSignals low;
  low.severity = "low";
  RiskSignals high;
  high.severity = "high";
  high.high_confidence = true;
  r.add(finding(kMonday, "b", "email", 1), low);
  r.add(finding(kMonday, "a", "email", 1), low);
  r.add(finding(kMonday, "c", "credit_card", 50), high);
  const auto top = r.top(kMonday);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].user, "c");
  EXPECT_EQ(top[1].user, "a");
  EXPECT_EQ(top[2].user, "b");
  EXPECT_EQ(top[1].score, top[2].score);
  EXPECT_EQ(r.top(kMonday, 1).size(), 1u);
}

}  // namespace
}  // namespace dlp::mgmt
