// Capture in, findings out: `dlpgate scan` (run_scan, in process) on captures built by our
// own generator, asserting the exact findings: every planted value found once, in the
// right flow, attributed to the right user, never a decoy, never a cleartext value.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/dlp/bytes.h"
#include "mgmt/scan.h"
#include "signatures/edm.h"
#include "tests/gen/frames.h"
#include "tests/gen/payloads.h"
#include "tests/gen/pcap_writer.h"
#include "tests/gen/scenario.h"
#include "tests/gen/tcp_conversation.h"
#include "tests/integration/scan_fixture.h"

namespace dlp {
namespace {

using namespace itest;  // NOLINT: the shared fixture
using testgen::Side;
namespace fs = std::filesystem;
using nlohmann::json;

class ScanTest : public ScanFixture {};

// ---------------------------------------------------------------- the sample capture

TEST_F(ScanTest, SampleCaptureFindsEveryPlantedValueAndNoDecoy) {
  const std::string cap = path("sample.pcap");
  const auto truth = testgen::write_sample_capture(cap, 7);
  {
    std::ofstream(path("identity.csv")) << testgen::sample_identity_csv();
  }
  mgmt::ScanOptions o;
  o.identity_csv = path("identity.csv");
  ScanRun r = scan({cap}, o);
  ASSERT_EQ(r.rc, 0) << r.errors;

  // Expected findings: one per (category, client, client port, url), counting plants.
  std::map<std::tuple<std::string, std::string, int, std::string>, int> want, got;
  std::map<std::tuple<std::string, std::string, int, std::string>, std::vector<std::string>>
      want_masked;
  int decoys = 0;
  for (const auto& p : truth) {
    if (!p.expect_finding) {
      ++decoys;
      continue;
    }
    auto key = std::make_tuple(p.category, p.src_ip, static_cast<int>(p.src_port), p.http_url);
    ++want[key];
    if (p.category == "credit_card") want_masked[key].push_back(masked_card(p.value));
  }
  ASSERT_GE(want.size(), 6u) << "the sample capture plants in at least six ways";
  ASSERT_GE(decoys, 2) << "the sample capture carries decoys";

  std::map<std::string, std::string> user_of;
  {
    std::istringstream csv(testgen::sample_identity_csv());
    std::string line;
    std::getline(csv, line);
    while (std::getline(csv, line)) {
      auto c1 = line.find(','), c2 = line.find(',', c1 + 1);
      user_of[line.substr(0, c1)] = line.substr(c1 + 1, c2 - c1 - 1);
    }
  }
  for (const auto& f : r.findings) {
    auto key = std::make_tuple(f["category"].get<std::string>(), f["src_ip"].get<std::string>(),
                               f["src_port"].get<int>(), f.value("http.url", std::string()));
    got[key] += f["count"].get<int>();
    ASSERT_TRUE(user_of.count(f["src_ip"])) << f.dump();
    EXPECT_EQ(f["user"], user_of[f["src_ip"]]) << f.dump();
    if (want_masked.count(key)) {
      for (const auto& m : want_masked[key]) {
        const auto& masked = f["masked"];
        EXPECT_NE(std::find(masked.begin(), masked.end(), m), masked.end()) << f.dump();
      }
    }
    EXPECT_EQ(f["app"], "http") << f.dump();
  }
  EXPECT_EQ(got, want);
  for (const auto& p : truth) expect_never_in_clear(r, p.value);
  EXPECT_NE(r.summary.find("findings   " + std::to_string(r.findings.size())), std::string::npos)
      << r.summary;
}

TEST_F(ScanTest, SampleCaptureAsPcapngGivesTheSameFindings) {
  const auto truth_a = testgen::write_sample_capture(path("a.pcap"), 3, testgen::Format::kPcap);
  const auto truth_b =
      testgen::write_sample_capture(path("b.pcapng"), 3, testgen::Format::kPcapng);
  ScanRun a = scan({path("a.pcap")});
  std::vector<json> fa = a.findings;
  ScanRun b = scan({path("b.pcapng")});
  ASSERT_EQ(a.rc, 0);
  ASSERT_EQ(b.rc, 0);
  ASSERT_EQ(fa.size(), b.findings.size());
  for (std::size_t i = 0; i < fa.size(); ++i) {
    for (const char* k : {"time", "detector", "count", "masked", "src_ip", "src_port", "http.url"})
      EXPECT_EQ(fa[i].value(k, json()), b.findings[i].value(k, json())) << k;
  }
}

// ---------------------------------------------------------------- evasions, one at a time

TEST_F(ScanTest, CardSplitAtEverySegmentBoundaryIsFoundOnce) {
  std::mt19937_64 rng(11);
  const std::string card = testgen::make_card(rng, testgen::CardBrand::kVisa);
  const std::string body = "name=alice&card=" + card + "&note=thanks";
  const std::string req = testgen::http_post("shop.example", "/pay", body);
  const std::size_t at = req.find(card);
  std::vector<testgen::Packet> all;
  std::uint16_t port = 41000;
  for (std::size_t cut = at; cut <= at + card.size(); ++cut) {
    testgen::TcpConversation c(client("10.1.0.10", port++));
    c.handshake();
    const std::size_t cuts[] = {cut};
    c.send_cut(Side::kClient, as_bytes(req), cuts);
    c.fin();
    auto p = c.take_packets();
    all.insert(all.end(), p.begin(), p.end());
  }
  ScanRun r = scan({write("split.pcap", all)});
  ASSERT_EQ(r.rc, 0) << r.errors;
  ASSERT_EQ(r.findings.size(), card.size() + 1);
  for (const auto& f : r.findings) {
    EXPECT_EQ(f["category"], "credit_card");
    EXPECT_EQ(f["count"], 1);
    EXPECT_EQ(f["masked"], json::array({masked_card(card)}));
    EXPECT_EQ(f["http.url"], "/pay");
  }
}

TEST_F(ScanTest, OutOfOrderAndRetransmittedSegmentsGiveOneFinding) {
  std::mt19937_64 rng(12);
  const std::string ssn = testgen::make_ssn(rng);
  const std::string body = testgen::benign_text(rng, 3000) + " ssn " + ssn + " " +
                           testgen::benign_text(rng, 3000);
  testgen::TcpConversation c(client("10.1.0.11", 42000));
  c.handshake();
  c.send(Side::kClient, testgen::http_post("hr.example", "/upload", body, "text/plain"), 500);
  c.fin();
  auto pkts = c.take_packets();
  // Reverse every data segment of the client, and send each one twice.
  std::vector<testgen::Packet> data, rest, out;
  for (std::size_t i = 3; i < pkts.size(); ++i) {
    if (pkts[i].frame.size() > 80) data.push_back(pkts[i]);
  }
  out.assign(pkts.begin(), pkts.begin() + 3);
  for (auto it = data.rbegin(); it != data.rend(); ++it) {
    out.push_back(*it);
    out.push_back(*it);
  }
  for (std::size_t i = 3; i < pkts.size(); ++i)
    if (pkts[i].frame.size() <= 80) out.push_back(pkts[i]);
  for (std::size_t i = 0; i < out.size(); ++i) out[i].ts_ns = 1'709'542'800'000'000'000ull + i;
  ScanRun r = scan({write("ooo.pcap", out)});
  ASSERT_EQ(r.rc, 0) << r.errors;
  ASSERT_EQ(r.findings.size(), 1u) << r.raw;
  EXPECT_EQ(r.findings[0]["category"], "us_ssn");
  EXPECT_EQ(r.findings[0]["count"], 1);
  EXPECT_EQ(r.findings[0]["masked"], json::array({"*****" + ssn.substr(7)}));
  expect_never_in_clear(r, ssn);
}

// An evasion: a decoy segment is sent first for the same sequence range, then the real
// one, longer, from the same start. A Linux receiver keeps the later, longer segment, so
// that is what the server application reads, and what we must scan.
TEST_F(ScanTest, OverlapPolicyDecidesWhatIsScanned) {
  std::mt19937_64 rng(13);
  const std::string card = testgen::make_card(rng, testgen::CardBrand::kMastercard);
  const std::string req =
      testgen::http_post("paste.example", "/p", "data=" + card + "&x=1", "text/plain");
  const std::size_t at = req.find(card);
  testgen::TcpConversation c(client("10.1.0.12", 43000));
  c.handshake();
  std::vector<testgen::Packet> pkts = c.take_packets();
  const auto bytes = as_bytes(req);
  // Hole at [0, at): the rest arrives first, decoy before real.
  const std::string decoy(card.size(), 'x');
  pkts.push_back(c.segment_at(Side::kClient, static_cast<std::uint32_t>(at), as_bytes(decoy)));
  pkts.push_back(c.segment_at(Side::kClient, static_cast<std::uint32_t>(at),
                              bytes.subspan(at)));
  pkts.push_back(c.segment_at(Side::kClient, 0, bytes.subspan(0, at)));
  for (std::size_t i = 0; i < pkts.size(); ++i) pkts[i].ts_ns = 1'709'542'800'000'000'000ull + i;
  const std::string cap = write("overlap.pcap", pkts);

  ScanRun linux_run = scan({cap});
  ASSERT_EQ(linux_run.rc, 0);
  ASSERT_EQ(linux_run.findings.size(), 1u) << linux_run.raw;
  EXPECT_EQ(linux_run.findings[0]["category"], "credit_card");

  mgmt::ScanOptions first;
  first.overlap_policy = "first";
  ScanRun first_run = scan({cap}, first);
  ASSERT_EQ(first_run.rc, 0);
  EXPECT_TRUE(first_run.findings.empty()) << "under 'first' the decoy bytes win";
  EXPECT_NE(first_run.summary.find("overlaps 1"), std::string::npos) << first_run.summary;
}

TEST_F(ScanTest, ChunkedBodyWithCardAcrossChunksAndPipelinedRequests) {
  std::mt19937_64 rng(14);
  const std::string card1 = testgen::make_card(rng, testgen::CardBrand::kAmex);
  const std::string card2 = testgen::make_card(rng, testgen::CardBrand::kDiscover);
  std::string body = testgen::benign_form(rng, 4) + "&cc=" + testgen::format_card(card1, ' ');
  // chunk size chosen so the card straddles a chunk boundary
  const std::size_t chunk = body.size() - 6;
  std::string reqs = testgen::http_post("api.example", "/one", body, "text/plain", true, chunk) +
                     testgen::http_post("api.example", "/two", "cc=" + card2, "text/plain");
  ScanRun r = scan({write("chunked.pcap", upload(client("10.1.0.13", 44000), reqs, 700))});
  ASSERT_EQ(r.rc, 0) << r.errors;
  ASSERT_EQ(r.findings.size(), 2u) << r.raw;
  std::map<std::string, json> by_url;
  for (const auto& f : r.findings) by_url[f["http.url"]] = f;
  EXPECT_EQ(by_url["/one"]["masked"], json::array({masked_card(card1)}));
  EXPECT_EQ(by_url["/two"]["masked"], json::array({masked_card(card2)}));
  EXPECT_EQ(by_url["/one"]["http.method"], "POST");
  EXPECT_EQ(by_url["/one"]["http.host"], "api.example");
}

TEST_F(ScanTest, Ipv6WithExtensionHeadersAndQinQAndFragmentsAreInspected) {
  std::mt19937_64 rng(15);
  const std::string key1 = testgen::make_aws_key_id(rng);
  const std::string key2 = testgen::make_aws_key_id(rng);
  const std::string key3 = testgen::make_aws_key_id(rng);
  std::vector<testgen::Packet> all;

  auto v6 = client("2001:db8:10::20", 45000, "2001:db8:ff::80");
  v6.ip.ipv6_ext_headers = true;
  auto p = upload(v6, testgen::http_post("v6.example", "/k", "key=" + key1));
  all.insert(all.end(), p.begin(), p.end());

  auto qinq = client("10.1.0.14", 45001);
  qinq.l2.vlans = {300, 12};
  p = upload(qinq, testgen::http_post("vlan.example", "/k", "key=" + key2));
  all.insert(all.end(), p.begin(), p.end());

  // The request travels in one segment cut into IPv4 fragments of 64 bytes, in reverse.
  auto fr = client("10.1.0.10", 45002);
  testgen::TcpConversation c(fr);
  c.handshake();
  c.send(Side::kClient, testgen::http_post("frag.example", "/k", "key=" + key3), 1460);
  c.fin();
  p = c.take_packets();
  for (auto& pkt : p) {
    if (pkt.frame.size() > 200) {
      auto frags = testgen::fragment_frame(pkt.frame, 64);
      for (auto it = frags.rbegin(); it != frags.rend(); ++it) all.push_back({pkt.ts_ns, *it});
    } else {
      all.push_back(pkt);
    }
  }
  ScanRun r = scan({write("l2l3.pcap", all)});
  ASSERT_EQ(r.rc, 0) << r.errors;
  ASSERT_EQ(r.findings.size(), 3u) << r.raw;
  std::map<std::string, json> by_host;
  for (const auto& f : r.findings) by_host[f["http.host"]] = f;
  EXPECT_EQ(by_host["v6.example"]["src_ip"], "2001:db8:10::20");
  EXPECT_EQ(by_host["v6.example"]["masked"], json::array({std::string(16, '*') + key1.substr(16)}));
  EXPECT_EQ(by_host["vlan.example"]["src_ip"], "10.1.0.14");
  EXPECT_EQ(by_host["frag.example"]["src_ip"], "10.1.0.10");
  EXPECT_EQ(by_host["frag.example"]["category"], "aws_access_key");
  EXPECT_NE(r.summary.find("reassembled"), std::string::npos);
}

TEST_F(ScanTest, MidstreamPickupAndSequenceWrap) {
  std::mt19937_64 rng(16);
  const std::string card = testgen::make_card(rng, testgen::CardBrand::kMastercard2);
  auto cfg = client("10.1.0.11", 46000);
  cfg.client_isn = 0xFFFFFF00u;  // the stream crosses 2^32 within the first segments
  testgen::TcpConversation wrap(cfg);
  wrap.handshake();
  wrap.send(Side::kClient,
            testgen::http_post("w.example", "/w", testgen::benign_text(rng, 400) + card), 100);
  wrap.fin();
  auto all = wrap.take_packets();

  testgen::TcpConversation mid(client("10.1.0.12", 46001));  // no handshake seen
  mid.send(Side::kClient, testgen::http_post("m.example", "/m", "cc=" + card), 1460);
  mid.fin();
  auto p = mid.take_packets();
  all.insert(all.end(), p.begin(), p.end());
  ScanRun r = scan({write("wrap.pcap", all)});
  ASSERT_EQ(r.rc, 0) << r.errors;
  ASSERT_EQ(r.findings.size(), 2u) << r.raw;
  EXPECT_NE(r.summary.find("midstream 1"), std::string::npos) << r.summary;
}

// A value in the URL is found in the URL's own content stream; the URL in every finding
// (and the host, the user agent) is written with the value masked, never in clear.
TEST_F(ScanTest, ValuesInTheUrlAreMaskedInTheFindingsMetadata) {
  std::mt19937_64 rng(20);
  const std::string card = testgen::make_card(rng, testgen::CardBrand::kVisa);
  const std::string ssn = testgen::make_ssn(rng);
  const std::string url = "/search?cc=" + card + "&q=shoes";
  const std::string req = testgen::http_post("shop.example", url, "ssn=" + ssn, "text/plain");
  ScanRun r = scan({write("url.pcap", upload(client("10.1.0.10", 47100), req))});
  ASSERT_EQ(r.rc, 0) << r.errors;
  ASSERT_EQ(r.findings.size(), 2u) << r.raw;
  const std::string masked_url = "/search?cc=" + masked_card(card) + "&q=shoes";
  for (const auto& f : r.findings) EXPECT_EQ(f["http.url"], masked_url) << f.dump();
  expect_never_in_clear(r, card);
  expect_never_in_clear(r, ssn);
}

// Encoding tricks: the number is written in full-width digits, split by zero-width
// spaces, sent as UTF-16LE, or as HTML numeric references. The normaliser undoes each
// before the scan, so every one is found; with normalisation off, none is.
TEST_F(ScanTest, EncodingEvasionsAreNormalisedBeforeTheScan) {
  std::mt19937_64 rng(21);
  std::vector<std::string> cards;
  for (int i = 0; i < 4; ++i) cards.push_back(testgen::make_card(rng, testgen::CardBrand::kVisa));
  auto fullwidth = [](const std::string& digits) {
    std::string out;
    for (char c : digits) out += "\xEF\xBC" + std::string(1, static_cast<char>(0x90 + (c - '0')));
    return out;  // U+FF10..FF19
  };
  auto zero_width = [](const std::string& digits) {
    std::string out;
    for (char c : digits) out += std::string(1, c) + "\xE2\x80\x8B";  // U+200B
    return out;
  };
  auto utf16le = [](const std::string& ascii) {
    std::string out = "\xFF\xFE";
    for (char c : ascii) out += std::string(1, c) + '\0';
    return out;
  };
  auto entities = [](const std::string& digits) {
    std::string out;
    for (char c : digits) out += "&#" + std::to_string(static_cast<int>(c)) + ";";
    return out;
  };
  const std::vector<std::string> bodies = {
      "card " + fullwidth(cards[0]), "card " + zero_width(cards[1]),
      utf16le("payment card " + cards[2] + " exp 12/29"), "<p>card " + entities(cards[3]) + "</p>"};
  std::vector<testgen::Packet> all;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    auto p = upload(client("10.1.0.10", static_cast<std::uint16_t>(47200 + i)),
                    testgen::http_post("e.example", "/e" + std::to_string(i), bodies[i],
                                       "application/octet-stream"));
    all.insert(all.end(), p.begin(), p.end());
  }
  const std::string cap = write("evasion.pcap", all);
  ScanRun r = scan({cap});
  ASSERT_EQ(r.rc, 0) << r.errors;
  ASSERT_EQ(r.findings.size(), 4u) << r.raw;
  std::map<std::string, json> by_url;
  for (const auto& f : r.findings) by_url[f["http.url"]] = f;
  for (std::size_t i = 0; i < cards.size(); ++i) {
    EXPECT_EQ(by_url["/e" + std::to_string(i)]["masked"], json::array({masked_card(cards[i])}))
        << i;
    expect_never_in_clear(r, cards[i]);
  }
  mgmt::ScanOptions raw;
  raw.normalize = false;
  ScanRun off = scan({cap}, raw);
  EXPECT_TRUE(off.findings.empty()) << off.raw;
}

// Exact data match: a customer table indexed as keyed hashes; an upload carrying three
// fields of one row gives one customer_record finding, two fields give none.
TEST_F(ScanTest, ExactDataMatchFindsACustomerRowWithoutKeepingItInClear) {
  std::ofstream csv(path("customers.csv"));
  csv << "customer_id,full_name,email,phone,account\n";
  for (int i = 0; i < 1000; ++i) {
    csv << "C" << 100000 + i << ",Person" << i << " Example" << i % 37 << ",person" << i
        << "@mail.example,+1 555 " << 1000000 + i * 7 << "," << 900000000 + i * 13 << "\n";
  }
  csv.close();
  auto built = signatures::EdmIndex::build_from_csv(path("customers.csv"), {});
  ASSERT_TRUE(built.ok()) << built.error().message;
  ASSERT_TRUE(built->save(path("customers.edm")).ok());

  // Row 421: its name, e-mail and account number in a pasted note; row 422: two fields.
  // (Form-encoded bodies are percent-decoded by the HTTP inspector of the next milestone.)
  const std::string three = "Customer: Person421 Example14\nEmail: person421@mail.example\n"
                            "Account: " + std::to_string(900000000 + 421 * 13) + "\n";
  const std::string two = "contact person422@mail.example, phone 555-" +
                          std::to_string(1000000 + 422 * 7);
  std::vector<testgen::Packet> all = upload(client("10.1.0.12", 47300),
                                            testgen::http_post("crm.example", "/a", three, "text/plain"));
  auto p = upload(client("10.1.0.12", 47301), testgen::http_post("crm.example", "/b", two, "text/plain"));
  all.insert(all.end(), p.begin(), p.end());
  mgmt::ScanOptions o;
  o.edm_index = path("customers.edm");
  ScanRun r = scan({write("edm.pcap", all)}, o);
  ASSERT_EQ(r.rc, 0) << r.errors;
  std::vector<json> rows;
  for (const auto& f : r.findings)
    if (f["category"] == "customer_record") rows.push_back(f);
  ASSERT_EQ(rows.size(), 1u) << r.raw;
  EXPECT_EQ(rows[0]["http.url"], "/a");
  EXPECT_EQ(rows[0]["detector"], "edm.customer_record");
  EXPECT_GE(rows[0]["count"].get<int>(), 3);
  expect_never_in_clear(r, "person421@mail.example");
  expect_never_in_clear(r, std::to_string(900000000 + 421 * 13));
}

// ---------------------------------------------------------------- decoys and exit status

TEST_F(ScanTest, DecoysGiveNoFindingAndExitZeroEvenWithFailOnFindings) {
  std::mt19937_64 rng(17);
  std::string body;
  for (auto brand : testgen::kAllCardBrands) body += testgen::make_luhn_invalid_card(rng, brand) + " ";
  for (auto defect : testgen::kAllSsnDefects) body += testgen::make_invalid_ssn(rng, defect) + " ";
  body += testgen::benign_text(rng, 20000);
  // (testgen::contains_sensitive is stricter than a scanner: it also flags a Luhn-valid
  // sub-run inside a longer digit run, which a decoy may contain; \b keeps us from it.)
  mgmt::ScanOptions o;
  o.fail_on_findings = true;
  ScanRun r = scan({write("decoys.pcap", upload(client("10.1.0.10", 47000),
                                                testgen::http_post("x.example", "/d", body)))},
                   o);
  EXPECT_EQ(r.rc, 0) << r.errors;
  EXPECT_TRUE(r.findings.empty()) << r.raw;
}

TEST_F(ScanTest, FailOnFindingsExitsOne) {
  std::mt19937_64 rng(18);
  mgmt::ScanOptions o;
  o.fail_on_findings = true;
  const std::string req =
      testgen::http_post("x.example", "/c", "c=" + testgen::make_card(rng, testgen::CardBrand::kVisa));
  ScanRun r = scan({write("one.pcap", upload(client("10.1.0.10", 47001), req))}, o);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.findings.size(), 1u);
}

TEST_F(ScanTest, SeveralFilesInOrderAndATruncatedOneIsReportedWithItsPacketNumber) {
  std::mt19937_64 rng(19);
  const std::string c1 = testgen::make_card(rng, testgen::CardBrand::kVisa);
  const std::string c2 = testgen::make_card(rng, testgen::CardBrand::kVisa);
  // One connection cut across two files: the flow continues in the second file.
  testgen::TcpConversation c(client("10.1.0.10", 48000));
  c.handshake();
  c.send(Side::kClient, testgen::http_post("a.example", "/a", "cc=" + c1), 1460);
  auto first = c.take_packets();
  c.fin();
  auto second = c.take_packets();
  const std::string f1 = write("part1.pcapng", first, testgen::Format::kPcapng);
  const std::string f2 = write("part2.pcap", second);
  // A third file: one upload (handshake, request, the server's ACK, ...), cut in the
  // middle of its 5th record.
  auto third_pkts = upload(client("10.1.0.11", 48001), testgen::http_post("b.example", "/b", "cc=" + c2));
  third_pkts.resize(8);
  const std::string f3 = write("part3.pcap", third_pkts);
  testgen::truncate_capture_mid_record(f3, 4, 20);
  ScanRun r = scan({f1, f2, path("missing.pcap"), f3});
  EXPECT_EQ(r.rc, 2);
  // The upload in part3 was complete before the cut: it is still found.
  ASSERT_EQ(r.findings.size(), 2u) << r.raw;
  EXPECT_EQ(r.findings[0]["http.host"], "a.example");
  EXPECT_EQ(r.findings[1]["http.host"], "b.example");
  EXPECT_NE(r.errors.find("missing.pcap"), std::string::npos) << r.errors;
  EXPECT_NE(r.errors.find(f3 + ": packet 5"), std::string::npos) << r.errors;
  EXPECT_NE(r.summary.find("packets    "), std::string::npos);
}

TEST_F(ScanTest, UsageErrorsExitTwo) {
  mgmt::ScanOptions o;
  std::ostringstream out, err;
  EXPECT_EQ(mgmt::run_scan(o, out, err), 2);
  o.captures = {path("nothing.pcap")};
  o.identity_csv = path("no-identity.csv");
  EXPECT_EQ(mgmt::run_scan(o, out, err), 2);
  EXPECT_NE(err.str().find("no-identity.csv: cannot open identity file"), std::string::npos);
  o.identity_csv.clear();
  o.overlap_policy = "bsd-right";
  EXPECT_EQ(mgmt::run_scan(o, out, err), 2);
  EXPECT_NE(err.str().find("unknown overlap policy 'bsd-right'"), std::string::npos);
}

}  // namespace
}  // namespace dlp
