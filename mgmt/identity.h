// Identity: who held an IP address at a given packet time.
//
// Bindings are intervals [start, end) per address; a static CSV row binds for all time.
// Later sources (DHCP, logon events, RADIUS, in-band hints) add timed bindings to the
// same table, so a lookup always answers "who had this address at that moment".
//
//   IdentityTable ids;
//   if (auto r = ids.load_csv("identity.csv"); !r) die(r.error().message);  // file:line: why
//   const Identity* who = ids.lookup(ip, ts_ns);   // nullptr: unknown
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "common/dlp/result.h"
#include "dataplane/packet.h"

namespace dlp::mgmt {

struct Identity {
  std::string user;
  std::string department;
};

// Where a binding came from, weakest first. When bindings of several sources cover the
// same moment, the strongest source wins (a logon session names the person at the
// keyboard; a DHCP lease names the device's owner; a static row is a default); within a
// source the binding that started last wins (the address was reassigned).
//
// The live sources (identity_live.h) rank the same way: a RADIUS accounting session that
// names a user is a `session`; one that names only a device (Calling-Station-Id, MAC
// authentication) binds the device's owner as `dhcp`; syslog DHCPACKs are `dhcp` and
// logon events over syslog are `session`. A file import and a live message of the same
// kind are therefore indistinguishable to lookup.
//
// The user named in-band by the flow itself (HTTP Basic auth, SMTP AUTH, FTP USER) is not a
// binding: attributed_user() (finding_json.h) falls back to it only when this table has
// nobody for the address at that moment.
enum class IdentitySource : std::uint8_t { static_map = 1, dhcp = 2, session = 3 };

class IdentityTable {
 public:
  static constexpr std::uint64_t kForever = std::numeric_limits<std::uint64_t>::max();

  // CSV with a header row naming at least `ip` and `user` (and optionally `department`),
  // in any column order. Blank lines and lines starting with '#' are skipped. Errors name
  // the file and line; nothing is added from a file that has an error.
  Result<void> load_csv(const std::string& path);
  Result<void> parse_csv(const std::string& text, const std::string& origin);

  void bind(const dataplane::IpAddr& ip, Identity who, std::uint64_t start_ns = 0,
            std::uint64_t end_ns = kForever,
            IdentitySource source = IdentitySource::static_map);
  // Ends, at `end_ns`, the open binding of `ip` from `source` whose user is `user` (a
  // logoff, a RADIUS Stop). False if there is none.
  bool end(const dataplane::IpAddr& ip, const std::string& user, std::uint64_t end_ns,
           IdentitySource source);
  // The binding in force at `ts_ns`: the strongest source, then the one that started last.
  const Identity* lookup(const dataplane::IpAddr& ip, std::uint64_t ts_ns) const;
  // Whether the binding of `source` in force at `ts_ns` is `user`'s and open-ended, so a
  // repeated announcement (a DHCP renewal, a retransmitted RADIUS Start) has nothing to add.
  bool holds_open(const dataplane::IpAddr& ip, const std::string& user, std::uint64_t ts_ns,
                  IdentitySource source) const;
  std::size_t size() const { return count_; }
  std::size_t live_size() const { return live_count_; }  // of size(), those marked live
  // How many bindings `ip` has, in force or not (what a lookup chose among).
  std::size_t bindings_of(const dataplane::IpAddr& ip) const;

  // While on, the bindings added are marked `live`: received by a listener while running
  // (identity_live.h), not read from a file or the store. A rebuild of the file sources
  // (a reload) carries the live ones over instead of forgetting them.
  void set_marking_live(bool on) { marking_live_ = on; }

  // Every binding, by address then start (for the store and `dlpctl identity list`).
  struct Entry {
    dataplane::IpAddr ip;
    Identity who;
    std::uint64_t start_ns = 0, end_ns = kForever;
    IdentitySource source = IdentitySource::static_map;
    bool live = false;
  };
  std::vector<Entry> entries() const;

 private:
  struct Binding {
    std::uint64_t start_ns, end_ns;
    Identity who;
    IdentitySource source;
    bool live;
  };
  std::map<dataplane::IpAddr, std::vector<Binding>> by_ip_;  // each sorted by start
  std::size_t count_ = 0;
  bool marking_live_ = false;
  std::size_t live_count_ = 0;
};

const char* identity_source_name(IdentitySource s);  // static | dhcp | session
bool parse_identity_source(const std::string& name, IdentitySource& out);

// Parse "10.0.0.1" or "2001:db8::1". False if it is neither.
bool parse_ip(const std::string& text, dataplane::IpAddr& out);

}  // namespace dlp::mgmt
