// Normalizer: exact outputs for each evasion trick, the zero-copy ASCII path, and that the
// output never depends on how the stream was cut into write() calls.
#include "inspectors/normalizer.h"

#include <gtest/gtest.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <cstdint>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <utility>
#include <vector>

// Counts heap allocations while a test asks for it, to check the steady-state rule.
namespace {
thread_local bool g_count_allocs = false;
thread_local std::size_t g_allocs = 0;
}  // namespace
// Not inlined, so GCC does not pair an inlined free() with a `new` it can see.
[[gnu::noinline]] void* operator new(std::size_t n) {
  if (g_count_allocs) ++g_allocs;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace dlp::inspectors {
namespace {

struct RecordingTextSink final : TextSink {
  std::string text_out;
  std::vector<std::pair<const std::uint8_t*, std::size_t>> calls;
  std::vector<std::string> pieces;  // copies: a view is only valid during the call
  void text(Bytes b) override {
    calls.emplace_back(b.data(), b.size());
    pieces.emplace_back(as_chars(b));
    text_out.append(as_chars(b));
  }
};

// Feeds `pieces` in order, then finish(); returns everything the sink received.
std::string run_pieces(const std::vector<std::string>& pieces, const NormalizerOptions& opts = {},
                       NormalizerStats* stats = nullptr) {
  Normalizer n(opts);
  RecordingTextSink sink;
  for (const auto& p : pieces) n.write(as_bytes(p), sink);
  n.finish(sink);
  if (stats) *stats = n.stats();
  return sink.text_out;
}

std::string run(const std::string& in, const NormalizerOptions& opts = {}, NormalizerStats* stats = nullptr) {
  return run_pieces({in}, opts, stats);
}

std::string to_utf16(const std::string& utf8, bool le, bool bom) {
  const icu::UnicodeString u = icu::UnicodeString::fromUTF8(utf8);
  std::string out;
  auto put = [&](std::uint16_t cu) {
    const char hi = static_cast<char>(cu >> 8), lo = static_cast<char>(cu & 0xFF);
    if (le) {
      out.push_back(lo);
      out.push_back(hi);
    } else {
      out.push_back(hi);
      out.push_back(lo);
    }
  };
  if (bom) put(0xFEFF);
  for (int32_t i = 0; i < u.length(); ++i) put(u.charAt(i));
  return out;
}

const std::string kCard = "4111 1111 1111 1111";
const std::string kFullWidthCard =
    "\uFF14\uFF11\uFF11\uFF11 \uFF11\uFF11\uFF11\uFF11 \uFF11\uFF11\uFF11\uFF11 \uFF11\uFF11\uFF11\uFF11";
const std::string kUtf16Text = "Card: 4111 1111 1111 1111, exp 12/27";

// Every case: input and exact expected output. The split tests run all of them.
struct Case {
  std::string name;
  std::string input;
  std::string expected;
};

std::vector<Case> corpus() {
  return {
      {"ascii", "POST card=4111111111111111&cvv=123 R&D dept\r\n", "POST card=4111111111111111&cvv=123 R&D dept\r\n"},
      {"full_width_card", kFullWidthCard, kCard},
      {"zero_width_in_digits", "4111\u200B1111\u200C1111\u200D1111", "4111111111111111"},
      {"format_chars", "\uFEFF41\u00AD11\u2060111\u2061\u2062\u2063\u20641\u200E1\u200F11\u202E1 done",
       "411111111111 done"},
      {"utf16le_bom", to_utf16(kUtf16Text, true, true), kUtf16Text},
      {"utf16le", to_utf16(kUtf16Text, true, false), kUtf16Text},
      {"utf16be_bom", to_utf16(kUtf16Text, false, true), kUtf16Text},
      {"utf16be", to_utf16(kUtf16Text, false, false), kUtf16Text},
      {"utf16le_tricks", to_utf16("PAN \uFF14111\u200B1111 1111 1111 \U0001F600 \u00E9", true, false),
       "PAN 41111111 1111 1111 \U0001F600 \u00E9"},
      {"utf16be_entities", to_utf16("id &#52;&#xFF11;11&amp;&#x200B;1 \u00E9\u0327 done", false, false),
       "id 4111&1 \u0229\u0301 done"},
      {"entities_numeric", "card &#52;&#x31;&#X31;&#049;1111 &#x200B;22", "card 41111111 22"},
      {"entities_named", "&lt;b&gt; &quot;x&quot; &apos;y&apos; &amp;amp; a&nbsp;b", "<b> \"x\" 'y' &amp; a b"},
      {"entity_full_width", "&#xFF14;&#65297;11", "4111"},
      {"entity_no_semicolon", "&#52&#49 x&#x34g", "41 x4g"},
      {"entity_not", "&copy; &#; &#x; &#0; &#99999999; &#xD800; & &amp &#55296; &", 
       "&copy; &#; &#x; &#0; &#99999999; &#xD800; & &amp &#55296; &"},
      {"entity_amp_not_reparsed", "&amp;#52;", "&#52;"},
      {"entity_then_entity", "&&#52;&#&#x35;", "&4&#5"},
      {"ligatures_compat", "\uFB01le \u2460\u2461 \u216B \u00BD km\u00B2 \u3000x",
       "file 12 XII 1\u20442 km2  x"},
      {"combining", "\u00E9\u0327 \u1100\u1161 a\u0301", "\u0229\u0301 \uAC00 a\u0301"},
      {"script_digits", "\u0664\u0661\u0661\u0661 \u096A\u0967\u0967\u0967 \u06F4\u0E51 \U0001D7D2\U0001D7D9",
       "4111 4111 41 41"},
      {"marks_on_digits", "4\u03361\u0336\u0332\u200B1\u20E31 x\u0336 \u0664\u0301 \u00E9\u0301 4\u093F",
       "4111 x\u0336 4 \u00E9\u0301 4\u093F"},
      {"cjk_passthrough", "\u6F22\u5B57\u304B\u306A \uD55C\uAD6D\uC5B4", "\u6F22\u5B57\u304B\u306A \uD55C\uAD6D\uC5B4"},
      {"invalid_utf8", "a\xFF" "b\xC3(\xE2\x82 \xED\xA0\x80 \xF4\x90\x80\x80 \xC3\xA9\xC0\xAF end\xE2\x82",
       "a\xFF" "b\xC3(\xE2\x82 \xED\xA0\x80 \xF4\x90\x80\x80 \xC3\xA9\xC0\xAF end\xE2\x82"},
      {"binary_blob", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xd8 4111111111111111", 34),
       std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xd8 4111111111111111", 34)},
      {"short", "4", "4"},
      {"short_zero", std::string("A\0", 2), std::string("A\0", 2)},
  };
}

TEST(NormalizerTest, EveryCaseExact) {
  for (const auto& c : corpus()) EXPECT_EQ(run(c.input), c.expected) << c.name;
}

TEST(NormalizerTest, AsciiFastPathHandsTheInputViewThrough) {
  const std::string in = "GET /x?a=1&b=2 card 4111 1111 1111 1111 and a long enough tail of text";
  Normalizer n;
  RecordingTextSink sink;
  n.write(as_bytes(in), sink);
  ASSERT_EQ(sink.calls.size(), 1u);
  EXPECT_EQ(sink.calls[0].first, reinterpret_cast<const std::uint8_t*>(in.data()));
  EXPECT_EQ(sink.calls[0].second, in.size());
  const std::string second = "second piece, also plain";
  n.write(as_bytes(second), sink);
  ASSERT_EQ(sink.calls.size(), 2u);
  EXPECT_EQ(sink.calls[1].first, reinterpret_cast<const std::uint8_t*>(second.data()));
  n.finish(sink);
  EXPECT_EQ(sink.calls.size(), 2u);
  EXPECT_EQ(sink.text_out, in + second);
  EXPECT_EQ(n.stats().ascii_fast, in.size() + second.size());
  EXPECT_EQ(n.stats().bytes_in, in.size() + second.size());
  EXPECT_EQ(n.stats().bytes_out, in.size() + second.size());
}

TEST(NormalizerTest, FastPathAfterHeldNonAsciiTail) {
  Normalizer n;
  RecordingTextSink sink;
  const std::string a = "x \uFB01";  // the ligature is held: a combining mark could follow
  const std::string b = "le plain ascii continues here";
  n.write(as_bytes(a), sink);
  n.write(as_bytes(b), sink);
  ASSERT_EQ(sink.calls.size(), 3u);
  EXPECT_EQ(sink.pieces[0], "x ");
  EXPECT_EQ(sink.pieces[1], "fi");
  EXPECT_EQ(sink.calls[2].first, reinterpret_cast<const std::uint8_t*>(b.data()));
  EXPECT_EQ(sink.text_out, "x file plain ascii continues here");
}

TEST(NormalizerTest, EveryAsciiCharacterIsAnNfkcBoundary) {
  // The fast path relies on it: nothing composes backwards onto ASCII.
  UErrorCode ec = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(ec);
  ASSERT_TRUE(U_SUCCESS(ec));
  for (UChar32 c = 0; c < 0x80; ++c) EXPECT_TRUE(nfkc->hasBoundaryBefore(c)) << c;
}

TEST(NormalizerTest, CjkIdeographShortcutIsSafe) {
  // normalizer.cc passes U+4E00..9FFF straight through without asking ICU.
  UErrorCode ec = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(ec);
  ASSERT_TRUE(U_SUCCESS(ec));
  for (UChar32 c = 0x4E00; c <= 0x9FFF; ++c) {
    ASSERT_TRUE(nfkc->isInert(c)) << c;
    ASSERT_NE(u_charType(c), U_FORMAT_CHAR) << c;
    ASSERT_NE(u_charType(c), U_DECIMAL_DIGIT_NUMBER) << c;
    ASSERT_FALSE(u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) << c;
  }
}

TEST(NormalizerTest, Stats) {
  NormalizerStats s;
  EXPECT_EQ(run("4111\u200B1111\u00AD &#52;&amp; \xFF\xC3 \uFF14", {}, &s), "41111111 4& \xFF\xC3 4");
  EXPECT_EQ(s.format_removed, 2u);
  EXPECT_EQ(s.entities_decoded, 2u);
  EXPECT_EQ(s.invalid_utf8, 2u);
  EXPECT_EQ(s.nfkc_changed, 1u);
  EXPECT_EQ(s.utf16_streams, 0u);
  EXPECT_EQ(s.ascii_fast, 0u);

  run(to_utf16(kUtf16Text, true, false), {}, &s);
  EXPECT_EQ(s.utf16_streams, 1u);
  EXPECT_EQ(s.bytes_out, kUtf16Text.size());
}

TEST(NormalizerTest, OptionsOff) {
  const NormalizerOptions off{
      .nfkc = false, .strip_format = false, .html_entities = false, .detect_utf16 = false, .fold_digits = false};
  const std::string in = "\uFF14\u200B&#52; &amp; \u0664";
  EXPECT_EQ(run(in, off), in);
  const std::string u16 = to_utf16("abc", true, false);
  EXPECT_EQ(run(u16, off), u16);
  EXPECT_EQ(run("\uFF14\u200B&#52;", {.nfkc = false, .fold_digits = false}), "\uFF14" "4");
  EXPECT_EQ(run("\uFF14\u0664\u00B2", {.nfkc = false}), "44\u00B2");
  EXPECT_EQ(run("\uFF14\u0664", {.fold_digits = false}), "4\u0664");
  EXPECT_EQ(run("\uFF14\u200B&#52;", {.strip_format = false}), "4\u200B" "4");
  EXPECT_EQ(run("\uFF14\u200B&#52;", {.html_entities = false}), "4&#52;");
}

TEST(NormalizerTest, Utf16Details) {
  // Lone surrogates and an odd trailing byte pass through as their raw bytes.
  std::string le = to_utf16("ab", true, true);
  le += std::string("\x00\xD8", 2) + std::string("c\0", 2) + std::string("\x00\xDC", 2) + "z";
  EXPECT_EQ(run(le), std::string("ab\x00\xD8" "c\x00\xDC" "z", 8));
  NormalizerStats s;
  run(le, {}, &s);
  EXPECT_EQ(s.invalid_utf16, 3u);
  // A surrogate pair split across writes.
  const std::string emoji = to_utf16("x\U0001F600y", false, true);
  for (std::size_t i = 0; i <= emoji.size(); ++i)
    EXPECT_EQ(run_pieces({emoji.substr(0, i), emoji.substr(i)}), "x\U0001F600y") << i;
  // Mostly-binary data that starts like UTF-16 stays bytes.
  std::string bin("A\0B\0", 4);
  for (int i = 0; i < 60; ++i) bin.push_back(static_cast<char>(0x80 + i));
  EXPECT_EQ(run(bin), bin);
  // A UTF-16 stream shorter than the sniffing window.
  EXPECT_EQ(run(to_utf16("4111", true, false)), "4111");
}

TEST(NormalizerTest, GapFlushesAndResetsDecoding) {
  Normalizer n;
  RecordingTextSink sink;
  n.write(as_bytes("12\xE2\x80"), sink);
  n.gap(sink);
  n.write(as_bytes("\x8B" "34 &#5"), sink);
  n.gap(sink);
  n.write(as_bytes("2; &am"), sink);
  n.gap(sink);
  n.write(as_bytes("p; \uFF14"), sink);
  n.gap(sink);
  EXPECT_EQ(sink.text_out, "12\xE2\x80" "\x8B" "34 \x05" "2; &am" "p; 4");
  EXPECT_EQ(n.stats().invalid_utf8, 3u);

  // After a gap the encoding is sniffed again, so a UTF-16LE stream that lost an odd
  // number of bytes is read as UTF-16BE from there on: the text survives.
  Normalizer u;
  RecordingTextSink s2;
  const std::string le = to_utf16("Card: 4111 1111 1111 1111 and more text so that we sniff", true, true);
  u.write(as_bytes(le.substr(0, 14)), s2);  // BOM + "Card: "
  u.gap(s2);
  u.write(as_bytes(le.substr(15)), s2);     // one byte lost
  u.finish(s2);
  // The '4' lost its low byte; its high byte and the rest read as BE, and the last high
  // byte is left over, passed raw.
  EXPECT_EQ(s2.text_out, std::string("Card: 111 1111 1111 1111 and more text so that we sniff\0", 56));
  EXPECT_EQ(u.stats().utf16_streams, 2u);
}

TEST(NormalizerTest, FinishResetsForTheNextStream) {
  Normalizer n;
  RecordingTextSink sink;
  n.write(as_bytes(to_utf16("ab", true, true)), sink);
  n.finish(sink);
  n.write(as_bytes("plain \uFF11"), sink);
  n.finish(sink);
  EXPECT_EQ(sink.text_out, "abplain 1");
}

TEST(NormalizerTest, EveryTwoWaySplitGivesTheSameOutput) {
  for (const auto& c : corpus()) {
    for (std::size_t i = 0; i <= c.input.size(); ++i) {
      ASSERT_EQ(run_pieces({c.input.substr(0, i), c.input.substr(i)}), c.expected) << c.name << " split at " << i;
    }
  }
}

TEST(NormalizerTest, OneByteAtATimeGivesTheSameOutput) {
  for (const auto& c : corpus()) {
    std::vector<std::string> bytes;
    for (char ch : c.input) bytes.emplace_back(1, ch);
    EXPECT_EQ(run_pieces(bytes), c.expected) << c.name;
  }
}

TEST(NormalizerTest, ThreeWayRandomSplitsGiveTheSameOutput) {
  std::mt19937 rng(20261123);
  for (const auto& c : corpus()) {
    const std::size_t len = c.input.size();
    for (int k = 0; k < 200; ++k) {
      std::size_t a = rng() % (len + 1), b = rng() % (len + 1);
      if (a > b) std::swap(a, b);
      ASSERT_EQ(run_pieces({c.input.substr(0, a), c.input.substr(a, b - a), c.input.substr(b)}), c.expected)
          << c.name << " split at " << a << "," << b;
    }
  }
}

TEST(NormalizerTest, LongCombiningRunIsBoundedAndSplitInvariant) {
  std::string in = "\u00E9";
  for (int i = 0; i < 300; ++i) in += "\u0301";
  in += "\uFF14";
  const std::string ref = run(in);
  EXPECT_EQ(ref.substr(ref.size() - 1), "4");
  EXPECT_EQ(ref.size(), in.size() - 2);  // the full-width 4 became one byte
  for (std::size_t i = 0; i <= in.size(); i += 7) EXPECT_EQ(run_pieces({in.substr(0, i), in.substr(i)}), ref) << i;
}

TEST(NormalizerTest, NoAllocationPerWriteInSteadyState) {
  struct CountingSink final : TextSink {
    std::size_t bytes = 0;
    void text(Bytes b) override { bytes += b.size(); }
  };
  std::string mixed;
  for (int i = 0; i < 40; ++i) mixed += "card \uFF14111\u200B1111 &#52;&amp; caf\u00E9 \u6F22\u5B57 plain text here. ";
  const std::string utf16 = to_utf16(mixed, true, true);
  for (const std::string* text : std::vector<const std::string*>{&mixed, &utf16}) {
    std::vector<std::string> segments;
    for (std::size_t off = 0; off < text->size(); off += 1460) segments.push_back(text->substr(off, 1460));
    Normalizer n;
    CountingSink sink;
    for (const auto& seg : segments) n.write(as_bytes(seg), sink);  // warm-up
    n.finish(sink);
    const std::size_t warm = sink.bytes;
    g_allocs = 0;
    g_count_allocs = true;
    {
      // The counter itself works: a long string allocates.
      std::string probe(100, 'x');
      EXPECT_EQ(g_allocs, 1u);
    }
    g_allocs = 0;
    for (const auto& seg : segments) n.write(as_bytes(seg), sink);
    n.finish(sink);
    g_count_allocs = false;
    EXPECT_EQ(g_allocs, 0u);
    EXPECT_EQ(sink.bytes, 2 * warm);
  }
}

// Long texts (several KB, so the 16- and 32-byte SIMD steps and the batching of NFKC
// segments are exercised) cut into many random pieces give the same output as whole.
TEST(NormalizerTest, LongTextsManyRandomPieces) {
  std::mt19937 rng(99);
  const std::vector<std::string> atoms = {"plain ascii words and numbers 4111 ", "a=1&b=2&", "&#52;", "&#xFF14;",
                                          "\uFF14\uFF11", "\u200B", "\u00E9\u0327", "\u6F22\u5B57", "\u304B",
                                          "\uFB01", "\U0001F600", "\u0664", "&amp;", "\n", "0123456789abcdef"};
  for (int iter = 0; iter < 200; ++iter) {
    std::string text;
    while (text.size() < 3000) text += atoms[rng() % atoms.size()];
    for (const std::string& in : {text, to_utf16(text, iter % 2 == 0, iter % 4 < 2)}) {
      const std::string whole = run(in);
      std::vector<std::string> pieces;
      for (std::size_t off = 0; off < in.size();) {
        const std::size_t len = 1 + rng() % 200;
        pieces.push_back(in.substr(off, len));
        off += len;
      }
      ASSERT_EQ(run_pieces(pieces), whole) << iter;
    }
    ASSERT_EQ(run(to_utf16(text, true, true)), run(text)) << iter;
  }
}

// Mutations of the corpus plus random bytes from an alphabet rich in the characters the
// stages care about: no crash, bounded output (NFKC's worst case, U+FDFA, is 33 bytes from
// 2 UTF-16 bytes), and a random split of the same input gives the same output.
TEST(NormalizerTest, MutationLoop) {
  std::mt19937 rng(7);
  const auto cases = corpus();
  const std::vector<std::string> atoms = {"&", "#", "x", ";", "4", "1", "a", "\0", "\xFF", "\xFE", "\xC3", "\xA9",
                                          "\xE2\x80\x8B", "\xEF\xBC\x94", "\xCC\x81", "&#", "&amp;", "\xED\xA0",
                                          "\xF0\x9F", "\xEF\xB7\xBA", " "};
  for (int iter = 0; iter < 10000; ++iter) {
    std::string in = cases[rng() % cases.size()].input;
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = in.empty() ? 0 : rng() % (in.size() + 1);
      switch (rng() % 3) {
        case 0: in.insert(pos, atoms[rng() % atoms.size()]); break;
        case 1: if (pos < in.size()) in.erase(pos, 1 + rng() % 4); break;
        default: if (pos < in.size()) in[pos] = static_cast<char>(rng()); break;
      }
    }
    NormalizerStats s;
    const std::string whole = run(in, {}, &s);
    ASSERT_LE(whole.size(), 17 * in.size()) << iter;
    ASSERT_EQ(s.bytes_in, in.size());
    ASSERT_EQ(s.bytes_out, whole.size());
    const std::size_t a = rng() % (in.size() + 1);
    ASSERT_EQ(run_pieces({in.substr(0, a), in.substr(a)}), whole) << iter << " split at " << a;
  }
}

}  // namespace
}  // namespace dlp::inspectors
