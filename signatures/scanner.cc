// Scanner and StreamScan: the hot path. No exceptions escape (Hyperscan errors become
// counters), no allocation per write in steady state, and the cleartext of a match lives
// only in a stack buffer and the worker's canonical scratch, both wiped before the match
// callback returns.
#include <hs/hs.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "signatures/scanner.h"

namespace dlp::signatures {
namespace {

// Worker start-up failures (out of memory, a database Hyperscan rejects) leave nothing
// sensible to run: fatal, with the reason.
[[noreturn]] void fatal(const char* what) {
  std::fprintf(stderr, "dlpgate: scanner: %s\n", what);
  std::abort();
}

// The masked form is all that leaves the scanner, so build it from the canonical value
// without ever copying the hidden digits.
std::string mask_value(MaskRule rule, const std::string& canonical) {
  std::string out(canonical.size(), '*');
  std::size_t n = canonical.size();
  if (rule == MaskRule::first6_last4 && n > 10) {
    std::memcpy(out.data(), canonical.data(), 6);
  }
  std::size_t keep = n > 4 ? 4 : 0;  // a value of four chars or fewer is shown as stars
  std::memcpy(out.data() + n - keep, canonical.data() + n - keep, keep);
  return out;
}

}  // namespace

struct StreamScan::Impl {
  static int on_event(unsigned id, unsigned long long from, unsigned long long to, unsigned,
                      void* ctx) {
    static_cast<StreamScan*>(ctx)->on_match(id, from, to);
    return 0;  // keep scanning
  }
};

// ---------------------------------------------------------------------------------------
// Scanner

Scanner::Scanner(std::shared_ptr<const Database> db) : db_(std::move(db)) {
  if (hs_alloc_scratch(db_->raw(), &scratch_) != HS_SUCCESS) fatal("cannot allocate scratch");
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (!mac) fatal("OpenSSL HMAC unavailable");
  mac_ = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context holds its own reference
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  const HashKey& key = db_->key();
  if (!mac_ || EVP_MAC_init(mac_, key.data(), key.size(), params) != 1) {
    fatal("cannot set up HMAC-SHA256");
  }
  canonical_.reserve(kMaxMatchWidth);
}

Scanner::~Scanner() {
  hs_free_scratch(scratch_);
  EVP_MAC_CTX_free(mac_);
}

StreamScan Scanner::open() {
  StreamScan s(this);
  if (db_->mode() == DbMode::stream &&
      hs_open_stream(db_->raw(), 0, &s.stream_) != HS_SUCCESS) {
    // The StreamScan stays usable and counts every write as an error.
    s.stream_ = nullptr;
    ++stats_.hs_errors;
  }
  return s;
}

// ---------------------------------------------------------------------------------------
// StreamScan

StreamScan::StreamScan(Scanner* owner) : owner_(owner) {}

StreamScan::StreamScan(StreamScan&& other) noexcept { move_from(other); }

StreamScan& StreamScan::operator=(StreamScan&& other) noexcept {
  if (this != &other) {
    release();
    move_from(other);
  }
  return *this;
}

StreamScan::~StreamScan() { release(); }

void StreamScan::move_from(StreamScan& other) noexcept {
  // Hyperscan is handed `this` per call, never at open, so nothing refers to `other`.
  owner_ = std::exchange(other.owner_, nullptr);
  stream_ = std::exchange(other.stream_, nullptr);
  offset_ = other.offset_;
  hs_base_ = other.hs_base_;
  hits_ = std::move(other.hits_);
  tail_ = other.tail_;
  tail_len_ = std::exchange(other.tail_len_, 0);
  OPENSSL_cleanse(other.tail_.data(), other.tail_.size());
  recent_ = other.recent_;
  recent_next_ = other.recent_next_;
  added_ = other.added_;
  closed_ = std::exchange(other.closed_, true);
  cur_ = nullptr;
  cur_len_ = 0;
  cur_start_ = offset_;
}

void StreamScan::release() noexcept {
  if (stream_) {
    // No callback: a StreamScan dropped without close() reports nothing more.
    hs_close_stream(stream_, nullptr, nullptr, nullptr);
    stream_ = nullptr;
  }
  OPENSSL_cleanse(tail_.data(), tail_.size());
  tail_len_ = 0;
}

bool StreamScan::write(Bytes data) {
  if (!owner_ || closed_) return false;
  added_ = false;
  // Hyperscan takes unsigned int lengths; bigger writes go in pieces, which the stream
  // state and the tail join up like any other split.
  constexpr std::size_t kPiece = 1u << 30;
  const std::uint8_t* p = data.data();
  std::size_t left = data.size();
  do {
    std::size_t n = std::min(left, kPiece);
    scan_chunk(p, n);
    p += n;
    left -= n;
  } while (left > 0);
  return added_;
}

void StreamScan::scan_chunk(const std::uint8_t* data, std::size_t len) {
  Scanner& sc = *owner_;
  const Database& db = *sc.db_;
  cur_ = data;
  cur_len_ = len;
  cur_start_ = offset_;
  hs_error_t rc;
  if (db.mode() == DbMode::stream) {
    rc = stream_ ? hs_scan_stream(stream_, reinterpret_cast<const char*>(data),
                                  static_cast<unsigned>(len), 0, sc.scratch_, &Impl::on_event, this)
                 : HS_INVALID;
  } else {
    // Block mode: each write stands alone, so nothing before it can be part of a match.
    tail_len_ = 0;
    hs_base_ = offset_;
    rc = hs_scan(db.raw(), reinterpret_cast<const char*>(data), static_cast<unsigned>(len), 0,
                 sc.scratch_, &Impl::on_event, this);
  }
  if (rc != HS_SUCCESS) ++sc.stats_.hs_errors;
  sc.stats_.bytes += len;
  offset_ += len;
  keep_tail(data, len);
  cur_ = nullptr;
  cur_len_ = 0;
  cur_start_ = offset_;
}

void StreamScan::keep_tail(const std::uint8_t* data, std::size_t len) {
  // Only the last kMaxMatchWidth bytes can still be part of a future match.
  if (len >= kMaxMatchWidth) {
    std::memcpy(tail_.data(), data + len - kMaxMatchWidth, kMaxMatchWidth);
    tail_len_ = kMaxMatchWidth;
    return;
  }
  std::size_t keep = std::min<std::size_t>(tail_len_, kMaxMatchWidth - len);
  std::memmove(tail_.data(), tail_.data() + tail_len_ - keep, keep);
  std::memcpy(tail_.data() + keep, data, len);
  tail_len_ = static_cast<std::uint32_t>(keep + len);
}

void StreamScan::gap(std::uint64_t len) {
  if (!owner_ || closed_) return;
  if (stream_) {
    // Treat the gap as an end of data: matches that end right before it are complete and
    // flush now; nothing after it may continue a match from before it.
    cur_start_ = offset_;
    if (hs_reset_stream(stream_, 0, owner_->scratch_, &Impl::on_event, this) != HS_SUCCESS) {
      ++owner_->stats_.hs_errors;
    }
  }
  OPENSSL_cleanse(tail_.data(), tail_len_);
  tail_len_ = 0;
  offset_ += len;
  hs_base_ = offset_;  // Hyperscan counts from zero again after a reset
  cur_start_ = offset_;
}

void StreamScan::close() {
  if (closed_) return;
  closed_ = true;
  if (stream_ && owner_) {
    cur_start_ = offset_;
    if (hs_close_stream(stream_, owner_->scratch_, &Impl::on_event, this) != HS_SUCCESS) {
      ++owner_->stats_.hs_errors;
    }
    stream_ = nullptr;
  }
  OPENSSL_cleanse(tail_.data(), tail_.size());
  tail_len_ = 0;
}

std::vector<const DetectorHit*> StreamScan::reportable() const {
  std::vector<const DetectorHit*> out;
  if (!owner_) return out;
  const auto& dets = owner_->db_->detectors();
  for (const DetectorHit& h : hits_) {
    if (h.count >= dets[h.detector].min_count) out.push_back(&h);
  }
  return out;
}

void StreamScan::on_match(unsigned pattern_id, std::uint64_t from, std::uint64_t to) {
  Scanner& sc = *owner_;
  const Database& db = *sc.db_;
  ++sc.stats_.raw_matches;
  std::uint32_t det = db.detector_of(pattern_id);
  std::uint64_t abs_from = hs_base_ + from;
  std::uint64_t abs_to = hs_base_ + to;

  for (const Span& s : recent_) {
    if (s.detector == det && s.from == abs_from && s.to == abs_to) return;  // already counted
  }
  recent_[recent_next_] = Span{abs_from, abs_to, det};
  recent_next_ = (recent_next_ + 1) % kRecentSpans;

  // Rebuild the matched bytes: the part before cur_start_ is in the tail, the rest in the
  // buffer being scanned. Compile-time width checks make a miss here impossible unless
  // Hyperscan misbehaves; then the match is counted as rejected.
  std::uint64_t width = abs_to - abs_from;
  std::uint64_t window_start = cur_start_ - tail_len_;
  if (width == 0 || width > kMaxMatchWidth || abs_from < window_start ||
      abs_to > cur_start_ + cur_len_) {
    ++sc.stats_.rejected;
    return;
  }
  char buf[kMaxMatchWidth];
  std::size_t n = 0;
  if (abs_from < cur_start_) {
    std::size_t from_tail = static_cast<std::size_t>(std::min(abs_to, cur_start_) - abs_from);
    std::memcpy(buf, tail_.data() + (abs_from - window_start), from_tail);
    n = from_tail;
  }
  if (abs_to > cur_start_) {
    std::uint64_t start = std::max(abs_from, cur_start_);
    std::size_t from_cur = static_cast<std::size_t>(abs_to - start);
    std::memcpy(buf + n, cur_ + (start - cur_start_), from_cur);
    n += from_cur;
  }

  std::string& canonical = sc.canonical_;
  ValidatorFn fn = db.validators_[det];
  bool ok = fn ? fn(std::string_view(buf, n), canonical)
               : (canonical.assign(buf, n), true);
  if (ok) {
    ++sc.stats_.validated;
    record(det, abs_from, canonical);
    added_ = true;
  } else {
    ++sc.stats_.rejected;
  }
  OPENSSL_cleanse(buf, n);
  OPENSSL_cleanse(canonical.data(), canonical.size());
  canonical.clear();
}

void StreamScan::record(std::uint32_t detector, std::uint64_t from, const std::string& canonical) {
  Scanner& sc = *owner_;
  const Detector& d = sc.db_->detectors()[detector];
  DetectorHit* hit = nullptr;
  for (DetectorHit& h : hits_) {
    if (h.detector == detector) hit = &h;
  }
  if (!hit) {
    hits_.push_back(DetectorHit{});
    hit = &hits_.back();
    hit->detector = detector;
    hit->confidence = d.confidence;
    hit->first_offset = from;
  }
  ++hit->count;
  hit->first_offset = std::min(hit->first_offset, from);
  if (hit->hashes.size() >= kMaxMaskedPerHit) return;  // enough examples; keep counting

  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t mac_len = 0;
  // Re-initialising with no key keeps the key set in the constructor.
  if (EVP_MAC_init(sc.mac_, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(sc.mac_, reinterpret_cast<const unsigned char*>(canonical.data()),
                     canonical.size()) != 1 ||
      EVP_MAC_final(sc.mac_, mac, &mac_len, sizeof mac) != 1 || mac_len < 8) {
    ++sc.stats_.hs_errors;  // counted with the engine errors: the value cannot be keyed
    return;
  }
  std::uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = (h << 8) | mac[i];  // big-endian: the same on every host
  if (std::find(hit->hashes.begin(), hit->hashes.end(), h) != hit->hashes.end()) return;
  hit->hashes.push_back(h);
  hit->masked.push_back(mask_value(d.mask, canonical));
}

}  // namespace dlp::signatures
