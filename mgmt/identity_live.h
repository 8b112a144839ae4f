// Identity received over the network while the appliance runs: RADIUS accounting
// (RFC 2866) from VPN concentrators, wireless controllers and 802.1X switches, and syslog
// (RFC 3164 / RFC 5424 over UDP) from DHCP servers (ISC dhcpd, dnsmasq) and Windows event
// forwarders (logon 4624 / logoff 4634 as JSON). Both write into a SharedIdentity, which
// the finding path reads at the same time; each listener runs on its own thread.
//
//   SharedIdentity ids(std::move(table_loaded_from_files));
//   LiveIdentityConfig cfg{"127.0.0.1:1813", "/etc/dlpgate/radius.secret", "127.0.0.1:5514"};
//   auto live = start_live_identity(cfg, ids, directory);
//   if (!live) die(live.error().message);   // bad address, port in use, unreadable secret
//   ...
//   std::optional<Identity> who = ids.lookup(finding.src_ip, finding.ts_ns);
//   // destroying `live` stops both listeners
//
// Bindings rank as identity.h says: a RADIUS session naming a user and a logon are
// `session`, a device's owner (DHCPACK, RADIUS with only a MAC) is `dhcp`. Time is the
// event's own time where the message carries a full one (RADIUS Event-Timestamp, RFC 5424
// TIMESTAMP, the event's TimeCreated), else the time of arrival.
//
// Neither the RADIUS shared secret nor message contents ever appear in an error or a
// counter; what goes wrong with a datagram is a counted drop with a named reason.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/dlp/result.h"
#include "mgmt/identity.h"
#include "mgmt/identity_import.h"
#include "mgmt/policy.h"

namespace dlp::mgmt {

// ---------------------------------------------------------------------------------------
// SharedIdentity: one IdentityTable, written by the live listeners and read by the finding
// path. A reader/writer lock rather than snapshot publication: lookups happen once per
// finding (not per packet) and hold the lock for one map search, while writes arrive one
// binding at a time, so copying the whole table per write would cost more than it saves.
class SharedIdentity {
 public:
  SharedIdentity() = default;
  explicit SharedIdentity(IdentityTable initial) : table_(std::move(initial)) {}

  // A copy: the binding may change as soon as the lock is released.
  std::optional<Identity> lookup(const dataplane::IpAddr& ip, std::uint64_t ts_ns) const;
  std::size_t size() const;
  std::vector<IdentityTable::Entry> entries() const;

  // Runs f(IdentityTable&) under the writer lock (several changes as one step). What f
  // binds is marked live (identity.h), so replace_files() keeps it.
  template <class F>
  decltype(auto) update(F&& f) {
    std::unique_lock lock(mu_);
    struct Marking {
      IdentityTable& t;
      explicit Marking(IdentityTable& table) : t(table) { t.set_marking_live(true); }
      ~Marking() { t.set_marking_live(false); }
    } marking(table_);
    return std::forward<F>(f)(table_);
  }
  // The file and store sources were read again (a reload, `dlpctl identity import`): they
  // replace the earlier ones, and every live binding (as it stands now, ended or open)
  // is carried over into `files`, so the listeners' work survives. A live message that
  // ended a file binding (a logoff of a session from a file) is undone by this, since the
  // file says the session is open.
  void replace_files(IdentityTable files);
  // Runs f(const IdentityTable&) under a reader lock.
  template <class F>
  decltype(auto) read(F&& f) const {
    std::shared_lock lock(mu_);
    return std::forward<F>(f)(static_cast<const IdentityTable&>(table_));
  }

 private:
  mutable std::shared_mutex mu_;
  IdentityTable table_;
};

// ---------------------------------------------------------------------------------------
// RADIUS accounting (RFC 2866).

// Why an Accounting-Request was dropped (never answered), checked in this order.
enum class RadiusDrop : std::uint8_t {
  none = 0,
  truncated,               // shorter than 20 octets or than its own Length field
  bad_length,              // Length field below 20 or above 4096
  not_accounting_request,  // a code other than 4
  bad_authenticator,       // the Request Authenticator does not verify: wrong secret, altered
  bad_attribute,           // an attribute shorter than 2, past the end, of the wrong size for
                           // its type, or a User-Name that is not printable UTF-8
  no_status_type,          // verified, but without the Acct-Status-Type RFC 2866 requires
};
const char* radius_drop_name(RadiusDrop d);

enum RadiusStatusType : std::uint32_t {
  kAcctStart = 1,
  kAcctStop = 2,
  kAcctInterimUpdate = 3,
  kAcctOn = 7,   // the NAS (re)started: its earlier sessions are over
  kAcctOff = 8,  // the NAS is going down: its sessions are over
};

// The attributes of an Accounting-Request that say who held which address.
struct RadiusAccountingRequest {
  std::uint8_t identifier = 0;
  std::array<std::uint8_t, 16> authenticator{};
  std::uint32_t status_type = 0;                 // Acct-Status-Type (40)
  std::string user_name;                         // User-Name (1)
  std::string session_id;                        // Acct-Session-Id (44)
  std::string calling_station_id;                // Calling-Station-Id (31): usually the MAC
  std::optional<dataplane::IpAddr> framed_ip;    // Framed-IP-Address (8) / Framed-IPv6-Address (168)
  std::optional<std::uint32_t> event_timestamp;  // Event-Timestamp (55), seconds since 1970 UTC
  std::uint32_t delay_time = 0;                  // Acct-Delay-Time (41), seconds
};

// Checks and reads one datagram. Octets past the Length field are padding (RFC 2865 §3).
RadiusDrop parse_accounting_request(std::span<const std::uint8_t> datagram,
                                    std::string_view secret, RadiusAccountingRequest& out);
// The 20-octet Accounting-Response (code 5, no attributes) for a verified request.
std::array<std::uint8_t, 20> accounting_response(const RadiusAccountingRequest& req,
                                                 std::string_view secret);

struct RadiusCounters {
  std::uint64_t received = 0;  // datagrams read
  std::uint64_t answered = 0;  // verified and acknowledged with an Accounting-Response
  std::uint64_t starts = 0, interims = 0, stops = 0, nas_restarts = 0, other_status = 0;
  std::uint64_t bound = 0;        // bindings added
  std::uint64_t ended = 0;        // bindings ended (Stop, Accounting-On/Off)
  std::uint64_t unchanged = 0;    // a retransmitted Start or an Interim-Update of a bound session
  std::uint64_t no_identity = 0;  // verified but names no usable address, or nobody: answered, unbound
  std::uint64_t stop_unmatched = 0;  // a Stop for a session that has no open binding
  std::uint64_t stale = 0;  // a Start/Interim of a session already stopped: answered, unbound
  std::uint64_t send_failed = 0;     // the response could not be sent
  std::uint64_t internal_errors = 0;  // a datagram lost to an exception (out of memory)
  // Dropped, unanswered, by reason (RadiusDrop).
  std::uint64_t not_allowed = 0;  // from an address outside radius_allow
  std::uint64_t truncated = 0, bad_length = 0, not_accounting_request = 0,
                bad_authenticator = 0, bad_attribute = 0, no_status_type = 0;
  std::uint64_t dropped() const {
    return not_allowed + truncated + bad_length + not_accounting_request + bad_authenticator +
           bad_attribute + no_status_type;
  }
};

// The protocol and its bindings, without a socket (the listener below adds one). Who is
// bound: the User-Name (DOMAIN\ removed, department from the directory) as a session; if
// there is none, or it is a MAC (MAC authentication), the directory's owner of the
// Calling-Station-Id (or of that MAC) as a device owner. Sessions are tracked by NAS and
// Acct-Session-Id, so a retransmission or an Interim-Update adds nothing, a Stop ends what
// its Start bound even when it carries fewer attributes, and Accounting-On/Off ends every
// session of that NAS; a Start or Interim-Update of a session that already stopped (late,
// or replayed: RFC 2866 has no replay protection) binds nothing. A request is answered
// only once it is verified and recorded. The sender is not checked here: the listener's
// allow list does that before a datagram reaches on_datagram().
class RadiusAccounting {
 public:
  RadiusAccounting(std::string secret, SharedIdentity& ids, Directory directory);
  ~RadiusAccounting();  // wipes the secret
  RadiusAccounting(const RadiusAccounting&) = delete;
  RadiusAccounting& operator=(const RadiusAccounting&) = delete;

  // One datagram from the NAS at address `nas`, received at `now_ns` (UTC): the response
  // to send back, or empty (dropped and counted).
  std::vector<std::uint8_t> on_datagram(std::span<const std::uint8_t> datagram,
                                        const std::string& nas, std::uint64_t now_ns);
  RadiusCounters counters() const;
  // The directory read again (a reload): used from the next datagram on.
  void set_directory(Directory directory);

 private:
  struct Session {
    dataplane::IpAddr ip;
    std::string user;
    IdentitySource source;
  };
  void record(const RadiusAccountingRequest& req, const std::string& nas, std::uint64_t t_ns);
  void count_drop(RadiusDrop d);

  std::string secret_;
  SharedIdentity& ids_;
  Directory directory_;
  mutable std::mutex mu_;  // counters_ and sessions_: read by counters() from other threads
  RadiusCounters counters_;
  using SessionKey = std::pair<std::string, std::string>;  // (NAS, Acct-Session-Id)
  std::map<SessionKey, Session> sessions_;
  // Sessions that stopped, and when, so a Start or Interim-Update of theirs arriving later
  // (reordered, retransmitted, replayed) cannot bring them back. The oldest are forgotten
  // past kEndedMemory.
  static constexpr std::size_t kEndedMemory = 65536;
  std::map<SessionKey, std::uint64_t> ended_;
  std::deque<SessionKey> ended_order_;
  void remember_ended(const SessionKey& key, std::uint64_t t);
};

class UdpService;  // identity_live.cc: a bound socket and its poll() thread

// RadiusAccounting on a UDP socket and its own thread.
class RadiusAccountingListener {
 public:
  // Binds `listen` ("127.0.0.1:1813", "[::]:1813"; port 0 takes a free one) and starts
  // the thread. Errors name the address and why (never the secret).
  static Result<std::unique_ptr<RadiusAccountingListener>> start(const std::string& listen,
                                                                 std::string secret,
                                                                 SharedIdentity& ids,
                                                                 Directory directory,
                                                                 std::vector<Cidr> allow = {});
  ~RadiusAccountingListener();  // stop()
  void stop();                  // returns once the thread has ended; idempotent
  std::uint16_t port() const;   // the bound port
  RadiusCounters counters() const;
  void set_directory(Directory directory) { logic_->set_directory(std::move(directory)); }

 private:
  RadiusAccountingListener() = default;
  std::unique_ptr<RadiusAccounting> logic_;
  std::unique_ptr<UdpService> service_;
};

// ---------------------------------------------------------------------------------------
// Syslog (UDP, one message per datagram).

// One syslog message, framing removed. Views point into the datagram.
struct SyslogMessage {
  bool rfc5424 = false;
  int facility = 1, severity = 5;
  // From the header when it carries a year and a zone (RFC 5424, or an RFC 3339 stamp in
  // place of the RFC 3164 one); a classic RFC 3164 stamp has neither, so it is not used.
  std::optional<std::uint64_t> time_ns;
  std::string_view hostname, app, body;
};
// RFC 5424 ("<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG", structured data skipped) or
// RFC 3164 ("<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG", with the stamp, host or tag
// missing as senders do). False (with `why`) if there is no <PRI> or a 5424 header is broken.
bool parse_syslog(std::string_view datagram, SyslogMessage& out, std::string& why);

struct SyslogCounters {
  std::uint64_t received = 0;   // datagrams read
  std::uint64_t bound = 0;      // bindings added (DHCPACK, logon)
  std::uint64_t ended = 0;      // sessions ended by a logoff
  std::uint64_t renewed = 0;    // a DHCPACK for the owner already holding the address
  std::uint64_t unowned = 0;    // a DHCPACK for a device the directory does not know
  std::uint64_t ignored = 0;    // a message that is not about identity
  // Dropped, by reason: from an address outside syslog_allow; no <PRI> or a broken RFC 5424
  // header; a DHCPACK in no known form; a logon event that is not a JSON object or has no
  // readable TimeCreated.
  std::uint64_t not_allowed = 0, bad_frame = 0, bad_dhcp = 0, bad_logon = 0;
  std::uint64_t internal_errors = 0;  // a datagram lost to an exception (out of memory)
  std::uint64_t dropped() const { return not_allowed + bad_frame + bad_dhcp + bad_logon; }
};

// Routes each message body to the parser of its format (identity_import.h): a DHCPACK
// (dhcpd or dnsmasq) or a JSON logon/logoff event. Time: the event's TimeCreated for
// logons; for DHCPACKs the header's time if it has a full one, else the time of arrival.
class SyslogIdentity {
 public:
  SyslogIdentity(SharedIdentity& ids, Directory directory);
  void on_datagram(std::string_view datagram, std::uint64_t now_ns);
  SyslogCounters counters() const;
  void set_directory(Directory directory);

 private:
  SharedIdentity& ids_;
  Directory directory_;
  mutable std::mutex mu_;
  SyslogCounters counters_;
};

// SyslogIdentity on a UDP socket and its own thread.
class SyslogIdentityReceiver {
 public:
  static Result<std::unique_ptr<SyslogIdentityReceiver>> start(const std::string& listen,
                                                               SharedIdentity& ids,
                                                               Directory directory,
                                                               std::vector<Cidr> allow = {});
  ~SyslogIdentityReceiver();
  void stop();
  std::uint16_t port() const;
  SyslogCounters counters() const;
  void set_directory(Directory directory) { logic_->set_directory(std::move(directory)); }

 private:
  SyslogIdentityReceiver() = default;
  std::unique_ptr<SyslogIdentity> logic_;
  std::unique_ptr<UdpService> service_;
};

// ---------------------------------------------------------------------------------------
// Configuration and start-up.

// The run configuration's live identity sources (YAML shape in mgmt/README.md). An empty
// listen address leaves that source off.
struct LiveIdentityConfig {
  std::string radius_listen;       // ADDRESS:PORT, e.g. 127.0.0.1:1813 or [::]:1813
  std::string radius_secret_file;  // the RADIUS shared secret, one line; never on a command line
  std::string syslog_listen;       // ADDRESS:PORT, e.g. 127.0.0.1:5514
  // The senders each listener takes (addresses or CIDRs); empty: any that can reach it.
  std::vector<std::string> radius_allow, syslog_allow;
};

// The running listeners; destroying it stops them.
class LiveIdentity {
 public:
  LiveIdentity() = default;
  LiveIdentity(LiveIdentity&&) noexcept = default;
  LiveIdentity& operator=(LiveIdentity&&) noexcept = default;
  ~LiveIdentity() { stop(); }
  void stop();
  // The directory read again (a reload): both listeners use it from their next datagram.
  void set_directory(const Directory& directory);
  const RadiusAccountingListener* radius() const { return radius_.get(); }  // nullptr: off
  const SyslogIdentityReceiver* syslog() const { return syslog_.get(); }    // nullptr: off

 private:
  friend Result<LiveIdentity> start_live_identity(const LiveIdentityConfig&, SharedIdentity&,
                                                  const Directory&);
  std::unique_ptr<RadiusAccountingListener> radius_;
  std::unique_ptr<SyslogIdentityReceiver> syslog_;
};

// Starts what `cfg` names; all or nothing. Errors: "radius_listen 'x': ..." (not
// ADDRESS:PORT, port in use, address not on this host, permission), "radius_secret_file
// '/path': ..." (missing, unreadable, empty), a RADIUS listener without a secret file.
// The directory is copied; LiveIdentity::set_directory() hands the listeners a new one.
Result<LiveIdentity> start_live_identity(const LiveIdentityConfig& cfg, SharedIdentity& ids,
                                         const Directory& directory);

// The shared secret from `path`: the file's one line, without its line end (a file with
// more lines, or an empty one, is refused). The error names the path and the reason only.
// `what` names the setting in the error.
Result<std::string> read_secret_file(const std::string& path,
                                     const std::string& what = "radius_secret_file");
// Whether `text` is a listen address start_live_identity takes: a numeric IPv4 or
// bracketed IPv6 address and a port, "127.0.0.1:1813", "0.0.0.0:5514", "[::]:1813".
bool valid_listen_address(const std::string& text);

}  // namespace dlp::mgmt
