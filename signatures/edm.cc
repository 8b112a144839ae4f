// Exact data match: index build, file format, and the streaming matcher. See edm.h.
//
// File format (little-endian), version 1:
//   "DLPEDM1\0"  u32 version  key[32]
//   u64 rows cells indexed_cells skipped_empty skipped_short skipped_long skipped_common
//       distinct_values
//   u32 max_words min_length max_rows_per_value  u64 length_mask
//   str source_digest  u32 ncolumns  str column...          (str = u32 length + bytes)
//   u64 nentries npostings nfilter nfirst
//   entry[nentries] = {u64 hash, u32 first, u32 count}   posting[npostings] = u32
//   filter[nfilter] = u64   first_words[nfirst] = u64  (Bloom filters, powers of two)
//   SHA-256 of every byte before it
// Only hashes, postings (row << 6 | column) and Bloom filters of keyed hashes: no cell
// text. Column names are kept (they are schema, not data).

// The HMAC runs on every candidate token that passes the Bloom filter; OpenSSL's low-level
// SHA-256 lets us start from precomputed ipad/opad midstates (two compressions per token
// instead of four plus EVP_MAC's parameter handling).
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "signatures/edm.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string_view>
#include <utility>

namespace dlp::signatures {
namespace {

// ---- character classes: one table drives both build-time normalisation and scanning ----

enum : std::uint8_t {
  kWordChar = 1,   // starts and continues a word: ASCII alphanumerics, UTF-8 bytes
  kInner = 2,      // continues a word but never starts or ends one: . @ - + _
  kDigit = 4,
  kNumSep = 8,     // may sit between digit groups of one number: space - . ( ) / +
};

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    std::uint8_t v = 0;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) v |= kWordChar;
    if (c >= '0' && c <= '9') v |= kWordChar | kDigit;
    if (c == '.' || c == '@' || c == '-' || c == '+' || c == '_') v |= kInner;
    if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/' || c == '+')
      v |= kNumSep;
    t[c] = v;
  }
  return t;
}
constexpr std::array<std::uint8_t, 256> kClass = make_classes();

inline char fold(std::uint8_t c) {
  return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
}
inline std::uint8_t cls(char c) { return kClass[static_cast<std::uint8_t>(c)]; }

// ---- the pre-filter's hash: keyed multiply-fold (wyhash-style), ~3 ns on a short token ----
// It only decides whether the HMAC is worth computing; the file holds its key next to the
// HMAC key, so it reveals nothing the HMAC table does not (see the README's warning).

inline std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  const unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  return static_cast<std::uint64_t>(p) ^ static_cast<std::uint64_t>(p >> 64);
}

std::uint64_t filter_hash(const std::array<std::uint64_t, 2>& k, const char* p, std::size_t n) {
  constexpr std::uint64_t kP0 = 0xa0761d6478bd642fULL, kP1 = 0xe7037ed1a0b428dbULL;
  std::uint64_t h = k[0] ^ mix(n ^ kP0, k[1] ^ kP1);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t m;
    std::memcpy(&m, p + i, 8);
    h = mix(h ^ m, k[1] ^ kP1);
  }
  if (const std::size_t r = n - i; r > 0) {  // wyhash's overlapping loads: no byte loop
    const char* q = p + i;
    std::uint64_t m;
    if (r >= 4) {
      std::uint32_t a, b;
      std::memcpy(&a, q, 4);
      std::memcpy(&b, q + r - 4, 4);
      m = static_cast<std::uint64_t>(a) << 32 | b;
    } else {
      m = static_cast<std::uint64_t>(static_cast<std::uint8_t>(q[0])) << 16 |
          static_cast<std::uint64_t>(static_cast<std::uint8_t>(q[r >> 1])) << 8 |
          static_cast<std::uint8_t>(q[r - 1]);
    }
    h = mix(h ^ m ^ kP0, k[1] ^ kP1);
  }
  return mix(h ^ kP1, k[0] ^ kP0);
}

// Blocked Bloom filter: one 64-bit word per value, three bits in it.
inline std::uint64_t filter_bits(std::uint64_t h) {
  return (1ULL << ((h >> 40) & 63)) | (1ULL << ((h >> 46) & 63)) | (1ULL << ((h >> 52) & 63));
}

std::uint64_t next_pow2(std::uint64_t n) { return n <= 1 ? 1 : std::bit_ceil(n); }

// ---- normalisation (build time; the matcher's state machine produces the same strings) ----

enum class Norm { ok, empty, too_long };

// Digit-like cells ("(555) 123-4567", "123-45-6789") keep their digits; other cells become
// their words, case-folded, joined by one space. `words` is the word count (1 for digits).
Norm normalise_cell(std::string_view cell, std::string& out, std::uint32_t& words) {
  out.clear();
  words = 0;
  bool digit_like = false, other = false;
  for (char c : cell) {
    const std::uint8_t k = cls(c);
    if (k & kDigit) digit_like = true;
    else if (!(k & kNumSep) && c != '\t') other = true;
  }
  if (digit_like && !other) {
    for (char c : cell)
      if (cls(c) & kDigit) out.push_back(c);
    words = 1;
    return out.size() > kEdmMaxValueLength ? Norm::too_long : Norm::ok;
  }
  std::size_t i = 0;
  while (i < cell.size()) {
    if (!(cls(cell[i]) & kWordChar)) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < cell.size() && (cls(cell[j]) & (kWordChar | kInner))) ++j;
    std::size_t e = j;
    while (!(cls(cell[e - 1]) & kWordChar)) --e;  // inner punctuation never ends a word
    if (e - i > kEdmMaxValueLength) return Norm::too_long;
    if (!out.empty()) out.push_back(' ');
    for (std::size_t k = i; k < e; ++k) out.push_back(fold(static_cast<std::uint8_t>(cell[k])));
    ++words;
    i = j;
  }
  if (out.empty()) return Norm::empty;
  if (out.size() > kEdmMaxValueLength || words > kEdmMaxWords) return Norm::too_long;
  return Norm::ok;
}

// ---- CSV (RFC 4180: quoted fields, "" escapes, CRLF) ----

struct CsvReader {
  std::string_view text;
  std::size_t pos = 0;
  std::uint64_t line = 1;  // line the next record starts on

  // Reads one record; false at end of input. `error` set on a malformed record.
  bool next(std::vector<std::string>& fields, std::uint64_t& record_line, std::string& error) {
    fields.clear();
    if (pos >= text.size()) return false;
    record_line = line;
    std::string field;
    bool quoted = false, was_quoted = false;
    while (pos < text.size()) {
      const char c = text[pos++];
      if (quoted) {
        if (c == '"') {
          if (pos < text.size() && text[pos] == '"') {
            field.push_back('"');
            ++pos;
          } else {
            quoted = false;
          }
        } else {
          if (c == '\n') ++line;
          field.push_back(c);
        }
        continue;
      }
      if (c == '"' && field.empty() && !was_quoted) {
        quoted = was_quoted = true;
      } else if (c == ',') {
        fields.push_back(std::move(field));
        field.clear();
        was_quoted = false;
      } else if (c == '\n') {
        ++line;
        if (!field.empty() && field.back() == '\r' && !was_quoted) field.pop_back();
        fields.push_back(std::move(field));
        return true;
      } else {
        field.push_back(c);
      }
    }
    if (quoted) {
      error = "unterminated quoted field";
      return true;
    }
    if (!field.empty() && field.back() == '\r') field.pop_back();
    fields.push_back(std::move(field));
    return true;
  }
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string hex(const unsigned char* p, std::size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s.push_back(d[p[i] >> 4]);
    s.push_back(d[p[i] & 15]);
  }
  return s;
}

// ---- serialisation helpers ----

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_str(std::string& out, const std::string& s) {
  put<std::uint32_t>(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

struct Reader {
  const char* p;
  std::size_t left;
  bool ok = true;
  template <class T>
  T get() {
    T v{};
    if (left < sizeof v) {
      ok = false;
      return v;
    }
    std::memcpy(&v, p, sizeof v);
    p += sizeof v;
    left -= sizeof v;
    return v;
  }
  std::string get_str(std::size_t max) {
    const auto n = get<std::uint32_t>();
    if (!ok || n > max || n > left) {
      ok = false;
      return {};
    }
    std::string s(p, n);
    p += n;
    left -= n;
    return s;
  }
};

constexpr char kMagic[8] = {'D', 'L', 'P', 'E', 'D', 'M', '1', '\0'};
constexpr std::uint32_t kVersion = 1;

}  // namespace

// ---------------------------------------------------------------------------------------
// EdmIndex

void EdmIndex::derive_keys() {
  std::uint8_t pad[64];
  SHA256_CTX c;
  for (int round = 0; round < 2; ++round) {
    const std::uint8_t x = round == 0 ? 0x36 : 0x5c;
    for (std::size_t i = 0; i < 64; ++i) pad[i] = static_cast<std::uint8_t>((i < 32 ? key_[i] : 0) ^ x);
    SHA256_Init(&c);
    SHA256_Update(&c, pad, sizeof pad);
    std::memcpy(round == 0 ? inner_.data() : outer_.data(), c.h, 32);
  }
  OPENSSL_cleanse(pad, sizeof pad);
  OPENSSL_cleanse(&c, sizeof c);
  // The filter key is derived, so one key in the file covers both.
  static constexpr char kLabel[] = "dlpgate edm bloom filter key";
  std::uint8_t d[32];
  hmac(kLabel, sizeof kLabel - 1, d);
  std::memcpy(filter_key_.data(), d, 16);
  OPENSSL_cleanse(d, sizeof d);
}

void EdmIndex::hmac(const void* data, std::size_t len, std::uint8_t out[32]) const {
  // HMAC-SHA256(key, value) = SHA256(opad || SHA256(ipad || value)), both pads absorbed
  // into the midstates, so each call hashes only the value and one digest.
  SHA256_CTX c;
  SHA256_Init(&c);
  std::memcpy(c.h, inner_.data(), 32);
  c.Nl = 512;
  SHA256_Update(&c, data, len);
  SHA256_Final(out, &c);
  SHA256_Init(&c);
  std::memcpy(c.h, outer_.data(), 32);
  c.Nl = 512;
  SHA256_Update(&c, out, 32);
  SHA256_Final(out, &c);
}

std::uint64_t EdmIndex::hash(const char* data, std::size_t len) const {
  std::uint8_t d[32];
  hmac(data, len, d);
  std::uint64_t h;
  std::memcpy(&h, d, sizeof h);
  return h ? h : 1;
}

std::uint64_t EdmIndex::filter_hash_of(const char* data, std::size_t len) const {
  return filter_hash(filter_key_, data, len);
}

bool EdmIndex::maybe_contains_hashed(std::uint64_t fh) const {
  if (filter_.empty()) return false;
  const std::uint64_t bits = filter_bits(fh);
  return (filter_[fh & (filter_.size() - 1)] & bits) == bits;
}

void EdmIndex::prefetch_filter(std::uint64_t fh) const {
  if (!filter_.empty()) __builtin_prefetch(&filter_[fh & (filter_.size() - 1)]);
}

bool EdmIndex::maybe_first_word(std::uint64_t fh) const {
  if (first_words_.empty()) return false;
  const std::uint64_t bits = filter_bits(fh);
  return (first_words_[fh & (first_words_.size() - 1)] & bits) == bits;
}

bool EdmIndex::maybe_contains(const char* data, std::size_t len) const {
  return maybe_contains_hashed(filter_hash(filter_key_, data, len));
}

const EdmIndex::Slot* EdmIndex::find(std::uint64_t h) const {
  if (slots_.empty()) return nullptr;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.hash == h) return &s;
    if (s.hash == 0) return nullptr;
  }
}

std::uint64_t EdmIndex::row_hash_id(std::uint32_t row) const {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "row:%u", row);
  return hash(buf, static_cast<std::size_t>(n));
}

std::size_t EdmIndex::memory_bytes() const {
  return slots_.size() * sizeof(Slot) + postings_.size() * sizeof(std::uint32_t) +
         (filter_.size() + first_words_.size()) * sizeof(std::uint64_t);
}

namespace {

struct Entry {
  std::uint64_t hash;
  std::uint32_t first;
  std::uint32_t count;
};

// Open addressing, linear probing, load factor at most 0.7. Duplicate hashes are refused
// (a corrupt file). The hash is HMAC output, so its low bits are already uniform.
bool fill_slots(const std::vector<Entry>& entries, std::vector<EdmIndex::Slot>& slots) {
  slots.assign(next_pow2(entries.size() * 10 / 7 + 1), EdmIndex::Slot{});
  const std::size_t mask = slots.size() - 1;
  for (const Entry& e : entries) {
    if (e.hash == 0) return false;
    std::size_t i = e.hash & mask;
    while (slots[i].hash != 0) {
      if (slots[i].hash == e.hash) return false;
      i = (i + 1) & mask;
    }
    slots[i] = EdmIndex::Slot{e.hash, e.first, e.count};
  }
  return true;
}

}  // namespace

struct EdmIndex::Builder {
  struct Cell {
    std::uint64_t hash;
    std::uint64_t sip;
    std::uint32_t posting;
    std::uint16_t len;
    std::uint16_t words;
  };
  struct Prefix {
    std::uint64_t value_hash;
    std::uint64_t hash;
    std::uint64_t sip;
    std::uint16_t len;
  };
};

Result<EdmIndex> EdmIndex::build_from_csv(const std::string& csv_path,
                                          const EdmBuildOptions& opts) {
  // Read straight into one buffer (no stream-internal copy), so the cleartext can be wiped.
  std::ifstream in(csv_path, std::ios::binary | std::ios::ate);
  if (!in) return make_error(csv_path + ": cannot open: " + std::strerror(errno));
  std::string text(static_cast<std::size_t>(std::max<std::streamoff>(in.tellg(), 0)), '\0');
  in.seekg(0);
  if (!in.read(text.data(), static_cast<std::streamsize>(text.size())))
    return make_error(csv_path + ": read failed");

  EdmIndex idx;
  idx.info_.min_length = opts.min_length;
  idx.info_.max_rows_per_value = opts.max_rows_per_value;
  {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(text.data(), text.size(), md, &md_len, EVP_sha256(), nullptr) != 1)
      return make_error(csv_path + ": SHA-256 failed");
    idx.info_.source_digest = hex(md, md_len);
  }
  if (RAND_bytes(idx.key_.data(), static_cast<int>(idx.key_.size())) != 1)
    return make_error("cannot draw a random index key");
  idx.derive_keys();

  CsvReader csv{text};
  if (text.size() >= 3 && std::memcmp(text.data(), "\xEF\xBB\xBF", 3) == 0) csv.pos = 3;
  std::vector<std::string> fields;
  std::uint64_t line = 0;
  std::string err;
  auto where = [&](std::uint64_t l) { return csv_path + ":" + std::to_string(l) + ": "; };

  // Header.
  while (csv.next(fields, line, err)) {
    if (!err.empty()) return make_error(where(line) + err);
    if (fields.size() == 1 && trim(fields[0]).empty()) continue;  // blank line
    break;
  }
  if (fields.empty()) return make_error(csv_path + ": empty file, expected a header row");
  if (fields.size() > kEdmMaxColumns)
    return make_error(where(line) + std::to_string(fields.size()) + " columns, at most " +
                      std::to_string(kEdmMaxColumns));
  for (const auto& f : fields) {
    std::string name(trim(f));
    if (name.empty()) return make_error(where(line) + "empty column name in the header row");
    for (const auto& c : idx.info_.columns)
      if (c == name) return make_error(where(line) + "duplicate column '" + name + "'");
    idx.info_.columns.push_back(std::move(name));
  }
  const std::size_t ncol = idx.info_.columns.size();

  std::vector<Builder::Cell> cells;
  std::vector<Builder::Prefix> prefixes;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> first_words;  // (value hash, filter hash)
  cells.reserve(text.size() / 12);
  std::string norm;
  std::uint32_t words = 0;
  std::uint64_t row = 0;
  while (csv.next(fields, line, err)) {
    if (!err.empty()) return make_error(where(line) + err);
    if (fields.size() == 1 && trim(fields[0]).empty()) continue;
    if (fields.size() != ncol)
      return make_error(where(line) + "row has " + std::to_string(fields.size()) +
                        " fields, the header has " + std::to_string(ncol));
    if (row >= kEdmMaxRows)
      return make_error(where(line) + "more than " + std::to_string(kEdmMaxRows) + " rows");
    for (std::size_t col = 0; col < ncol; ++col) {
      ++idx.info_.cells;
      const Norm n = normalise_cell(trim(fields[col]), norm, words);
      if (n == Norm::empty || norm.empty()) {
        ++idx.info_.skipped_empty;
        continue;
      }
      if (n == Norm::too_long) {
        ++idx.info_.skipped_long;
        continue;
      }
      if (norm.size() < opts.min_length) {
        ++idx.info_.skipped_short;
        continue;
      }
      const std::uint64_t h = idx.hash(norm.data(), norm.size());
      cells.push_back({h, filter_hash(idx.filter_key_, norm.data(), norm.size()),
                       static_cast<std::uint32_t>(row << 6 | col),
                       static_cast<std::uint16_t>(norm.size()), static_cast<std::uint16_t>(words)});
      // Every proper word-prefix of two words or more of a multi-word value, so the matcher
      // can grow a phrase one word at a time and stop as soon as it leaves the index. (It
      // always tries the last two words, so one-word prefixes, such as every house number,
      // need not be in the index and do not make every number in the traffic a candidate.)
      const std::size_t first_space = norm.find(' ');
      if (first_space != std::string::npos)
        first_words.push_back({h, filter_hash(idx.filter_key_, norm.data(), first_space)});
      for (std::size_t sp = first_space == std::string::npos ? first_space : norm.find(' ', first_space + 1);
           sp != std::string::npos; sp = norm.find(' ', sp + 1)) {
        prefixes.push_back({h, idx.hash(norm.data(), sp), filter_hash(idx.filter_key_, norm.data(), sp),
                            static_cast<std::uint16_t>(sp)});
      }
    }
    ++row;
  }
  norm.resize(norm.capacity());
  OPENSSL_cleanse(norm.data(), norm.size());
  for (auto& f : fields) OPENSSL_cleanse(f.data(), f.size());
  OPENSSL_cleanse(text.data(), text.size());
  idx.info_.rows = row;

  // Group postings by value; drop values too common to be evidence.
  std::sort(cells.begin(), cells.end(), [](const Builder::Cell& a, const Builder::Cell& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.posting < b.posting;
  });
  std::vector<Entry> entries;
  std::vector<std::uint64_t> common;
  std::vector<std::uint64_t> filter_hashes;
  std::uint64_t length_mask = 0;
  for (std::size_t i = 0; i < cells.size();) {
    std::size_t j = i;
    std::uint64_t distinct_rows = 0;
    std::uint32_t last_row = UINT32_MAX;
    for (; j < cells.size() && cells[j].hash == cells[i].hash; ++j) {
      if ((cells[j].posting >> 6) != last_row) ++distinct_rows;
      last_row = cells[j].posting >> 6;
    }
    if (distinct_rows > opts.max_rows_per_value) {
      idx.info_.skipped_common += j - i;
      common.push_back(cells[i].hash);
    } else {
      Entry e{cells[i].hash, static_cast<std::uint32_t>(idx.postings_.size()), 0};
      for (std::size_t k = i; k < j; ++k) {
        if (k > i && cells[k].posting == cells[k - 1].posting) continue;  // same cell twice
        idx.postings_.push_back(cells[k].posting);
        ++e.count;
      }
      idx.info_.indexed_cells += j - i;
      idx.info_.max_words = std::max<std::uint32_t>(idx.info_.max_words, cells[i].words);
      entries.push_back(e);
      filter_hashes.push_back(cells[i].sip);
      length_mask |= 1ULL << std::min<std::size_t>(cells[i].len, 63);
    }
    i = j;
  }
  idx.info_.distinct_values = entries.size();
  // Phrase prefixes of the values kept: flag an existing entry or add a flag-only one.
  std::sort(prefixes.begin(), prefixes.end(),
            [](const Builder::Prefix& a, const Builder::Prefix& b) { return a.hash < b.hash; });
  const std::size_t value_entries = entries.size();  // sorted by hash
  for (std::size_t i = 0; i < prefixes.size(); ++i) {
    const auto& p = prefixes[i];
    if (i > 0 && prefixes[i - 1].hash == p.hash) continue;
    bool any_kept = false;
    for (std::size_t k = i; k < prefixes.size() && prefixes[k].hash == p.hash; ++k)
      if (!std::binary_search(common.begin(), common.end(), prefixes[k].value_hash)) any_kept = true;
    if (!any_kept) continue;
    auto it = std::lower_bound(entries.begin(), entries.begin() + value_entries, p.hash,
                               [](const Entry& e, std::uint64_t h) { return e.hash < h; });
    if (it != entries.begin() + value_entries && it->hash == p.hash) {
      it->count |= kPrefixFlag;
    } else {
      entries.push_back({p.hash, 0, kPrefixFlag});
      filter_hashes.push_back(p.sip);
      length_mask |= 1ULL << std::min<std::size_t>(p.len, 63);
    }
  }
  idx.length_mask_ = length_mask;
  // First words of the multi-word values kept: the matcher joins a word to the previous
  // one only when the previous one may start such a value. Small enough to stay in cache.
  std::vector<std::uint64_t> firsts;
  for (const auto& [value, fh] : first_words)
    if (!std::binary_search(common.begin(), common.end(), value)) firsts.push_back(fh);
  std::sort(firsts.begin(), firsts.end());
  firsts.erase(std::unique(firsts.begin(), firsts.end()), firsts.end());
  idx.first_words_.assign(firsts.empty() ? 0 : next_pow2(firsts.size() / 4 + 1), 0);
  for (std::uint64_t h : firsts) idx.first_words_[h & (idx.first_words_.size() - 1)] |= filter_bits(h);
  if (!fill_slots(entries, idx.slots_)) return make_error(csv_path + ": internal hash collision");
  idx.filter_.assign(next_pow2(filter_hashes.size() / 3 + 1), 0);
  for (std::uint64_t h : filter_hashes) idx.filter_[h & (idx.filter_.size() - 1)] |= filter_bits(h);
  return idx;
}

Result<void> EdmIndex::save(const std::string& path) const {
  std::string out;
  out.reserve(256 + slots_.size() * sizeof(Entry) + postings_.size() * 4 + filter_.size() * 8);
  out.append(kMagic, sizeof kMagic);
  put<std::uint32_t>(out, kVersion);
  out.append(reinterpret_cast<const char*>(key_.data()), key_.size());
  for (std::uint64_t v : {info_.rows, info_.cells, info_.indexed_cells, info_.skipped_empty,
                          info_.skipped_short, info_.skipped_long, info_.skipped_common,
                          info_.distinct_values})
    put<std::uint64_t>(out, v);
  put<std::uint32_t>(out, info_.max_words);
  put<std::uint32_t>(out, info_.min_length);
  put<std::uint32_t>(out, info_.max_rows_per_value);
  put<std::uint64_t>(out, length_mask_);
  put_str(out, info_.source_digest);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(info_.columns.size()));
  for (const auto& c : info_.columns) put_str(out, c);
  std::uint64_t nentries = 0;
  for (const Slot& s : slots_) nentries += s.hash != 0;
  put<std::uint64_t>(out, nentries);
  put<std::uint64_t>(out, postings_.size());
  put<std::uint64_t>(out, filter_.size());
  put<std::uint64_t>(out, first_words_.size());
  for (const Slot& s : slots_) {
    if (s.hash == 0) continue;
    put<std::uint64_t>(out, s.hash);
    put<std::uint32_t>(out, s.first);
    put<std::uint32_t>(out, s.count);
  }
  out.append(reinterpret_cast<const char*>(postings_.data()), postings_.size() * 4);
  out.append(reinterpret_cast<const char*>(filter_.data()), filter_.size() * 8);
  out.append(reinterpret_cast<const char*>(first_words_.data()), first_words_.size() * 8);
  unsigned char md[32];
  SHA256(reinterpret_cast<const unsigned char*>(out.data()), out.size(), md);
  out.append(reinterpret_cast<const char*>(md), sizeof md);

  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(tmp + ": cannot create: " + std::strerror(errno));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::write(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return make_error(tmp + ": write failed: " + why);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return make_error(tmp + ": cannot flush: " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return make_error(path + ": cannot rename into place: " + why);
  }
  return {};
}

Result<std::shared_ptr<const EdmIndex>> EdmIndex::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return make_error(path + ": cannot open: " + std::strerror(errno));
  std::string data(static_cast<std::size_t>(std::max<std::streamoff>(in.tellg(), 0)), '\0');
  in.seekg(0);
  if (!in.read(data.data(), static_cast<std::streamsize>(data.size())))
    return make_error(path + ": read failed");
  auto fail = [&](const std::string& why) { return make_error(path + ": " + why); };

  if (data.size() < sizeof kMagic || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0)
    return fail("not an EDM index (bad magic)");
  Reader r{data.data() + sizeof kMagic, data.size() - sizeof kMagic};
  const auto version = r.get<std::uint32_t>();
  if (r.ok && version != kVersion)
    return fail("unsupported EDM index version " + std::to_string(version) + " (expected " +
                std::to_string(kVersion) + ")");
  auto idx = std::make_shared<EdmIndex>();
  for (auto& b : idx->key_) b = r.get<std::uint8_t>();
  EdmIndexInfo& info = idx->info_;
  for (std::uint64_t* v : {&info.rows, &info.cells, &info.indexed_cells, &info.skipped_empty,
                           &info.skipped_short, &info.skipped_long, &info.skipped_common,
                           &info.distinct_values})
    *v = r.get<std::uint64_t>();
  info.max_words = r.get<std::uint32_t>();
  info.min_length = r.get<std::uint32_t>();
  info.max_rows_per_value = r.get<std::uint32_t>();
  idx->length_mask_ = r.get<std::uint64_t>();
  info.source_digest = r.get_str(128);
  const auto ncol = r.get<std::uint32_t>();
  if (r.ok && (ncol == 0 || ncol > kEdmMaxColumns)) return fail("corrupt header: column count");
  for (std::uint32_t i = 0; r.ok && i < ncol; ++i) info.columns.push_back(r.get_str(4096));
  const auto nentries = r.get<std::uint64_t>();
  const auto npostings = r.get<std::uint64_t>();
  const auto nfilter = r.get<std::uint64_t>();
  const auto nfirst = r.get<std::uint64_t>();
  if (!r.ok) return fail("truncated EDM index (" + std::to_string(data.size()) + " bytes, header incomplete)");
  // Sizes are checked against the file before anything is allocated from them.
  constexpr std::uint64_t kSane = 1ULL << 40;  // keeps the size sum below from overflowing
  if (nentries > kSane || npostings > kSane || nfilter > kSane || nfirst > kSane)
    return fail("corrupt header: counts out of range");
  const std::uint64_t expected = (data.size() - r.left) + nentries * 16 + npostings * 4 +
                                 nfilter * 8 + nfirst * 8 + 32;
  if (data.size() != expected)
    return fail((data.size() < expected ? "truncated EDM index (" : "corrupt EDM index (") +
                std::to_string(data.size()) + " bytes, header says " + std::to_string(expected) + ")");
  unsigned char md[32];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size() - 32, md);
  if (std::memcmp(md, data.data() + data.size() - 32, 32) != 0)
    return fail("corrupt EDM index (checksum mismatch)");
  if (info.max_words == 0 || info.max_words > kEdmMaxWords || info.rows > kEdmMaxRows ||
      nfilter == 0 || !std::has_single_bit(nfilter) ||
      (nfirst != 0 && !std::has_single_bit(nfirst)))
    return fail("corrupt header: limits out of range");

  std::vector<Entry> entries(nentries);
  for (auto& e : entries) {
    e.hash = r.get<std::uint64_t>();
    e.first = r.get<std::uint32_t>();
    e.count = r.get<std::uint32_t>();
    const std::uint64_t n = e.count & ~kPrefixFlag;
    if (static_cast<std::uint64_t>(e.first) + n > npostings)
      return fail("corrupt EDM index (posting list out of range)");
  }
  idx->postings_.resize(npostings);
  for (auto& p : idx->postings_) {
    p = r.get<std::uint32_t>();
    if ((p >> 6) >= info.rows || (p & 63) >= ncol)
      return fail("corrupt EDM index (posting names a row or column that does not exist)");
  }
  idx->filter_.resize(nfilter);
  for (auto& w : idx->filter_) w = r.get<std::uint64_t>();
  idx->first_words_.resize(nfirst);
  for (auto& w : idx->first_words_) w = r.get<std::uint64_t>();
  if (!r.ok) return fail("truncated EDM index");
  if (!fill_slots(entries, idx->slots_)) return fail("corrupt EDM index (duplicate or zero hash)");
  idx->derive_keys();
  return std::shared_ptr<const EdmIndex>(std::move(idx));
}

// ---------------------------------------------------------------------------------------
// EdmMatcher

EdmMatcher::EdmMatcher(const EdmIndex& index, const EdmConfig& config)
    : index_(&index), config_(config) {
  if (config_.min_fields == 0) config_.min_fields = 1;
}

EdmMatcher::~EdmMatcher() { wipe(); }

void EdmMatcher::wipe() {
  OPENSSL_cleanse(word_.data(), word_.size());
  OPENSSL_cleanse(digits_.data(), digits_.size());
  OPENSSL_cleanse(phrases_.data(), sizeof phrases_);
  OPENSSL_cleanse(&scratch_phrase_, sizeof scratch_phrase_);
  OPENSSL_cleanse(prev_.data(), prev_.size());
  OPENSSL_cleanse(&pending_, sizeof pending_);
  has_pending_ = false;
  phrase_count_ = {0, 0};
  prev_len_ = 0;
}

void EdmMatcher::write(Bytes data) {
  if (closed_) return;
  stats_.bytes += data.size();
  for (const std::uint8_t c : data) {
    const std::uint8_t k = kClass[c];
    // Words: a word starts at a word character and runs over word and inner characters.
    if (k & (kWordChar | kInner)) {
      if (word_raw_ > 0 || (k & kWordChar)) {
        if (word_raw_ == 0) word_start_ = offset_;
        if (word_raw_ < kEdmMaxValueLength) word_[word_raw_] = fold(c);
        ++word_raw_;
      } else {
        ++sep_run_;
      }
    } else if (word_raw_ > 0) {
      end_word();
      sep_run_ = 1;
    } else {
      ++sep_run_;
    }
    // Numbers: digit groups separated by at most kMaxNumberGap separator bytes.
    if (k & kDigit) {
      if (!in_group_) start_group();
      const std::uint32_t g = groups_ - 1;
      if (group_len_[g] >= kEdmMaxValueLength) {
        group_overflow_ = true;
      } else {
        while (digits_len_ == digits_.size()) {  // drop the oldest group to make room
          const std::uint32_t drop = group_len_[0];
          std::memmove(digits_.data(), digits_.data() + drop, digits_len_ - drop);
          digits_len_ -= drop;
          std::memmove(group_len_.data(), group_len_.data() + 1, (groups_ - 1) * sizeof group_len_[0]);
          std::memmove(group_start_.data(), group_start_.data() + 1, (groups_ - 1) * sizeof group_start_[0]);
          --groups_;
        }
        digits_[digits_len_++] = static_cast<char>(c);
        ++group_len_[groups_ - 1];
      }
    } else if (groups_ > 0) {
      if (in_group_) end_group();
      if (!(k & kNumSep) || ++num_sep_ > kMaxNumberGap) end_number();
    }
    ++offset_;
  }
}

void EdmMatcher::start_group() {
  if (groups_ == kMaxGroups) {
    const std::uint32_t drop = group_len_[0];
    std::memmove(digits_.data(), digits_.data() + drop, digits_len_ - drop);
    digits_len_ -= drop;
    std::memmove(group_len_.data(), group_len_.data() + 1, (groups_ - 1) * sizeof group_len_[0]);
    std::memmove(group_start_.data(), group_start_.data() + 1, (groups_ - 1) * sizeof group_start_[0]);
    --groups_;
  }
  group_len_[groups_] = 0;
  group_start_[groups_] = offset_;
  ++groups_;
  in_group_ = true;
  num_sep_ = 0;
}

void EdmMatcher::end_group() {
  resolve_pending();
  in_group_ = false;
  num_sep_ = 0;
  if (group_overflow_) {  // a digit run longer than any value: not evidence, start over
    ++stats_.truncated_tokens;
    end_number();
    return;
  }
  // Every run of whole groups ending here: "+1 (555) 123-4567" yields 4567, 1234567,
  // 5551234567 and 15551234567.
  std::uint32_t total = 0;
  for (std::uint32_t j = groups_; j-- > 0;) {
    total += group_len_[j];
    if (total > kEdmMaxValueLength) break;
    const EdmIndex::Slot* s = lookup(digits_.data() + digits_len_ - total, total);
    if (s) emit(*s, group_start_[j], digits_.data() + digits_len_ - total, total);
  }
}

void EdmMatcher::end_number() {
  groups_ = 0;
  digits_len_ = 0;
  num_sep_ = 0;
  in_group_ = false;
  group_overflow_ = false;
}

const EdmIndex::Slot* EdmMatcher::lookup(const char* text, std::size_t len) {
  if (!index_->plausible_length(len)) return nullptr;
  ++stats_.candidates;
  if (!index_->maybe_contains_hashed(index_->filter_hash_of(text, len))) return nullptr;
  ++stats_.hashed;
  return index_->find(index_->hash(text, len));
}


void EdmMatcher::emit(const EdmIndex::Slot& slot, std::uint64_t start, const char* text,
                      std::size_t len) {
  const std::uint32_t n = slot.count & ~EdmIndex::kPrefixFlag;
  const std::uint32_t* p = index_->postings() + slot.first;
  for (std::uint32_t i = 0; i < n; ++i) on_posting(p[i], start, text, len);
}

void EdmMatcher::end_word() {
  const std::uint32_t raw = word_raw_;
  word_raw_ = 0;
  const std::uint32_t gap = sep_run_;
  sep_run_ = 0;
  std::uint32_t& cur_n = phrase_count_[phrase_gen_];
  if (raw > kEdmMaxValueLength) {
    ++stats_.truncated_tokens;
    cur_n = 0;
    prev_len_ = 0;
    return;
  }
  resolve_pending();  // candidates are handled in stream order
  std::uint32_t n = raw;
  while (!(kClass[static_cast<std::uint8_t>(word_[n - 1])] & kWordChar)) --n;
  if (gap > kMaxWordGap) {
    cur_n = 0;
    prev_len_ = 0;
  }

  const std::uint32_t max_words = index_->info().max_words;
  if (max_words > 1) {
    const std::uint32_t next_gen = phrase_gen_ ^ 1;
    auto& next = phrases_[next_gen];
    std::uint32_t next_n = 0;
    auto try_phrase = [&](Phrase& p) {
      if (p.len + 1 + n > kEdmMaxValueLength) return;
      p.text[p.len] = ' ';
      std::memcpy(p.text.data() + p.len + 1, word_.data(), n);
      p.len += 1 + n;
      ++p.words;
      const EdmIndex::Slot* s = lookup(p.text.data(), p.len);
      if (!s) return;
      emit(*s, p.start, p.text.data(), p.len);
      if ((s->count & EdmIndex::kPrefixFlag) && p.words < max_words && next_n < kMaxPhrases)
        next[next_n++] = p;
    };
    // Phrases of two words or more that are prefixes of an indexed value, one word longer.
    auto& cur = phrases_[phrase_gen_];
    for (std::uint32_t i = 0; i < cur_n; ++i)
      if (cur[i].words < max_words) try_phrase(cur[i]);
    // The previous word and this one, when the previous word may start a phrase.
    if (prev_len_ > 0) {
      Phrase& p = scratch_phrase_;
      p.start = prev_start_;
      p.len = prev_len_;
      p.words = 1;
      std::memcpy(p.text.data(), prev_.data(), prev_len_);
      try_phrase(p);
    }
    cur_n = 0;
    phrase_count_[next_gen] = next_n;
    phrase_gen_ = next_gen;
  }
  const std::uint64_t fh = index_->filter_hash_of(word_.data(), n);
  if (max_words > 1 && index_->maybe_first_word(fh)) {
    std::memcpy(prev_.data(), word_.data(), n);
    prev_len_ = n;
    prev_start_ = word_start_;
  } else {
    prev_len_ = 0;
  }
  if (!index_->plausible_length(n)) return;
  ++stats_.candidates;
  // The filter is megabytes: its word is fetched now and tested when the next token ends,
  // so the cache miss overlaps with tokenising.
  index_->prefetch_filter(fh);
  pending_.filter_hash = fh;
  pending_.start = word_start_;
  pending_.len = n;
  std::memcpy(pending_.text.data(), word_.data(), n);
  has_pending_ = true;
}

void EdmMatcher::resolve_pending() {
  if (!has_pending_) return;
  has_pending_ = false;
  if (!index_->maybe_contains_hashed(pending_.filter_hash)) return;
  ++stats_.hashed;
  if (const EdmIndex::Slot* s = index_->find(index_->hash(pending_.text.data(), pending_.len)))
    emit(*s, pending_.start, pending_.text.data(), pending_.len);
}

void EdmMatcher::on_posting(std::uint32_t posting, std::uint64_t start, const char* text,
                            std::size_t len) {
  ++stats_.field_matches;
  const std::uint32_t row = posting >> 6;
  auto rep = std::lower_bound(reported_.begin(), reported_.end(), row,
                              [](const std::pair<std::uint32_t, std::uint32_t>& r,
                                 std::uint32_t v) { return r.first < v; });
  if (rep != reported_.end() && rep->first == row) {
    extend(hits_[rep->second], posting, start, text, len);
    return;
  }
  if (recent_.empty()) recent_.resize(kMaxRecent);
  // Candidates arrive nearly in offset order (a phrase or a number starts a little before
  // the word that completes it), so keep some slack behind the window.
  const std::uint64_t keep = std::uint64_t{config_.window} + 2 * kEdmMaxValueLength;
  while (recent_size_ > 0 && recent_[recent_head_].offset + keep < start) {
    recent_head_ = (recent_head_ + 1) % kMaxRecent;
    --recent_size_;
  }
  std::uint64_t columns = 1ULL << (posting & 63);
  for (std::size_t i = 0; i < recent_size_; ++i) {
    const Recent& e = recent_[(recent_head_ + i) % kMaxRecent];
    if (e.posting == posting && e.offset == start) return;  // the same field found twice
    if ((e.posting >> 6) != row) continue;
    const std::uint64_t d = e.offset > start ? e.offset - start : start - e.offset;
    if (d <= config_.window) columns |= 1ULL << (e.posting & 63);
  }
  if (recent_size_ == kMaxRecent) {
    recent_head_ = (recent_head_ + 1) % kMaxRecent;
    --recent_size_;
    ++stats_.window_overflows;
  }
  Recent& e = recent_[(recent_head_ + recent_size_) % kMaxRecent];
  ++recent_size_;
  e.offset = start;
  e.posting = posting;
  e.length = static_cast<std::uint16_t>(len);
  e.last4 = {'*', '*', '*', '*'};
  if (len > 4) std::memcpy(e.last4.data(), text + len - 4, 4);
  if (static_cast<std::uint32_t>(std::popcount(columns)) >= config_.min_fields)
    report(row, columns, start);
}

void EdmMatcher::report(std::uint32_t row, std::uint64_t columns, std::uint64_t start) {
  EdmHit hit;
  hit.row = row;
  hit.row_hash_id = index_->row_hash_id(row);
  hit.fields = static_cast<std::uint32_t>(std::popcount(columns));
  hit.first_offset = start;
  const auto& names = index_->info().columns;
  for (std::uint32_t col = 0; col < names.size(); ++col) {
    if (!(columns >> col & 1)) continue;
    // The newest occurrence of this column of the row inside the window.
    const Recent* best = nullptr;
    for (std::size_t i = 0; i < recent_size_; ++i) {
      const Recent& e = recent_[(recent_head_ + i) % kMaxRecent];
      if (e.posting != (row << 6 | col)) continue;
      const std::uint64_t d = e.offset > start ? e.offset - start : start - e.offset;
      if (d <= config_.window) best = &e;
    }
    if (!best) continue;
    hit.columns.push_back(names[col]);
    std::string m(best->length, '*');
    if (best->length > 4) std::memcpy(m.data() + m.size() - 4, best->last4.data(), 4);
    hit.masked.push_back(std::move(m));
    hit.first_offset = std::min(hit.first_offset, best->offset);
  }
  const auto at = std::lower_bound(reported_.begin(), reported_.end(), row,
                                   [](const std::pair<std::uint32_t, std::uint32_t>& r,
                                      std::uint32_t v) { return r.first < v; });
  reported_.insert(at, {row, static_cast<std::uint32_t>(hits_.size())});
  hits_.push_back(std::move(hit));
}

// A reported row is reported once; more of its columns close to it complete the evidence.
void EdmMatcher::extend(EdmHit& hit, std::uint32_t posting, std::uint64_t start,
                        const char* text, std::size_t len) {
  const std::uint64_t d = start > hit.first_offset ? start - hit.first_offset
                                                   : hit.first_offset - start;
  if (d > config_.window) return;
  const auto& names = index_->info().columns;
  const std::uint32_t col = posting & 63;
  // hit.columns is in column order; find where this one goes.
  std::size_t at = 0;
  for (std::uint32_t c = 0; c < col; ++c)
    if (at < hit.columns.size() && hit.columns[at] == names[c]) ++at;
  if (at < hit.columns.size() && hit.columns[at] == names[col]) return;  // already there
  std::string m(len, '*');
  if (len > 4) std::memcpy(m.data() + len - 4, text + len - 4, 4);
  hit.columns.insert(hit.columns.begin() + static_cast<std::ptrdiff_t>(at), names[col]);
  hit.masked.insert(hit.masked.begin() + static_cast<std::ptrdiff_t>(at), std::move(m));
  ++hit.fields;
}

void EdmMatcher::flush_tokens() {
  if (word_raw_ > 0) end_word();
  if (in_group_) end_group();
  end_number();
  resolve_pending();
  phrase_count_ = {0, 0};
  prev_len_ = 0;
  sep_run_ = 0;
}

void EdmMatcher::gap(std::uint64_t len) {
  if (closed_) return;
  flush_tokens();
  offset_ += len;
}

void EdmMatcher::close() {
  if (closed_) return;
  flush_tokens();
  wipe();
  closed_ = true;
}

}  // namespace dlp::signatures
