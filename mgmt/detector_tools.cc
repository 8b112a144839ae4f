#include "mgmt/detector_tools.h"

#include <openssl/rand.h>

#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "signatures/detector.h"
#include "signatures/scanner.h"

namespace dlp::mgmt {
namespace {

Result<signatures::DetectorSet> load_all(const std::vector<std::string>& extra_packs) {
  std::vector<signatures::DetectorSet> sets{signatures::builtin_detectors()};
  for (const auto& path : extra_packs) {
    auto pack = signatures::load_pack_file(path);
    if (!pack) return pack.error();
    sets.push_back(std::move(*pack));
  }
  return signatures::merge(std::move(sets));
}

std::string_view mask_name(signatures::MaskRule m) {
  return m == signatures::MaskRule::first6_last4 ? "first6_last4" : "last4";
}

}  // namespace

int detectors_list(const std::vector<std::string>& extra_packs, bool json, std::ostream& out,
                   std::ostream& err) {
  auto set = load_all(extra_packs);
  if (!set) {
    err << "dlpctl: " << set.error().message << "\n";
    return 2;
  }
  if (json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& d : set->detectors) {
      arr.push_back({{"id", d.id},
                     {"name", d.name},
                     {"category", d.category},
                     {"severity", d.severity},
                     {"confidence", std::string(signatures::confidence_name(d.confidence))},
                     {"validator", d.validator},
                     {"mask", std::string(mask_name(d.mask))},
                     {"min_count", d.min_count},
                     {"patterns", d.patterns.size()},
                     {"source", d.source}});
    }
    out << arr.dump(2) << "\n";
    return 0;
  }
  out << std::left << std::setw(33) << "ID" << std::setw(22) << "CATEGORY" << std::setw(9)
      << "SEVERITY" << std::setw(12) << "VALIDATOR" << "NAME\n";
  for (const auto& d : set->detectors) {
    out << std::left << std::setw(32) << d.id << " " << std::setw(21) << d.category << " "
        << std::setw(9)
        << d.severity << std::setw(12) << (d.validator.empty() ? "-" : d.validator) << d.name
        << "\n";
  }
  return 0;
}

int detectors_test(const std::vector<std::string>& extra_packs, const std::string& text,
                   bool json, std::ostream& out, std::ostream& err) {
  auto set = load_all(extra_packs);
  if (!set) {
    err << "dlpctl: " << set.error().message << "\n";
    return 2;
  }
  signatures::HashKey key{};
  RAND_bytes(key.data(), static_cast<int>(key.size()));
  auto db = signatures::Database::compile(*set, key);
  if (!db) {
    err << "dlpctl: " << db.error().message << "\n";
    return 2;
  }
  signatures::Scanner scanner(*db);
  signatures::StreamScan scan = scanner.open();
  scan.write(as_bytes(text));
  scan.close();
  const auto hits = scan.reportable();
  nlohmann::json arr = nlohmann::json::array();
  for (const auto* h : hits) {
    const auto& d = (*db)->detectors()[h->detector];
    if (json) {
      arr.push_back({{"detector", d.id},
                     {"category", d.category},
                     {"confidence", std::string(signatures::confidence_name(h->confidence))},
                     {"count", h->count},
                     {"masked", h->masked},
                     {"reasons", h->reasons},
                     {"first_offset", h->first_offset}});
    } else {
      out << d.id << "  " << signatures::confidence_name(h->confidence) << "  count=" << h->count
          << "  first_offset=" << h->first_offset << "\n";
      for (const auto& m : h->masked) out << "    " << m << "\n";
      for (const auto& r : h->reasons) out << "    because: " << r << "\n";
    }
  }
  if (json) out << arr.dump(2) << "\n";
  else if (hits.empty()) out << "no findings\n";
  return hits.empty() ? 0 : 1;
}

int detectors_check(const std::string& pack_path, std::ostream& out, std::ostream& err) {
  auto pack = signatures::load_pack_file(pack_path);
  if (!pack) {
    err << pack.error().message << "\n";
    return 2;
  }
  signatures::HashKey key{};
  auto db = signatures::Database::compile(*pack, key);
  if (!db) {
    err << pack_path << ": " << db.error().message << "\n";
    return 2;
  }
  out << pack_path << ": ok, " << pack->detectors.size() << " detector(s) compile\n";
  return 0;
}

}  // namespace dlp::mgmt
