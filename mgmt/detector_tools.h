// The tuning tools behind `dlpctl detectors ...`: list the detectors, test them on a
// file or a text, check a pack. Output is masked exactly like findings.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace dlp::mgmt {

// Each returns a process exit status (0 ok, 1 findings present for test, 2 error).
int detectors_list(const std::vector<std::string>& extra_packs, bool json, std::ostream& out,
                   std::ostream& err);
int detectors_test(const std::vector<std::string>& extra_packs, const std::string& text,
                   bool json, std::ostream& out, std::ostream& err);
int detectors_check(const std::string& pack_path, std::ostream& out, std::ostream& err);

}  // namespace dlp::mgmt
