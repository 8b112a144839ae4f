// The store on both backends, one typed suite: ingest and queries, acknowledgement,
// policy versions, bindings, migrations, and the audit chain: every change audited with
// its caller, and an edited, deleted or reordered audit row found by verification.
#include <gtest/gtest.h>

#include "mgmt/audit.h"
#include "mgmt/store.h"
#include "tests/mgmt/store_backends.h"

namespace dlp::mgmt {
namespace {

using nlohmann::json;

Ingest sample_batch(const std::string& run_id) {
  Ingest b;
  b.run_id = run_id;
  IncidentRecord inc;
  inc.id = 1;
  inc.user = "alice";
  inc.department = "finance";
  inc.first_ns = 1'700'000'000'000'000'000ull;
  inc.last_ns = inc.first_ns + 60'000'000'000ull;
  inc.max_severity = "high";
  inc.action = "block";
  inc.risk_score = 91;
  inc.risk_level = "critical";
  inc.finding_count = 2;
  inc.matches_by_category = json{{"credit_card", 480}};
  inc.destinations = {"mega.nz"};
  inc.reasons = {"credit_card: 480 matches today, own normal 1.1"};
  b.incidents.push_back(inc);
  for (int i = 0; i < 2; ++i) {
    FindingRecord f;
    f.finding_id = 100 + i;
    f.ts_ns = inc.first_ns + i * 1'000'000'000ull;
    f.user = "alice";
    f.department = "finance";
    f.detector = "pci.credit_card";
    f.category = "credit_card";
    f.severity = "high";
    f.confidence = "high";
    f.count = 240;
    f.masked = {"411111******1111"};
    f.src_ip = "10.0.0.5";
    f.dst_ip = "198.51.100.20";
    f.src_port = 40000 + i;
    f.dst_port = 443;
    f.app = "http";
    f.destination = "mega.nz";
    f.action = "block";
    f.rule = "cards out";
    f.risk_score = 80 + i;
    f.risk_level = "critical";
    f.incident_id = 1;
    f.doc = json{{"masked", f.masked}, {"user", "alice"}};
    b.findings.push_back(f);
  }
  b.users.push_back(UserRecord{"alice", "finance", 91, "critical", {"credit_card: 480 matches"}, inc.last_ns, inc.last_ns, 0});
  b.users.push_back(UserRecord{"bob", "sales", 3, "low", {}, inc.last_ns, inc.last_ns, 0});
  b.baselines.push_back(BaselineRecord{"alice", "finance", "credit_card", 1.1, 0.4, 4096, 100, 5});
  b.bindings.push_back(BindingRecord{"10.0.0.5", "alice", "finance", 0, IdentityTable::kForever, "static", "identity.csv"});
  return b;
}

template <class B>
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!backend_.skip_reason().empty()) GTEST_SKIP() << backend_.skip_reason();
    auto s = open_store(backend_.spec());
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  B backend_;
  std::unique_ptr<Store> store_;
  Caller admin_{4242, "analyst"};
};

using Backends = ::testing::Types<storetest::SqliteBackend, storetest::PostgresBackend>;
struct BackendName {
  template <class T>
  static std::string GetName(int) { return T::kName; }
};
TYPED_TEST_SUITE(StoreTest, Backends, BackendName);

TYPED_TEST(StoreTest, IngestIsQueryableAndIdempotent) {
  Store& s = *this->store_;
  EXPECT_EQ(s.backend(), TypeParam::kName);
  auto r = s.ingest(sample_batch("run1"), this->admin_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->findings, 2u);
  EXPECT_EQ(r->incidents, 1u);
  auto again = s.ingest(sample_batch("run1"), this->admin_);  // same run: nothing doubles
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->findings, 0u);

  auto top = s.top_users(10);
  ASSERT_TRUE(top) << top.error().message;
  ASSERT_EQ(top->size(), 2u);
  EXPECT_EQ((*top)[0].user, "alice");
  EXPECT_EQ((*top)[0].risk_score, 91);
  EXPECT_EQ((*top)[0].findings, 2);
  EXPECT_EQ((*top)[0].reasons.at(0), "credit_card: 480 matches");

  auto incs = s.incidents({});
  ASSERT_TRUE(incs) << incs.error().message;
  ASSERT_EQ(incs->size(), 1u);
  const IncidentRecord& inc = (*incs)[0];
  EXPECT_EQ(inc.user, "alice");
  EXPECT_EQ(inc.matches_by_category["credit_card"], 480);
  auto fs = s.findings(FindingQuery{"", inc.id, 10});
  ASSERT_TRUE(fs) << fs.error().message;
  ASSERT_EQ(fs->size(), 2u);
  EXPECT_EQ((*fs)[0].masked, std::vector<std::string>{"411111******1111"});
  EXPECT_EQ((*fs)[0].incident_id, inc.id);
  EXPECT_GT((*fs)[0].ts_ns, (*fs)[1].ts_ns);  // newest first

  auto base = s.baselines("alice");
  ASSERT_TRUE(base) << base.error().message;
  ASSERT_EQ(base->size(), 1u);
  EXPECT_DOUBLE_EQ((*base)[0].count_mean, 1.1);

  auto b = s.bindings("10.0.0.5");
  ASSERT_TRUE(b) << b.error().message;
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ((*b)[0].end_ns, IdentityTable::kForever);

  auto sum = s.summary();
  ASSERT_TRUE(sum) << sum.error().message;
  EXPECT_EQ(sum->schema_version, kSchemaVersion);
  EXPECT_EQ(sum->findings, 2);
  EXPECT_EQ(sum->open_incidents, 1);
  EXPECT_EQ(sum->last_run_id, "run1");
}

TYPED_TEST(StoreTest, ChangesAreAuditedWithTheCallerAndTheChainVerifies) {
  Store& s = *this->store_;
  ASSERT_TRUE(s.ingest(sample_batch("run1"), this->admin_));
  auto incs = s.incidents({});
  ASSERT_TRUE(incs && !incs->empty());
  const std::int64_t id = (*incs)[0].id;
  auto acked = s.ack_incident(id, "known test", this->admin_);
  ASSERT_TRUE(acked) << acked.error().message;
  EXPECT_TRUE(*acked);
  EXPECT_FALSE(s.ack_incident(id, "twice", this->admin_));  // already acknowledged
  auto missing = s.ack_incident(id + 1000, "", this->admin_);
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  auto inc = s.incident(id);
  ASSERT_TRUE(inc && *inc);
  EXPECT_EQ((*inc)->status, "acknowledged");
  EXPECT_EQ((*inc)->acked_uid, 4242u);

  auto v1 = s.apply_policy("policy:\n  default: alert\n", "p1.yaml", this->admin_);
  ASSERT_TRUE(v1) << v1.error().message;
  auto v2 = s.apply_policy("policy:\n  default: block\n", "p2.yaml", this->admin_);
  ASSERT_TRUE(v2) << v2.error().message;
  EXPECT_EQ(v2->version, v1->version + 1);
  auto cur = s.current_policy();
  ASSERT_TRUE(cur && *cur);
  EXPECT_EQ((*cur)->source, "policy:\n  default: block\n");
  EXPECT_EQ((*cur)->applied_by, "analyst");

  auto log = s.audit_log(100);
  ASSERT_TRUE(log) << log.error().message;
  std::vector<std::string> actions;
  for (const AuditEntry& e : *log) actions.push_back(e.action);
  // Two migrations, the ingest, the ack, two policy versions.
  EXPECT_EQ(actions, (std::vector<std::string>{"store.migrate", "store.migrate", "scan.ingest",
                                               "incident.ack", "policy.apply", "policy.apply"}));
  const AuditEntry& last = log->back();
  EXPECT_EQ(last.uid, 4242u);
  EXPECT_EQ(last.user, "analyst");
  EXPECT_EQ(last.target, "policy v" + std::to_string(v2->version));
  EXPECT_EQ(last.detail["previous_sha256"], v1->sha256);
  EXPECT_EQ(last.prev_hash, (*log)[log->size() - 2].hash);

  auto ok = s.verify_audit();
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_TRUE(ok->ok) << ok->reason;
  EXPECT_EQ(ok->rows, 6);
  EXPECT_EQ(ok->head_hash, last.hash);
}

TYPED_TEST(StoreTest, AnEditedAuditRowFailsVerification) {
  Store& s = *this->store_;
  ASSERT_TRUE(s.apply_policy("policy:\n  default: alert\n", "p.yaml", this->admin_));
  ASSERT_TRUE(s.audit("daemon.reload", "config", json{{"ok", true}}, this->admin_));
  this->backend_.raw("UPDATE audit SET user_name = 'mallory' WHERE action = 'policy.apply'");
  auto v = s.verify_audit();
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad, 3);  // after the two migrations
  EXPECT_NE(v->reason.find("edited"), std::string::npos) << v->reason;
}

TYPED_TEST(StoreTest, AnEditedDetailFailsVerification) {
  Store& s = *this->store_;
  ASSERT_TRUE(s.apply_policy("policy:\n  default: alert\n", "p.yaml", this->admin_));
  this->backend_.raw("UPDATE audit SET detail = '{\"version\": 99}' WHERE seq = 3");
  auto v = s.verify_audit();
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad, 3);
}

TYPED_TEST(StoreTest, DeletedAuditRowsFailVerification) {
  Store& s = *this->store_;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(s.audit("test.change", "thing " + std::to_string(i), json{{"i", i}}, this->admin_));
  }
  this->backend_.raw("DELETE FROM audit WHERE seq = 4");  // a middle row
  auto v = s.verify_audit();
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad, 5);
  EXPECT_NE(v->reason.find("deleted"), std::string::npos) << v->reason;
}

TYPED_TEST(StoreTest, ATruncatedTailFailsVerification) {
  Store& s = *this->store_;
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(s.audit("test.change", "t", json{{"i", i}}, this->admin_));
  this->backend_.raw("DELETE FROM audit WHERE seq = 4");  // the newest row
  auto v = s.verify_audit();
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->ok);
  EXPECT_NE(v->reason.find("head"), std::string::npos) << v->reason;
}

TYPED_TEST(StoreTest, ReorderedAuditRowsFailVerification) {
  Store& s = *this->store_;
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(s.audit("test.change", "t", json{{"i", i}}, this->admin_));
  this->backend_.raw(
      "UPDATE audit SET seq = -1 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 4; "
      "UPDATE audit SET seq = 4 WHERE seq = -1;");
  auto v = s.verify_audit();
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad, 3);
}

TYPED_TEST(StoreTest, ReopeningKeepsTheSchemaAndTheChain) {
  ASSERT_TRUE(this->store_->apply_policy("policy:\n  default: alert\n", "p.yaml", this->admin_));
  this->store_.reset();
  auto again = open_store(this->backend_.spec());
  ASSERT_TRUE(again) << again.error().message;
  auto log = (*again)->audit_log(100);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->size(), 3u);  // no second migration
  auto v = (*again)->verify_audit();
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->ok) << v->reason;
}

TEST(StoreOpen, ABadLocationIsAClearError) {
  auto s = open_store("/nonexistent-dir/x/store.db");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("/nonexistent-dir/x/store.db"), std::string::npos);
  auto pg = open_store("host=/nonexistent-socket-dir dbname=x connect_timeout=2");
  ASSERT_FALSE(pg);
  EXPECT_NE(pg.error().message.find("PostgreSQL"), std::string::npos) << pg.error().message;
}

TEST(StoreOpen, ANewerSchemaIsRefused) {
  storetest::SqliteBackend b;
  ASSERT_TRUE(open_store(b.spec()));
  b.raw("INSERT INTO schema_migrations (version, name, applied_ns) VALUES (99, 'future', 0)");
  auto s = open_store(b.spec());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("newer"), std::string::npos) << s.error().message;
}

TEST(AuditChain, HashCoversEveryField) {
  AuditEntry e;
  e.seq = 1;
  e.ts_ns = 5;
  e.uid = 7;
  e.user = "u";
  e.action = "a";
  e.target = "t";
  e.detail = json{{"b", 1}, {"a", 2}};
  const std::string h = audit_hash(kAuditGenesis, e);
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(audit_canonical(e), R"([1,5,7,"u","a","t",{"a":2,"b":1}])");
  for (int field = 0; field < 6; ++field) {
    AuditEntry x = e;
    if (field == 0) x.seq = 2;
    if (field == 1) x.ts_ns = 6;
    if (field == 2) x.uid = 8;
    if (field == 3) x.user = "v";
    if (field == 4) x.target = "T";
    if (field == 5) x.detail["a"] = 3;
    EXPECT_NE(audit_hash(kAuditGenesis, x), h) << field;
  }
  EXPECT_NE(audit_hash(std::string(64, '1'), e), h);
}

}  // namespace
}  // namespace dlp::mgmt
