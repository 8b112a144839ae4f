// Normalizer: streaming anti-evasion text normalisation between the inspectors and the
// scanner, so that a number or keyword hidden by an encoding trick is scanned in the form a
// detector expects.
//
// Per content stream, in order:
//   1. encoding: UTF-16LE/BE (BOM, or zero bytes every other byte in the first 64 bytes)
//      is converted to UTF-8, decided once at the start of the stream (and again after a
//      gap, since a lost odd number of bytes changes the alignment);
//   2. HTML character references: &#52; &#x34; (also without the ';') and
//      &amp; &lt; &gt; &quot; &apos; &nbsp; become their character;
//   3. format characters (general category Cf and other default-ignorables: U+200B..200F,
//      U+2060..2064, U+FEFF, U+00AD, ...) are removed wherever they are, and so are
//      combining marks placed on a digit ("4" U+0336 strike-through reads as "4");
//   4. NFKC: full-width digits and letters, compatibility forms, ligatures ("４" -> "4");
//      decimal digits of other scripts ("٤", "४") become ASCII digits as well.
//   Bytes that are not valid UTF-8 pass through unchanged: content is never dropped.
//
// Streaming: the output does not depend on how the stream is cut into write() calls; only
// the unfinished tail is held (a partial UTF-8 sequence or UTF-16 unit, an entity of at most
// 16 bytes, an NFKC segment of at most 64 code points, the first 64 bytes while the
// encoding is undecided).
//
// Fast path: a piece of a UTF-8 stream that is pure ASCII with no '&' that could start an
// entity is handed to the sink as the caller's own view, without copying.
//
//   Normalizer norm;                       // one per content stream (or reuse after finish())
//   struct Scan : TextSink { void text(Bytes b) override { scanner.scan(b); } } sink;
//   norm.write(bytes, sink);               // as the inspector emits content
//   norm.gap(sink);                        // on ContentSink::gap
//   norm.finish(sink);                     // on ContentSink::close
//
// Hot-path rules: no exceptions, no allocation per write in steady state (buffers are
// reused), bounded memory. Not thread-safe; one per worker stream.
#pragma once

#include <cstdint>
#include <string>

#include <unicode/uversion.h>

#include "common/dlp/bytes.h"

U_NAMESPACE_BEGIN
class Normalizer2;
U_NAMESPACE_END

namespace dlp::inspectors {

// Receives normalised text. `normalized` is valid only during the call; it may be the
// caller's input view (fast path) or the normaliser's buffer.
class TextSink {
 public:
  virtual ~TextSink() = default;
  virtual void text(Bytes normalized) = 0;
};

struct NormalizerOptions {
  bool nfkc = true;            // NFKC (with ASCII kept as a boundary, see normalizer.cc)
  bool strip_format = true;    // remove Cf / default-ignorables, and marks on digits
  bool html_entities = true;   // decode numeric and the six named references
  bool detect_utf16 = true;    // sniff UTF-16LE/BE at the start of the stream
  bool fold_digits = true;     // any decimal digit (Arabic-Indic, Devanagari, ...) -> 0-9
};

// Counters, cumulative over the object's lifetime (all streams it has normalised).
struct NormalizerStats {
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t ascii_fast = 0;        // input bytes handed through by the fast path
  std::uint64_t utf16_streams = 0;     // stream starts (or restarts after a gap) seen as UTF-16
  std::uint64_t nfkc_changed = 0;      // normalised runs that NFKC changed
  std::uint64_t format_removed = 0;    // format characters and marks on digits removed
  std::uint64_t entities_decoded = 0;  // HTML character references decoded
  std::uint64_t invalid_utf8 = 0;      // bytes passed through because they were not UTF-8
  std::uint64_t invalid_utf16 = 0;     // lone surrogates / odd trailing bytes passed raw
};

class Normalizer {
 public:
  explicit Normalizer(const NormalizerOptions& opts = {});
  ~Normalizer();
  Normalizer(const Normalizer&) = delete;
  Normalizer& operator=(const Normalizer&) = delete;

  // Next bytes of the stream; may call out.text() zero or more times.
  void write(Bytes in, TextSink& out);
  // Bytes were lost: flush what is held (an incomplete sequence is passed through raw),
  // reset decoding state; the encoding is sniffed again from the next bytes.
  void gap(TextSink& out);
  // End of stream: flush everything and reset, so the object can take a new stream.
  void finish(TextSink& out);

  const NormalizerStats& stats() const { return stats_; }

 private:
  enum class Enc : std::uint8_t { undecided, utf8, utf16le, utf16be };
  enum class Ent : std::uint8_t { none, amp, hash, dec, hex, named };

  void process(Bytes in, TextSink& out);
  void slow_utf8(const std::uint8_t* p, std::size_t n);
  void slow_utf16(const std::uint8_t* p, std::size_t n);
  void decide_head(bool final, TextSink& out);
  void on_cp(std::uint32_t cp);
  void on_raw(const std::uint8_t* p, std::size_t n);
  void emit_cp(std::uint32_t cp);
  void entity_abort();
  bool entity_finish(bool consumed_semicolon);
  void flush_pending();
  void flush_complete_segments();
  void flush_all();
  void emit(TextSink& out);
  void reset_stream();

  NormalizerOptions opts_;
  const icu::Normalizer2* nfkc_ = nullptr;
  NormalizerStats stats_;

  Enc enc_ = Enc::undecided;
  std::string head_;  // first bytes while the encoding is undecided (<= 64)

  // UTF-8 decoding: the bytes of an unfinished sequence.
  std::uint8_t u8_buf_[4] = {};
  std::uint8_t u8_len_ = 0;
  std::uint8_t u8_need_ = 0;  // total length of the sequence being read

  // UTF-16 decoding: an odd byte, and a high surrogate waiting for its low half.
  std::uint8_t u16_byte_ = 0;
  bool u16_has_byte_ = false;
  std::uint16_t u16_high_ = 0;

  // HTML entity in progress (ASCII only, so kept as chars).
  Ent ent_ = Ent::none;
  char ent_buf_[16] = {};
  std::uint8_t ent_len_ = 0;
  std::uint32_t ent_value_ = 0;

  // NFKC: non-ASCII text held until the next normalisation boundary. [0, seg_start_)
  // holds whole segments that may be normalised at any time; the last segment starts at
  // seg_start_ and has seg_cps_ code points.
  std::string pending_;
  std::size_t seg_start_ = 0;
  std::uint32_t seg_cps_ = 0;

  std::string out_;  // normalised output of the current call, emitted once per call
  // The last character emitted was a digit: a combining mark after it is removed.
  bool after_digit_ = false;
};

}  // namespace dlp::inspectors
