// End-to-end throughput: `dlpgate scan` on a large generated capture of mostly benign
// HTTP uploads, against a raw Hyperscan block-mode scan of the same payload bytes with the
// same detector database, measured in one run so the ratio survives a noisy machine.
//
//   bench_e2e [--capture big.pcap] [--bytes 600M] [--dlpgate build/mgmt/dlpgate] [--runs 3]
//
// The raw side is plain Hyperscan: every TCP payload byte of the capture, concatenated per
// flow (the capture is generated in order without loss, so that is each flow's stream),
// scanned with hs_scan in block mode, no validation, with every pattern and context
// keyword of the library in one database (start of match where the width varies), i.e.
// what scanning with the library costs without dlpgate's context gating. The dlpgate side is the real command
// as a user runs it (decode, flows, reassembly, HTTP parsing, streaming scan, validation,
// JSON output), timed from process start to exit, with its peak resident memory.
#include <hs/hs.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "dataplane/decode.h"
#include "dataplane/flow_table.h"
#include "dataplane/pcap_source.h"
#include "signatures/detector.h"
#include "signatures/scanner.h"
#include "tests/gen/scenario.h"

namespace {

using Clock = std::chrono::steady_clock;

// Every detector pattern and distinct context keyword as one block-mode database, the way
// a plain Hyperscan user would compile the library.
hs_database_t* compile_whole_library(const dlp::signatures::DetectorSet& set) {
  std::vector<std::string> exprs;
  std::vector<unsigned> flags;
  for (const auto& d : set.detectors) {
    for (const auto& p : d.patterns) {
      hs_expr_info_t* info = nullptr;
      hs_compile_error_t* err = nullptr;
      unsigned f = 0;
      if (hs_expression_info(p.c_str(), 0, &info, &err) == HS_SUCCESS) {
        if (info->min_width != info->max_width) f = HS_FLAG_SOM_LEFTMOST;
        std::free(info);
      } else {
        hs_free_compile_error(err);
      }
      exprs.push_back(p);
      flags.push_back(f);
    }
  }
  // Keywords: distinct, as case-insensitive word-bounded literal alternations (the escaping
  // dictionaries get).
  std::vector<std::string> keywords;
  for (const auto& d : set.detectors) {
    for (std::string kw : d.context.keywords) {
      for (char& c : kw) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (std::find(keywords.begin(), keywords.end(), kw) == keywords.end()) keywords.push_back(kw);
    }
  }
  for (std::string& e : dlp::signatures::dictionary_patterns(keywords)) {
    exprs.push_back(std::move(e));
    flags.push_back(0);
  }
  std::vector<const char*> ptrs;
  std::vector<unsigned> ids;
  for (std::size_t i = 0; i < exprs.size(); ++i) {
    ptrs.push_back(exprs[i].c_str());
    ids.push_back(static_cast<unsigned>(i));
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(ptrs.data(), flags.data(), ids.data(), static_cast<unsigned>(ptrs.size()),
                       HS_MODE_BLOCK, nullptr, &db, &err) != HS_SUCCESS) {
    std::cerr << "bench_e2e: library does not compile as one database: "
              << (err ? err->message : "?") << "\n";
    hs_free_compile_error(err);
    return nullptr;
  }
  return db;
}

std::uint64_t parse_size(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  switch (end && *end ? *end : ' ') {
    case 'G': case 'g': v *= 1e9; break;
    case 'M': case 'm': v *= 1e6; break;
    case 'K': case 'k': v *= 1e3; break;
    default: break;
  }
  return static_cast<std::uint64_t>(v);
}

struct ChildRun {
  double seconds = 0;
  double peak_rss_mb = 0;  // as dlpgate reports it (VmHWM of its own image)
  int status = -1;
};

// "memory     peak RSS 41.2 MB, ..." from dlpgate's summary.
double parse_peak_rss_mb(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto at = line.find("peak RSS ");
    if (at == std::string::npos) continue;
    std::istringstream s(line.substr(at + 9));
    double v = 0;
    std::string unit;
    s >> v >> unit;
    if (unit.rfind("GB", 0) == 0) return v * 1000;
    if (unit.rfind("KB", 0) == 0) return v / 1000;
    return v;
  }
  return 0;
}

ChildRun run_child(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const auto t0 = Clock::now();
  // posix_spawn, not fork: a forked child would start with this process's resident
  // payload copy (shared copy-on-write, but counted in its ru_maxrss).
  // Its summary goes to a file (for its own peak-memory figure: the child's ru_maxrss
  // would count this process's memory, which it shares until exec); errors reach stderr.
  const std::string summary = "bench-e2e-summary.txt";
  pid_t pid = 0;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, summary.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    std::perror("posix_spawn");
    return {};
  }
  ChildRun r;
  int st = 0;
  waitpid(pid, &st, 0);
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.peak_rss_mb = parse_peak_rss_mb(summary);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

int on_match(unsigned, unsigned long long, unsigned long long, unsigned, void* ctx) {
  ++*static_cast<std::uint64_t*>(ctx);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string capture = "bench-e2e.pcap";
  std::string dlpgate = "mgmt/dlpgate";
  std::uint64_t bytes = 600'000'000;
  int runs = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--capture") capture = v;
    else if (k == "--bytes") bytes = parse_size(v);
    else if (k == "--dlpgate") dlpgate = v;
    else if (k == "--runs") runs = std::max(1, std::atoi(v.c_str()));
    else {
      std::cerr << "bench_e2e: unknown option " << k << "\n";
      return 2;
    }
  }

  struct stat sb{};
  if (stat(capture.c_str(), &sb) != 0 || static_cast<std::uint64_t>(sb.st_size) < bytes) {
    std::cout << "generating " << capture << " (" << bytes / 1'000'000 << " MB)...\n";
    const auto t0 = Clock::now();
    auto st = dlp::testgen::write_bench_capture(capture, bytes, 42);
    std::cout << "  " << st.packets << " packets, " << st.payload_bytes << " payload bytes, "
              << st.planted << " planted cards, "
              << std::chrono::duration<double>(Clock::now() - t0).count() << " s\n";
    stat(capture.c_str(), &sb);
  }

  // The payload bytes, per flow, in capture order.
  std::map<dlp::dataplane::FlowKey, std::size_t, bool (*)(const dlp::dataplane::FlowKey&,
                                                          const dlp::dataplane::FlowKey&)>
      index([](const dlp::dataplane::FlowKey& x, const dlp::dataplane::FlowKey& y) {
        return std::tie(x.a, x.b, x.pa, x.pb, x.proto) < std::tie(y.a, y.b, y.pa, y.pb, y.proto);
      });
  std::vector<std::string> flows;
  std::uint64_t packets = 0, payload = 0;
  {
    dlp::dataplane::PcapFileSource src({capture});
    dlp::dataplane::RawPacket burst[64];
    while (std::size_t n = src.next_burst(burst)) {
      for (std::size_t i = 0; i < n; ++i) {
        ++packets;
        dlp::dataplane::Decoded d;
        if (dlp::dataplane::decode(burst[i], d) != dlp::dataplane::DecodeStatus::ok) continue;
        if (d.proto != 6 || d.payload.empty()) continue;
        auto [it, fresh] = index.emplace(dlp::dataplane::flow_key_of(d), flows.size());
        if (fresh) flows.emplace_back();
        flows[it->second].append(reinterpret_cast<const char*>(d.payload.data()),
                                 d.payload.size());
        payload += d.payload.size();
      }
    }
    for (const auto& e : src.errors()) std::cerr << e.message << "\n";
  }

  const auto& library = dlp::signatures::builtin_detectors();
  hs_database_t* raw_db = compile_whole_library(library);
  if (!raw_db) return 2;
  hs_scratch_t* scratch = nullptr;
  hs_alloc_scratch(raw_db, &scratch);

  std::vector<double> raw_s, e2e_s;
  double rss_mb = 0;
  std::uint64_t raw_matches = 0;
  for (int r = 0; r < runs; ++r) {
    // Alternate the two so drift on a shared machine hits both alike.
    std::uint64_t m = 0;
    const auto t0 = Clock::now();
    for (const auto& f : flows) {
      hs_scan(raw_db, f.data(), static_cast<unsigned>(f.size()), 0, scratch, on_match, &m);
    }
    raw_s.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    raw_matches = m;

    ChildRun c = run_child({dlpgate, "scan", capture, "--out", "/dev/null", "--progress", "off"});
    if (c.status != 0) {
      std::cerr << "bench_e2e: dlpgate scan exited with " << c.status << "\n";
      return 2;
    }
    e2e_s.push_back(c.seconds);
    rss_mb = std::max(rss_mb, c.peak_rss_mb);
  }
  hs_free_scratch(scratch);
  hs_free_database(raw_db);

  std::sort(raw_s.begin(), raw_s.end());
  std::sort(e2e_s.begin(), e2e_s.end());
  const double raw_med = raw_s[raw_s.size() / 2], e2e_med = e2e_s[e2e_s.size() / 2];
  const double raw_gbps = payload * 8 / raw_med / 1e9;
  const double e2e_gbps = payload * 8 / e2e_med / 1e9;
  const double e2e_wire_gbps = static_cast<double>(sb.st_size) * 8 / e2e_med / 1e9;
  std::printf("capture            %s: %.0f MB, %llu packets, %zu flows, %.0f MB TCP payload\n",
              capture.c_str(), sb.st_size / 1e6, static_cast<unsigned long long>(packets),
              flows.size(), payload / 1e6);
  std::printf("raw hyperscan      block mode, %zu detectors: median %.3f s = %.2f Gbit/s "
              "(%llu raw matches)\n",
              library.detectors.size(), raw_med, raw_gbps,
              static_cast<unsigned long long>(raw_matches));
  std::printf("dlpgate scan       median %.3f s = %.2f Gbit/s of payload (%.2f Gbit/s of "
              "capture file), peak RSS %.0f MB\n",
              e2e_med, e2e_gbps, e2e_wire_gbps, rss_mb);
  std::printf("ratio              dlpgate / raw = %.2f  (runs: %d, single-threaded)\n",
              e2e_gbps / raw_gbps, runs);
  return 0;
}
