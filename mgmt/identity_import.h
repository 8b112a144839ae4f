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

// "2024-03-04T09:00:00Z", "2024-03-04T09:00:00.123+01:00", "2024-03-04 09:00:00" (UTC).
bool parse_iso8601(const std::string& text, std::uint64_t& ns);
std::string normalise_device(const std::string& device);

}  // namespace dlp::mgmt
