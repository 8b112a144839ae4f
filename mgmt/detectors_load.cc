#include "mgmt/detectors_load.h"

#include <openssl/rand.h>

#include "signatures/detector.h"

namespace dlp::mgmt {

Result<std::shared_ptr<const signatures::Database>> compile_detectors(
    const std::vector<std::string>& extra_packs, const signatures::HashKey& key,
    const std::string& cache_dir, signatures::DbMode mode) {
  std::vector<signatures::DetectorSet> sets{signatures::builtin_detectors()};
  for (const auto& path : extra_packs) {
    auto pack = signatures::load_pack_file(path);
    if (!pack) return pack.error();
    sets.push_back(std::move(*pack));
  }
  auto merged = signatures::merge(std::move(sets));
  if (!merged) return merged.error();
  return signatures::Database::compile(*merged, key, mode, cache_dir);
}

Result<signatures::HashKey> random_hash_key() {
  signatures::HashKey key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    return make_error("cannot get random bytes for the value-hash key");
  }
  return key;
}

}  // namespace dlp::mgmt
