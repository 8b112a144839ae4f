// The Store over a SqlConn: the schema and its migrations, and every operation, written
// once for SQLite and PostgreSQL. Each write is one transaction that also appends its
// audit row, so a change and its audit entry are stored together or not at all.
#include "mgmt/store.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "mgmt/audit.h"
#include "mgmt/finding_json.h"
#include "mgmt/sql_conn.h"

namespace dlp::mgmt {
namespace {

using nlohmann::json;

std::uint64_t wall_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// Column decoding: a value a person edited into something else decodes as 0 / "", and
// the audit hash (for audit rows) then reports the edit.
std::string str(const std::optional<std::string>& v) { return v ? *v : std::string(); }
std::int64_t i64(const std::optional<std::string>& v) {
  if (!v || v->empty()) return 0;
  try {
    std::size_t used = 0;
    const long long n = std::stoll(*v, &used);
    return used == v->size() ? n : 0;
  } catch (...) {
    return 0;
  }
}
double dbl(const std::optional<std::string>& v) {
  if (!v || v->empty()) return 0;
  try {
    return std::stod(*v);
  } catch (...) {
    return 0;
  }
}
json js(const std::optional<std::string>& v, json fallback) {
  if (!v) return fallback;
  json j = json::parse(*v, nullptr, false);
  return j.is_discarded() ? fallback : j;
}
std::vector<std::string> strings(const std::optional<std::string>& v) {
  std::vector<std::string> out;
  const json j = js(v, json::array());
  if (j.is_array()) {
    for (const auto& e : j)
      if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}
SqlValue ns_value(std::uint64_t ns) {
  if (ns == IdentityTable::kForever) return std::monostate{};
  return static_cast<std::int64_t>(ns);
}
std::uint64_t ns_of(const std::optional<std::string>& v) {
  return v ? static_cast<std::uint64_t>(i64(v)) : IdentityTable::kForever;
}
std::string iso_or_empty(std::uint64_t ns) {
  return ns == 0 || ns == IdentityTable::kForever ? std::string() : iso8601_utc(ns);
}

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// Never edit a migration that has shipped: add the next one.
const Migration kMigrations[] = {
    {1, "core tables", R"SQL(
CREATE TABLE findings (
  id {ID}, run_id TEXT NOT NULL, finding_id BIGINT NOT NULL, ts_ns BIGINT NOT NULL,
  user_name TEXT NOT NULL, department TEXT NOT NULL DEFAULT '',
  detector TEXT NOT NULL, category TEXT NOT NULL, severity TEXT NOT NULL, confidence TEXT NOT NULL,
  count BIGINT NOT NULL, masked TEXT NOT NULL,
  src_ip TEXT, src_port INTEGER, dst_ip TEXT, dst_port INTEGER, app TEXT, destination TEXT,
  action TEXT NOT NULL, rule TEXT, risk_score INTEGER NOT NULL, risk_level TEXT NOT NULL,
  incident_id BIGINT, doc TEXT NOT NULL,
  UNIQUE (run_id, finding_id));
CREATE TABLE incidents (
  id {ID}, run_id TEXT NOT NULL, run_incident BIGINT NOT NULL,
  user_name TEXT NOT NULL, department TEXT NOT NULL DEFAULT '',
  first_ns BIGINT NOT NULL, last_ns BIGINT NOT NULL, max_severity TEXT NOT NULL,
  action TEXT NOT NULL, risk_score INTEGER NOT NULL, risk_level TEXT NOT NULL,
  finding_count BIGINT NOT NULL, categories TEXT NOT NULL, destinations TEXT NOT NULL,
  reasons TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'open',
  acked_uid BIGINT, acked_by TEXT, acked_ns BIGINT, ack_note TEXT,
  UNIQUE (run_id, run_incident));
CREATE TABLE users (
  user_name TEXT PRIMARY KEY, department TEXT NOT NULL DEFAULT '',
  risk_score INTEGER NOT NULL, risk_level TEXT NOT NULL, reasons TEXT NOT NULL,
  scored_ns BIGINT NOT NULL, last_seen_ns BIGINT NOT NULL);
CREATE TABLE bindings (
  id {ID}, ip TEXT NOT NULL, user_name TEXT NOT NULL, department TEXT NOT NULL DEFAULT '',
  start_ns BIGINT NOT NULL, end_ns BIGINT, source TEXT NOT NULL, origin TEXT NOT NULL DEFAULT '',
  UNIQUE (ip, user_name, start_ns, source));
CREATE TABLE baselines (
  user_name TEXT NOT NULL, department TEXT NOT NULL DEFAULT '', category TEXT NOT NULL,
  count_mean DOUBLE PRECISION NOT NULL, count_var DOUBLE PRECISION NOT NULL,
  bytes_mean DOUBLE PRECISION NOT NULL, bytes_var DOUBLE PRECISION NOT NULL,
  days INTEGER NOT NULL, PRIMARY KEY (user_name, category));
CREATE TABLE policy_versions (
  version {ID}, applied_ns BIGINT NOT NULL, uid BIGINT NOT NULL, applied_by TEXT NOT NULL,
  origin TEXT NOT NULL, sha256 TEXT NOT NULL, source TEXT NOT NULL);
CREATE TABLE audit (
  seq BIGINT PRIMARY KEY, ts_ns BIGINT NOT NULL, uid BIGINT NOT NULL, user_name TEXT NOT NULL,
  action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
)SQL"},
    {2, "indexes for dlpctl", R"SQL(
CREATE INDEX findings_by_user ON findings (user_name, ts_ns);
CREATE INDEX findings_by_incident ON findings (incident_id);
CREATE INDEX incidents_by_status ON incidents (status, last_ns);
CREATE INDEX bindings_by_ip ON bindings (ip, start_ns);
)SQL"},
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion);

std::string dialect_sql(std::string sql, const std::string& dialect) {
  const std::string id =
      dialect == "sqlite" ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY";
  for (auto p = sql.find("{ID}"); p != std::string::npos; p = sql.find("{ID}", p)) {
    sql.replace(p, 4, id);
  }
  return sql;
}

constexpr const char* kFindingCols =
    "id, run_id, finding_id, ts_ns, user_name, department, detector, category, severity, "
    "confidence, count, masked, src_ip, src_port, dst_ip, dst_port, app, destination, action, "
    "rule, risk_score, risk_level, incident_id, doc";
constexpr const char* kIncidentCols =
    "id, run_id, user_name, department, first_ns, last_ns, max_severity, action, risk_score, "
    "risk_level, finding_count, categories, destinations, reasons, status, acked_uid, acked_by, "
    "acked_ns, ack_note";
constexpr const char* kAuditCols =
    "seq, ts_ns, uid, user_name, action, target, detail, prev_hash, hash";

FindingRecord finding_of(const SqlRow& r) {
  FindingRecord f;
  f.id = i64(r[0]);
  f.run_id = str(r[1]);
  f.finding_id = static_cast<std::uint64_t>(i64(r[2]));
  f.ts_ns = static_cast<std::uint64_t>(i64(r[3]));
  f.user = str(r[4]);
  f.department = str(r[5]);
  f.detector = str(r[6]);
  f.category = str(r[7]);
  f.severity = str(r[8]);
  f.confidence = str(r[9]);
  f.count = static_cast<std::uint32_t>(i64(r[10]));
  f.masked = strings(r[11]);
  f.src_ip = str(r[12]);
  f.src_port = static_cast<int>(i64(r[13]));
  f.dst_ip = str(r[14]);
  f.dst_port = static_cast<int>(i64(r[15]));
  f.app = str(r[16]);
  f.destination = str(r[17]);
  f.action = str(r[18]);
  f.rule = str(r[19]);
  f.risk_score = static_cast<int>(i64(r[20]));
  f.risk_level = str(r[21]);
  f.incident_id = i64(r[22]);
  f.doc = js(r[23], json::object());
  return f;
}

IncidentRecord incident_of(const SqlRow& r) {
  IncidentRecord i;
  i.id = i64(r[0]);
  i.run_id = str(r[1]);
  i.user = str(r[2]);
  i.department = str(r[3]);
  i.first_ns = static_cast<std::uint64_t>(i64(r[4]));
  i.last_ns = static_cast<std::uint64_t>(i64(r[5]));
  i.max_severity = str(r[6]);
  i.action = str(r[7]);
  i.risk_score = static_cast<int>(i64(r[8]));
  i.risk_level = str(r[9]);
  i.finding_count = i64(r[10]);
  i.matches_by_category = js(r[11], json::object());
  i.destinations = strings(r[12]);
  i.reasons = strings(r[13]);
  i.status = str(r[14]);
  i.acked_uid = static_cast<std::uint32_t>(i64(r[15]));
  i.acked_by = str(r[16]);
  i.acked_ns = static_cast<std::uint64_t>(i64(r[17]));
  i.ack_note = str(r[18]);
  return i;
}

AuditEntry audit_of(const SqlRow& r) {
  AuditEntry e;
  e.seq = i64(r[0]);
  e.ts_ns = static_cast<std::uint64_t>(i64(r[1]));
  e.uid = static_cast<std::uint32_t>(i64(r[2]));
  e.user = str(r[3]);
  e.action = str(r[4]);
  e.target = str(r[5]);
  // Detail that is no longer JSON is kept as its text, so the hash check reports the row.
  json d = r[6] ? json::parse(*r[6], nullptr, false) : json();
  e.detail = d.is_discarded() ? json(str(r[6])) : d;
  e.prev_hash = str(r[7]);
  e.hash = str(r[8]);
  return e;
}

PolicyVersion policy_of(const SqlRow& r) {
  PolicyVersion p;
  p.version = i64(r[0]);
  p.applied_ns = static_cast<std::uint64_t>(i64(r[1]));
  p.uid = static_cast<std::uint32_t>(i64(r[2]));
  p.applied_by = str(r[3]);
  p.origin = str(r[4]);
  p.sha256 = str(r[5]);
  p.source = str(r[6]);
  return p;
}

class SqlStore : public Store {
 public:
  explicit SqlStore(std::unique_ptr<SqlConn> c) : c_(std::move(c)) {}

  std::string backend() const override { return c_->dialect(); }
  std::string location() const override { return c_->location(); }

  void migrate() {
    SqlTxn tx(*c_, true);
    c_->script(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
        "name TEXT NOT NULL, applied_ns BIGINT NOT NULL)");
    const auto rows = c_->query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    const int have = static_cast<int>(i64(rows.at(0).at(0)));
    if (have > kSchemaVersion) {
      throw SqlError(location() + ": schema version " + std::to_string(have) +
                     " is newer than this dlpgate understands (" +
                     std::to_string(kSchemaVersion) + "); upgrade dlpgate");
    }
    for (const Migration& m : kMigrations) {
      if (m.version <= have) continue;
      c_->script(dialect_sql(m.sql, c_->dialect()));
      c_->query("INSERT INTO schema_migrations (version, name, applied_ns) VALUES ($1, $2, $3)",
                {std::int64_t{m.version}, std::string(m.name), static_cast<std::int64_t>(wall_ns())});
      append_audit("store.migrate", "schema v" + std::to_string(m.version),
                   json{{"version", m.version}, {"name", m.name}, {"backend", c_->dialect()}},
                   Caller::current());
    }
    tx.commit();
  }

  Result<IngestResult> ingest(const Ingest& b, const Caller& who) override {
    return guard<IngestResult>([&] {
      SqlTxn tx(*c_, true);
      IngestResult res;
      std::map<std::int64_t, std::int64_t> incident_ids;  // run's id -> store id
      for (const IncidentRecord& i : b.incidents) {
        const auto rows = c_->query(
            "INSERT INTO incidents (run_id, run_incident, user_name, department, first_ns, "
            "last_ns, max_severity, action, risk_score, risk_level, finding_count, categories, "
            "destinations, reasons) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) "
            "ON CONFLICT (run_id, run_incident) DO UPDATE SET last_ns = excluded.last_ns, "
            "max_severity = excluded.max_severity, action = excluded.action, risk_score = "
            "excluded.risk_score, risk_level = excluded.risk_level, finding_count = "
            "excluded.finding_count, categories = excluded.categories, destinations = "
            "excluded.destinations, reasons = excluded.reasons RETURNING id",
            {b.run_id, i.id, i.user, i.department, static_cast<std::int64_t>(i.first_ns),
             static_cast<std::int64_t>(i.last_ns), i.max_severity, i.action,
             std::int64_t{i.risk_score}, i.risk_level, i.finding_count,
             i.matches_by_category.dump(), json(i.destinations).dump(), json(i.reasons).dump()});
        incident_ids[i.id] = i64(rows.at(0).at(0));
        ++res.incidents;
      }
      for (const FindingRecord& f : b.findings) {
        SqlValue incident = std::monostate{};
        if (auto it = incident_ids.find(f.incident_id); f.incident_id && it != incident_ids.end()) {
          incident = it->second;
        }
        const auto rows = c_->query(
            "INSERT INTO findings (run_id, finding_id, ts_ns, user_name, department, detector, "
            "category, severity, confidence, count, masked, src_ip, src_port, dst_ip, dst_port, "
            "app, destination, action, rule, risk_score, risk_level, incident_id, doc) VALUES "
            "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23) "
            "ON CONFLICT (run_id, finding_id) DO NOTHING RETURNING id",
            {b.run_id, static_cast<std::int64_t>(f.finding_id), static_cast<std::int64_t>(f.ts_ns),
             f.user, f.department, f.detector, f.category, f.severity, f.confidence,
             std::int64_t{f.count}, json(f.masked).dump(), f.src_ip, std::int64_t{f.src_port},
             f.dst_ip, std::int64_t{f.dst_port}, f.app, f.destination, f.action, f.rule,
             std::int64_t{f.risk_score}, f.risk_level, incident, f.doc.dump()});
        res.findings += rows.size();
      }
      for (const UserRecord& u : b.users) {
        c_->query(
            "INSERT INTO users (user_name, department, risk_score, risk_level, reasons, "
            "scored_ns, last_seen_ns) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (user_name) DO "
            "UPDATE SET department = excluded.department, risk_score = excluded.risk_score, "
            "risk_level = excluded.risk_level, reasons = excluded.reasons, scored_ns = "
            "excluded.scored_ns, last_seen_ns = excluded.last_seen_ns",
            {u.user, u.department, std::int64_t{u.risk_score}, u.risk_level,
             json(u.reasons).dump(), static_cast<std::int64_t>(u.scored_ns),
             static_cast<std::int64_t>(u.last_seen_ns)});
        ++res.users;
      }
      for (const BaselineRecord& e : b.baselines) {
        c_->query(
            "INSERT INTO baselines (user_name, department, category, count_mean, count_var, "
            "bytes_mean, bytes_var, days) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT "
            "(user_name, category) DO UPDATE SET department = excluded.department, count_mean = "
            "excluded.count_mean, count_var = excluded.count_var, bytes_mean = "
            "excluded.bytes_mean, bytes_var = excluded.bytes_var, days = excluded.days",
            {e.user, e.department, e.category, e.count_mean, e.count_var, e.bytes_mean,
             e.bytes_var, std::int64_t{e.days}});
      }
      res.bindings = put_bindings(b.bindings);
      json detail = b.summary;
      detail["run_id"] = b.run_id;
      detail["findings"] = res.findings;
      detail["incidents"] = res.incidents;
      detail["users"] = res.users;
      detail["baselines"] = b.baselines.size();
      detail["bindings"] = res.bindings;
      append_audit("scan.ingest", "run " + b.run_id, detail, who);
      tx.commit();
      return res;
    });
  }

  Result<std::vector<UserRecord>> top_users(std::size_t n) override {
    return guard<std::vector<UserRecord>>([&] {
      return users_where("", {}, n);
    });
  }

  Result<std::optional<UserRecord>> user(const std::string& name) override {
    return guard<std::optional<UserRecord>>([&]() -> std::optional<UserRecord> {
      auto v = users_where("WHERE u.user_name = $2", {name}, 1);
      if (v.empty()) return std::nullopt;
      return v[0];
    });
  }

  Result<std::vector<FindingRecord>> findings(const FindingQuery& q) override {
    return guard<std::vector<FindingRecord>>([&] {
      std::string sql = std::string("SELECT ") + kFindingCols + " FROM findings WHERE 1=1";
      std::vector<SqlValue> p{static_cast<std::int64_t>(q.limit)};
      if (!q.user.empty()) {
        p.push_back(q.user);
        sql += " AND user_name = $" + std::to_string(p.size());
      }
      if (q.incident_id) {
        p.push_back(q.incident_id);
        sql += " AND incident_id = $" + std::to_string(p.size());
      }
      sql += " ORDER BY ts_ns DESC, id DESC LIMIT $1";
      std::vector<FindingRecord> out;
      for (const auto& r : c_->query(sql, p)) out.push_back(finding_of(r));
      return out;
    });
  }

  Result<std::vector<BaselineRecord>> baselines(const std::string& user) override {
    return guard<std::vector<BaselineRecord>>([&] {
      std::vector<BaselineRecord> out;
      for (const auto& r : c_->query(
               "SELECT user_name, department, category, count_mean, count_var, bytes_mean, "
               "bytes_var, days FROM baselines WHERE user_name = $1 ORDER BY category",
               {user})) {
        out.push_back(BaselineRecord{str(r[0]), str(r[1]), str(r[2]), dbl(r[3]), dbl(r[4]),
                                     dbl(r[5]), dbl(r[6]), static_cast<int>(i64(r[7]))});
      }
      return out;
    });
  }

  Result<std::vector<IncidentRecord>> incidents(const IncidentQuery& q) override {
    return guard<std::vector<IncidentRecord>>([&] {
      std::string sql = std::string("SELECT ") + kIncidentCols + " FROM incidents WHERE 1=1";
      std::vector<SqlValue> p{static_cast<std::int64_t>(q.limit)};
      if (!q.status.empty()) {
        p.push_back(q.status);
        sql += " AND status = $" + std::to_string(p.size());
      }
      if (!q.user.empty()) {
        p.push_back(q.user);
        sql += " AND user_name = $" + std::to_string(p.size());
      }
      sql += " ORDER BY risk_score DESC, last_ns DESC, id DESC LIMIT $1";
      std::vector<IncidentRecord> out;
      for (const auto& r : c_->query(sql, p)) out.push_back(incident_of(r));
      return out;
    });
  }

  Result<std::optional<IncidentRecord>> incident(std::int64_t id) override {
    return guard<std::optional<IncidentRecord>>([&]() -> std::optional<IncidentRecord> {
      const auto rows =
          c_->query(std::string("SELECT ") + kIncidentCols + " FROM incidents WHERE id = $1", {id});
      if (rows.empty()) return std::nullopt;
      return incident_of(rows[0]);
    });
  }

  Result<bool> ack_incident(std::int64_t id, const std::string& note, const Caller& who) override {
    return guard<bool>([&] {
      SqlTxn tx(*c_, true);
      const auto rows =
          c_->query("SELECT status, acked_by, user_name FROM incidents WHERE id = $1", {id});
      if (rows.empty()) return false;
      if (str(rows[0][0]) == "acknowledged") {
        throw SqlError("incident " + std::to_string(id) + " is already acknowledged by " +
                       str(rows[0][1]));
      }
      const std::uint64_t now = wall_ns();
      c_->query(
          "UPDATE incidents SET status = 'acknowledged', acked_uid = $2, acked_by = $3, "
          "acked_ns = $4, ack_note = $5 WHERE id = $1",
          {id, std::int64_t{who.uid}, who.name, static_cast<std::int64_t>(now), note});
      append_audit("incident.ack", "incident " + std::to_string(id),
                   json{{"incident", id}, {"user", str(rows[0][2])}, {"note", note}}, who);
      tx.commit();
      return true;
    });
  }

  Result<PolicyVersion> apply_policy(const std::string& source, const std::string& origin,
                                     const Caller& who) override {
    return guard<PolicyVersion>([&] {
      SqlTxn tx(*c_, true);
      const auto prev = c_->query(
          "SELECT version, sha256 FROM policy_versions ORDER BY version DESC LIMIT 1");
      PolicyVersion v;
      v.applied_ns = wall_ns();
      v.uid = who.uid;
      v.applied_by = who.name;
      v.origin = origin;
      v.sha256 = sha256_hex(source);
      v.source = source;
      const auto rows = c_->query(
          "INSERT INTO policy_versions (applied_ns, uid, applied_by, origin, sha256, source) "
          "VALUES ($1,$2,$3,$4,$5,$6) RETURNING version",
          {static_cast<std::int64_t>(v.applied_ns), std::int64_t{v.uid}, v.applied_by, v.origin,
           v.sha256, v.source});
      v.version = i64(rows.at(0).at(0));
      json detail{{"version", v.version}, {"sha256", v.sha256}, {"origin", origin},
                  {"bytes", source.size()}};
      if (!prev.empty()) {
        detail["previous_version"] = i64(prev[0][0]);
        detail["previous_sha256"] = str(prev[0][1]);
      }
      append_audit("policy.apply", "policy v" + std::to_string(v.version), detail, who);
      tx.commit();
      return v;
    });
  }

  Result<std::optional<PolicyVersion>> current_policy() override {
    return guard<std::optional<PolicyVersion>>([&]() -> std::optional<PolicyVersion> {
      auto v = policies(1);
      if (v.empty()) return std::nullopt;
      return v[0];
    });
  }

  Result<std::vector<PolicyVersion>> policy_history(std::size_t n) override {
    return guard<std::vector<PolicyVersion>>([&] { return policies(n); });
  }

  Result<std::size_t> add_bindings(const std::vector<BindingRecord>& b, const json& detail,
                                   const Caller& who) override {
    return guard<std::size_t>([&] {
      SqlTxn tx(*c_, true);
      const std::size_t n = put_bindings(b);
      json d = detail;
      d["bindings"] = n;
      append_audit("identity.import", std::to_string(n) + " bindings", d, who);
      tx.commit();
      return n;
    });
  }

  Result<std::vector<BindingRecord>> bindings(const std::string& ip) override {
    return guard<std::vector<BindingRecord>>([&] {
      std::string sql =
          "SELECT ip, user_name, department, start_ns, end_ns, source, origin FROM bindings";
      std::vector<SqlValue> p;
      if (!ip.empty()) {
        sql += " WHERE ip = $1";
        p.push_back(ip);
      }
      sql += " ORDER BY ip, start_ns, id";
      std::vector<BindingRecord> out;
      for (const auto& r : c_->query(sql, p)) {
        out.push_back(BindingRecord{str(r[0]), str(r[1]), str(r[2]),
                                    static_cast<std::uint64_t>(i64(r[3])), ns_of(r[4]), str(r[5]),
                                    str(r[6])});
      }
      return out;
    });
  }

  Result<std::vector<AuditEntry>> audit_log(std::size_t n) override {
    return guard<std::vector<AuditEntry>>([&] {
      std::vector<AuditEntry> out;
      for (const auto& r : c_->query(std::string("SELECT ") + kAuditCols +
                                         " FROM audit ORDER BY seq DESC LIMIT $1",
                                     {static_cast<std::int64_t>(n)})) {
        out.push_back(audit_of(r));
      }
      std::reverse(out.begin(), out.end());
      return out;
    });
  }

  Result<AuditVerdict> verify_audit() override {
    return guard<AuditVerdict>([&] {
      SqlTxn tx(*c_, false);
      std::vector<AuditEntry> rows;
      for (const auto& r :
           c_->query(std::string("SELECT ") + kAuditCols + " FROM audit ORDER BY seq")) {
        rows.push_back(audit_of(r));
      }
      const auto [seq, hash] = head();
      tx.commit();
      return verify_chain(rows, seq, hash);
    });
  }

  Result<AuditEntry> audit(const std::string& action, const std::string& target,
                           const json& detail, const Caller& who) override {
    return guard<AuditEntry>([&] {
      SqlTxn tx(*c_, true);
      AuditEntry e = append_audit(action, target, detail, who);
      tx.commit();
      return e;
    });
  }

  Result<StoreSummary> summary() override {
    return guard<StoreSummary>([&] {
      SqlTxn tx(*c_, false);
      StoreSummary s;
      s.backend = backend();
      s.location = location();
      auto count = [&](const std::string& sql) { return i64(c_->query(sql).at(0).at(0)); };
      s.schema_version =
          static_cast<int>(count("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
      s.findings = count("SELECT COUNT(*) FROM findings");
      s.incidents = count("SELECT COUNT(*) FROM incidents");
      s.open_incidents = count("SELECT COUNT(*) FROM incidents WHERE status = 'open'");
      s.users = count("SELECT COUNT(*) FROM users");
      s.bindings = count("SELECT COUNT(*) FROM bindings");
      s.baselines = count("SELECT COUNT(*) FROM baselines");
      s.policy_versions = count("SELECT COUNT(*) FROM policy_versions");
      s.policy_version = count("SELECT COALESCE(MAX(version), 0) FROM policy_versions");
      s.audit_rows = count("SELECT COUNT(*) FROM audit");
      s.last_finding_ns =
          static_cast<std::uint64_t>(count("SELECT COALESCE(MAX(ts_ns), 0) FROM findings"));
      const auto last = c_->query("SELECT run_id FROM findings ORDER BY id DESC LIMIT 1");
      if (!last.empty()) s.last_run_id = str(last[0][0]);
      tx.commit();
      return s;
    });
  }

 private:
  template <class T, class F>
  Result<T> guard(F&& f) {
    try {
      return Result<T>(f());
    } catch (const std::exception& e) {
      return make_error(e.what());
    }
  }

  std::vector<UserRecord> users_where(const std::string& where, std::vector<SqlValue> extra,
                                      std::size_t n) {
    std::vector<SqlValue> p{static_cast<std::int64_t>(n)};
    for (auto& v : extra) p.push_back(std::move(v));
    std::vector<UserRecord> out;
    for (const auto& r : c_->query(
             "SELECT u.user_name, u.department, u.risk_score, u.risk_level, u.reasons, "
             "u.scored_ns, u.last_seen_ns, (SELECT COUNT(*) FROM findings f WHERE f.user_name = "
             "u.user_name) FROM users u " + where +
                 " ORDER BY u.risk_score DESC, u.user_name LIMIT $1",
             p)) {
      UserRecord u;
      u.user = str(r[0]);
      u.department = str(r[1]);
      u.risk_score = static_cast<int>(i64(r[2]));
      u.risk_level = str(r[3]);
      u.reasons = strings(r[4]);
      u.scored_ns = static_cast<std::uint64_t>(i64(r[5]));
      u.last_seen_ns = static_cast<std::uint64_t>(i64(r[6]));
      u.findings = i64(r[7]);
      out.push_back(std::move(u));
    }
    return out;
  }

  std::vector<PolicyVersion> policies(std::size_t n) {
    std::vector<PolicyVersion> out;
    for (const auto& r : c_->query(
             "SELECT version, applied_ns, uid, applied_by, origin, sha256, source FROM "
             "policy_versions ORDER BY version DESC LIMIT $1",
             {static_cast<std::int64_t>(n)})) {
      out.push_back(policy_of(r));
    }
    return out;
  }

  std::size_t put_bindings(const std::vector<BindingRecord>& b) {
    std::size_t n = 0;
    for (const BindingRecord& r : b) {
      n += c_->query(
                 "INSERT INTO bindings (ip, user_name, department, start_ns, end_ns, source, "
                 "origin) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (ip, user_name, start_ns, "
                 "source) DO UPDATE SET end_ns = excluded.end_ns, department = "
                 "excluded.department RETURNING id",
                 {r.ip, r.user, r.department, static_cast<std::int64_t>(r.start_ns),
                  ns_value(r.end_ns), r.source, r.origin})
               .size();
    }
    return n;
  }

  std::pair<std::int64_t, std::string> head() {
    std::int64_t seq = 0;
    std::string hash;
    for (const auto& r :
         c_->query("SELECT key, value FROM meta WHERE key IN ('audit_head_seq', 'audit_head_hash')")) {
      if (str(r[0]) == "audit_head_seq") seq = i64(r[1]);
      else hash = str(r[1]);
    }
    return {seq, hash};
  }

  void put_meta(const std::string& key, const std::string& value) {
    c_->query(
        "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = "
        "excluded.value",
        {key, value});
  }

  // Inside a write transaction: extends the chain from the recorded head. The head, not
  // the last row, is the anchor, so a deleted newest row cannot be papered over by the
  // next append.
  AuditEntry append_audit(const std::string& action, const std::string& target,
                          const json& detail, const Caller& who) {
    auto [seq, hash] = head();
    AuditEntry e;
    e.seq = seq + 1;
    e.ts_ns = wall_ns();
    e.uid = who.uid;
    e.user = who.name;
    e.action = action;
    e.target = target;
    e.detail = json::parse(detail.dump());  // sorted keys: the canonical form
    e.prev_hash = seq == 0 ? kAuditGenesis : hash;
    e.hash = audit_hash(e.prev_hash, e);
    c_->query(
        "INSERT INTO audit (seq, ts_ns, uid, user_name, action, target, detail, prev_hash, hash) "
        "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        {e.seq, static_cast<std::int64_t>(e.ts_ns), std::int64_t{e.uid}, e.user, e.action,
         e.target, e.detail.dump(), e.prev_hash, e.hash});
    put_meta("audit_head_seq", std::to_string(e.seq));
    put_meta("audit_head_hash", e.hash);
    return e;
  }

  std::unique_ptr<SqlConn> c_;
};

}  // namespace

Caller Caller::current() { return of_uid(static_cast<std::uint32_t>(::getuid())); }

Caller Caller::of_uid(std::uint32_t uid) {
  Caller c;
  c.uid = uid;
  struct passwd pw {};
  struct passwd* found = nullptr;
  char buf[4096];
  if (getpwuid_r(static_cast<uid_t>(uid), &pw, buf, sizeof buf, &found) == 0 && found) {
    c.name = found->pw_name;
  } else {
    c.name = "uid:" + std::to_string(uid);
  }
  return c;
}

bool is_postgres_spec(const std::string& spec) {
  return spec.rfind("postgresql://", 0) == 0 || spec.rfind("postgres://", 0) == 0 ||
         spec.find("host=") != std::string::npos || spec.find("dbname=") != std::string::npos;
}

Result<std::unique_ptr<Store>> open_store(const std::string& spec) {
  if (spec.empty()) return make_error("no store given");
  try {
    auto conn = is_postgres_spec(spec) ? open_postgres(spec) : open_sqlite(spec);
    auto store = std::make_unique<SqlStore>(std::move(conn));
    store->migrate();
    return std::unique_ptr<Store>(std::move(store));
  } catch (const std::exception& e) {
    return make_error(e.what());
  }
}

json to_json(const FindingRecord& r) {
  return json{{"id", r.id},
              {"run_id", r.run_id},
              {"time", iso8601_utc(r.ts_ns)},
              {"ts_ns", r.ts_ns},
              {"user", r.user},
              {"department", r.department},
              {"detector", r.detector},
              {"category", r.category},
              {"severity", r.severity},
              {"confidence", r.confidence},
              {"count", r.count},
              {"masked", r.masked},
              {"src_ip", r.src_ip},
              {"src_port", r.src_port},
              {"dst_ip", r.dst_ip},
              {"dst_port", r.dst_port},
              {"app", r.app},
              {"destination", r.destination},
              {"action", r.action},
              {"rule", r.rule},
              {"risk_score", r.risk_score},
              {"risk_level", r.risk_level},
              {"incident_id", r.incident_id}};
}

json to_json(const IncidentRecord& r) {
  json j{{"id", r.id},
         {"run_id", r.run_id},
         {"user", r.user},
         {"department", r.department},
         {"first", iso_or_empty(r.first_ns)},
         {"last", iso_or_empty(r.last_ns)},
         {"max_severity", r.max_severity},
         {"action", r.action},
         {"risk_score", r.risk_score},
         {"risk_level", r.risk_level},
         {"findings", r.finding_count},
         {"matches_by_category", r.matches_by_category},
         {"destinations", r.destinations},
         {"reasons", r.reasons},
         {"status", r.status}};
  if (r.status == "acknowledged") {
    j["acked_by"] = r.acked_by;
    j["acked_uid"] = r.acked_uid;
    j["acked_at"] = iso_or_empty(r.acked_ns);
    j["ack_note"] = r.ack_note;
  }
  return j;
}

json to_json(const UserRecord& r) {
  return json{{"user", r.user},         {"department", r.department},
              {"risk_score", r.risk_score}, {"risk_level", r.risk_level},
              {"reasons", r.reasons},   {"scored_at", iso_or_empty(r.scored_ns)},
              {"last_seen", iso_or_empty(r.last_seen_ns)}, {"findings", r.findings}};
}

json to_json(const BindingRecord& r) {
  return json{{"ip", r.ip},
              {"user", r.user},
              {"department", r.department},
              {"start", r.start_ns == 0 ? std::string("-") : iso8601_utc(r.start_ns)},
              {"end", r.end_ns == IdentityTable::kForever ? std::string("-") : iso8601_utc(r.end_ns)},
              {"source", r.source},
              {"origin", r.origin}};
}

json to_json(const BaselineRecord& r) {
  return json{{"category", r.category},     {"department", r.department},
              {"days", r.days},             {"count_mean", r.count_mean},
              {"count_var", r.count_var},   {"bytes_mean", r.bytes_mean},
              {"bytes_var", r.bytes_var}};
}

json to_json(const PolicyVersion& r, bool with_source) {
  json j{{"version", r.version},
         {"applied_at", iso_or_empty(r.applied_ns)},
         {"applied_by", r.applied_by},
         {"uid", r.uid},
         {"origin", r.origin},
         {"sha256", r.sha256}};
  if (with_source) j["source"] = r.source;
  return j;
}

json to_json(const AuditEntry& r) {
  return json{{"seq", r.seq},       {"time", iso_or_empty(r.ts_ns)}, {"uid", r.uid},
              {"user", r.user},     {"action", r.action},            {"target", r.target},
              {"detail", r.detail}, {"prev_hash", r.prev_hash},      {"hash", r.hash}};
}

json to_json(const AuditVerdict& r) {
  json j{{"ok", r.ok}, {"rows", r.rows}, {"head_hash", r.head_hash}};
  if (!r.ok) {
    j["first_bad_row"] = r.first_bad;
    j["reason"] = r.reason;
  }
  return j;
}

json to_json(const StoreSummary& r) {
  return json{{"backend", r.backend},
              {"location", r.location},
              {"schema_version", r.schema_version},
              {"findings", r.findings},
              {"incidents", r.incidents},
              {"open_incidents", r.open_incidents},
              {"users", r.users},
              {"bindings", r.bindings},
              {"baselines", r.baselines},
              {"policy_versions", r.policy_versions},
              {"policy_version", r.policy_version},
              {"audit_rows", r.audit_rows},
              {"last_finding", iso_or_empty(r.last_finding_ns)},
              {"last_run_id", r.last_run_id}};
}

}  // namespace dlp::mgmt
