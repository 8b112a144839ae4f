// The Finding contract of DESIGN.md as one JSON object per line. Field names follow
// OCSF's Data Security Finding where one exists, flattened with dots ("http.host").
// Only masked values and keyed hashes are ever written.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "dataplane/finding.h"
#include "mgmt/identity.h"
#include "signatures/redact.h"

namespace dlp::mgmt {

// ISO-8601 UTC with microseconds: 2026-11-23T20:47:36.123456Z
std::string iso8601_utc(std::uint64_t ts_ns);

struct Decision {
  std::string action = "alert";  // allow | alert | block
  int risk_score = 0;
};

// Who a finding is attributed to: the identity in force at packet time, else the user
// named in-band (Basic auth, SMTP AUTH, FTP USER), else "unknown".
std::string attributed_user(const dataplane::Finding& f, const Identity* who);

// Free text a sender chooses (URL, host, form field, file name, subject, notes) can carry
// the data itself: mask detector matches in it before it leaves with the finding. Who sent
// and where it went (envelope, in-band user, server names) stay as they are.
void redact_metadata(signatures::Redactor& r, inspectors::ContentMeta& m);

nlohmann::ordered_json finding_to_json(const dataplane::Finding& f, const Identity* who,
                               const Decision& decision);

}  // namespace dlp::mgmt
