#include "mgmt/identity.h"

#include <arpa/inet.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace dlp::mgmt {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_csv_line(const std::string& line) {
  // Identity files are machine-written; quoted fields are supported for names with commas.
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(trim(cur));
  return out;
}

}  // namespace

bool parse_ip(const std::string& text, dataplane::IpAddr& out) {
  std::uint8_t buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) {
    out = dataplane::IpAddr::v4_bytes(buf);
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    out = dataplane::IpAddr::v6_bytes(buf);
    return true;
  }
  return false;
}

Result<void> IdentityTable::load_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(path + ": cannot open identity file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_csv(ss.str(), path);
}

Result<void> IdentityTable::parse_csv(const std::string& text, const std::string& origin) {
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  int col_ip = -1, col_user = -1, col_dept = -1;
  std::vector<std::pair<dataplane::IpAddr, Identity>> rows;
  while (std::getline(in, line)) {
    ++lineno;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    auto fields = split_csv_line(t);
    if (col_ip < 0) {
      for (int i = 0; i < static_cast<int>(fields.size()); ++i) {
        std::string f = fields[i];
        std::transform(f.begin(), f.end(), f.begin(), ::tolower);
        if (f == "ip") col_ip = i;
        else if (f == "user") col_user = i;
        else if (f == "department") col_dept = i;
      }
      if (col_ip < 0 || col_user < 0) {
        return make_error(origin + ":" + std::to_string(lineno) +
                          ": header must name the columns ip and user (and optionally "
                          "department), e.g. 'ip,user,department'");
      }
      continue;
    }
    const int need = std::max({col_ip, col_user, col_dept}) + 1;
    if (static_cast<int>(fields.size()) < need) {
      return make_error(origin + ":" + std::to_string(lineno) + ": expected " +
                        std::to_string(need) + " fields, found " + std::to_string(fields.size()));
    }
    dataplane::IpAddr ip;
    if (!parse_ip(fields[col_ip], ip)) {
      return make_error(origin + ":" + std::to_string(lineno) + ": not an IP address: '" +
                        fields[col_ip] + "'");
    }
    if (fields[col_user].empty()) {
      return make_error(origin + ":" + std::to_string(lineno) + ": empty user");
    }
    rows.push_back({ip, Identity{fields[col_user], col_dept >= 0 ? fields[col_dept] : ""}});
  }
  if (col_ip < 0) return make_error(origin + ": empty identity file (no header row)");
  for (auto& [ip, who] : rows) bind(ip, std::move(who));
  return {};
}

void IdentityTable::bind(const dataplane::IpAddr& ip, Identity who, std::uint64_t start_ns,
                         std::uint64_t end_ns, IdentitySource source) {
  auto& v = by_ip_[ip];
  Binding b{start_ns, end_ns, std::move(who), source, marking_live_};
  auto pos = std::upper_bound(v.begin(), v.end(), b.start_ns,
                              [](std::uint64_t s, const Binding& x) { return s < x.start_ns; });
  v.insert(pos, std::move(b));
  ++count_;
  if (marking_live_) ++live_count_;
}

const Identity* IdentityTable::lookup(const dataplane::IpAddr& ip, std::uint64_t ts_ns) const {
  auto it = by_ip_.find(ip);
  if (it == by_ip_.end()) return nullptr;
  const auto& v = it->second;
  // Walk back from the last binding starting <= ts: the first covering one of each
  // source is that source's latest; keep the strongest.
  auto pos = std::upper_bound(v.begin(), v.end(), ts_ns,
                              [](std::uint64_t t, const Binding& x) { return t < x.start_ns; });
  const Binding* best = nullptr;
  while (pos != v.begin()) {
    --pos;
    if (ts_ns < pos->end_ns && (best == nullptr || pos->source > best->source)) best = &*pos;
  }
  return best ? &best->who : nullptr;
}

bool IdentityTable::holds_open(const dataplane::IpAddr& ip, const std::string& user,
                               std::uint64_t ts_ns, IdentitySource source) const {
  auto it = by_ip_.find(ip);
  if (it == by_ip_.end()) return false;
  const auto& v = it->second;
  auto pos = std::upper_bound(v.begin(), v.end(), ts_ns,
                              [](std::uint64_t t, const Binding& x) { return t < x.start_ns; });
  while (pos != v.begin()) {
    --pos;
    // The latest-started binding of this source covering ts is the one lookup would rank.
    if (pos->source == source && ts_ns < pos->end_ns) {
      return pos->who.user == user && pos->end_ns == kForever;
    }
  }
  return false;
}

bool IdentityTable::end(const dataplane::IpAddr& ip, const std::string& user,
                        std::uint64_t end_ns, IdentitySource source) {
  auto it = by_ip_.find(ip);
  if (it == by_ip_.end()) return false;
  for (auto b = it->second.rbegin(); b != it->second.rend(); ++b) {
    if (b->source == source && b->who.user == user && b->start_ns <= end_ns &&
        b->end_ns > end_ns) {
      b->end_ns = end_ns;
      return true;
    }
  }
  return false;
}

std::size_t IdentityTable::bindings_of(const dataplane::IpAddr& ip) const {
  const auto it = by_ip_.find(ip);
  return it == by_ip_.end() ? 0 : it->second.size();
}

std::vector<IdentityTable::Entry> IdentityTable::entries() const {
  std::vector<Entry> out;
  out.reserve(count_);
  for (const auto& [ip, v] : by_ip_) {
    for (const Binding& b : v) out.push_back(Entry{ip, b.who, b.start_ns, b.end_ns, b.source, b.live});
  }
  return out;
}

const char* identity_source_name(IdentitySource s) {
  switch (s) {
    case IdentitySource::static_map: return "static";
    case IdentitySource::dhcp: return "dhcp";
    case IdentitySource::session: return "session";
  }
  return "static";
}

bool parse_identity_source(const std::string& name, IdentitySource& out) {
  if (name == "static") out = IdentitySource::static_map;
  else if (name == "dhcp") out = IdentitySource::dhcp;
  else if (name == "session") out = IdentitySource::session;
  else return false;
  return true;
}

}  // namespace dlp::mgmt
