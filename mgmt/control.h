// The control socket: how `dlpctl` talks to a running `dlpgate run`.
//
// A Unix stream socket (default /run/dlpgate/dlpgate.sock, or $DLPGATE_SOCKET), created
// with mode 0660 so only root and the socket's group may connect. The protocol is one
// JSON object per line in each direction: a request {"cmd": "...", ...} and its reply
// {"ok": true, ...} or {"ok": false, "error": "..."}. A connection may carry several
// requests. The caller's uid comes from the kernel (SO_PEERCRED), never from the request,
// and is what handlers record in the audit log.
//
// The daemon (the lead wires this into `dlpgate run`):
//
//   auto store = open_store(cfg.store);                  // the control thread's own Store
//   ControlServer server;
//   register_store_handlers(server, **store);            // users, incidents, policy,
//                                                        // identity, audit (requests.h)
//   server.handle("status", [&](const ControlRequest&) { // replaces the store-only status
//     return nlohmann::json{{"ok", true}, {"daemon", true}, {"counters", counters_json()}};
//   });
//   server.handle("reload", [&](const ControlRequest& r) {
//     auto res = reload_config();                        // keeps the last good config on error
//     return res ? nlohmann::json{{"ok", true}}
//                : nlohmann::json{{"ok", false}, {"error", res.error().message}};
//   });
//   if (auto r = server.start({.path = default_control_socket()}); !r) die(r.error().message);
//   ...
//   server.stop();                                       // also done by the destructor
//
// Handlers run on the server's own thread, one request at a time (so a handler needs no
// lock against other handlers, but does against the daemon's other threads). A handler
// that throws gets an {"ok": false} reply; the server goes on. handle() may be called
// before or after start(). Oversized lines (over max_request bytes) and non-JSON lines
// get an error reply; a client that sends nothing for idle_timeout_ms is disconnected.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/dlp/result.h"
#include "mgmt/store.h"

namespace dlp::mgmt {

struct ControlRequest {
  nlohmann::json body;  // the request object, "cmd" included
  Caller peer;          // uid (SO_PEERCRED) and its user name
  pid_t pid = 0;
};

using ControlHandler = std::function<nlohmann::json(const ControlRequest&)>;

struct ControlOptions {
  std::string path;                   // socket path; its directory is created (0750) if missing
  mode_t mode = 0660;
  gid_t group = static_cast<gid_t>(-1);  // chown the socket to this group (-1: leave it)
  std::size_t max_request = 8u << 20;    // bytes per request line (identity imports carry files)
  int idle_timeout_ms = 30000;
  std::size_t max_clients = 64;
};

struct ControlCounters {
  std::uint64_t connections = 0, requests = 0, errors = 0, rejected = 0;
};

class ControlServer {
 public:
  ControlServer() = default;
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  void handle(const std::string& cmd, ControlHandler h);
  // Binds the socket (a stale socket file nobody listens on is replaced; a live one is
  // an error) and starts the thread.
  Result<void> start(const ControlOptions& opts);
  void stop();
  bool running() const { return thread_.joinable(); }
  const std::string& path() const { return opts_.path; }
  ControlCounters counters() const;

 private:
  void loop();
  nlohmann::json dispatch(const std::string& line, const ControlRequest& base);

  ControlOptions opts_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<std::string, ControlHandler> handlers_;
  ControlCounters counters_;
};

// $DLPGATE_SOCKET, else /run/dlpgate/dlpgate.sock.
std::string default_control_socket();

// One request to the daemon and its reply. An error when nobody listens at `path`
// (ENOENT/ECONNREFUSED: `daemon_absent` is then set), or on a timeout or a bad reply.
Result<nlohmann::json> control_call(const std::string& path, const nlohmann::json& request,
                                    int timeout_ms = 30000, bool* daemon_absent = nullptr);

// Registers every request of requests.h against `store` (used only from the server's
// thread). `on_change`, if given, runs after a successful policy.apply, identity.import or
// incident.ack with the request and its reply (e.g. to reload the policy or feed new
// bindings to the live identity table).
void register_store_handlers(
    ControlServer& server, Store& store,
    std::function<void(const ControlRequest&, const nlohmann::json&)> on_change = {});

}  // namespace dlp::mgmt
