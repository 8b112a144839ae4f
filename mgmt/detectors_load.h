// Detector packs to a compiled database, for every command that scans: the built-in
// packs, then the operator's, merged (duplicate ids refused), compiled or taken from the
// cache. Errors name the pack, the line and the reason.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/dlp/result.h"
#include "signatures/scanner.h"

namespace dlp::mgmt {

Result<std::shared_ptr<const signatures::Database>> compile_detectors(
    const std::vector<std::string>& extra_packs, const signatures::HashKey& key,
    const std::string& cache_dir, signatures::DbMode mode = signatures::DbMode::stream);

// A fresh random key for the keyed value hashes of one run.
Result<signatures::HashKey> random_hash_key();

}  // namespace dlp::mgmt
