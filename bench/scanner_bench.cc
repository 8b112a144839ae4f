// Scanner throughput over 1 MiB of mostly benign, HTTP-form-like text with a few planted
// cards, scanned as a stream in TCP-segment-sized writes (what the dataplane does) and as
// one Hyperscan block (the upper bound streaming is measured against). Each case runs with
// the starter set (cards, SSN, AWS key ids: argument 0) and the full built-in library with
// its context keywords (argument 1); the bar is full >= half the starter's speed.
//
//   bench_scanner --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "signatures/scanner.h"

namespace dlp::signatures {
namespace {

constexpr std::size_t kCorpusSize = 1u << 20;
constexpr std::size_t kSegment = 1460;  // one Ethernet-MSS TCP payload
constexpr int kPlantedCards = 8;

// Deterministic text: form posts with names, amounts, order numbers, dates and phone
// numbers (digit runs the card and SSN patterns must look at and discard), and every
// kCorpusSize / kPlantedCards bytes one real test card.
std::string make_corpus() {
  static const char* kWords[] = {"name", "email", "city", "comment", "qty", "sku", "note",
                                 "order", "phone", "amount", "ref", "session"};
  static const char* kCards[] = {"4111111111111111", "5555-5555-5555-4444", "378282246310005",
                                 "6011 0009 9013 9424"};
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  std::string out;
  out.reserve(kCorpusSize + 256);
  std::size_t next_plant = kCorpusSize / kPlantedCards / 2;
  int planted = 0;
  while (out.size() < kCorpusSize) {
    if (out.size() >= next_plant && planted < kPlantedCards) {
      out += "&card_number=";
      out += kCards[planted % 4];
      ++planted;
      next_plant += kCorpusSize / kPlantedCards;
      continue;
    }
    out += out.empty() ? "POST /checkout HTTP/1.1\r\n\r\n" : "&";
    out += kWords[next() % 12];
    out += '=';
    switch (next() % 4) {
      case 0:  // an order number or amount: digit runs of 6-12
        out += std::to_string(next() % 1000000000000ull);
        break;
      case 1:  // a phone number
        out += "555-" + std::to_string(100 + next() % 900) + "-" + std::to_string(1000 + next() % 9000);
        break;
      case 2:  // a date
        out += "2024-0" + std::to_string(1 + next() % 9) + "-1" + std::to_string(next() % 10);
        break;
      default:  // words
        for (int i = 0, n = 1 + static_cast<int>(next() % 5); i < n; ++i) {
          out += kWords[next() % 12];
          out += '+';
        }
    }
  }
  out.resize(kCorpusSize);
  return out;
}

const std::string& corpus() {
  static const std::string text = make_corpus();
  return text;
}

// The three detectors the library started with, taken from the built-in packs by id.
DetectorSet starter_set() {
  DetectorSet s;
  for (const char* id : {"pci.credit_card", "pii.us_ssn", "secrets.aws_access_key"}) {
    for (const Detector& d : builtin_detectors().detectors) {
      if (d.id == id) s.detectors.push_back(d);
    }
  }
  return s;
}

std::shared_ptr<const Database> compile_or_die(DbMode mode, bool full) {
  HashKey key{};
  key.fill(0x5a);
  auto db = Database::compile(full ? builtin_detectors() : starter_set(), key, mode);
  if (!db.ok()) {
    std::fprintf(stderr, "compile failed: %s\n", db.error().message.c_str());
    std::abort();
  }
  return *db;
}

void report(benchmark::State& state, const Scanner& scanner, const StreamScan& s) {
  std::uint32_t cards = 0;
  const auto& dets = scanner.db().detectors();
  for (const DetectorHit& h : s.hits()) cards += dets[h.detector].id == "pci.credit_card" ? h.count : 0;
  state.counters["cards"] = cards;  // must equal kPlantedCards: a check, not a timing
  // Candidates the validators had to look at per pass: what the patterns cost us.
  state.counters["raw_matches"] =
      static_cast<double>(scanner.stats().raw_matches) / static_cast<double>(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * corpus().size()));
}

void BM_StreamScan1460(benchmark::State& state) {
  Scanner scanner(compile_or_die(DbMode::stream, state.range(0) != 0));
  Bytes all = as_bytes(corpus());
  StreamScan last = scanner.open();
  for (auto _ : state) {
    StreamScan s = scanner.open();
    for (std::size_t off = 0; off < all.size(); off += kSegment) {
      s.write(all.subspan(off, std::min(kSegment, all.size() - off)));
    }
    s.close();
    last = std::move(s);
  }
  report(state, scanner, last);
}
BENCHMARK(BM_StreamScan1460)->ArgName("full")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_BlockScan(benchmark::State& state) {
  Scanner scanner(compile_or_die(DbMode::block, state.range(0) != 0));
  Bytes all = as_bytes(corpus());
  StreamScan last = scanner.open();
  for (auto _ : state) {
    StreamScan s = scanner.open();
    s.write(all);
    s.close();
    last = std::move(s);
  }
  report(state, scanner, last);
}
BENCHMARK(BM_BlockScan)->ArgName("full")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace dlp::signatures

BENCHMARK_MAIN();
