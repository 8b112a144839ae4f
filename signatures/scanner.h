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
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/dlp/bytes.h"
#include "common/dlp/result.h"
#include "signatures/detector.h"

struct hs_database;
struct hs_scratch;
struct hs_stream;

namespace dlp::signatures {

// Longest match the scanner can validate; patterns wider than this are refused at compile.
inline constexpr std::size_t kMaxMatchWidth = 256;
// Distinct masked values kept per finding (the count keeps counting past it).
inline constexpr std::size_t kMaxMaskedPerHit = 16;

using HashKey = std::array<std::uint8_t, 32>;

enum class DbMode : std::uint8_t { stream, block };

class Database {
 public:
  // Compile every pattern of every detector. Errors name the detector, the pattern and
  // Hyperscan's reason. Block mode exists for benchmarks and `dlpctl detectors test`.
  static Result<std::shared_ptr<const Database>> compile(const DetectorSet& set,
                                                         const HashKey& key,
                                                         DbMode mode = DbMode::stream);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::vector<Detector>& detectors() const { return detectors_; }
  DbMode mode() const { return mode_; }
  const hs_database* raw() const { return db_; }
  std::size_t stream_state_size() const { return stream_size_; }

  // Internal to signatures/: pattern id -> detector index, key for value hashes.
  std::uint32_t detector_of(unsigned pattern_id) const { return pattern_detector_[pattern_id]; }
  const HashKey& key() const { return key_; }

 private:
  Database() = default;
  hs_database* db_ = nullptr;
  DbMode mode_ = DbMode::stream;
  std::size_t stream_size_ = 0;
  std::vector<Detector> detectors_;
  std::vector<std::uint32_t> pattern_detector_;
  HashKey key_{};
};

// One finding's worth of evidence: one detector in one content stream.
struct DetectorHit {
  std::uint32_t detector = 0;  // index into Database::detectors()
  std::uint32_t count = 0;     // validated matches (not distinct values)
  Confidence confidence = Confidence::medium;
  std::vector<std::string> masked;       // distinct values, masked, first kMaxMaskedPerHit
  std::vector<std::uint64_t> hashes;     // keyed hashes of the same distinct values
  std::uint64_t first_offset = 0;        // stream offset of the first validated match
};

struct ScanStats {
  std::uint64_t bytes = 0;
  std::uint64_t raw_matches = 0;       // Hyperscan callbacks
  std::uint64_t validated = 0;         // matches that passed their validator
  std::uint64_t rejected = 0;          // matches dropped by their validator
  std::uint64_t hs_errors = 0;
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
  struct Impl;
  Scanner* owner_ = nullptr;
  hs_stream* stream_ = nullptr;
  std::uint64_t offset_ = 0;
  std::vector<DetectorHit> hits_;
  // Tail of what was written before the current write(), for matches that began there.
  std::array<std::uint8_t, kMaxMatchWidth> tail_{};
  std::uint32_t tail_len_ = 0;
};

}  // namespace dlp::signatures
