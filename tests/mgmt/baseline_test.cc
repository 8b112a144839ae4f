#include "mgmt/baseline.h"

#include <gtest/gtest.h>

namespace dlp::mgmt {
namespace {

// 2024-03-04T00:00:00Z, a Monday.
constexpr std::uint64_t kMonday = 1'709'510'400'000'000'000ull;

Activity act(std::uint64_t ts, const std::string& user, const std::string& dept,
             const std::string& cat, std::uint64_t count, std::uint64_t bytes,
             const std::string& dest = "") {
  return Activity{ts, user, dept, cat, count, bytes, dest};
}

TEST(BaselineTest, HourOfWeekStartsMondayMidnightUtcAndHonoursTheOffset) {
  EXPECT_EQ(hour_of_week(kMonday), 0);
  EXPECT_EQ(hour_of_week(kMonday + 9 * kNsPerHour), 9);
  EXPECT_EQ(hour_of_week(kMonday + 6 * kNsPerDay + 23 * kNsPerHour), 167);
  EXPECT_EQ(hour_of_week(kMonday + 7 * kNsPerDay), 0);
  // 01:00 UTC on Monday is 20:00 on Sunday at UTC-5.
  EXPECT_EQ(hour_of_week(kMonday + kNsPerHour, -300), 6 * 24 + 20);
  EXPECT_EQ(day_index(kMonday + kNsPerHour, -300), day_index(kMonday) - 1);
}

TEST(BaselineTest, SteadyUserIsNormalAndABurstIsFarOutside) {
  BaselineModel m;
  for (int d = 0; d < 10; ++d) {
    const std::uint64_t t = kMonday + d * kNsPerDay + 10 * kNsPerHour;
    m.observe(act(t, "alice", "finance", "credit_card", 2, 2000));
  }
  const std::uint64_t day10 = kMonday + 10 * kNsPerDay + 10 * kNsPerHour;
  m.observe(act(day10, "alice", "finance", "credit_card", 2, 2000));
  Deviation d = m.deviation("alice", "finance", "credit_card", day10);
  EXPECT_EQ(d.own_days, 10);
  EXPECT_FALSE(d.cold_start);
  EXPECT_DOUBLE_EQ(d.own_mean_count, 2.0);
  EXPECT_DOUBLE_EQ(d.today_count, 2.0);
  EXPECT_DOUBLE_EQ(d.z_own, 0.0);

  m.observe(act(day10 + kNsPerHour, "alice", "finance", "credit_card", 48, 48000));
  d = m.deviation("alice", "finance", "credit_card", day10 + kNsPerHour);
  EXPECT_DOUBLE_EQ(d.today_count, 50.0);
  // Constant history: variance 0, so sigma is the floor max(1, 0.25 * 2) = 1.
  EXPECT_DOUBLE_EQ(d.z_own, 48.0);
  EXPECT_DOUBLE_EQ(d.z, d.z_own);
}

TEST(BaselineTest, SilentDaysCountAsZerosAndNewCategoriesStartFromZero) {
  BaselineModel m;
  // Active Monday to Friday for two weeks, nothing at weekends.
  for (int d = 0; d < 14; ++d) {
    if (d % 7 >= 5) continue;
    m.observe(act(kMonday + d * kNsPerDay + 9 * kNsPerHour, "bob", "sales", "email", 10, 500));
  }
  const std::uint64_t t = kMonday + 14 * kNsPerDay + 9 * kNsPerHour;
  m.observe(act(t, "bob", "sales", "email", 10, 500));
  const Deviation d = m.deviation("bob", "sales", "email", t);
  EXPECT_EQ(d.own_days, 14);
  EXPECT_LT(d.own_mean_count, 10.0);  // the weekend zeros pull it down
  EXPECT_GT(d.own_mean_count, 5.0);

  // A category bob never sent: 14 days of zeros, so one match is measured against 0.
  m.observe(act(t, "bob", "sales", "us_ssn", 3, 100));
  const Deviation s = m.deviation("bob", "sales", "us_ssn", t);
  EXPECT_FALSE(s.cold_start);
  EXPECT_DOUBLE_EQ(s.own_mean_count, 0.0);
  EXPECT_DOUBLE_EQ(s.z_own, 3.0);  // 3 matches over the floor sigma of 1
}

TEST(BaselineTest, EarlyDaysLeanOnThePeers) {
  BaselineModel m;
  for (int d = 0; d < 2; ++d) {
    for (const char* u : {"p1", "p2", "p3"}) {
      m.observe(act(kMonday + d * kNsPerDay + 11 * kNsPerHour, u, "hr", "us_ssn", 4, 4000));
    }
  }
  // Day 2: a colleague first seen now has two days of history (zeros): not enough alone.
  const std::uint64_t t = kMonday + 2 * kNsPerDay + 11 * kNsPerHour;
  m.observe(act(t, "newbie", "hr", "us_ssn", 4, 4000));
  Deviation d = m.deviation("newbie", "hr", "us_ssn", t);
  EXPECT_TRUE(d.cold_start);
  EXPECT_EQ(d.own_days, 2);
  EXPECT_DOUBLE_EQ(d.own_weight, 0.4);
  EXPECT_DOUBLE_EQ(d.z_own, 4.0);  // 4 over the floor sigma of 1, against zeros
  EXPECT_NEAR(d.peer_mean_count, 4.0, 1e-9);
  EXPECT_DOUBLE_EQ(d.z_peer, 0.0);  // as much as the peers: normal for the department
  EXPECT_NEAR(d.z, 0.4 * 4.0, 1e-9);

  m.observe(act(t + kNsPerHour, "newbie", "hr", "us_ssn", 400, 400000));
  d = m.deviation("newbie", "hr", "us_ssn", t + kNsPerHour);
  EXPECT_GT(d.z_peer, 100.0);
  EXPECT_NEAR(d.z, 0.4 * d.z_own + 0.6 * d.z_peer, 1e-9);

  // Someone first seen on day 10 was watched for ten days: their own zeros count fully.
  const std::uint64_t later = kMonday + 10 * kNsPerDay + 11 * kNsPerHour;
  m.observe(act(later, "quiet", "hr", "us_ssn", 30, 100));
  d = m.deviation("quiet", "hr", "us_ssn", later);
  EXPECT_FALSE(d.cold_start);
  EXPECT_EQ(d.own_days, 10);
  EXPECT_DOUBLE_EQ(d.z_own, 30.0);
}

TEST(BaselineTest, DestinationsAndHoursAreRemembered) {
  BaselineConfig cfg;
  cfg.max_destinations = 3;
  BaselineModel m(cfg);
  EXPECT_TRUE(m.new_destination("carol", "example.com"));
  for (int d = 0; d < 10; ++d) {
    if (d % 7 >= 5) continue;  // no weekends
    for (int h = 9; h < 17; h += 2) {
      m.observe(act(kMonday + d * kNsPerDay + h * kNsPerHour, "carol", "it", "email", 1, 10,
                    "example.com"));
    }
  }
  EXPECT_FALSE(m.new_destination("carol", "example.com"));
  EXPECT_TRUE(m.new_destination("carol", "mega.nz"));
  EXPECT_FALSE(m.new_destination("carol", ""));
  // 03:00 on a Tuesday: never active then.
  EXPECT_DOUBLE_EQ(m.hour_share("carol", "it", kMonday + kNsPerDay + 3 * kNsPerHour), 0.0);
  EXPECT_GT(m.hour_share("carol", "it", kMonday + kNsPerDay + 9 * kNsPerHour), 0.02);
  // Unknown user in an unknown department: nothing known, never unusual.
  EXPECT_DOUBLE_EQ(m.hour_share("zed", "nowhere", kMonday), 3.0 / 48);
  // 08:00 is within an hour of her 09:00 habit.
  EXPECT_GT(m.hour_share("carol", "it", kMonday + kNsPerDay + 8 * kNsPerHour), 0.02);
  // Saturday 11:00: she never works weekends.
  EXPECT_DOUBLE_EQ(m.hour_share("carol", "it", kMonday + 5 * kNsPerDay + 11 * kNsPerHour), 0.0);
  // The destination memory is bounded: the oldest is forgotten first.
  for (const char* d : {"a.com", "b.com", "c.com"}) {
    m.observe(act(kMonday + 11 * kNsPerDay, "carol", "it", "email", 1, 10, d));
  }
  EXPECT_TRUE(m.new_destination("carol", "example.com"));
  EXPECT_FALSE(m.new_destination("carol", "c.com"));
}

TEST(BaselineTest, ReplayGivesIdenticalBaselines) {
  auto run = [] {
    BaselineModel m;
    for (int i = 0; i < 500; ++i) {
      const std::uint64_t t = kMonday + static_cast<std::uint64_t>(i) * 37 * 60'000'000'000ull;
      m.observe(act(t, "u" + std::to_string(i % 7), i % 2 ? "a" : "b",
                    i % 3 ? "credit_card" : "email", 1 + i % 5, 100 * (i % 11)));
    }
    return m.entries();
  };
  const auto a = run();
  const auto b = run();
  ASSERT_EQ(a.size(), b.size());
  ASSERT_FALSE(a.empty());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].user, b[i].user);
    EXPECT_EQ(a[i].category, b[i].category);
    EXPECT_DOUBLE_EQ(a[i].count.mean, b[i].count.mean);
    EXPECT_DOUBLE_EQ(a[i].bytes.var, b[i].bytes.var);
    EXPECT_EQ(a[i].count.days, b[i].count.days);
  }
}

}  // namespace
}  // namespace dlp::mgmt
