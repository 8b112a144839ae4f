// A simulated week of egress traffic from an office, with its directory and DHCP leases,
// for the management plane's evaluation (issue 6): dozens of users with steady habits,
// two who turn into insiders late in the week, one account compromised and used at night
// from an address nobody owns, and users whose addresses are swapped mid-week.
//
//   WeekFiles files{"/tmp/w/week.pcap", "/tmp/w/directory.csv", "/tmp/w/dhcpd.leases"};
//   WeekTruth truth = write_week(files, /*seed=*/7);
//   // dlpgate scan week.pcap --directory directory.csv --dhcp-log dhcpd.leases ...
//   // truth.insiders, truth.compromised rank above every user in truth.normal
//
// Habits (workdays 08:00-18:00 UTC, 2024-03-04 Monday to 2024-03-10 Sunday):
//   every user: 4-8 benign uploads a day to two or three usual sites of their department;
//   finance: one or two uploads a day with 1-2 card numbers to the payment partner;
//   hr: one upload a day with 1-3 SSNs to the benefits provider;
//   sales: customer e-mail addresses in form posts (email findings, every day).
// Insiders: normal until Wednesday, then from Thursday hundreds of card numbers (finance)
// or SSNs and AWS keys (engineering) to storage sites they never used, also in the evening.
// Compromised: an hr account posts SSNs on Saturday 02:00-04:00 from 10.99.0.77 with HTTP
// Basic authentication naming the account (the only identity there is for that address).
// Moves: on Wednesday 12:00 pairs of users swap addresses (new DHCP leases); one finance
// insider is among them, so his later leaks come from an address a normal user held
// before.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dlp::testgen {

struct WeekFiles {
  std::string pcap;
  std::string directory_csv;  // user,department,devices (hostname;MAC)
  std::string dhcp_leases;    // ISC dhcpd.leases format
};

struct WeekUser {
  std::string name, department, hostname, mac;
  std::string ip_before, ip_after;  // equal unless the user moved on Wednesday
  std::string role;                 // normal | insider | compromised
};

// One upload that carries sensitive data, with who truly sent it.
struct WeekSent {
  std::uint64_t ts_ns = 0;
  std::string user;
  std::string src_ip;
  std::uint16_t src_port = 0;
  std::string host;
  std::string category;  // credit_card | us_ssn | aws_access_key | email
  std::uint32_t count = 0;
};

struct WeekTruth {
  std::vector<WeekUser> users;
  std::vector<std::string> insiders;
  std::string compromised;
  std::string compromised_ip;
  std::vector<std::string> moved;
  std::vector<std::string> normal;  // every user who is neither insider nor compromised
  std::vector<WeekSent> sent;
  std::uint64_t start_ns = 0, end_ns = 0;
  std::uint64_t packets = 0, flows = 0;
};

constexpr std::uint64_t kWeekStartNs = 1'709'510'400'000'000'000ull;  // 2024-03-04T00:00Z

// Writes the three files; the same seed gives byte-identical files. `users` >= 24.
WeekTruth write_week(const WeekFiles& out, std::uint64_t seed, int users = 40);

}  // namespace dlp::testgen
