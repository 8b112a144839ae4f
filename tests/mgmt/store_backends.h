// Store backends for the typed store suites: a SQLite file in a temporary directory, and
// a real PostgreSQL server started for the test process (initdb + pg_ctl on a free
// loopback port, unix socket in a temporary directory, run as the `postgres` system user
// when the tests run as root, since postgres refuses to). Each backend can also run raw
// SQL beside the Store, to tamper with rows the way an intruder with database access would.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "mgmt/store.h"
#include "tests/loopback.h"

namespace dlp::storetest {

namespace fs = std::filesystem;

inline fs::path temp_dir(const std::string& tag) {
  fs::path d = fs::temp_directory_path() /
               ("dlp-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()));
  fs::create_directories(d);
  return d;
}

class SqliteBackend {
 public:
  static constexpr const char* kName = "sqlite";
  SqliteBackend() : dir_(temp_dir("sqlite")) {}
  ~SqliteBackend() { fs::remove_all(dir_); }
  std::string spec() const { return (dir_ / "store.db").string(); }
  std::string skip_reason() const { return ""; }
  void raw(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(spec().c_str(), &db), SQLITE_OK);
    char* e = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &e);
    const std::string msg = e ? e : "";
    sqlite3_free(e);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << msg;
  }

 private:
  fs::path dir_;
};

// One PostgreSQL server per test process; a fresh database per backend object.
class PgServer {
 public:
  static PgServer& get() {
    static PgServer s;
    return s;
  }
  const std::string& error() const { return error_; }
  std::string conninfo(const std::string& db) const {
    return "host=" + sock_dir_.string() + " port=" + std::to_string(port_) + " dbname=" + db +
           " user=dlptest";
  }
  ~PgServer() {
    if (started_) run(bin_ + "/pg_ctl -D " + (dir_ / "data").string() + " -m immediate stop >/dev/null 2>&1");
    if (!dir_.empty()) fs::remove_all(dir_);
  }

 private:
  PgServer() {
    for (const auto& v : {"17", "16", "15", "14", "13"}) {
      const std::string b = std::string("/usr/lib/postgresql/") + v + "/bin";
      if (fs::exists(b + "/initdb") && fs::exists(b + "/pg_ctl")) {
        bin_ = b;
        break;
      }
    }
    if (bin_.empty()) {
      error_ = "no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin: "
               "install the postgresql package (deploy/install-deps.sh) to run the PostgreSQL store tests";
      return;
    }
    dir_ = temp_dir("pg");
    sock_dir_ = dir_ / "sock";
    fs::create_directories(sock_dir_);
    if (::geteuid() == 0) {
      if (::getpwnam("postgres") == nullptr) {
        error_ = "running as root and there is no 'postgres' user to run the server as";
        return;
      }
      as_ = "runuser -u postgres -- ";
      if (run("chown -R postgres " + dir_.string()) != 0) {
        error_ = "cannot chown " + dir_.string() + " to postgres";
        return;
      }
      ::chmod(dir_.c_str(), 0755);
    }
    port_ = dlp::testing::free_loopback_port(SOCK_STREAM);
    const std::string data = (dir_ / "data").string();
    if (run(as_ + bin_ + "/initdb -D " + data + " -U dlptest -A trust --no-sync >" +
            (dir_ / "initdb.log").string() + " 2>&1") != 0) {
      error_ = "initdb failed; see " + (dir_ / "initdb.log").string();
      return;
    }
    const std::string opts = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) +
                             " -k " + sock_dir_.string() + " -c fsync=off -c full_page_writes=off";
    if (run(as_ + bin_ + "/pg_ctl -D " + data + " -o \"" + opts + "\" -l " +
            (dir_ / "server.log").string() + " -w -t 30 start >/dev/null 2>&1") != 0) {
      error_ = "pg_ctl start failed; see " + (dir_ / "server.log").string();
      return;
    }
    started_ = true;
  }
  int run(const std::string& cmd) {
    // Stop and cleanup must run as the server's user as well.
    const std::string c = cmd.rfind(bin_ + "/pg_ctl", 0) == 0 ? as_ + cmd : cmd;
    return std::system(c.c_str());
  }

  std::string bin_, as_, error_;
  fs::path dir_, sock_dir_;
  int port_ = 0;
  bool started_ = false;
};

class PostgresBackend {
 public:
  static constexpr const char* kName = "postgresql";
  PostgresBackend() {
    PgServer& s = PgServer::get();
    if (!s.error().empty()) return;
    static int n = 0;
    db_ = "t" + std::to_string(::getpid()) + "_" + std::to_string(++n);
    pqxx::connection c(s.conninfo("postgres"));
    pqxx::nontransaction tx(c);
    tx.exec("CREATE DATABASE " + db_);
  }
  std::string spec() const { return PgServer::get().conninfo(db_); }
  std::string skip_reason() const { return PgServer::get().error(); }
  void raw(const std::string& sql) {
    pqxx::connection c(spec());
    pqxx::nontransaction tx(c);
    tx.exec(sql);
  }

 private:
  std::string db_;
};

}  // namespace dlp::storetest
