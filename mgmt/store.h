// The incident store: what the management plane keeps between runs, and what `dlpctl`
// reads when no daemon is running.
//
// One interface, two backends chosen by the connection string:
//   - SQLite (a file path; WAL mode; the default, `./dlpgate.db` for `dlpgate scan`);
//   - PostgreSQL (`postgresql://...` / `postgres://...` or a libpq key=value string such
//     as `host=/run/postgresql dbname=dlpgate`), for several appliances sharing users,
//     identities and baselines.
// It holds incidents, masked findings (never a cleartext value: the finding's masked forms
// and its JSON document as written by finding_to_json), users with their last risk score,
// identity bindings, per-user baselines, policy versions, and an append-only audit log of
// every change, hash-chained (mgmt/audit.h) so that an edit, deletion or reordering of a
// row is found by verify_audit(). The schema is versioned and migrated on open.
//
//   auto store = open_store("dlpgate.db");          // or "postgresql://dlp@db/dlpgate"
//   if (!store) die(store.error().message);
//   Caller me = Caller::current();                   // uid and user name of this process
//   auto v = (*store)->apply_policy(yaml_text, "policy.yaml", me);
//   auto verdict = (*store)->verify_audit();         // verdict->ok, ->first_bad, ->reason
//
// Every call returns a Result: a database error (locked, connection lost, constraint) is
// an error with a message, never an exception out of the store. A Store is not safe to
// share between threads: open one per thread (SQLite's WAL and PostgreSQL both let several
// connections read while one writes).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/dlp/result.h"
#include "mgmt/identity.h"

namespace dlp::mgmt {

// Who makes a change: recorded in every audit row.
struct Caller {
  std::uint32_t uid = 0;
  std::string name;  // the user name of uid, or "uid:N" when it has none
  static Caller current();                  // this process
  static Caller of_uid(std::uint32_t uid);  // a peer on the control socket
};

struct FindingRecord {
  std::int64_t id = 0;           // store id (0 before it is stored)
  std::string run_id;            // the scan or daemon run that produced it
  std::uint64_t finding_id = 0;  // the run's own id
  std::uint64_t ts_ns = 0;       // packet time
  std::string user, department;
  std::string detector, category, severity, confidence;
  std::uint32_t count = 0;
  std::vector<std::string> masked;  // masked forms only
  std::string src_ip, dst_ip;
  int src_port = 0, dst_port = 0;
  std::string app, destination;
  std::string action, rule;
  int risk_score = 0;               // the user's score right after this finding
  std::string risk_level;
  std::int64_t incident_id = 0;     // store id of its incident (ingest: the run's id)
  nlohmann::json doc;               // the finding as written (finding_to_json)
};

struct IncidentRecord {
  std::int64_t id = 0;        // store id (ingest: the run's own incident id)
  std::string run_id;
  std::string user, department;
  std::uint64_t first_ns = 0, last_ns = 0;
  std::string max_severity, action;
  int risk_score = 0;
  std::string risk_level;
  std::int64_t finding_count = 0;
  nlohmann::json matches_by_category = nlohmann::json::object();
  std::vector<std::string> destinations, reasons;
  std::string status = "open";  // open | acknowledged
  std::string acked_by;         // user name (uid N)
  std::uint32_t acked_uid = 0;
  std::uint64_t acked_ns = 0;   // wall time
  std::string ack_note;
};

struct UserRecord {
  std::string user, department;
  int risk_score = 0;
  std::string risk_level = "low";
  std::vector<std::string> reasons;  // largest contribution first
  std::uint64_t scored_ns = 0;       // packet time the score is for
  std::uint64_t last_seen_ns = 0;
  std::int64_t findings = 0;         // in the store
};

struct BindingRecord {
  std::string ip, user, department;
  std::uint64_t start_ns = 0;
  std::uint64_t end_ns = IdentityTable::kForever;
  std::string source = "static";  // static | dhcp | session (identity.h)
  std::string origin;             // the file or listener it came from
};

struct BaselineRecord {
  std::string user, department, category;
  double count_mean = 0, count_var = 0, bytes_mean = 0, bytes_var = 0;
  int days = 0;
};

struct PolicyVersion {
  std::int64_t version = 0;
  std::uint64_t applied_ns = 0;  // wall time
  std::uint32_t uid = 0;
  std::string applied_by, origin, sha256, source;
};

struct AuditEntry {
  std::int64_t seq = 0;        // 1, 2, 3, ... without gaps
  std::uint64_t ts_ns = 0;     // wall time of the change
  std::uint32_t uid = 0;
  std::string user;            // the uid's name
  std::string action;          // "policy.apply", "incident.ack", "identity.import", ...
  std::string target;          // what it was applied to ("policy v3", "incident 12")
  nlohmann::json detail = nlohmann::json::object();
  std::string prev_hash, hash;  // hex SHA-256 (audit.h)
};

struct AuditVerdict {
  bool ok = true;
  std::int64_t rows = 0;
  std::int64_t first_bad = 0;  // seq of the first row that fails (0: none / the head)
  std::string reason;
  std::string head_hash;       // the last good hash
};

// One batch of results from a scan or a running daemon. Re-ingesting with the same
// run_id is idempotent: findings are keyed by (run_id, finding_id), incidents by
// (run_id, run incident id) and updated in place, users and baselines replaced.
struct Ingest {
  std::string run_id;
  std::vector<FindingRecord> findings;    // incident_id: the run's own incident id
  std::vector<IncidentRecord> incidents;  // id: the run's own incident id
  std::vector<UserRecord> users;
  std::vector<BaselineRecord> baselines;
  std::vector<BindingRecord> bindings;
  nlohmann::json summary = nlohmann::json::object();  // captures, packets, policy: audit detail
};

struct IngestResult {
  std::size_t findings = 0, incidents = 0, users = 0, bindings = 0;
};

struct FindingQuery {
  std::string user;            // empty: any
  std::int64_t incident_id = 0;  // 0: any
  std::size_t limit = 100;
};

struct IncidentQuery {
  std::string status;  // "", open, acknowledged
  std::string user;
  std::size_t limit = 100;
};

struct StoreSummary {
  std::string backend, location;
  int schema_version = 0;
  std::int64_t findings = 0, incidents = 0, open_incidents = 0, users = 0, bindings = 0,
               baselines = 0, policy_versions = 0, audit_rows = 0;
  std::int64_t policy_version = 0;  // current, 0: none
  std::uint64_t last_finding_ns = 0;
  std::string last_run_id;
};

class Store {
 public:
  virtual ~Store() = default;
  virtual std::string backend() const = 0;   // "sqlite" | "postgresql"
  virtual std::string location() const = 0;  // file, or connection string without password

  virtual Result<IngestResult> ingest(const Ingest& batch, const Caller& who) = 0;

  virtual Result<std::vector<UserRecord>> top_users(std::size_t n) = 0;
  virtual Result<std::optional<UserRecord>> user(const std::string& name) = 0;
  virtual Result<std::vector<FindingRecord>> findings(const FindingQuery& q) = 0;  // newest first
  virtual Result<std::vector<BaselineRecord>> baselines(const std::string& user) = 0;

  virtual Result<std::vector<IncidentRecord>> incidents(const IncidentQuery& q) = 0;  // newest first
  virtual Result<std::optional<IncidentRecord>> incident(std::int64_t id) = 0;
  // False when there is no such incident. Acknowledging twice is an error.
  virtual Result<bool> ack_incident(std::int64_t id, const std::string& note,
                                    const Caller& who) = 0;

  // Stores a new version (the text must already be a valid policy) and audits it.
  virtual Result<PolicyVersion> apply_policy(const std::string& source,
                                             const std::string& origin, const Caller& who) = 0;
  virtual Result<std::optional<PolicyVersion>> current_policy() = 0;
  virtual Result<std::vector<PolicyVersion>> policy_history(std::size_t n) = 0;

  // Adds (or, for the same ip/user/start/source, updates the end of) bindings; audited.
  virtual Result<std::size_t> add_bindings(const std::vector<BindingRecord>& b,
                                           const nlohmann::json& detail, const Caller& who) = 0;
  virtual Result<std::vector<BindingRecord>> bindings(const std::string& ip) = 0;  // "": all

  virtual Result<std::vector<AuditEntry>> audit_log(std::size_t n) = 0;  // the last n, in order
  virtual Result<AuditVerdict> verify_audit() = 0;
  // Appends one audited change that is not one of the above (e.g. a daemon reload).
  virtual Result<AuditEntry> audit(const std::string& action, const std::string& target,
                                   const nlohmann::json& detail, const Caller& who) = 0;

  virtual Result<StoreSummary> summary() = 0;
};

// "postgresql://...", "postgres://..." or a string with "host=" / "dbname=": PostgreSQL;
// anything else is a SQLite file path (created if missing). Migrates the schema.
Result<std::unique_ptr<Store>> open_store(const std::string& spec);
bool is_postgres_spec(const std::string& spec);

// The current schema version (migrations 1..kSchemaVersion).
inline constexpr int kSchemaVersion = 2;

// Conversions between the records and their JSON form (dlpctl --json, the control socket).
nlohmann::json to_json(const FindingRecord& r);
nlohmann::json to_json(const IncidentRecord& r);
nlohmann::json to_json(const UserRecord& r);
nlohmann::json to_json(const BindingRecord& r);
nlohmann::json to_json(const BaselineRecord& r);
nlohmann::json to_json(const PolicyVersion& r, bool with_source);
nlohmann::json to_json(const AuditEntry& r);
nlohmann::json to_json(const AuditVerdict& r);
nlohmann::json to_json(const StoreSummary& r);

}  // namespace dlp::mgmt
