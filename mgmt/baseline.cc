#include "mgmt/baseline.h"

#include <algorithm>
#include <cmath>

namespace dlp::mgmt {

std::int64_t day_index(std::uint64_t ts_ns, int utc_offset_minutes) {
  const std::int64_t local =
      static_cast<std::int64_t>(ts_ns) + std::int64_t{utc_offset_minutes} * 60'000'000'000;
  // Floor division: a time just before the epoch belongs to day -1.
  const auto per_day = static_cast<std::int64_t>(kNsPerDay);
  return local >= 0 ? local / per_day : -((-local + per_day - 1) / per_day);
}

int hour_of_week(std::uint64_t ts_ns, int utc_offset_minutes) {
  const std::int64_t day = day_index(ts_ns, utc_offset_minutes);
  const std::int64_t local =
      static_cast<std::int64_t>(ts_ns) + std::int64_t{utc_offset_minutes} * 60'000'000'000;
  const auto hour =
      static_cast<int>((local - day * static_cast<std::int64_t>(kNsPerDay)) /
                       static_cast<std::int64_t>(kNsPerHour));
  // 1970-01-01 was a Thursday: (day + 3) mod 7 makes Monday 0.
  const auto weekday = static_cast<int>(((day + 3) % 7 + 7) % 7);
  return weekday * 24 + hour;
}

int day_hour_bin(std::uint64_t ts_ns, int utc_offset_minutes) {
  const int how = hour_of_week(ts_ns, utc_offset_minutes);
  return (how >= 5 * 24 ? 24 : 0) + how % 24;  // Saturday and Sunday are weekend
}

void Ewma::add(double x, double alpha) {
  if (days == 0) {
    mean = x;
    var = 0;
  } else {
    // West's incremental form of the exponentially weighted variance.
    const double diff = x - mean;
    const double incr = alpha * diff;
    mean += incr;
    var = (1 - alpha) * (var + diff * incr);
  }
  ++days;
}

BaselineModel::BaselineModel(BaselineConfig cfg)
    : cfg_(cfg), alpha_(1.0 - std::exp2(-1.0 / std::max(cfg.half_life_days, 0.1))) {}

double BaselineModel::sigma(const Ewma& e, double floor_abs) const {
  const double floor = std::max(floor_abs, cfg_.sigma_floor_rel * e.mean);
  return std::max(std::sqrt(std::max(e.var, 0.0)), floor);
}

void BaselineModel::fold_day(User& u, const std::string& category, Series& s,
                             std::int64_t day) {
  const double c = s.day == day ? s.day_count : 0.0;
  const double b = s.day == day ? s.day_bytes : 0.0;
  s.count.add(c, alpha_);
  s.bytes.add(b, alpha_);
  // Every user-day is one sample of the department: its EWMA moves by one day's weight
  // per day, whatever the department's size.
  Peer& p = peers_[u.department];
  std::size_t members = 0;
  for (const auto& [name, other] : users_) members += other.department == u.department ? 1 : 0;
  const double peer_alpha = alpha_ / static_cast<double>(std::max<std::size_t>(members, 1));
  p.count[category].add(c, peer_alpha);
  p.bytes[category].add(b, peer_alpha);
}

void BaselineModel::roll(User& u, std::int64_t today) {
  if (u.last_closed == INT64_MIN) {
    // Someone first seen now was watched since the model started and sent nothing worth
    // a finding: those days are their history, all zeros.
    u.first_day = std::min(today, first_day_);
    u.last_closed = today;
    return;
  }
  // Categories the department knows but this user never had count as zeros for them.
  const Peer* p = nullptr;
  if (auto it = peers_.find(u.department); it != peers_.end()) p = &it->second;
  if (p != nullptr) {
    for (const auto& [category, e] : p->count) {
      if (!u.by_category.count(category)) {
        Series s;
        s.count.days = s.bytes.days = static_cast<int>(u.last_closed - u.first_day);
        u.by_category.emplace(category, s);
      }
    }
  }
  // Close every day from last_closed up to yesterday (at most a window's worth: after
  // half a year of silence the baseline is all zeros anyway).
  const std::int64_t from = std::max(u.last_closed, today - 400);
  for (std::int64_t d = from; d < today; ++d) {
    for (auto& [category, s] : u.by_category) fold_day(u, category, s, d);
  }
  u.last_closed = std::max(u.last_closed, today);
}

void BaselineModel::observe(const Activity& a) {
  const std::int64_t today = day_index(a.ts_ns, cfg_.utc_offset_minutes);
  if (first_day_ == INT64_MIN || today < first_day_) first_day_ = today;
  User& u = users_[a.user];
  if (!a.department.empty()) u.department = a.department;
  if (today > u.last_closed || u.last_closed == INT64_MIN) roll(u, today);

  auto [it, inserted] = u.by_category.try_emplace(a.category);
  Series& s = it->second;
  if (inserted) {
    // A category new to this user: they sent none of it on every day so far.
    s.count.days = s.bytes.days = static_cast<int>(u.last_closed - u.first_day);
  }
  if (s.day != today) {
    s.day = today;
    s.day_count = s.day_bytes = 0;
  }
  s.day_count += static_cast<double>(a.count);
  s.day_bytes += static_cast<double>(a.bytes);
  peers_[u.department].count.try_emplace(a.category);
  peers_[u.department].bytes.try_emplace(a.category);

  const int h = day_hour_bin(a.ts_ns, cfg_.utc_offset_minutes);
  u.hours[h] += 1;
  u.hours_total += 1;
  Peer& p = peers_[u.department];
  p.hours[h] += 1;
  p.hours_total += 1;

  if (!a.destination.empty() && u.destinations.insert(a.destination).second) {
    u.destination_order.push_back(a.destination);
    if (u.destination_order.size() > cfg_.max_destinations) {
      u.destinations.erase(u.destination_order.front());
      u.destination_order.pop_front();
    }
  }
}

Deviation BaselineModel::deviation(const std::string& user, const std::string& department,
                                   const std::string& category, std::uint64_t ts_ns) const {
  Deviation d;
  const std::int64_t today = day_index(ts_ns, cfg_.utc_offset_minutes);
  const Ewma* own_c = nullptr;
  const Ewma* own_b = nullptr;
  if (auto u = users_.find(user); u != users_.end()) {
    d.own_days = static_cast<int>(u->second.last_closed - u->second.first_day);
    if (auto s = u->second.by_category.find(category); s != u->second.by_category.end()) {
      if (s->second.day == today) {
        d.today_count = s->second.day_count;
        d.today_bytes = s->second.day_bytes;
      }
      own_c = &s->second.count;
      own_b = &s->second.bytes;
    }
  }
  auto z_of = [this](double x, const Ewma* e, double floor_abs) {
    // No finished day to compare with (the appliance's first day): no evidence either way.
    if (e == nullptr || e->days == 0) return 0.0;
    return std::max(0.0, (x - e->mean) / sigma(*e, floor_abs));
  };
  if (own_c != nullptr && own_c->days > 0) {
    d.own_mean_count = own_c->mean;
    d.own_mean_bytes = own_b->mean;
  }
  d.z_own = std::max(z_of(d.today_count, own_c, cfg_.sigma_floor_count),
                     z_of(d.today_bytes, own_b, cfg_.sigma_floor_bytes));
  const Ewma* peer_c = nullptr;
  const Ewma* peer_b = nullptr;
  if (auto p = peers_.find(department); p != peers_.end()) {
    if (auto c = p->second.count.find(category); c != p->second.count.end() && c->second.days) {
      peer_c = &c->second;
      peer_b = &p->second.bytes.at(category);
      d.peer_mean_count = peer_c->mean;
      d.peer_mean_bytes = peer_b->mean;
    }
  }
  d.has_baseline = (own_c != nullptr && own_c->days > 0) || peer_c != nullptr;
  d.z_peer = std::max(z_of(d.today_count, peer_c, cfg_.sigma_floor_count),
                      z_of(d.today_bytes, peer_b, cfg_.sigma_floor_bytes));
  const double w = std::clamp(static_cast<double>(d.own_days) / std::max(cfg_.min_days, 1), 0.0, 1.0);
  d.own_weight = w;
  d.cold_start = w < 1.0;
  d.z = w * d.z_own + (1 - w) * d.z_peer;
  return d;
}

bool BaselineModel::new_destination(const std::string& user,
                                    const std::string& destination) const {
  if (destination.empty()) return false;
  auto u = users_.find(user);
  return u == users_.end() || !u->second.destinations.count(destination);
}

double BaselineModel::hour_share(const std::string& user, const std::string& department,
                                 std::uint64_t ts_ns) const {
  const int bin = day_hour_bin(ts_ns, cfg_.utc_offset_minutes);
  const int base = bin / 24 * 24, hour = bin % 24;
  // Within an hour either side: a habit of 09:00 makes 08:30 and 10:15 usual too.
  auto share = [&](const double* hours, double total) {
    double n = 0;
    for (int d = -1; d <= 1; ++d) n += hours[base + (hour + d + 24) % 24];
    return n / total;
  };
  constexpr double kEnough = 20;  // observations before a profile means anything
  double best = -1;
  if (auto u = users_.find(user); u != users_.end() && u->second.hours_total >= kEnough) {
    best = share(u->second.hours, u->second.hours_total);
  }
  if (auto p = peers_.find(department); p != peers_.end() && p->second.hours_total >= kEnough) {
    best = std::max(best, share(p->second.hours, p->second.hours_total));
  }
  return best < 0 ? 3.0 / 48 : best;  // nothing known: never unusual
}

int BaselineModel::own_days(const std::string& user) const {
  auto u = users_.find(user);
  return u == users_.end() ? 0 : static_cast<int>(u->second.last_closed - u->second.first_day);
}

std::vector<BaselineModel::Entry> BaselineModel::entries() const {
  std::vector<Entry> out;
  for (const auto& [name, u] : users_) {
    for (const auto& [category, s] : u.by_category) {
      out.push_back({name, u.department, category, s.count, s.bytes});
    }
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.user, a.category) < std::tie(b.user, b.category);
  });
  return out;
}

}  // namespace dlp::mgmt
