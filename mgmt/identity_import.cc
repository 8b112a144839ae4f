#include "mgmt/identity_import.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fstream>
#include <regex>
#include <sstream>
#include <vector>
#include <string_view>

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
  // A MAC is twelve hex digits, alone or in pairs (00-16-3e-.., 00:16:3e:..) or in groups
  // of four (0016.3e01.0203, Cisco): all become 00:16:3e:01:02:03.
  const bool pairs = d.size() == 17 && (d[2] == '-' || d[2] == ':');
  const bool quads = d.size() == 14 && d[4] == '.' && d[9] == '.';
  if (pairs || quads || d.size() == 12) {
    std::string hex;
    for (std::size_t i = 0; i < d.size(); ++i) {
      const bool sep_here = pairs ? i % 3 == 2 : quads ? i % 5 == 4 : false;
      if (sep_here) {
        if (d[i] != d[pairs ? 2 : 4]) return d;  // mixed separators: not a MAC
      } else if (std::isxdigit(static_cast<unsigned char>(d[i]))) {
        hex += d[i];
      } else {
        return d;  // a host name
      }
    }
    std::string mac;
    for (std::size_t i = 0; i < 12; i += 2) {
      if (i) mac += ':';
      mac.append(hex, i, 2);
    }
    return mac;
  }
  return d;
}

bool parse_iso8601(const std::string& t, std::uint64_t& ns) {
  static const std::regex re(
      R"(^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.(\d{1,9}))?(Z|([+-])(\d{2}):?(\d{2}))?$)");
  std::smatch m;
  if (t.size() > 40 || !std::regex_match(t, m, re)) return false;  // the longest form is 35
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
                                const std::string& text, const std::string& path, int year) {
  ImportStats st;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find("DHCPACK") == std::string::npos) continue;  // other DHCP chatter
    std::uint64_t t = 0;
    std::size_t stamp_len = 0;
    std::string why;
    if (!parse_syslog_stamp(line, year, t, stamp_len, why)) return make_error(at(path, n) + why);
    DhcpAck ack;
    switch (parse_dhcp_ack(line, ack, why)) {
      case MessageParse::malformed: return make_error(at(path, n) + why);
      case MessageParse::other: continue;
      case MessageParse::ok: apply_dhcp_ack(ids, dir, ack, t, st); break;
    }
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
                                const std::string& text, const std::string& path) {
  ImportStats st;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    line = trim(line);
    if (line.empty()) continue;
    LogonEvent ev;
    std::string why;
    switch (parse_logon_event(line, ev, why)) {
      case MessageParse::malformed: return make_error(at(path, n) + why);
      case MessageParse::other: continue;
      case MessageParse::ok: apply_logon_event(ids, dir, ev, st); break;
    }
  }
  return st;
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

// The run of non-space characters at `pos` (empty if there is none); `pos` moves past it.
std::string_view token(std::string_view s, std::size_t& pos) {
  const std::size_t b = pos;
  while (pos < s.size() && !is_space(s[pos])) ++pos;
  return s.substr(b, pos - b);
}

bool skip(std::string_view s, std::size_t& pos, std::string_view lit) {
  if (s.substr(pos, lit.size()) != lit) return false;
  pos += lit.size();
  return true;
}

// dhcpd, after "DHCPACK": " on IP to MAC" and optionally " (HOST)".
bool dhcpd_form(std::string_view s, std::size_t pos, std::string_view& ip, std::string_view& mac,
                std::string_view& host) {
  if (!skip(s, pos, " on ")) return false;
  ip = token(s, pos);
  if (ip.empty() || !skip(s, pos, " to ")) return false;
  mac = token(s, pos);
  if (mac.empty()) return false;
  host = {};
  if (skip(s, pos, " (")) {
    const std::size_t close = s.find(')', pos);
    if (close != std::string_view::npos) host = s.substr(pos, close - pos);
  }
  return true;
}

// dnsmasq, after "DHCPACK": "(IF) IP MAC" and optionally " HOST".
bool dnsmasq_form(std::string_view s, std::size_t pos, std::string_view& ip, std::string_view& mac,
                  std::string_view& host) {
  if (!skip(s, pos, "(")) return false;
  const std::size_t close = s.find(')', pos);
  if (close == std::string_view::npos) return false;
  pos = close + 1;
  if (!skip(s, pos, " ")) return false;
  ip = token(s, pos);
  if (ip.empty() || !skip(s, pos, " ")) return false;
  mac = token(s, pos);
  if (mac.empty()) return false;
  host = {};
  if (skip(s, pos, " ")) host = token(s, pos);
  return true;
}

// A string member, or "" if it is absent or not a string (a hostile or odd event must not
// throw out of the parser).
std::string str_member(const nlohmann::json& j, const char* name) {
  const auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// EventID as a number or as a string of digits (forwarders write either); 0 otherwise.
long event_id(const nlohmann::json& j) {
  const auto it = j.find("EventID");
  if (it == j.end()) return 0;
  if (it->is_number_integer()) return it->get<long>();
  if (it->is_string()) {
    const std::string& v = it->get_ref<const std::string&>();
    if (v.empty() || v.size() > 9 || !std::all_of(v.begin(), v.end(), ::isdigit)) return 0;
    return std::stol(v);
  }
  return 0;
}

}  // namespace

MessageParse parse_dhcp_ack(std::string_view text, DhcpAck& out, std::string& why) {
  static constexpr std::string_view kAck = "DHCPACK";
  std::size_t at_ack = text.find(kAck);
  if (at_ack == std::string_view::npos) return MessageParse::other;
  std::string_view ip, mac, host;
  bool found = false;
  // The first DHCPACK in dhcpd form, else the first in dnsmasq form.
  for (auto form : {dhcpd_form, dnsmasq_form}) {
    for (std::size_t p = at_ack; !found && p != std::string_view::npos; p = text.find(kAck, p + 1)) {
      found = form(text, p + kAck.size(), ip, mac, host);
    }
    if (found) break;
  }
  if (!found) {
    why = "DHCPACK line in neither dhcpd nor dnsmasq form";
    return MessageParse::malformed;
  }
  if (!parse_ip(std::string(ip), out.ip)) {
    why = "not an IP address: '" + std::string(ip) + "'";
    return MessageParse::malformed;
  }
  out.mac = std::string(mac);
  out.host = std::string(host);
  return MessageParse::ok;
}

void apply_dhcp_ack(IdentityTable& ids, const Directory& dir, const DhcpAck& ack,
                    std::uint64_t t_ns, ImportStats& st) {
  const Identity* who = dir.owner(ack.mac);
  if (who == nullptr && !ack.host.empty()) who = dir.owner(ack.host);
  if (who == nullptr) {
    ++st.unowned;
    return;
  }
  if (ids.holds_open(ack.ip, who->user, t_ns, IdentitySource::dhcp)) {
    ++st.renewed;
    return;
  }
  // Open-ended: the latest binding of the address wins until the next ACK.
  ids.bind(ack.ip, *who, t_ns, IdentityTable::kForever, IdentitySource::dhcp);
  ++st.bindings;
}

MessageParse parse_logon_event(std::string_view text, LogonEvent& out, std::string& why) {
  const nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                                 /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    why = "not a JSON object";
    return MessageParse::malformed;
  }
  const long id = event_id(j);
  if (id != 4624 && id != 4634) return MessageParse::other;
  const std::string when = str_member(j, "TimeCreated");
  if (!parse_iso8601(when, out.t_ns)) {
    why = "bad TimeCreated '" + when + "'";
    return MessageParse::malformed;
  }
  std::string user = str_member(j, "TargetUserName");
  if (const auto bs = user.find('\\'); bs != std::string::npos) user = user.substr(bs + 1);  // DOMAIN\\user
  // Machine accounts and logons without a network address name nobody at an address.
  if (user.empty() || user.back() == '$' || !parse_ip(str_member(j, "IpAddress"), out.ip)) {
    return MessageParse::other;
  }
  out.logon = id == 4624;
  out.user = std::move(user);
  return MessageParse::ok;
}

void apply_logon_event(IdentityTable& ids, const Directory& dir, const LogonEvent& ev,
                       ImportStats& st) {
  if (ev.logon) {
    ids.bind(ev.ip, Identity{ev.user, dir.department(ev.user)}, ev.t_ns, IdentityTable::kForever,
             IdentitySource::session);
    ++st.bindings;
  } else if (ids.end(ev.ip, ev.user, ev.t_ns, IdentitySource::session)) {
    ++st.ended;
  }
}

bool parse_syslog_stamp(std::string_view text, int year, std::uint64_t& ns,
                        std::size_t& length, std::string& why) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto digits = [&](std::size_t& p, std::size_t min, std::size_t max, int& v) {
    const std::size_t b = p;
    v = 0;
    while (p < text.size() && p - b < max && std::isdigit(static_cast<unsigned char>(text[p]))) {
      v = v * 10 + (text[p++] - '0');
    }
    return p - b >= min;
  };
  auto spaces = [&](std::size_t& p) {
    const std::size_t b = p;
    while (p < text.size() && (text[p] == ' ' || text[p] == '\t')) ++p;
    return p > b;
  };
  why = "no syslog time stamp";
  if (text.size() < 15) return false;
  const std::string_view mon = text.substr(0, 3);
  if (!std::isupper(static_cast<unsigned char>(mon[0])) || !std::islower(static_cast<unsigned char>(mon[1])) ||
      !std::islower(static_cast<unsigned char>(mon[2]))) {
    return false;
  }
  std::size_t p = 3;
  int d = 0, h = 0, mi = 0, s = 0;
  if (!spaces(p) || !digits(p, 1, 2, d) || !spaces(p) || !digits(p, 2, 2, h) || !skip(text, p, ":") ||
      !digits(p, 2, 2, mi) || !skip(text, p, ":") || !digits(p, 2, 2, s) || !spaces(p)) {
    return false;
  }
  const auto m = std::find(std::begin(kMonths), std::end(kMonths), mon) - std::begin(kMonths);
  if (m == 12) {
    why = "bad month '" + std::string(mon) + "'";
    return false;
  }
  if (d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    why = "bad syslog time stamp '" + std::string(text.substr(0, p - 1)) + "'";
    return false;
  }
  ns = utc_ns(year, static_cast<int>(m) + 1, d, h, mi, s);
  length = p;
  return true;
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
