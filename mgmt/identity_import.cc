#include "mgmt/identity_import.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fstream>
#include <regex>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

namespace dlp::mgmt {
namespace {

Result<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::uint64_t utc_ns(int y, int mo, int d, int h, int mi, int s) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<std::uint64_t>(timegm(&tm)) * 1'000'000'000ull;
}

std::string at(const std::string& origin, int line) { return origin + ":" + std::to_string(line) + ": "; }

}  // namespace

std::string normalise_device(const std::string& device) {
  std::string d = trim(device);
  for (char& c : d) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // MACs: 00-16-3E-01-02-03 and 00:16:3e:01:02:03 are the same device.
  if (d.size() == 17 && (d[2] == '-' || d[2] == ':')) {
    for (std::size_t i = 2; i < 17; i += 3) d[i] = ':';
  }
  return d;
}

bool parse_iso8601(const std::string& t, std::uint64_t& ns) {
  static const std::regex re(
      R"(^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.(\d{1,9}))?(Z|([+-])(\d{2}):?(\d{2}))?$)");
  std::smatch m;
  if (!std::regex_match(t, m, re)) return false;
  const int mo = std::stoi(m[2]), d = std::stoi(m[3]), h = std::stoi(m[4]), mi = std::stoi(m[5]),
            s = std::stoi(m[6]);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return false;
  ns = utc_ns(std::stoi(m[1]), mo, d, h, mi, s);
  if (m[8].matched) {
    std::string frac = m[8].str();
    frac.resize(9, '0');
    ns += std::stoull(frac);
  }
  if (m[10].matched) {
    const std::int64_t off = (std::stoi(m[11]) * 60 + std::stoi(m[12])) * 60'000'000'000ll;
    ns = m[10] == "+" ? ns - static_cast<std::uint64_t>(off) : ns + static_cast<std::uint64_t>(off);
  }
  return true;
}

Result<void> Directory::load(const std::string& path) {
  auto text = slurp(path);
  if (!text) return text.error();
  return parse(*text, path);
}

Result<void> Directory::parse(const std::string& text, const std::string& origin) {
  std::istringstream in(text);
  std::string line;
  int n = 0;
  bool header = false;
  std::map<std::string, Identity> devices;
  std::map<std::string, std::string> departments;
  while (std::getline(in, line)) {
    ++n;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::stringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) f.push_back(trim(cell));
    if (!header) {
      if (f.size() < 3 || f[0] != "user" || f[1] != "department" || f[2] != "devices") {
        return make_error(at(origin, n) + "header must be 'user,department,devices'");
      }
      header = true;
      continue;
    }
    if (f.size() < 2 || f[0].empty()) return make_error(at(origin, n) + "expected user,department,devices");
    departments[f[0]] = f[1];
    if (f.size() >= 3) {
      std::stringstream ds(f[2]);
      std::string dev;
      while (std::getline(ds, dev, ';')) {
        const std::string key = normalise_device(dev);
        if (key.empty()) continue;
        auto [it, fresh] = devices.emplace(key, Identity{f[0], f[1]});
        if (!fresh && it->second.user != f[0]) {
          return make_error(at(origin, n) + "device '" + key + "' already belongs to " + it->second.user);
        }
      }
    }
  }
  if (!header) return make_error(origin + ": empty directory (no header row)");
  devices_ = std::move(devices);
  departments_ = std::move(departments);
  return {};
}

const Identity* Directory::owner(const std::string& device) const {
  auto it = devices_.find(normalise_device(device));
  return it == devices_.end() ? nullptr : &it->second;
}

std::string Directory::department(const std::string& user) const {
  auto it = departments_.find(user);
  return it == departments_.end() ? "" : it->second;
}

Result<ImportStats> import_dhcp_leases(IdentityTable& ids, const Directory& dir,
                                const std::string& path) {
  auto text = slurp(path);
  if (!text) return text.error();
  return import_dhcp_leases_text(ids, dir, *text, path);
}

Result<ImportStats> import_dhcp_leases_text(IdentityTable& ids, const Directory& dir,
                                const std::string& text_in, const std::string& path) {
  const std::string* text = &text_in;
  struct Lease {
    dataplane::IpAddr ip;
    std::uint64_t start = 0, end = IdentityTable::kForever;
    std::string mac, host;
  };
  std::vector<Lease> leases;
  std::istringstream in(*text);
  std::string line;
  int n = 0;
  bool open = false;
  Lease cur;
  static const std::regex time_re(R"(^(starts|ends)\s+(\d)\s+(\d{4})/(\d{2})/(\d{2})\s+(\d{2}):(\d{2}):(\d{2});$)");
  while (std::getline(in, line)) {
    ++n;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (!open) {
      if (line.rfind("lease ", 0) == 0 && line.back() == '{') {
        cur = Lease{};
        if (!parse_ip(trim(line.substr(6, line.size() - 7)), cur.ip)) {
          return make_error(at(path, n) + "not an IP address in lease line");
        }
        open = true;
      } else if (line.rfind("server-duid", 0) != 0 && line.rfind("authoring-byte-order", 0) != 0) {
        return make_error(at(path, n) + "expected 'lease ADDRESS {'");
      }
      continue;
    }
    if (line == "}") {
      leases.push_back(cur);
      open = false;
      continue;
    }
    std::smatch m;
    if (std::regex_match(line, m, time_re)) {
      const std::uint64_t t = utc_ns(std::stoi(m[3]), std::stoi(m[4]), std::stoi(m[5]),
                                     std::stoi(m[6]), std::stoi(m[7]), std::stoi(m[8]));
      (m[1] == "starts" ? cur.start : cur.end) = t;
    } else if (line == "ends never;") {
      cur.end = IdentityTable::kForever;
    } else if (line.rfind("hardware ethernet ", 0) == 0) {
      cur.mac = trim(line.substr(18, line.size() - 19));
    } else if (line.rfind("client-hostname ", 0) == 0) {
      std::string h = trim(line.substr(16, line.size() - 17));
      if (h.size() >= 2 && h.front() == '"' && h.back() == '"') h = h.substr(1, h.size() - 2);
      cur.host = h;
    } else if (line.rfind("starts ", 0) == 0 || line.rfind("ends ", 0) == 0) {
      return make_error(at(path, n) + "bad lease time (expected 'starts W YYYY/MM/DD HH:MM:SS;')");
    }
  }
  if (open) return make_error(path + ": lease block not closed at end of file");
  ImportStats st;
  for (const Lease& l : leases) {
    const Identity* who = dir.owner(l.mac);
    if (who == nullptr && !l.host.empty()) who = dir.owner(l.host);
    if (who == nullptr) {
      ++st.unowned;
      continue;
    }
    ids.bind(l.ip, *who, l.start, l.end, IdentitySource::dhcp);
    ++st.bindings;
  }
  return st;
}

Result<ImportStats> import_dhcp_syslog(IdentityTable& ids, const Directory& dir,
                                const std::string& path, int year) {
  auto text = slurp(path);
  if (!text) return text.error();
  return import_dhcp_syslog_text(ids, dir, *text, path, year);
}

Result<ImportStats> import_dhcp_syslog_text(IdentityTable& ids, const Directory& dir,
                                const std::string& text_in, const std::string& path, int year) {
  const std::string* text = &text_in;
  static const std::regex stamp(R"(^([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})\s)");
  static const std::regex dhcpd(R"(DHCPACK on (\S+) to (\S+)(?: \(([^)]*)\))?)");
  static const std::regex dnsmasq(R"(DHCPACK\([^)]*\) (\S+) (\S+)(?: (\S+))?)");
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  ImportStats st;
  std::istringstream in(*text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find("DHCPACK") == std::string::npos) continue;  // other DHCP chatter
    std::smatch ts, m;
    if (!std::regex_search(line, ts, stamp)) return make_error(at(path, n) + "no syslog time stamp");
    const auto mon = std::find(std::begin(kMonths), std::end(kMonths), ts[1].str()) - std::begin(kMonths);
    if (mon == 12) return make_error(at(path, n) + "bad month '" + ts[1].str() + "'");
    const std::uint64_t t = utc_ns(year, static_cast<int>(mon) + 1, std::stoi(ts[2]), std::stoi(ts[3]),
                                   std::stoi(ts[4]), std::stoi(ts[5]));
    if (!std::regex_search(line, m, dhcpd) && !std::regex_search(line, m, dnsmasq)) {
      return make_error(at(path, n) + "DHCPACK line in neither dhcpd nor dnsmasq form");
    }
    dataplane::IpAddr ip;
    if (!parse_ip(m[1], ip)) return make_error(at(path, n) + "not an IP address: '" + m[1].str() + "'");
    const Identity* who = dir.owner(m[2]);
    if (who == nullptr && m[3].matched) who = dir.owner(m[3]);
    if (who == nullptr) {
      ++st.unowned;
      continue;
    }
    // Open-ended: the latest binding of the address wins until the next ACK.
    ids.bind(ip, *who, t, IdentityTable::kForever, IdentitySource::dhcp);
    ++st.bindings;
  }
  return st;
}

Result<ImportStats> import_logon_events(IdentityTable& ids, const Directory& dir,
                                const std::string& path) {
  auto text = slurp(path);
  if (!text) return text.error();
  return import_logon_events_text(ids, dir, *text, path);
}

Result<ImportStats> import_logon_events_text(IdentityTable& ids, const Directory& dir,
                                const std::string& text_in, const std::string& path) {
  const std::string* text = &text_in;
  ImportStats st;
  std::istringstream in(*text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    line = trim(line);
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return make_error(at(path, n) + "not a JSON object");
    const int id = j.value("EventID", 0);
    if (id != 4624 && id != 4634) continue;
    const std::string when = j.value("TimeCreated", "");
    std::string user = j.value("TargetUserName", "");
    const std::string addr = j.value("IpAddress", "");
    std::uint64_t t = 0;
    if (!parse_iso8601(when, t)) return make_error(at(path, n) + "bad TimeCreated '" + when + "'");
    if (const auto bs = user.find('\\'); bs != std::string::npos) user = user.substr(bs + 1);  // DOMAIN\\user
    dataplane::IpAddr ip;
    if (user.empty() || user.back() == '$' || !parse_ip(addr, ip)) continue;  // machine accounts, local logons
    if (id == 4624) {
      ids.bind(ip, Identity{user, dir.department(user)}, t, IdentityTable::kForever,
               IdentitySource::session);
      ++st.bindings;
    } else if (ids.end(ip, user, t, IdentitySource::session)) {
      ++st.ended;
    }
  }
  return st;
}

bool looks_like_lease_file(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    return line.rfind("lease ", 0) == 0 || line.rfind("authoring-byte-order", 0) == 0 ||
           line.rfind("server-duid", 0) == 0;
  }
  return false;
}

}  // namespace dlp::mgmt
