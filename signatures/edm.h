// Exact data match (EDM): find rows of a customer table in outgoing content without
// keeping the table in clear. The control plane turns a CSV (header row = column names)
// into an EdmIndex of keyed hashes (HMAC-SHA256, key random per index, first 8 bytes) of
// every normalised cell; the data plane runs one EdmMatcher per content stream and
// reports a row when at least `min_fields` distinct columns of that row appear within
// `window` bytes of each other.
//
//   EdmBuildOptions opts;                                           // control plane
//   auto built = EdmIndex::build_from_csv("customers.csv", opts);   // "file:line: reason"
//   if (!built || !built->save("customers.edm")) { ... }
//   auto index = EdmIndex::load("customers.edm");                   // shared_ptr<const>
//   EdmMatcher m(**index, EdmConfig{});                             // per content stream
//   m.write(bytes1); m.write(bytes2); m.close();
//   for (const EdmHit& h : m.hits()) { ... h.columns, h.masked ... }
//
// Normalisation (the same function at build and at scan time): a cell made of digits and
// number separators only ("(555) 123-4567", "123-45-6789") keeps its digits; any other
// cell is cut into words (ASCII alphanumerics and UTF-8 bytes, with inner '.', '@', '-',
// '+', '_' kept, so an e-mail address is one word), case-folded, joined by one space.
//
// Security: the index file holds no cleartext, but it holds the key, so anyone with the
// file can brute-force low-entropy columns. Protect it like a password-hash file.
//
// Hot-path rules: EdmMatcher::write() allocates nothing except a small ring at the first
// field match of a stream and one EdmHit per reported row; no exceptions; cleartext lives
// only in the matcher's token buffers (the current and the previous word, the current
// number, and phrases that are prefixes of some indexed value) and is wiped by close() and
// the destructor.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/dlp/bytes.h"
#include "common/dlp/result.h"

namespace dlp::signatures {

// Limits of the format and the matcher.
inline constexpr std::size_t kEdmMaxColumns = 64;         // a row's columns fit a bit mask
inline constexpr std::uint64_t kEdmMaxRows = 1u << 26;    // postings pack row:26 | column:6
inline constexpr std::size_t kEdmMaxValueLength = 64;     // longer normalised values skipped
inline constexpr std::size_t kEdmMaxWords = 8;            // words in one multi-word value

struct EdmBuildOptions {
  std::uint32_t min_length = 4;            // normalised cells shorter than this: skipped
  std::uint32_t max_rows_per_value = 50;   // a value in more rows is too common: skipped
};

struct EdmIndexInfo {
  std::uint64_t rows = 0;
  std::vector<std::string> columns;
  std::string source_digest;               // SHA-256 (hex) of the CSV bytes
  std::uint64_t cells = 0;                 // non-header cells read
  std::uint64_t indexed_cells = 0;         // cells that became postings
  std::uint64_t skipped_empty = 0;
  std::uint64_t skipped_short = 0;         // shorter than min_length (after normalising)
  std::uint64_t skipped_long = 0;          // longer than kEdmMaxValueLength or kEdmMaxWords
  std::uint64_t skipped_common = 0;        // value in more than max_rows_per_value rows
  std::uint64_t distinct_values = 0;       // hash-table entries carrying postings
  std::uint32_t max_words = 1;             // most words in one indexed value
  std::uint32_t min_length = 0;            // the build option, recorded
  std::uint32_t max_rows_per_value = 0;    // the build option, recorded
};

// Immutable once built or loaded; shared read-only by every worker.
class EdmIndex {
 public:
  static Result<EdmIndex> build_from_csv(const std::string& csv_path,
                                         const EdmBuildOptions& opts);
  // Writes atomically (temporary file, then rename), mode 0600.
  Result<void> save(const std::string& path) const;
  // Validates magic, version, sizes and a trailing checksum; a truncated or corrupt file is
  // refused with "path: reason".
  static Result<std::shared_ptr<const EdmIndex>> load(const std::string& path);

  const EdmIndexInfo& info() const { return info_; }
  std::size_t memory_bytes() const;

  // --- internal to signatures/ (the matcher and the tests) ---
  struct Slot {                   // open addressing; hash 0 marks an empty slot
    std::uint64_t hash = 0;       // keyed hash of the normalised value
    std::uint32_t first = 0;      // first posting
    std::uint32_t count = 0;      // postings; bit 31: a prefix (2+ words) of a longer value
  };
  static constexpr std::uint32_t kPrefixFlag = 0x80000000u;
  using Key = std::array<std::uint8_t, 32>;

  // Keyed hash of an already-normalised value; never 0.
  std::uint64_t hash(const char* data, std::size_t len) const;
  // Cheap keyed pre-filter (a multiply-fold hash into a blocked Bloom filter): false means
  // "surely not in the index", so the HMAC is skipped for almost every benign token.
  bool maybe_contains(const char* data, std::size_t len) const;
  std::uint64_t filter_hash_of(const char* data, std::size_t len) const;
  bool maybe_contains_hashed(std::uint64_t filter_hash) const;
  void prefetch_filter(std::uint64_t filter_hash) const;
  // Whether a word (by its filter hash) may be the first word of a multi-word value.
  bool maybe_first_word(std::uint64_t filter_hash) const;
  const Slot* find(std::uint64_t h) const;
  const std::uint32_t* postings() const { return postings_.data(); }
  // Lengths (1..63, 63 = "63 or more") of indexed values and phrase prefixes.
  bool plausible_length(std::size_t len) const {
    return (length_mask_ >> (len < 63 ? len : 63)) & 1u;
  }
  std::uint64_t row_hash_id(std::uint32_t row) const;

 private:
  struct Builder;
  void derive_keys();
  void hmac(const void* data, std::size_t len, std::uint8_t out[32]) const;

  EdmIndexInfo info_;
  Key key_{};
  std::array<std::uint64_t, 2> filter_key_{};  // pre-filter hash key, derived from key_
  std::vector<Slot> slots_;                     // power of two
  std::vector<std::uint32_t> postings_;         // row << 6 | column
  std::vector<std::uint64_t> filter_;           // Bloom filter words, power of two
  std::vector<std::uint64_t> first_words_;      // same, of the first words of phrases
  std::uint64_t length_mask_ = 0;
  // HMAC midstates (SHA-256 state after the ipad / opad block), derived from key_.
  std::array<std::uint32_t, 8> inner_{};
  std::array<std::uint32_t, 8> outer_{};
};

struct EdmConfig {
  std::uint32_t min_fields = 3;   // distinct columns of one row needed for a hit
  std::uint32_t window = 512;     // bytes between the first and the last of them
};

struct EdmHit {
  std::uint64_t row_hash_id = 0;          // keyed hash of the row number (stable per index)
  std::uint32_t row = 0;                  // 0-based data row (CSV line row + 2 when the
                                          // file has no blank lines or multi-line cells)
  std::uint32_t fields = 0;               // distinct columns seen within the window
  std::vector<std::string> columns;       // their names, in column order
  std::vector<std::string> masked;        // per column, last 4 of the normalised value
  std::uint64_t first_offset = 0;         // stream offset of the earliest of those fields
};

struct EdmStats {
  std::uint64_t bytes = 0;
  std::uint64_t candidates = 0;           // tokens and phrases of plausible length
  std::uint64_t hashed = 0;               // passed the pre-filter, HMAC computed
  std::uint64_t field_matches = 0;        // (row, column) postings seen
  std::uint64_t truncated_tokens = 0;     // tokens longer than kEdmMaxValueLength
  std::uint64_t window_overflows = 0;     // recent postings dropped for space
};

// Per content stream. Must not outlive its index. Not thread-safe.
class EdmMatcher {
 public:
  EdmMatcher(const EdmIndex& index, const EdmConfig& config);
  ~EdmMatcher();
  EdmMatcher(const EdmMatcher&) = delete;
  EdmMatcher& operator=(const EdmMatcher&) = delete;
  EdmMatcher(EdmMatcher&&) noexcept = default;
  EdmMatcher& operator=(EdmMatcher&&) noexcept = default;

  // The next bytes of the stream. A value split across writes is still found.
  void write(Bytes data);
  // Bytes that were never seen (len may be 0 when unknown): nothing spans a gap.
  void gap(std::uint64_t len = 0);
  // End of stream: flushes the last token. Idempotent; later writes are ignored.
  void close();

  // One per row, in the order rows were found. A hit is recorded when its min_fields-th
  // column arrives; columns of the same row arriving later within `window` bytes of
  // first_offset are added to it.
  const std::vector<EdmHit>& hits() const { return hits_; }
  const EdmStats& stats() const { return stats_; }
  std::uint64_t offset() const { return offset_; }

 private:
  struct Recent {                 // a (row, column) posting seen recently
    std::uint64_t offset;         // stream offset where the value starts
    std::uint32_t posting;        // row << 6 | column
    std::uint16_t length;         // normalised value length
    std::array<char, 4> last4;    // what the masked form shows
  };
  struct Phrase {                 // words so far of a value that is a prefix of an indexed one
    std::uint64_t start = 0;
    std::uint32_t len = 0;
    std::uint32_t words = 0;
    std::array<char, kEdmMaxValueLength> text{};
  };
  static constexpr std::size_t kMaxRecent = 256;
  static constexpr std::size_t kMaxPhrases = 8;
  static constexpr std::size_t kMaxGroups = 8;
  static constexpr std::uint32_t kMaxWordGap = 3;   // separator bytes between phrase words
  static constexpr std::uint32_t kMaxNumberGap = 2; // separator bytes inside a number

  void end_word();
  void start_group();
  void end_group();
  void end_number();
  void flush_tokens();
  void resolve_pending();
  const EdmIndex::Slot* lookup(const char* text, std::size_t len);
  void emit(const EdmIndex::Slot& slot, std::uint64_t start, const char* text, std::size_t len);
  void on_posting(std::uint32_t posting, std::uint64_t start, const char* text, std::size_t len);
  void report(std::uint32_t row, std::uint64_t columns, std::uint64_t start);
  void extend(EdmHit& hit, std::uint32_t posting, std::uint64_t start, const char* text,
              std::size_t len);
  void wipe();

  const EdmIndex* index_;
  EdmConfig config_;
  std::uint64_t offset_ = 0;
  bool closed_ = false;

  // Current word, lower-cased; a word longer than kEdmMaxValueLength is dropped.
  std::array<char, kEdmMaxValueLength> word_{};
  std::uint32_t word_raw_ = 0;        // bytes of the word so far (may exceed the buffer)
  std::uint64_t word_start_ = 0;
  std::uint32_t sep_run_ = 0;         // non-word bytes since the last word
  // The previous word, while the next may continue a phrase with it.
  std::array<char, kEdmMaxValueLength> prev_{};
  std::uint32_t prev_len_ = 0;        // 0: none, or it cannot start an indexed phrase
  std::uint64_t prev_start_ = 0;
  // The last word's own lookup, deferred to the next token (its filter word prefetched).
  struct Pending {
    std::uint64_t filter_hash = 0;
    std::uint64_t start = 0;
    std::uint32_t len = 0;
    std::array<char, kEdmMaxValueLength> text{};
  };
  Pending pending_{};
  bool has_pending_ = false;
  // Phrases of two words or more being extended word by word: two generations, flipped
  // per word.
  std::array<std::array<Phrase, kMaxPhrases>, 2> phrases_{};
  std::array<std::uint32_t, 2> phrase_count_{};
  std::uint32_t phrase_gen_ = 0;
  Phrase scratch_phrase_{};
  // Current number: digits of its last kMaxGroups groups, contiguous.
  std::array<char, 2 * kEdmMaxValueLength> digits_{};
  std::array<std::uint32_t, kMaxGroups> group_len_{};
  std::array<std::uint64_t, kMaxGroups> group_start_{};
  std::uint32_t groups_ = 0;
  std::uint32_t digits_len_ = 0;
  std::uint32_t num_sep_ = 0;         // separator bytes since the last digit
  bool in_group_ = false;
  bool group_overflow_ = false;

  std::vector<Recent> recent_;        // ring, allocated at the first field match
  std::size_t recent_head_ = 0;       // oldest
  std::size_t recent_size_ = 0;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> reported_;  // (row, hit), by row
  std::vector<EdmHit> hits_;
  EdmStats stats_;
};

}  // namespace dlp::signatures
