// Scanner throughput: the full built-in library against the starter set (cards, SSN, AWS
// key ids) on the same bytes, scanned as a stream in TCP-segment-sized writes (what the
// dataplane does) and as one Hyperscan block. Issue 3's bar: full >= half the starter's
// speed.
//
// Two corpora of 1 MiB each:
//   mix    what egress traffic mostly is: HTML pages, JSON API bodies, CSV exports, prose
//          mail and form posts, benign but full of the numbers, dates, ids, prices, phone
//          numbers, hashes and field names detectors must look at and discard, with one
//          planted value (a labelled positive of any category) every ~16 KiB;
//   forms  a stress case: URL-encoded form posts where every field is a digit run, a
//          date or a phone number and the field names ("phone", "email") are context
//          keywords: one candidate every ~28 bytes, 8 planted cards.
//
// BM_FullVsStarter is the number the bar is read from: each iteration scans the corpus
// with the starter set and then with the full library, alternating, so both see the same
// machine; counters give MB/s of each and their ratio.
//
//   bench_scanner --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "signatures/scanner.h"
#include "tests/gen/labelled.h"
#include "tests/gen/payloads.h"

namespace dlp::signatures {
namespace {

constexpr std::size_t kCorpusSize = 1u << 20;
constexpr std::size_t kSegment = 1460;  // one Ethernet-MSS TCP payload
constexpr int kPlantedCards = 8;

// ---- forms: the digit-dense stress corpus ----

// Deterministic text: form posts with names, amounts, order numbers, dates and phone
// numbers (digit runs the card and SSN patterns must look at and discard), and every
// kCorpusSize / kPlantedCards bytes one real test card.
std::string make_forms() {
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

// ---- mix: mostly benign text, HTML, JSON and CSV with occasional hits ----

class MixGen {
 public:
  explicit MixGen(std::uint64_t seed) : rng_(seed) {}

  std::string make() {
    // Planted values: labelled positives whose text is plain ASCII (the normaliser is not
    // under test here), any category.
    std::vector<std::string> plants;
    for (const auto& c : testgen::labelled_corpus(0xbe7c'4a11ull, 2)) {
      if (c.expect && (c.encoding == "plain" || c.encoding == "context" || c.encoding == "grouped")) {
        plants.push_back(c.plain);
      }
    }
    std::shuffle(plants.begin(), plants.end(), rng_);
    std::string out;
    out.reserve(kCorpusSize + 65536);
    std::size_t next_plant = 8192, p = 0;
    while (out.size() < kCorpusSize) {
      const int r = pick(100);
      if (r < 35) out += html_page();
      else if (r < 60) out += json_body();
      else if (r < 75) out += csv_export();
      else if (r < 93) out += mail_text();
      else out += "POST /account/update HTTP/1.1\r\nHost: shop.example\r\n\r\n" +
                  testgen::benign_form(rng_, 12) + "\r\n";
      if (out.size() >= next_plant && !plants.empty()) {
        out += "\n" + plants[p++ % plants.size()] + "\n";
        planted_++;
        next_plant += 16384;
      }
    }
    out.resize(kCorpusSize);
    return out;
  }
  int planted() const { return planted_; }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<std::uint64_t>(n)); }
  std::string num(int lo, int hi) { return std::to_string(lo + pick(hi - lo + 1)); }
  std::string word() {
    static const char* kWords[] = {
        "the", "and", "for", "with", "your", "order", "account", "product", "shipping", "price",
        "customer", "review", "team", "project", "update", "meeting", "report", "quarter", "delivery",
        "support", "new", "details", "please", "thanks", "invoice", "schedule", "release", "notes",
        "version", "service", "available", "today", "tomorrow", "office", "client", "budget"};
    return kWords[pick(sizeof kWords / sizeof kWords[0])];
  }
  std::string words(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += (i ? " " : "") + word();
    return s;
  }
  std::string date() { return "20" + num(10, 25) + "-" + two(1 + pick(12)) + "-" + two(1 + pick(28)); }
  std::string two(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }
  std::string hex(int n) {
    static const char* kHex = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < n; ++i) s += kHex[pick(16)];
    return s;
  }
  std::string uuid() { return hex(8) + "-" + hex(4) + "-4" + hex(3) + "-a" + hex(3) + "-" + hex(12); }
  std::string price() { return num(1, 2999) + "." + two(pick(100)); }

  std::string html_page() {
    std::string s = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nDate: Tue, " + num(1, 28) +
                    " Nov 2026 10:" + two(pick(60)) + ":" + two(pick(60)) + " GMT\r\n\r\n";
    s += "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + words(3) +
         " | Example Store</title><link rel=\"stylesheet\" href=\"/static/css/main." + hex(8) +
         ".css\"><script src=\"/static/js/app." + hex(8) + ".js\" integrity=\"sha384-" + hex(48) +
         "\"></script></head>\n<body class=\"page-" + word() + "\"><nav class=\"navbar\"><ul>";
    for (int i = 0; i < 6; ++i) s += "<li><a href=\"/" + word() + "/" + num(1, 999) + "\">" + words(2) + "</a></li>";
    s += "</ul></nav>\n<main><h1>" + words(4) + "</h1>\n";
    for (int i = 0, n = 3 + pick(8); i < n; ++i) {
      s += "<div class=\"product-card\" data-id=\"" + num(100000, 9999999) + "\" data-sku=\"SKU-" + num(10000, 99999) +
           "\"><img src=\"/img/p/" + num(1000, 99999) + "_" + num(200, 800) + "x" + num(200, 800) +
           ".jpg\" alt=\"" + words(2) + "\"><h2>" + words(3) + "</h2><p class=\"price\">$" + price() +
           "</p><p>" + words(12 + pick(20)) + ". Ships in " + num(1, 9) + " days.</p><span class=\"rating\">" +
           num(1, 4) + "." + num(0, 9) + " (" + num(1, 2000) + " reviews)</span></div>\n";
    }
    s += "<script>window.__STATE__={\"cart\":{\"items\":" + num(0, 9) + ",\"total\":" + price() +
         "},\"session\":\"" + uuid() + "\",\"ts\":" + num(1700000000, 1799999999) + num(100, 999) + "};</script>\n";
    s += "</main><footer><p>Questions? Call us at 1-800-" + num(200, 999) + "-" + num(1000, 9999) +
         " or write to support@example.com.</p><p>&copy; 2026 Example Corp. " + num(100, 9999) +
         " Market Street, Suite " + num(100, 999) + ", San Francisco, CA 94" + num(100, 199) +
         "</p></footer></body></html>\n";
    return s;
  }

  std::string json_body() {
    std::string s = "POST /api/v2/events HTTP/1.1\r\nHost: api.example\r\nContent-Type: application/json\r\n\r\n";
    if (pick(2)) return s + testgen::benign_json(rng_, 1500 + static_cast<std::size_t>(pick(3000))) + "\n";
    s += "{\"data\":[";
    for (int i = 0, n = 4 + pick(12); i < n; ++i) {
      s += std::string(i ? "," : "") + "{\"id\":\"" + uuid() + "\",\"type\":\"" + word() + "\",\"attributes\":{\"name\":\"" +
           words(2) + "\",\"created_at\":\"" + date() + "T" + two(pick(24)) + ":" + two(pick(60)) + ":" + two(pick(60)) +
           "Z\",\"amount\":" + price() + ",\"currency\":\"USD\",\"quantity\":" + num(1, 50) + ",\"version\":\"" +
           num(1, 9) + "." + num(0, 20) + "." + num(0, 99) + "\",\"etag\":\"" + hex(32) + "\",\"account_id\":" +
           num(1000000, 99999999) + "}}";
    }
    s += "],\"meta\":{\"page\":" + num(1, 99) + ",\"per_page\":50,\"total\":" + num(100, 99999) + ",\"request_id\":\"" +
         hex(16) + "\"}}\n";
    return s;
  }

  std::string csv_export() {
    static const char* kCities[] = {"Springfield", "Riverside", "Franklin", "Greenville", "Bristol", "Clinton",
                                    "Fairview", "Salem", "Madison", "Georgetown"};
    std::string s = "id,order_no,city,zip,amount,created_at,status,items,weight_kg\r\n";
    for (int i = 0, n = 20 + pick(60); i < n; ++i) {
      s += num(1, 999999) + ",ORD-" + num(100000, 999999) + "," + kCities[pick(10)] + "," + num(10000, 99999) + "," +
           price() + "," + date() + " " + two(pick(24)) + ":" + two(pick(60)) + "," +
           (pick(3) ? "shipped" : "pending") + "," + num(1, 30) + "," + num(0, 99) + "." + num(0, 9) + "\r\n";
    }
    return s;
  }

  std::string mail_text() {
    std::string s = "From: " + word() + "@example.org\r\nTo: team@example.com\r\nSubject: " + words(4) +
                    "\r\nDate: Mon, " + num(1, 28) + " Nov 2026 09:" + two(pick(60)) + ":00 +0000\r\n\r\n";
    s += "Hi all,\r\n\r\n" + testgen::benign_text(rng_, 600 + static_cast<std::size_t>(pick(2000)));
    s += "\r\nThe meeting moved to " + date() + " at " + num(1, 12) + ":30 in room " + num(100, 599) +
         ". Budget for Q" + num(1, 4) + " is $" + num(10, 999) + "," + num(100, 999) + ".\r\n\r\nThanks,\r\n" +
         word() + "\r\n";
    return s;
  }

  std::mt19937_64 rng_;
  int planted_ = 0;
};

struct Corpus {
  std::string text;
  int planted = 0;
};

const Corpus& corpus(int which) {
  static const Corpus forms{make_forms(), kPlantedCards};
  static const Corpus mix = [] {
    MixGen g(0x6d69'7820'7472'6166ull);
    Corpus c;
    c.text = g.make();
    c.planted = g.planted();
    return c;
  }();
  return which == 0 ? mix : forms;
}
const char* corpus_name(int which) { return which == 0 ? "mix" : "forms"; }

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

// One pass over the corpus in 1460-byte writes; returns the hits' total count.
std::uint64_t stream_pass(Scanner& scanner, const std::string& text, StreamScan* keep = nullptr) {
  Bytes all = as_bytes(text);
  StreamScan s = scanner.open();
  for (std::size_t off = 0; off < all.size(); off += kSegment) {
    s.write(all.subspan(off, std::min(kSegment, all.size() - off)));
  }
  s.close();
  std::uint64_t n = 0;
  for (const DetectorHit* h : s.reportable()) n += h->count;
  if (keep) *keep = std::move(s);
  return n;
}

void report(benchmark::State& state, const Scanner& scanner, const StreamScan& s, const Corpus& c) {
  std::uint32_t cards = 0, reportable = 0;
  const auto& dets = scanner.db().detectors();
  for (const DetectorHit& h : s.hits()) cards += dets[h.detector].id == "pci.credit_card" ? h.count : 0;
  for (const DetectorHit* h : s.reportable()) reportable += h->count;
  state.counters["cards"] = cards;  // forms: must equal kPlantedCards (a check, not a timing)
  state.counters["found"] = reportable;
  state.counters["planted"] = c.planted;
  // Candidates the validators had to look at per pass: what the patterns cost us.
  state.counters["raw_matches"] =
      static_cast<double>(scanner.stats().raw_matches) / static_cast<double>(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * c.text.size()));
  state.SetLabel(corpus_name(static_cast<int>(state.range(0))));
}

void BM_StreamScan1460(benchmark::State& state) {
  const Corpus& c = corpus(static_cast<int>(state.range(0)));
  Scanner scanner(compile_or_die(DbMode::stream, state.range(1) != 0));
  StreamScan last = scanner.open();
  for (auto _ : state) stream_pass(scanner, c.text, &last);
  report(state, scanner, last, c);
}
BENCHMARK(BM_StreamScan1460)->ArgNames({"corpus", "full"})->ArgsProduct({{0, 1}, {0, 1}})->Unit(benchmark::kMillisecond);

void BM_BlockScan(benchmark::State& state) {
  const Corpus& c = corpus(static_cast<int>(state.range(0)));
  Scanner scanner(compile_or_die(DbMode::block, state.range(1) != 0));
  Bytes all = as_bytes(c.text);
  StreamScan last = scanner.open();
  for (auto _ : state) {
    StreamScan s = scanner.open();
    s.write(all);
    s.close();
    last = std::move(s);
  }
  report(state, scanner, last, c);
}
BENCHMARK(BM_BlockScan)->ArgNames({"corpus", "full"})->ArgsProduct({{0, 1}, {0, 1}})->Unit(benchmark::kMillisecond);

// The bar, measured in one run: per iteration a starter pass then a full pass over the
// same bytes (streaming, 1460-byte writes). Best-of per side keeps a noisy neighbour's
// bursts out of the ratio.
void BM_FullVsStarter(benchmark::State& state) {
  const Corpus& c = corpus(static_cast<int>(state.range(0)));
  Scanner starter(compile_or_die(DbMode::stream, false));
  Scanner full(compile_or_die(DbMode::stream, true));
  double best_s = 1e9, best_f = 1e9;
  std::uint64_t found_s = 0, found_f = 0;
  using clock = std::chrono::steady_clock;
  for (auto _ : state) {
    const auto t0 = clock::now();
    found_s = stream_pass(starter, c.text);
    const auto t1 = clock::now();
    found_f = stream_pass(full, c.text);
    const auto t2 = clock::now();
    best_s = std::min(best_s, std::chrono::duration<double>(t1 - t0).count());
    best_f = std::min(best_f, std::chrono::duration<double>(t2 - t1).count());
  }
  const double mb = static_cast<double>(c.text.size()) / 1e6;
  state.counters["starter_MBps"] = mb / best_s;
  state.counters["full_MBps"] = mb / best_f;
  state.counters["ratio"] = best_s / best_f;  // full speed / starter speed; bar >= 0.5
  state.counters["found_starter"] = static_cast<double>(found_s);
  state.counters["found_full"] = static_cast<double>(found_f);
  state.SetLabel(corpus_name(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_FullVsStarter)->ArgName("corpus")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace dlp::signatures

BENCHMARK_MAIN();
