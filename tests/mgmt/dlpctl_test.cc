// dlpctl on the store after `dlpgate scan`, the way an analyst uses it: the scan writes
// the store, `users top` and `incidents list` read it back as JSON; a policy applied with
// dlpctl is in the audit log, and the log's verification fails after a row is edited or
// deleted with sqlite directly. Identity import, list and lookup; reload without a daemon.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <sstream>

#include "mgmt/dlpctl.h"
#include "tests/gen/week.h"
#include "tests/integration/scan_fixture.h"

namespace dlp {
namespace {

using nlohmann::json;

struct Ctl {
  int rc;
  std::string out, err;
  json j() const { return json::parse(out); }
};

Ctl ctl(const std::string& noun, std::vector<std::string> args) {
  std::ostringstream out, err;
  // Never reach a daemon that might run on this machine: a socket path nobody serves.
  args.push_back("--socket");
  args.push_back("/nonexistent-dlpgate-test/dlpgate.sock");
  Ctl c;
  c.rc = mgmt::run_dlpctl(noun, args, out, err);
  c.out = out.str();
  c.err = err.str();
  return c;
}

void sql(const std::string& db_path, const std::string& statement) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  char* e = nullptr;
  const int rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &e);
  const std::string msg = e ? e : "";
  sqlite3_free(e);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << msg;
}

class DlpctlTest : public itest::ScanFixture {
 protected:
  std::string write_text(const std::string& name, const std::string& text) {
    std::ofstream(path(name)) << text;
    return path(name);
  }
};

TEST_F(DlpctlTest, ScanThenUsersTopAndIncidentsReadTheStore) {
  const testgen::WeekFiles files{path("week.pcap"), path("directory.csv"), path("dhcpd.leases")};
  const testgen::WeekTruth truth = testgen::write_week(files, /*seed=*/11);
  const std::string store = path("dlpgate.db");
  mgmt::ScanOptions o;
  o.directory_csv = files.directory_csv;
  o.dhcp_logs = {files.dhcp_leases};
  o.store = store;
  itest::ScanRun r = scan({files.pcap}, o);
  ASSERT_EQ(r.rc, 0) << r.errors;
  EXPECT_NE(r.summary.find("store      " + store), std::string::npos) << r.summary;

  Ctl top = ctl("users", {"top", "--store", store, "--json", "--limit", "5"});
  ASSERT_EQ(top.rc, 0) << top.err;
  const json users = top.j()["users"];
  std::set<std::string> bad(truth.insiders.begin(), truth.insiders.end());
  bad.insert(truth.compromised);
  ASSERT_GE(users.size(), bad.size());
  for (std::size_t i = 0; i < bad.size(); ++i) {
    EXPECT_TRUE(bad.count(users[i]["user"].get<std::string>())) << users.dump(2);
    EXPECT_EQ(users[i]["risk_level"], "critical");
    EXPECT_FALSE(users[i]["reasons"].empty());
  }

  Ctl list = ctl("incidents", {"list", "--store", store, "--json"});
  ASSERT_EQ(list.rc, 0) << list.err;
  const json incidents = list.j()["incidents"];
  ASSERT_FALSE(incidents.empty());
  std::set<std::string> incident_users;
  for (const json& i : incidents) incident_users.insert(i["user"].get<std::string>());
  for (const std::string& u : bad) EXPECT_TRUE(incident_users.count(u)) << u;

  // One incident in full, acknowledged by the caller, and the ack audited.
  const std::string id = std::to_string(incidents[0]["id"].get<std::int64_t>());
  Ctl show = ctl("incidents", {"show", id, "--store", store, "--json"});
  ASSERT_EQ(show.rc, 0) << show.err;
  ASSERT_FALSE(show.j()["findings"].empty());
  for (const json& f : show.j()["findings"]) {
    for (const json& m : f["masked"]) EXPECT_NE(m.get<std::string>().find('*'), std::string::npos);
  }
  Ctl ack = ctl("incidents", {"ack", id, "--note", "reviewed", "--store", store});
  ASSERT_EQ(ack.rc, 0) << ack.err;
  EXPECT_NE(ack.out.find("acknowledged by"), std::string::npos) << ack.out;
  EXPECT_EQ(ctl("incidents", {"ack", id, "--store", store}).rc, 2);  // twice: refused
  EXPECT_EQ(ctl("incidents", {"show", "999999", "--store", store}).rc, 1);

  // A user's timeline: findings in time order with the risk after each.
  Ctl user = ctl("user", {"show", users[0]["user"].get<std::string>(), "--store", store, "--json"});
  ASSERT_EQ(user.rc, 0) << user.err;
  const json timeline = user.j()["timeline"];
  ASSERT_FALSE(timeline.empty());
  for (std::size_t i = 1; i < timeline.size(); ++i) {
    EXPECT_LE(timeline[i - 1]["ts_ns"].get<std::uint64_t>(), timeline[i]["ts_ns"].get<std::uint64_t>());
  }
  EXPECT_FALSE(user.j()["baselines"].empty());

  Ctl status = ctl("status", {"--store", store, "--json"});
  ASSERT_EQ(status.rc, 0) << status.err;
  EXPECT_EQ(status.j()["daemon"], false);
  EXPECT_EQ(status.j()["store"]["findings"].get<std::size_t>(), r.findings.size());
  // Who held an address: the store keeps the scan's DHCP bindings.
  Ctl ids = ctl("identity", {"list", "--store", store, "--json"});
  ASSERT_EQ(ids.rc, 0) << ids.err;
  EXPECT_FALSE(ids.j()["bindings"].empty());

  // Nothing in the store is a cleartext value: only masked forms.
  std::ifstream db(store, std::ios::binary);
  std::stringstream raw;
  raw << db.rdbuf();
  for (const json& f : r.findings) {
    for (const json& m : f["masked"]) {
      const std::string masked = m.get<std::string>();
      EXPECT_NE(masked.find('*'), std::string::npos) << masked;
    }
  }
  EXPECT_EQ(raw.str().find("\"value\""), std::string::npos);
}

TEST_F(DlpctlTest, PolicyApplyIsAuditedAndTamperingIsDetected) {
  const std::string store = path("audit.db");
  const std::string good = write_text("policy.yaml",
                                      "policy:\n  default: alert\n  rules:\n"
                                      "    - name: cards out\n      category: [credit_card]\n"
                                      "      action: block\n");
  const std::string broken = write_text("broken.yaml", "policy:\n  rules:\n    - action: explode\n");

  Ctl check = ctl("policy", {"check", good});
  EXPECT_EQ(check.rc, 0) << check.err;
  Ctl bad = ctl("policy", {"check", broken});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("broken.yaml"), std::string::npos) << bad.err;  // file:line: why
  EXPECT_EQ(ctl("policy", {"apply", broken, "--store", store}).rc, 2);  // nothing stored

  Ctl apply = ctl("policy", {"apply", good, "--store", store, "--json"});
  ASSERT_EQ(apply.rc, 0) << apply.err << apply.out;
  const std::int64_t version = apply.j()["policy"]["version"];
  Ctl show = ctl("policy", {"show", "--store", store, "--json"});
  ASSERT_EQ(show.rc, 0);
  EXPECT_NE(show.j()["policy"]["source"].get<std::string>().find("cards out"), std::string::npos);

  Ctl log = ctl("audit", {"log", "--store", store, "--json"});
  ASSERT_EQ(log.rc, 0) << log.err;
  const json last = log.j()["entries"].back();
  EXPECT_EQ(last["action"], "policy.apply");
  EXPECT_EQ(last["target"], "policy v" + std::to_string(version));
  EXPECT_EQ(last["uid"].get<std::uint32_t>(), ::getuid());
  EXPECT_EQ(last["detail"]["origin"], good);

  Ctl ok = ctl("audit", {"verify", "--store", store, "--json"});
  ASSERT_EQ(ok.rc, 0) << ok.out << ok.err;
  EXPECT_EQ(ok.j()["verdict"]["ok"], true);
  const std::int64_t seq = last["seq"];

  // Somebody rewrites who applied it, straight in the database.
  sql(store, "UPDATE audit SET user_name = 'someone-else' WHERE seq = " + std::to_string(seq));
  Ctl edited = ctl("audit", {"verify", "--store", store, "--json"});
  EXPECT_EQ(edited.rc, 1);
  EXPECT_EQ(edited.j()["verdict"]["ok"], false);
  EXPECT_EQ(edited.j()["verdict"]["first_bad_row"], seq);
  Ctl text = ctl("audit", {"verify", "--store", store});
  EXPECT_EQ(text.rc, 1);
  EXPECT_NE(text.out.find("first bad row " + std::to_string(seq)), std::string::npos) << text.out;

  // A fresh store where a row is deleted instead.
  const std::string store2 = path("audit2.db");
  ASSERT_EQ(ctl("policy", {"apply", good, "--store", store2}).rc, 0);
  ASSERT_EQ(ctl("policy", {"apply", good, "--store", store2}).rc, 0);
  sql(store2, "DELETE FROM audit WHERE action = 'policy.apply' AND target = 'policy v1'");
  Ctl deleted = ctl("audit", {"verify", "--store", store2, "--json"});
  EXPECT_EQ(deleted.rc, 1);
  EXPECT_EQ(deleted.j()["verdict"]["ok"], false);
  EXPECT_NE(deleted.j()["verdict"]["reason"].get<std::string>().find("deleted"), std::string::npos);
}

TEST_F(DlpctlTest, ScanUsesTheStoredPolicy) {
  const std::string store = path("policy.db");
  const std::string policy = write_text("block.yaml",
                                        "policy:\n  default: block\n");
  ASSERT_EQ(ctl("policy", {"apply", policy, "--store", store}).rc, 0);
  std::mt19937_64 rng(3);
  const std::string card = testgen::make_card(rng, testgen::CardBrand::kVisa);
  const auto pkts = itest::upload(itest::client("10.1.1.1", 40001),
                                  testgen::http_post("files.example.com", "/up", "card " + card));
  mgmt::ScanOptions o;
  o.store = store;
  itest::ScanRun r = scan({write("one.pcap", pkts)}, o);
  ASSERT_EQ(r.rc, 0) << r.errors;
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings[0]["action"], "block");
  EXPECT_NE(r.summary.find("policy v1 from the store"), std::string::npos) << r.summary;
  itest::expect_never_in_clear(r, card);
  std::ifstream db(store, std::ios::binary);
  std::stringstream raw;
  raw << db.rdbuf();
  EXPECT_EQ(raw.str().find(itest::digits_of(card)), std::string::npos) << "cleartext in the store";
}

TEST_F(DlpctlTest, IdentityImportListAndLookup) {
  const std::string store = path("ids.db");
  const std::string dir = write_text("directory.csv",
                                     "user,department,devices\nalice,finance,alice-laptop;00:16:3e:00:00:01\n"
                                     "bob,sales,bob-pc\n");
  const std::string leases = write_text("dhcpd.leases",
                                        "lease 10.0.0.7 {\n  starts 1 2024/03/04 08:00:00;\n"
                                        "  ends 1 2024/03/04 12:00:00;\n  hardware ethernet 00:16:3e:00:00:01;\n}\n"
                                        "lease 10.0.0.7 {\n  starts 1 2024/03/04 12:00:00;\n"
                                        "  ends 1 2024/03/04 18:00:00;\n  client-hostname \"bob-pc\";\n}\n");
  const std::string logons = write_text("logons.jsonl",
                                        R"({"EventID":4624,"TimeCreated":"2024-03-04T13:00:00Z","TargetUserName":"CORP\\carol","IpAddress":"10.0.0.9"})"
                                        "\n");
  Ctl imp = ctl("identity", {"import", "--directory", dir, "--dhcp-log", leases, "--logon-events",
                             logons, "--store", store, "--json"});
  ASSERT_EQ(imp.rc, 0) << imp.err << imp.out;
  EXPECT_EQ(imp.j()["bindings"], 3);

  Ctl at9 = ctl("identity", {"lookup", "10.0.0.7", "2024-03-04T09:00:00Z", "--store", store, "--json"});
  ASSERT_EQ(at9.rc, 0) << at9.err;
  EXPECT_EQ(at9.j()["identity"]["user"], "alice");
  Ctl at13 = ctl("identity", {"lookup", "10.0.0.7", "2024-03-04T13:00:00Z", "--store", store, "--json"});
  EXPECT_EQ(at13.j()["identity"]["user"], "bob");
  Ctl later = ctl("identity", {"lookup", "10.0.0.7", "2024-03-05T13:00:00Z", "--store", store, "--json"});
  EXPECT_TRUE(later.j()["identity"].is_null());
  Ctl carol = ctl("identity", {"lookup", "10.0.0.9", "2024-03-04T14:00:00Z", "--store", store});
  EXPECT_NE(carol.out.find("carol"), std::string::npos) << carol.out;

  Ctl list = ctl("identity", {"list", "--ip", "10.0.0.7", "--store", store, "--json"});
  ASSERT_EQ(list.rc, 0);
  EXPECT_EQ(list.j()["bindings"].size(), 2u);
  Ctl log = ctl("audit", {"log", "--store", store, "--json"});
  EXPECT_EQ(log.j()["entries"].back()["action"], "identity.import");

  // Bad input: a clear error, nothing stored.
  const std::string broken = write_text("broken.jsonl", "{not json\n");
  Ctl bad = ctl("identity", {"import", "--logon-events", broken, "--store", store});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("broken.jsonl:1"), std::string::npos) << bad.err;
  EXPECT_EQ(ctl("identity", {"lookup", "not-an-ip", "now", "--store", store}).rc, 2);
  EXPECT_EQ(ctl("identity", {"import", "--store", store}).rc, 2);
}

TEST_F(DlpctlTest, WithoutADaemonStatusReadsTheStoreAndReloadSaysSo) {
  const std::string store = path("empty.db");
  Ctl status = ctl("status", {"--store", store});
  ASSERT_EQ(status.rc, 0) << status.err;
  EXPECT_NE(status.out.find("daemon     not running"), std::string::npos) << status.out;
  Ctl reload = ctl("reload", {});
  EXPECT_EQ(reload.rc, 1);
  EXPECT_NE(reload.err.find("no dlpgate daemon is listening"), std::string::npos) << reload.err;
  Ctl usage = ctl("users", {"bottom", "--store", store});
  EXPECT_EQ(usage.rc, 2);
  EXPECT_NE(usage.err.find("unknown verb 'bottom'"), std::string::npos);
  EXPECT_EQ(ctl("users", {"top", "--bogus"}).rc, 2);
  EXPECT_EQ(ctl("incidents", {"show", "abc", "--store", store}).rc, 2);
}

}  // namespace
}  // namespace dlp
