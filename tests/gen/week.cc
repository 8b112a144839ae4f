#include "tests/gen/week.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <random>
#include <stdexcept>

#include "tests/gen/payloads.h"
#include "tests/gen/pcap_writer.h"
#include "tests/gen/smtp_gen.h"
#include "tests/gen/tcp_conversation.h"

namespace dlp::testgen {
namespace {

constexpr std::uint64_t kMinute = 60'000'000'000ull;
constexpr std::uint64_t kHour = 60 * kMinute;
constexpr std::uint64_t kDay = 24 * kHour;

struct Dept {
  const char* name;
  const char* prefix;
  std::vector<std::string> sites;
};

const std::vector<Dept>& departments() {
  static const std::vector<Dept> kDepts = {
      {"finance", "fin", {"erp.corp-saas.example", "portal.partner-bank.example", "docs.office-cloud.example"}},
      {"engineering", "eng", {"git.code-host.example", "ci.build-cloud.example", "docs.office-cloud.example"}},
      {"sales", "sal", {"crm.sales-cloud.example", "mail.office-cloud.example", "docs.office-cloud.example"}},
      {"hr", "hr", {"hris.people-cloud.example", "docs.office-cloud.example"}},
  };
  return kDepts;
}


// A stable public address per host name.
std::string address_of(const std::string& host) {
  std::uint32_t h = 2166136261u;
  for (char c : host) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return (h & 1 ? "198.51.100." : "203.0.113.") + std::to_string(1 + (h >> 1) % 250);
}

// ISC dhcpd time: "<weekday> YYYY/MM/DD HH:MM:SS" (weekday 0 = Sunday), UTC.
std::string isc_time(std::uint64_t ts_ns) {
  const std::time_t t = static_cast<std::time_t>(ts_ns / 1'000'000'000ull);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%w %Y/%m/%d %H:%M:%S", &tm);
  return buf;
}

class Builder {
 public:
  explicit Builder(std::uint64_t seed) : rng_(seed) {}

  std::mt19937_64& rng() { return rng_; }
  std::uint64_t uniform(std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng_);
  }

  // One HTTP upload as a whole TCP conversation; returns the client port.
  std::uint16_t upload(std::uint64_t ts, const std::string& src_ip, const std::string& host,
                       const std::string& url, const std::string& body,
                       const std::string& content_type, const std::string& basic_user = "") {
    TcpConfig cfg;
    cfg.ip = {.src = src_ip, .dst = address_of(host)};
    cfg.client_port = static_cast<std::uint16_t>(20000 + (flows_ % 40000));
    cfg.server_port = 80;
    cfg.client_isn = static_cast<std::uint32_t>(uniform(1, 0xffffffffu));
    cfg.server_isn = static_cast<std::uint32_t>(uniform(1, 0xffffffffu));
    cfg.start_ns = ts;
    cfg.step_ns = 300'000;
    ++flows_;
    std::string req;
    if (basic_user.empty()) {
      req = http_post(host, url, body, content_type);
    } else {
      req = "POST " + url + " HTTP/1.1\r\nHost: " + host +
            "\r\nUser-Agent: curl/7.88.1\r\nAuthorization: Basic " +
            base64(basic_user + ":Winter2024!") + "\r\nContent-Type: " + content_type +
            "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    }
    TcpConversation c(cfg);
    c.handshake();
    c.send(Side::kClient, req, 1460);
    c.send(Side::kServer, http_response(200, "ok", "text/plain"));
    c.fin();
    for (Packet& p : c.take_packets()) packets_.push_back(std::move(p));
    return cfg.client_port;
  }

  std::vector<Packet>& packets() { return packets_; }
  std::uint64_t flows() const { return flows_; }

 private:
  std::mt19937_64 rng_;
  std::vector<Packet> packets_;
  std::uint64_t flows_ = 0;
};

std::string cards_csv(Builder& b, int n) {
  std::string out = "name,card,expiry\n";
  for (int i = 0; i < n; ++i) {
    const CardBrand brand = kAllCardBrands[b.uniform(0, 4)];
    out += "customer" + std::to_string(i) + "," + format_card(make_card(b.rng(), brand)) +
           ",0" + std::to_string(b.uniform(1, 9)) + "/2" + std::to_string(b.uniform(6, 9)) + "\n";
  }
  return out;
}

std::string ssn_csv(Builder& b, int n) {
  std::string out = "name,ssn,plan\n";
  for (int i = 0; i < n; ++i) {
    out += "person" + std::to_string(i) + "," + make_ssn(b.rng()) + ",gold\n";
  }
  return out;
}

}  // namespace

WeekTruth write_week(const WeekFiles& out, std::uint64_t seed, int user_count) {
  if (user_count < 24) throw std::invalid_argument("write_week: at least 24 users");
  Builder b(seed);
  WeekTruth truth;
  truth.start_ns = kWeekStartNs;
  truth.end_ns = kWeekStartNs + 7 * kDay;

  // Users: a quarter finance, 30% engineering, a quarter sales, the rest hr.
  const int n_fin = user_count / 4, n_eng = user_count * 3 / 10, n_sal = user_count / 4;
  const int per_dept[4] = {n_fin, n_eng, n_sal, user_count - n_fin - n_eng - n_sal};
  for (int d = 0; d < 4; ++d) {
    for (int i = 0; i < per_dept[d]; ++i) {
      WeekUser u;
      char name[16], mac[24];
      std::snprintf(name, sizeof name, "%s%02d", departments()[d].prefix, i + 1);
      std::snprintf(mac, sizeof mac, "00:16:3e:%02x:%02x:01", d + 1, i + 1);
      u.name = name;
      u.department = departments()[d].name;
      u.hostname = u.name + "-laptop";
      u.mac = mac;
      u.ip_before = u.ip_after = "10.20." + std::to_string(d + 1) + "." + std::to_string(10 + i);
      u.role = "normal";
      truth.users.push_back(u);
    }
  }
  auto find = [&truth](const std::string& name) -> WeekUser& {
    for (auto& u : truth.users) {
      if (u.name == name) return u;
    }
    throw std::logic_error("no user " + name);
  };
  // Roles: fin03 and eng05 turn, hr02 is compromised; fin03<->fin07, eng02<->eng09 swap.
  find("fin03").role = "insider";
  find("eng05").role = "insider";
  find("hr02").role = "compromised";
  truth.insiders = {"fin03", "eng05"};
  truth.compromised = "hr02";
  truth.compromised_ip = "10.99.0.77";
  for (auto [a, c] : {std::pair{"fin03", "fin07"}, std::pair{"eng02", "eng09"}}) {
    WeekUser& x = find(a);
    WeekUser& y = find(c);
    std::swap(x.ip_after, y.ip_after);
    truth.moved.push_back(a);
    truth.moved.push_back(c);
  }
  for (const auto& u : truth.users) {
    if (u.role == "normal") truth.normal.push_back(u.name);
  }

  const std::uint64_t move_at = kWeekStartNs + 2 * kDay + 12 * kHour;  // Wednesday 12:00
  auto ip_at = [move_at](const WeekUser& u, std::uint64_t ts) {
    return ts < move_at ? u.ip_before : u.ip_after;
  };
  auto sent = [&truth](std::uint64_t ts, const std::string& user, const std::string& ip,
                       std::uint16_t port, const std::string& host, const char* category,
                       int count) {
    truth.sent.push_back({ts, user, ip, port, host, category, static_cast<std::uint32_t>(count)});
  };

  for (int day = 0; day < 7; ++day) {
    const std::uint64_t day0 = kWeekStartNs + static_cast<std::uint64_t>(day) * kDay;
    const bool workday = day < 5;
    for (const WeekUser& u : truth.users) {
      const Dept& dept = *std::find_if(departments().begin(), departments().end(),
                                       [&](const Dept& d) { return u.department == d.name; });
      if (workday) {
        const int benign = static_cast<int>(b.uniform(4, 8));
        for (int k = 0; k < benign; ++k) {
          const std::uint64_t ts = day0 + 8 * kHour + b.uniform(0, 10 * kHour - 1);
          const std::string& site = dept.sites[b.uniform(0, dept.sites.size() - 1)];
          if (u.department == "sales") {
            // Form posts with customer contacts: e-mail findings are sales' daily bread.
            const std::uint16_t port = b.upload(ts, ip_at(u, ts), site, "/contacts",
                                                benign_form(b.rng(), 8),
                                                "application/x-www-form-urlencoded");
            (void)port;
          } else {
            b.upload(ts, ip_at(u, ts), site, "/api/events", benign_json(b.rng(), 1500),
                     "application/json");
          }
        }
        if (u.department == "finance") {
          const int n = static_cast<int>(b.uniform(1, 2));
          for (int k = 0; k < n; ++k) {
            const std::uint64_t ts = day0 + 9 * kHour + b.uniform(0, 8 * kHour - 1);
            const int cards = static_cast<int>(b.uniform(1, 2));
            const std::string host = "pay.partner-bank.example";
            const auto port = b.upload(ts, ip_at(u, ts), host, "/settle", cards_csv(b, cards), "text/csv");
            sent(ts, u.name, ip_at(u, ts), port, host, "credit_card", cards);
          }
        }
        if (u.department == "hr") {
          const std::uint64_t ts = day0 + 9 * kHour + b.uniform(0, 8 * kHour - 1);
          const int ssns = static_cast<int>(b.uniform(1, 3));
          const std::string host = "enroll.benefits.example";
          const auto port = b.upload(ts, ip_at(u, ts), host, "/enroll", ssn_csv(b, ssns), "text/csv");
          sent(ts, u.name, ip_at(u, ts), port, host, "us_ssn", ssns);
        }
      }
      // Insiders turn on Thursday and Friday, in and after office hours.
      if (u.role == "insider" && (day == 3 || day == 4)) {
        for (int k = 0; k < 6; ++k) {
          const std::uint64_t ts = day0 + (k < 3 ? 11 : 19) * kHour + b.uniform(0, 2 * kHour);
          if (u.department == "finance") {
            const int cards = static_cast<int>(b.uniform(80, 120));
            const std::string host = "userstorage.mega.nz";
            const auto port = b.upload(ts, ip_at(u, ts), host, "/upload", cards_csv(b, cards), "text/csv");
            sent(ts, u.name, ip_at(u, ts), port, host, "credit_card", cards);
          } else {
            const int ssns = static_cast<int>(b.uniform(50, 100));
            const std::string host = "transfer.sh";
            const auto port = b.upload(ts, ip_at(u, ts), host, "/customers.csv", ssn_csv(b, ssns), "text/csv");
            sent(ts, u.name, ip_at(u, ts), port, host, "us_ssn", ssns);
          }
        }
      }
      // The compromised account, Saturday night, from an address nobody owns.
      if (u.role == "compromised" && day == 5) {
        for (int k = 0; k < 6; ++k) {
          const std::uint64_t ts = day0 + 2 * kHour + static_cast<std::uint64_t>(k) * 20 * kMinute;
          const int ssns = 100;
          const std::string host = "paste.drop-zone.example";
          const auto port = b.upload(ts, truth.compromised_ip, host, "/p", ssn_csv(b, ssns),
                                     "text/plain", u.name);
          sent(ts, u.name, truth.compromised_ip, port, host, "us_ssn", ssns);
        }
      }
    }
  }

  auto& pkts = b.packets();
  std::stable_sort(pkts.begin(), pkts.end(),
                   [](const Packet& x, const Packet& y) { return x.ts_ns < y.ts_ns; });
  auto w = CaptureWriter::open(out.pcap, Format::kPcap);
  w->write_all(pkts);
  w->close();
  truth.packets = pkts.size();
  truth.flows = b.flows();
  std::sort(truth.sent.begin(), truth.sent.end(),
            [](const WeekSent& x, const WeekSent& y) { return x.ts_ns < y.ts_ns; });

  std::ofstream dir(out.directory_csv, std::ios::binary | std::ios::trunc);
  dir << "user,department,devices\n";
  for (const auto& u : truth.users) dir << u.name << "," << u.department << "," << u.hostname << ";" << u.mac << "\n";
  if (!dir) throw std::runtime_error("write_week: cannot write " + out.directory_csv);

  std::ofstream leases(out.dhcp_leases, std::ios::binary | std::ios::trunc);
  leases << "# dhcpd.leases written by dlpgate's week generator\n";
  const std::uint64_t lease_start = kWeekStartNs - kHour;
  const std::uint64_t lease_end = kWeekStartNs + 7 * kDay;
  auto lease = [&leases](const WeekUser& u, const std::string& ip, std::uint64_t from,
                         std::uint64_t to) {
    leases << "lease " << ip << " {\n  starts " << isc_time(from) << ";\n  ends "
           << isc_time(to) << ";\n  binding state active;\n  hardware ethernet " << u.mac
           << ";\n  client-hostname \"" << u.hostname << "\";\n}\n";
  };
  for (const auto& u : truth.users) {
    if (u.ip_before == u.ip_after) {
      lease(u, u.ip_before, lease_start, lease_end);
    } else {
      lease(u, u.ip_before, lease_start, move_at);
      lease(u, u.ip_after, move_at, lease_end);
    }
  }
  if (!leases) throw std::runtime_error("write_week: cannot write " + out.dhcp_leases);
  return truth;
}

}  // namespace dlp::testgen
