// Ready-made captures with their ground truth: the README's sample capture (a few hundred
// packets of several users' HTTP traffic with cards, SSNs and AWS keys planted in the
// awkward places a decoder must handle, plus decoys that must produce no finding) and the
// throughput benchmark capture (streamed to disk, any size).
//
//   auto truth = write_sample_capture("sample.pcap", 1);
//   for (const Planted& p : truth)
//     if (p.expect_finding) expect_finding(p.category, p.src_ip, p.src_port, p.http_url);
//   write_file("identity.csv", sample_identity_csv());
//   BenchStats s = write_bench_capture("big.pcap", 600'000'000, 1);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/gen/pcap_writer.h"

namespace dlp::testgen {

// One planted value and where it travels.
struct Planted {
  std::string category;  // "credit_card", "us_ssn", "aws_access_key" (DESIGN.md categories)
  std::string value;     // exactly as it appears in the HTTP body (cards may have spaces)
  std::string src_ip;    // the client (sender of the upload)
  std::uint16_t src_port = 0;
  std::string dst_ip;
  std::uint16_t dst_port = 0;
  std::string http_host, http_url;
  bool expect_finding = true;  // false for decoys (Luhn-invalid card, SSA-invalid SSN)
  std::string note;            // how it travels: "plain", "split_segments", "out_of_order",
                               // "chunked", "ipv6", "vlan", "ipv4_fragments", "decoy", ...
};

// Writes the sample capture (pcap, or pcapng with nanosecond timestamps) and returns the
// ground truth. Same seed → byte-identical file. Users: 10.1.0.10-14 and 2001:db8:10::20.
std::vector<Planted> write_sample_capture(const std::string& path, std::uint64_t seed,
                                          Format format = Format::kPcap);
// "ip,user,department" lines for the sample capture's clients.
std::string sample_identity_csv();
// One JSON object per line per planted item (all fields of Planted).
std::string planted_to_jsonl(const std::vector<Planted>& planted);

struct BenchStats {
  std::uint64_t packets = 0;
  std::uint64_t payload_bytes = 0;  // TCP payload bytes, both directions
  std::uint64_t planted = 0;        // bodies carrying one card (== planted_items.size())
  std::uint64_t flows = 0;
  std::uint64_t file_bytes = 0;
  std::vector<Planted> planted_items;
};
// Streams mostly benign HTTP uploads (POST bodies of 4-64 KiB, MSS 1460, 64 concurrent
// flows interleaved, ~0.1% of bodies carry one Luhn-valid card) until the file reaches
// target_bytes (it may overshoot by the flows still open). Timestamps pace ~1 Gbit/s.
BenchStats write_bench_capture(const std::string& path, std::uint64_t target_bytes,
                               std::uint64_t seed, Format format = Format::kPcap);

}  // namespace dlp::testgen
