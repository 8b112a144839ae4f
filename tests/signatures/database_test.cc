// Database::compile: the starter packs compile in both modes; errors name the detector,
// the pattern and the reason.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "signatures/scanner.h"

namespace dlp::signatures {
namespace {

HashKey test_key() {
  HashKey k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i);
  return k;
}

DetectorSet one(std::string id, std::vector<std::string> patterns, std::string validator = "") {
  Detector d;
  d.id = std::move(id);
  d.category = "test";
  d.patterns = std::move(patterns);
  d.validator = std::move(validator);
  d.source = "x.yaml:7";
  DetectorSet s;
  s.detectors.push_back(std::move(d));
  return s;
}

std::string compile_error(const DetectorSet& set) {
  auto db = Database::compile(set, test_key());
  EXPECT_FALSE(db.ok());
  return db.ok() ? std::string() : db.error().message;
}

TEST(SignaturesDatabase, BuiltinCompilesInStreamAndBlockMode) {
  auto s = Database::compile(builtin_detectors(), test_key(), DbMode::stream);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ((*s)->mode(), DbMode::stream);
  EXPECT_NE((*s)->raw(), nullptr);
  EXPECT_GT((*s)->stream_state_size(), 0u);
  EXPECT_EQ((*s)->detectors().size(), builtin_detectors().detectors.size());
  EXPECT_EQ((*s)->key(), test_key());
  // Pattern ids run through the detectors in order, then the context keywords.
  std::size_t first_patterns = builtin_detectors().detectors[0].patterns.size();
  std::size_t all_patterns = 0;
  for (const Detector& d : builtin_detectors().detectors) all_patterns += d.patterns.size();
  EXPECT_EQ((*s)->detector_of(0), 0u);
  EXPECT_EQ((*s)->detector_of(static_cast<unsigned>(first_patterns - 1)), 0u);
  EXPECT_EQ((*s)->detector_of(static_cast<unsigned>(first_patterns)), 1u);
  EXPECT_TRUE((*s)->is_detector_pattern(static_cast<unsigned>(all_patterns - 1)));
  EXPECT_FALSE((*s)->is_detector_pattern(static_cast<unsigned>(all_patterns)));
  EXPECT_GT((*s)->keyword_count(), 50u);

  auto b = Database::compile(builtin_detectors(), test_key(), DbMode::block);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ((*b)->mode(), DbMode::block);
  EXPECT_EQ((*b)->stream_state_size(), 0u);
}

TEST(SignaturesDatabase, ContextDetectorsMustExistAndKeywordsAreShared) {
  DetectorSet set = one("t.a", {"aaa\\d{3}"});
  set.detectors[0].context.detectors = {"t.missing"};
  EXPECT_EQ(compile_error(set), "detector 't.a': context detector 't.missing' is not defined");

  DetectorSet two = one("t.a", {"aaa\\d{3}"});
  two.detectors[0].context.keywords = {"Code", "key"};
  Detector b = two.detectors[0];
  b.id = "t.b";
  b.context.keywords = {"CODE", "other"};
  two.detectors.push_back(b);
  auto db = Database::compile(two, test_key());
  ASSERT_TRUE(db.ok()) << db.error().message;
  // "code" is one literal in the database, shared by both detectors (case-insensitive).
  EXPECT_EQ((*db)->keyword_count(), 3u);
}

TEST(SignaturesDatabase, SyntaxErrorNamesDetectorPatternAndReason) {
  DetectorSet set = one("t.first", {"abc\\d{3}"});
  DetectorSet bad = one("t.bad", {"fine\\d{2}", "broken(\\d{2}"});
  set.detectors.push_back(bad.detectors[0]);
  EXPECT_EQ(compile_error(set),
            "detector 't.bad' (x.yaml:7) pattern 2 'broken(\\d{2}': Missing close parenthesis for "
            "group started at index 6.");
}

TEST(SignaturesDatabase, UnboundedAndTooWidePatternsAreRefused) {
  EXPECT_EQ(compile_error(one("t.wide", {"\\d+"})),
            "detector 't.wide' (x.yaml:7) pattern 1 '\\d+': unbounded match width (use {m,n}, "
            "not + or *)");
  EXPECT_EQ(compile_error(one("t.wide", {"a{257}"})),
            "detector 't.wide' (x.yaml:7) pattern 1 'a{257}': match width up to 257 bytes, more "
            "than the 256 allowed");
  auto ok = Database::compile(one("t.edge", {"a{256}"}), test_key());
  EXPECT_TRUE(ok.ok()) << ok.error().message;
}

TEST(SignaturesDatabase, UnknownValidatorAndEmptySetsAreRefused) {
  EXPECT_EQ(compile_error(one("t.v", {"x\\d"}, "nope")), "detector 't.v': unknown validator 'nope'");
  EXPECT_EQ(compile_error(one("t.p", {})), "detector 't.p': no patterns");
  EXPECT_EQ(compile_error(DetectorSet{}), "no detectors to compile");
}

TEST(SignaturesDatabase, HyperscanCompileErrorIsMappedBackToThePattern) {
  // Passes hs_expression_info but fails in hs_compile_multi: an empty-matching pattern.
  DetectorSet set = one("t.ok", {"abc"});
  set.detectors.push_back(one("t.empty", {"def", "(?:x{0,3})"}).detectors[0]);
  std::string msg = compile_error(set);
  EXPECT_EQ(msg.rfind("detector 't.empty' (x.yaml:7) pattern 2 '(?:x{0,3})': ", 0), 0u) << msg;
}

}  // namespace
}  // namespace dlp::signatures

namespace dlp::signatures {
namespace {

TEST(SignaturesDatabaseCache, SecondCompileComesFromTheCacheAndScansTheSame) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("dlp-hscache-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  HashKey key{};
  bool cached = true;
  auto first = Database::compile(builtin_detectors(), key, DbMode::stream, dir.string(), &cached);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_FALSE(cached);
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    ++files;
    EXPECT_EQ(e.path().extension(), ".hsdb");
  }
  // The stream database and one block database per context-gated detector.
  std::size_t gated = 0;
  for (std::uint32_t d = 0; d < (*first)->detectors().size(); ++d) gated += (*first)->gated(d) != nullptr;
  EXPECT_GE(gated, 10u);  // the require_context detectors whose region fits the history
  EXPECT_EQ(files, 1u + gated);

  auto second = Database::compile(builtin_detectors(), key, DbMode::stream, dir.string(), &cached);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(cached);
  for (const auto& db : {*first, *second}) {
    Scanner scanner(db);
    StreamScan s = scanner.open();
    s.write(as_bytes("card 4111 1111 1111 1111, "));
    s.write(as_bytes("4111111111111111"));
    s.close();
    ASSERT_EQ(s.reportable().size(), 1u);
    EXPECT_EQ(s.reportable()[0]->count, 2u);
  }

  // Block mode is a different database: its own file.
  auto block = Database::compile(builtin_detectors(), key, DbMode::block, dir.string(), &cached);
  ASSERT_TRUE(block.ok());
  EXPECT_FALSE(cached);

  // A corrupt cache file is ignored and rewritten.
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::ofstream(e.path(), std::ios::trunc) << "not a database";
  }
  auto again = Database::compile(builtin_detectors(), key, DbMode::stream, dir.string(), &cached);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(cached);
  auto fixed = Database::compile(builtin_detectors(), key, DbMode::stream, dir.string(), &cached);
  ASSERT_TRUE(fixed.ok());
  EXPECT_TRUE(cached);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace dlp::signatures
