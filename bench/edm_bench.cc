// Exact data match: building and loading the index of a generated 100,000-row customer
// table, and the matcher's throughput with that index loaded, on benign text (what every
// byte costs when an index is configured) and on a dump of the table itself (worst case:
// every token is a field). Writes are TCP-segment sized, as in the dataplane.
//
//   bench_edm --benchmark_min_time=0.2
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <memory>
#include <string>
#include <vector>

#include "signatures/edm.h"
#include "tests/gen/customers.h"

namespace dlp::signatures {
namespace {

constexpr std::size_t kRows = 100000;
constexpr std::size_t kCorpusSize = 1u << 20;
constexpr std::size_t kSegment = 1460;

// The customer table as CSV (the generator's, as in the tests).
const std::string& table_csv() {
  static const std::string csv = testgen::customers_csv(testgen::make_customers(kRows));
  return csv;
}

// Temporary files go at exit. The names are kept in never-destroyed storage, because the
// handler runs after function-local statics have been destroyed.
void remove_at_exit(const std::string& path) {
  static std::vector<std::string>* paths = new std::vector<std::string>;
  if (paths->empty())
    std::atexit([] {
      for (const auto& p : *paths) std::remove(p.c_str());
    });
  paths->push_back(path);
}

const std::string& csv_path() {
  static const std::string path = [] {
    std::string p = "/tmp/bench_edm_" + std::to_string(::getpid()) + ".csv";
    std::ofstream out(p, std::ios::binary);
    out << table_csv();
    remove_at_exit(p);
    return p;
  }();
  return path;
}

const std::string& index_path() {
  static const std::string path = [] {
    std::string p = "/tmp/bench_edm_" + std::to_string(::getpid()) + ".edm";
    auto built = EdmIndex::build_from_csv(csv_path(), EdmBuildOptions{});
    if (!built || !built->save(p)) {
      std::fprintf(stderr, "bench_edm: cannot build the index\n");
      std::exit(1);
    }
    remove_at_exit(p);
    return p;
  }();
  return path;
}

const EdmIndex& loaded() {
  static const std::shared_ptr<const EdmIndex> idx = [] {
    auto r = EdmIndex::load(index_path());
    if (!r) {
      std::fprintf(stderr, "bench_edm: %s\n", r.error().message.c_str());
      std::exit(1);
    }
    return *r;
  }();
  return *idx;
}

// Office-mail-like prose with the digits real traffic has: dates, amounts, order and
// ticket numbers, phone-shaped numbers, first names (which begin indexed names).
std::string benign_corpus() {
  static const char* kWords[] = {
      "the", "quarterly", "report", "attached", "please", "review", "before", "Friday",
      "meeting", "budget", "forecast", "team", "customer", "project", "update", "status",
      "shipping", "invoice", "approved", "thanks", "regards", "schedule", "call", "with",
      "about", "order", "ticket", "deadline", "draft", "version", "final", "and", "for",
      "John", "Mary", "Oak", "Main", "Street", "Springfield", "http://intranet/wiki/Page"};
  std::mt19937_64 r(99);
  auto below = [&r](std::uint64_t n) { return r() % n; };
  auto digits = [&below](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + below(10)));
    return s;
  };
  std::string out;
  out.reserve(kCorpusSize + 64);
  while (out.size() < kCorpusSize) {
    switch (below(12)) {
      case 0: out += "2024-0" + std::to_string(1 + below(9)) + "-1" + std::to_string(below(10)); break;
      case 1: out += "$" + std::to_string(below(100000)) + "." + digits(2); break;
      case 2: out += "#" + digits(6 + static_cast<int>(below(4))); break;
      case 3: out += "(555) " + digits(3) + "-" + digits(4); break;
      default: out += kWords[below(std::size(kWords))];
    }
    out += below(9) == 0 ? ".\n" : " ";
  }
  out.resize(kCorpusSize);
  return out;
}

std::string dump_corpus() {
  const std::string& csv = table_csv();
  std::string out = csv.substr(csv.find('\n') + 1, kCorpusSize);  // rows, no header
  out.resize(kCorpusSize);
  return out;
}

void run_matcher(benchmark::State& state, const std::string& corpus) {
  const EdmIndex& idx = loaded();
  std::size_t hits = 0;
  EdmStats stats;
  for (auto _ : state) {
    EdmMatcher m(idx, EdmConfig{});
    for (std::size_t off = 0; off < corpus.size(); off += kSegment)
      m.write(as_bytes(std::string_view(corpus).substr(off, kSegment)));
    m.close();
    hits = m.hits().size();
    stats = m.stats();
    benchmark::DoNotOptimize(hits);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * corpus.size()));
  state.counters["rows_found"] = static_cast<double>(hits);
  state.counters["candidates"] = static_cast<double>(stats.candidates);
  state.counters["hmacs"] = static_cast<double>(stats.hashed);
}

void BM_EdmBuild100k(benchmark::State& state) {
  const std::string& csv = csv_path();
  for (auto _ : state) {
    auto built = EdmIndex::build_from_csv(csv, EdmBuildOptions{});
    benchmark::DoNotOptimize(built.ok());
  }
}
BENCHMARK(BM_EdmBuild100k)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_EdmLoad100k(benchmark::State& state) {
  const std::string& path = index_path();
  for (auto _ : state) {
    auto idx = EdmIndex::load(path);
    benchmark::DoNotOptimize(idx.ok());
  }
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  state.counters["file_bytes"] = static_cast<double>(f.tellg());
  state.counters["memory_bytes"] = static_cast<double>(loaded().memory_bytes());
}
BENCHMARK(BM_EdmLoad100k)->Unit(benchmark::kMillisecond)->Iterations(5);

void BM_EdmMatchBenign(benchmark::State& state) {
  static const std::string corpus = benign_corpus();
  run_matcher(state, corpus);
}
BENCHMARK(BM_EdmMatchBenign)->Unit(benchmark::kMillisecond);

void BM_EdmMatchTableDump(benchmark::State& state) {
  static const std::string corpus = dump_corpus();
  run_matcher(state, corpus);
}
BENCHMARK(BM_EdmMatchTableDump)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace dlp::signatures

BENCHMARK_MAIN();
