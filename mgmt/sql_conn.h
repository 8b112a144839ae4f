// Internal to mgmt/: the little a Store needs from a SQL database, so the store's SQL is
// written once for both backends. Statements use $1, $2, ... placeholders (PostgreSQL's
// form, which SQLite also accepts); DDL may use {ID} (an auto-increment primary key) and
// {BLOB}. Errors are thrown as SqlError and turned into Result at the Store boundary.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace dlp::mgmt {

struct SqlError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using SqlValue = std::variant<std::monostate, std::int64_t, double, std::string>;
using SqlRow = std::vector<std::optional<std::string>>;  // each column as text, or NULL

class SqlConn {
 public:
  virtual ~SqlConn() = default;
  virtual std::string dialect() const = 0;  // "sqlite" | "postgresql"
  virtual std::string location() const = 0;
  virtual std::vector<SqlRow> query(const std::string& sql,
                                    const std::vector<SqlValue>& params = {}) = 0;
  virtual void script(const std::string& sql) = 0;  // several statements, no parameters
  // A write transaction that excludes other writers from its start (so the audit chain's
  // head is read and extended by one writer at a time).
  virtual void begin_write() = 0;
  virtual void begin_read() = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;
};

std::unique_ptr<SqlConn> open_sqlite(const std::string& path);      // throws SqlError
std::unique_ptr<SqlConn> open_postgres(const std::string& conninfo);  // throws SqlError

// The whole transaction or nothing: rolls back unless commit() was reached.
class SqlTxn {
 public:
  SqlTxn(SqlConn& c, bool write) : c_(c) { write ? c_.begin_write() : c_.begin_read(); }
  ~SqlTxn() {
    if (!done_) {
      try {
        c_.rollback();
      } catch (...) {
      }
    }
  }
  void commit() {
    c_.commit();
    done_ = true;
  }

 private:
  SqlConn& c_;
  bool done_ = false;
};

}  // namespace dlp::mgmt
