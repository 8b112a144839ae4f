// The management verbs of `dlpctl` (status, users, user, incidents, policy, identity,
// audit, reload): option parsing, routing and output. bin/dlpctl_main.cc only calls it.
//
// Routing: a verb goes to the running daemon over the control socket (--socket, default
// $DLPGATE_SOCKET or /run/dlpgate/dlpgate.sock) when one listens there, and otherwise
// runs on the store directly (--store, default $DLPGATE_STORE or ./dlpgate.db, the file
// `dlpgate scan` writes). An explicit --store without --socket means that store, directly.
// Both paths run the same requests (mgmt/requests.h) and print the same output.
//
//   int rc = run_dlpctl("users", {"top", "--store", "x.db", "--json"}, std::cout, std::cerr);
//
// Exit status: 0 done; 1 a negative answer (audit verification failed, nothing to
// reload, no such incident or user); 2 a usage or store error.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace dlp::mgmt {

bool is_dlpctl_noun(const std::string& noun);
int run_dlpctl(const std::string& noun, const std::vector<std::string>& args, std::ostream& out,
               std::ostream& err);
extern const char* const kDlpctlUsage;

}  // namespace dlp::mgmt
