// DNS tunnelling detection: tunnels trigger exactly once, browsing never, in packet time.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/inspectors/dns/dns_test_util.h"

namespace dlp::inspectors {
namespace {

using testgen::DnsQueryEvent;
using testgen::TunnelConfig;
using testing::ipv4;
using testing::RecordingSink;
using testing::run_udp;

constexpr std::uint64_t kT0 = 1'709'542'800'000'000'000ull;
constexpr std::uint64_t kSec = 1'000'000'000ull;
constexpr std::uint64_t kMin = 60 * kSec;
const Ip16 kClient = ipv4(10, 1, 0, 10);

std::string secret_bytes(std::size_t n, std::uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Characters of the subdomain of `name` under `domain` (dots not counted).
std::uint64_t sub_chars(const std::string& name, const std::string& domain) {
  std::uint64_t n = 0;
  for (char c : name.substr(0, name.size() - domain.size() - 1)) n += c != '.';
  return n;
}

std::vector<DnsQueryEvent> tunnel(std::size_t queries, const TunnelConfig& tc) {
  return testgen::tunnel_queries(
      as_bytes(secret_bytes(queries * testgen::tunnel_bytes_per_query(tc))), tc);
}

void expect_no_label_text(const Report& r, const std::vector<DnsQueryEvent>& ev) {
  for (const std::string& reason : r.reasons) {
    for (const auto& e : ev) {
      const std::string head = e.name.substr(0, 12);
      EXPECT_EQ(reason.find(head), std::string::npos) << reason;
    }
  }
}

TEST(DnsExfil, Base32TunnelTriggersExactlyOneFinding) {
  TunnelConfig tc{.domain = "exfil-example.net", .start_ns = kT0, .interval_ns = 100'000'000};
  const auto ev = tunnel(500, tc);
  ASSERT_EQ(ev.size(), 500u);
  DnsInspectorFactory dns;
  RecordingSink sink;
  run_udp(dns, sink, ev, kClient);
  ASSERT_EQ(sink.reports.size(), 1u);
  const Report& r = sink.reports[0];
  EXPECT_EQ(r.detector, "dns.exfil");
  EXPECT_EQ(r.category, "dns_exfil");
  EXPECT_EQ(r.severity, "high");
  EXPECT_TRUE(r.high_confidence);  // base32 over ~3,600 characters: ~5 bits/char
  EXPECT_EQ(r.meta.app, App::dns);
  EXPECT_EQ(r.meta.dns_domain, "exfil-example.net");
  // Crosses at the 30th distinct name (min_unique_subdomains); each carries ~180 chars.
  EXPECT_EQ(r.count, 30u);
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < 30; ++i) bytes += sub_chars(ev[i].name, "exfil-example.net");
  EXPECT_EQ(r.volume_bytes, bytes);
  ASSERT_GE(r.reasons.size(), 4u);
  EXPECT_EQ(r.reasons[0], "30 queries for 30 distinct subdomains of this domain from one client within 10 min");
  EXPECT_NE(r.reasons[2].find("character entropy 4."), std::string::npos) << r.reasons[2];
  EXPECT_NE(r.reasons[4].find("100% of the queries ask for TXT"), std::string::npos);
  expect_no_label_text(r, ev);
  EXPECT_EQ(dns.tracker().stats().findings, 1u);
  // Every name also went to a content stream.
  EXPECT_EQ(sink.streams.size(), 500u);
}

TEST(DnsExfil, HexTunnelUnderASubzoneWithShortLabels) {
  // dnscat2-like: hex, 30-character labels, CNAME queries, under a delegated subzone.
  TunnelConfig tc{.domain = "t.c2.example-attacker.com", .encoding = testgen::TunnelEncoding::kHex,
                  .label_len = 30, .start_ns = kT0, .interval_ns = 1 * kSec,
                  .qtype = testgen::kDnsCname};
  const auto ev = tunnel(300, tc);
  DnsInspectorFactory dns;
  RecordingSink sink;
  run_udp(dns, sink, ev, kClient);
  ASSERT_EQ(sink.reports.size(), 1u);
  EXPECT_EQ(sink.reports[0].meta.dns_domain, "example-attacker.com");
  EXPECT_EQ(sink.reports[0].count, 30u);
}

TEST(DnsExfil, SlowTrickleOfAFewDozenQueriesTriggers) {
  // 36 queries, one every 15 s (9 minutes), each with 50 base32 characters (31 bytes).
  TunnelConfig tc{.domain = "exfil-example.net", .start_ns = kT0, .interval_ns = 15 * kSec,
                  .sequence = false};
  tc.bytes_per_query = 31;
  const auto ev = tunnel(36, tc);
  ASSERT_EQ(sub_chars(ev[0].name, tc.domain), 50u);
  DnsInspectorFactory dns;
  RecordingSink sink;
  run_udp(dns, sink, ev, kClient);
  ASSERT_EQ(sink.reports.size(), 1u);
  EXPECT_EQ(sink.reports[0].count, 30u);
  EXPECT_EQ(sink.reports[0].volume_bytes, 30u * 50u);
}

TEST(DnsExfil, TwentyPayloadSizedQueriesToOneDomainDoNotTrigger) {
  TunnelConfig tc{.domain = "exfil-example.net", .start_ns = kT0, .interval_ns = 1 * kSec};
  DnsInspectorFactory dns;
  RecordingSink sink;
  run_udp(dns, sink, tunnel(20, tc), kClient);
  EXPECT_TRUE(sink.reports.empty());
}

TEST(DnsExfil, TrickleSlowerThanTheWindowDoesNotTrigger) {
  // The documented limit: 36 queries over 18 minutes never have 30 in one 10-minute window.
  TunnelConfig tc{.domain = "exfil-example.net", .start_ns = kT0, .interval_ns = 30 * kSec};
  tc.bytes_per_query = 31;
  DnsInspectorFactory dns;
  RecordingSink sink;
  run_udp(dns, sink, tunnel(36, tc), kClient);
  EXPECT_TRUE(sink.reports.empty());
  // A longer window catches it.
  DnsExfilConfig cfg;
  cfg.window_ns = 30 * kMin;
  DnsInspectorFactory patient(cfg);
  RecordingSink sink2;
  run_udp(patient, sink2, tunnel(36, tc), kClient);
  EXPECT_EQ(sink2.reports.size(), 1u);
}

TEST(DnsExfil, OrdinaryBrowsingNeverTriggers) {
  DnsInspectorFactory dns;
  RecordingSink sink;
  std::mt19937_64 rng(11);
  // 10 clients, 600 queries each over 10 minutes, then another 10 minutes.
  for (std::uint8_t c = 0; c < 10; ++c) {
    const auto ev = testgen::browsing_queries(rng, 600, kT0, 20 * kMin);
    run_udp(dns, sink, ev, ipv4(10, 1, 1, c));
  }
  EXPECT_TRUE(sink.reports.empty());
  EXPECT_GT(dns.tracker().stats().queries, 3000u);  // most names were tracked, not skipped
  EXPECT_EQ(sink.streams.size(), 6000u);
}

TEST(DnsExfil, BrowsingWithoutTheAllowlistShowsWhyItExists) {
  // Anti-virus hash look-ups look like a tunnel by every figure; the default allowlist
  // is what keeps them quiet.
  DnsExfilConfig cfg;
  cfg.allowlist.clear();
  DnsInspectorFactory dns(cfg);
  RecordingSink sink;
  std::mt19937_64 rng(11);
  run_udp(dns, sink, testgen::browsing_queries(rng, 3000, kT0, 10 * kMin), kClient);
  ASSERT_EQ(sink.reports.size(), 1u);
  EXPECT_EQ(sink.reports[0].meta.dns_domain, "sophosxl.net");
}

TEST(DnsExfil, TunnelHiddenInBrowsingIsTheOnlyFinding) {
  std::mt19937_64 rng(5);
  const auto normal = testgen::browsing_queries(rng, 800, kT0, 10 * kMin);
  TunnelConfig tc{.domain = "cdn-sync-example.io", .start_ns = kT0 + kMin, .interval_ns = 2 * kSec};
  const auto merged = testgen::merge_by_time(normal, tunnel(100, tc));
  DnsInspectorFactory dns;
  RecordingSink sink;
  run_udp(dns, sink, merged, kClient);
  ASSERT_EQ(sink.reports.size(), 1u);
  EXPECT_EQ(sink.reports[0].meta.dns_domain, "cdn-sync-example.io");
  EXPECT_EQ(sink.reports[0].count, 30u);
}

TEST(DnsExfil, ReplayGivesTheSameFindings) {
  std::mt19937_64 rng(3);
  const auto normal = testgen::browsing_queries(rng, 500, kT0, 30 * kMin);
  TunnelConfig tc{.domain = "exfil-example.net", .start_ns = kT0, .interval_ns = 3 * kSec};
  const auto merged = testgen::merge_by_time(normal, tunnel(600, tc));
  std::string first;
  for (int run = 0; run < 2; ++run) {
    DnsInspectorFactory dns;
    RecordingSink sink;
    run_udp(dns, sink, merged, kClient);
    ASSERT_EQ(sink.reports.size(), 3u);  // 30 min of tunnel: one finding per window
    std::string d = sink.dump();
    for (const Report& r : sink.reports) {
      for (const auto& reason : r.reasons) d += reason + "\n";
    }
    if (run == 0) first = d;
    EXPECT_EQ(d, first);
  }
}

TEST(DnsExfil, NextFindingOnlyInALaterWindowWithWhatWasSentSince) {
  // One query a second for 25 minutes.
  TunnelConfig tc{.domain = "exfil-example.net", .start_ns = kT0, .interval_ns = 1 * kSec};
  const auto ev = tunnel(1500, tc);
  DnsInspectorFactory dns;
  RecordingSink sink;
  run_udp(dns, sink, ev, kClient);
  ASSERT_EQ(sink.reports.size(), 3u);
  // First at query 30 (t = 29 s), then at the first query a full window later (t = 629 s,
  // 600 queries since), then at t = 1229 s.
  EXPECT_EQ(sink.reports[0].count, 30u);
  EXPECT_EQ(sink.reports[1].count, 600u);
  EXPECT_EQ(sink.reports[2].count, 600u);
  std::uint64_t bytes = 0;
  for (std::size_t i = 30; i < 630; ++i) bytes += sub_chars(ev[i].name, tc.domain);
  EXPECT_EQ(sink.reports[1].volume_bytes, bytes);
  const std::string& last = sink.reports[1].reasons.back();
  EXPECT_EQ(last, "600 more queries and " + std::to_string(bytes) +
                      " more subdomain characters since the previous finding 10 min ago");
  for (const Report& r : sink.reports) expect_no_label_text(r, ev);
}

TEST(DnsExfil, ClientsAreTrackedApart) {
  // 20 tunnel queries from each of two clients: neither alone reaches the threshold.
  TunnelConfig tc{.domain = "exfil-example.net", .start_ns = kT0, .interval_ns = 1 * kSec};
  const auto ev = tunnel(40, tc);
  DnsInspectorFactory dns;
  RecordingSink sink;
  run_udp(dns, sink, {ev.begin(), ev.begin() + 20}, ipv4(10, 1, 0, 1));
  run_udp(dns, sink, {ev.begin() + 20, ev.end()}, ipv4(10, 1, 0, 2));
  EXPECT_TRUE(sink.reports.empty());
  EXPECT_EQ(dns.tracker().stats().keys, 2u);
}

TEST(DnsExfil, RepeatedNamesAreNotNewEvidence) {
  // The same long name a thousand times (a stub's retries, A and AAAA): one subdomain.
  std::vector<DnsQueryEvent> ev;
  const std::string name = std::string(40, 'k') + "3f9a." + "example.com";
  for (int i = 0; i < 1000; ++i) ev.push_back({kT0 + i * 100'000'000ull, name, testgen::kDnsTxt});
  DnsInspectorFactory dns;
  RecordingSink sink;
  run_udp(dns, sink, ev, kClient);
  EXPECT_TRUE(sink.reports.empty());
}

TEST(DnsExfil, ReverseZonesAreNeverTracked) {
  std::mt19937_64 rng(9);
  std::vector<DnsQueryEvent> ev;
  for (int i = 0; i < 1000; ++i) {
    std::string name;
    for (int k = 0; k < 32; ++k) name += std::string(1, "0123456789abcdef"[rng() % 16]) + ".";
    ev.push_back({kT0 + i * kSec / 10, name + "ip6.arpa", testgen::kDnsPtr});
  }
  DnsInspectorFactory dns;
  RecordingSink sink;
  run_udp(dns, sink, ev, kClient);
  EXPECT_TRUE(sink.reports.empty());
  EXPECT_EQ(dns.tracker().stats().queries, 0u);
  EXPECT_EQ(sink.streams.size(), 1000u);  // still scanned as content
}

TEST(DnsExfil, AllowlistedTunnelIsNotTracked) {
  TunnelConfig tc{.domain = "sync.partner.example", .start_ns = kT0, .interval_ns = kSec};
  const auto ev = tunnel(200, tc);
  DnsExfilConfig cfg;
  cfg.allowlist.push_back("partner.example");
  DnsInspectorFactory allowed(cfg);
  RecordingSink quiet;
  run_udp(allowed, quiet, ev, kClient);
  EXPECT_TRUE(quiet.reports.empty());
  DnsInspectorFactory dns;
  RecordingSink loud;
  run_udp(dns, loud, ev, kClient);
  ASSERT_EQ(loud.reports.size(), 1u);
  EXPECT_EQ(loud.reports[0].meta.dns_domain, "partner.example");
}

TEST(DnsExfil, TrackerMemoryIsBoundedUnderRandomDomains) {
  DnsExfilConfig cfg;
  cfg.max_keys = 1000;
  DnsExfilTracker tracker(cfg);
  std::mt19937_64 rng(2);
  std::vector<std::string> domains;
  for (int i = 0; i < 100000; ++i) {
    std::string d;
    for (int k = 0; k < 12; ++k) d += static_cast<char>('a' + rng() % 26);
    domains.push_back(d + ".com");
  }
  const std::string label(40, 'q');
  for (std::size_t i = 0; i < domains.size(); ++i) {
    DnsQueryObservation q;
    q.client = ipv4(10, 2, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i));
    q.domain = domains[i];
    q.labels[0] = label;
    q.label_count = 1;
    q.now_ns = kT0 + i * 1000;  // all inside one window: nothing expires, everything evicts
    EXPECT_FALSE(tracker.observe(q).has_value());
  }
  const DnsExfilStats s = tracker.stats();
  EXPECT_EQ(s.keys, 1000u);
  EXPECT_EQ(s.evicted, 99000u);
  EXPECT_EQ(s.expired, 0u);
  EXPECT_LE(tracker.memory_bytes(), tracker.memory_bound());
  EXPECT_LT(tracker.memory_bound(), 8u << 20);  // 1000 keys stay within a few MiB
  // An hour later the old keys are idle and age out as new ones arrive.
  DnsQueryObservation later;
  later.domain = "late.example";
  later.now_ns = kT0 + 60 * kMin;
  tracker.observe(later);
  EXPECT_EQ(tracker.stats().keys, 1u);
  EXPECT_EQ(tracker.stats().expired, 1000u);
}

TEST(DnsExfil, DistinctSetIsBoundedPerKey) {
  DnsExfilConfig cfg;
  cfg.max_unique_per_key = 64;
  DnsExfilTracker tracker(cfg);
  std::mt19937_64 rng(8);
  std::size_t findings = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string l;
    for (int k = 0; k < 40; ++k) l += "abcdefghijklmnopqrstuvwxyz234567"[rng() % 32];
    DnsQueryObservation q;
    q.client = kClient;
    q.domain = "exfil-example.net";
    q.labels[0] = l;
    q.label_count = 1;
    q.now_ns = kT0 + i * 10'000'000ull;  // 50 s
    findings += tracker.observe(q).has_value();
  }
  EXPECT_EQ(findings, 1u);
  EXPECT_EQ(tracker.stats().set_full, 5000u - 64u);
  EXPECT_LE(tracker.memory_bytes(), tracker.memory_bound());
}

TEST(DnsExfil, TrackerIsSharedSafelyByWorkers) {
  DnsInspectorFactory dns;
  TunnelConfig tc{.domain = "exfil-example.net", .start_ns = kT0, .interval_ns = 10'000'000};
  const auto ev = tunnel(400, tc);
  std::vector<RecordingSink> sinks(4);
  std::vector<std::thread> workers;
  for (std::size_t w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      std::vector<DnsQueryEvent> mine;
      for (std::size_t i = w; i < ev.size(); i += 4) mine.push_back(ev[i]);
      run_udp(dns, sinks[w], mine, kClient);
    });
  }
  for (auto& t : workers) t.join();
  std::size_t reports = 0;
  for (const auto& s : sinks) reports += s.reports.size();
  EXPECT_EQ(reports, 1u);
  EXPECT_EQ(dns.tracker().stats().queries, 400u);
}

}  // namespace
}  // namespace dlp::inspectors
