// The streaming scanner: one compiled Hyperscan database shared read-only by every
// worker, one Scanner (Hyperscan scratch) per worker, one StreamScan per content stream.
// A match split across any number of write() calls is found, because the Hyperscan
// stream carries the automaton state between them and the StreamScan keeps the tail of
// the bytes it has seen for validating a match that started in an earlier write.
//
//   auto db = Database::compile(builtin_detectors(), hash_key);   // control plane
//   Scanner scanner(*db);                                        // per worker
//   StreamScan s = scanner.open();                               // per content stream
//   s.write(bytes1); s.write(bytes2); s.close();
//   for (const DetectorHit& h : s.hits()) { ... h.count, h.masked ... }
//
// Hot-path rules: write() does not allocate except when a new validated value is
// recorded; no exceptions; Hyperscan errors are counted in ScanStats.
//
// With a DbMode::block database, open() gives a StreamScan whose every write() is scanned
// as one independent block (matches do not span writes): for benchmarks and for testing
// detectors on a whole file.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/dlp/bytes.h"
#include "common/dlp/result.h"
#include "signatures/detector.h"
#include "signatures/validators.h"

struct hs_database;
struct hs_scratch;
struct hs_stream;
struct evp_mac_ctx_st;  // OpenSSL's EVP_MAC_CTX

namespace dlp::signatures {

// Longest match the scanner can validate; patterns wider than this are refused at compile.
// Each stream keeps only as much history as the widest pattern of its database needs.
inline constexpr std::size_t kMaxMatchWidth = 256;
// Most history a stream keeps: the widest match, or a context-gated detector's region (its
// window on both sides of a keyword plus its widest match), whichever is more.
inline constexpr std::size_t kMaxHistory = 512;
// Distinct masked values kept per finding (the count keeps counting past it).
inline constexpr std::size_t kMaxMaskedPerHit = 16;
// Reasons kept per finding: the first of each kind is what an analyst needs.
inline constexpr std::size_t kMaxReasonsPerHit = 8;

using HashKey = std::array<std::uint8_t, 32>;

enum class DbMode : std::uint8_t { stream, block };

class Database {
 public:
  // Compile every pattern of every detector. Errors name the detector, the pattern and
  // Hyperscan's reason. Block mode exists for benchmarks and `dlpctl detectors test`.
  //
  // With a cache_dir, the compiled database is kept there serialized, named by a SHA-256
  // of the Hyperscan version, the mode and every (id, flags, expression): the next
  // compile of the same detectors deserializes it instead (milliseconds instead of the
  // full compile). A missing, stale or corrupt cache file is ignored and rewritten; a
  // cache that cannot be written is not an error. `from_cache` (optional) tells which.
  static Result<std::shared_ptr<const Database>> compile(const DetectorSet& set,
                                                         const HashKey& key,
                                                         DbMode mode = DbMode::stream,
                                                         const std::string& cache_dir = {},
                                                         bool* from_cache = nullptr);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::vector<Detector>& detectors() const { return detectors_; }
  DbMode mode() const { return mode_; }
  // The stream (or block) database: every pattern that is not context-gated, and every
  // context keyword.
  const hs_database* raw() const { return db_; }
  // A context-gated detector's own block database, nullptr for any other detector.
  const hs_database* gated(std::uint32_t detector) const { return gated_dbs_[detector]; }
  std::size_t stream_state_size() const { return stream_size_; }

  // Internal to signatures/: pattern id -> detector index, key for value hashes.
  // Context keywords are compiled into the same database after every detector pattern;
  // their ids are not detector patterns and have no detector_of().
  bool is_detector_pattern(unsigned pattern_id) const { return pattern_id < pattern_detector_.size(); }
  std::uint32_t detector_of(unsigned pattern_id) const { return pattern_detector_[pattern_id]; }
  // Start of a detector pattern's match. Fixed-width patterns are compiled without
  // Hyperscan's start-of-match tracking (it costs more than the rest of the scan for
  // digit-heavy text), so their `from` is derived from the end.
  unsigned long long match_start(unsigned pattern_id, unsigned long long from,
                                 unsigned long long to) const {
    const std::uint32_t w = pattern_width_[pattern_id];
    return w ? to - w : from;
  }
  const HashKey& key() const { return key_; }
  // Distinct context keywords (lower case) compiled into the database.
  std::size_t keyword_count() const { return keywords_.size(); }

 private:
  friend class StreamScan;
  Database() = default;
  hs_database* db_ = nullptr;
  DbMode mode_ = DbMode::stream;
  std::size_t stream_size_ = 0;
  std::vector<Detector> detectors_;
  std::vector<std::uint32_t> pattern_detector_;
  std::vector<std::uint32_t> pattern_width_;  // fixed width, or 0: Hyperscan reports the start
  std::vector<ValidatorFn> validators_;  // per detector; nullptr = accept the raw match
  HashKey key_{};
  // Context: one entry per distinct keyword, in pattern-id order after the detector
  // patterns, with the detectors it is context for.
  struct Keyword {
    std::string text;
    std::vector<std::uint32_t> detectors;
  };
  std::vector<Keyword> keywords_;
  // Per detector: the detectors that count its validated matches as context.
  std::vector<std::vector<std::uint32_t>> listeners_;
  // Per detector: its slot among the context rings, or UINT32_MAX without context.
  std::vector<std::uint32_t> ring_of_;
  std::uint32_t ring_count_ = 0;
  // Widest match of any pattern: how much history a stream must keep. It also covers,
  // for each require_context detector whose window fits, the window plus its widest
  // match and keyword, so a keyword after a match can re-read the match's bytes.
  std::size_t tail_width_ = 0;
  // Per detector: a pending require_context match is re-read from the stream history
  // when its keyword comes (true), or keyed and masked when parked (false: windows wider
  // than the history). Re-reading spares a keyed hash for every candidate that never
  // sees context, which is nearly all of them.
  std::vector<bool> reread_;
  // Per detector: its widest match if it is context-gated, else 0. A require_context
  // detector reports nothing without a keyword inside its window, so its patterns need
  // only run over [keyword start - window - width, keyword end + window + width): the
  // scanner queues that region when the keyword is seen and scans it with the detector's
  // own block database once its last byte has arrived. Gated when the region fits the
  // history (kMaxHistory).
  std::vector<std::uint32_t> gate_width_;
  std::vector<hs_database*> gated_dbs_;
};

// One finding's worth of evidence: one detector in one content stream.
struct DetectorHit {
  std::uint32_t detector = 0;  // index into Database::detectors()
  std::uint32_t count = 0;     // validated matches (not distinct values)
  Confidence confidence = Confidence::medium;
  std::vector<std::string> masked;       // distinct values, masked, first kMaxMaskedPerHit
  std::vector<std::uint64_t> hashes;     // keyed hashes of the same distinct values
  std::uint64_t first_offset = 0;        // stream offset of the first validated match
  // Why it has its confidence, in the order learnt: "validator luhn passed",
  // "context 'card number' 12 bytes before", "count 3 >= min_count 3" (first kMaxReasonsPerHit).
  std::vector<std::string> reasons;
};

struct ScanStats {
  std::uint64_t bytes = 0;
  std::uint64_t raw_matches = 0;       // Hyperscan callbacks
  std::uint64_t validated = 0;         // matches that passed their validator
  std::uint64_t rejected = 0;          // matches dropped by their validator
  std::uint64_t hs_errors = 0;
  std::uint64_t context_hits = 0;      // context keyword matches (not in raw_matches)
  std::uint64_t low_entropy = 0;       // validated but below the detector's entropy_min
  std::uint64_t unconfirmed = 0;       // require_context matches that never saw context
  std::uint64_t gated_scans = 0;       // context regions scanned for gated detectors
  std::uint64_t gated_bytes = 0;       // bytes those scans covered
  std::uint64_t gated_clipped = 0;     // regions cut short: history lost (gap) or queue full
};

class StreamScan;

// Per-worker: owns the Hyperscan scratch. Not thread-safe; one per thread.
class Scanner {
 public:
  explicit Scanner(std::shared_ptr<const Database> db);
  ~Scanner();
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  StreamScan open();
  const Database& db() const { return *db_; }
  const ScanStats& stats() const { return stats_; }

 private:
  friend class StreamScan;
  std::shared_ptr<const Database> db_;
  hs_scratch* scratch_ = nullptr;
  // For the context-gated databases: a region is scanned from inside the stream
  // database's keyword callback, while scratch_ is in use.
  hs_scratch* gate_scratch_ = nullptr;
  // HMAC-SHA256 keyed with db_->key(), re-initialised per value rather than rebuilt.
  evp_mac_ctx_st* mac_ = nullptr;
  // Validators write the canonical (cleartext) value here; capacity is reserved once and
  // the content is wiped right after each match, so it never outlives one callback.
  std::string canonical_;
  ScanStats stats_;
};

// Per content stream. Movable, not copyable. Must not outlive its Scanner.
class StreamScan {
 public:
  StreamScan(StreamScan&&) noexcept;
  StreamScan& operator=(StreamScan&&) noexcept;
  ~StreamScan();

  // Scan the next bytes. Returns true if this call added a validated match.
  bool write(Bytes data);
  // Bytes that were never seen: matches cannot span it.
  void gap(std::uint64_t len);
  // End of stream: flushes end-anchored matches. Idempotent.
  void close();

  const std::vector<DetectorHit>& hits() const { return hits_; }
  // Hits whose count reached the detector's min_count: what becomes a Finding.
  std::vector<const DetectorHit*> reportable() const;
  std::uint64_t offset() const { return offset_; }

 private:
  friend class Scanner;
  explicit StreamScan(Scanner* owner);
  // The Hyperscan callback trampoline; nested, so it can reach the private state.
  struct Impl;
  // A span already counted: several patterns of one detector may report the same bytes.
  struct Span {
    std::uint64_t from = 0;
    std::uint64_t to = 0;
    std::uint32_t detector = UINT32_MAX;
  };
  static constexpr std::size_t kRecentSpans = 8;
  // A recent context keyword (or a validated match of a detector used as context).
  struct ContextHit {
    std::uint64_t from = 0;
    std::uint64_t to = 0;
    std::uint32_t source = UINT32_MAX;  // keyword index, or kFromDetector | detector
  };
  static constexpr std::uint32_t kFromDetector = 1u << 31;
  // The newest keywords are the nearest ones, so a few per detector are enough.
  static constexpr std::size_t kContextRing = 4;
  struct ContextRing {
    std::array<ContextHit, kContextRing> hits{};
    std::uint32_t next = 0;
  };
  // A validated match whose window has not passed yet: a keyword after it may still raise
  // it (counted) or confirm it (require_context, not yet counted). Only the keyed hash
  // and the masked form are kept, never the cleartext.
  struct Pending {
    std::uint64_t from = 0;
    std::uint64_t to = 0;
    std::uint32_t detector = 0;
    bool counted = false;
    bool hashed = false;
    std::uint64_t hash = 0;
    std::string masked;
  };
  static constexpr std::size_t kMaxPending = 16;
  // A context region of a gated detector, waiting for its last byte (plus one, for \b).
  struct Region {
    std::uint64_t from = 0;
    std::uint64_t to = 0;
    std::uint32_t detector = 0;
    ContextHit context;  // the keyword it is around: every match in it is near it
  };
  // Regions wait only when they reach past the end of a write: a few per detector.
  static constexpr std::size_t kMaxRegions = 64;
  // Per gated detector, the last span scanned and its keyword: a match inside the span and
  // near that keyword was already reported (one near neither is looked at again).
  struct Scanned {
    std::uint64_t from = 0;
    std::uint64_t to = 0;
    ContextHit context;
  };

  void scan_chunk(const std::uint8_t* data, std::size_t len);
  void keep_tail(const std::uint8_t* data, std::size_t len);
  void on_match(unsigned pattern_id, std::uint64_t from, std::uint64_t to);
  void on_detector_match(std::uint32_t detector, std::uint64_t from, std::uint64_t to);
  void queue_region(std::uint32_t detector, const ContextHit& c);
  // Scans the queued regions that are complete (all: every one, cut at the data there is).
  void flush_regions(bool all);
  void scan_region(const Region& r);
  void on_keyword(std::uint32_t keyword, std::uint64_t to);
  bool accept(std::uint32_t detector, std::uint64_t from, std::uint64_t to,
              const std::string& canonical, double entropy);
  DetectorHit& hit_for(std::uint32_t detector, std::uint64_t from, double entropy);
  void count(DetectorHit& hit, std::uint64_t from);
  bool value_hash(const std::string& canonical, std::uint64_t& out);
  void add_value(DetectorHit& hit, std::uint64_t hash, std::string masked);
  void add_context(std::uint32_t detector, const ContextHit& c);
  const ContextHit* find_context(std::uint32_t detector, std::uint64_t from, std::uint64_t to) const;
  void raise(DetectorHit& hit, const ContextHit& c, std::uint64_t from, std::uint64_t to);
  void park(std::uint32_t detector, std::uint64_t from, std::uint64_t to, bool counted,
            const std::string* canonical);
  void expire_pending(bool all);
  // Copies the bytes [from, to) from the tail and the current write into `buf`; false if
  // they are no longer (or not yet) there.
  bool rebuild(std::uint64_t from, std::uint64_t to, char* buf, std::size_t& n) const;
  bool copy_range(std::uint64_t from, std::uint64_t to, char* buf, std::size_t cap,
                  std::size_t& n) const;
  void on_region_match(unsigned pattern_id, std::uint64_t from, std::uint64_t to);
  // Runs the detector's validator and entropy gate on `match`, leaving the value in the
  // scanner's canonical scratch (the caller wipes it).
  bool validate(std::uint32_t detector, std::string_view match, double& entropy);
  void confirm(std::uint32_t detector, Pending& p, const ContextHit& c);
  void release() noexcept;
  void move_from(StreamScan& other) noexcept;

  Scanner* owner_ = nullptr;
  hs_stream* stream_ = nullptr;
  std::uint64_t offset_ = 0;   // absolute: every byte written plus every gap
  std::uint64_t hs_base_ = 0;  // absolute offset where the Hyperscan stream (re)started
  std::vector<DetectorHit> hits_;
  // Tail of what was written before the current write(), for matches that began there.
  std::array<std::uint8_t, kMaxHistory> tail_{};
  std::uint32_t tail_len_ = 0;
  // The bytes being scanned right now and their absolute start; valid only inside a scan.
  const std::uint8_t* cur_ = nullptr;
  std::size_t cur_len_ = 0;
  std::uint64_t cur_start_ = 0;
  std::array<Span, kRecentSpans> recent_{};
  std::array<bool, kRecentSpans> recent_ok_{};  // whether that span was accepted
  // Per context-using detector, allocated on the first keyword of the stream.
  std::vector<ContextRing> rings_;
  std::vector<Pending> pending_;
  std::vector<Region> regions_;
  std::vector<Scanned> scanned_;  // per detector, allocated with the first region
  // While a region is scanned: its detector, the absolute offset of the scanned buffer's
  // start, and the span in which its matches are exactly those of a stream scan.
  bool in_region_ = false;
  std::uint32_t region_detector_ = 0;
  ContextHit region_context_;
  std::uint64_t region_base_ = 0;
  std::uint64_t region_lo_ = 0;
  std::uint64_t region_hi_ = 0;
  std::uint32_t recent_next_ = 0;
  bool added_ = false;
  bool closed_ = false;
};

}  // namespace dlp::signatures
