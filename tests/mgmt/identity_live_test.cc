// Live identity: RADIUS accounting and syslog, first in-process (packets built here, the
// protocol logic fed directly), then over loopback sockets with the real clients
// (radclient from freeradius-utils, logger from util-linux) started by the test.
#include "mgmt/identity_live.h"
#include "tests/loopback.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <openssl/evp.h>

namespace dlp::mgmt {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

constexpr const char* kSecret = "s3cret-for-tests";
constexpr std::uint64_t kSec = 1'000'000'000ull;
constexpr std::uint32_t kT0 = 1709542800;  // 2024-03-04T09:00:00Z

dataplane::IpAddr ip(const char* s) {
  dataplane::IpAddr a;
  EXPECT_TRUE(parse_ip(s, a)) << s;
  return a;
}

std::string who(const SharedIdentity& ids, const char* addr, std::uint64_t t_ns) {
  const auto w = ids.lookup(ip(addr), t_ns);
  return w ? w->user + "/" + w->department : "-";
}

Directory test_directory() {
  Directory d;
  EXPECT_TRUE(d.parse("user,department,devices\n"
                      "alice,finance,alice-laptop;00:16:3E:01:01:01\n"
                      "bob,sales,BOB-PC\n"
                      "carol,hr,00-16-3e-03-03-03\n",
                      "dir.csv"));
  return d;
}

// --- an Accounting-Request built here, independently of the code under test -----------

Bytes md5(const Bytes& data) {
  Bytes out(16);
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_md5(), nullptr);
  return out;
}

Bytes attr(std::uint8_t type, const std::string& value) {
  Bytes a{type, static_cast<std::uint8_t>(value.size() + 2)};
  a.insert(a.end(), value.begin(), value.end());
  return a;
}
Bytes attr32(std::uint8_t type, std::uint32_t v) {
  return {type, 6, static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
          static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}
Bytes attr_ip(const char* v4) {
  Bytes a{8, 6, 0, 0, 0, 0};
  EXPECT_EQ(inet_pton(AF_INET, v4, a.data() + 2), 1);
  return a;
}
Bytes user(const std::string& u) { return attr(1, u); }
Bytes status(std::uint32_t s) { return attr32(40, s); }
Bytes session(const std::string& s) { return attr(44, s); }
Bytes event_ts(std::uint32_t t) { return attr32(55, t); }
Bytes calling(const std::string& mac) { return attr(31, mac); }

// Code, identifier, length, authenticator = MD5(code+id+length+16 zeros+attributes+secret).
Bytes request(std::uint8_t id, const std::vector<Bytes>& attrs, const std::string& secret = kSecret,
              std::uint8_t code = 4) {
  Bytes p{code, id, 0, 0};
  p.resize(20, 0);
  for (const Bytes& a : attrs) p.insert(p.end(), a.begin(), a.end());
  p[2] = static_cast<std::uint8_t>(p.size() >> 8);
  p[3] = static_cast<std::uint8_t>(p.size());
  Bytes signed_part = p;
  signed_part.insert(signed_part.end(), secret.begin(), secret.end());
  const Bytes auth = md5(signed_part);
  std::copy(auth.begin(), auth.end(), p.begin() + 4);
  return p;
}

Bytes expected_response(const Bytes& req, const std::string& secret = kSecret) {
  Bytes r{5, req[1], 0, 20};
  r.insert(r.end(), req.begin() + 4, req.begin() + 20);
  r.insert(r.end(), secret.begin(), secret.end());
  const Bytes auth = md5(r);
  Bytes out{5, req[1], 0, 20};
  out.insert(out.end(), auth.begin(), auth.end());
  return out;
}

Bytes from_hex(const std::string& h) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(h.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// --- RADIUS, in-process ------------------------------------------------------------------

TEST(RadiusParseTest, ReadsAPacketRadclientSent) {
  // Captured from `radclient 127.0.0.1:18130 acct testing123` with User-Name=alice,
  // Framed-IP-Address=10.1.2.3, Acct-Status-Type=Start, Acct-Session-Id=s1,
  // Event-Timestamp=1709542800, Calling-Station-Id=00-16-3E-01-01-01.
  const Bytes pkt = from_hex(
      "043f0044f3853662e6624fceeef9e5c08639dc450107616c69636508060a0102032806000000012c0473313706"
      "65e58d901f1330302d31362d33452d30312d30312d3031");
  RadiusAccountingRequest r;
  ASSERT_EQ(parse_accounting_request(pkt, "testing123", r), RadiusDrop::none);
  EXPECT_EQ(r.identifier, 63);
  EXPECT_EQ(r.status_type, kAcctStart);
  EXPECT_EQ(r.user_name, "alice");
  ASSERT_TRUE(r.framed_ip);
  EXPECT_EQ(*r.framed_ip, ip("10.1.2.3"));
  EXPECT_EQ(r.session_id, "s1");
  ASSERT_TRUE(r.event_timestamp);
  EXPECT_EQ(*r.event_timestamp, kT0);
  EXPECT_EQ(r.calling_station_id, "00-16-3E-01-01-01");
  EXPECT_EQ(parse_accounting_request(pkt, "testing124", r), RadiusDrop::bad_authenticator);
}

TEST(RadiusParseTest, ResponseAuthenticatorIsMd5OfTheResponseRequestAuthAndSecret) {
  const Bytes pkt = request(7, {status(kAcctStart), user("alice")});
  RadiusAccountingRequest r;
  ASSERT_EQ(parse_accounting_request(pkt, kSecret, r), RadiusDrop::none);
  const auto resp = accounting_response(r, kSecret);
  EXPECT_EQ(Bytes(resp.begin(), resp.end()), expected_response(pkt));
}

TEST(RadiusParseTest, EveryMalformationHasItsReason) {
  RadiusAccountingRequest r;
  const Bytes good = request(1, {status(kAcctStart), user("alice"), attr_ip("10.1.2.3")});
  ASSERT_EQ(parse_accounting_request(good, kSecret, r), RadiusDrop::none);

  EXPECT_EQ(parse_accounting_request(Bytes(good.begin(), good.begin() + 19), kSecret, r),
            RadiusDrop::truncated);
  EXPECT_EQ(parse_accounting_request(Bytes(good.begin(), good.end() - 1), kSecret, r),
            RadiusDrop::truncated);  // shorter than its Length field
  Bytes len19 = good;
  len19[2] = 0, len19[3] = 19;
  EXPECT_EQ(parse_accounting_request(len19, kSecret, r), RadiusDrop::bad_length);
  Bytes len4097(4097, 0);
  len4097[0] = 4, len4097[2] = 0x10, len4097[3] = 0x01;
  EXPECT_EQ(parse_accounting_request(len4097, kSecret, r), RadiusDrop::bad_length);
  EXPECT_EQ(parse_accounting_request(request(1, {status(kAcctStart)}, kSecret, 1), kSecret, r),
            RadiusDrop::not_accounting_request);
  EXPECT_EQ(parse_accounting_request(request(1, {status(kAcctStart)}, "other"), kSecret, r),
            RadiusDrop::bad_authenticator);
  Bytes altered = good;
  altered.back() ^= 1;  // 10.1.2.3 -> 10.1.2.2: the authenticator no longer matches
  EXPECT_EQ(parse_accounting_request(altered, kSecret, r), RadiusDrop::bad_authenticator);

  // Signed correctly, but an attribute is broken.
  EXPECT_EQ(parse_accounting_request(request(1, {status(kAcctStart), Bytes{1, 1}}), kSecret, r),
            RadiusDrop::bad_attribute);  // length below 2
  EXPECT_EQ(parse_accounting_request(request(1, {status(kAcctStart), Bytes{1, 9, 'a', 'b'}}), kSecret, r),
            RadiusDrop::bad_attribute);  // past the end
  EXPECT_EQ(parse_accounting_request(request(1, {status(kAcctStart), Bytes{44}}), kSecret, r),
            RadiusDrop::bad_attribute);  // a lone type octet
  EXPECT_EQ(parse_accounting_request(request(1, {status(kAcctStart), Bytes{8, 7, 10, 1, 2, 3, 4}}), kSecret, r),
            RadiusDrop::bad_attribute);  // Framed-IP-Address of 5 octets
  EXPECT_EQ(parse_accounting_request(request(1, {Bytes{40, 5, 0, 0, 1}}), kSecret, r),
            RadiusDrop::bad_attribute);  // Acct-Status-Type of 3 octets
  EXPECT_EQ(parse_accounting_request(request(1, {status(kAcctStart), user("al\xff" "ce")}), kSecret, r),
            RadiusDrop::bad_attribute);  // not UTF-8
  EXPECT_EQ(parse_accounting_request(request(1, {status(kAcctStart), user("al\nce")}), kSecret, r),
            RadiusDrop::bad_attribute);  // a control character
  EXPECT_EQ(parse_accounting_request(request(1, {user("alice")}), kSecret, r), RadiusDrop::no_status_type);

  // Octets past the Length field are padding.
  Bytes padded = good;
  padded.insert(padded.end(), {0xde, 0xad, 0xbe, 0xef});
  ASSERT_EQ(parse_accounting_request(padded, kSecret, r), RadiusDrop::none);
  EXPECT_EQ(r.user_name, "alice");
  // Framed-IPv6-Address, and the "NAS picks" address that nobody holds.
  Bytes v6{168, 18};
  const auto a6 = ip("2001:db8::7");
  v6.insert(v6.end(), a6.b.begin(), a6.b.end());
  ASSERT_EQ(parse_accounting_request(request(1, {status(kAcctStart), v6}), kSecret, r), RadiusDrop::none);
  EXPECT_EQ(*r.framed_ip, a6);
  ASSERT_EQ(parse_accounting_request(request(1, {status(kAcctStart), attr_ip("255.255.255.254")}), kSecret, r),
            RadiusDrop::none);
  EXPECT_FALSE(r.framed_ip);
}

class RadiusAccountingTest : public ::testing::Test {
 protected:
  Bytes feed(const Bytes& pkt, const std::string& nas = "192.0.2.1", std::uint64_t now = 0) {
    return acct_.on_datagram(pkt, nas, now ? now : (kT0 + 86400) * kSec);
  }
  SharedIdentity ids_;
  RadiusAccounting acct_{kSecret, ids_, test_directory()};
};

TEST_F(RadiusAccountingTest, StartBindsFromEventTimeAndStopEndsIt) {
  const Bytes start = request(1, {user("CORP\\alice"), attr_ip("10.1.2.3"), status(kAcctStart),
                                  session("s1"), event_ts(kT0)});
  EXPECT_EQ(feed(start), expected_response(start));
  EXPECT_EQ(who(ids_, "10.1.2.3", kT0 * kSec - 1), "-");
  EXPECT_EQ(who(ids_, "10.1.2.3", kT0 * kSec), "alice/finance");
  EXPECT_EQ(who(ids_, "10.1.2.3", (kT0 + 7200) * kSec), "alice/finance");

  // A retransmission (new identifier after Acct-Delay-Time changed) and an Interim-Update
  // add nothing.
  const Bytes again = request(2, {user("CORP\\alice"), attr_ip("10.1.2.3"), status(kAcctStart),
                                  session("s1"), event_ts(kT0), attr32(41, 3)});
  EXPECT_EQ(feed(again), expected_response(again));
  const Bytes interim = request(3, {user("CORP\\alice"), attr_ip("10.1.2.3"), status(kAcctInterimUpdate),
                                    session("s1"), event_ts(kT0 + 600)});
  EXPECT_EQ(feed(interim), expected_response(interim));
  EXPECT_EQ(ids_.size(), 1u);

  // The Stop names only the session: it ends what the Start bound.
  const Bytes stop = request(4, {status(kAcctStop), session("s1"), event_ts(kT0 + 3600)});
  EXPECT_EQ(feed(stop), expected_response(stop));
  EXPECT_EQ(who(ids_, "10.1.2.3", (kT0 + 3600) * kSec - 1), "alice/finance");
  EXPECT_EQ(who(ids_, "10.1.2.3", (kT0 + 3600) * kSec), "-");

  const RadiusCounters c = acct_.counters();
  EXPECT_EQ(c.received, 4u);
  EXPECT_EQ(c.answered, 4u);
  EXPECT_EQ(c.starts, 2u);
  EXPECT_EQ(c.interims, 1u);
  EXPECT_EQ(c.stops, 1u);
  EXPECT_EQ(c.bound, 1u);
  EXPECT_EQ(c.unchanged, 2u);
  EXPECT_EQ(c.ended, 1u);
  EXPECT_EQ(c.dropped(), 0u);
}

TEST_F(RadiusAccountingTest, AStartArrivingAfterItsStopDoesNotBringTheSessionBack) {
  const Bytes start = request(1, {user("alice"), attr_ip("10.1.2.3"), status(kAcctStart),
                                  session("s1"), event_ts(kT0)});
  feed(start);
  feed(request(2, {status(kAcctStop), session("s1"), event_ts(kT0 + 3600)}));
  // The same Start again (a late retransmission, or a replay of the captured datagram) and
  // a late Interim-Update: answered, as RFC 2866 wants, but nothing is bound.
  EXPECT_EQ(feed(start), expected_response(start));
  feed(request(3, {user("alice"), attr_ip("10.1.2.3"), status(kAcctInterimUpdate), session("s1"),
                   event_ts(kT0 + 600)}));
  EXPECT_EQ(who(ids_, "10.1.2.3", (kT0 + 3600) * kSec), "-");
  EXPECT_EQ(who(ids_, "10.1.2.3", (kT0 + 86400) * kSec), "-");
  EXPECT_EQ(ids_.size(), 1u);
  // The NAS reuses the session id later, for bob: a new session.
  feed(request(4, {user("bob"), attr_ip("10.1.2.3"), status(kAcctStart), session("s1"),
                   event_ts(kT0 + 7200)}));
  EXPECT_EQ(who(ids_, "10.1.2.3", (kT0 + 7200) * kSec), "bob/sales");
  const RadiusCounters c = acct_.counters();
  EXPECT_EQ(c.stale, 2u);
  EXPECT_EQ(c.bound, 2u);
  EXPECT_EQ(c.ended, 1u);
  EXPECT_EQ(c.answered, 5u);
}

TEST_F(RadiusAccountingTest, WithoutEventTimestampTheArrivalLessTheDelayCounts) {
  const std::uint64_t now = (kT0 + 100) * kSec + 5;
  feed(request(1, {user("bob"), attr_ip("10.1.2.4"), status(kAcctStart), session("b"), attr32(41, 10)}),
       "192.0.2.1", now);
  EXPECT_EQ(who(ids_, "10.1.2.4", now - 10 * kSec - 1), "-");
  EXPECT_EQ(who(ids_, "10.1.2.4", now - 10 * kSec), "bob/sales");
}

TEST_F(RadiusAccountingTest, ADeviceWithoutAUserBindsItsOwnerBelowAPersonsSession) {
  // MAC authentication: no person, only the device. Its owner is bound as a device owner.
  feed(request(1, {attr_ip("10.1.2.5"), status(kAcctStart), session("m1"), event_ts(kT0),
                   calling("00-16-3E-03-03-03")}));
  feed(request(2, {user("00163e030303"), attr_ip("10.1.2.6"), status(kAcctStart), session("m2"),
                   event_ts(kT0)}));
  // Nobody known: answered, nothing bound.
  feed(request(3, {attr_ip("10.1.2.7"), status(kAcctStart), session("m3"), event_ts(kT0),
                   calling("AA-BB-CC-DD-EE-FF")}));
  EXPECT_EQ(who(ids_, "10.1.2.5", kT0 * kSec), "carol/hr");
  EXPECT_EQ(who(ids_, "10.1.2.6", kT0 * kSec), "carol/hr");
  EXPECT_EQ(who(ids_, "10.1.2.7", kT0 * kSec), "-");
  const auto e = ids_.entries();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].source, IdentitySource::dhcp);
  // A person logs on to carol's device later: the session outranks the device owner.
  feed(request(4, {user("bob"), attr_ip("10.1.2.5"), status(kAcctStart), session("p1"),
                   event_ts(kT0 + 60), calling("00-16-3E-03-03-03")}));
  EXPECT_EQ(who(ids_, "10.1.2.5", (kT0 + 59) * kSec), "carol/hr");
  EXPECT_EQ(who(ids_, "10.1.2.5", (kT0 + 60) * kSec), "bob/sales");
  const RadiusCounters c = acct_.counters();
  EXPECT_EQ(c.bound, 3u);
  EXPECT_EQ(c.no_identity, 1u);
  EXPECT_EQ(c.answered, 4u);
}

TEST_F(RadiusAccountingTest, AccountingOnEndsEverySessionOfThatNasOnly) {
  feed(request(1, {user("alice"), attr_ip("10.1.2.3"), status(kAcctStart), session("a"), event_ts(kT0)}),
       "192.0.2.1");
  feed(request(2, {user("bob"), attr_ip("10.1.2.4"), status(kAcctStart), session("b"), event_ts(kT0)}),
       "192.0.2.1");
  feed(request(3, {user("carol"), attr_ip("10.9.0.1"), status(kAcctStart), session("a"), event_ts(kT0)}),
       "192.0.2.2");
  const Bytes on = request(4, {status(kAcctOn), event_ts(kT0 + 50)});
  EXPECT_EQ(feed(on, "192.0.2.1"), expected_response(on));
  EXPECT_EQ(who(ids_, "10.1.2.3", (kT0 + 50) * kSec), "-");
  EXPECT_EQ(who(ids_, "10.1.2.4", (kT0 + 49) * kSec), "bob/sales");
  EXPECT_EQ(who(ids_, "10.1.2.4", (kT0 + 50) * kSec), "-");
  EXPECT_EQ(who(ids_, "10.9.0.1", (kT0 + 50) * kSec), "carol/hr");
  const RadiusCounters c = acct_.counters();
  EXPECT_EQ(c.nas_restarts, 1u);
  EXPECT_EQ(c.ended, 2u);
  // A Stop for a session the restart already closed matches nothing.
  feed(request(5, {status(kAcctStop), session("a"), event_ts(kT0 + 60)}), "192.0.2.1");
  EXPECT_EQ(acct_.counters().stop_unmatched, 1u);
}

TEST_F(RadiusAccountingTest, DropsAreCountedByReasonAndNeverAnswered) {
  const Bytes good = request(1, {status(kAcctStart), user("alice"), attr_ip("10.1.2.3")});
  EXPECT_TRUE(feed(Bytes(good.begin(), good.begin() + 10)).empty());
  Bytes len = good;
  len[3] = 10;
  EXPECT_TRUE(feed(len).empty());
  EXPECT_TRUE(feed(request(1, {status(kAcctStart)}, kSecret, 1)).empty());
  EXPECT_TRUE(feed(request(1, {status(kAcctStart), user("alice"), attr_ip("10.1.2.3")}, "wrong")).empty());
  EXPECT_TRUE(feed(request(1, {status(kAcctStart), Bytes{1, 0}})).empty());
  EXPECT_TRUE(feed(request(1, {user("alice")})).empty());
  const RadiusCounters c = acct_.counters();
  EXPECT_EQ(c.received, 6u);
  EXPECT_EQ(c.answered, 0u);
  EXPECT_EQ(c.truncated, 1u);
  EXPECT_EQ(c.bad_length, 1u);
  EXPECT_EQ(c.not_accounting_request, 1u);
  EXPECT_EQ(c.bad_authenticator, 1u);
  EXPECT_EQ(c.bad_attribute, 1u);
  EXPECT_EQ(c.no_status_type, 1u);
  EXPECT_EQ(c.dropped(), 6u);
  EXPECT_EQ(ids_.size(), 0u);
}

TEST_F(RadiusAccountingTest, MutatedPacketsNeverCrashAndAreAllAccountedFor) {
  const Bytes base = request(9, {user("alice"), attr_ip("10.1.2.3"), status(kAcctStart),
                                 session("s1"), event_ts(kT0), calling("00-16-3E-01-01-01")});
  std::mt19937 rng(12345);
  constexpr int kRounds = 20000;
  for (int i = 0; i < kRounds; ++i) {
    Bytes p = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      switch (rng() % 3) {
        case 0: p[rng() % p.size()] = static_cast<std::uint8_t>(rng()); break;
        case 1: p.resize(rng() % (p.size() + 1)); break;
        case 2: p.insert(p.begin() + static_cast<long>(rng() % (p.size() + 1)), static_cast<std::uint8_t>(rng())); break;
      }
      if (p.empty()) break;
    }
    // Half of them re-signed, so the attribute walk sees the damage too.
    if (i % 2 == 0 && p.size() >= 20) {
      const std::size_t l = std::min<std::size_t>(p.size(), static_cast<std::size_t>(p[2]) << 8 | p[3]);
      if (l >= 20) {
        Bytes s(p.begin(), p.begin() + static_cast<long>(l));
        std::fill(s.begin() + 4, s.begin() + 20, 0);
        s.insert(s.end(), kSecret, kSecret + std::strlen(kSecret));
        const Bytes a = md5(s);
        std::copy(a.begin(), a.end(), p.begin() + 4);
      }
    }
    const Bytes resp = feed(p);
    EXPECT_TRUE(resp.empty() || resp.size() == 20u);
  }
  const RadiusCounters c = acct_.counters();
  EXPECT_EQ(c.received, static_cast<std::uint64_t>(kRounds));
  EXPECT_EQ(c.answered + c.dropped(), c.received);
  EXPECT_GT(c.bad_attribute, 0u);
  EXPECT_GT(c.bad_authenticator, 0u);
}

TEST(SharedIdentityTest, ReadersSeeConsistentAnswersWhileRadiusWrites) {
  SharedIdentity ids;
  RadiusAccounting acct(kSecret, ids, test_directory());
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> reads{0}, wrong{0};
  std::thread reader([&] {
    while (!done.load()) {
      const auto w = ids.lookup(ip("10.1.2.3"), kT0 * kSec);
      if (w && w->user != "alice") wrong.fetch_add(1);
      reads.fetch_add(1);
    }
  });
  for (std::uint32_t i = 0; i < 2000; ++i) {
    const std::string s = "s" + std::to_string(i);
    acct.on_datagram(request(1, {user("alice"), attr_ip("10.1.2.3"), status(kAcctStart), session(s),
                                 event_ts(kT0 + i * 10)}), "192.0.2.1", 0);
    acct.on_datagram(request(2, {status(kAcctStop), session(s), event_ts(kT0 + i * 10 + 5)}), "192.0.2.1", 0);
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(ids.size(), 2000u);
  EXPECT_EQ(acct.counters().ended, 2000u);
  EXPECT_EQ(who(ids, "10.1.2.3", (kT0 + 19990) * kSec + 4 * kSec), "alice/finance");
  EXPECT_EQ(who(ids, "10.1.2.3", (kT0 + 19995) * kSec), "-");
}

TEST(SharedIdentityTest, ReplacingTheFileSourcesKeepsLiveBindings) {
  IdentityTable files;
  files.bind(ip("10.1.2.3"), Identity{"dora", "it"});  // static, for all time
  SharedIdentity ids(std::move(files));
  RadiusAccounting acct(kSecret, ids, test_directory());
  acct.on_datagram(request(1, {user("alice"), attr_ip("10.1.2.3"), status(kAcctStart), session("a"),
                               event_ts(kT0)}), "192.0.2.1", 0);
  acct.on_datagram(request(2, {user("bob"), attr_ip("10.1.2.4"), status(kAcctStart), session("b"),
                               event_ts(kT0)}), "192.0.2.1", 0);
  acct.on_datagram(request(3, {status(kAcctStop), session("b"), event_ts(kT0 + 60)}), "192.0.2.1", 0);
  EXPECT_EQ(who(ids, "10.1.2.3", kT0 * kSec - 1), "dora/it");
  EXPECT_EQ(who(ids, "10.1.2.3", kT0 * kSec), "alice/finance");

  // A reload: the file now names erin; the live session (and bob's ended one) stay.
  IdentityTable reloaded;
  reloaded.bind(ip("10.1.2.3"), Identity{"erin", "it"});
  ids.replace_files(std::move(reloaded));
  EXPECT_EQ(who(ids, "10.1.2.3", kT0 * kSec - 1), "erin/it");
  EXPECT_EQ(who(ids, "10.1.2.3", kT0 * kSec), "alice/finance");
  EXPECT_EQ(who(ids, "10.1.2.4", (kT0 + 59) * kSec), "bob/sales");
  EXPECT_EQ(who(ids, "10.1.2.4", (kT0 + 60) * kSec), "-");
  const auto e = ids.entries();
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(std::count_if(e.begin(), e.end(), [](const auto& x) { return x.live; }), 2);
  EXPECT_EQ(ids.read([](const IdentityTable& t) { return t.live_size(); }), 2u);
  // The session is still tracked: its Stop ends the carried-over binding.
  acct.on_datagram(request(4, {status(kAcctStop), session("a"), event_ts(kT0 + 120)}), "192.0.2.1", 0);
  EXPECT_EQ(who(ids, "10.1.2.3", (kT0 + 120) * kSec), "erin/it");
  EXPECT_EQ(acct.counters().ended, 2u);
}

// --- syslog, in-process ------------------------------------------------------------------

TEST(SyslogParseTest, Rfc3164AndRfc5424Framing) {
  SyslogMessage m;
  std::string why;
  ASSERT_TRUE(parse_syslog("<30>Mar  4 08:00:01 gw dhcpd[811]: DHCPACK on 10.0.0.7 to aa via eth1\n", m, why));
  EXPECT_FALSE(m.rfc5424);
  EXPECT_EQ(m.facility, 3);
  EXPECT_EQ(m.severity, 6);
  EXPECT_FALSE(m.time_ns);  // no year, no zone
  EXPECT_EQ(m.hostname, "gw");
  EXPECT_EQ(m.app, "dhcpd");
  EXPECT_EQ(m.body, "DHCPACK on 10.0.0.7 to aa via eth1");

  ASSERT_TRUE(parse_syslog("<13>Dec  4 17:17:46 root: hello", m, why));  // no HOSTNAME
  EXPECT_EQ(m.hostname, "");
  EXPECT_EQ(m.app, "root");
  EXPECT_EQ(m.body, "hello");
  ASSERT_TRUE(parse_syslog("<13>just text", m, why));  // no header at all
  EXPECT_EQ(m.body, "just text");
  ASSERT_TRUE(parse_syslog("<13>2024-03-04T09:00:00.5+01:00 gw dnsmasq-dhcp[9]: x", m, why));
  ASSERT_TRUE(m.time_ns);
  EXPECT_EQ(*m.time_ns, (kT0 - 3600) * kSec + kSec / 2);
  EXPECT_EQ(m.app, "dnsmasq-dhcp");

  ASSERT_TRUE(parse_syslog("<165>1 2024-03-04T09:00:00.000123Z host app 12 ID47 "
                           "[ex@32473 a=\"x\\]y\" b=\"\\\"\"][t q=\"1\"] \xEF\xBB\xBF" "body text",
                           m, why))
      << why;
  EXPECT_TRUE(m.rfc5424);
  EXPECT_EQ(m.facility, 20);
  EXPECT_EQ(m.severity, 5);
  EXPECT_EQ(*m.time_ns, kT0 * kSec + 123000);
  EXPECT_EQ(m.hostname, "host");
  EXPECT_EQ(m.app, "app");
  EXPECT_EQ(m.body, "body text");
  ASSERT_TRUE(parse_syslog("<13>1 - - - - - -", m, why));
  EXPECT_FALSE(m.time_ns);
  EXPECT_EQ(m.body, "");

  EXPECT_FALSE(parse_syslog("no pri", m, why));
  EXPECT_EQ(why, "no <PRI> at the start");
  EXPECT_FALSE(parse_syslog("<192>x", m, why));
  EXPECT_EQ(why, "bad <PRI>");
  EXPECT_FALSE(parse_syslog("<1", m, why));
  EXPECT_FALSE(parse_syslog("<13>1 yesterday h a - - - m", m, why));
  EXPECT_EQ(why, "bad RFC 5424 TIMESTAMP");
  EXPECT_FALSE(parse_syslog("<13>1 - h a - - [open m", m, why));
  EXPECT_EQ(why, "bad RFC 5424 STRUCTURED-DATA");
  EXPECT_FALSE(parse_syslog("<13>1 - h", m, why));
  EXPECT_EQ(why, "RFC 5424 header incomplete");
}

TEST(SyslogIdentityTest, RoutesBodiesToTheirParsersAndCounts) {
  SharedIdentity ids;
  SyslogIdentity s(ids, test_directory());
  const std::uint64_t now = (kT0 + 30) * kSec;
  // dhcpd over RFC 3164: bound from the arrival.
  s.on_datagram("<30>Mar  4 08:00:01 gw dhcpd[1]: DHCPACK on 10.0.0.7 to 00:16:3e:01:01:01 (alice-laptop) via eth1", now);
  // dnsmasq over RFC 5424: bound from the header's time.
  s.on_datagram("<30>1 2024-03-04T09:00:10Z gw dnsmasq-dhcp 9 - - DHCPACK(br0) 10.0.0.8 00:16:3e:03:03:03 carol-mac", now);
  // A logon and its logoff, as JSON.
  s.on_datagram(R"(<13>1 2024-03-04T09:05:00Z dc01 evt - - - {"TimeCreated":"2024-03-04T09:01:00Z","EventID":4624,"TargetUserName":"CORP\\bob","IpAddress":"10.0.0.7"})", now);
  s.on_datagram(R"(<13>Mar  4 09:30:00 dc01 evt: {"TimeCreated":"2024-03-04T09:20:00Z","EventID":4634,"TargetUserName":"bob","IpAddress":"10.0.0.7"})", now);
  // A renewal, an unknown device, chatter, another event, a logoff nobody logged on.
  s.on_datagram("<30>Mar  4 08:30:01 gw dhcpd[1]: DHCPACK on 10.0.0.7 to 00:16:3e:01:01:01 via eth1", now + kSec);
  s.on_datagram("<30>Mar  4 08:30:02 gw dhcpd[1]: DHCPACK on 10.0.0.9 to aa:bb:cc:dd:ee:ff via eth1", now);
  s.on_datagram("<30>Mar  4 08:30:03 gw dhcpd[1]: DHCPREQUEST for 10.0.0.7 from 00:16:3e:01:01:01", now);
  s.on_datagram(R"(<13>1 - dc01 evt - - - {"TimeCreated":"2024-03-04T09:01:00Z","EventID":4688})", now);
  s.on_datagram(R"(<13>1 - dc01 evt - - - {"TimeCreated":"2024-03-04T09:01:00Z","EventID":4634,"TargetUserName":"zed","IpAddress":"10.0.0.7"})", now);
  // Malformed: no PRI, a DHCPACK in no known form, broken JSON, a 4624 without a time.
  s.on_datagram("DHCPACK on 10.0.0.7 to 00:16:3e:01:01:01", now);
  s.on_datagram("<30>Mar  4 08:30:03 gw dhcpd[1]: DHCPACK garbled", now);
  s.on_datagram(R"(<13>1 - dc01 evt - - - {"EventID":4624,)", now);
  s.on_datagram(R"(<13>1 - dc01 evt - - - {"EventID":4624,"TargetUserName":"bob"})", now);

  EXPECT_EQ(who(ids, "10.0.0.7", now - 1), "-");
  EXPECT_EQ(who(ids, "10.0.0.7", now), "alice/finance");
  EXPECT_EQ(who(ids, "10.0.0.8", (kT0 + 10) * kSec - 1), "-");
  EXPECT_EQ(who(ids, "10.0.0.8", (kT0 + 10) * kSec), "carol/hr");
  EXPECT_EQ(who(ids, "10.0.0.7", (kT0 + 60) * kSec), "bob/sales");
  EXPECT_EQ(who(ids, "10.0.0.7", (kT0 + 20 * 60) * kSec - 1), "bob/sales");
  EXPECT_EQ(who(ids, "10.0.0.7", (kT0 + 20 * 60) * kSec), "alice/finance");
  const SyslogCounters c = s.counters();
  EXPECT_EQ(c.received, 13u);
  EXPECT_EQ(c.bound, 3u);
  EXPECT_EQ(c.ended, 1u);
  EXPECT_EQ(c.renewed, 1u);
  EXPECT_EQ(c.unowned, 1u);
  EXPECT_EQ(c.ignored, 3u);
  EXPECT_EQ(c.bad_frame, 1u);
  EXPECT_EQ(c.bad_dhcp, 1u);
  EXPECT_EQ(c.bad_logon, 2u);
  EXPECT_EQ(c.dropped(), 4u);
}

TEST(SyslogIdentityTest, ANewDirectoryTakesEffectAtTheNextMessage) {
  SharedIdentity ids;
  SyslogIdentity s(ids, Directory{});
  const std::string ack = "<30>1 2024-03-04T09:00:00Z gw dhcpd - - - DHCPACK on 10.0.0.7 to 00:16:3e:01:01:01 via eth1";
  s.on_datagram(ack, 0);
  EXPECT_EQ(s.counters().unowned, 1u);
  s.set_directory(test_directory());  // a reload read a directory that knows the device
  s.on_datagram(ack, 0);
  EXPECT_EQ(s.counters().bound, 1u);
  EXPECT_EQ(who(ids, "10.0.0.7", kT0 * kSec), "alice/finance");
}

// --- over loopback, with the real clients ------------------------------------------------

std::string find_tool(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  for (std::size_t b = 0; b <= p.size();) {
    const std::size_t e = std::min(p.find(':', b), p.size());
    const fs::path cand = fs::path(p.substr(b, e - b)) / name;
    if (!cand.empty() && ::access(cand.c_str(), X_OK) == 0) return cand.string();
    b = e + 1;
  }
  return {};
}

#define REQUIRE_TOOL(var, name, package)                                                   \
  const std::string var = find_tool(name);                                                 \
  ASSERT_FALSE(var.empty()) << name << " not found on PATH: run deploy/install-deps.sh " \
                            << "(it installs the Debian package " << package << ")"

struct Exec {
  int status = -1;
  std::string output;
};

Exec run(const std::string& cmd) {
  Exec r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

template <class F>
bool eventually(F&& f) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return f();
}

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

class LiveIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dlpgate-live-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    secret_file_ = write("radius.secret", std::string(kSecret) + "\n");
    wrong_file_ = write("wrong.secret", "not-the-secret\n");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const auto p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  // radclient: one try, half a second, the secret from a file.
  Exec radclient(const std::string& tool, std::uint16_t port, const std::string& attrs,
                const std::string& secret_file) {
    return run("echo '" + attrs + "' | " + tool + " -x -r 1 -t 0.5 -S " + secret_file +
               " 127.0.0.1:" + std::to_string(port) + " acct");
  }

  fs::path dir_;
  std::string secret_file_, wrong_file_;
  Directory directory_ = test_directory();
};

TEST_F(LiveIdentityTest, RadclientStartInterimStopBindAndEnd) {
  REQUIRE_TOOL(tool, "radclient", "freeradius-utils");
  SharedIdentity ids;
  auto live = start_live_identity({"127.0.0.1:0", secret_file_, ""}, ids, directory_);
  ASSERT_TRUE(live) << live.error().message;
  ASSERT_NE(live->radius(), nullptr);
  EXPECT_EQ(live->syslog(), nullptr);
  const std::uint16_t port = live->radius()->port();
  ASSERT_NE(port, 0);

  const std::string t0 = std::to_string(kT0), t1 = std::to_string(kT0 + 3600);
  Exec r = radclient(tool, port,
                    "User-Name=alice,Framed-IP-Address=10.1.2.3,Acct-Status-Type=Start,"
                    "Acct-Session-Id=s1,Event-Timestamp=" + t0 + ",Calling-Station-Id=00-16-3E-01-01-01",
                    secret_file_);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Received Accounting-Response"), std::string::npos) << r.output;
  EXPECT_EQ(who(ids, "10.1.2.3", kT0 * kSec - 1), "-");
  EXPECT_EQ(who(ids, "10.1.2.3", kT0 * kSec), "alice/finance");

  r = radclient(tool, port,
                "User-Name=alice,Framed-IP-Address=10.1.2.3,Acct-Status-Type=Interim-Update,"
                "Acct-Session-Id=s1,Event-Timestamp=" + std::to_string(kT0 + 600),
                secret_file_);
  EXPECT_EQ(r.status, 0) << r.output;
  r = radclient(tool, port,
                "User-Name=alice,Framed-IP-Address=10.1.2.3,Acct-Status-Type=Stop,"
                "Acct-Session-Id=s1,Event-Timestamp=" + t1,
                secret_file_);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Received Accounting-Response"), std::string::npos) << r.output;
  EXPECT_EQ(who(ids, "10.1.2.3", (kT0 + 3600) * kSec - 1), "alice/finance");
  EXPECT_EQ(who(ids, "10.1.2.3", (kT0 + 3600) * kSec), "-");

  const RadiusCounters c = live->radius()->counters();
  EXPECT_EQ(c.received, 3u);
  EXPECT_EQ(c.answered, 3u);
  EXPECT_EQ(c.bound, 1u);
  EXPECT_EQ(c.unchanged, 1u);
  EXPECT_EQ(c.ended, 1u);
  EXPECT_EQ(c.dropped(), 0u);
}

TEST_F(LiveIdentityTest, AWrongSecretIsRefusedCountedAndUnanswered) {
  REQUIRE_TOOL(tool, "radclient", "freeradius-utils");
  SharedIdentity ids;
  auto live = start_live_identity({"127.0.0.1:0", secret_file_, ""}, ids, directory_);
  ASSERT_TRUE(live) << live.error().message;
  const Exec r = radclient(tool, live->radius()->port(),
                          "User-Name=mallory,Framed-IP-Address=10.1.2.9,Acct-Status-Type=Start,"
                          "Acct-Session-Id=x1",
                          wrong_file_);
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("No reply from server"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Received"), std::string::npos) << r.output;
  ASSERT_TRUE(eventually([&] { return live->radius()->counters().received == 1; }));
  const RadiusCounters c = live->radius()->counters();
  EXPECT_EQ(c.bad_authenticator, 1u);
  EXPECT_EQ(c.answered, 0u);
  EXPECT_EQ(ids.size(), 0u);
  EXPECT_EQ(who(ids, "10.1.2.9", now_ns()), "-");
}

TEST_F(LiveIdentityTest, MalformedDatagramsOverTheSocketAreCountedDrops) {
  SharedIdentity ids;
  auto live = start_live_identity({"127.0.0.1:0", secret_file_, ""}, ids, directory_);
  ASSERT_TRUE(live) << live.error().message;
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  timeval tv{0, 300000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(live->radius()->port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto send = [&](const Bytes& b) {
    ASSERT_EQ(::sendto(fd, b.data(), b.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(b.size()));
  };
  const Bytes good = request(5, {user("alice"), attr_ip("10.1.2.3"), status(kAcctStart), session("g")});
  send(Bytes(good.begin(), good.begin() + 12));                      // truncated
  Bytes bad_len = good;
  bad_len[2] = 0x20, bad_len[3] = 0x00;                              // Length 8192
  send(bad_len);
  send(request(6, {status(kAcctStart), Bytes{1, 40, 'a', 'l'}}));      // attribute past the end
  send(Bytes{});                                                     // empty
  ASSERT_TRUE(eventually([&] { return live->radius()->counters().received == 4; }));
  std::uint8_t reply[64];
  EXPECT_LT(::recv(fd, reply, sizeof reply, 0), 0) << "a malformed datagram was answered";
  RadiusCounters c = live->radius()->counters();
  EXPECT_EQ(c.truncated, 2u);
  EXPECT_EQ(c.bad_length, 1u);
  EXPECT_EQ(c.bad_attribute, 1u);
  EXPECT_EQ(c.answered, 0u);
  // The listener is still serving: a good one is answered with the right authenticator.
  send(good);
  const ssize_t n = ::recv(fd, reply, sizeof reply, 0);
  ASSERT_EQ(n, 20);
  EXPECT_EQ(Bytes(reply, reply + 20), expected_response(good));
  EXPECT_EQ(live->radius()->counters().answered, 1u);
  ::close(fd);
}

TEST_F(LiveIdentityTest, LoggerMessagesInBothFramingsBind) {
  REQUIRE_TOOL(tool, "logger", "bsdutils");
  SharedIdentity ids;
  auto live = start_live_identity({"", "", "127.0.0.1:0"}, ids, directory_);
  ASSERT_TRUE(live) << live.error().message;
  ASSERT_NE(live->syslog(), nullptr);
  const std::string to = tool + " --udp --server 127.0.0.1 --port " + std::to_string(live->syslog()->port());

  const std::uint64_t before = now_ns();
  Exec r = run(to + " --rfc3164 -t dhcpd 'DHCPACK on 10.0.0.7 to 00:16:3e:01:01:01 (alice-laptop) via eth1'");
  ASSERT_EQ(r.status, 0) << r.output;
  r = run(to + " --rfc5424 -t dnsmasq-dhcp 'DHCPACK(br0) 10.0.0.8 00:16:3e:03:03:03 carol-mac'");
  ASSERT_EQ(r.status, 0) << r.output;
  r = run(to + " --rfc5424=notime -t evt "
               "'{\"TimeCreated\":\"2024-03-04T09:01:00Z\",\"EventID\":4624,"
               "\"TargetUserName\":\"CORP\\\\bob\",\"IpAddress\":\"10.0.0.20\"}'");
  ASSERT_EQ(r.status, 0) << r.output;
  r = run(to + " --rfc3164 -t evt "
               "'{\"TimeCreated\":\"2024-03-04T09:31:00Z\",\"EventID\":4634,"
               "\"TargetUserName\":\"bob\",\"IpAddress\":\"10.0.0.20\"}'");
  ASSERT_EQ(r.status, 0) << r.output;
  r = run(to + " --rfc3164 -t dhcpd 'DHCPREQUEST for 10.0.0.7 from 00:16:3e:01:01:01 via eth1'");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_TRUE(eventually([&] { return live->syslog()->counters().received == 5; }))
      << live->syslog()->counters().received;
  const std::uint64_t after = now_ns();

  // The RFC 3164 DHCPACK holds from its arrival; the RFC 5424 one from logger's stamp,
  // which is also between `before` and `after`.
  EXPECT_EQ(who(ids, "10.0.0.7", before - 1), "-");
  EXPECT_EQ(who(ids, "10.0.0.7", after), "alice/finance");
  EXPECT_EQ(who(ids, "10.0.0.8", before - kSec), "-");  // logger's stamp has microseconds
  EXPECT_EQ(who(ids, "10.0.0.8", after), "carol/hr");
  EXPECT_EQ(who(ids, "10.0.0.20", kT0 * kSec + 60 * kSec - 1), "-");
  EXPECT_EQ(who(ids, "10.0.0.20", kT0 * kSec + 60 * kSec), "bob/sales");
  EXPECT_EQ(who(ids, "10.0.0.20", kT0 * kSec + 31 * 60 * kSec - 1), "bob/sales");
  EXPECT_EQ(who(ids, "10.0.0.20", kT0 * kSec + 31 * 60 * kSec), "-");
  const SyslogCounters c = live->syslog()->counters();
  EXPECT_EQ(c.bound, 3u);
  EXPECT_EQ(c.ended, 1u);
  EXPECT_EQ(c.ignored, 1u);
  EXPECT_EQ(c.dropped(), 0u);
}

TEST_F(LiveIdentityTest, HostileSyslogDatagramsAreCountedDropsAndTheReceiverGoesOn) {
  SharedIdentity ids;
  auto live = start_live_identity({"", "", "127.0.0.1:0"}, ids, directory_);
  ASSERT_TRUE(live) << live.error().message;
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(live->syslog()->port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto send = [&](const std::string& b) {
    ASSERT_EQ(::sendto(fd, b.data(), b.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(b.size()));
  };
  // Broken frames.
  send("");
  send("no pri at all");
  send("<999>x");
  send("<13>1 yesterday gw app - - - m");
  send("<13>1 - gw app - - [unclosed");
  // Identity messages that cannot be read.
  send("<30>gw dhcpd: DHCPACK garbled");
  send("<30>DHCPACK on " + std::string(60000, '9') + " to 00:16:3e:01:01:01 via eth1");
  send("<13>1 - dc01 evt - - - {\"EventID\":4624,");
  send("<13>1 - dc01 evt - - - {\"EventID\":4624,\"TimeCreated\":\"soon\",\"TargetUserName\":\"bob\",\"IpAddress\":\"10.0.0.5\"}");
  // Not about identity: deeply nested JSON, binary, NULs.
  send("<13>{\"a\":" + std::string(30000, '[') + std::string(30000, ']') + "}");
  std::string binary = "<13>";
  std::mt19937 rng(7);
  for (int i = 0; i < 4000; ++i) binary += static_cast<char>(rng() % 256);
  send(binary);
  send(std::string("<13>\0\0\0", 7));
  // Still serving.
  send("<30>1 2024-03-04T09:00:00Z gw dhcpd - - - DHCPACK on 10.0.0.7 to 00:16:3e:01:01:01 via eth1");
  ASSERT_TRUE(eventually([&] { return live->syslog()->counters().received == 13; }))
      << live->syslog()->counters().received;
  const SyslogCounters c = live->syslog()->counters();
  EXPECT_EQ(c.bad_frame, 5u);
  EXPECT_EQ(c.bad_dhcp, 2u);
  EXPECT_EQ(c.bad_logon, 2u);
  EXPECT_EQ(c.ignored, 3u);
  EXPECT_EQ(c.bound, 1u);
  EXPECT_EQ(c.internal_errors, 0u);
  EXPECT_EQ(who(ids, "10.0.0.7", kT0 * kSec), "alice/finance");
  EXPECT_EQ(ids.size(), 1u);
  ::close(fd);
}

TEST_F(LiveIdentityTest, SendersOutsideTheAllowListAreDroppedUnread) {
  SharedIdentity ids;
  LiveIdentityConfig cfg{"127.0.0.1:0", secret_file_, "127.0.0.1:0"};
  cfg.radius_allow = {"10.0.0.0/8"};
  cfg.syslog_allow = {"192.0.2.1", "::1"};
  auto live = start_live_identity(cfg, ids, directory_);
  ASSERT_TRUE(live) << live.error().message;
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  timeval tv{0, 300000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto send = [&](std::uint16_t port, const void* p, std::size_t n) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::sendto(fd, p, n, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to), static_cast<ssize_t>(n));
  };
  const Bytes start = request(1, {user("alice"), attr_ip("10.1.2.3"), status(kAcctStart), session("a")});
  send(live->radius()->port(), start.data(), start.size());
  const std::string ack = "<30>1 - gw dhcpd - - - DHCPACK on 10.0.0.7 to 00:16:3e:01:01:01 via eth1";
  send(live->syslog()->port(), ack.data(), ack.size());
  std::uint8_t reply[64];
  EXPECT_LT(::recv(fd, reply, sizeof reply, 0), 0) << "a sender outside radius_allow was answered";
  ASSERT_TRUE(eventually([&] { return live->syslog()->counters().received == 1; }));
  const RadiusCounters rc = live->radius()->counters();
  EXPECT_EQ(rc.received, 1u);
  EXPECT_EQ(rc.not_allowed, 1u);
  EXPECT_EQ(rc.dropped(), 1u);
  EXPECT_EQ(rc.answered, 0u);
  const SyslogCounters sc = live->syslog()->counters();
  EXPECT_EQ(sc.not_allowed, 1u);
  EXPECT_EQ(sc.bound, 0u);
  EXPECT_EQ(ids.size(), 0u);
  ::close(fd);

  LiveIdentityConfig bad{"", "", "127.0.0.1:0"};
  bad.syslog_allow = {"gw.example"};
  auto r = start_live_identity(bad, ids, directory_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "syslog_allow 'gw.example': expected an address or a CIDR, e.g. 10.0.0.5 or 10.0.0.0/24");
}

TEST_F(LiveIdentityTest, StartErrorsAreClearAndNeverShowTheSecret) {
  SharedIdentity ids;
  auto err = [&](LiveIdentityConfig cfg) {
    auto r = start_live_identity(cfg, ids, directory_);
    EXPECT_FALSE(r);
    const std::string m = r ? std::string() : r.error().message;
    EXPECT_EQ(m.find(kSecret), std::string::npos) << m;
    return m;
  };
  const std::string expect_form = "expected ADDRESS:PORT with a numeric address, e.g. 127.0.0.1:1813 or [::1]:1813";
  EXPECT_EQ(err({"localhost:1813", secret_file_, ""}), "radius_listen 'localhost:1813': " + expect_form);
  EXPECT_EQ(err({"127.0.0.1", secret_file_, ""}), "radius_listen '127.0.0.1': " + expect_form);
  EXPECT_EQ(err({"127.0.0.1:70000", secret_file_, ""}), "radius_listen '127.0.0.1:70000': " + expect_form);
  EXPECT_EQ(err({"::1:1813", secret_file_, ""}), "radius_listen '::1:1813': " + expect_form);
  EXPECT_EQ(err({"", "", "10.0.0.1:x"}), "syslog_listen '10.0.0.1:x': " + expect_form);
  EXPECT_EQ(err({"192.0.2.77:1813", secret_file_, ""}),
            "radius_listen '192.0.2.77:1813': the address is not one of this host's");

  // A port someone else holds.
  const dlp::testing::BoundPort taken = dlp::testing::bind_loopback(SOCK_DGRAM);
  ASSERT_GE(taken.fd, 0);
  const int fd = taken.fd;
  const std::string held = std::to_string(taken.port);
  EXPECT_EQ(err({"127.0.0.1:" + held, secret_file_, ""}),
            "radius_listen '127.0.0.1:" + held + "': port " + held + " is already in use");
  EXPECT_EQ(err({"", "", "127.0.0.1:" + held}),
            "syslog_listen '127.0.0.1:" + held + "': port " + held + " is already in use");
  // All or nothing: RADIUS started, syslog could not, so RADIUS is stopped and its port free.
  const std::string free_port = std::to_string(dlp::testing::free_loopback_port(SOCK_DGRAM));
  err({"127.0.0.1:" + free_port, secret_file_, "127.0.0.1:" + held});
  auto again = start_live_identity({"127.0.0.1:" + free_port, secret_file_, ""}, ids, directory_);
  EXPECT_TRUE(again) << again.error().message;
  ::close(fd);

  // The secret file.
  EXPECT_EQ(err({"127.0.0.1:0", "", ""}),
            "radius_listen '127.0.0.1:0': radius_secret_file is required (the shared secret is read from a file)");
  EXPECT_EQ(err({"", secret_file_, ""}), "radius_secret_file '" + secret_file_ + "': set, but radius_listen is not");
  EXPECT_EQ(err({"127.0.0.1:0", (dir_ / "missing").string(), ""}),
            "radius_secret_file '" + (dir_ / "missing").string() + "': cannot open: No such file or directory");
  EXPECT_EQ(err({"127.0.0.1:0", dir_.string(), ""}),
            "radius_secret_file '" + dir_.string() + "': cannot read: Is a directory");
  const std::string empty = write("empty.secret", "\n");
  EXPECT_EQ(err({"127.0.0.1:0", empty, ""}), "radius_secret_file '" + empty + "': empty");
  const std::string two = write("two.secret", std::string(kSecret) + "\nsecond\n");
  EXPECT_EQ(err({"127.0.0.1:0", two, ""}),
            "radius_secret_file '" + two + "': more than one line (the secret is the file's one line)");
  auto crlf = read_secret_file(write("crlf.secret", std::string(kSecret) + "\r\n"));
  ASSERT_TRUE(crlf);
  EXPECT_EQ(*crlf, kSecret);

  // Both off: nothing runs, which is not an error.
  auto none = start_live_identity({}, ids, directory_);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->radius(), nullptr);
  EXPECT_EQ(none->syslog(), nullptr);
}

TEST_F(LiveIdentityTest, StopReturnsPromptlyAndFreesThePorts) {
  SharedIdentity ids;
  auto live = start_live_identity({"127.0.0.1:0", secret_file_, "[::1]:0"}, ids, directory_);
  ASSERT_TRUE(live) << live.error().message;
  const std::string radius = "127.0.0.1:" + std::to_string(live->radius()->port());
  const std::string syslog = "[::1]:" + std::to_string(live->syslog()->port());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // both threads in poll()
  const auto t = std::chrono::steady_clock::now();
  live->stop();
  live->stop();  // idempotent
  EXPECT_LT(std::chrono::steady_clock::now() - t, std::chrono::milliseconds(200));
  *live = LiveIdentity();  // closes the sockets
  auto again = start_live_identity({radius, secret_file_, syslog}, ids, directory_);
  EXPECT_TRUE(again) << again.error().message;
}

}  // namespace
}  // namespace dlp::mgmt
