// The exact-data-match tools behind `dlpctl edm ...`: build an index from a customer CSV,
// describe an index file, and try an index on a text or file. Nothing here prints a cell
// value: only counts, column names and masked matches.
//
//   dlpctl edm index customers.csv --out customers.edm [--min-length 4]
//   dlpctl edm info customers.edm
//   dlpctl edm test customers.edm (--text T | FILE) [--min-fields 3] [--window 512]
#pragma once

#include <iosfwd>
#include <string>

#include "signatures/edm.h"

namespace dlp::mgmt {

// Each returns a process exit status: 0 ok, 1 rows found (test only), 2 error.
int edm_index(const std::string& csv_path, const std::string& out_path,
              const signatures::EdmBuildOptions& opts, bool json, std::ostream& out,
              std::ostream& err);
int edm_info(const std::string& index_path, bool json, std::ostream& out, std::ostream& err);
int edm_test(const std::string& index_path, const std::string& text,
             const signatures::EdmConfig& config, bool json, std::ostream& out,
             std::ostream& err);

}  // namespace dlp::mgmt
