// Scenario self-tests: the sample capture read back with libpcap, every checksum
// recomputed, each flow's client stream rebuilt by the independent test parser (with IP
// defragmentation and reordering), and every planted value found where the truth says and
// travelling the way its note says. The bench capture is checked at a small size.
#include "tests/gen/scenario.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/gen/payloads.h"
#include "tests/gen/selftest/testutil.h"

namespace dlp::testgen {
namespace {

std::string addr_hex(const std::string& text) {
  std::uint8_t buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) return testutil::hex({buf, buf + 4});
  EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), buf), 1) << text;
  return testutil::hex({buf, buf + 16});
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string dechunk(const std::string& body) {
  std::string out, rest = body;
  for (;;) {
    const std::size_t eol = rest.find("\r\n");
    if (eol == std::string::npos) return out;
    const std::size_t n = std::stoul(rest.substr(0, eol), nullptr, 16);
    if (n == 0) return out;
    out += rest.substr(eol + 2, n);
    rest = rest.substr(eol + 4 + n);
  }
}

struct FlowView {
  std::string client_stream;        // rebuilt by sequence offset
  std::vector<std::uint32_t> seqs;  // data segment sequence numbers in capture order
  bool any_fragment = false, any_vlan = false, v6 = false;
  std::vector<std::string> frame_payloads;  // raw frames' TCP payloads (non-fragments)
};

// Flows keyed "srchex:sport>dsthex:dport" (client → server).
std::map<std::string, FlowView> flows_of(const testutil::Capture& cap) {
  std::map<std::string, FlowView> flows;
  std::map<std::string, std::map<std::uint32_t, std::string>> segs;
  std::map<std::string, std::uint32_t> isn;
  for (const auto& f : testutil::parse_all_with_defrag(cap.records)) {
    if (f.proto != 6 || !f.has_l4) continue;
    const std::string key = f.src + ":" + std::to_string(f.sport) + ">" + f.dst + ":" + std::to_string(f.dport);
    auto& fv = flows[key];
    fv.v6 = f.v6;
    fv.any_fragment = fv.any_fragment || f.is_fragment;
    fv.any_vlan = fv.any_vlan || !f.tag_types.empty();
    if (f.flags & 0x02) isn[key] = f.seq;
    if (f.payload.empty()) continue;
    fv.seqs.push_back(f.seq);
    if (!f.is_fragment) fv.frame_payloads.emplace_back(f.payload.begin(), f.payload.end());
    segs[key].emplace(f.seq, std::string(f.payload.begin(), f.payload.end()));
  }
  for (auto& [key, by_seq] : segs) {
    // Offsets relative to ISN + 1 (modulo 2^32), as the stream starts there.
    const std::uint32_t base = isn.count(key) ? isn[key] + 1 : by_seq.begin()->first;
    std::map<std::uint32_t, std::string> by_off;
    for (auto& [seq, data] : by_seq) by_off.emplace(seq - base, data);
    std::string out;
    for (const auto& [off, data] : by_off) {
      if (off > out.size()) break;
      if (off + data.size() > out.size()) out += data.substr(out.size() - off);
    }
    flows[key].client_stream = out;
  }
  return flows;
}

class testgen_sample_capture : public ::testing::TestWithParam<Format> {};

TEST_P(testgen_sample_capture, PlantedValuesTravelAsTheTruthSays) {
  const std::string path = testutil::temp_path(GetParam() == Format::kPcap ? "s.pcap" : "s.pcapng");
  const auto truth = write_sample_capture(path, 42, GetParam());
  const auto cap = testutil::read_capture(path);
  ASSERT_EQ(cap.last_status, -2) << cap.error;
  EXPECT_GE(cap.records.size(), 200u);
  EXPECT_LE(cap.records.size(), 1000u);

  std::uint64_t prev_ts = 0;
  std::size_t tcp = 0, udp = 0, frags = 0;
  for (const auto& r : cap.records) {
    EXPECT_EQ(r.caplen, r.len);
    EXPECT_GE(r.ts_ns, prev_ts) << "timestamps do not go backwards";
    prev_ts = r.ts_ns;
    const auto f = testutil::parse(r.data);
    ASSERT_TRUE(f.ethertype == 0x0800 || f.ethertype == 0x86dd);
    EXPECT_TRUE(f.ip_checksum_ok);
    if (f.is_fragment) {
      ++frags;
      continue;
    }
    ASSERT_TRUE(f.has_l4);
    EXPECT_TRUE(f.l4_checksum_ok);
    (f.proto == 6 ? tcp : udp)++;
  }
  EXPECT_GE(frags, 2u);
  EXPECT_GE(udp, 4u);  // DNS queries and answers

  const auto flows = flows_of(cap);
  std::set<std::string> notes;
  std::size_t expected = 0, decoys = 0;
  for (const Planted& p : truth) {
    SCOPED_TRACE(p.note + " " + p.value);
    const std::string key = addr_hex(p.src_ip) + ":" + std::to_string(p.src_port) + ">" +
                            addr_hex(p.dst_ip) + ":" + std::to_string(p.dst_port);
    ASSERT_TRUE(flows.count(key)) << key;
    const FlowView& fv = flows.at(key);
    const std::string& stream = fv.client_stream;
    const std::size_t hdr_end = stream.find("\r\n\r\n");
    ASSERT_NE(hdr_end, std::string::npos);
    EXPECT_EQ(stream.rfind("POST " + p.http_url + " HTTP/1.1\r\nHost: " + p.http_host + "\r\n", 0), 0u);
    std::string body = stream.substr(hdr_end + 4);
    if (p.note == "chunked") {
      EXPECT_NE(stream.find("Transfer-Encoding: chunked"), std::string::npos);
      EXPECT_EQ(body.find(p.value), std::string::npos) << "a chunk boundary splits the value";
      body = dechunk(body);
    }
    EXPECT_NE(body.find(p.value), std::string::npos);

    std::string digits;
    for (char c : p.value) if (c >= '0' && c <= '9') digits += c;
    if (p.category == "credit_card") {
      EXPECT_EQ(luhn_valid(digits), p.expect_finding);
    } else if (p.category == "us_ssn") {
      EXPECT_EQ(ssn_valid(p.value), p.expect_finding);
    } else {
      ASSERT_EQ(p.category, "aws_access_key");
      EXPECT_TRUE(aws_key_id_valid(p.value));
    }
    (p.expect_finding ? expected : decoys)++;
    notes.insert(p.note);

    bool in_one_frame = false;
    for (const auto& fp : fv.frame_payloads) in_one_frame = in_one_frame || fp.find(p.value) != std::string::npos;
    if (p.note == "split_segments") {
      EXPECT_FALSE(in_one_frame);
    }
    if (p.note == "ipv4_fragments") {
      EXPECT_TRUE(fv.any_fragment);
      EXPECT_FALSE(fv.v6);
      EXPECT_FALSE(in_one_frame);
      bool in_raw_record = false;
      for (const auto& r : cap.records)
        in_raw_record = in_raw_record ||
                        std::string(r.data.begin(), r.data.end()).find(p.value) != std::string::npos;
      EXPECT_FALSE(in_raw_record) << "the fragment boundary splits the value";
    }
    if (p.note == "out_of_order") {
      EXPECT_FALSE(in_one_frame);
      bool backwards = false;
      for (std::size_t i = 1; i < fv.seqs.size(); ++i)
        backwards = backwards || static_cast<std::int32_t>(fv.seqs[i] - fv.seqs[i - 1]) < 0;
      EXPECT_TRUE(backwards);
    }
    if (p.note == "vlan") {
      EXPECT_TRUE(fv.any_vlan);
    }
    if (p.note == "ipv6") {
      EXPECT_TRUE(fv.v6);
    }
  }
  EXPECT_GE(expected, 6u);
  EXPECT_GE(decoys, 3u);
  for (const char* n : {"split_segments", "out_of_order", "chunked", "ipv6", "vlan", "ipv4_fragments",
                        "decoy_luhn_invalid", "decoy_ssa_invalid"})
    EXPECT_TRUE(notes.count(n)) << n;

  // Apart from the planted values and decoys, no stream (either direction, chunked bodies
  // decoded) carries anything a card/SSN/AWS-key detector could fire on.
  for (const auto& [key, fv] : flows) {
    std::string s = fv.client_stream;
    const std::size_t hdr_end = s.find("\r\n\r\n");
    if (hdr_end != std::string::npos && s.find("Transfer-Encoding: chunked") < hdr_end)
      s = s.substr(0, hdr_end + 4) + dechunk(s.substr(hdr_end + 4));
    for (const Planted& p : truth)
      for (std::size_t at; (at = s.find(p.value)) != std::string::npos;) s.replace(at, p.value.size(), "[planted]");
    EXPECT_FALSE(contains_sensitive(s)) << key;
  }

  // Every client IP in the truth is in the identity map.
  const std::string ident = sample_identity_csv();
  EXPECT_EQ(ident.rfind("ip,user,department\n", 0), 0u);
  for (const Planted& p : truth) EXPECT_NE(ident.find("\n" + p.src_ip + ","), std::string::npos) << p.src_ip;
  EXPECT_NE(ident.find("10.1.0.10,alice,finance"), std::string::npos);
  EXPECT_NE(ident.find("2001:db8:10::20,"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Formats, testgen_sample_capture, ::testing::Values(Format::kPcap, Format::kPcapng),
                         [](const auto& info) { return info.param == Format::kPcap ? "pcap" : "pcapng"; });

TEST(testgen_sample_file, DeterministicPerSeed) {
  const std::string a = testutil::temp_path("a.pcap"), b = testutil::temp_path("b.pcap"),
                    c = testutil::temp_path("c.pcap");
  const auto ta = write_sample_capture(a, 7);
  const auto tb = write_sample_capture(b, 7);
  write_sample_capture(c, 8);
  EXPECT_EQ(file_bytes(a), file_bytes(b));
  EXPECT_NE(file_bytes(a), file_bytes(c));
  EXPECT_EQ(planted_to_jsonl(ta), planted_to_jsonl(tb));
}

TEST(testgen_sample_file, TruthJsonLines) {
  const auto truth = write_sample_capture(testutil::temp_path("j.pcap"), 3);
  const std::string jsonl = planted_to_jsonl(truth);
  std::istringstream in(jsonl);
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    const Planted& p = truth.at(n++);
    EXPECT_EQ(j.at("category"), p.category);
    EXPECT_EQ(j.at("value"), p.value);
    EXPECT_EQ(j.at("src_ip"), p.src_ip);
    EXPECT_EQ(j.at("src_port"), p.src_port);
    EXPECT_EQ(j.at("dst_ip"), p.dst_ip);
    EXPECT_EQ(j.at("dst_port"), p.dst_port);
    EXPECT_EQ(j.at("http_host"), p.http_host);
    EXPECT_EQ(j.at("http_url"), p.http_url);
    EXPECT_EQ(j.at("expect_finding"), p.expect_finding);
    EXPECT_EQ(j.at("note"), p.note);
  }
  EXPECT_EQ(n, truth.size());
}

TEST(testgen_bench_capture, SmallBenchIsConsistent) {
  const std::string path = testutil::temp_path("bench.pcap");
  const std::uint64_t target = 6'000'000;
  const BenchStats s = write_bench_capture(path, target, 5);
  EXPECT_GE(s.file_bytes, target);
  EXPECT_LT(s.file_bytes, target + 64 * 80'000) << "overshoot bounded by the open flows";
  EXPECT_EQ(s.file_bytes, std::filesystem::file_size(path));
  EXPECT_EQ(s.planted, s.planted_items.size());
  const auto cap = testutil::read_capture(path);
  ASSERT_EQ(cap.last_status, -2) << cap.error;
  ASSERT_EQ(cap.records.size(), s.packets);
  std::uint64_t payload = 0, prev = 0, max_seg = 0;
  for (const auto& r : cap.records) {
    EXPECT_GT(r.ts_ns, prev);
    prev = r.ts_ns;
    const auto f = testutil::parse(r.data);
    ASSERT_TRUE(f.has_l4);
    ASSERT_TRUE(f.l4_checksum_ok);
    payload += f.payload.size();
    max_seg = std::max<std::uint64_t>(max_seg, f.payload.size());
  }
  EXPECT_EQ(payload, s.payload_bytes);
  EXPECT_EQ(max_seg, 1460u);
  // Flows are interleaved: many distinct flows among the first hundred packets.
  const auto flows = flows_of(cap);
  EXPECT_EQ(flows.size() / 2, s.flows) << "both directions of every flow";
  std::set<std::uint16_t> first_ports;
  for (std::size_t i = 0; i < 100; ++i) first_ports.insert(testutil::parse(cap.records[i].data).sport);
  EXPECT_GT(first_ports.size(), 20u);
  // Bodies are 4-64 KiB; planted cards are found in their flow.
  std::size_t bodies = 0;
  for (const auto& [key, fv] : flows) {
    if (fv.client_stream.rfind("POST ", 0) != 0) continue;
    ++bodies;
    const std::size_t cl = fv.client_stream.find("Content-Length: ");
    ASSERT_NE(cl, std::string::npos);
    const std::size_t len = std::stoul(fv.client_stream.substr(cl + 16));
    EXPECT_GE(len, 4096u);
    EXPECT_LE(len, 65536u);
    EXPECT_EQ(fv.client_stream.size() - fv.client_stream.find("\r\n\r\n") - 4, len);
  }
  EXPECT_EQ(bodies, s.flows);
  for (const Planted& p : s.planted_items) {
    EXPECT_TRUE(luhn_valid(p.value));
    const std::string key = addr_hex(p.src_ip) + ":" + std::to_string(p.src_port) + ">" +
                            addr_hex(p.dst_ip) + ":" + std::to_string(p.dst_port);
    ASSERT_TRUE(flows.count(key));
    EXPECT_NE(flows.at(key).client_stream.find(p.value), std::string::npos);
  }
  std::filesystem::remove(path);
}

TEST(testgen_bench_capture, PlantRateIsAboutOnePerThousand) {
  // 40 MB ≈ 1100 bodies: expect about one planted card, and certainly fewer than 1%.
  const std::string path = testutil::temp_path("bench2.pcap");
  const BenchStats s = write_bench_capture(path, 40'000'000, 9);
  EXPECT_GT(s.flows, 900u);
  EXPECT_LT(s.planted * 100, s.flows);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace dlp::testgen
