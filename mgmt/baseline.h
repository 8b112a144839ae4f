// Behavioural baselines: what is normal for a user, and for their peers (department).
//
// Per user and category the model keeps the running day (count of matches, bytes of the
// content they travelled in, destinations) and, for finished days, an exponentially
// weighted mean and variance of the daily count and bytes (EWMA over a configurable
// half-life, in days). Days without activity are folded in as zeros, so a user who
// usually sends nothing is measured against nothing. The same user-days also feed the
// department's model: the peer baseline every user is compared with, and what a new user
// leans on until they have enough history of their own (cold start).
// Per user it also keeps an hour-of-week profile (when they are usually active) and the
// destinations they have sent to before.
//
// Everything runs on packet time: replaying the same week gives the same baselines.
//
//   BaselineModel m(cfg);
//   m.observe({.ts_ns = t, .user = "alice", .department = "finance",
//              .category = "credit_card", .count = 3, .bytes = 4096,
//              .destination = "dropbox.com"});
//   Deviation d = m.deviation("alice", "finance", "credit_card", t);  // today vs normal
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace dlp::mgmt {

constexpr std::uint64_t kNsPerHour = 3'600'000'000'000ull;
constexpr std::uint64_t kNsPerDay = 24 * kNsPerHour;

// Monday 00:00 = 0 ... Sunday 23:00 = 167, in UTC shifted by `utc_offset_minutes`.
int hour_of_week(std::uint64_t ts_ns, int utc_offset_minutes = 0);
std::int64_t day_index(std::uint64_t ts_ns, int utc_offset_minutes = 0);
// 0-23 the hour of a workday, 24-47 the hour of a weekend day.
int day_hour_bin(std::uint64_t ts_ns, int utc_offset_minutes = 0);

struct BaselineConfig {
  double half_life_days = 14;    // weight of a day halves after this many days
  int min_days = 5;              // days of own history before the own baseline is trusted
  int utc_offset_minutes = 0;    // the site's local time, for days and hours of week
  std::size_t max_destinations = 1024;  // remembered per user (oldest forgotten first)
  // Spread floors, so a user whose normal day is exactly 0 or 1 does not produce an
  // infinite z-score from a single extra match: sigma >= max(floor_abs, floor_rel * mean).
  double sigma_floor_count = 1.0;
  double sigma_floor_bytes = 4096.0;
  double sigma_floor_rel = 0.25;
};

// One unit of observed activity: a finding, attributed to a user.
struct Activity {
  std::uint64_t ts_ns = 0;
  std::string user;
  std::string department;
  std::string category;
  std::uint64_t count = 1;   // matches
  std::uint64_t bytes = 0;   // size of the content they were found in
  std::string destination;   // registered domain, host or IP
};

// EWMA mean and variance of one daily quantity.
struct Ewma {
  double mean = 0;
  double var = 0;
  int days = 0;
  void add(double x, double alpha);
};

// How today's activity of one user and category compares with normal.
struct Deviation {
  double today_count = 0, today_bytes = 0;
  double own_mean_count = 0, own_mean_bytes = 0;
  double peer_mean_count = 0, peer_mean_bytes = 0;
  double z_own = 0;      // max of the count and bytes z-scores against the own baseline
  double z_peer = 0;     // ... against the department's
  double z = 0;          // blended by how much own history there is (cold start)
  int own_days = 0;      // finished days in the own baseline
  double own_weight = 1;  // how much the own baseline counts (own_days / min_days, at most 1)
  bool cold_start = false;
  bool has_baseline = false;  // any finished day, own or the department's, to compare with
};

class BaselineModel {
 public:
  explicit BaselineModel(BaselineConfig cfg = {});

  // Adds activity at its packet time; finishes the user's earlier days first.
  void observe(const Activity& a);
  // Today's activity of (user, category) at `ts_ns` compared with both baselines.
  Deviation deviation(const std::string& user, const std::string& department,
                      const std::string& category, std::uint64_t ts_ns) const;
  // Whether the user has sent to `destination` before `a` (checked before observe()).
  bool new_destination(const std::string& user, const std::string& destination) const;
  // How usual this time is for the user: the share of past activity within an hour of it
  // on the same kind of day (workday or weekend), the larger of the user's own share and
  // the department's, so a habit either has is usual. 1.0/16 would be uniform.
  double hour_share(const std::string& user, const std::string& department,
                    std::uint64_t ts_ns) const;
  int own_days(const std::string& user) const;

  // For the store and `dlpctl user show`: the finished-day baselines.
  struct Entry {
    std::string user, department, category;
    Ewma count, bytes;
  };
  std::vector<Entry> entries() const;
  const BaselineConfig& config() const { return cfg_; }

 private:
  struct Series {
    Ewma count, bytes;
    std::int64_t day = INT64_MIN;  // the running day
    double day_count = 0, day_bytes = 0;
  };
  struct User {
    std::string department;
    std::int64_t first_day = INT64_MIN;
    std::int64_t last_closed = INT64_MIN;  // days before this one are folded in
    std::map<std::string, Series> by_category;
    double hours[48] = {};  // [weekend][hour of day]
    double hours_total = 0;
    std::set<std::string> destinations;
    std::deque<std::string> destination_order;
  };
  struct Peer {
    std::map<std::string, Ewma> count, bytes;
    double hours[48] = {};
    double hours_total = 0;
  };

  void roll(User& u, std::int64_t today);
  void fold_day(User& u, const std::string& category, Series& s, std::int64_t day);
  double sigma(const Ewma& e, double floor_abs) const;

  BaselineConfig cfg_;
  double alpha_;
  std::int64_t first_day_ = INT64_MIN;  // the first day the model saw anything
  std::unordered_map<std::string, User> users_;
  std::unordered_map<std::string, Peer> peers_;
};

}  // namespace dlp::mgmt
