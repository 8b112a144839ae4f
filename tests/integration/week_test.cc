// Issue 6's evaluation, through `dlpgate scan`: a simulated office week it has never
// seen (tests/gen/week.h), with the directory and the DHCP leases. The users who turn
// into insiders and the compromised account must rank above every normal user, normal
// users must stay low, and every finding must be attributed to the person who truly sent
// it — also after addresses were swapped mid-week.
#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "tests/gen/week.h"
#include "tests/integration/scan_fixture.h"

namespace dlp {
namespace {

using namespace itest;  // NOLINT: the shared fixture
using nlohmann::json;

class WeekTest : public ScanFixture {};

TEST_F(WeekTest, InsidersAndTheCompromisedAccountTopTheRankingWithRightAttribution) {
  const testgen::WeekFiles files{path("week.pcap"), path("directory.csv"), path("dhcpd.leases")};
  const testgen::WeekTruth truth = testgen::write_week(files, /*seed=*/11);
  mgmt::ScanOptions o;
  o.directory_csv = files.directory_csv;
  o.dhcp_logs = {files.dhcp_leases};
  o.top_users = 100;
  ScanRun r = scan({files.pcap}, o);
  ASSERT_EQ(r.rc, 0) << r.errors;

  // Attribution: each sensitive upload's finding names its true sender.
  std::map<std::pair<std::string, int>, const testgen::WeekSent*> by_flow;
  for (const auto& s : truth.sent) by_flow[{s.src_ip, s.src_port}] = &s;
  std::size_t matched = 0;
  for (const json& f : r.findings) {
    auto it = by_flow.find({f["src_ip"].get<std::string>(), f["src_port"].get<int>()});
    ASSERT_NE(it, by_flow.end()) << "a finding in a flow that carried nothing: " << f.dump();
    EXPECT_EQ(f["user"], it->second->user) << f.dump();
    EXPECT_EQ(f["category"], it->second->category) << f.dump();
    EXPECT_EQ(f["count"], it->second->count) << f.dump();
    ++matched;
  }
  EXPECT_EQ(matched, truth.sent.size());

  // The ranking printed in the summary: "  user  score  level  reason".
  std::vector<std::pair<std::string, int>> ranking;
  std::map<std::string, std::string> level, reason;
  const auto start = r.summary.find("user (by risk)");
  ASSERT_NE(start, std::string::npos) << r.summary;
  std::istringstream in(r.summary.substr(start));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line) && !line.empty()) {
    std::istringstream ls(line);
    std::string user, lvl;
    int score = 0;
    ls >> user >> score >> lvl;
    std::string rest;
    std::getline(ls, rest);
    ranking.emplace_back(user, score);
    level[user] = lvl;
    reason[user] = rest;
  }
  std::set<std::string> bad(truth.insiders.begin(), truth.insiders.end());
  bad.insert(truth.compromised);
  ASSERT_GE(ranking.size(), bad.size());
  for (std::size_t i = 0; i < bad.size(); ++i) {
    EXPECT_TRUE(bad.count(ranking[i].first)) << "rank " << i << ": " << ranking[i].first << "\n" << r.summary;
    EXPECT_EQ(level[ranking[i].first], "critical") << ranking[i].first;
    // The top reason names what changed: a deviation from normal.
    EXPECT_NE(reason[ranking[i].first].find("sigma"), std::string::npos) << reason[ranking[i].first];
  }
  for (const std::string& u : truth.normal) {
    if (level.count(u)) EXPECT_EQ(level[u], "low") << u << ": " << reason[u];
  }
  // Moved users: the finance insider leaked from fin07's old address after the swap,
  // and none of that is fin07's.
  for (const json& f : r.findings) {
    if (f["user"] == "fin07") EXPECT_EQ(f["count"].get<int>() < 10, true) << f.dump();
  }
}

}  // namespace
}  // namespace dlp
