// Context scoring: a keyword inside the window (before or after, case-insensitive) raises
// a validated match to high; require_context holds a match back until a keyword comes and
// drops it when the window passes; a detector's matches can be context for another; the
// entropy gate; min_count; and every hit says why it has its confidence.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "signatures/scanner.h"

namespace dlp::signatures {
namespace {

HashKey test_key() {
  HashKey k{};
  k.fill(7);
  return k;
}

// d0: "num-" + 6 digits, no validator; context "account no" / "acct", window 16.
Detector numbered(std::string id, bool required) {
  Detector d;
  d.id = std::move(id);
  d.category = "test";
  d.patterns = {R"(\bnum-\d{6}\b)"};
  d.context.keywords = {"account no", "acct"};
  d.context.window = 16;
  d.require_context = required;
  return d;
}

std::shared_ptr<const Database> compile(std::vector<Detector> dets, DbMode mode = DbMode::stream) {
  DetectorSet set;
  set.detectors = std::move(dets);
  auto db = Database::compile(set, test_key(), mode);
  if (!db.ok()) ADD_FAILURE() << db.error().message;
  return db.ok() ? *db : nullptr;
}

struct Outcome {
  std::vector<DetectorHit> hits;
  std::vector<const DetectorHit*> reportable;
  ScanStats stats;
};

Outcome scan(const std::shared_ptr<const Database>& db, const std::vector<std::string>& pieces) {
  Scanner scanner(db);
  StreamScan s = scanner.open();
  for (const std::string& p : pieces) s.write(as_bytes(p));
  s.close();
  Outcome o{s.hits(), {}, scanner.stats()};
  for (const DetectorHit* h : s.reportable()) {
    for (const DetectorHit& mine : o.hits) {
      if (mine.detector == h->detector) o.reportable.push_back(&mine);
    }
  }
  return o;
}

TEST(SignaturesContext, NoKeywordKeepsTheBaseLevel) {
  Outcome o = scan(compile({numbered("t.n", false)}), {"value num-123456 end"});
  ASSERT_EQ(o.hits.size(), 1u);
  EXPECT_EQ(o.hits[0].confidence, Confidence::medium);
  EXPECT_EQ(o.hits[0].reasons, std::vector<std::string>{"pattern matched (no validator)"});
  EXPECT_EQ(o.stats.context_hits, 0u);
}

TEST(SignaturesContext, KeywordBeforeInsideTheWindowRaisesToHigh) {
  Outcome o = scan(compile({numbered("t.n", false)}), {"Account No: num-123456"});
  ASSERT_EQ(o.hits.size(), 1u);
  EXPECT_EQ(o.hits[0].confidence, Confidence::high);
  EXPECT_EQ(o.hits[0].reasons, (std::vector<std::string>{"pattern matched (no validator)",
                                                          "context 'account no' 2 bytes before"}));
  EXPECT_EQ(o.stats.context_hits, 1u);
}

TEST(SignaturesContext, KeywordAfterInsideTheWindowRaisesEvenInALaterWrite) {
  Outcome o = scan(compile({numbered("t.n", false)}), {"num-123456 (the ", "ACCT)"});
  ASSERT_EQ(o.hits.size(), 1u);
  EXPECT_EQ(o.hits[0].count, 1u);
  EXPECT_EQ(o.hits[0].confidence, Confidence::high);
  EXPECT_EQ(o.hits[0].reasons.back(), "context 'acct' 6 bytes after");
}

TEST(SignaturesContext, KeywordOutsideTheWindowDoesNothing) {
  const std::string far(17, '.');
  Outcome before = scan(compile({numbered("t.n", false)}), {"acct" + far + "num-123456"});
  ASSERT_EQ(before.hits.size(), 1u);
  EXPECT_EQ(before.hits[0].confidence, Confidence::medium);
  Outcome after = scan(compile({numbered("t.n", false)}), {"num-123456" + far + "acct"});
  ASSERT_EQ(after.hits.size(), 1u);
  EXPECT_EQ(after.hits[0].confidence, Confidence::medium);
  // Exactly at the edge of the window still counts.
  Outcome edge = scan(compile({numbered("t.n", false)}), {"acct" + std::string(16, '.') + "num-123456"});
  EXPECT_EQ(edge.hits[0].confidence, Confidence::high);
}

TEST(SignaturesContext, KeywordsAreWordBounded) {
  Outcome o = scan(compile({numbered("t.n", false)}), {"xacct num-123456 acctx"});
  ASSERT_EQ(o.hits.size(), 1u);
  EXPECT_EQ(o.hits[0].confidence, Confidence::medium);
  EXPECT_EQ(o.stats.context_hits, 0u);
}

TEST(SignaturesContext, RequireContextDropsAMatchWithoutContext) {
  // A require_context detector is context-gated: without a keyword its patterns never run,
  // so the match is not even a candidate.
  auto db = compile({numbered("t.n", true)});
  ASSERT_NE(db->gated(0), nullptr);
  Outcome o = scan(db, {"value num-123456 and more text"});
  EXPECT_TRUE(o.hits.empty());
  EXPECT_EQ(o.stats.raw_matches, 0u);
  EXPECT_EQ(o.stats.validated, 0u);
  EXPECT_EQ(o.stats.gated_scans, 0u);
}

TEST(SignaturesContext, RequireContextReportsWithAKeywordBeforeOrAfter) {
  auto db = compile({numbered("t.n", true)});
  Outcome before = scan(db, {"acct num-123456"});
  ASSERT_EQ(before.hits.size(), 1u);
  EXPECT_EQ(before.hits[0].count, 1u);
  EXPECT_EQ(before.hits[0].confidence, Confidence::high);
  EXPECT_EQ(before.hits[0].masked, std::vector<std::string>{"******3456"});

  // The keyword comes after, and in a write of its own: the pending match kept only its
  // masked form and hash, and becomes a hit now.
  Scanner scanner(db);
  StreamScan s = scanner.open();
  EXPECT_FALSE(s.write(as_bytes("num-123456 is the ")));
  EXPECT_TRUE(s.hits().empty());
  EXPECT_TRUE(s.write(as_bytes("account no.")));
  s.close();
  ASSERT_EQ(s.hits().size(), 1u);
  EXPECT_EQ(s.hits()[0].masked, std::vector<std::string>{"******3456"});
  EXPECT_EQ(s.hits()[0].hashes.size(), 1u);
  EXPECT_EQ(s.hits()[0].hashes, before.hits[0].hashes);
  EXPECT_EQ(s.hits()[0].reasons.back(), "context 'account no' 8 bytes after");
}

TEST(SignaturesContext, RequireContextKeywordAfterTheWindowIsTooLate) {
  // The keyword's region reaches back its window (16) plus the widest match (10): the
  // match 40 bytes before is outside it and is never looked at.
  Outcome o = scan(compile({numbered("t.n", true)}),
                   {"num-123456", std::string(40, ' '), "acct"});
  EXPECT_TRUE(o.hits.empty());
  EXPECT_EQ(o.stats.gated_scans, 1u);
  EXPECT_EQ(o.stats.raw_matches, 0u);
}

// Context-gated regions: every way a keyword and its match can fall across writes and
// gaps gives the same finding, exactly once, in the write that completes it.
TEST(SignaturesContext, GatedRegionFindsTheMatchWhereverTheWritesSplit) {
  auto db = compile({numbered("t.n", true)});
  const std::string text = "x acct num-123456 y";
  for (std::size_t cut = 1; cut < text.size(); ++cut) {
    Scanner scanner(db);
    StreamScan s = scanner.open();
    s.write(as_bytes(text.substr(0, cut)));
    // The match needs the byte after it for its \b: once that is here the finding is too.
    const bool complete = cut >= text.find("num-") + 11;
    const bool added = s.write(as_bytes(text.substr(cut)));
    if (!complete) {
      EXPECT_TRUE(added) << cut;
    }
    s.close();
    ASSERT_EQ(s.hits().size(), 1u) << cut;
    EXPECT_EQ(s.hits()[0].count, 1u) << cut;
    EXPECT_EQ(s.hits()[0].confidence, Confidence::high) << cut;
    EXPECT_EQ(s.hits()[0].reasons.back(), "context 'acct' 1 bytes before") << cut;
  }
}

TEST(SignaturesContext, GatedRegionKeywordAfterTheMatchAndMatchAtTheEnd) {
  auto db = compile({numbered("t.n", true)});
  Outcome after = scan(db, {"num-123456 ", "acct"});
  ASSERT_EQ(after.hits.size(), 1u);
  EXPECT_EQ(after.hits[0].reasons.back(), "context 'acct' 1 bytes after");
  // Match is the last thing in the stream: close() scans the open region.
  Outcome at_end = scan(db, {"acct num-12", "3456"});
  ASSERT_EQ(at_end.hits.size(), 1u);
  EXPECT_EQ(at_end.hits[0].count, 1u);
}

TEST(SignaturesContext, GatedRegionsOfManyKeywordsCountEachMatchOnce) {
  // Keywords on both sides of every match, each region overlapping the next.
  auto db = compile({numbered("t.n", true)});
  std::string text;
  for (int i = 0; i < 50; ++i) text += "acct num-" + std::to_string(100000 + i) + " acct ";
  for (std::size_t seg : {std::size_t{7}, std::size_t{64}, text.size()}) {
    Scanner scanner(db);
    StreamScan s = scanner.open();
    for (std::size_t off = 0; off < text.size(); off += seg) s.write(as_bytes(text.substr(off, seg)));
    s.close();
    ASSERT_EQ(s.hits().size(), 1u) << seg;
    EXPECT_EQ(s.hits()[0].count, 50u) << seg;
    EXPECT_EQ(scanner.stats().gated_clipped, 0u) << seg;
  }
}

TEST(SignaturesContext, GatedRegionDoesNotReachAcrossAGapIntoLostBytes) {
  auto db = compile({numbered("t.n", true)});
  // The keyword before the gap still vouches for a match after it, within the window.
  {
    Scanner scanner(db);
    StreamScan s = scanner.open();
    s.write(as_bytes("acct "));
    s.gap(2);
    s.write(as_bytes(" num-123456 "));
    s.close();
    ASSERT_EQ(s.hits().size(), 1u);
  }
  // A match cut by the gap is no match.
  Scanner scanner(db);
  StreamScan s = scanner.open();
  s.write(as_bytes("acct num-12"));
  s.gap(2);
  s.write(as_bytes("3456 "));
  s.close();
  EXPECT_TRUE(s.hits().empty());
}

TEST(SignaturesContext, GatedMatchNearNoKeywordInsideAWideRegionIsNotCounted) {
  // The region reaches window (16) + widest match (10) before the keyword; a short match
  // (6 bytes) can lie inside that and still end more than the window before it.
  Detector d = numbered("t.n", true);
  d.patterns = {R"(\bnum-\d{2,6}\b)"};
  auto db = compile({d});
  Outcome o = scan(db, {"num-12" + std::string(18, ' ') + "acct "});
  EXPECT_TRUE(o.hits.empty());
  EXPECT_EQ(o.stats.raw_matches, 1u);
  // Two bytes nearer, it is inside the window.
  Outcome near = scan(db, {"num-12" + std::string(16, ' ') + "acct "});
  ASSERT_EQ(near.hits.size(), 1u);
  EXPECT_EQ(near.hits[0].reasons.back(), "context 'acct' 16 bytes after");
}

TEST(SignaturesContext, OneKeywordConfirmsSeveralPendingMatches) {
  Outcome o = scan(compile({numbered("t.n", true)}), {"num-111111 num-222222 acct"});
  ASSERT_EQ(o.hits.size(), 1u);
  EXPECT_EQ(o.hits[0].count, 2u);
  EXPECT_EQ(o.hits[0].masked, (std::vector<std::string>{"******1111", "******2222"}));
}

TEST(SignaturesContext, ContextWorksInBlockModeWithinOneWrite) {
  Outcome o = scan(compile({numbered("t.n", true)}, DbMode::block), {"num-123456 acct"});
  ASSERT_EQ(o.hits.size(), 1u);
  EXPECT_EQ(o.hits[0].confidence, Confidence::high);
}

TEST(SignaturesContext, AnotherDetectorsMatchIsContext) {
  Detector key;
  key.id = "t.key";
  key.category = "key";
  key.patterns = {R"(\bKEY[A-Z]{4}\b)"};
  Detector secret;
  secret.id = "t.secret";
  secret.category = "secret";
  secret.patterns = {R"(\bsec_[a-z]{6}\b)"};
  secret.context.detectors = {"t.key"};
  secret.context.window = 20;
  secret.require_context = true;
  auto db = compile({key, secret});
  // The secret first, its key id after: the pair is reported, with the reason.
  Outcome o = scan(db, {"sec_abcdef = KEYABCD"});
  ASSERT_EQ(o.hits.size(), 2u);
  const DetectorHit& s = o.hits[0].detector == 1 ? o.hits[0] : o.hits[1];
  EXPECT_EQ(s.confidence, Confidence::high);
  EXPECT_EQ(s.reasons.back(), "paired with t.key 3 bytes after");
  // Alone, the secret is nothing.
  Outcome alone = scan(db, {"sec_abcdef = nothing"});
  EXPECT_TRUE(alone.hits.empty());
}

TEST(SignaturesContext, EntropyGateDropsLowEntropyValues) {
  Detector d;
  d.id = "t.token";
  d.category = "token";
  d.patterns = {R"(\btok_[A-Za-z0-9]{12}\b)"};
  d.entropy_min = 3.5;
  auto db = compile({d});
  Outcome low = scan(db, {"tok_aaaaaaaaaaaa tok_abababababab"});
  EXPECT_TRUE(low.hits.empty());
  EXPECT_EQ(low.stats.low_entropy, 2u);
  Outcome high = scan(db, {"tok_Q7x9Lm2Pz4Kw"});
  ASSERT_EQ(high.hits.size(), 1u);
  ASSERT_EQ(high.hits[0].reasons.size(), 2u);
  EXPECT_EQ(high.hits[0].reasons[1].substr(0, 8), "entropy ");
  EXPECT_NE(high.hits[0].reasons[1].find(">= entropy_min 3.50"), std::string::npos);
}

TEST(SignaturesContext, MinCountReasonAndReportable) {
  Detector d = numbered("t.n", false);
  d.min_count = 3;
  auto db = compile({d});
  Outcome two = scan(db, {"num-111111 num-222222"});
  ASSERT_EQ(two.hits.size(), 1u);
  EXPECT_TRUE(two.reportable.empty());
  Outcome three = scan(db, {"num-111111 num-222222 num-333333"});
  ASSERT_EQ(three.reportable.size(), 1u);
  EXPECT_EQ(three.hits[0].reasons.back(), "count 3 >= min_count 3");
}

TEST(SignaturesContext, ADictionaryDetectorMatchesTermsCaseInsensitivelyOnWordBounds) {
  Detector d;
  d.id = "corp.codename";
  d.category = "codename";
  d.patterns = dictionary_patterns({"Blue Falcon", "nightjar"});
  auto db = compile({d});
  Outcome o = scan(db, {"Project BLUE FALCON ships with Nightjar; nightjars and bluefalcon do not."});
  ASSERT_EQ(o.hits.size(), 1u);
  EXPECT_EQ(o.hits[0].count, 2u);
  EXPECT_EQ(o.hits[0].masked, (std::vector<std::string>{"*******LCON", "****tjar"}));
}

TEST(SignaturesContext, ManyPendingMatchesStayBounded) {
  // More pending matches than the bound: the oldest are dropped (counted), the newest
  // still confirmed by the keyword after them.
  std::string text;
  for (int i = 0; i < 20; ++i) text += "num-" + std::to_string(100000 + i) + " ";
  Detector d = numbered("t.n", true);
  d.context.window = 1000;
  Outcome o = scan(compile({d}), {text + "acct"});
  ASSERT_EQ(o.hits.size(), 1u);
  EXPECT_EQ(o.hits[0].count, 16u);
  EXPECT_EQ(o.stats.unconfirmed, 4u);
}

}  // namespace
}  // namespace dlp::signatures
