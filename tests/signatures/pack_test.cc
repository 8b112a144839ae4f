// Detector packs: a good pack parses into exactly what it says; every kind of bad pack is
// refused with "origin:line: reason" pointing at the offending line.
#include "signatures/detector.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace dlp::signatures {
namespace {

constexpr const char* kGood = R"(# comment line 1
detectors:
  - id: test.card
    name: Test card
    category: credit_card
    severity: critical
    patterns:
      - '\b4\d{15}\b'
      - '\b4\d{3} \d{4} \d{4} \d{4}\b'
    validator: luhn
    mask: first6_last4
    confidence: high
    min_count: 3
  - id: test.plain
    category: other
    patterns: ['secret\d{4}']
)";

std::string error_of(std::string_view text) {
  auto r = parse_pack(text, "t.yaml");
  EXPECT_FALSE(r.ok()) << "pack was accepted:\n" << text;
  return r.ok() ? std::string() : r.error().message;
}

TEST(SignaturesPack, GoodPackParsesEveryField) {
  auto r = parse_pack(kGood, "good.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->detectors.size(), 2u);
  const Detector& a = r->detectors[0];
  EXPECT_EQ(a.id, "test.card");
  EXPECT_EQ(a.name, "Test card");
  EXPECT_EQ(a.category, "credit_card");
  EXPECT_EQ(a.severity, "critical");
  ASSERT_EQ(a.patterns.size(), 2u);
  EXPECT_EQ(a.patterns[0], R"(\b4\d{15}\b)");
  EXPECT_EQ(a.patterns[1], R"(\b4\d{3} \d{4} \d{4} \d{4}\b)");
  EXPECT_EQ(a.validator, "luhn");
  EXPECT_EQ(a.mask, MaskRule::first6_last4);
  EXPECT_EQ(a.confidence, Confidence::high);
  EXPECT_EQ(a.min_count, 3u);
  EXPECT_EQ(a.source, "good.yaml:3");
  // Defaults for what the second detector leaves out.
  const Detector& b = r->detectors[1];
  EXPECT_EQ(b.id, "test.plain");
  EXPECT_EQ(b.name, "test.plain");
  EXPECT_EQ(b.severity, "medium");
  EXPECT_EQ(b.validator, "");
  EXPECT_EQ(b.mask, MaskRule::last4);
  EXPECT_EQ(b.confidence, Confidence::medium);
  EXPECT_EQ(b.min_count, 1u);
  EXPECT_EQ(b.source, "good.yaml:14");
  // SHA-256 of the text, lower-case hex.
  EXPECT_EQ(r->digest.size(), 64u);
  EXPECT_EQ(r->digest.find_first_not_of("0123456789abcdef"), std::string::npos);
  auto again = parse_pack(kGood, "elsewhere.yaml");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->digest, r->digest);
  auto changed = parse_pack(std::string(kGood) + "# trailing comment\n", "good.yaml");
  ASSERT_TRUE(changed.ok());
  EXPECT_NE(changed->digest, r->digest);
}

TEST(SignaturesPack, DigestIsSha256OfTheText) {
  // sha256("detectors: []\n"), computed independently with sha256sum.
  auto r = parse_pack("detectors: []\n", "e.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->detectors.empty());
  EXPECT_EQ(r->digest, "fb09ab1b5067d951eb0ff9ee53b74b8078cd38ea38d7d3dc010884878d4ead6f");
}

TEST(SignaturesPack, YamlSyntaxErrorNamesTheLine) {
  EXPECT_EQ(error_of("detectors:\n  - id: a.b\n    patterns: [unclosed\n"),
            "t.yaml:4: end of sequence flow not found");
}

TEST(SignaturesPack, UnknownTopLevelKey) {
  EXPECT_EQ(error_of("detectors: []\nextras: 1\n"), "t.yaml:2: unknown key 'extras'");
}

TEST(SignaturesPack, PackShapeErrors) {
  EXPECT_EQ(error_of("- a\n- b\n"), "t.yaml:1: a pack must be a mapping with a 'detectors' list");
  EXPECT_EQ(error_of("detectors: 3\n"), "t.yaml:1: 'detectors' must be a list");
  EXPECT_EQ(error_of("detectors:\n  - just text\n"),
            "t.yaml:2: a detector must be a mapping of keys");
  EXPECT_EQ(error_of("detectors: []\ndetectors: []\n"), "t.yaml:2: duplicate key 'detectors'");
}

TEST(SignaturesPack, UnknownDetectorKey) {
  EXPECT_EQ(error_of("detectors:\n  - id: a.b\n    category: c\n    patterns: ['x']\n"
                     "    min_cuont: 5\n"),
            "t.yaml:5: unknown key 'min_cuont'");
}

TEST(SignaturesPack, DuplicateDetectorKey) {
  EXPECT_EQ(error_of("detectors:\n  - id: a.b\n    category: c\n    patterns: ['x']\n"
                     "    category: d\n"),
            "t.yaml:5: duplicate key 'category'");
}

TEST(SignaturesPack, MissingIdPointsAtTheDetector) {
  EXPECT_EQ(error_of("detectors:\n  - id: a.b\n    category: c\n    patterns: ['x']\n"
                     "  - category: c\n    patterns: ['y']\n"),
            "t.yaml:5: detector has no 'id'");
}

TEST(SignaturesPack, BadId) {
  EXPECT_EQ(error_of("detectors:\n  - id: Bad Id\n    category: c\n    patterns: ['x']\n"),
            "t.yaml:2: bad id 'Bad Id': use lower-case dotted names like pci.credit_card");
}

TEST(SignaturesPack, MissingOrEmptyPatterns) {
  EXPECT_EQ(error_of("detectors:\n  - id: a.b\n    category: c\n"),
            "t.yaml:2: detector 'a.b': no 'patterns'");
  EXPECT_EQ(error_of("detectors:\n  - id: a.b\n    category: c\n    patterns: []\n"),
            "t.yaml:4: detector 'a.b': 'patterns' must be a non-empty list of expressions");
  EXPECT_EQ(error_of("detectors:\n  - id: a.b\n    category: c\n    patterns: 'x'\n"),
            "t.yaml:4: detector 'a.b': 'patterns' must be a non-empty list of expressions");
  EXPECT_EQ(error_of("detectors:\n  - id: a.b\n    category: c\n    patterns:\n      - 'x'\n"
                     "      - ''\n"),
            "t.yaml:6: detector 'a.b': empty or non-text pattern");
}

TEST(SignaturesPack, MissingCategory) {
  EXPECT_EQ(error_of("detectors:\n  - id: a.b\n    patterns: ['x']\n"),
            "t.yaml:2: detector 'a.b': no 'category'");
}

TEST(SignaturesPack, UnknownValidator) {
  EXPECT_EQ(error_of("detectors:\n  - id: a.b\n    category: c\n    patterns: ['x']\n"
                     "    validator: mod11\n"),
            "t.yaml:5: detector 'a.b': unknown validator 'mod11'");
}

TEST(SignaturesPack, BadMaskConfidenceSeverityMinCount) {
  const std::string head = "detectors:\n  - id: a.b\n    category: c\n    patterns: ['x']\n";
  EXPECT_EQ(error_of(head + "    mask: first4\n"),
            "t.yaml:5: detector 'a.b': bad mask 'first4' (first6_last4|last4)");
  EXPECT_EQ(error_of(head + "    confidence: certain\n"),
            "t.yaml:5: detector 'a.b': bad confidence 'certain' (low|medium|high)");
  EXPECT_EQ(error_of(head + "    severity: urgent\n"),
            "t.yaml:5: detector 'a.b': bad severity 'urgent' (low|medium|high|critical)");
  EXPECT_EQ(error_of(head + "    min_count: 0\n"),
            "t.yaml:5: detector 'a.b': bad min_count '0' (a whole number >= 1)");
  EXPECT_EQ(error_of(head + "    min_count: -2\n"),
            "t.yaml:5: detector 'a.b': bad min_count '-2' (a whole number >= 1)");
  EXPECT_EQ(error_of(head + "    min_count: two\n"),
            "t.yaml:5: detector 'a.b': bad min_count 'two' (a whole number >= 1)");
  EXPECT_EQ(error_of(head + "    mask: [last4]\n"), "t.yaml:5: 'mask' must be a single value");
  auto none = parse_pack(head + "    validator: \"\"\n", "t.yaml");
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_EQ(none->detectors[0].validator, "");
}

TEST(SignaturesPack, DuplicateIdNamesBothPlaces) {
  EXPECT_EQ(error_of("detectors:\n  - id: a.b\n    category: c\n    patterns: ['x']\n"
                     "  - id: a.c\n    category: c\n    patterns: ['y']\n"
                     "  - id: a.b\n    category: c\n    patterns: ['z']\n"),
            "t.yaml:8: duplicate detector id 'a.b' (first defined at t.yaml:2)");
}

TEST(SignaturesPack, MergeRefusesDuplicatesAcrossPacks) {
  auto one = parse_pack("detectors:\n  - id: a.b\n    category: c\n    patterns: ['x']\n", "one.yaml");
  auto two = parse_pack("detectors:\n  - id: a.c\n    category: c\n    patterns: ['y']\n"
                        "  - id: a.b\n    category: c\n    patterns: ['z']\n",
                        "two.yaml");
  ASSERT_TRUE(one.ok() && two.ok());
  auto bad = merge({*one, *two});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "two.yaml:5: duplicate detector id 'a.b' (first defined at one.yaml:2)");

  auto three = parse_pack("detectors:\n  - id: z.z\n    category: c\n    patterns: ['q']\n", "3.yaml");
  ASSERT_TRUE(three.ok());
  auto good = merge({*one, *three});
  ASSERT_TRUE(good.ok()) << good.error().message;
  ASSERT_EQ(good->detectors.size(), 2u);
  EXPECT_EQ(good->detectors[0].id, "a.b");
  EXPECT_EQ(good->detectors[1].id, "z.z");
  EXPECT_EQ(good->digest.size(), 64u);
  EXPECT_NE(good->digest, one->digest);
  EXPECT_NE(good->digest, three->digest);
  // A single set keeps its own digest.
  auto single = merge({*one});
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->digest, one->digest);
}

TEST(SignaturesPack, LoadPackFileReportsPathAndLine) {
  auto missing = load_pack_file("/nonexistent/dir/pack.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "/nonexistent/dir/pack.yaml: cannot open detector pack");

  std::string path = testing::TempDir() + "sig_pack_test.yaml";
  {
    std::ofstream out(path);
    out << "detectors:\n  - id: a.b\n    category: c\n    patterns: ['x']\n    mask: none\n";
  }
  auto bad = load_pack_file(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, path + ":5: detector 'a.b': bad mask 'none' (first6_last4|last4)");
  std::remove(path.c_str());
}

std::string source_dir() {
  // ctest sets DLP_SOURCE_DIR; run by hand, find the tree from this file's own path.
  const char* env = std::getenv("DLP_SOURCE_DIR");
  return env ? env : std::string(__FILE__).substr(0, std::string(__FILE__).rfind("/tests/"));
}

// Replaces the starter-pack test: the embedded copy is now every pack file, merged in
// file-name order, and the three starter ids keep their meaning.
TEST(SignaturesPack, BuiltinPacksAreThePackFilesInNameOrder) {
  const std::string dir = source_dir() + "/signatures/packs/";
  std::vector<DetectorSet> sets;
  for (const char* f : {"corporate.yaml", "health.yaml", "pci.yaml", "pii.yaml", "secrets.yaml"}) {
    auto s = load_pack_file(dir + f);
    ASSERT_TRUE(s.ok()) << s.error().message;
    sets.push_back(std::move(*s));
  }
  auto merged = merge(std::move(sets));
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  const DetectorSet& builtin = builtin_detectors();
  EXPECT_EQ(builtin.digest, merged->digest);
  ASSERT_EQ(builtin.detectors.size(), merged->detectors.size());
  for (std::size_t i = 0; i < builtin.detectors.size(); ++i) {
    EXPECT_EQ(builtin.detectors[i].id, merged->detectors[i].id);
    EXPECT_EQ(builtin.detectors[i].patterns, merged->detectors[i].patterns);
  }
  auto find = [&](const std::string& id) -> const Detector* {
    for (const Detector& d : builtin.detectors) {
      if (d.id == id) return &d;
    }
    return nullptr;
  };
  const Detector* card = find("pci.credit_card");
  ASSERT_NE(card, nullptr);
  EXPECT_EQ(card->category, "credit_card");
  EXPECT_EQ(card->validator, "luhn");
  EXPECT_EQ(card->mask, MaskRule::first6_last4);
  EXPECT_EQ(card->source, "pci.yaml:9");
  EXPECT_EQ(card->confidence, Confidence::medium);  // changed: high needs context now
  EXPECT_FALSE(card->context.keywords.empty());
  const Detector* ssn = find("pii.us_ssn");
  ASSERT_NE(ssn, nullptr);
  EXPECT_EQ(ssn->category, "us_ssn");
  EXPECT_EQ(ssn->validator, "us_ssn");
  EXPECT_EQ(ssn->mask, MaskRule::last4);
  const Detector* aws = find("secrets.aws_access_key");
  ASSERT_NE(aws, nullptr);
  EXPECT_EQ(aws->category, "aws_access_key");
  EXPECT_EQ(aws->validator, "aws_key_id");
  EXPECT_EQ(aws->confidence, Confidence::high);
  const Detector* secret = find("secrets.aws_secret_key");
  ASSERT_NE(secret, nullptr);
  EXPECT_TRUE(secret->require_context);
  EXPECT_EQ(secret->context.detectors, std::vector<std::string>{"secrets.aws_access_key"});
  EXPECT_DOUBLE_EQ(secret->entropy_min, 4.0);
  EXPECT_EQ(secret->context.window, 128u);
  EXPECT_EQ(&builtin_detectors(), &builtin);  // parsed once
}

constexpr const char* kHead = "detectors:\n  - id: a.b\n    category: c\n    patterns: ['x\\d{3}']\n";

TEST(SignaturesPack, ContextRequireContextAndEntropyParse) {
  auto r = parse_pack(std::string(kHead) +
                          "    context:\n      keywords: [card number, CVV]\n"
                          "      detectors: [x.y]\n      window: 40\n"
                          "    require_context: true\n    entropy_min: 3.5\n",
                      "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Detector& d = r->detectors[0];
  EXPECT_EQ(d.context.keywords, (std::vector<std::string>{"card number", "CVV"}));
  EXPECT_EQ(d.context.detectors, std::vector<std::string>{"x.y"});
  EXPECT_EQ(d.context.window, 40u);
  EXPECT_TRUE(d.require_context);
  EXPECT_DOUBLE_EQ(d.entropy_min, 3.5);
  // Defaults: no context, not required, no entropy gate, window 64 once context is given.
  auto plain = parse_pack(std::string(kHead) + "    context: {keywords: [k]}\n", "t.yaml");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->detectors[0].context.window, 64u);
  EXPECT_FALSE(plain->detectors[0].require_context);
  EXPECT_EQ(plain->detectors[0].entropy_min, 0);
}

TEST(SignaturesPack, BadContextRequireContextAndEntropyAreRefusedWithTheLine) {
  const std::string head = kHead;
  EXPECT_EQ(error_of(head + "    context:\n      keywords: [a]\n      windw: 3\n"),
            "t.yaml:7: detector 'a.b': unknown context key 'windw'");
  EXPECT_EQ(error_of(head + "    context:\n      keywords: [a]\n      window: 0\n"),
            "t.yaml:7: detector 'a.b': bad context window '0' (bytes, 1..65536)");
  EXPECT_EQ(error_of(head + "    context:\n      keywords: [a]\n      window: 99999999\n"),
            "t.yaml:7: detector 'a.b': bad context window '99999999' (bytes, 1..65536)");
  EXPECT_EQ(error_of(head + "    context: [a, b]\n"),
            "t.yaml:5: detector 'a.b': 'context' must be a mapping (keywords, detectors, window)");
  EXPECT_EQ(error_of(head + "    context:\n      window: 5\n"),
            "t.yaml:6: detector 'a.b': 'context' needs keywords or detectors");
  EXPECT_EQ(error_of(head + "    context:\n      keywords: card\n"),
            "t.yaml:6: detector 'a.b': context keywords must be a list");
  EXPECT_EQ(error_of(head + "    context:\n      detectors: [Bad Id]\n"),
            "t.yaml:6: detector 'a.b': bad detector id 'Bad Id' in context");
  EXPECT_EQ(error_of(head + "    require_context: yes please\n"),
            "t.yaml:5: detector 'a.b': bad require_context 'yes please' (true|false)");
  EXPECT_EQ(error_of(head + "    require_context: true\n"),
            "t.yaml:5: detector 'a.b': require_context without a 'context'");
  EXPECT_EQ(error_of(head + "    entropy_min: high\n"),
            "t.yaml:5: detector 'a.b': bad entropy_min 'high' (bits per character, 0..8)");
  EXPECT_EQ(error_of(head + "    entropy_min: 9\n"),
            "t.yaml:5: detector 'a.b': bad entropy_min '9' (bits per character, 0..8)");
}

TEST(SignaturesPack, ExtendLeftParsesIntoAByteClass) {
  auto r = parse_pack(std::string(kHead) + "    extend_left: { class: \"a-c_-\", max: 9 }\n", "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const LeftExtension& e = r->detectors[0].extend_left;
  EXPECT_EQ(e.max, 9u);
  EXPECT_EQ(e.spec, "a-c_-");
  EXPECT_EQ(e.bytes.count(), 5u);  // a b c _ -
  EXPECT_TRUE(e.bytes.test('b') && e.bytes.test('_') && e.bytes.test('-'));
  EXPECT_FALSE(e.bytes.test('d'));
  auto plain = parse_pack(kHead, "t.yaml");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->detectors[0].extend_left.max, 0u);
}

TEST(SignaturesPack, BadExtendLeftIsRefusedWithTheLine) {
  const std::string head = kHead;
  EXPECT_EQ(error_of(head + "    extend_left: a-z\n"),
            "t.yaml:5: detector 'a.b': 'extend_left' must be a map with 'class' and 'max'");
  EXPECT_EQ(error_of(head + "    extend_left: { class: a-z }\n"),
            "t.yaml:5: detector 'a.b': 'extend_left' needs both 'class' and 'max'");
  EXPECT_EQ(error_of(head + "    extend_left: { class: a-z, max: 3, min: 1 }\n"),
            "t.yaml:5: detector 'a.b': unknown extend_left key 'min' (class, max)");
  EXPECT_EQ(error_of(head + "    extend_left: { class: z-a, max: 3 }\n"),
            "t.yaml:5: detector 'a.b': extend_left class: bad range z-a");
  EXPECT_EQ(error_of(head + "    extend_left: { class: a-z, max: 0 }\n"),
            "t.yaml:5: detector 'a.b': bad extend_left max '0' (1..128 bytes)");
  EXPECT_EQ(error_of(head + "    extend_left: { class: a-z, max: 500 }\n"),
            "t.yaml:5: detector 'a.b': bad extend_left max '500' (1..128 bytes)");
}

TEST(SignaturesPack, DictionaryFileBecomesAnEscapedCaseInsensitiveAlternation) {
  const std::string dir = testing::TempDir();
  {
    std::ofstream out(dir + "sig_codenames.txt");
    out << "# codenames of unreleased products\nBlue Falcon\n\n  nightjar  \nC++ Next\n";
  }
  const std::string pack = dir + "sig_dict_pack.yaml";
  {
    std::ofstream out(pack);
    out << "detectors:\n  - id: corp.codename\n    category: codename\n"
           "    dictionary: sig_codenames.txt\n";
  }
  auto r = load_pack_file(pack);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Detector& d = r->detectors[0];
  EXPECT_EQ(d.dictionary, dir + "sig_codenames.txt");
  ASSERT_EQ(d.patterns.size(), 1u);
  EXPECT_EQ(d.patterns[0], R"((?i)(?:\bBlue Falcon\b|\bnightjar\b|\bC\+\+ Next\b))");

  {
    std::ofstream out(pack);
    out << "detectors:\n  - id: corp.codename\n    category: codename\n"
           "    dictionary: sig_missing.txt\n";
  }
  auto bad = load_pack_file(pack);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, pack + ":4: detector 'corp.codename': cannot open dictionary '" +
                                     dir + "sig_missing.txt'");
  std::remove(pack.c_str());
  std::remove((dir + "sig_codenames.txt").c_str());
}

TEST(SignaturesPack, DictionaryPatternsAreChunked) {
  std::vector<std::string> terms;
  for (int i = 0; i < 1100; ++i) terms.push_back("term" + std::to_string(i));
  auto pats = dictionary_patterns(terms);
  ASSERT_EQ(pats.size(), 3u);  // 512 + 512 + 76
  EXPECT_TRUE(pats[2].starts_with("(?i)(?:\\bterm1024\\b|\\bterm1025\\b|")) << pats[2].substr(0, 40);
}

TEST(SignaturesPack, ConfidenceNames) {
  EXPECT_EQ(confidence_name(Confidence::low), "low");
  EXPECT_EQ(confidence_name(Confidence::medium), "medium");
  EXPECT_EQ(confidence_name(Confidence::high), "high");
}

}  // namespace
}  // namespace dlp::signatures
