#include "mgmt/edm_tools.h"

#include <sys/stat.h>

#include <chrono>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

namespace dlp::mgmt {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::string human_bytes(std::uint64_t n) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(1);
  if (n >= (1u << 20)) o << static_cast<double>(n) / (1u << 20) << " MiB";
  else if (n >= 1024) o << static_cast<double>(n) / 1024 << " KiB";
  else o << n << " B";
  return o.str();
}

nlohmann::json info_json(const signatures::EdmIndexInfo& i) {
  return {{"rows", i.rows},
          {"columns", i.columns},
          {"source_sha256", i.source_digest},
          {"cells", i.cells},
          {"indexed_cells", i.indexed_cells},
          {"skipped", {{"empty", i.skipped_empty},
                       {"short", i.skipped_short},
                       {"long", i.skipped_long},
                       {"common", i.skipped_common}}},
          {"distinct_values", i.distinct_values},
          {"max_words", i.max_words},
          {"min_length", i.min_length},
          {"max_rows_per_value", i.max_rows_per_value}};
}

void print_info(const signatures::EdmIndexInfo& i, std::ostream& out) {
  const std::uint64_t skipped =
      i.skipped_empty + i.skipped_short + i.skipped_long + i.skipped_common;
  out << "  rows          " << i.rows << "\n"
      << "  columns       " << i.columns.size() << " (" << join(i.columns) << ")\n"
      << "  cells         " << i.cells << "\n"
      << "  indexed       " << i.indexed_cells << " (" << i.distinct_values
      << " distinct values)\n"
      << "  skipped       " << skipped << " (empty " << i.skipped_empty << ", shorter than "
      << i.min_length << ": " << i.skipped_short << ", too long " << i.skipped_long
      << ", in more than " << i.max_rows_per_value << " rows: " << i.skipped_common << ")\n"
      << "  source sha256 " << i.source_digest << "\n";
}

}  // namespace

int edm_index(const std::string& csv_path, const std::string& out_path,
              const signatures::EdmBuildOptions& opts, bool json, std::ostream& out,
              std::ostream& err) {
  const auto t0 = std::chrono::steady_clock::now();
  auto built = signatures::EdmIndex::build_from_csv(csv_path, opts);
  if (!built) {
    err << "dlpctl edm index: " << built.error().message << "\n";
    return 2;
  }
  auto saved = built->save(out_path);
  if (!saved) {
    err << "dlpctl edm index: " << saved.error().message << "\n";
    return 2;
  }
  const double secs = seconds_since(t0);
  const std::uint64_t size = file_size(out_path);
  if (json) {
    auto j = info_json(built->info());
    j["index"] = out_path;
    j["index_bytes"] = size;
    j["seconds"] = secs;
    out << j.dump(2) << "\n";
    return 0;
  }
  out << "indexed " << csv_path << " -> " << out_path << "\n";
  print_info(built->info(), out);
  out << "  index size    " << human_bytes(size) << "\n"
      << "  time          " << std::fixed << std::setprecision(2) << secs << " s\n"
      << "The index holds no cleartext but does hold its hashing key: protect " << out_path
      << "\nlike a password-hash file (low-entropy columns can be brute-forced with it).\n";
  return 0;
}

int edm_info(const std::string& index_path, bool json, std::ostream& out, std::ostream& err) {
  const auto t0 = std::chrono::steady_clock::now();
  auto index = signatures::EdmIndex::load(index_path);
  if (!index) {
    err << "dlpctl edm info: " << index.error().message << "\n";
    return 2;
  }
  const double secs = seconds_since(t0);
  const auto& idx = **index;
  if (json) {
    auto j = info_json(idx.info());
    j["index"] = index_path;
    j["index_bytes"] = file_size(index_path);
    j["memory_bytes"] = idx.memory_bytes();
    j["load_seconds"] = secs;
    out << j.dump(2) << "\n";
    return 0;
  }
  out << index_path << "\n";
  print_info(idx.info(), out);
  out << "  file size     " << human_bytes(file_size(index_path)) << "\n"
      << "  memory        " << human_bytes(idx.memory_bytes()) << "\n"
      << "  load time     " << std::fixed << std::setprecision(3) << secs << " s\n";
  return 0;
}

int edm_test(const std::string& index_path, const std::string& text,
             const signatures::EdmConfig& config, bool json, std::ostream& out,
             std::ostream& err) {
  auto index = signatures::EdmIndex::load(index_path);
  if (!index) {
    err << "dlpctl edm test: " << index.error().message << "\n";
    return 2;
  }
  signatures::EdmMatcher m(**index, config);
  m.write(as_bytes(text));
  m.close();
  if (json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& h : m.hits())
      arr.push_back({{"category", "customer_record"},
                     {"row", h.row},
                     {"row_hash_id", h.row_hash_id},
                     {"fields", h.fields},
                     {"columns", h.columns},
                     {"masked", h.masked},
                     {"offset", h.first_offset}});
    out << arr.dump(2) << "\n";
  } else {
    for (const auto& h : m.hits()) {
      out << "customer_record  row " << h.row << " (CSV line " << h.row + 2 << ")  "
          << h.fields << " fields at offset " << h.first_offset << ":";
      for (std::size_t i = 0; i < h.columns.size(); ++i)
        out << " " << h.columns[i] << "=" << h.masked[i];
      out << "\n";
    }
    out << m.hits().size() << " row(s) matched (min_fields " << config.min_fields
        << ", window " << config.window << " bytes)\n";
  }
  return m.hits().empty() ? 0 : 1;
}

}  // namespace dlp::mgmt
