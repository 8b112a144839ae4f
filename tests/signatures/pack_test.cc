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

TEST(SignaturesPack, StarterPackFileMatchesTheEmbeddedCopy) {
  // ctest sets DLP_SOURCE_DIR; run by hand, find the tree from this file's own path.
  const char* env = std::getenv("DLP_SOURCE_DIR");
  std::string src = env ? env : std::string(__FILE__).substr(0, std::string(__FILE__).rfind("/tests/"));
  auto file = load_pack_file(src + "/signatures/packs/starter.yaml");
  ASSERT_TRUE(file.ok()) << file.error().message;
  const DetectorSet& builtin = builtin_detectors();
  // With one embedded pack the merged digest is that pack's own digest.
  EXPECT_EQ(builtin.digest, file->digest);
  ASSERT_EQ(builtin.detectors.size(), 3u);
  EXPECT_EQ(builtin.detectors[0].id, "pci.credit_card");
  EXPECT_EQ(builtin.detectors[0].category, "credit_card");
  EXPECT_EQ(builtin.detectors[0].validator, "luhn");
  EXPECT_EQ(builtin.detectors[0].mask, MaskRule::first6_last4);
  EXPECT_EQ(builtin.detectors[0].source, "starter.yaml:9");
  EXPECT_EQ(builtin.detectors[1].id, "pii.us_ssn");
  EXPECT_EQ(builtin.detectors[1].category, "us_ssn");
  EXPECT_EQ(builtin.detectors[1].validator, "us_ssn");
  EXPECT_EQ(builtin.detectors[1].mask, MaskRule::last4);
  EXPECT_EQ(builtin.detectors[2].id, "secrets.aws_access_key");
  EXPECT_EQ(builtin.detectors[2].category, "aws_access_key");
  EXPECT_EQ(builtin.detectors[2].validator, "aws_key_id");
  EXPECT_EQ(builtin.detectors[2].confidence, Confidence::high);
  EXPECT_EQ(&builtin_detectors(), &builtin);  // parsed once
}

TEST(SignaturesPack, ConfidenceNames) {
  EXPECT_EQ(confidence_name(Confidence::low), "low");
  EXPECT_EQ(confidence_name(Confidence::medium), "medium");
  EXPECT_EQ(confidence_name(Confidence::high), "high");
}

}  // namespace
}  // namespace dlp::signatures
