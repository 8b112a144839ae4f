#include "mgmt/identity_live.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>
#include <thread>

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace dlp::mgmt {

// ---------------------------------------------------------------------------------------
// SharedIdentity

std::optional<Identity> SharedIdentity::lookup(const dataplane::IpAddr& ip,
                                               std::uint64_t ts_ns) const {
  std::shared_lock lock(mu_);
  const Identity* who = table_.lookup(ip, ts_ns);
  if (who == nullptr) return std::nullopt;
  return *who;
}

std::size_t SharedIdentity::size() const {
  std::shared_lock lock(mu_);
  return table_.size();
}

std::vector<IdentityTable::Entry> SharedIdentity::entries() const {
  std::shared_lock lock(mu_);
  return table_.entries();
}

void SharedIdentity::replace_files(IdentityTable files) {
  std::unique_lock lock(mu_);
  files.set_marking_live(true);
  for (IdentityTable::Entry& e : table_.entries()) {
    if (e.live) files.bind(e.ip, std::move(e.who), e.start_ns, e.end_ns, e.source);
  }
  files.set_marking_live(false);
  table_ = std::move(files);
}

// ---------------------------------------------------------------------------------------
// UdpService: a bound UDP socket and the thread that polls it. The handler runs on that
// thread and returns the datagram to send back to the sender (empty: none).

namespace {

struct ListenAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

// "127.0.0.1:1813" or "[2001:db8::1]:1813"; numeric only, so a bind address never depends
// on name resolution at start-up.
bool parse_listen(const std::string& text, ListenAddress& out) {
  std::string host, port;
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return false;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) return false;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const unsigned long p = std::stoul(port);
  if (p > 65535) return false;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(p));
    out.len = sizeof(sockaddr_in);
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(p));
    out.len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

// The sender's address as text, an IPv4-mapped IPv6 address as plain IPv4.
std::string peer_address(const sockaddr_storage& from) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (from.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&from)->sin_addr, buf, sizeof buf);
  } else if (from.ss_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(&from)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
      inet_ntop(AF_INET, &a.s6_addr[12], buf, sizeof buf);
    } else {
      inet_ntop(AF_INET6, &a, buf, sizeof buf);
    }
  }
  return buf;
}

std::uint64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace

class UdpService {
 public:
  using Handler = std::function<std::vector<std::uint8_t>(std::span<const std::uint8_t>,
                                                          const std::string& peer, std::uint64_t now_ns)>;

  // `what` names the setting in errors ("radius_listen").
  // `allow`: the senders taken (empty: any); others are dropped before `handler`.
  static Result<std::unique_ptr<UdpService>> start(const std::string& what,
                                                   const std::string& listen,
                                                   std::vector<Cidr> allow, Handler handler) {
    const std::string where = what + " '" + listen + "': ";
    ListenAddress la;
    if (!parse_listen(listen, la)) {
      return make_error(where + "expected ADDRESS:PORT with a numeric address, e.g. "
                                "127.0.0.1:1813 or [::1]:1813");
    }
    std::unique_ptr<UdpService> s(new UdpService());
    s->handler_ = std::move(handler);
    s->allow_ = std::move(allow);
    s->fd_ = ::socket(la.addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->fd_ < 0) return make_error(where + "cannot open a UDP socket: " + std::strerror(errno));
    // Bursts come at NAS restarts and at the start of the working day.
    const int rcvbuf = 1 << 20;
    ::setsockopt(s->fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (::bind(s->fd_, reinterpret_cast<const sockaddr*>(&la.addr), la.len) != 0) {
      const int e = errno;
      const char* port_part = std::strrchr(listen.c_str(), ':') + 1;
      switch (e) {
        case EADDRINUSE: return make_error(where + "port " + port_part + " is already in use");
        case EADDRNOTAVAIL: return make_error(where + "the address is not one of this host's");
        case EACCES:
          return make_error(where + "permission denied (ports below 1024 need root or "
                                    "CAP_NET_BIND_SERVICE)");
        default: return make_error(where + "cannot bind: " + std::strerror(e));
      }
    }
    sockaddr_storage bound{};
    socklen_t blen = sizeof bound;
    ::getsockname(s->fd_, reinterpret_cast<sockaddr*>(&bound), &blen);
    s->port_ = ntohs(bound.ss_family == AF_INET
                         ? reinterpret_cast<const sockaddr_in*>(&bound)->sin_port
                         : reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port);
    s->wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->wake_ < 0) return make_error(where + "cannot create an eventfd: " + std::strerror(errno));
    s->thread_ = std::thread([p = s.get()] { p->run(); });
    return s;
  }

  ~UdpService() {
    stop();
    if (fd_ >= 0) ::close(fd_);
    if (wake_ >= 0) ::close(wake_);
  }

  // Wakes the thread through the eventfd, so it ends at once even while poll() waits.
  void stop() {
    if (!thread_.joinable()) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_, &one, sizeof one);
    thread_.join();
  }

  std::uint16_t port() const { return port_; }

 private:
  UdpService() = default;

  void run() {
    std::vector<std::uint8_t> buf(65536);  // the largest UDP payload fits
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_, POLLIN, 0}};
    for (;;) {
      const int n = ::poll(fds, 2, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;
      if ((fds[0].revents & POLLIN) == 0) continue;
      // Drain what is queued, a bounded number at a time so stop() is seen between bursts.
      for (int i = 0; i < 256; ++i) {
        sockaddr_storage from{};
        socklen_t flen = sizeof from;
        const ssize_t r = ::recvfrom(fd_, buf.data(), buf.size(), 0,
                                     reinterpret_cast<sockaddr*>(&from), &flen);
        if (r < 0) break;  // EAGAIN: drained
        const std::string peer = peer_address(from);
        if (!allow_.empty()) {
          dataplane::IpAddr a;
          const bool ok = parse_ip(peer, a) &&
                          std::any_of(allow_.begin(), allow_.end(),
                                      [&](const Cidr& c) { return c.contains(a); });
          if (!ok) {
            not_allowed_.fetch_add(1, std::memory_order_relaxed);
            continue;
          }
        }
        std::vector<std::uint8_t> reply;
        try {
          reply = handler_(std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(r)),
                           peer, realtime_ns());
        } catch (const std::exception&) {
          // Out of memory in the middle of one message: that message is lost, the
          // listener goes on (an exception leaving this thread would end the process).
          handler_failures_.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        if (!reply.empty() &&
            ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<const sockaddr*>(&from),
                     flen) != static_cast<ssize_t>(reply.size())) {
          send_failures_.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
  }

 public:
  std::uint64_t send_failures() const { return send_failures_.load(std::memory_order_relaxed); }
  std::uint64_t handler_failures() const { return handler_failures_.load(std::memory_order_relaxed); }
  std::uint64_t not_allowed() const { return not_allowed_.load(std::memory_order_relaxed); }

 private:
  int fd_ = -1;
  int wake_ = -1;
  std::uint16_t port_ = 0;
  Handler handler_;
  std::thread thread_;
  std::atomic<std::uint64_t> send_failures_{0};
  std::atomic<std::uint64_t> handler_failures_{0};
  std::atomic<std::uint64_t> not_allowed_{0};
  std::vector<Cidr> allow_;
};

// ---------------------------------------------------------------------------------------
// RADIUS

namespace {

constexpr std::size_t kRadiusHeader = 20;
constexpr std::size_t kRadiusMax = 4096;
constexpr std::uint8_t kAccountingRequest = 4;
constexpr std::uint8_t kAccountingResponse = 5;

enum RadiusAttr : std::uint8_t {
  kUserName = 1,
  kFramedIpAddress = 8,
  kCallingStationId = 31,
  kAcctStatusType = 40,
  kAcctDelayTime = 41,
  kAcctSessionId = 44,
  kEventTimestamp = 55,
  kFramedIpv6Address = 168,
};

// MD5 over the given pieces, as RFC 2866 defines both authenticators.
std::array<std::uint8_t, 16> md5(std::initializer_list<std::span<const std::uint8_t>> parts) {
  std::array<std::uint8_t, 16> out{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned len = 0;
  if (ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_md5(), nullptr) == 1) {
    for (const auto& p : parts) EVP_DigestUpdate(ctx, p.data(), p.size());
    EVP_DigestFinal_ex(ctx, out.data(), &len);
  }
  EVP_MD_CTX_free(ctx);
  return out;
}

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::uint32_t be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}

// Printable UTF-8 (the user name reaches the JSON output and the store, and an invalid
// sequence there would make the JSON writer throw).
bool printable_utf8(std::span<const std::uint8_t> s) {
  static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};  // shortest form per length
  for (std::size_t i = 0; i < s.size();) {
    const std::uint8_t c = s[i];
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    std::size_t n = 0;  // continuation octets
    std::uint32_t cp = 0;
    if ((c & 0xe0) == 0xc0) n = 1, cp = c & 0x1fu;
    else if ((c & 0xf0) == 0xe0) n = 2, cp = c & 0x0fu;
    else if ((c & 0xf8) == 0xf0) n = 3, cp = c & 0x07u;
    else return false;
    if (s.size() - i <= n) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = cp << 6 | (s[i + k] & 0x3fu);
    }
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

// RFC 2865: 255.255.255.254 asks the NAS to pick and 255.255.255.255 lets the user pick;
// neither (nor 0.0.0.0) is an address anybody holds.
bool usable_v4(const std::uint8_t* a) {
  const std::uint32_t v = be32(a);
  return v != 0 && v != 0xfffffffeu && v != 0xffffffffu;
}

bool is_mac(const std::string& s) {
  const std::string n = normalise_device(s);
  if (n.size() != 17) return false;
  for (std::size_t i = 0; i < 17; ++i) {
    if (i % 3 == 2 ? n[i] != ':' : !std::isxdigit(static_cast<unsigned char>(n[i]))) return false;
  }
  return true;
}

}  // namespace

const char* radius_drop_name(RadiusDrop d) {
  switch (d) {
    case RadiusDrop::none: return "none";
    case RadiusDrop::truncated: return "truncated";
    case RadiusDrop::bad_length: return "bad_length";
    case RadiusDrop::not_accounting_request: return "not_accounting_request";
    case RadiusDrop::bad_authenticator: return "bad_authenticator";
    case RadiusDrop::bad_attribute: return "bad_attribute";
    case RadiusDrop::no_status_type: return "no_status_type";
  }
  return "none";
}

RadiusDrop parse_accounting_request(std::span<const std::uint8_t> d, std::string_view secret,
                                    RadiusAccountingRequest& out) {
  if (d.size() < kRadiusHeader) return RadiusDrop::truncated;
  const std::size_t length = static_cast<std::size_t>(d[2]) << 8 | d[3];
  if (length < kRadiusHeader || length > kRadiusMax) return RadiusDrop::bad_length;
  if (d.size() < length) return RadiusDrop::truncated;
  if (d[0] != kAccountingRequest) return RadiusDrop::not_accounting_request;
  // Request Authenticator = MD5(Code + Identifier + Length + 16 zero octets + Attributes + Secret)
  static constexpr std::uint8_t kZeros[16] = {};
  const auto expect = md5({d.subspan(0, 4), std::span<const std::uint8_t>(kZeros),
                           d.subspan(kRadiusHeader, length - kRadiusHeader), bytes(secret)});
  if (CRYPTO_memcmp(expect.data(), d.data() + 4, 16) != 0) return RadiusDrop::bad_authenticator;

  RadiusAccountingRequest r;
  r.identifier = d[1];
  std::copy(d.begin() + 4, d.begin() + 20, r.authenticator.begin());
  bool have_status = false;
  for (std::size_t pos = kRadiusHeader; pos < length;) {
    if (pos + 2 > length) return RadiusDrop::bad_attribute;
    const std::uint8_t type = d[pos];
    const std::size_t alen = d[pos + 1];
    if (alen < 2 || pos + alen > length) return RadiusDrop::bad_attribute;
    const std::span<const std::uint8_t> v = d.subspan(pos + 2, alen - 2);
    const auto text = [&] { return std::string(reinterpret_cast<const char*>(v.data()), v.size()); };
    switch (type) {
      case kUserName:
        if (v.empty() || !printable_utf8(v)) return RadiusDrop::bad_attribute;
        r.user_name = text();
        break;
      case kFramedIpAddress:
        if (v.size() != 4) return RadiusDrop::bad_attribute;
        if (usable_v4(v.data())) r.framed_ip = dataplane::IpAddr::v4_bytes(v.data());
        break;
      case kFramedIpv6Address:
        if (v.size() != 16) return RadiusDrop::bad_attribute;
        r.framed_ip = dataplane::IpAddr::v6_bytes(v.data());
        break;
      case kAcctStatusType:
        if (v.size() != 4) return RadiusDrop::bad_attribute;
        r.status_type = be32(v.data());
        have_status = true;
        break;
      case kAcctDelayTime:
        if (v.size() != 4) return RadiusDrop::bad_attribute;
        r.delay_time = be32(v.data());
        break;
      case kEventTimestamp:
        if (v.size() != 4) return RadiusDrop::bad_attribute;
        r.event_timestamp = be32(v.data());
        break;
      case kAcctSessionId: r.session_id = text(); break;
      case kCallingStationId: r.calling_station_id = text(); break;
      default: break;  // attributes that say nothing about who held the address
    }
    pos += alen;
  }
  if (!have_status) return RadiusDrop::no_status_type;
  out = std::move(r);
  return RadiusDrop::none;
}

std::array<std::uint8_t, 20> accounting_response(const RadiusAccountingRequest& req,
                                                 std::string_view secret) {
  // Response Authenticator = MD5(Code + Identifier + Length + Request Authenticator +
  // Attributes (none) + Secret)
  std::array<std::uint8_t, 20> out{kAccountingResponse, req.identifier, 0, 20};
  const auto auth = md5({std::span<const std::uint8_t>(out.data(), 4),
                         std::span<const std::uint8_t>(req.authenticator), bytes(secret)});
  std::copy(auth.begin(), auth.end(), out.begin() + 4);
  return out;
}

RadiusAccounting::RadiusAccounting(std::string secret, SharedIdentity& ids, Directory directory)
    : secret_(std::move(secret)), ids_(ids), directory_(std::move(directory)) {}

RadiusAccounting::~RadiusAccounting() { OPENSSL_cleanse(secret_.data(), secret_.size()); }

void RadiusAccounting::set_directory(Directory directory) {
  std::lock_guard lock(mu_);
  directory_ = std::move(directory);
}

RadiusCounters RadiusAccounting::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void RadiusAccounting::count_drop(RadiusDrop d) {
  switch (d) {
    case RadiusDrop::none: break;
    case RadiusDrop::truncated: ++counters_.truncated; break;
    case RadiusDrop::bad_length: ++counters_.bad_length; break;
    case RadiusDrop::not_accounting_request: ++counters_.not_accounting_request; break;
    case RadiusDrop::bad_authenticator: ++counters_.bad_authenticator; break;
    case RadiusDrop::bad_attribute: ++counters_.bad_attribute; break;
    case RadiusDrop::no_status_type: ++counters_.no_status_type; break;
  }
}

std::vector<std::uint8_t> RadiusAccounting::on_datagram(std::span<const std::uint8_t> datagram,
                                                        const std::string& nas,
                                                        std::uint64_t now_ns) {
  std::lock_guard lock(mu_);
  ++counters_.received;
  RadiusAccountingRequest req;
  if (const RadiusDrop d = parse_accounting_request(datagram, secret_, req); d != RadiusDrop::none) {
    count_drop(d);
    return {};
  }
  std::uint64_t t = now_ns;
  if (req.event_timestamp) {
    t = static_cast<std::uint64_t>(*req.event_timestamp) * 1'000'000'000ull;
  } else {
    const std::uint64_t delay = static_cast<std::uint64_t>(req.delay_time) * 1'000'000'000ull;
    t = now_ns > delay ? now_ns - delay : 0;
  }
  record(req, nas, t);
  ++counters_.answered;
  const auto resp = accounting_response(req, secret_);
  return {resp.begin(), resp.end()};
}

void RadiusAccounting::record(const RadiusAccountingRequest& req, const std::string& nas,
                              std::uint64_t t) {
  // Who the record names: the authenticated user, else the owner of the device.
  std::optional<Identity> who;
  IdentitySource source = IdentitySource::session;
  std::string user = req.user_name;
  if (const auto bs = user.find('\\'); bs != std::string::npos) user = user.substr(bs + 1);
  if (!user.empty() && !is_mac(user)) {
    who = Identity{user, directory_.department(user)};
  } else {
    const std::string device = !req.calling_station_id.empty() ? req.calling_station_id : user;
    if (const Identity* owner = device.empty() ? nullptr : directory_.owner(device)) {
      who = *owner;
      source = IdentitySource::dhcp;
    }
  }
  const std::string id = !req.session_id.empty() ? req.session_id
                         : req.framed_ip         ? req.framed_ip->str()
                                                 : std::string();
  const auto key = std::make_pair(nas, id);

  switch (req.status_type) {
    case kAcctStart:
    case kAcctInterimUpdate: {
      ++(req.status_type == kAcctStart ? counters_.starts : counters_.interims);
      if (const auto e = ended_.find(key); e != ended_.end()) {
        if (t < e->second) {
          ++counters_.stale;
          return;
        }
        ended_.erase(e);  // the NAS reuses the session id for a new session
      }
      if (!req.framed_ip || !who) {
        ++counters_.no_identity;
        return;
      }
      const Session next{*req.framed_ip, who->user, source};
      auto it = sessions_.find(key);
      if (it != sessions_.end() && it->second.ip == next.ip && it->second.user == next.user &&
          it->second.source == next.source) {
        ++counters_.unchanged;
        return;
      }
      ids_.update([&](IdentityTable& table) {
        // The session moved to another address or user: its old binding ends here.
        if (it != sessions_.end() &&
            table.end(it->second.ip, it->second.user, t, it->second.source)) {
          ++counters_.ended;
        }
        if (table.holds_open(next.ip, next.user, t, next.source)) {
          ++counters_.unchanged;  // bound before this process learned of the session
        } else {
          table.bind(next.ip, *who, t, IdentityTable::kForever, next.source);
          ++counters_.bound;
        }
      });
      sessions_[key] = next;
      return;
    }
    case kAcctStop: {
      ++counters_.stops;
      std::optional<Session> s;
      if (auto it = sessions_.find(key); it != sessions_.end()) {
        s = it->second;
        sessions_.erase(it);
      } else if (req.framed_ip && who) {
        s = Session{*req.framed_ip, who->user, source};
      }
      const bool ended = s && ids_.update([&](IdentityTable& table) {
        return table.end(s->ip, s->user, t, s->source);
      });
      remember_ended(key, t);
      ++(ended ? counters_.ended : counters_.stop_unmatched);
      return;
    }
    case kAcctOn:
    case kAcctOff: {
      ++counters_.nas_restarts;
      ids_.update([&](IdentityTable& table) {
        for (auto it = sessions_.lower_bound({nas, std::string()});
             it != sessions_.end() && it->first.first == nas;) {
          if (table.end(it->second.ip, it->second.user, t, it->second.source)) ++counters_.ended;
          remember_ended(it->first, t);
          it = sessions_.erase(it);
        }
      });
      return;
    }
    default: ++counters_.other_status; return;
  }
}

void RadiusAccounting::remember_ended(const SessionKey& key, std::uint64_t t) {
  const auto [it, inserted] = ended_.insert_or_assign(key, t);
  if (!inserted) return;  // already in the order
  ended_order_.push_back(key);
  while (ended_order_.size() > kEndedMemory) {
    ended_.erase(ended_order_.front());
    ended_order_.pop_front();
  }
}

Result<std::unique_ptr<RadiusAccountingListener>> RadiusAccountingListener::start(
    const std::string& listen, std::string secret, SharedIdentity& ids, Directory directory,
    std::vector<Cidr> allow) {
  if (secret.empty()) return make_error("radius_listen '" + listen + "': the shared secret is empty");
  std::unique_ptr<RadiusAccountingListener> l(new RadiusAccountingListener());
  l->logic_ = std::make_unique<RadiusAccounting>(std::move(secret), ids, std::move(directory));
  RadiusAccounting* logic = l->logic_.get();
  auto svc = UdpService::start("radius_listen", listen, std::move(allow),
                               [logic](std::span<const std::uint8_t> d, const std::string& peer,
                                       std::uint64_t now) { return logic->on_datagram(d, peer, now); });
  if (!svc) return svc.error();
  l->service_ = std::move(*svc);
  return l;
}

RadiusAccountingListener::~RadiusAccountingListener() { stop(); }
void RadiusAccountingListener::stop() {
  if (service_) service_->stop();
}
std::uint16_t RadiusAccountingListener::port() const { return service_->port(); }
RadiusCounters RadiusAccountingListener::counters() const {
  RadiusCounters c = logic_->counters();
  c.send_failed = service_->send_failures();
  c.internal_errors = service_->handler_failures();
  c.not_allowed = service_->not_allowed();
  c.received += c.not_allowed;
  return c;
}

// ---------------------------------------------------------------------------------------
// Syslog

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view next_field(std::string_view s, std::size_t& pos) {
  const std::size_t b = pos;
  while (pos < s.size() && s[pos] != ' ') ++pos;
  const std::string_view f = s.substr(b, pos - b);
  if (pos < s.size()) ++pos;  // the separating space
  return f;
}

// RFC 5424 STRUCTURED-DATA: "-" or one or more [ID PARAM="VALUE"...] with \" \\ \] escapes
// inside values. `pos` moves past it.
bool skip_structured_data(std::string_view s, std::size_t& pos) {
  if (pos < s.size() && s[pos] == '-') {
    ++pos;
    return true;
  }
  if (pos >= s.size() || s[pos] != '[') return false;
  while (pos < s.size() && s[pos] == '[') {
    bool quoted = false;
    for (++pos;; ++pos) {
      if (pos >= s.size()) return false;
      const char c = s[pos];
      if (quoted && c == '\\') {
        ++pos;  // the escaped character
      } else if (c == '"') {
        quoted = !quoted;
      } else if (!quoted && c == ']') {
        ++pos;
        break;
      }
    }
  }
  return true;
}

// "TAG: ", "TAG[PID]: " at the start of an RFC 3164 MSG.
std::size_t tag_length(std::string_view msg, std::string_view& tag) {
  std::size_t i = 0;
  while (i < msg.size() && i < 64 && msg[i] != ':' && msg[i] != '[' && msg[i] != ' ') ++i;
  if (i == 0 || i >= msg.size()) return 0;
  std::size_t j = i;
  if (msg[j] == '[') {
    const std::size_t close = msg.find(']', j);
    if (close == std::string_view::npos || close - j > 24) return 0;
    j = close + 1;
  }
  if (j >= msg.size() || msg[j] != ':') return 0;
  tag = msg.substr(0, i);
  ++j;
  if (j < msg.size() && msg[j] == ' ') ++j;
  return j;
}

std::string_view trim_view(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' ||
                        s.back() == '\t' || s.back() == '\0')) {
    s.remove_suffix(1);
  }
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

}  // namespace

bool parse_syslog(std::string_view d, SyslogMessage& out, std::string& why) {
  out = SyslogMessage{};
  // PRI: "<" 1*3DIGIT ">", at most 191 (facility 23, severity 7).
  std::size_t pos = 1;
  int pri = 0;
  if (d.empty() || d[0] != '<') {
    why = "no <PRI> at the start";
    return false;
  }
  while (pos < d.size() && pos < 4 && is_digit(d[pos])) pri = pri * 10 + (d[pos++] - '0');
  if (pos == 1 || pos >= d.size() || d[pos] != '>' || pri > 191) {
    why = "bad <PRI>";
    return false;
  }
  ++pos;
  out.facility = pri / 8;
  out.severity = pri % 8;
  const std::string_view rest = d.substr(pos);

  // RFC 5424: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]
  if (rest.size() >= 2 && rest[0] == '1' && rest[1] == ' ') {
    out.rfc5424 = true;
    std::size_t p = 2;
    const std::string_view stamp = next_field(rest, p);
    out.hostname = next_field(rest, p);
    out.app = next_field(rest, p);
    next_field(rest, p);  // PROCID
    next_field(rest, p);  // MSGID
    if (stamp.empty() || out.hostname.empty() || out.app.empty() || p >= rest.size()) {
      why = "RFC 5424 header incomplete";
      return false;
    }
    if (stamp != "-") {
      std::uint64_t ns = 0;
      if (!parse_iso8601(std::string(stamp), ns)) {
        why = "bad RFC 5424 TIMESTAMP";
        return false;
      }
      out.time_ns = ns;
    }
    if (out.hostname == "-") out.hostname = {};
    if (out.app == "-") out.app = {};
    if (!skip_structured_data(rest, p)) {
      why = "bad RFC 5424 STRUCTURED-DATA";
      return false;
    }
    std::string_view msg = p < rest.size() && rest[p] == ' ' ? rest.substr(p + 1) : std::string_view();
    if (msg.substr(0, 3) == "\xEF\xBB\xBF") msg.remove_prefix(3);  // BOM: the MSG is UTF-8
    out.body = trim_view(msg);
    return true;
  }

  // RFC 3164: [TIMESTAMP SP HOSTNAME SP] MSG, where MSG is often "TAG[PID]: CONTENT".
  std::string_view msg = rest;
  std::uint64_t ns = 0;
  std::size_t stamp_len = 0;
  std::string stamp_why;
  bool header = false;
  if (parse_syslog_stamp(rest, 1970, ns, stamp_len, stamp_why)) {
    header = true;  // no year and no zone: the time of arrival is the better clock
  } else {
    // Relays such as rsyslog may put an RFC 3339 stamp here instead.
    std::size_t p = 0;
    const std::string_view first = next_field(rest, p);
    if (!first.empty() && is_digit(first[0]) && parse_iso8601(std::string(first), ns)) {
      out.time_ns = ns;
      stamp_len = p;
      header = true;
    }
  }
  if (header) {
    msg = rest.substr(stamp_len);
    // A HOSTNAME, unless the sender left it out and the next word is already the tag.
    std::size_t p = 0;
    const std::string_view host = next_field(msg, p);
    if (!host.empty() && host.back() != ':' && host.find('[') == std::string_view::npos) {
      out.hostname = host;
      msg = msg.substr(p);
    }
  }
  std::string_view tag;
  if (const std::size_t n = tag_length(msg, tag); n > 0) {
    out.app = tag;
    msg = msg.substr(n);
  }
  out.body = trim_view(msg);
  return true;
}

SyslogIdentity::SyslogIdentity(SharedIdentity& ids, Directory directory)
    : ids_(ids), directory_(std::move(directory)) {}

void SyslogIdentity::set_directory(Directory directory) {
  std::lock_guard lock(mu_);
  directory_ = std::move(directory);
}

SyslogCounters SyslogIdentity::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void SyslogIdentity::on_datagram(std::string_view datagram, std::uint64_t now_ns) {
  std::lock_guard lock(mu_);
  ++counters_.received;
  SyslogMessage m;
  std::string why;
  if (!parse_syslog(datagram, m, why)) {
    ++counters_.bad_frame;
    return;
  }
  ImportStats st;
  MessageParse parsed = MessageParse::other;
  const bool dhcp = m.body.find("DHCPACK") != std::string_view::npos;
  if (dhcp) {
    DhcpAck ack;
    parsed = parse_dhcp_ack(m.body, ack, why);
    if (parsed == MessageParse::ok) {
      ids_.update([&](IdentityTable& t) {
        apply_dhcp_ack(t, directory_, ack, m.time_ns.value_or(now_ns), st);
      });
    }
  } else if (!m.body.empty() && m.body.front() == '{') {
    LogonEvent ev;
    parsed = parse_logon_event(m.body, ev, why);
    if (parsed == MessageParse::ok) {
      ids_.update([&](IdentityTable& t) { apply_logon_event(t, directory_, ev, st); });
    }
  }
  switch (parsed) {
    case MessageParse::malformed: ++(dhcp ? counters_.bad_dhcp : counters_.bad_logon); break;
    case MessageParse::other: ++counters_.ignored; break;
    case MessageParse::ok:
      counters_.bound += st.bindings;
      counters_.ended += st.ended;
      counters_.renewed += st.renewed;
      counters_.unowned += st.unowned;
      // A logoff for a session nobody opened changes nothing: it is not about a binding.
      if (st.bindings + st.ended + st.renewed + st.unowned == 0) ++counters_.ignored;
      break;
  }
}

Result<std::unique_ptr<SyslogIdentityReceiver>> SyslogIdentityReceiver::start(
    const std::string& listen, SharedIdentity& ids, Directory directory, std::vector<Cidr> allow) {
  std::unique_ptr<SyslogIdentityReceiver> r(new SyslogIdentityReceiver());
  r->logic_ = std::make_unique<SyslogIdentity>(ids, std::move(directory));
  SyslogIdentity* logic = r->logic_.get();
  auto svc = UdpService::start(
      "syslog_listen", listen, std::move(allow),
      [logic](std::span<const std::uint8_t> d, const std::string&, std::uint64_t now) {
        logic->on_datagram(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()), now);
        return std::vector<std::uint8_t>();
      });
  if (!svc) return svc.error();
  r->service_ = std::move(*svc);
  return r;
}

SyslogIdentityReceiver::~SyslogIdentityReceiver() { stop(); }
void SyslogIdentityReceiver::stop() {
  if (service_) service_->stop();
}
std::uint16_t SyslogIdentityReceiver::port() const { return service_->port(); }
SyslogCounters SyslogIdentityReceiver::counters() const {
  SyslogCounters c = logic_->counters();
  c.internal_errors = service_->handler_failures();
  c.not_allowed = service_->not_allowed();
  c.received += c.not_allowed;
  return c;
}

// ---------------------------------------------------------------------------------------
// Configuration and start-up

bool valid_listen_address(const std::string& text) {
  ListenAddress la;
  return parse_listen(text, la);
}

Result<std::string> read_secret_file(const std::string& path, const std::string& what) {
  const std::string where = what + " '" + path + "': ";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(where + "cannot open: " + std::strerror(errno));
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      OPENSSL_cleanse(buf, sizeof buf);
      OPENSSL_cleanse(text.data(), text.size());
      return make_error(where + "cannot read: " + std::strerror(e));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > 65536) {
      ::close(fd);
      OPENSSL_cleanse(text.data(), text.size());
      return make_error(where + "too large for a shared secret");
    }
  }
  ::close(fd);
  OPENSSL_cleanse(buf, sizeof buf);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.find_first_of("\r\n") != std::string::npos) {
    OPENSSL_cleanse(text.data(), text.size());
    return make_error(where + "more than one line (the secret is the file's one line)");
  }
  if (text.empty()) return make_error(where + "empty");
  return text;
}

void LiveIdentity::set_directory(const Directory& directory) {
  if (radius_) radius_->set_directory(directory);
  if (syslog_) syslog_->set_directory(directory);
}

void LiveIdentity::stop() {
  if (radius_) radius_->stop();
  if (syslog_) syslog_->stop();
}

namespace {

Result<std::vector<Cidr>> parse_allow(const std::string& what, const std::vector<std::string>& list) {
  std::vector<Cidr> out;
  for (const std::string& a : list) {
    Cidr c;
    if (!parse_cidr(a, c)) {
      return make_error(what + " '" + a + "': expected an address or a CIDR, e.g. 10.0.0.5 or 10.0.0.0/24");
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

Result<LiveIdentity> start_live_identity(const LiveIdentityConfig& cfg, SharedIdentity& ids,
                                         const Directory& directory) {
  auto radius_allow = parse_allow("radius_allow", cfg.radius_allow);
  if (!radius_allow) return radius_allow.error();
  auto syslog_allow = parse_allow("syslog_allow", cfg.syslog_allow);
  if (!syslog_allow) return syslog_allow.error();
  LiveIdentity live;
  if (!cfg.radius_listen.empty()) {
    if (cfg.radius_secret_file.empty()) {
      return make_error("radius_listen '" + cfg.radius_listen +
                        "': radius_secret_file is required (the shared secret is read from a file)");
    }
    auto secret = read_secret_file(cfg.radius_secret_file);
    if (!secret) return secret.error();
    auto r = RadiusAccountingListener::start(cfg.radius_listen, std::move(*secret), ids, directory,
                                             std::move(*radius_allow));
    if (!r) return r.error();
    live.radius_ = std::move(*r);
  } else if (!cfg.radius_secret_file.empty()) {
    return make_error("radius_secret_file '" + cfg.radius_secret_file +
                      "': set, but radius_listen is not");
  }
  if (!cfg.syslog_listen.empty()) {
    auto s = SyslogIdentityReceiver::start(cfg.syslog_listen, ids, directory,
                                           std::move(*syslog_allow));
    if (!s) return s.error();  // `live` stops the RADIUS listener on the way out
    live.syslog_ = std::move(*s);
  }
  return live;
}

}  // namespace dlp::mgmt
