// SqlConn over SQLite: WAL journal, a busy timeout so a reader and a writer (dlpctl while
// dlpgate writes) wait for each other instead of failing, foreign keys on.
#include <sqlite3.h>

#include "mgmt/sql_conn.h"

namespace dlp::mgmt {
namespace {

class SqliteConn : public SqlConn {
 public:
  explicit SqliteConn(const std::string& path) : path_(path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      db_ = nullptr;
      throw SqlError(path + ": cannot open SQLite store: " + msg);
    }
    sqlite3_busy_timeout(db_, 15000);
    script("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
  }
  ~SqliteConn() override { sqlite3_close(db_); }

  std::string dialect() const override { return "sqlite"; }
  std::string location() const override { return path_; }

  std::vector<SqlRow> query(const std::string& sql, const std::vector<SqlValue>& params) override {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &st, nullptr) !=
        SQLITE_OK) {
      throw SqlError(path_ + ": " + sqlite3_errmsg(db_) + " in: " + sql.substr(0, 120));
    }
    struct Fin {
      sqlite3_stmt* s;
      ~Fin() { sqlite3_finalize(s); }
    } fin{st};
    for (std::size_t i = 0; i < params.size(); ++i) {
      const std::string name = "$" + std::to_string(i + 1);
      const int idx = sqlite3_bind_parameter_index(st, name.c_str());
      if (idx == 0) continue;  // not used by this statement
      const SqlValue& v = params[i];
      int rc = SQLITE_OK;
      if (std::holds_alternative<std::monostate>(v)) rc = sqlite3_bind_null(st, idx);
      else if (auto* n = std::get_if<std::int64_t>(&v)) rc = sqlite3_bind_int64(st, idx, *n);
      else if (auto* d = std::get_if<double>(&v)) rc = sqlite3_bind_double(st, idx, *d);
      else {
        const std::string& s = std::get<std::string>(v);
        rc = sqlite3_bind_text(st, idx, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
      }
      if (rc != SQLITE_OK) throw SqlError(path_ + ": bind: " + sqlite3_errmsg(db_));
    }
    std::vector<SqlRow> rows;
    for (;;) {
      const int rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) throw SqlError(path_ + ": " + sqlite3_errmsg(db_));
      const int n = sqlite3_column_count(st);
      SqlRow row(n);
      for (int c = 0; c < n; ++c) {
        if (sqlite3_column_type(st, c) == SQLITE_NULL) continue;
        const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
        row[c] = std::string(t, static_cast<std::size_t>(sqlite3_column_bytes(st, c)));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  void script(const std::string& sql) override {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "error";
      sqlite3_free(err);
      throw SqlError(path_ + ": " + msg);
    }
  }
  void begin_write() override { script("BEGIN IMMEDIATE"); }
  void begin_read() override { script("BEGIN"); }
  void commit() override { script("COMMIT"); }
  void rollback() override { script("ROLLBACK"); }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace

std::unique_ptr<SqlConn> open_sqlite(const std::string& path) {
  return std::make_unique<SqliteConn>(path);
}

}  // namespace dlp::mgmt
