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

#include "signatures/mask.h"

namespace dlp::signatures {
namespace {

// Worker start-up failures (out of memory, a database Hyperscan rejects) leave nothing
// sensible to run: fatal, with the reason.
[[noreturn]] void fatal(const char* what) {
  std::fprintf(stderr, "dlpgate: scanner: %s\n", what);
  std::abort();
}

}  // namespace

struct StreamScan::Impl {
  static int on_event(unsigned id, unsigned long long from, unsigned long long to, unsigned,
                      void* ctx) {
    static_cast<StreamScan*>(ctx)->on_match(id, from, to);
    return 0;  // keep scanning
  }
  static int on_region_event(unsigned id, unsigned long long from, unsigned long long to,
                             unsigned, void* ctx) {
    static_cast<StreamScan*>(ctx)->on_region_match(id, from, to);
    return 0;
  }
};

// ---------------------------------------------------------------------------------------
// Scanner

Scanner::Scanner(std::shared_ptr<const Database> db) : db_(std::move(db)) {
  if (hs_alloc_scratch(db_->raw(), &scratch_) != HS_SUCCESS) fatal("cannot allocate scratch");
  // One scratch serves every gated database: Hyperscan grows it to the largest need.
  for (std::uint32_t d = 0; d < db_->detectors().size(); ++d) {
    if (db_->gated(d) && hs_alloc_scratch(db_->gated(d), &gate_scratch_) != HS_SUCCESS) {
      fatal("cannot allocate scratch");
    }
  }
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
  hs_free_scratch(gate_scratch_);
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
  recent_ok_ = other.recent_ok_;
  recent_next_ = other.recent_next_;
  rings_ = std::move(other.rings_);
  pending_ = std::move(other.pending_);
  regions_ = std::move(other.regions_);
  scanned_ = std::move(other.scanned_);
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
  // While this write and the tail before it are both at hand. In block mode nothing
  // carries over to the next write, so every region is done now.
  if (!regions_.empty()) flush_regions(db.mode() == DbMode::block);
  keep_tail(data, len);
  if (!pending_.empty()) expire_pending(false);
  cur_ = nullptr;
  cur_len_ = 0;
  cur_start_ = offset_;
}

void StreamScan::keep_tail(const std::uint8_t* data, std::size_t len) {
  // Only the last `width` bytes (the database's widest pattern) can still be part of a
  // future match.
  const std::size_t width = std::min(owner_->db_->tail_width_, kMaxHistory);
  if (len >= width) {
    std::memcpy(tail_.data(), data + len - width, width);
    tail_len_ = static_cast<std::uint32_t>(width);
    return;
  }
  std::size_t keep = std::min<std::size_t>(tail_len_, width - len);
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
  // Regions: what is before the gap is scanned now; a region reaching past it goes on
  // after it (its keyword may be before the gap and its match after).
  if (!regions_.empty()) {
    const std::uint64_t after = offset_ + len;
    std::vector<Region> rest;
    for (const Region& r : regions_) {
      if (r.to > after) rest.push_back(Region{after, r.to, r.detector, r.context});
    }
    flush_regions(true);
    regions_ = std::move(rest);
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
  // The end of the data is the end of every region still waiting.
  flush_regions(true);
  OPENSSL_cleanse(tail_.data(), tail_.size());
  tail_len_ = 0;
  // No more keywords can come: a match still waiting for its context never gets it.
  expire_pending(true);
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
  if (!db.is_detector_pattern(pattern_id)) {
    on_keyword(static_cast<std::uint32_t>(pattern_id - db.pattern_detector_.size()), hs_base_ + to);
    return;
  }
  on_detector_match(db.detector_of(pattern_id), hs_base_ + db.match_start(pattern_id, from, to),
                    hs_base_ + to);
}

void StreamScan::on_region_match(unsigned pattern_id, std::uint64_t from, std::uint64_t to) {
  const Database& db = *owner_->db_;
  const std::uint64_t abs_from = region_base_ + db.match_start(pattern_id, from, to);
  const std::uint64_t abs_to = region_base_ + to;
  // Outside the span, a match may owe its existence to where the buffer was cut.
  if (abs_from < region_lo_ || abs_to > region_hi_) return;
  const Scanned& before = scanned_[region_detector_];
  const std::uint64_t window = db.detectors_[region_detector_].context.window;
  if (abs_from >= before.from && abs_to <= before.to && before.context.to + window >= abs_from &&
      before.context.from <= abs_to + window) {
    return;  // the last scan had it, near its keyword
  }
  on_detector_match(region_detector_, abs_from, abs_to);
}

void StreamScan::on_detector_match(std::uint32_t det, std::uint64_t abs_from, std::uint64_t abs_to) {
  Scanner& sc = *owner_;
  const Database& db = *sc.db_;
  ++sc.stats_.raw_matches;
  if (const LeftExtension& ext = db.detectors_[det].extend_left; ext.max != 0) {
    const std::uint64_t window_start = cur_start_ - tail_len_;
    auto byte_at = [&](std::uint64_t pos) {
      return pos < cur_start_ ? tail_[pos - window_start] : cur_[pos - cur_start_];
    };
    if (abs_from < window_start || !extend_left(ext, abs_from, window_start, byte_at)) {
      ++sc.stats_.rejected;
      return;
    }
  }

  for (std::size_t i = 0; i < kRecentSpans; ++i) {
    const Span& s = recent_[i];
    if (s.detector != det) continue;
    // Already counted. A gated detector's match that was not (it was near no keyword
    // when a first region found it) is judged again in the next keyword's region.
    if (s.from == abs_from && s.to == abs_to && (recent_ok_[i] || !db.gate_width_[det])) return;
    // Bounded repeats report one value at several ends ("a@b.example" and
    // "a@b.example.com"): once one of them is accepted, the overlapping rest is the same
    // value and must not count again.
    if (recent_ok_[i] && abs_from < s.to && abs_to > s.from) return;
  }
  const std::uint32_t slot = recent_next_;
  recent_[slot] = Span{abs_from, abs_to, det};
  recent_ok_[slot] = false;
  recent_next_ = (recent_next_ + 1) % kRecentSpans;

  // Compile-time width checks make a miss here impossible unless Hyperscan misbehaves;
  // then the match is counted as rejected.
  char buf[kMaxMatchWidth];
  std::size_t n = 0;
  if (!rebuild(abs_from, abs_to, buf, n)) {
    ++sc.stats_.rejected;
    return;
  }
  std::string& canonical = sc.canonical_;
  double entropy = -1;  // not measured
  bool ok = validate(det, std::string_view(buf, n), entropy);
  if (ok) {
    ++sc.stats_.validated;
    const bool counted = accept(det, abs_from, abs_to, canonical, entropy);
    if (counted) added_ = true;
    // A gated detector's match counts as taken only once it is counted (see above).
    recent_ok_[slot] = counted || !db.gate_width_[det];
  } else {
    ++sc.stats_.rejected;
  }
  OPENSSL_cleanse(buf, n);
  OPENSSL_cleanse(canonical.data(), canonical.size());
  canonical.clear();
}

bool StreamScan::rebuild(std::uint64_t from, std::uint64_t to, char* buf, std::size_t& n) const {
  return copy_range(from, to, buf, kMaxMatchWidth, n);
}

bool StreamScan::copy_range(std::uint64_t from, std::uint64_t to, char* buf, std::size_t cap,
                            std::size_t& n) const {
  // The part before cur_start_ is in the tail, the rest in the buffer being scanned.
  n = 0;
  const std::uint64_t width = to - from;
  const std::uint64_t window_start = cur_start_ - tail_len_;
  if (to <= from || width > cap || from < window_start || to > cur_start_ + cur_len_) {
    return false;
  }
  if (from < cur_start_) {
    std::size_t from_tail = static_cast<std::size_t>(std::min(to, cur_start_) - from);
    std::memcpy(buf, tail_.data() + (from - window_start), from_tail);
    n = from_tail;
  }
  if (to > cur_start_) {
    std::uint64_t start = std::max(from, cur_start_);
    std::size_t from_cur = static_cast<std::size_t>(to - start);
    std::memcpy(buf + n, cur_ + (start - cur_start_), from_cur);
    n += from_cur;
  }
  return true;
}

bool StreamScan::validate(std::uint32_t det, std::string_view match, double& entropy) {
  Scanner& sc = *owner_;
  const Database& db = *sc.db_;
  std::string& canonical = sc.canonical_;
  ValidatorFn fn = db.validators_[det];
  bool ok = fn ? fn(match, canonical) : (canonical.assign(match), true);
  const Detector& d = db.detectors_[det];
  if (ok && d.entropy_min > 0) {
    entropy = shannon_entropy(canonical);
    if (entropy < d.entropy_min) {
      ok = false;
      ++sc.stats_.low_entropy;
    }
  }
  return ok;
}

void StreamScan::on_keyword(std::uint32_t keyword, std::uint64_t to) {
  Scanner& sc = *owner_;
  const Database& db = *sc.db_;
  ++sc.stats_.context_hits;
  const Database::Keyword& kw = db.keywords_[keyword];
  const std::uint64_t len = kw.text.size();
  ContextHit c{to >= len ? to - len : 0, to, keyword};
  for (std::uint32_t det : kw.detectors) add_context(det, c);
}

bool StreamScan::accept(std::uint32_t det, std::uint64_t from, std::uint64_t to,
                        const std::string& canonical, double entropy) {
  const Database& db = *owner_->db_;
  const Detector& d = db.detectors_[det];
  const bool uses_context = db.ring_of_[det] != UINT32_MAX;
  const ContextHit* c = uses_context ? find_context(det, from, to) : nullptr;
  if (db.gate_width_[det] && !c) {
    // Found in a region: its keyword may have been pushed out of the ring by newer ones
    // (a write is scanned before its regions are). The region reaches a match's width
    // past the window, so the distance is checked all the same. A match near no keyword
    // yet is left alone: a later keyword's region finds it again.
    const ContextHit& k = region_context_;
    const std::uint32_t window = d.context.window;
    if (!(in_region_ && region_detector_ == det && k.to + window >= from && k.from <= to + window)) {
      return false;
    }
    c = &k;
  }
  if (d.require_context && !c) {
    // Not a finding yet: a keyword may still follow inside the window.
    park(det, from, to, false, &canonical);
    return false;
  }
  DetectorHit& hit = hit_for(det, from, entropy);
  count(hit, from);
  std::uint64_t h = 0;
  if (hit.hashes.size() < kMaxMaskedPerHit && value_hash(canonical, h)) {
    if (std::find(hit.hashes.begin(), hit.hashes.end(), h) == hit.hashes.end()) {
      add_value(hit, h, mask_value(d.mask, canonical));
    }
  }
  if (c) {
    raise(hit, *c, from, to);
  } else if (uses_context && hit.confidence < Confidence::high) {
    park(det, from, to, true, nullptr);
  }
  // This match is context for the detectors that listen to this one (an AWS secret near
  // its access key id). A match that is context for itself would be circular: skipped.
  for (std::uint32_t listener : db.listeners_[det]) {
    if (listener != det) add_context(listener, ContextHit{from, to, kFromDetector | det});
  }
  return true;
}

DetectorHit& StreamScan::hit_for(std::uint32_t det, std::uint64_t from, double entropy) {
  for (DetectorHit& h : hits_) {
    if (h.detector == det) return h;
  }
  const Detector& d = owner_->db_->detectors_[det];
  DetectorHit& hit = hits_.emplace_back();
  hit.detector = det;
  hit.confidence = d.confidence;
  hit.first_offset = from;
  hit.reasons.push_back(d.validator.empty() ? std::string("pattern matched (no validator)")
                                            : "validator " + d.validator + " passed");
  if (entropy >= 0) {
    char text[96];
    std::snprintf(text, sizeof text, "entropy %.2f bits/char >= entropy_min %.2f", entropy,
                  d.entropy_min);
    hit.reasons.emplace_back(text);
  }
  return hit;
}

void StreamScan::count(DetectorHit& hit, std::uint64_t from) {
  const Detector& d = owner_->db_->detectors_[hit.detector];
  ++hit.count;
  hit.first_offset = std::min(hit.first_offset, from);
  if (d.min_count > 1 && hit.count == d.min_count && hit.reasons.size() < kMaxReasonsPerHit) {
    hit.reasons.push_back("count " + std::to_string(hit.count) + " >= min_count " +
                          std::to_string(d.min_count));
  }
}

bool StreamScan::value_hash(const std::string& canonical, std::uint64_t& out) {
  Scanner& sc = *owner_;
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t mac_len = 0;
  // Re-initialising with no key keeps the key set in the constructor.
  if (EVP_MAC_init(sc.mac_, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(sc.mac_, reinterpret_cast<const unsigned char*>(canonical.data()),
                     canonical.size()) != 1 ||
      EVP_MAC_final(sc.mac_, mac, &mac_len, sizeof mac) != 1 || mac_len < 8) {
    ++sc.stats_.hs_errors;  // counted with the engine errors: the value cannot be keyed
    return false;
  }
  std::uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = (h << 8) | mac[i];  // big-endian: the same on every host
  out = h;
  return true;
}

void StreamScan::add_value(DetectorHit& hit, std::uint64_t hash, std::string masked) {
  hit.hashes.push_back(hash);
  hit.masked.push_back(std::move(masked));
}

void StreamScan::add_context(std::uint32_t det, const ContextHit& c) {
  const Database& db = *owner_->db_;
  // One allocation per stream, on its first keyword; most streams carry none.
  if (rings_.empty()) rings_.resize(db.ring_count_);
  ContextRing& ring = rings_[db.ring_of_[det]];
  ring.hits[ring.next] = c;
  ring.next = (ring.next + 1) % kContextRing;
  if (db.gate_width_[det]) queue_region(det, c);
  if (pending_.empty()) return;
  // Matches before this keyword, still inside their window, are raised or confirmed now.
  const std::uint32_t window = db.detectors_[det].context.window;
  for (auto it = pending_.begin(); it != pending_.end();) {
    const bool near = it->detector == det && c.to + window >= it->from && c.from <= it->to + window;
    if (!near) {
      ++it;
      continue;
    }
    if (!it->counted) {
      confirm(det, *it, c);
    } else {
      for (DetectorHit& hit : hits_) {
        if (hit.detector == det) raise(hit, c, it->from, it->to);
      }
    }
    it = pending_.erase(it);
  }
}

void StreamScan::confirm(std::uint32_t det, Pending& p, const ContextHit& c) {
  Scanner& sc = *owner_;
  const Detector& d = sc.db_->detectors_[det];
  std::uint64_t hash = p.hash;
  bool hashed = p.hashed;
  std::string masked = std::move(p.masked);
  double entropy = -1;
  if (sc.db_->reread_[det]) {
    // Read the match again from the stream history and key it now. Its bytes are there
    // unless a gap came in between (then nothing after the gap can vouch for it).
    char buf[kMaxMatchWidth];
    std::size_t n = 0;
    const bool ok = rebuild(p.from, p.to, buf, n) && validate(det, std::string_view(buf, n), entropy);
    if (ok) {
      hashed = value_hash(sc.canonical_, hash);
      masked = mask_value(d.mask, sc.canonical_);
    }
    OPENSSL_cleanse(buf, n);
    OPENSSL_cleanse(sc.canonical_.data(), sc.canonical_.size());
    sc.canonical_.clear();
    if (!ok) {
      ++sc.stats_.unconfirmed;
      return;
    }
  }
  DetectorHit& hit = hit_for(det, p.from, entropy);
  count(hit, p.from);
  if (hashed && hit.hashes.size() < kMaxMaskedPerHit &&
      std::find(hit.hashes.begin(), hit.hashes.end(), hash) == hit.hashes.end()) {
    add_value(hit, hash, std::move(masked));
  }
  added_ = true;
  raise(hit, c, p.from, p.to);
}

const StreamScan::ContextHit* StreamScan::find_context(std::uint32_t det, std::uint64_t from,
                                                      std::uint64_t to) const {
  if (rings_.empty()) return nullptr;
  const Database& db = *owner_->db_;
  const std::uint32_t window = db.detectors_[det].context.window;
  const ContextRing& ring = rings_[db.ring_of_[det]];
  const ContextHit* best = nullptr;
  for (const ContextHit& c : ring.hits) {
    if (c.source == UINT32_MAX) continue;
    if (c.to + window >= from && c.from <= to + window) {
      if (!best || c.to > best->to) best = &c;  // the nearest one names the reason
    }
  }
  return best;
}

void StreamScan::raise(DetectorHit& hit, const ContextHit& c, std::uint64_t from, std::uint64_t to) {
  hit.confidence = Confidence::high;
  for (const std::string& r : hit.reasons) {
    if (r.starts_with("context ") || r.starts_with("paired with ")) return;  // one is enough
  }
  if (hit.reasons.size() >= kMaxReasonsPerHit) return;
  const Database& db = *owner_->db_;
  std::string where;
  if (c.to <= from) {
    where = std::to_string(from - c.to) + " bytes before";
  } else if (c.from >= to) {
    where = std::to_string(c.from - to) + " bytes after";
  } else {
    where = "overlapping";
  }
  if (c.source & kFromDetector) {
    hit.reasons.push_back("paired with " + db.detectors_[c.source & ~kFromDetector].id + " " + where);
  } else {
    hit.reasons.push_back("context '" + db.keywords_[c.source].text + "' " + where);
  }
}

void StreamScan::park(std::uint32_t det, std::uint64_t from, std::uint64_t to, bool counted,
                      const std::string* canonical) {
  Scanner& sc = *owner_;
  if (pending_.size() >= kMaxPending) {
    // Bounded: the oldest is the nearest to the end of its window anyway.
    if (!pending_.front().counted) ++sc.stats_.unconfirmed;
    pending_.erase(pending_.begin());
  }
  if (pending_.capacity() == 0) pending_.reserve(kMaxPending);
  Pending& p = pending_.emplace_back();
  p.from = from;
  p.to = to;
  p.detector = det;
  p.counted = counted;
  // Keyed and masked now only when the match could not be re-read when its keyword
  // comes (Database::reread_).
  if (canonical && !sc.db_->reread_[det]) {
    p.hashed = value_hash(*canonical, p.hash);
    p.masked = mask_value(sc.db_->detectors_[det].mask, *canonical);
  }
}

void StreamScan::expire_pending(bool all) {
  Scanner& sc = *owner_;
  const Database& db = *sc.db_;
  // A keyword that starts inside the window is seen once its last byte is scanned, so a
  // match stays pending for its window plus the longest keyword.
  std::erase_if(pending_, [&](const Pending& p) {
    const std::uint64_t horizon = p.to + db.detectors_[p.detector].context.window + db.tail_width_;
    if (!all && offset_ <= horizon) return false;
    if (!p.counted) ++sc.stats_.unconfirmed;
    return true;
  });
}

// ---------------------------------------------------------------------------------------
// Context-gated detectors

void StreamScan::queue_region(std::uint32_t det, const ContextHit& c) {
  Scanner& sc = *owner_;
  const Database& db = *sc.db_;
  const std::uint64_t reach = db.detectors_[det].context.window + db.gate_width_[det];
  const Region r{std::max(c.from > reach ? c.from - reach : 0, hs_base_), c.to + reach, det, c};
  if (scanned_.empty()) {
    // One allocation each per stream, on its first gated keyword.
    scanned_.resize(db.detectors_.size());
    regions_.reserve(kMaxRegions);
  }
  // Usually the region ends inside the write being scanned: scan it now (with the gated
  // scratch), so its findings are there when this write returns. Not from inside another
  // region's scan (a gated detector as context for a gated one): that one waits.
  if (!in_region_ && cur_ != nullptr && r.to < cur_start_ + cur_len_) {
    scan_region(r);
    return;
  }
  if (regions_.size() >= kMaxRegions) {
    ++sc.stats_.gated_clipped;  // given up, counted
    regions_.erase(regions_.begin());
  }
  regions_.push_back(r);
}

void StreamScan::flush_regions(bool all) {
  // A region is complete once the byte after it is here (a \b at its end looks at it).
  // Scanning may queue more (a gated detector as context for another), so walk by index.
  // A region still open is scanned up to here too, so that a match and its keyword in
  // this write are a finding when write() returns (an inline verdict waits for nothing);
  // the rest of it, from the widest match back, waits for the next write.
  const std::uint64_t have = cur_start_ + cur_len_;
  std::size_t i = 0;
  while (i < regions_.size()) {
    if (all || regions_[i].to < have) {
      const Region r = regions_[i];
      regions_.erase(regions_.begin() + static_cast<std::ptrdiff_t>(i));
      scan_region(r);
      continue;
    }
    const std::uint32_t det = regions_[i].detector;
    const std::uint64_t width = owner_->db_->gate_width_[det];
    if (have > regions_[i].from + width) {
      // Matches ending before the last byte here: the last byte is the \b look-ahead.
      const Region part{regions_[i].from, have - 1, det, regions_[i].context};
      const std::size_t before = regions_.size();
      scan_region(part);
      // (Scanning queues nothing unless a gated detector is context for a gated one.)
      if (regions_.size() == before && regions_[i].detector == det) {
        regions_[i].from = std::max(regions_[i].from, have - width);
      }
    }
    ++i;
  }
}

void StreamScan::scan_region(const Region& r) {
  Scanner& sc = *owner_;
  const Database& db = *sc.db_;
  // What is at hand: the tail and the current write, never before the stream's restart.
  const std::uint64_t have_from = std::max(cur_start_ - tail_len_, hs_base_);
  const std::uint64_t have_to = cur_start_ + cur_len_;
  const std::uint64_t lo = std::max(r.from, have_from);
  const std::uint64_t hi = std::min(r.to, have_to);
  if (lo > r.from) ++sc.stats_.gated_clipped;
  if (lo >= hi) return;
  // One byte either side, where there is one, so \b sees the real neighbours; pieces of
  // at most kMaxHistory + 2 bytes overlapping by the widest match, for a region widened
  // over a long write.
  const std::uint64_t width = db.gate_width_[r.detector];
  std::uint64_t piece = lo > have_from ? lo - 1 : lo;
  const std::uint64_t end = hi < have_to ? hi + 1 : hi;
  char buf[kMaxHistory + 2];
  while (true) {
    const std::uint64_t piece_end = std::min(end, piece + sizeof buf);
    std::size_t n = 0;
    if (!copy_range(piece, piece_end, buf, sizeof buf, n)) {
      ++sc.stats_.gated_clipped;
      break;
    }
    in_region_ = true;
    region_detector_ = r.detector;
    region_context_ = r.context;
    region_base_ = piece;
    region_lo_ = std::max(lo, piece == lo ? lo : piece + 1);
    region_hi_ = std::min(hi, piece_end == hi ? hi : piece_end - 1);
    ++sc.stats_.gated_scans;
    sc.stats_.gated_bytes += n;
    if (hs_scan(db.gated(r.detector), buf, static_cast<unsigned>(n), 0, sc.gate_scratch_,
                &Impl::on_region_event, this) != HS_SUCCESS) {
      ++sc.stats_.hs_errors;
    }
    in_region_ = false;
    OPENSSL_cleanse(buf, n);
    scanned_[r.detector] = Scanned{region_lo_, region_hi_, r.context};
    if (piece_end >= end || piece_end - piece <= width + 2) break;
    piece = piece_end - (width + 2);
  }
}

}  // namespace dlp::signatures
