// dlpgate-gen: writes the sample capture (with its identity map and ground truth) or a
// benchmark capture of a given size, using the dlp_testgen library.
//
//   dlpgate-gen sample --out sample.pcap [--pcapng] [--identity identity.csv]
//                      [--truth truth.jsonl] [--seed N]
//   dlpgate-gen bench --out big.pcap --bytes 600M [--pcapng] [--truth truth.jsonl] [--seed N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include "tests/gen/scenario.h"

namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  dlpgate-gen sample --out FILE [--pcapng] [--identity FILE] [--truth FILE] [--seed N]\n"
    "  dlpgate-gen bench  --out FILE --bytes SIZE [--pcapng] [--truth FILE] [--seed N]\n"
    "SIZE takes K/M/G (powers of 1000) or KiB/MiB/GiB (powers of 1024), e.g. 600M.\n";

[[noreturn]] void usage_error(const std::string& why) {
  std::cerr << "dlpgate-gen: " << why << "\n" << kUsage;
  std::exit(2);
}

std::uint64_t parse_size(const std::string& text) {
  std::size_t used = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(text, &used);
  } catch (const std::exception&) {
    usage_error("bad size '" + text + "'");
  }
  const std::string unit = text.substr(used);
  static const std::map<std::string, std::uint64_t> kUnits = {
      {"", 1},          {"B", 1},
      {"K", 1000},      {"KB", 1000},      {"KiB", 1024},
      {"M", 1000000},   {"MB", 1000000},   {"MiB", 1024 * 1024},
      {"G", 1000000000}, {"GB", 1000000000}, {"GiB", 1024ull * 1024 * 1024}};
  const auto it = kUnits.find(unit);
  if (it == kUnits.end()) usage_error("bad size unit in '" + text + "'");
  return n * it->second;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("cannot write '" + path + "'");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage_error("missing command");
  const std::string command = argv[1];
  if (command == "-h" || command == "--help") {
    std::cout << kUsage;
    return 0;
  }
  if (command != "sample" && command != "bench") usage_error("unknown command '" + command + "'");

  std::string out, identity, truth, bytes;
  std::uint64_t seed = 1;
  bool pcapng = false;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--out") out = value();
    else if (arg == "--identity" && command == "sample") identity = value();
    else if (arg == "--truth") truth = value();
    else if (arg == "--bytes" && command == "bench") bytes = value();
    else if (arg == "--pcapng") pcapng = true;
    else if (arg == "--seed") {
      const std::string v = value();
      try {
        seed = std::stoull(v);
      } catch (const std::exception&) {
        usage_error("bad seed '" + v + "'");
      }
    } else {
      usage_error("unknown option '" + arg + "' for " + command);
    }
  }
  if (out.empty()) usage_error("--out is required");
  const auto format = pcapng ? dlp::testgen::Format::kPcapng : dlp::testgen::Format::kPcap;

  try {
    const auto start = std::chrono::steady_clock::now();
    if (command == "sample") {
      const auto planted = dlp::testgen::write_sample_capture(out, seed, format);
      if (!identity.empty()) write_text(identity, dlp::testgen::sample_identity_csv());
      if (!truth.empty()) write_text(truth, dlp::testgen::planted_to_jsonl(planted));
      const auto records = dlp::testgen::capture_records(out);
      std::size_t expected = 0;
      for (const auto& p : planted) expected += p.expect_finding ? 1 : 0;
      std::cout << "wrote " << out << ": " << records.size() << " packets, " << expected
                << " planted values expected to be found, " << planted.size() - expected
                << " decoys\n";
    } else {
      if (bytes.empty()) usage_error("--bytes is required for bench");
      const auto stats = dlp::testgen::write_bench_capture(out, parse_size(bytes), seed, format);
      if (!truth.empty()) write_text(truth, dlp::testgen::planted_to_jsonl(stats.planted_items));
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("wrote %s: %llu bytes, %llu packets, %llu flows, %llu payload bytes, "
                  "%llu planted cards in %.1f s\n",
                  out.c_str(), static_cast<unsigned long long>(stats.file_bytes),
                  static_cast<unsigned long long>(stats.packets),
                  static_cast<unsigned long long>(stats.flows),
                  static_cast<unsigned long long>(stats.payload_bytes),
                  static_cast<unsigned long long>(stats.planted), secs);
    }
  } catch (const std::exception& e) {
    std::cerr << "dlpgate-gen: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
