// Identity sources beyond the static CSV: who owns which device (a directory export),
// which device held which address when (DHCP: ISC dhcpd lease files, dhcpd and dnsmasq
// syslog lines), and who was logged on at an address (Windows logon events 4624/4634 as
// JSON lines). Each parser adds timed bindings to an IdentityTable, tagged with its
// source so the table's rule can rank them (identity.h). Errors name file, line, reason;
// a file with an error adds nothing.
//
//   Directory dir;
//   dir.load("directory.csv");                          // user,department,devices
//   IdentityTable ids;
//   import_dhcp_leases(ids, dir, "dhcpd.leases");       // lease: address -> MAC/host -> owner
//   import_dhcp_syslog(ids, dir, "dhcpd.log", 2024);    // DHCPACK lines (syslog has no year)
//   import_logon_events(ids, dir, "logons.jsonl");      // 4624 starts, 4634 ends a session
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/dlp/result.h"
#include "mgmt/identity.h"

namespace dlp::mgmt {

// People and their devices, from a directory export: `user,department,devices` with
// devices separated by ';' (host names or MAC addresses, any case, MACs with : or -).
class Directory {
 public:
  Result<void> load(const std::string& path);
  Result<void> parse(const std::string& text, const std::string& origin);
  // The owner of a device (MAC or host name), or nullptr.
  const Identity* owner(const std::string& device) const;
  // A known user's department, or "".
  std::string department(const std::string& user) const;
  std::size_t users() const { return departments_.size(); }

 private:
  std::map<std::string, Identity> devices_;         // normalised device -> owner
  std::map<std::string, std::string> departments_;  // user -> department
};

struct ImportStats {
  std::size_t bindings = 0;   // added to the table
  std::size_t unowned = 0;    // a device the directory does not know: no binding
  std::size_t ended = 0;      // sessions closed by a logoff
  std::size_t renewed = 0;    // a DHCPACK for the owner already holding the address: no new binding
};

Result<ImportStats> import_dhcp_leases(IdentityTable& ids, const Directory& dir,
                                       const std::string& path);
// dhcpd ("DHCPACK on IP to MAC (HOST) via IF") and dnsmasq ("DHCPACK(IF) IP MAC HOST")
// lines; the lease holds from the line's time until the address is given to another
// device. `year` completes the syslog time stamp, which has none.
Result<ImportStats> import_dhcp_syslog(IdentityTable& ids, const Directory& dir,
                                       const std::string& path, int year);
Result<ImportStats> import_logon_events(IdentityTable& ids, const Directory& dir,
                                        const std::string& path);

// The same parsers over text already in memory (a file read by dlpctl and sent to the
// daemon, one syslog message); `origin` names it in errors.
Result<ImportStats> import_dhcp_leases_text(IdentityTable& ids, const Directory& dir,
                                            const std::string& text, const std::string& origin);
Result<ImportStats> import_dhcp_syslog_text(IdentityTable& ids, const Directory& dir,
                                            const std::string& text, const std::string& origin,
                                            int year);
Result<ImportStats> import_logon_events_text(IdentityTable& ids, const Directory& dir,
                                             const std::string& text, const std::string& origin);
// Whether a DHCP file is an ISC lease database (else: syslog lines).
bool looks_like_lease_file(const std::string& text);

// One message of each format, parsed once. The file importers above and the live syslog
// receiver (identity_live.h) both go through these, so each format has exactly one parser;
// they are hand-written over views (no std::regex, whose recursion a long hostile token
// could exhaust) and never throw.
enum class MessageParse : std::uint8_t {
  ok,         // `out` is filled
  other,      // not this kind of message (DHCPREQUEST, event 4688, a machine account)
  malformed,  // this kind of message, but it cannot be read: `why` says what is wrong
};

// dhcpd "DHCPACK on IP to MAC [(HOST)] via IF" or dnsmasq "DHCPACK(IF) IP MAC [HOST]",
// anywhere in `text`.
struct DhcpAck {
  dataplane::IpAddr ip;
  std::string mac, host;  // host may be empty
};
MessageParse parse_dhcp_ack(std::string_view text, DhcpAck& out, std::string& why);
// The device's owner holds the address from `t_ns` until the address is given to another
// device (open-ended; the latest binding wins). A renewal by the device whose owner already
// holds the address adds nothing.
void apply_dhcp_ack(IdentityTable& ids, const Directory& dir, const DhcpAck& ack,
                    std::uint64_t t_ns, ImportStats& st);

// A Windows logon (4624) or logoff (4634) as one JSON object with TimeCreated, EventID,
// TargetUserName and IpAddress. Other events, machine accounts (NAME$) and logons without
// a network address are `other`.
struct LogonEvent {
  bool logon = true;  // 4624; false: 4634
  dataplane::IpAddr ip;
  std::string user;   // DOMAIN\ prefix removed
  std::uint64_t t_ns = 0;
};
MessageParse parse_logon_event(std::string_view json, LogonEvent& out, std::string& why);
// A logon opens a session binding (department from the directory); a logoff ends it.
void apply_logon_event(IdentityTable& ids, const Directory& dir, const LogonEvent& ev,
                       ImportStats& st);

// The RFC 3164 time stamp "Mmm dd hh:mm:ss " at the start of `text`, completed with
// `year` and read as UTC. `length` is what it took, the space after it included. False
// (with `why`) if `text` does not start with one.
bool parse_syslog_stamp(std::string_view text, int year, std::uint64_t& ns,
                        std::size_t& length, std::string& why);

// "2024-03-04T09:00:00Z", "2024-03-04T09:00:00.123+01:00", "2024-03-04 09:00:00" (UTC).
bool parse_iso8601(const std::string& text, std::uint64_t& ns);
// Lower case; a MAC in any usual spelling (00-16-3E-01-02-03, 00:16:3e:01:02:03,
// 00163e010203, 0016.3e01.0203) becomes 00:16:3e:01:02:03, so a directory entry and a
// RADIUS Calling-Station-Id or DHCP log name the same device the same way.
std::string normalise_device(const std::string& device);

}  // namespace dlp::mgmt
