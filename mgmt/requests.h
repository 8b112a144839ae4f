// The management requests behind `dlpctl` verbs, as JSON in and JSON out: the same code
// runs in the daemon (for a request that came over the control socket, mgmt/control.h)
// and in dlpctl itself (straight on the store, when no daemon is running).
//
// A request is an object with "cmd" and its arguments; the reply has "ok": true and the
// result, or "ok": false and "error" (a sentence a person can act on).
//
//   cmd               arguments                          result
//   status            -                                  "store": StoreSummary
//   users.top         limit                              "users": [UserRecord]
//   user.show         user, limit                        "user", "timeline" (oldest first),
//                                                        "baselines", "incidents"
//   incidents.list    status (open|acknowledged), user, limit   "incidents"
//   incident.show     id                                 "incident", "findings"
//   incident.ack      id, note                           "incident" (audited)
//   policy.check      text, origin                       "rules", "default"
//   policy.apply      text, origin                       "policy": PolicyVersion (audited)
//   policy.show       history                            "policy" (with source), "history"
//   identity.import   identity_csv, directory: {origin, text}; dhcp_logs, logon_events:
//                     [{origin, text}]; dhcp_year        "bindings", "unowned", "ended" (audited)
//   identity.list     ip                                 "bindings"
//   identity.lookup   ip, time (ISO-8601, epoch seconds or "now")   "identity" or null
//   audit.verify      -                                  "verdict": AuditVerdict
//   audit.log         limit                              "entries"
//
// Changes are recorded in the audit log under `who` (the control socket's peer uid, or
// the uid running dlpctl).
#pragma once

#include <nlohmann/json.hpp>

#include "mgmt/store.h"

namespace dlp::mgmt {

// `store` may be null only for requests that need none (policy.check); others then fail.
nlohmann::json run_request(Store* store, const nlohmann::json& request, const Caller& who);

// `identity.lookup` answered from `ids` (the running daemon's table: files, store and live
// sources) instead of the store's bindings; the same reply.
nlohmann::json identity_lookup_in(const nlohmann::json& request, const IdentityTable& ids);

// The commands run_request knows, for the control server's registry.
const std::vector<std::string>& store_request_names();

}  // namespace dlp::mgmt
