// Inline mode of the worker: verdicts before forwarding, held out-of-order data, RSTs
// with the sequence numbers each end accepts, the hold cap, per-source enforcement, the
// detector reload, and the RCU cell the snapshot travels through. Frames come from
// tests/gen (an independent builder), and the expected RSTs are built there too.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dataplane/rcu.h"
#include "dataplane/verdict.h"
#include "dataplane/worker.h"
#include "signatures/detector.h"
#include "signatures/scanner.h"
#include "tests/gen/frames.h"
#include "tests/gen/payloads.h"
#include "tests/gen/tcp_conversation.h"

namespace dlp::dataplane {
namespace {

using testgen::Side;
using testgen::TcpConfig;
using testgen::TcpConversation;

std::shared_ptr<const signatures::Database> builtin_db() {
  static std::shared_ptr<const signatures::Database> db = [] {
    signatures::HashKey key{};
    key[0] = 7;
    auto r = signatures::Database::compile(signatures::builtin_detectors(), key,
                                           signatures::DbMode::stream, "/tmp/dlpgate-test-cache");
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return *r;
  }();
  return db;
}

Enforcement card_reset_key_drop() {
  Enforcement e;
  e.version = 1;
  e.actions.push_back({"credit_card", "", signatures::Confidence::medium, Verdict::reset, "test.yaml:3"});
  e.actions.push_back({"private_key", "", signatures::Confidence::low, Verdict::drop, "test.yaml:4"});
  return e;
}

// What became of each packet fed to the worker, by index.
struct Outcome {
  std::vector<Disposition> disp;
  std::vector<int> released_forward;  // packet indices released to be forwarded
  std::vector<int> released_dropped;
  std::vector<int> released_uninspected;
  std::vector<std::pair<int, ResetFrame>> resets;  // packet index that triggered, frame
  std::vector<Finding> findings;
};

class Inline : public ::testing::Test {
 protected:
  Outcome run(const std::vector<testgen::Packet>& pkts, const Enforcement* e,
              WorkerConfig cfg = {}, std::shared_ptr<const signatures::Database> db = builtin_db()) {
    registry_ = std::make_unique<inspectors::Registry>(inspectors::default_registry(cfg.limits));
    SpscRing<Finding> ring(1024);
    Worker w(cfg, db, *registry_, ring, 0);
    Outcome o;
    std::vector<int> ids(pkts.size());
    for (std::size_t i = 0; i < pkts.size(); ++i) {
      ids[i] = static_cast<int>(i);
      RawPacket raw;
      raw.ts_ns = pkts[i].ts_ns;
      raw.data = Bytes(pkts[i].frame.data(), pkts[i].frame.size());
      raw.wire_len = static_cast<std::uint32_t>(pkts[i].frame.size());
      raw.index = i + 1;
      raw.linktype = 1;
      w.set_enforcement(e);
      o.disp.push_back(w.inspect(raw, &ids[i]));
      for (auto& r : w.resets()) o.resets.emplace_back(static_cast<int>(i), r);
      w.resets().clear();
      w.end_burst();
      collect(w, o);
      while (auto f = ring.try_pop()) o.findings.push_back(std::move(*f));
    }
    w.finish();
    w.release_all();
    collect(w, o);
    while (auto f = ring.try_pop()) o.findings.push_back(std::move(*f));
    counters_ = w.inline_counters();
    return o;
  }
  static void collect(Worker& w, Outcome& o) {
    for (const Released& r : w.released()) {
      const int idx = *static_cast<int*>(r.cookie);
      if (r.uninspected) o.released_uninspected.push_back(idx);
      (r.forward ? o.released_forward : o.released_dropped).push_back(idx);
    }
    w.released().clear();
  }
  std::unique_ptr<inspectors::Registry> registry_;
  InlineCounters counters_;
};

std::string card_body(std::mt19937_64& rng) {
  std::string card = testgen::make_card(rng, testgen::CardBrand::kVisa);
  std::string body(3000, 'a');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 23);
  // The card sits at 2000..2016 of the body: inside the second 1460-byte segment of the
  // POST (the HTTP head comes first).
  body.replace(1990, 30, " card number " + card + " ");
  return body;
}

// Index of the first client packet whose payload contains `needle`.
int packet_with(const std::vector<testgen::Packet>& pkts, const std::string& needle) {
  for (std::size_t i = 0; i < pkts.size(); ++i) {
    const auto& f = pkts[i].frame;
    if (std::search(f.begin(), f.end(), needle.begin(), needle.end()) != f.end()) return static_cast<int>(i);
  }
  return -1;
}

TEST_F(Inline, CardUploadIsResetAtTheSegmentThatCompletesIt) {
  std::mt19937_64 rng(11);
  const std::string body = card_body(rng);
  TcpConversation c(TcpConfig{});
  c.handshake();
  c.send(Side::kClient, testgen::http_post("upload.example", "/u", body, "text/plain"), 1000);
  c.send(Side::kServer, testgen::http_response(200, "ok"));
  c.fin();
  const auto pkts = c.packets();
  const std::string card = body.substr(2003, 16);
  const int trigger = packet_with(pkts, card);
  ASSERT_GT(trigger, 3);

  const Enforcement e = card_reset_key_drop();
  const Outcome o = run(pkts, &e);
  for (int i = 0; i < static_cast<int>(pkts.size()); ++i) {
    EXPECT_EQ(o.disp[i], i < trigger ? Disposition::forward : Disposition::drop) << "packet " << i;
  }
  ASSERT_EQ(o.resets.size(), 2u);
  EXPECT_EQ(o.resets[0].first, trigger);
  EXPECT_EQ(o.resets[1].first, trigger);

  // The expected RSTs, from the independent builder: toward the server at the trigger's
  // sequence number (what the server expects next); toward the client at what the
  // client expects from the server.
  const auto& trig = pkts[trigger].frame;
  auto be32 = [&](std::size_t off) {
    return (std::uint32_t{trig[off]} << 24) | (std::uint32_t{trig[off + 1]} << 16) |
           (std::uint32_t{trig[off + 2]} << 8) | trig[off + 3];
  };
  const std::size_t tcp = 14 + 20;
  const std::uint32_t seq = be32(tcp + 4), ack = be32(tcp + 8);
  testgen::L2 l2;
  testgen::Ip ip{.src = "10.1.0.10", .dst = "203.0.113.80", .ttl = 64, .ipv4_options = {},
                 .ipv6_ext_headers = false, .ip_id = 0, .dont_fragment = true};
  const testgen::Frame to_server = testgen::tcp_frame(l2, ip, 40000, 80, seq, ack,
                                                      testgen::kTcpRst | testgen::kTcpAck, {}, 0);
  testgen::L2 l2r{.src_mac = l2.dst_mac, .dst_mac = l2.src_mac, .vlans = {}, .pad = true};
  testgen::Ip ipr = ip;
  std::swap(ipr.src, ipr.dst);
  const testgen::Frame to_client = testgen::tcp_frame(l2r, ipr, 80, 40000, ack, seq,
                                                      testgen::kTcpRst | testgen::kTcpAck, {}, 0);
  EXPECT_FALSE(o.resets[0].second.toward_sender);
  EXPECT_EQ(o.resets[0].second.frame, to_server);
  EXPECT_TRUE(o.resets[1].second.toward_sender);
  EXPECT_EQ(o.resets[1].second.frame, to_client);

  // The finding says what was done and by which rule.
  ASSERT_EQ(o.findings.size(), 1u);
  EXPECT_EQ(o.findings[0].category, "credit_card");
  EXPECT_EQ(o.findings[0].verdict, Verdict::reset);
  bool named_rule = false;
  for (const auto& r : o.findings[0].reasons) named_rule |= r.find("test.yaml:3") != std::string::npos;
  EXPECT_TRUE(named_rule);
  EXPECT_EQ(counters_.verdict_reset, 1u);
  EXPECT_EQ(counters_.resets_sent, 2u);
  EXPECT_EQ(counters_.dropped_packets, pkts.size() - static_cast<std::size_t>(trigger));
}

TEST_F(Inline, CardSplitAcrossSegmentsDropsOnlyFromTheCompletingOne) {
  std::mt19937_64 rng(12);
  const std::string card = testgen::make_card(rng, testgen::CardBrand::kMastercard);
  const std::string req = testgen::http_post("u.example", "/x", "card number " + card + " end", "text/plain");
  const std::size_t at = req.find(card);
  TcpConversation c(TcpConfig{});
  c.handshake();
  const std::size_t cuts[] = {at + 8};  // 8 digits in the first segment, 8 in the second
  c.send_cut(Side::kClient, as_bytes(req), cuts);
  c.fin();
  const auto pkts = c.packets();
  const int first = packet_with(pkts, card.substr(0, 8));
  const int second = packet_with(pkts, card.substr(8));
  ASSERT_GT(second, first);
  Enforcement e = card_reset_key_drop();
  e.actions[0].verdict = Verdict::drop;
  const Outcome o = run(pkts, &e);
  EXPECT_EQ(o.disp[first], Disposition::forward);
  EXPECT_EQ(o.disp[second], Disposition::drop);
  for (std::size_t i = second; i < pkts.size(); ++i) EXPECT_EQ(o.disp[i], Disposition::drop);
  EXPECT_TRUE(o.resets.empty());  // drop, not reset
}

TEST_F(Inline, OutOfOrderDataIsHeldUntilInspected) {
  std::mt19937_64 rng(13);
  const std::string body = card_body(rng);
  const std::string card = body.substr(2003, 16);
  // The server acknowledges only at the end: it cannot acknowledge what the appliance
  // has not let through yet.
  TcpConfig tc;
  tc.ack_every = 100;
  TcpConversation c(tc);
  c.handshake();
  c.send(Side::kClient, testgen::http_post("upload.example", "/u", body, "text/plain"), 1000);
  auto pkts = c.take_packets();
  const int card_pkt = packet_with(pkts, card);
  // The card segment arrives before the segment in front of it.
  int before = card_pkt - 1;
  while (pkts[before].frame.size() < 200) --before;  // skip a bare ACK
  std::swap(pkts[before], pkts[card_pkt]);
  const Enforcement e = card_reset_key_drop();
  const Outcome o = run(pkts, &e);
  // The card segment (now at `before`) is held; the hole-filler (now at card_pkt)
  // completes the card: it is dropped, and so is the held segment.
  EXPECT_EQ(o.disp[before], Disposition::held);
  EXPECT_EQ(o.disp[card_pkt], Disposition::drop);
  EXPECT_EQ(o.released_dropped, std::vector<int>{before});
  EXPECT_TRUE(o.released_forward.empty());
  ASSERT_EQ(o.resets.size(), 2u);
  EXPECT_EQ(o.resets[0].first, card_pkt);
}

TEST_F(Inline, BenignOutOfOrderDataIsReleasedOnceInspected) {
  std::mt19937_64 rng(14);
  const std::string body = testgen::benign_text(rng, 6000);
  TcpConversation c(TcpConfig{});
  c.handshake();
  c.send(Side::kClient, testgen::http_post("docs.example", "/save", body, "text/plain"), 1000);
  c.fin();
  auto pkts = c.take_packets();
  // Segments 4 and 6 (data) swapped with their predecessors.
  std::vector<int> data;
  for (std::size_t i = 0; i < pkts.size(); ++i) {
    if (pkts[i].frame.size() > 200) data.push_back(static_cast<int>(i));
  }
  ASSERT_GE(data.size(), 5u);
  std::swap(pkts[data[1]], pkts[data[2]]);
  std::swap(pkts[data[3]], pkts[data[4]]);
  const Enforcement e = card_reset_key_drop();
  const Outcome o = run(pkts, &e);
  EXPECT_EQ(o.disp[data[1]], Disposition::held);
  EXPECT_EQ(o.disp[data[3]], Disposition::held);
  EXPECT_EQ(o.released_forward, (std::vector<int>{data[1], data[3]}));
  for (std::size_t i = 0; i < pkts.size(); ++i) {
    if (static_cast<int>(i) == data[1] || static_cast<int>(i) == data[3]) continue;
    EXPECT_EQ(o.disp[i], Disposition::forward) << i;
  }
  EXPECT_TRUE(o.resets.empty());
  EXPECT_TRUE(o.findings.empty());
  EXPECT_EQ(counters_.held, 2u);
  EXPECT_EQ(counters_.released, 2u);
}

TEST_F(Inline, HoldCapFollowsTheOverloadMode) {
  std::mt19937_64 rng(15);
  const std::string body = testgen::benign_text(rng, 8000);
  TcpConfig tc;
  tc.ack_every = 100;
  TcpConversation c(tc);
  c.handshake();
  c.send(Side::kClient, testgen::http_post("docs.example", "/save", body, "text/plain"), 1000);
  auto pkts = c.take_packets();
  std::vector<int> data;
  for (std::size_t i = 0; i < pkts.size(); ++i) {
    if (pkts[i].frame.size() > 200) data.push_back(static_cast<int>(i));
  }
  ASSERT_GE(data.size(), 6u);
  // The first data segment is lost: everything after it is held.
  std::vector<testgen::Packet> lossy;
  for (std::size_t i = 0; i < pkts.size(); ++i) {
    if (static_cast<int>(i) != data[0]) lossy.push_back(pkts[i]);
  }
  const Enforcement e = card_reset_key_drop();
  for (bool open : {true, false}) {
    WorkerConfig cfg;
    cfg.max_held_packets = 2;
    cfg.hold_cap_open = open;
    const Outcome o = run(lossy, &e, cfg);
    // Held: data[1..]; past two, the oldest goes uninspected.
    EXPECT_GE(o.released_uninspected.size(), 3u) << open;
    EXPECT_EQ(o.released_uninspected.front(), data[1] - 1) << open;  // index shifted by the loss
    for (int idx : o.released_uninspected) {
      const auto& v = open ? o.released_forward : o.released_dropped;
      EXPECT_NE(std::find(v.begin(), v.end(), idx), v.end()) << open << " " << idx;
    }
    EXPECT_EQ(counters_.hold_overflow, o.released_uninspected.size());
  }
}

TEST_F(Inline, PrivateKeyIsDroppedWithoutReset) {
  const std::string key =
      "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
      "QyNTUxOQAAACDtP2QK3zRpQvEXAMPLEKEYMATERIAL0000000000000000000000AAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
  TcpConversation c(TcpConfig{});
  c.handshake();
  c.send(Side::kClient, testgen::http_post("paste.example", "/p", key, "text/plain"));
  c.fin();
  const auto pkts = c.packets();
  const Enforcement e = card_reset_key_drop();
  const Outcome o = run(pkts, &e);
  const int trigger = packet_with(pkts, "BEGIN OPENSSH");
  EXPECT_EQ(o.disp[trigger], Disposition::drop);
  EXPECT_TRUE(o.resets.empty());
  ASSERT_EQ(o.findings.size(), 1u);
  EXPECT_EQ(o.findings[0].verdict, Verdict::drop);
}

TEST_F(Inline, NoRuleNoVerdictAndSourceOverrides) {
  std::mt19937_64 rng(16);
  const std::string body = card_body(rng);
  TcpConversation c(TcpConfig{});
  c.handshake();
  c.send(Side::kClient, testgen::http_post("upload.example", "/u", body, "text/plain"), 1000);
  c.fin();
  const auto pkts = c.packets();
  Enforcement none;
  none.actions.push_back({"us_ssn", "", signatures::Confidence::low, Verdict::reset, "t:1"});
  const Outcome pass = run(pkts, &none);
  for (Disposition d : pass.disp) EXPECT_EQ(d, Disposition::forward);
  ASSERT_EQ(pass.findings.size(), 1u);
  EXPECT_EQ(pass.findings[0].verdict, Verdict::pass);

  // The management plane marks the sender: any validated finding from it is stopped.
  Enforcement by_source = none;
  by_source.sources[IpAddr::v4(0x0a01000a)] = Verdict::drop;  // 10.1.0.10
  const Outcome blocked = run(pkts, &by_source);
  ASSERT_EQ(blocked.findings.size(), 1u);
  EXPECT_EQ(blocked.findings[0].verdict, Verdict::drop);
  EXPECT_EQ(blocked.disp.back(), Disposition::drop);
}

TEST_F(Inline, ReloadSwapsTheDatabaseForNewStreamsOnly) {
  const char* pack = R"(detectors:
  - id: corp.codename_falcon
    name: Project Falcon
    category: codename
    severity: high
    patterns: ['PROJECT-FALCON-[0-9]{4}']
    validator: ""
    mask: last4
    confidence: medium
)";
  auto set = signatures::parse_pack(pack, "falcon.yaml");
  ASSERT_TRUE(set.ok()) << set.error().message;
  signatures::HashKey key{};
  auto db2 = signatures::Database::compile(*set, key);
  ASSERT_TRUE(db2.ok()) << db2.error().message;

  registry_ = std::make_unique<inspectors::Registry>(inspectors::default_registry({}));
  SpscRing<Finding> ring(64);
  WorkerConfig cfg;
  Worker w(cfg, builtin_db(), *registry_, ring, 0);
  auto feed = [&](const std::vector<testgen::Packet>& pkts) {
    for (const auto& p : pkts) {
      RawPacket raw{p.ts_ns, Bytes(p.frame.data(), p.frame.size()),
                    static_cast<std::uint32_t>(p.frame.size()), 1, 1};
      w.inspect(raw, nullptr);
      w.released().clear();
    }
  };
  std::mt19937_64 rng(17);
  const std::string card = testgen::make_card(rng, testgen::CardBrand::kVisa);
  TcpConfig a;
  TcpConversation first(a);
  first.handshake();
  first.send(Side::kClient, testgen::http_post("a.example", "/", "card number " + card + " PROJECT-FALCON-1234", "text/plain"));
  auto before = first.take_packets();
  // The first flow's request is open (no FIN yet) when the database changes.
  feed(before);
  w.swap_database(*db2);
  TcpConfig b;
  b.client_port = 40002;
  TcpConversation second(b);
  second.handshake();
  second.send(Side::kClient, testgen::http_post("b.example", "/", "card number " + card + " PROJECT-FALCON-5678", "text/plain"));
  second.fin();
  feed(second.take_packets());
  first.fin();
  feed(first.take_packets());
  w.finish();
  std::vector<std::string> got;
  while (auto f = ring.try_pop()) got.push_back(f->detector + "@" + std::to_string(f->src_port));
  std::sort(got.begin(), got.end());
  // The open stream finished on the old database (card, no codename); the new one uses
  // the new database (codename, no card).
  EXPECT_EQ(got, (std::vector<std::string>{"corp.codename_falcon@40002", "pci.credit_card@40000"}));
}

TEST(Resets, Ipv6AndVlanFramesMatchTheIndependentBuilder) {
  testgen::L2 l2{.vlans = {100}};
  testgen::Ip ip{.src = "2001:db8::10", .dst = "2001:db8:1::80"};
  const auto trigger = testgen::tcp_frame(l2, ip, 51000, 443, 5000, 9000, testgen::kTcpAck | testgen::kTcpPsh,
                                          as_bytes("some data"));
  std::vector<ResetFrame> out;
  ASSERT_TRUE(build_resets(Bytes(trigger.data(), trigger.size()), 1, ResetSeq{5000, 9100}, out));
  ASSERT_EQ(out.size(), 2u);
  testgen::Ip ip6 = ip;
  ip6.ttl = 64;
  const auto fwd = testgen::tcp_frame(l2, ip6, 51000, 443, 5000, 9100, testgen::kTcpRst | testgen::kTcpAck, {}, 0);
  testgen::L2 l2r{.src_mac = l2.dst_mac, .dst_mac = l2.src_mac, .vlans = {100}, .pad = true};
  testgen::Ip ipr = ip6;
  std::swap(ipr.src, ipr.dst);
  const auto rev = testgen::tcp_frame(l2r, ipr, 443, 51000, 9100, 5000, testgen::kTcpRst | testgen::kTcpAck, {}, 0);
  EXPECT_EQ(out[0].frame, fwd);
  EXPECT_EQ(out[1].frame, rev);
  // Not TCP: nothing built.
  const auto udp = testgen::udp_frame(l2, ip, 5353, 53, as_bytes("q"));
  out.clear();
  EXPECT_FALSE(build_resets(Bytes(udp.data(), udp.size()), 1, ResetSeq{}, out));
  EXPECT_TRUE(out.empty());
  // Truncated garbage: nothing built, no crash.
  std::vector<std::uint8_t> junk(trigger.begin(), trigger.begin() + 30);
  EXPECT_FALSE(build_resets(Bytes(junk.data(), junk.size()), 1, ResetSeq{}, out));
}

TEST(Enforcement, FirstMatchingRuleWinsAndSourcesOnlyStrengthen) {
  Enforcement e;
  e.actions.push_back({"credit_card", "", signatures::Confidence::high, Verdict::reset, "a:1"});
  e.actions.push_back({"credit_card", "", signatures::Confidence::low, Verdict::pass, "a:2"});
  e.actions.push_back({"", "secrets.private_key", signatures::Confidence::low, Verdict::drop, "a:3"});
  const IpAddr src = IpAddr::v4(0x0a000001);
  const ActionRule* rule = nullptr;
  EXPECT_EQ(e.decide("credit_card", "pci.credit_card", signatures::Confidence::high, src, &rule), Verdict::reset);
  EXPECT_EQ(rule->source, "a:1");
  EXPECT_EQ(e.decide("credit_card", "pci.credit_card", signatures::Confidence::medium, src, &rule), Verdict::pass);
  EXPECT_EQ(rule->source, "a:2");
  EXPECT_EQ(e.decide("private_key", "secrets.private_key", signatures::Confidence::high, src), Verdict::drop);
  EXPECT_EQ(e.decide("us_ssn", "pii.us_ssn", signatures::Confidence::high, src, &rule), Verdict::pass);
  EXPECT_EQ(rule, nullptr);
  e.sources[src] = Verdict::drop;
  EXPECT_EQ(e.decide("us_ssn", "pii.us_ssn", signatures::Confidence::medium, src), Verdict::drop);
  EXPECT_EQ(e.decide("credit_card", "pci.credit_card", signatures::Confidence::high, src), Verdict::reset);
}

TEST(Rcu, RetiredValuesLiveUntilEveryReaderPassedAQuiescentPoint) {
  auto first = std::make_shared<const int>(1);
  std::weak_ptr<const int> first_weak = first;
  RcuCell<int> cell(std::move(first), 2);
  cell.quiescent(0);
  cell.quiescent(1);
  const int* held_by_reader1 = cell.get();
  EXPECT_EQ(*held_by_reader1, 1);
  cell.publish(std::make_shared<const int>(2));
  EXPECT_EQ(*cell.get(), 2);
  // Reader 1 has not passed a quiescent point since: the old value must stay.
  cell.quiescent(0);
  EXPECT_EQ(cell.reclaim(), 1u);
  EXPECT_FALSE(first_weak.expired());
  EXPECT_EQ(*held_by_reader1, 1);
  cell.quiescent(1);
  EXPECT_EQ(cell.reclaim(), 0u);
  EXPECT_TRUE(first_weak.expired());
  // An offline reader never holds reclamation back.
  cell.offline(1);
  cell.publish(std::make_shared<const int>(3));
  cell.quiescent(0);
  EXPECT_EQ(cell.reclaim(), 0u);
  EXPECT_EQ(*cell.current(), 3);
}

}  // namespace
}  // namespace dlp::dataplane
