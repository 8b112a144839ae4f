// What a scan or a running daemon hands to the store (mgmt/store.h): the records built
// from the analyzer's state and from each finding. Shared by `dlpgate scan` (one ingest at
// the end) and `dlpgate run` (an ingest every few seconds under one run id, which the store
// makes idempotent: incidents are updated in place, users and baselines replaced).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataplane/finding.h"
#include "mgmt/analyzer.h"
#include "mgmt/identity.h"
#include "mgmt/store.h"

namespace dlp::mgmt {

// 16 hex digits from the system's random source (a wall-clock number if it fails).
std::string new_run_id();

// The stored form of one finding: masked values and the JSON document as written.
FindingRecord finding_record(const dataplane::Finding& f, const std::string& user,
                             const std::string& department, const AnalyzerDecision& ad,
                             const nlohmann::ordered_json& doc);

// Who was seen, with their department and the packet time of their last finding; kept
// across a whole run so that a user with no new finding in a batch keeps both.
class UserSightings {
 public:
  void add(const FindingRecord& f);
  std::vector<UserRecord> records(const Analyzer& a) const;

 private:
  std::map<std::string, std::pair<std::string, std::uint64_t>> seen_;  // user -> dept, last
};

std::vector<IncidentRecord> incident_records(const Analyzer& a);
std::vector<BaselineRecord> baseline_records(const Analyzer& a);

// `origin(source)` names where a binding of that source came from (a file, a listener).
std::vector<BindingRecord> binding_records(
    const IdentityTable& ids, const std::function<std::string(IdentitySource)>& origin);

}  // namespace dlp::mgmt
