// User risk: a 0-100 score per user that rises with what they send and how unusual it is
// for them and their peers, and decays with a configurable half-life (packet time).
//
// Each finding adds points: its severity (low 1, medium 3, high 8, critical 15) times its
// confidence (medium 0.6, high 1) times a volume factor (log2 of the match count) — a
// tenth of that when it is routine for the user — and the same base again, scaled, for
// each way it is unusual: deviation from the user's own
// baseline, from the department's, a destination the user never sent to, an hour of the
// week they are rarely active in. The raw sum decays exponentially; the score is
// 100 * (1 - exp(-raw / scale)), so it saturates instead of overflowing, and every point
// is kept with its reason, so the score is explained by what made it.
//
//   RiskEngine risk(cfg);
//   risk.add(finding_activity, signals);
//   RiskScore s = risk.score("alice", now);   // s.score, s.level, s.reasons (largest first)
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mgmt/baseline.h"

namespace dlp::mgmt {

enum class RiskLevel { low, elevated, high, critical };
const char* risk_level_name(RiskLevel l);
bool parse_risk_level(const std::string& s, RiskLevel& out);

struct RiskConfig {
  double half_life_hours = 72;
  double scale = 40;  // raw points at which the score is 63
  // Level thresholds on the 0-100 score.
  int elevated_at = 25, high_at = 50, critical_at = 75;
  // Multipliers of a finding's base points for each unusual circumstance.
  double w_own_deviation = 1.0;   // per z above z_threshold, capped at cap_z
  double w_peer_deviation = 0.5;
  double z_threshold = 3.0;
  double cap_z = 20.0;
  double w_new_destination = 1.0;
  double w_off_hours = 1.5;
  // Weight of a finding that matches the user's normal in every way (volume, destination,
  // hour): routine work keeps adding a little, never enough to look like an insider.
  double routine_weight = 0.1;
  double off_hours_share = 0.002;  // an hour holding less than this share of past activity
  int utc_offset_minutes = 0;       // the site's local time, for naming the hour
};

// What made one finding unusual (from BaselineModel, checked before it is observed).
struct RiskSignals {
  Deviation deviation;
  bool new_destination = false;
  std::string destination;
  double hour_share = 1.0 / 168;
  std::string severity = "medium";
  bool high_confidence = false;
};

struct RiskReason {
  std::string text;    // "credit_card: 480 matches today, own normal 1.1 (z 43.2)"
  double points = 0;   // decayed to the time of the score
};

struct RiskScore {
  std::string user;
  int score = 0;
  RiskLevel level = RiskLevel::low;
  std::vector<RiskReason> reasons;  // largest contribution first
};

class RiskEngine {
 public:
  explicit RiskEngine(RiskConfig cfg = {});
  void add(const Activity& a, const RiskSignals& s);
  RiskScore score(const std::string& user, std::uint64_t now_ns) const;
  // Every user seen, highest score at `now_ns` first.
  std::vector<RiskScore> top(std::uint64_t now_ns, std::size_t n = SIZE_MAX) const;
  RiskLevel level_of(int score) const;
  const RiskConfig& config() const { return cfg_; }

 private:
  // Points per reason key, decayed lazily: value is as of `at_ns`.
  struct Bucket {
    double points = 0;
    std::uint64_t at_ns = 0;
    std::string text;
  };
  struct User {
    std::map<std::string, Bucket> reasons;
  };
  double decayed(const Bucket& b, std::uint64_t now_ns) const;
  void credit(User& u, const std::string& key, std::string text, double points,
              std::uint64_t ts_ns);

  RiskConfig cfg_;
  std::map<std::string, User> users_;
};

}  // namespace dlp::mgmt
