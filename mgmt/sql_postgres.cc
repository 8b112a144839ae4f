// SqlConn over PostgreSQL (libpqxx). Transactions are opened by hand on a nontransaction,
// so the store drives BEGIN/COMMIT the same way on both backends. Writers take a
// transaction-scoped advisory lock first: several appliances sharing one database extend
// the audit chain one at a time.
#include <pqxx/pqxx>

#include "mgmt/sql_conn.h"

namespace dlp::mgmt {
namespace {

constexpr const char* kWriterLock = "SELECT pg_advisory_xact_lock(74110611)";

// The connection string as it may be shown: any password removed.
std::string redact_conninfo(const std::string& c) {
  std::string out = c;
  if (auto at = out.find('@'); out.rfind("postgres", 0) == 0 && at != std::string::npos) {
    const auto scheme = out.find("://");
    const auto colon = out.find(':', scheme + 3);
    if (colon != std::string::npos && colon < at) out.replace(colon, at - colon, ":***");
  }
  if (auto p = out.find("password="); p != std::string::npos) {
    auto e = out.find(' ', p);
    out.replace(p, (e == std::string::npos ? out.size() : e) - p, "password=***");
  }
  return out;
}

class PgConn : public SqlConn {
 public:
  explicit PgConn(const std::string& conninfo) : shown_(redact_conninfo(conninfo)) {
    try {
      conn_ = std::make_unique<pqxx::connection>(conninfo);
      conn_->set_variable("client_min_messages", "warning");
      tx_ = std::make_unique<pqxx::nontransaction>(*conn_);
    } catch (const std::exception& e) {
      throw SqlError(shown_ + ": cannot connect to PostgreSQL: " + e.what());
    }
  }
  ~PgConn() override {
    tx_.reset();
    conn_.reset();
  }

  std::string dialect() const override { return "postgresql"; }
  std::string location() const override { return shown_; }

  std::vector<SqlRow> query(const std::string& sql, const std::vector<SqlValue>& params) override {
    std::vector<std::string> text(params.size());
    std::vector<const char*> ptrs(params.size(), nullptr);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const SqlValue& v = params[i];
      if (std::holds_alternative<std::monostate>(v)) continue;
      if (auto* n = std::get_if<std::int64_t>(&v)) text[i] = std::to_string(*n);
      else if (auto* d = std::get_if<double>(&v)) text[i] = pqxx::to_string(*d);
      else text[i] = std::get<std::string>(v);
      ptrs[i] = text[i].c_str();
    }
    try {
      const pqxx::result r = tx_->exec_params(sql, pqxx::prepare::make_dynamic_params(ptrs));
      std::vector<SqlRow> rows;
      rows.reserve(r.size());
      for (const auto& row : r) {
        SqlRow out(row.size());
        for (pqxx::row::size_type c = 0; c < row.size(); ++c) {
          if (!row[c].is_null()) out[c] = std::string(row[c].c_str(), row[c].size());
        }
        rows.push_back(std::move(out));
      }
      return rows;
    } catch (const std::exception& e) {
      throw SqlError(shown_ + ": " + e.what());
    }
  }

  void script(const std::string& sql) override {
    try {
      tx_->exec(sql);
    } catch (const std::exception& e) {
      throw SqlError(shown_ + ": " + e.what());
    }
  }
  void begin_write() override {
    script("BEGIN");
    script(kWriterLock);
  }
  void begin_read() override { script("BEGIN"); }
  void commit() override { script("COMMIT"); }
  void rollback() override { script("ROLLBACK"); }

 private:
  std::string shown_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::nontransaction> tx_;
};

}  // namespace

std::unique_ptr<SqlConn> open_postgres(const std::string& conninfo) {
  return std::make_unique<PgConn>(conninfo);
}

}  // namespace dlp::mgmt
