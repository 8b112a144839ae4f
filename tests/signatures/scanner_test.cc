// Streaming scan: matches split across writes are found exactly once, gaps break matches,
// decoys give nothing, and only masked values and keyed hashes come out.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <vector>

#include "signatures/scanner.h"

namespace dlp::signatures {
namespace {

constexpr std::uint32_t kCard = 0;  // detector indexes in the starter pack
constexpr std::uint32_t kSsn = 1;
constexpr std::uint32_t kAws = 2;

HashKey test_key(std::uint8_t seed = 1) {
  HashKey k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(seed + i);
  return k;
}

std::shared_ptr<const Database> compile_or_die(const DetectorSet& set, DbMode mode = DbMode::stream,
                                               const HashKey& key = test_key()) {
  auto db = Database::compile(set, key, mode);
  if (!db.ok()) ADD_FAILURE() << db.error().message;
  return db.ok() ? *db : nullptr;
}

// The three detectors these tests were written against, taken from the built-in packs by
// id so that their indexes stay 0, 1, 2 whatever else the packs hold.
DetectorSet starter_set() {
  DetectorSet s;
  for (const char* id : {"pci.credit_card", "pii.us_ssn", "secrets.aws_access_key"}) {
    for (const Detector& d : builtin_detectors().detectors) {
      if (d.id == id) s.detectors.push_back(d);
    }
  }
  EXPECT_EQ(s.detectors.size(), 3u);
  return s;
}

const std::shared_ptr<const Database>& starter() {
  static const auto db = compile_or_die(starter_set());
  return db;
}

// One stream, the given pieces in order, closed.
struct Outcome {
  std::vector<DetectorHit> hits;
  ScanStats stats;
};

Outcome scan(const std::vector<std::string>& pieces,
             const std::shared_ptr<const Database>& db = starter()) {
  Scanner scanner(db);
  StreamScan s = scanner.open();
  for (const std::string& p : pieces) s.write(as_bytes(p));
  s.close();
  return {s.hits(), scanner.stats()};
}

const DetectorHit* hit_of(const Outcome& o, std::uint32_t detector) {
  for (const DetectorHit& h : o.hits) {
    if (h.detector == detector) return &h;
  }
  return nullptr;
}

void expect_single(const Outcome& o, std::uint32_t detector, const std::string& masked,
                   std::uint64_t first_offset, const std::string& context) {
  ASSERT_EQ(o.hits.size(), 1u) << context;
  const DetectorHit& h = o.hits[0];
  EXPECT_EQ(h.detector, detector) << context;
  EXPECT_EQ(h.count, 1u) << context;
  ASSERT_EQ(h.masked.size(), 1u) << context;
  EXPECT_EQ(h.masked[0], masked) << context;
  EXPECT_EQ(h.hashes.size(), 1u) << context;
  EXPECT_EQ(h.first_offset, first_offset) << context;
}

TEST(SignaturesScanner, FindsOneCardInOneWrite) {
  Outcome o = scan({"name=bob&cc=4111111111111111&exp=12%2F29"});
  expect_single(o, kCard, "411111******1111", 12, "one write");
  EXPECT_EQ(o.hits[0].confidence, Confidence::high);
  EXPECT_EQ(o.stats.bytes, 40u);
  EXPECT_EQ(o.stats.raw_matches, 1u);
  EXPECT_EQ(o.stats.validated, 1u);
  EXPECT_EQ(o.stats.rejected, 0u);
  EXPECT_EQ(o.stats.hs_errors, 0u);
}

TEST(SignaturesScanner, CardSplitAtEveryBytePositionIsFoundOnce) {
  const std::string text = "name=bob&cc=4111111111111111&exp=12%2F29";
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    Outcome o = scan({text.substr(0, cut), text.substr(cut)});
    expect_single(o, kCard, "411111******1111", 12, "cut at " + std::to_string(cut));
  }
}

TEST(SignaturesScanner, CardAtEndOfStreamIsFlushedByClose) {
  // The trailing \b needs the next byte or the end of data: close() must deliver it.
  const std::string text = "cc=5555555555554444";
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    Outcome o = scan({text.substr(0, cut), text.substr(cut)});
    expect_single(o, kCard, "555555******4444", 3, "cut at " + std::to_string(cut));
  }
  Scanner scanner(starter());
  StreamScan s = scanner.open();
  s.write(as_bytes(text));
  EXPECT_TRUE(s.hits().empty());  // not yet: the next byte could be another digit
  s.close();
  EXPECT_EQ(s.hits().size(), 1u);
}

TEST(SignaturesScanner, CardSplitAcrossThreeWritesIsFoundOnce) {
  const std::string text = "x 3782 822463 10005 y";  // Amex 4-6-5
  for (std::size_t i = 0; i <= text.size(); ++i) {
    for (std::size_t j = i; j <= text.size(); ++j) {
      Outcome o = scan({text.substr(0, i), text.substr(i, j - i), text.substr(j)});
      expect_single(o, kCard, "378282*****0005", 2,
                    "cuts at " + std::to_string(i) + "," + std::to_string(j));
    }
  }
}

TEST(SignaturesScanner, ByteAtATimeFindsEveryDetector) {
  const std::string text =
      "ssn=219-09-9998&card=6011 0009 9013 9424&key=AKIAIOSFODNN7EXAMPLE&end";
  std::vector<std::string> bytes;
  for (char c : text) bytes.emplace_back(1, c);
  Outcome o = scan(bytes);
  ASSERT_EQ(o.hits.size(), 3u);
  const DetectorHit* ssn = hit_of(o, kSsn);
  const DetectorHit* card = hit_of(o, kCard);
  const DetectorHit* aws = hit_of(o, kAws);
  ASSERT_TRUE(ssn && card && aws);
  EXPECT_EQ(ssn->masked, std::vector<std::string>{"*****9998"});
  EXPECT_EQ(ssn->first_offset, 4u);
  // Changed with context scoring: "ssn=" right before the number is a context keyword,
  // so the validated SSN is high (without it, medium: see ContextRaisesConfidence).
  EXPECT_EQ(ssn->confidence, Confidence::high);
  EXPECT_EQ(card->masked, std::vector<std::string>{"601100******9424"});
  EXPECT_EQ(card->first_offset, 21u);
  EXPECT_EQ(aws->masked, std::vector<std::string>{"****************MPLE"});
  EXPECT_EQ(aws->first_offset, 45u);
  EXPECT_EQ(o.stats.bytes, text.size());
}

TEST(SignaturesScanner, MatchSpanningAGapIsNotFound) {
  Scanner scanner(starter());
  StreamScan s = scanner.open();
  s.write(as_bytes("cc=41111111"));
  s.gap(4);
  s.write(as_bytes("11111111&"));
  s.close();
  EXPECT_TRUE(s.hits().empty());
  EXPECT_EQ(s.offset(), 11u + 4u + 9u);
  EXPECT_EQ(scanner.stats().validated, 0u);
}

TEST(SignaturesScanner, OffsetsContinueAcrossAGap) {
  Scanner scanner(starter());
  StreamScan s = scanner.open();
  s.write(as_bytes("hello "));
  s.gap(100);
  s.write(as_bytes("cc=4111111111111111 "));
  s.close();
  ASSERT_EQ(s.hits().size(), 1u);
  EXPECT_EQ(s.hits()[0].first_offset, 6u + 100u + 3u);
}

TEST(SignaturesScanner, MatchEndingRightBeforeAGapIsKept) {
  // The bytes before the gap hold a complete, boundary-delimited card: report it.
  Scanner scanner(starter());
  StreamScan s = scanner.open();
  s.write(as_bytes("cc=4111111111111111"));
  s.gap(10);
  s.write(as_bytes("tail"));
  s.close();
  ASSERT_EQ(s.hits().size(), 1u);
  EXPECT_EQ(s.hits()[0].first_offset, 3u);
}

TEST(SignaturesScanner, LuhnInvalidAndSsaInvalidDecoysGiveNothing) {
  Outcome o = scan({"cc=4111111111111112 amex=378282246310006 visa15=411111111111116 "
                    "ssn=000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000 "
                    "078-05-1120 219-09-9999 key=AKIAIOSFODNN8EXAMPLE"});
  EXPECT_TRUE(o.hits.empty());
  EXPECT_EQ(o.stats.validated, 0u);
  // Every candidate the patterns produced was rejected by its validator.
  EXPECT_EQ(o.stats.rejected, o.stats.raw_matches);
  // 3 cards (the 15-digit run is a card shape; the issuer table refuses a 15-digit Visa)
  // + 7 SSNs.
  EXPECT_EQ(o.stats.rejected, 10u);
}

// The email pattern starts one byte before the '@' and the scanner walks left over the
// local part: the value is the whole address wherever the writes split it.
const std::shared_ptr<const Database>& email_db() {
  static const auto db = [] {
    DetectorSet s;
    for (const Detector& d : builtin_detectors().detectors) {
      if (d.id == "pii.email") s.detectors.push_back(d);
    }
    EXPECT_EQ(s.detectors.size(), 1u);
    s.detectors[0].min_count = 1;
    return compile_or_die(s);
  }();
  return db;
}

TEST(SignaturesScanner, EmailLocalPartIsFoundLeftOfTheAtSignAcrossWrites) {
  // Whole, split inside the local part, split right before the '@', at the stream start.
  for (const auto& pieces : std::vector<std::vector<std::string>>{
           {"to: jane.doe+x@mail.example.com\n"},
           {"to: jane.d", "oe+x@mail.example.com\n"},
           {"to: jane.doe+x", "@mail.example.com\n"},
           {"to: j", "a", "ne.doe+x@mail.", "example.com\n"}}) {
    Outcome o = scan(pieces, email_db());
    ASSERT_EQ(o.hits.size(), 1u) << pieces[0];
    EXPECT_EQ(o.hits[0].first_offset, 4u) << pieces[0];
    EXPECT_EQ(o.hits[0].masked, std::vector<std::string>{std::string(23, '*') + ".com"}) << pieces[0];
  }
  Outcome start = scan({"ann@b.example "}, email_db());
  ASSERT_EQ(start.hits.size(), 1u);
  EXPECT_EQ(start.hits[0].first_offset, 0u);
  // Dots before the first letter are not part of the address.
  Outcome dots = scan({"see ...ann@b.example "}, email_db());
  ASSERT_EQ(dots.hits.size(), 1u);
  EXPECT_EQ(dots.hits[0].masked, std::vector<std::string>{"*********mple"});
}

TEST(SignaturesScanner, EmailLocalPartLongerThanTheRfcAllowsIsNotAnAddress) {
  const std::string local64(64, 'a'), local65(65, 'a');
  Outcome ok = scan({"x " + local64 + "@b.example "}, email_db());
  EXPECT_EQ(ok.hits.size(), 1u);
  Outcome too_long = scan({"x " + local65 + "@b.example "}, email_db());
  EXPECT_TRUE(too_long.hits.empty());
  EXPECT_EQ(too_long.stats.rejected, 1u);
}

TEST(SignaturesScanner, CardInsideLongerRunsDoesNotMatch) {
  // 20+ digit runs that contain a valid card, and cards glued to letters.
  Outcome o = scan({"a=41111111111111111111 b=99994111111111111111 c=4111111111111111000000 "
                    "d=x4111111111111111 e=4111111111111111x f=AKIAIOSFODNN7EXAMPLE7 "
                    "g=1219-09-9998 h=219-09-99981"});
  EXPECT_TRUE(o.hits.empty());
  EXPECT_EQ(o.stats.validated, 0u);
}

TEST(SignaturesScanner, GroupedFormsAreFoundWithCanonicalValues) {
  struct Case {
    const char* text;
    const char* masked;
  } cases[] = {
      {"4111 1111 1111 1111", "411111******1111"},  {"4111-1111-1111-1111", "411111******1111"},
      {"5105 1051 0510 5100", "510510******5100"},  {"2221-0000-0000-0009", "222100******0009"},
      {"3782 822463 10005", "378282*****0005"},     {"3714-496353-98431", "371449*****8431"},
      {"3056 930902 5904", "305693****5904"},       {"3852-000002-3237", "385200****3237"},
      {"3530 1113 3330 0000", "353011******0000"},  {"6200-0000-0000-0005", "620000******0005"},
      {"4222222222222", "422222***2222"},           {"6205500000000000004", "620550*********0004"},
  };
  for (const Case& c : cases) {
    Outcome o = scan({std::string("pan: ") + c.text + "\r\n"});
    expect_single(o, kCard, c.masked, 5, c.text);
  }
  // Mixed separators and 3-4-4-4 shapes are not the printed forms.
  Outcome mixed = scan({"4111 1111-1111 1111 | 4111-1111 1111-1111 | 411 11111 1111 1111"});
  EXPECT_TRUE(mixed.hits.empty());
}

TEST(SignaturesScanner, SsnBothWrittenFormsButNotNineContiguousDigits) {
  Outcome o = scan({"a 123-45-6789 b 123 45 6789 c 123456789 d"});
  const DetectorHit* h = hit_of(o, kSsn);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(o.hits.size(), 1u);
  EXPECT_EQ(h->count, 2u);  // same value in both forms: two matches, one distinct value
  EXPECT_EQ(h->masked, std::vector<std::string>{"*****6789"});
  EXPECT_EQ(h->hashes.size(), 1u);
}

TEST(SignaturesScanner, CountsEveryMatchAndKeepsDistinctValuesInOrder) {
  Outcome o = scan({"4111111111111111 5555555555554444 4111-1111-1111-1111 ",
                    "5555 5555 5555 4444 4012888888881881"});
  ASSERT_EQ(o.hits.size(), 1u);
  const DetectorHit& h = o.hits[0];
  EXPECT_EQ(h.count, 5u);
  EXPECT_EQ(h.masked, (std::vector<std::string>{"411111******1111", "555555******4444",
                                                "401288******1881"}));
  ASSERT_EQ(h.hashes.size(), 3u);
  EXPECT_NE(h.hashes[0], h.hashes[1]);
  EXPECT_NE(h.hashes[1], h.hashes[2]);
  EXPECT_EQ(h.first_offset, 0u);
}

TEST(SignaturesScanner, DistinctValuesStopAtTheLimitButCountGoesOn) {
  // 20 distinct Luhn-valid Visa numbers: 4000 0000 0000 0nnc.
  std::string text;
  for (int i = 0; i < 20; ++i) {
    std::string base = "400000000000" + std::string(i < 10 ? "00" : "0") + std::to_string(i);
    for (char c = '0'; c <= '9'; ++c) {
      std::string cand = base + c;
      std::string canonical;
      if (validate_luhn(cand, canonical)) {
        text += cand + " ";
        break;
      }
    }
  }
  Outcome o = scan({text});
  ASSERT_EQ(o.hits.size(), 1u);
  EXPECT_EQ(o.hits[0].count, 20u);
  EXPECT_EQ(o.hits[0].masked.size(), kMaxMaskedPerHit);
  EXPECT_EQ(o.hits[0].hashes.size(), kMaxMaskedPerHit);
}

TEST(SignaturesScanner, MaskedStringsNeverContainTheCleartext) {
  const std::vector<std::string> values = {"4111111111111111", "378282246310005",
                                           "30569309025904", "123456789",
                                           "AKIAIOSFODNN7EXAMPLE"};
  std::string text;
  for (const std::string& v : values) text += v.size() == 9 ? "123-45-6789 " : v + " ";
  Outcome o = scan({text});
  std::size_t masked_count = 0;
  for (const DetectorHit& h : o.hits) {
    for (const std::string& m : h.masked) {
      ++masked_count;
      for (const std::string& v : values) {
        EXPECT_EQ(m.find(v), std::string::npos) << m;
        // Nothing but the kept edges shows: at least the middle is stars.
        EXPECT_EQ(m[m.size() / 2], '*') << m;
      }
    }
  }
  EXPECT_EQ(masked_count, values.size());
}

TEST(SignaturesScanner, HashIsKeyedHmacSha256FirstEightBytesBigEndian) {
  Outcome o = scan({"4111111111111111 "});
  ASSERT_EQ(o.hits.size(), 1u);
  HashKey key = test_key();
  const std::string value = "4111111111111111";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(value.data()), value.size(), mac, &mac_len);
  std::uint64_t expect = 0;
  for (int i = 0; i < 8; ++i) expect = (expect << 8) | mac[i];
  EXPECT_EQ(o.hits[0].hashes[0], expect);

  // Same value, grouped, same hash; another key, another hash.
  Outcome grouped = scan({"4111-1111-1111-1111 "});
  EXPECT_EQ(grouped.hits[0].hashes[0], expect);
  auto other_db = compile_or_die(starter_set(), DbMode::stream, test_key(99));
  Outcome other = scan({"4111111111111111 "}, other_db);
  EXPECT_NE(other.hits[0].hashes[0], expect);
}

TEST(SignaturesScanner, MinCountDecidesWhatIsReportable) {
  auto set = parse_pack(R"(detectors:
  - id: t.ssn
    category: us_ssn
    patterns: ['\b\d{3}-\d{2}-\d{4}\b']
    validator: us_ssn
    min_count: 3
  - id: t.card
    category: credit_card
    patterns: ['\b4\d{15}\b']
    validator: luhn
    mask: first6_last4
)",
                        "m.yaml");
  ASSERT_TRUE(set.ok()) << set.error().message;
  auto db = compile_or_die(*set);
  Scanner scanner(db);
  StreamScan s = scanner.open();
  s.write(as_bytes("123-45-6789 234-56-7890 4111111111111111 "));
  ASSERT_EQ(s.hits().size(), 2u);
  auto rep = s.reportable();
  ASSERT_EQ(rep.size(), 1u);
  EXPECT_EQ(rep[0]->detector, 1u);  // only the card: the SSNs are 2 of 3
  s.write(as_bytes("345-67-8901 "));
  rep = s.reportable();
  ASSERT_EQ(rep.size(), 2u);
  EXPECT_EQ(rep[0]->detector, 0u);
  EXPECT_EQ(rep[0]->count, 3u);
  EXPECT_EQ(rep[1]->detector, 1u);
}

TEST(SignaturesScanner, PatternsOfOneDetectorReportingTheSameSpanCountOnce) {
  auto set = parse_pack(R"(detectors:
  - id: t.card
    category: credit_card
    patterns: ['\b4\d{15}\b', '\b41\d{14}\b', '\b\d{16}\b']
    validator: luhn
    mask: first6_last4
)",
                        "d.yaml");
  ASSERT_TRUE(set.ok()) << set.error().message;
  Outcome o = scan({"x 4111111111111111 y 4012888888881881 z"}, compile_or_die(*set));
  ASSERT_EQ(o.hits.size(), 1u);
  EXPECT_EQ(o.hits[0].count, 2u);
  EXPECT_EQ(o.stats.raw_matches, 5u);  // 3 + 2 patterns fired...
  EXPECT_EQ(o.stats.validated, 2u);    // ...for two spans
}

TEST(SignaturesScanner, DetectorWithoutValidatorUsesTheRawMatch) {
  auto set = parse_pack("detectors:\n  - id: t.marker\n    category: confidential_marker\n"
                        "    patterns: ['PROJECT-[A-Z]{4}-\\d{4}']\n",
                        "n.yaml");
  ASSERT_TRUE(set.ok()) << set.error().message;
  Outcome o = scan({"see PROJECT-ZEUS-2024 now"}, compile_or_die(*set));
  expect_single(o, 0, "*************2024", 4, "marker");
}

TEST(SignaturesScanner, WriteReportsWhetherItAddedAValidatedMatch) {
  Scanner scanner(starter());
  StreamScan s = scanner.open();
  EXPECT_FALSE(s.write(as_bytes("nothing here ")));
  EXPECT_FALSE(s.write(as_bytes("cc=4111111111111111")));  // pending the next byte
  EXPECT_TRUE(s.write(as_bytes(" ")));
  EXPECT_FALSE(s.write(as_bytes("cc=4111111111111112 ")));  // Luhn-invalid
}

TEST(SignaturesScanner, CloseIsIdempotentAndWritesAfterCloseAreIgnored) {
  Scanner scanner(starter());
  StreamScan s = scanner.open();
  s.write(as_bytes("4111111111111111"));
  s.close();
  s.close();
  ASSERT_EQ(s.hits().size(), 1u);
  EXPECT_EQ(s.hits()[0].count, 1u);
  EXPECT_FALSE(s.write(as_bytes(" 5555555555554444 ")));
  EXPECT_EQ(s.hits().size(), 1u);
  EXPECT_EQ(s.offset(), 16u);
}

TEST(SignaturesScanner, MovedStreamScansKeepWorking) {
  Scanner scanner(starter());
  StreamScan a = scanner.open();
  a.write(as_bytes("cc=41111111"));
  StreamScan b(std::move(a));          // mid-match
  b.write(as_bytes("11111111 cc=5555"));
  StreamScan c = scanner.open();
  c.write(as_bytes("unrelated"));
  c = std::move(b);                    // c's own stream is freed, b's state moves in
  c.write(as_bytes("555555554444 "));
  c.close();
  ASSERT_EQ(c.hits().size(), 1u);
  EXPECT_EQ(c.hits()[0].count, 2u);
  EXPECT_EQ(c.hits()[0].masked,
            (std::vector<std::string>{"411111******1111", "555555******4444"}));
  EXPECT_EQ(c.offset(), 11u + 16u + 13u);
  // The moved-from objects are inert and safe to use and destroy.
  EXPECT_FALSE(a.write(as_bytes("4111111111111111 ")));
  a.close();
  EXPECT_TRUE(a.hits().empty());
  EXPECT_TRUE(b.reportable().empty());
}

TEST(SignaturesScanner, DestroyingAnOpenStreamScanFreesItWithoutReporting) {
  Scanner scanner(starter());
  {
    StreamScan s = scanner.open();
    s.write(as_bytes("cc=4111111111111111"));
  }  // no close(): the stream is freed (ASan / valgrind would flag a leak)
  EXPECT_EQ(scanner.stats().validated, 0u);
  EXPECT_EQ(scanner.stats().hs_errors, 0u);
}

TEST(SignaturesScanner, ManyStreamsOnOneScannerAreIndependent) {
  Scanner scanner(starter());
  StreamScan a = scanner.open();
  StreamScan b = scanner.open();
  a.write(as_bytes("4111111111"));
  b.write(as_bytes("3782822463"));
  a.write(as_bytes("111111 "));
  b.write(as_bytes("10005 "));
  a.close();
  b.close();
  ASSERT_EQ(a.hits().size(), 1u);
  ASSERT_EQ(b.hits().size(), 1u);
  EXPECT_EQ(a.hits()[0].masked[0], "411111******1111");
  EXPECT_EQ(b.hits()[0].masked[0], "378282*****0005");
  EXPECT_EQ(scanner.stats().validated, 2u);
  EXPECT_EQ(scanner.stats().bytes, 10u + 10u + 7u + 6u);
}

TEST(SignaturesScanner, BlockModeScansEachWriteOnItsOwn) {
  auto db = compile_or_die(starter_set(), DbMode::block);
  Outcome whole = scan({"a=4111111111111111 b=123-45-6789"}, db);
  ASSERT_EQ(whole.hits.size(), 2u);
  EXPECT_EQ(hit_of(whole, kCard)->first_offset, 2u);
  EXPECT_EQ(hit_of(whole, kSsn)->first_offset, 21u);
  // In block mode a split value is two unrelated halves.
  Outcome split = scan({"a=41111111", "11111111 "}, db);
  EXPECT_TRUE(split.hits.empty());
  // Offsets still count every write.
  Outcome second = scan({"0123456789", "x 4111111111111111"}, db);
  ASSERT_EQ(second.hits.size(), 1u);
  EXPECT_EQ(second.hits[0].first_offset, 12u);
}

TEST(SignaturesScanner, LongWritesKeepOnlyTheTailForTheNextMatch) {
  // A write far longer than kMaxMatchWidth ends with the first half of a card.
  std::string filler(5000, 'a');
  Outcome o = scan({filler + " 41111111", "11111111 " + filler});
  expect_single(o, kCard, "411111******1111", 5001, "long writes");
}

}  // namespace
}  // namespace dlp::signatures
