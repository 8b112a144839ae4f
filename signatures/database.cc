// Database::compile: detectors -> one Hyperscan database. Control plane only; every error
// names the detector, the pattern and Hyperscan's reason.
#include <hs/hs.h>

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "signatures/scanner.h"

namespace dlp::signatures {
namespace {

std::string describe(const Detector& d, std::size_t pattern_index) {
  std::string where = d.source.empty() ? std::string() : " (" + d.source + ")";
  return "detector '" + d.id + "'" + where + " pattern " + std::to_string(pattern_index + 1) +
         " '" + d.patterns[pattern_index] + "'";
}

// Leftmost start of match so a match gives its span, not just its end.
constexpr unsigned kPatternFlags = HS_FLAG_SOM_LEFTMOST;
// Keywords need no start of match (a literal's start is its end minus its length), and
// leaving SOM off keeps them as cheap as any literal in the database.
constexpr unsigned kKeywordFlags = HS_FLAG_CASELESS;

bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// A keyword as a Hyperscan expression: the literal, escaped, with \b on the ends that are
// word characters ("ssn" must not match inside "lessons"; "ssn#" can still end in '#').
std::string keyword_expression(const std::string& kw) {
  std::string e;
  if (word_char(kw.front())) e += "\\b";
  for (char c : kw) {
    if (!word_char(c) && c != ' ' && static_cast<unsigned char>(c) < 0x80) e += '\\';
    e += c;
  }
  if (word_char(kw.back())) e += "\\b";
  return e;
}

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// Name of the cache file for exactly these expressions in this mode with this Hyperscan.
std::string cache_name(const std::vector<const char*>& expressions,
                       const std::vector<unsigned>& flags, unsigned hs_mode) {
  std::ostringstream in;
  in << hs_version() << '\0' << hs_mode << '\0';
  for (std::size_t i = 0; i < expressions.size(); ++i) {
    in << i << '\0' << flags[i] << '\0' << expressions[i] << '\0';
  }
  const std::string text = in.str();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name;
  for (unsigned i = 0; i < len; ++i) {
    name += kHex[md[i] >> 4];
    name += kHex[md[i] & 15];
  }
  return name + ".hsdb";
}

hs_database_t* load_cached(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return nullptr;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  hs_database_t* db = nullptr;
  // Hyperscan checks the version and platform of a serialized database itself.
  if (hs_deserialize_database(bytes.data(), bytes.size(), &db) != HS_SUCCESS) return nullptr;
  return db;
}

void store_cached(const std::filesystem::path& file, const hs_database_t* db) {
  char* bytes = nullptr;
  std::size_t size = 0;
  if (hs_serialize_database(db, &bytes, &size) != HS_SUCCESS) return;
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  // Write aside and rename, so a concurrent reader never sees half a database.
  const auto tmp = file.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes, static_cast<std::streamsize>(size));
    if (!out) {
      std::free(bytes);
      std::filesystem::remove(tmp, ec);
      return;
    }
  }
  std::free(bytes);
  std::filesystem::rename(tmp, file, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

}  // namespace

Result<std::shared_ptr<const Database>> Database::compile(const DetectorSet& set,
                                                          const HashKey& key, DbMode mode,
                                                          const std::string& cache_dir,
                                                          bool* from_cache) {
  if (from_cache) *from_cache = false;
  std::shared_ptr<Database> db(new Database());
  db->mode_ = mode;
  db->key_ = key;
  db->detectors_ = set.detectors;

  std::vector<const char*> expressions;
  std::vector<unsigned> flags;
  std::vector<unsigned> ids;
  std::vector<std::size_t> det_width(db->detectors_.size(), 0);
  for (std::uint32_t di = 0; di < db->detectors_.size(); ++di) {
    const Detector& d = db->detectors_[di];
    ValidatorFn fn = nullptr;
    if (!d.validator.empty()) {
      fn = find_validator(d.validator);
      if (!fn) return make_error("detector '" + d.id + "': unknown validator '" + d.validator + "'");
    }
    db->validators_.push_back(fn);
    if (d.patterns.empty()) return make_error("detector '" + d.id + "': no patterns");
    for (std::size_t pi = 0; pi < d.patterns.size(); ++pi) {
      // The StreamScan keeps kMaxMatchWidth bytes of history to rebuild a match that
      // began in an earlier write: a wider match could not be validated, so refuse it here.
      hs_expr_info_t* info = nullptr;
      hs_compile_error_t* err = nullptr;
      if (hs_expression_info(d.patterns[pi].c_str(), kPatternFlags, &info, &err) != HS_SUCCESS) {
        std::string msg = describe(d, pi) + ": " + (err ? err->message : "invalid expression");
        hs_free_compile_error(err);
        return make_error(msg);
      }
      unsigned max_width = info->max_width;
      const bool fixed = info->min_width == info->max_width && max_width != UINT_MAX && max_width > 0;
      std::free(info);  // allocated by Hyperscan's misc allocator, which is malloc
      // A left extension widens the value: the history must hold it and so must the
      // buffer it is rebuilt into.
      if (max_width != UINT_MAX) max_width += d.extend_left.max;
      db->tail_width_ = std::max<std::size_t>(db->tail_width_, max_width == UINT_MAX ? 0 : max_width);
      if (max_width != UINT_MAX) det_width[di] = std::max<std::size_t>(det_width[di], max_width);
      if (max_width == UINT_MAX) {
        return make_error(describe(d, pi) + ": unbounded match width (use {m,n}, not + or *)");
      }
      if (max_width > kMaxMatchWidth) {
        return make_error(describe(d, pi) + ": match width up to " + std::to_string(max_width) +
                          " bytes, more than the " + std::to_string(kMaxMatchWidth) + " allowed");
      }
      ids.push_back(static_cast<unsigned>(db->pattern_detector_.size()));
      db->pattern_detector_.push_back(di);
      db->pattern_width_.push_back(fixed ? max_width - d.extend_left.max : 0);
      expressions.push_back(d.patterns[pi].c_str());
      flags.push_back(fixed ? 0u : kPatternFlags);
    }
  }
  if (expressions.empty()) return make_error("no detectors to compile");

  // Context: keywords become extra literal patterns of the same database (one per distinct
  // keyword, shared by every detector that names it); detectors named as context get the
  // naming detector as a listener.
  std::map<std::string, std::uint32_t> index_of;
  for (std::uint32_t di = 0; di < db->detectors_.size(); ++di) index_of[db->detectors_[di].id] = di;
  db->listeners_.resize(db->detectors_.size());
  db->ring_of_.assign(db->detectors_.size(), UINT32_MAX);
  std::map<std::string, std::uint32_t> keyword_index;
  std::deque<std::string> keyword_exprs;  // stable storage for the c_str()s below
  for (std::uint32_t di = 0; di < db->detectors_.size(); ++di) {
    const Detector& d = db->detectors_[di];
    if (d.context.empty()) continue;
    db->ring_of_[di] = db->ring_count_++;
    for (const std::string& id : d.context.detectors) {
      auto it = index_of.find(id);
      if (it == index_of.end()) {
        return make_error("detector '" + d.id + "': context detector '" + id + "' is not defined");
      }
      db->listeners_[it->second].push_back(di);
    }
    for (const std::string& raw : d.context.keywords) {
      std::string kw = lower(raw);
      auto [it, fresh] = keyword_index.emplace(kw, static_cast<std::uint32_t>(db->keywords_.size()));
      if (fresh) {
        db->keywords_.push_back(Database::Keyword{kw, {}});
        keyword_exprs.push_back(keyword_expression(kw));
        ids.push_back(static_cast<unsigned>(expressions.size()));
        expressions.push_back(keyword_exprs.back().c_str());
        flags.push_back(kKeywordFlags);
        db->tail_width_ = std::max(db->tail_width_, kw.size());
      }
      auto& dets = db->keywords_[it->second].detectors;
      if (std::find(dets.begin(), dets.end(), di) == dets.end()) dets.push_back(di);
    }
  }
  // How pending require_context matches are kept: see Database::reread_.
  db->reread_.assign(db->detectors_.size(), false);
  for (std::uint32_t di = 0; di < db->detectors_.size(); ++di) {
    const Detector& d = db->detectors_[di];
    if (!d.require_context) continue;
    std::size_t longest_kw = 0;
    for (const std::string& kw : d.context.keywords) longest_kw = std::max(longest_kw, kw.size());
    // A detector named as context can be as wide as the widest pattern.
    if (!d.context.detectors.empty()) longest_kw = std::max(longest_kw, kMaxMatchWidth);
    const std::size_t need = d.context.window + det_width[di] + longest_kw;
    if (need <= kMaxMatchWidth) {
      db->reread_[di] = true;
      db->tail_width_ = std::max(db->tail_width_, need);
    }
  }

  // Context-gated detectors (Database::gate_width_): a require_context detector whose
  // context region fits the history is not in the stream database at all. Its patterns
  // are a block database of their own, run only over the bytes around each of its
  // keywords. Most of the library is such detectors, nearly all literal-free digit shapes
  // Hyperscan would otherwise run an engine each for over every byte of the traffic.
  db->gate_width_.assign(db->detectors_.size(), 0);
  for (std::uint32_t di = 0; di < db->detectors_.size(); ++di) {
    const Detector& d = db->detectors_[di];
    if (!d.require_context) continue;
    std::size_t span = 0;  // widest context: a keyword, or a match of a context detector
    for (const std::string& kw : d.context.keywords) span = std::max(span, kw.size());
    for (const std::string& id : d.context.detectors) span = std::max(span, det_width[index_of[id]]);
    if (span + 2 * (d.context.window + det_width[di]) + 2 > kMaxHistory) continue;
    db->gate_width_[di] = static_cast<std::uint32_t>(det_width[di]);
    db->tail_width_ = std::max(db->tail_width_, span + 2 * (d.context.window + det_width[di]) + 2);
  }
  db->gated_dbs_.assign(db->detectors_.size(), nullptr);

  // The expressions by database: the stream (or block) database gets everything that is
  // not gated, keywords included; each gated detector its own block database.
  struct List {
    std::vector<const char*> expressions;
    std::vector<unsigned> flags;
    std::vector<unsigned> ids;
  };
  List main_list;
  std::vector<List> gated_lists(db->detectors_.size());
  for (std::size_t i = 0; i < expressions.size(); ++i) {
    const bool pattern = ids[i] < db->pattern_detector_.size();
    List& l = pattern && db->gate_width_[db->pattern_detector_[ids[i]]]
                  ? gated_lists[db->pattern_detector_[ids[i]]]
                  : main_list;
    l.expressions.push_back(expressions[i]);
    l.flags.push_back(flags[i]);
    l.ids.push_back(ids[i]);
  }

  bool all_cached = true;
  auto build = [&](const List& l, unsigned hs_mode, hs_database_t** out) -> Result<bool> {
    std::filesystem::path cache_file;
    bool cached = false;
    if (!cache_dir.empty()) {
      cache_file = std::filesystem::path(cache_dir) / cache_name(l.expressions, l.flags, hs_mode);
      *out = load_cached(cache_file);
      cached = *out != nullptr;
    }
    all_cached = all_cached && cached;
    hs_compile_error_t* err = nullptr;
    if (!*out && hs_compile_multi(l.expressions.data(), l.flags.data(), l.ids.data(),
                                  static_cast<unsigned>(l.expressions.size()), hs_mode, nullptr,
                                  out, &err) != HS_SUCCESS) {
      std::string msg;
      const bool known = err && err->expression >= 0 &&
                         static_cast<std::size_t>(err->expression) < l.ids.size();
      const unsigned id = known ? l.ids[err->expression] : 0;
      if (known && id < db->pattern_detector_.size()) {
        // Find which pattern of which detector the flat pattern id is.
        std::uint32_t di = db->pattern_detector_[id];
        std::size_t first = 0;
        while (db->pattern_detector_[first] != di) ++first;
        msg = describe(db->detectors_[di], id - first) + ": " + err->message;
      } else if (known) {
        msg = "context keyword '" + db->keywords_[id - db->pattern_detector_.size()].text +
              "': " + err->message;
      } else {
        msg = std::string("Hyperscan compile failed: ") + (err ? err->message : "unknown error");
      }
      hs_free_compile_error(err);
      *out = nullptr;
      return make_error(msg);
    }
    if (!cache_file.empty() && !cached) store_cached(cache_file, *out);
    return true;
  };

  unsigned hs_mode = mode == DbMode::stream ? (HS_MODE_STREAM | HS_MODE_SOM_HORIZON_SMALL)
                                            : HS_MODE_BLOCK;
  // Never empty: a gated detector has keywords, and they stay in the stream database.
  if (auto r = build(main_list, hs_mode, &db->db_); !r) return r.error();
  for (std::uint32_t di = 0; di < db->detectors_.size(); ++di) {
    if (gated_lists[di].expressions.empty()) continue;
    if (auto r = build(gated_lists[di], HS_MODE_BLOCK, &db->gated_dbs_[di]); !r) return r.error();
  }
  if (from_cache) *from_cache = all_cached;
  if (mode == DbMode::stream) {
    std::size_t size = 0;
    if (hs_stream_size(db->db_, &size) != HS_SUCCESS) {
      return make_error("Hyperscan: cannot size the stream state");
    }
    db->stream_size_ = size;
  }
  return std::shared_ptr<const Database>(std::move(db));
}

Database::~Database() {
  hs_free_database(db_);
  for (hs_database_t* g : gated_dbs_) hs_free_database(g);
}

}  // namespace dlp::signatures
