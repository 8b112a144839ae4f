#include "mgmt/control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <vector>

#include "mgmt/requests.h"

namespace dlp::mgmt {
namespace {

using nlohmann::json;

bool fill_addr(const std::string& path, sockaddr_un& a) {
  std::memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof a.sun_path) return false;
  std::memcpy(a.sun_path, path.data(), path.size());
  return true;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Client {
  int fd = -1;
  ControlRequest base;
  std::string in, out;
  std::int64_t last_ms = 0;
  bool closing = false;  // close once `out` is written
};

}  // namespace

std::string default_control_socket() {
  if (const char* s = std::getenv("DLPGATE_SOCKET"); s && *s) return s;
  return "/run/dlpgate/dlpgate.sock";
}

ControlServer::~ControlServer() { stop(); }

void ControlServer::handle(const std::string& cmd, ControlHandler h) {
  std::lock_guard<std::mutex> l(mu_);
  handlers_[cmd] = std::move(h);
}

ControlCounters ControlServer::counters() const {
  std::lock_guard<std::mutex> l(mu_);
  return counters_;
}

Result<void> ControlServer::start(const ControlOptions& opts) {
  if (running()) return make_error("control socket already started at " + opts_.path);
  sockaddr_un addr;
  if (!fill_addr(opts.path, addr)) {
    return make_error("control socket path '" + opts.path + "' is empty or too long");
  }
  std::error_code ec;
  const auto dir = std::filesystem::path(opts.path).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return make_error(dir.string() + ": cannot create: " + ec.message());
    ::chmod(dir.c_str(), 0750);
  }
  // A socket file left by a daemon that died is replaced; one that answers is not ours.
  struct stat st {};
  if (::lstat(opts.path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return make_error(opts.path + ": exists and is not a socket");
    bool absent = false;
    auto probe = control_call(opts.path, json{{"cmd", "status"}}, 1000, &absent);
    if (!absent) return make_error(opts.path + ": another dlpgate is listening there");
    ::unlink(opts.path.c_str());
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return make_error(std::string("socket: ") + std::strerror(errno));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd);
    return make_error(opts.path + ": bind: " + std::strerror(e));
  }
  // Connecting needs write permission on the socket file: 0660 leaves out everyone but
  // the owner and the group. (Between bind and chmod the umask's mode applies; the usual
  // 022 gives others no write either.)
  if (::chmod(opts.path.c_str(), opts.mode) != 0 ||
      (opts.group != static_cast<gid_t>(-1) &&
       ::chown(opts.path.c_str(), static_cast<uid_t>(-1), opts.group) != 0)) {
    const int e = errno;
    ::close(fd);
    ::unlink(opts.path.c_str());
    return make_error(opts.path + ": cannot set permissions: " + std::strerror(e));
  }
  if (::listen(fd, 16) != 0 || ::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    const int e = errno;
    ::close(fd);
    ::unlink(opts.path.c_str());
    return make_error(opts.path + ": listen: " + std::strerror(e));
  }
  opts_ = opts;
  listen_fd_ = fd;
  thread_ = std::thread([this] { loop(); });
  return {};
}

void ControlServer::stop() {
  if (!thread_.joinable()) return;
  const char c = 'x';
  (void)!::write(wake_[1], &c, 1);
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
  listen_fd_ = wake_[0] = wake_[1] = -1;
  ::unlink(opts_.path.c_str());
}

json ControlServer::dispatch(const std::string& line, const ControlRequest& base) {
  ControlRequest req = base;
  req.body = json::parse(line, nullptr, false);
  if (req.body.is_discarded() || !req.body.is_object() || !req.body.contains("cmd") ||
      !req.body["cmd"].is_string()) {
    return json{{"ok", false}, {"error", "a request is one JSON object per line with a string \"cmd\""}};
  }
  const std::string cmd = req.body["cmd"].get<std::string>();
  ControlHandler h;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = handlers_.find(cmd);
    if (it != handlers_.end()) h = it->second;
  }
  if (!h) return json{{"ok", false}, {"error", "the daemon has no command '" + cmd + "'"}};
  try {
    json reply = h(req);
    if (!reply.is_object()) reply = json{{"ok", true}, {"result", reply}};
    return reply;
  } catch (const std::exception& e) {
    return json{{"ok", false}, {"error", cmd + ": " + e.what()}};
  }
}

void ControlServer::loop() {
  std::vector<Client> clients;
  for (;;) {
    std::vector<pollfd> fds;
    fds.push_back({wake_[0], POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const Client& c : clients) {
      fds.push_back({c.fd, static_cast<short>(c.out.empty() ? POLLIN : POLLOUT), 0});
    }
    const int n = ::poll(fds.data(), fds.size(), 1000);
    if (n < 0 && errno != EINTR) return;
    if (fds[0].revents) return;
    const std::int64_t now = now_ms();
    if (fds[1].revents & POLLIN) {
      for (;;) {
        const int cfd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0) break;
        std::lock_guard<std::mutex> l(mu_);
        if (clients.size() >= opts_.max_clients) {
          ++counters_.rejected;
          ::close(cfd);
          continue;
        }
        ucred cred{};
        socklen_t len = sizeof cred;
        if (::getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
          ++counters_.rejected;
          ::close(cfd);
          continue;
        }
        ++counters_.connections;
        Client c;
        c.fd = cfd;
        c.base.peer = Caller::of_uid(cred.uid);
        c.base.pid = cred.pid;
        c.last_ms = now;
        clients.push_back(std::move(c));
      }
    }
    for (std::size_t i = 0; i < clients.size(); ++i) {
      Client& c = clients[i];
      const short rev = fds[2 + i].revents;
      bool drop = false;
      if (rev & (POLLERR | POLLNVAL)) drop = true;
      if (!drop && (rev & POLLOUT)) {
        const ssize_t w = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN) drop = true;
        if (w > 0) c.out.erase(0, static_cast<std::size_t>(w));
        if (c.out.empty() && c.closing) drop = true;
        c.last_ms = now;
      } else if (!drop && (rev & (POLLIN | POLLHUP))) {
        char buf[65536];
        const ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
        if (r <= 0) {
          drop = r == 0 || errno != EAGAIN;
        } else {
          c.in.append(buf, static_cast<std::size_t>(r));
          c.last_ms = now;
        }
      }
      // Whole lines become requests; replies queue in order.
      for (std::size_t nl; !drop && !c.closing && (nl = c.in.find('\n')) != std::string::npos;) {
        const std::string line = c.in.substr(0, nl);
        c.in.erase(0, nl + 1);
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const json reply = dispatch(line, c.base);
        {
          std::lock_guard<std::mutex> l(mu_);
          ++counters_.requests;
          if (!reply.value("ok", false)) ++counters_.errors;
        }
        c.out += reply.dump() + "\n";
      }
      if (!drop && !c.closing && c.in.size() > opts_.max_request) {
        std::lock_guard<std::mutex> l(mu_);
        ++counters_.errors;
        c.out += json{{"ok", false},
                      {"error", "request longer than " + std::to_string(opts_.max_request) +
                                    " bytes"}}.dump() + "\n";
        c.in.clear();
        c.closing = true;
      }
      if (!drop && now - c.last_ms > opts_.idle_timeout_ms) drop = true;
      if (drop) {
        ::close(c.fd);
        c.fd = -1;
      }
    }
    std::erase_if(clients, [](const Client& c) { return c.fd < 0; });
  }
}

Result<json> control_call(const std::string& path, const json& request, int timeout_ms,
                          bool* daemon_absent) {
  if (daemon_absent) *daemon_absent = false;
  sockaddr_un addr;
  if (!fill_addr(path, addr)) return make_error("control socket path '" + path + "' is empty or too long");
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(std::string("socket: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    if (daemon_absent && (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR)) *daemon_absent = true;
    return make_error(path + ": " + std::strerror(e) +
                      (e == EACCES ? " (the control socket is for root and the dlpgate group)" : ""));
  }
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const std::string line = request.dump() + "\n";
  for (std::size_t off = 0; off < line.size();) {
    const ssize_t w = ::send(fd, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (w <= 0) return make_error(path + ": sending the request failed: " + std::strerror(errno));
    off += static_cast<std::size_t>(w);
  }
  std::string in;
  char buf[65536];
  while (in.find('\n') == std::string::npos) {
    const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r == 0) return make_error(path + ": the daemon closed the connection without a reply");
    if (r < 0) {
      return make_error(path + (errno == EAGAIN ? ": no reply within " + std::to_string(timeout_ms) + " ms"
                                                : std::string(": ") + std::strerror(errno)));
    }
    in.append(buf, static_cast<std::size_t>(r));
  }
  json reply = json::parse(in.substr(0, in.find('\n')), nullptr, false);
  if (reply.is_discarded() || !reply.is_object()) return make_error(path + ": the reply is not a JSON object");
  return reply;
}

void register_store_handlers(
    ControlServer& server, Store& store,
    std::function<void(const ControlRequest&, const json&)> on_change) {
  for (const std::string& cmd : store_request_names()) {
    const bool changes = cmd == "policy.apply" || cmd == "identity.import" || cmd == "incident.ack";
    server.handle(cmd, [&store, on_change, changes](const ControlRequest& r) {
      json reply = run_request(&store, r.body, r.peer);
      if (reply.contains("daemon")) reply["daemon"] = true;
      if (changes && on_change && reply.value("ok", false)) on_change(r, reply);
      return reply;
    });
  }
}

}  // namespace dlp::mgmt
