// Normalizer: see normalizer.h for the contract.
//
// Pipeline per code point: source decoder (UTF-8 or UTF-16) -> HTML entity stage ->
// format-character removal -> NFKC segment buffer -> out_. Invalid input bytes bypass
// the stages as raw bytes and act as a boundary everywhere.
//
// One deliberate deviation from textbook NFKC: an ASCII character is a normalisation
// boundary on BOTH sides, so a combining mark is never composed onto an ASCII base
// ("a" U+0301 stays decomposed instead of becoming U+00E1). Without it, every fast-path
// piece that ends in a letter would have to hold that letter back (one copy and one extra
// sink call per write) in case the next piece starts with a mark. The rule holds in the
// slow path too, so the output never depends on how the stream was cut. A keyword
// written with a mark on an ASCII letter matches neither form, so detection loses nothing.
// (No character composes *backwards* onto ASCII: every ASCII character has an NFKC
// boundary before it, checked by the tests.)
#include "inspectors/normalizer.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>
#include <unicode/uchar.h>

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace dlp::inspectors {
namespace {

// Encoding sniffing window: enough UTF-16 code units to see the zero pattern clearly,
// small enough that holding it is cheap.
constexpr std::size_t kSniff = 64;
// Longest entity kept as a candidate ("&#x0010FFFF;" is 12; leading zeros need slack).
constexpr std::size_t kMaxEntity = 16;  // == sizeof Normalizer::ent_buf_
// Longest NFKC segment held; a longer run of non-starters is normalised in pieces.
constexpr std::uint32_t kMaxSegmentCps = 64;
// Complete segments are batched into one ICU call up to this many bytes.
constexpr std::size_t kBatch = 1024;
constexpr std::uint32_t kMaxCp = 0x10FFFF;
// CJK Unified Ideographs: NFKC-inert (a boundary on both sides, unchanged), neither
// format characters nor digits (checked for every code point by the tests).
constexpr std::uint32_t kInertFirst = 0x4E00;
constexpr std::uint32_t kInertLast = 0x9FFF;

enum class Sniff : std::uint8_t { undecided, utf8, utf16le, utf16be };

bool sniff_ascii(std::uint8_t c) { return c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c < 0x7F); }

// Decides the encoding from the first bytes of a stream. Returns undecided only when more
// bytes could change the answer, so the decision is the same however the prefix arrives.
// UTF-16 without a BOM is recognised when its first two code units are ASCII (the zero
// byte pattern) and at least half of the code units in the window are; UTF-16 text that
// starts with two non-ASCII characters and has no BOM is taken as bytes (never dropped).
Sniff sniff(const std::uint8_t* p, std::size_t n, bool final, std::size_t& skip) {
  skip = 0;
  if (n >= 2) {
    if (p[0] == 0xFF && p[1] == 0xFE) {
      skip = 2;
      return Sniff::utf16le;
    }
    if (p[0] == 0xFE && p[1] == 0xFF) {
      skip = 2;
      return Sniff::utf16be;
    }
  }
  const bool le = (n < 1 || sniff_ascii(p[0])) && (n < 2 || p[1] == 0) && (n < 3 || sniff_ascii(p[2])) &&
                  (n < 4 || p[3] == 0);
  const bool be = (n < 1 || p[0] == 0) && (n < 2 || sniff_ascii(p[1])) && (n < 3 || p[2] == 0) &&
                  (n < 4 || sniff_ascii(p[3]));
  const bool bom_prefix = n == 1 && (p[0] == 0xFF || p[0] == 0xFE);
  if (!le && !be && !bom_prefix) return Sniff::utf8;
  if (n < 4) return final ? Sniff::utf8 : Sniff::undecided;
  if (n < kSniff && !final) return Sniff::undecided;
  const std::size_t pairs = std::min(n, kSniff) / 2;
  std::size_t ascii_units = 0;
  for (std::size_t k = 0; k < pairs; ++k) {
    const std::uint8_t lo = le ? p[2 * k] : p[2 * k + 1];
    const std::uint8_t hi = le ? p[2 * k + 1] : p[2 * k];
    ascii_units += hi == 0 && sniff_ascii(lo);
  }
  if (ascii_units * 2 < pairs) return Sniff::utf8;
  return le ? Sniff::utf16le : Sniff::utf16be;
}

// Characters after '&' that may begin an entity we decode ('#', amp/apos, lt, gt, quot,
// nbsp). Any other '&' (query strings, "R&D") keeps a piece on the fast path.
bool entity_start(std::uint8_t c) {
  return c == '#' || c == 'a' || c == 'l' || c == 'g' || c == 'q' || c == 'n';
}

bool is_digit(std::uint32_t c) { return c >= '0' && c <= '9'; }
bool is_alpha(std::uint32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
int hex_value(std::uint32_t c) {
  if (is_digit(c)) return static_cast<int>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<int>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<int>(c - 'A' + 10);
  return -1;
}

std::uint32_t named_entity(std::string_view name) {
  if (name == "amp") return '&';
  if (name == "lt") return '<';
  if (name == "gt") return '>';
  if (name == "quot") return '"';
  if (name == "apos") return '\'';
  if (name == "nbsp") return 0xA0;
  return 0;
}
constexpr std::size_t kMaxEntityName = 4;

// Invisible characters that split a token without showing: general category Cf (ZWSP,
// ZWNJ, ZWJ, LRM/RLM, word joiner, BOM, soft hyphen, bidi controls, tags) and the other
// default-ignorables (variation selectors, CGJ, Hangul fillers).
bool is_ignorable(std::uint32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  return u_charType(c) == U_FORMAT_CHAR || u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT);
}

void append_utf8(std::string& s, std::uint32_t cp) {
  if (cp < 0x80) {
    s.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    s.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// First index >= i that the byte loop must see: a non-ASCII byte, or (when entities are
// on) an '&' that may start an entity, including one at the end of the piece, whose next
// character arrives with the next write. Everything before it is plain ASCII.
std::size_t find_special(const std::uint8_t* p, std::size_t i, std::size_t n, bool amp) {
#if defined(__SSE2__)
  const __m128i vamp = _mm_set1_epi8('&');
  for (; i + 32 <= n; i += 32) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 16));
    const unsigned high = static_cast<unsigned>(_mm_movemask_epi8(a)) |
                          (static_cast<unsigned>(_mm_movemask_epi8(b)) << 16);
    unsigned m = high;
    if (amp) {
      m |= static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(a, vamp))) |
           (static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(b, vamp))) << 16);
    }
    while (m != 0) {
      const unsigned bit = static_cast<unsigned>(__builtin_ctz(m));
      const std::size_t k = i + bit;
      if ((high >> bit) & 1u) return k;
      if (k + 1 >= n || entity_start(p[k + 1])) return k;
      m &= m - 1;
    }
  }
#endif
  for (; i < n; ++i) {
    if (p[i] >= 0x80) return i;
    if (amp && p[i] == '&' && (i + 1 >= n || entity_start(p[i + 1]))) return i;
  }
  return n;
}

}  // namespace

Normalizer::Normalizer(const NormalizerOptions& opts) : opts_(opts) {
  if (opts_.nfkc) {
    UErrorCode ec = U_ZERO_ERROR;
    nfkc_ = icu::Normalizer2::getNFKCInstance(ec);
    if (U_FAILURE(ec)) nfkc_ = nullptr;
    // Without ICU data there is no NFKC; everything else still works.
    if (nfkc_ == nullptr) opts_.nfkc = false;
  }
  head_.reserve(kSniff);
  pending_.reserve(2 * kBatch);
  out_.reserve(8192);
  reset_stream();
}

Normalizer::~Normalizer() = default;

void Normalizer::reset_stream() {
  enc_ = opts_.detect_utf16 ? Enc::undecided : Enc::utf8;
  head_.clear();
  u8_len_ = 0;
  u8_need_ = 0;
  u16_has_byte_ = false;
  u16_high_ = 0;
  ent_ = Ent::none;
  ent_len_ = 0;
  ent_value_ = 0;
  pending_.clear();
  seg_start_ = 0;
  seg_cps_ = 0;
  after_digit_ = false;
}

void Normalizer::write(Bytes in, TextSink& out) {
  stats_.bytes_in += in.size();
  if (enc_ == Enc::undecided && !in.empty()) {
    if (head_.empty()) {
      // Decide on the caller's bytes when they suffice, so the fast path can still hand
      // the caller's view through on the first write.
      std::size_t skip = 0;
      const Sniff s = sniff(in.data(), in.size(), false, skip);
      if (s != Sniff::undecided) {
        enc_ = static_cast<Enc>(s);
        if (s == Sniff::utf16le || s == Sniff::utf16be) ++stats_.utf16_streams;
        in = in.subspan(skip);
      } else {
        const std::size_t take = std::min(in.size(), kSniff);
        head_.assign(reinterpret_cast<const char*>(in.data()), take);
        in = in.subspan(take);
        decide_head(head_.size() >= kSniff, out);
      }
    } else {
      const std::size_t take = std::min(in.size(), kSniff - head_.size());
      head_.append(reinterpret_cast<const char*>(in.data()), take);
      in = in.subspan(take);
      decide_head(head_.size() >= kSniff, out);
    }
  }
  if (enc_ != Enc::undecided && !in.empty()) process(in, out);
  // Whole NFKC segments need not wait for the next write; only the last one might grow.
  flush_complete_segments();
  emit(out);
}

void Normalizer::decide_head(bool final, TextSink& out) {
  if (head_.empty()) return;
  std::size_t skip = 0;
  const auto* p = reinterpret_cast<const std::uint8_t*>(head_.data());
  const Sniff s = sniff(p, head_.size(), final, skip);
  if (s == Sniff::undecided) return;
  enc_ = static_cast<Enc>(s);
  if (s == Sniff::utf16le || s == Sniff::utf16be) ++stats_.utf16_streams;
  // process() reads head_ and never writes it; clear it afterwards.
  process(Bytes(p + skip, head_.size() - skip), out);
  head_.clear();
}

void Normalizer::gap(TextSink& out) {
  if (enc_ == Enc::undecided) decide_head(true, out);
  flush_all();
  emit(out);
  reset_stream();
}

void Normalizer::finish(TextSink& out) { gap(out); }

void Normalizer::process(Bytes in, TextSink& out) {
  if (enc_ == Enc::utf8) {
    if (u8_len_ == 0 && ent_ == Ent::none) {
      const std::size_t plain = find_special(in.data(), 0, in.size(), opts_.html_entities);
      if (plain == in.size()) {
        // ASCII has an NFKC boundary before it, so what is held can be finished now.
        if (!pending_.empty()) flush_pending();
        emit(out);
        out.text(in);
        after_digit_ = is_digit(in.back());
        stats_.bytes_out += in.size();
        stats_.ascii_fast += in.size();
        return;
      }
      if (plain != 0) {
        if (!pending_.empty()) flush_pending();
        out_.append(reinterpret_cast<const char*>(in.data()), plain);
        after_digit_ = is_digit(in[plain - 1]);
        in = in.subspan(plain);
      }
    }
    slow_utf8(in.data(), in.size());
  } else {
    slow_utf16(in.data(), in.size());
  }
}

void Normalizer::slow_utf8(const std::uint8_t* p, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    if (u8_len_ == 0 && ent_ == Ent::none) {
      const std::size_t j = find_special(p, i, n, opts_.html_entities);
      if (j > i) {
        if (!pending_.empty()) flush_pending();
        out_.append(reinterpret_cast<const char*>(p + i), j - i);
        after_digit_ = is_digit(p[j - 1]);
        i = j;
        if (i == n) break;
      }
    }
    const std::uint8_t b = p[i];
    if (u8_len_ == 0) {
      ++i;
      if (b < 0x80) {
        on_cp(b);
        continue;
      }
      const std::uint8_t need = (b >= 0xC2 && b <= 0xDF) ? 2 : (b >= 0xE0 && b <= 0xEF) ? 3 : (b >= 0xF0 && b <= 0xF4) ? 4 : 0;
      if (need == 0) {
        ++stats_.invalid_utf8;
        on_raw(&b, 1);
        continue;
      }
      u8_buf_[0] = b;
      u8_len_ = 1;
      u8_need_ = need;
      continue;
    }
    // A continuation byte is expected; the second byte's range excludes overlongs,
    // surrogates and code points past U+10FFFF.
    std::uint8_t lo = 0x80, hi = 0xBF;
    if (u8_len_ == 1) {
      switch (u8_buf_[0]) {
        case 0xE0: lo = 0xA0; break;
        case 0xED: hi = 0x9F; break;
        case 0xF0: lo = 0x90; break;
        case 0xF4: hi = 0x8F; break;
        default: break;
      }
    }
    if (b < lo || b > hi) {
      // The sequence so far passes through raw; `b` is read again as a fresh start.
      stats_.invalid_utf8 += u8_len_;
      const std::uint8_t len = u8_len_;
      u8_len_ = 0;
      on_raw(u8_buf_, len);
      continue;
    }
    u8_buf_[u8_len_++] = b;
    ++i;
    if (u8_len_ == u8_need_) {
      std::uint32_t cp = 0;
      switch (u8_need_) {
        case 2: cp = (u8_buf_[0] & 0x1Fu) << 6 | (u8_buf_[1] & 0x3Fu); break;
        case 3: cp = (u8_buf_[0] & 0x0Fu) << 12 | (u8_buf_[1] & 0x3Fu) << 6 | (u8_buf_[2] & 0x3Fu); break;
        default:
          cp = (u8_buf_[0] & 0x07u) << 18 | (u8_buf_[1] & 0x3Fu) << 12 | (u8_buf_[2] & 0x3Fu) << 6 |
               (u8_buf_[3] & 0x3Fu);
          break;
      }
      u8_len_ = 0;
      on_cp(cp);
    }
  }
}

void Normalizer::slow_utf16(const std::uint8_t* p, std::size_t n) {
  const bool le = enc_ == Enc::utf16le;
  std::size_t i = 0;
  auto unit = [&](std::uint8_t first, std::uint8_t second) -> std::uint16_t {
    return le ? static_cast<std::uint16_t>(first | second << 8) : static_cast<std::uint16_t>(first << 8 | second);
  };
  auto raw_unit = [&](std::uint16_t u) {
    const std::uint8_t b[2] = {static_cast<std::uint8_t>(le ? u & 0xFF : u >> 8),
                               static_cast<std::uint8_t>(le ? u >> 8 : u & 0xFF)};
    stats_.invalid_utf16 += 1;
    on_raw(b, 2);
  };
  auto on_unit = [&](std::uint16_t u) {
    if (u16_high_ != 0) {
      if (u >= 0xDC00 && u <= 0xDFFF) {
        const std::uint32_t cp = 0x10000 + ((static_cast<std::uint32_t>(u16_high_) - 0xD800) << 10) + (u - 0xDC00u);
        u16_high_ = 0;
        on_cp(cp);
        return;
      }
      const std::uint16_t lone = u16_high_;
      u16_high_ = 0;
      raw_unit(lone);
    }
    if (u >= 0xD800 && u <= 0xDBFF) {
      u16_high_ = u;
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
      raw_unit(u);
    } else {
      on_cp(u);
    }
  };
  if (u16_has_byte_ && n > 0) {
    u16_has_byte_ = false;
    on_unit(unit(u16_byte_, p[0]));
    i = 1;
  }
  const std::size_t lo_off = le ? 0 : 1;
  while (i + 1 < n) {
    // ASCII code units with nothing held: straight into out_.
    if (ent_ == Ent::none && u16_high_ == 0 && p[i + 1 - lo_off] == 0 && p[i + lo_off] < 0x80 &&
        p[i + lo_off] != '&') {
      if (!pending_.empty()) flush_pending();
      // Room for the whole rest of the piece; trimmed to what was written below.
      const std::size_t base = out_.size();
      out_.resize(base + (n - i) / 2);
      char* dst = out_.data() + base;
      std::size_t k = 0;
#if defined(__SSE2__)
      // Eight code units at a time: all below 0x80 and none '&' -> pack to eight bytes.
      const __m128i high_bits = _mm_set1_epi16(static_cast<short>(0xFF80));
      const __m128i amp16 = _mm_set1_epi16('&');
      const __m128i zero = _mm_setzero_si128();
      for (; i + 16 <= n; i += 16, k += 8) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        if (!le) v = _mm_or_si128(_mm_slli_epi16(v, 8), _mm_srli_epi16(v, 8));
        const __m128i ok = _mm_cmpeq_epi16(_mm_and_si128(v, high_bits), zero);
        if (_mm_movemask_epi8(ok) != 0xFFFF || _mm_movemask_epi8(_mm_cmpeq_epi16(v, amp16)) != 0) break;
        _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + k), _mm_packus_epi16(v, v));
      }
#endif
      while (i + 1 < n && p[i + 1 - lo_off] == 0 && p[i + lo_off] < 0x80 && p[i + lo_off] != '&') {
        dst[k++] = static_cast<char>(p[i + lo_off]);
        i += 2;
      }
      out_.resize(base + k);
      if (k != 0) after_digit_ = is_digit(static_cast<std::uint8_t>(dst[k - 1]));
      continue;
    }
    on_unit(unit(p[i], p[i + 1]));
    i += 2;
  }
  if (i < n) {
    u16_byte_ = p[i];
    u16_has_byte_ = true;
  }
}

void Normalizer::on_cp(std::uint32_t cp) {
  switch (ent_) {
    case Ent::none:
      if (cp == '&' && opts_.html_entities) {
        ent_ = Ent::amp;
        ent_buf_[0] = '&';
        ent_len_ = 1;
        ent_value_ = 0;
        return;
      }
      emit_cp(cp);
      return;
    case Ent::amp:
      if (cp == '#') {
        ent_ = Ent::hash;
      } else if (is_alpha(cp)) {
        ent_ = Ent::named;
      } else {
        entity_abort();
        on_cp(cp);
        return;
      }
      ent_buf_[ent_len_++] = static_cast<char>(cp);
      return;
    case Ent::hash:
      if (cp == 'x' || cp == 'X') {
        ent_ = Ent::hex;
      } else if (is_digit(cp)) {
        ent_ = Ent::dec;
        ent_value_ = cp - '0';
      } else {
        entity_abort();
        on_cp(cp);
        return;
      }
      ent_buf_[ent_len_++] = static_cast<char>(cp);
      return;
    case Ent::dec:
    case Ent::hex: {
      const bool hex = ent_ == Ent::hex;
      const int d = hex ? hex_value(cp) : (is_digit(cp) ? static_cast<int>(cp - '0') : -1);
      if (d >= 0) {
        const std::uint32_t v = ent_value_ * (hex ? 16u : 10u) + static_cast<std::uint32_t>(d);
        if (v > kMaxCp || ent_len_ >= kMaxEntity) {
          // Not a character reference: the text so far is literal.
          entity_abort();
          on_cp(cp);
          return;
        }
        ent_value_ = v;
        ent_buf_[ent_len_++] = static_cast<char>(cp);
        return;
      }
      const bool has_digits = ent_len_ > (hex ? 3 : 2);
      if (cp == ';' && has_digits) {
        entity_finish(true);
        return;
      }
      // HTML decodes "&#52" without its ';' too; the terminator is ordinary text.
      if (has_digits) {
        entity_finish(false);
      } else {
        entity_abort();
      }
      on_cp(cp);
      return;
    }
    case Ent::named:
      if (is_alpha(cp) && ent_len_ < 1 + kMaxEntityName) {
        ent_buf_[ent_len_++] = static_cast<char>(cp);
        return;
      }
      if (cp == ';') {
        const std::uint32_t v = named_entity(std::string_view(ent_buf_ + 1, ent_len_ - 1u));
        if (v != 0) {
          ent_ = Ent::none;
          ent_len_ = 0;
          ++stats_.entities_decoded;
          emit_cp(v);
          return;
        }
      }
      entity_abort();
      on_cp(cp);
      return;
  }
}

bool Normalizer::entity_finish(bool consumed_semicolon) {
  const std::uint32_t v = ent_value_;
  if (v == 0 || v > kMaxCp || (v >= 0xD800 && v <= 0xDFFF)) {
    entity_abort();
    if (consumed_semicolon) emit_cp(';');
    return false;
  }
  ent_ = Ent::none;
  ent_len_ = 0;
  ent_value_ = 0;
  ++stats_.entities_decoded;
  emit_cp(v);
  return true;
}

void Normalizer::entity_abort() {
  // Copy first: the held characters are re-emitted as text, never re-parsed (none of
  // them is '&', so no entity could start among them).
  char held[sizeof(ent_buf_)];
  const std::uint8_t len = ent_len_;
  std::memcpy(held, ent_buf_, len);
  ent_ = Ent::none;
  ent_len_ = 0;
  ent_value_ = 0;
  for (std::uint8_t k = 0; k < len; ++k) emit_cp(static_cast<std::uint8_t>(held[k]));
}

void Normalizer::on_raw(const std::uint8_t* p, std::size_t n) {
  if (ent_ == Ent::dec || ent_ == Ent::hex) {
    if (ent_len_ > (ent_ == Ent::hex ? 3 : 2)) {
      entity_finish(false);
    } else {
      entity_abort();
    }
  } else if (ent_ != Ent::none) {
    entity_abort();
  }
  if (!pending_.empty()) flush_pending();
  if (n != 0) {
    out_.append(reinterpret_cast<const char*>(p), n);
    after_digit_ = false;
  }
}

void Normalizer::emit_cp(std::uint32_t cp) {
  if (cp < 0x80) {
    if (!pending_.empty()) flush_pending();
    out_.push_back(static_cast<char>(cp));
    after_digit_ = is_digit(cp);
    return;
  }
  if (cp >= kInertFirst && cp <= kInertLast) {
    // CJK unified ideographs: the bulk of Chinese and Japanese text; no ICU lookups.
    if (!pending_.empty()) flush_pending();
    append_utf8(out_, cp);
    after_digit_ = false;
    return;
  }
  if (opts_.strip_format && is_ignorable(cp)) {
    ++stats_.format_removed;
    return;
  }
  if (opts_.strip_format && after_digit_) {
    // Strike-through, underline or keycap marks on a digit split a number for the
    // scanner while a reader still sees the digits.
    const std::int8_t type = u_charType(static_cast<UChar32>(cp));
    if (type == U_NON_SPACING_MARK || type == U_ENCLOSING_MARK) {
      ++stats_.format_removed;
      return;
    }
  }
  if (opts_.fold_digits && u_charType(static_cast<UChar32>(cp)) == U_DECIMAL_DIGIT_NUMBER) {
    // NFKC keeps "٤١١١" as it is, yet it reads as a card number. Folding before NFKC
    // gives the same result for the digits NFKC does map (full-width, mathematical).
    const std::int32_t d = u_charDigitValue(static_cast<UChar32>(cp));
    if (d >= 0 && d <= 9) {
      ++stats_.nfkc_changed;
      if (!pending_.empty()) flush_pending();
      out_.push_back(static_cast<char>('0' + d));
      after_digit_ = true;
      return;
    }
  }
  if (!opts_.nfkc) {
    append_utf8(out_, cp);
    after_digit_ = false;
    return;
  }
  if (!pending_.empty()) {
    if (seg_cps_ >= kMaxSegmentCps) {
      // Bound on held text: cut here even without a boundary (only a pathological run of
      // 64 combining marks gets here; the cut is at the same place however it is split).
      flush_pending();
    } else if (nfkc_->hasBoundaryBefore(static_cast<UChar32>(cp))) {
      if (pending_.size() >= kBatch) {
        flush_pending();
      } else {
        seg_start_ = pending_.size();
        seg_cps_ = 0;
      }
    }
  }
  append_utf8(pending_, cp);
  ++seg_cps_;
  after_digit_ = false;
}

namespace {
// NFKC of `text` appended to `out`; returns whether it changed. On an ICU error the text
// is passed through as it is (never lose content).
bool nfkc_append(const icu::Normalizer2& nfkc, std::string_view text, std::string& out) {
  const icu::StringPiece piece(text.data(), static_cast<std::int32_t>(text.size()));
  UErrorCode ec = U_ZERO_ERROR;
  if (nfkc.isNormalizedUTF8(piece, ec) && U_SUCCESS(ec)) {
    out.append(text);
    return false;
  }
  const std::size_t before = out.size();
  ec = U_ZERO_ERROR;
  icu::StringByteSink<std::string> sink(&out);
  nfkc.normalizeUTF8(0, piece, sink, nullptr, ec);
  if (U_FAILURE(ec)) {
    out.resize(before);
    out.append(text);
    return false;
  }
  return true;
}
}  // namespace

void Normalizer::flush_pending() {
  if (pending_.empty()) return;
  stats_.nfkc_changed += nfkc_append(*nfkc_, pending_, out_);
  pending_.clear();
  seg_start_ = 0;
  seg_cps_ = 0;
}

void Normalizer::flush_complete_segments() {
  if (seg_start_ == 0) return;
  stats_.nfkc_changed += nfkc_append(*nfkc_, std::string_view(pending_).substr(0, seg_start_), out_);
  pending_.erase(0, seg_start_);
  seg_start_ = 0;
}

void Normalizer::flush_all() {
  if (u8_len_ != 0) {
    stats_.invalid_utf8 += u8_len_;
    const std::uint8_t len = u8_len_;
    u8_len_ = 0;
    on_raw(u8_buf_, len);
  }
  if (u16_high_ != 0) {
    const bool le = enc_ == Enc::utf16le;
    const std::uint16_t u = u16_high_;
    u16_high_ = 0;
    const std::uint8_t b[2] = {static_cast<std::uint8_t>(le ? u & 0xFF : u >> 8),
                               static_cast<std::uint8_t>(le ? u >> 8 : u & 0xFF)};
    ++stats_.invalid_utf16;
    on_raw(b, 2);
  }
  if (u16_has_byte_) {
    u16_has_byte_ = false;
    ++stats_.invalid_utf16;
    on_raw(&u16_byte_, 1);
  }
  // An entity cut by the end behaves as if the next character were not part of it.
  if (ent_ != Ent::none) on_raw(nullptr, 0);
  flush_pending();
}

void Normalizer::emit(TextSink& out) {
  if (out_.empty()) return;
  out.text(as_bytes(out_));
  stats_.bytes_out += out_.size();
  out_.clear();
}

}  // namespace dlp::inspectors
