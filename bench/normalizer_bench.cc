// What text normalisation costs per content byte, in 1460-byte writes (one TCP segment):
// pure ASCII (the fast path: no copy, no ICU), ASCII with one non-ASCII character per
// ~1000 bytes, UTF-16LE, and CJK text (NFKC on every character); each against a memcpy of
// the same bytes in the same run.
//
//   bench_normalizer --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "inspectors/normalizer.h"

namespace dlp::inspectors {
namespace {

constexpr std::size_t kCorpus = 1 << 20;
constexpr std::size_t kSegment = 1460;

// Touches what it is given so the work cannot be optimised away, as a scanner would.
struct CountingSink final : TextSink {
  std::uint64_t bytes = 0;
  std::uint8_t mix = 0;
  void text(Bytes b) override {
    bytes += b.size();
    mix ^= b[b.size() - 1];
  }
};

std::string ascii_text() {
  static const char* const kWords[] = {"invoice", "customer", "card", "4111", "1111", "account", "the",
                                       "transfer", "2026-11-23", "amount:", "EUR", "1,234.56", "ref#",
                                       "Q=1&b=2", "shipping", "ZIP", "90210", "note"};
  std::string s;
  std::uint32_t x = 12345;
  while (s.size() < kCorpus) {
    x = x * 1103515245u + 12345u;
    s += kWords[(x >> 16) % (sizeof(kWords) / sizeof(kWords[0]))];
    s += ((x >> 8) % 13 == 0) ? "\r\n" : " ";
  }
  s.resize(kCorpus);
  return s;
}

// One two-byte character per 1000 bytes (accented letters and full-width digits).
std::string mixed_text() {
  std::string s = ascii_text();
  static const char* const kChars[] = {"\u00E9", "\uFF14", "\u00FC", "\u00A0"};
  for (std::size_t i = 500, k = 0; i + 3 < s.size(); i += 1000, ++k) {
    const std::string c = kChars[k % 4];
    s.replace(i, c.size(), c);
  }
  return s;
}

std::string utf16le_text() {
  const std::string a = ascii_text();
  std::string s = "\xFF\xFE";
  for (char c : a) {
    s.push_back(c);
    s.push_back('\0');
  }
  return s;
}

std::string cjk_text() {
  static const char* const kChars[] = {"\u6F22", "\u5B57", "\u304B", "\u306A", "\uD55C", "\uAD6D", "\u3002"};
  std::string s;
  for (std::size_t k = 0; s.size() < kCorpus; ++k) s += kChars[(k * 7 + k / 3) % 7];
  return s;
}

void run_normalizer(benchmark::State& state, const std::string& text) {
  Normalizer norm;
  CountingSink sink;
  const Bytes all = as_bytes(text);
  for (auto _ : state) {
    for (std::size_t off = 0; off < all.size(); off += kSegment)
      norm.write(all.subspan(off, std::min(kSegment, all.size() - off)), sink);
    norm.finish(sink);
  }
  benchmark::DoNotOptimize(sink.mix);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  const auto& st = norm.stats();
  state.counters["fast_share"] = st.bytes_in ? static_cast<double>(st.ascii_fast) / static_cast<double>(st.bytes_in) : 0;
  state.counters["out_per_in"] = st.bytes_in ? static_cast<double>(st.bytes_out) / static_cast<double>(st.bytes_in) : 0;
}

void run_memcpy(benchmark::State& state, const std::string& text) {
  std::vector<std::uint8_t> dst(kSegment);
  const Bytes all = as_bytes(text);
  for (auto _ : state) {
    for (std::size_t off = 0; off < all.size(); off += kSegment) {
      const std::size_t n = std::min(kSegment, all.size() - off);
      std::memcpy(dst.data(), all.data() + off, n);
      benchmark::ClobberMemory();
    }
  }
  benchmark::DoNotOptimize(dst.data());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

void BM_NormalizeAscii(benchmark::State& state) { run_normalizer(state, ascii_text()); }
void BM_NormalizeMixed1in1000(benchmark::State& state) { run_normalizer(state, mixed_text()); }
void BM_NormalizeUtf16le(benchmark::State& state) { run_normalizer(state, utf16le_text()); }
void BM_NormalizeCjk(benchmark::State& state) { run_normalizer(state, cjk_text()); }
void BM_MemcpyAscii(benchmark::State& state) { run_memcpy(state, ascii_text()); }
void BM_MemcpyUtf16le(benchmark::State& state) { run_memcpy(state, utf16le_text()); }

BENCHMARK(BM_MemcpyAscii);
BENCHMARK(BM_NormalizeAscii);
BENCHMARK(BM_NormalizeMixed1in1000);
BENCHMARK(BM_MemcpyUtf16le);
BENCHMARK(BM_NormalizeUtf16le);
BENCHMARK(BM_NormalizeCjk);

}  // namespace
}  // namespace dlp::inspectors

BENCHMARK_MAIN();
