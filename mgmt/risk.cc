#include "mgmt/risk.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace dlp::mgmt {

const char* risk_level_name(RiskLevel l) {
  switch (l) {
    case RiskLevel::low: return "low";
    case RiskLevel::elevated: return "elevated";
    case RiskLevel::high: return "high";
    case RiskLevel::critical: return "critical";
  }
  return "low";
}

bool parse_risk_level(const std::string& s, RiskLevel& out) {
  for (RiskLevel l : {RiskLevel::low, RiskLevel::elevated, RiskLevel::high, RiskLevel::critical}) {
    if (s == risk_level_name(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

namespace {

double severity_points(const std::string& s) {
  if (s == "critical") return 15;
  if (s == "high") return 8;
  if (s == "medium") return 3;
  return 1;
}

std::string fmt(const char* f, double a, double b = 0, double c = 0) {
  char buf[96];
  std::snprintf(buf, sizeof buf, f, a, b, c);
  return buf;
}

}  // namespace

RiskEngine::RiskEngine(RiskConfig cfg) : cfg_(cfg) {}

RiskLevel RiskEngine::level_of(int score) const {
  if (score >= cfg_.critical_at) return RiskLevel::critical;
  if (score >= cfg_.high_at) return RiskLevel::high;
  if (score >= cfg_.elevated_at) return RiskLevel::elevated;
  return RiskLevel::low;
}

double RiskEngine::decayed(const Bucket& b, std::uint64_t now_ns) const {
  if (now_ns <= b.at_ns) return b.points;
  const double hours = static_cast<double>(now_ns - b.at_ns) / static_cast<double>(kNsPerHour);
  return b.points * std::exp2(-hours / std::max(cfg_.half_life_hours, 0.01));
}

void RiskEngine::credit(User& u, const std::string& key, std::string text, double points,
                        std::uint64_t ts_ns) {
  if (points <= 0) return;
  Bucket& b = u.reasons[key];
  b.points = decayed(b, ts_ns) + points;
  b.at_ns = std::max(b.at_ns, ts_ns);
  b.text = std::move(text);  // the newest wording (today's figures)
}

void RiskEngine::add(const Activity& a, const RiskSignals& s) {
  User& u = users_[a.user];
  const double volume = 1.0 + std::log2(1.0 + static_cast<double>(a.count)) / 2;
  const double base = severity_points(s.severity) * (s.high_confidence ? 1.0 : 0.6) * volume;
  const Deviation& d = s.deviation;
  // What the user (blended with their peers while their own history is short) does every
  // day adds little: risk is about change.
  const bool routine = d.z <= cfg_.z_threshold && !s.new_destination &&
                       s.hour_share >= cfg_.off_hours_share;
  credit(u, "findings:" + a.category,
         a.category + ": " + s.severity + " severity findings sent" +
             (!routine ? "" : d.has_baseline ? " (usual for this user)" : " (no baseline yet)"),
         routine ? base * cfg_.routine_weight : base, a.ts_ns);

  const double own_z = std::min(d.z_own, cfg_.cap_z);
  if (d.own_days > 0 && own_z > cfg_.z_threshold) {
    credit(u, "own:" + a.category,
           a.category + fmt(": %.0f matches today against an own normal of %.1f a day (%.1f sigma",
                            d.today_count, d.own_mean_count, d.z_own) +
               fmt(", %.0f days of history)", d.own_days),
           base * cfg_.w_own_deviation * d.own_weight * (own_z - cfg_.z_threshold), a.ts_ns);
  }
  const double peer_z = std::min(d.z_peer, cfg_.cap_z);
  if (peer_z > cfg_.z_threshold) {
    // While the own history is short the peers are the better baseline: they weigh more.
    const double w = cfg_.w_peer_deviation + (1 - d.own_weight) * (cfg_.w_own_deviation - cfg_.w_peer_deviation);
    credit(u, "peer:" + a.category,
           a.category + fmt(": %.0f matches today against a department normal of %.1f (%.1f sigma)",
                            d.today_count, d.peer_mean_count, d.z_peer),
           base * w * (peer_z - cfg_.z_threshold), a.ts_ns);
  }
  if (s.new_destination && !s.destination.empty()) {
    credit(u, "dest:" + s.destination, "sent " + a.category + " to a new destination " + s.destination,
           base * cfg_.w_new_destination, a.ts_ns);
  }
  if (s.hour_share < cfg_.off_hours_share) {
    const int how = hour_of_week(a.ts_ns, cfg_.utc_offset_minutes);
    static const char* kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    char when[32];
    std::snprintf(when, sizeof when, "%s %02d:00", kDays[how / 24], how % 24);
    credit(u, "hours", std::string("activity at an unusual hour (") + when + fmt(", %.1f%% of usual activity)", s.hour_share * 100),
           base * cfg_.w_off_hours, a.ts_ns);
  }
}

RiskScore RiskEngine::score(const std::string& user, std::uint64_t now_ns) const {
  RiskScore out;
  out.user = user;
  auto it = users_.find(user);
  if (it == users_.end()) return out;
  double raw = 0;
  for (const auto& [key, b] : it->second.reasons) {
    const double p = decayed(b, now_ns);
    raw += p;
    if (p >= 0.05) out.reasons.push_back({b.text, p});
  }
  std::sort(out.reasons.begin(), out.reasons.end(),
            [](const RiskReason& a, const RiskReason& b) { return a.points > b.points; });
  out.score = static_cast<int>(std::lround(100.0 * (1.0 - std::exp(-raw / std::max(cfg_.scale, 1e-9)))));
  out.level = level_of(out.score);
  return out;
}

std::vector<RiskScore> RiskEngine::top(std::uint64_t now_ns, std::size_t n) const {
  std::vector<RiskScore> all;
  for (const auto& [user, u] : users_) all.push_back(score(user, now_ns));
  std::stable_sort(all.begin(), all.end(), [](const RiskScore& a, const RiskScore& b) {
    return a.score != b.score ? a.score > b.score : a.user < b.user;
  });
  if (all.size() > n) all.resize(n);
  return all;
}

}  // namespace dlp::mgmt
