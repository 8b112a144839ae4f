// Decode and defragmentation cost per packet: the first thing every frame pays.
//
//   bench_decode --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <vector>

#include "dataplane/decode.h"
#include "dataplane/defrag.h"
#include "tests/gen/frames.h"

namespace dlp::dataplane {
namespace {

std::vector<std::uint8_t> payload(std::size_t n) { return std::vector<std::uint8_t>(n, 'x'); }

RawPacket raw(const testgen::Frame& f) {
  RawPacket p;
  p.data = Bytes(f.data(), f.size());
  p.wire_len = static_cast<std::uint32_t>(f.size());
  return p;
}

void BM_DecodeIpv4Tcp(benchmark::State& state) {
  const auto f = testgen::tcp_frame(testgen::L2{}, {.src = "10.0.0.1", .dst = "10.0.0.2"},
                                    40000, 443, 1, 2, 0x18, payload(1460));
  const RawPacket p = raw(f);
  for (auto _ : state) {
    Decoded d;
    benchmark::DoNotOptimize(decode(p, d));
    benchmark::DoNotOptimize(d.payload.data());
  }
}
BENCHMARK(BM_DecodeIpv4Tcp);

void BM_DecodeQinQIpv6Ext(benchmark::State& state) {
  testgen::Ip ip{.src = "2001:db8::1", .dst = "2001:db8::2"};
  ip.ipv6_ext_headers = true;
  const auto f = testgen::tcp_frame(testgen::L2{.vlans = {10, 20}}, ip, 40000, 443, 1, 2, 0x18,
                                    payload(1400));
  const RawPacket p = raw(f);
  for (auto _ : state) {
    Decoded d;
    benchmark::DoNotOptimize(decode(p, d));
    benchmark::DoNotOptimize(d.payload.data());
  }
}
BENCHMARK(BM_DecodeQinQIpv6Ext);

void BM_DefragFourFragments(benchmark::State& state) {
  const auto whole = testgen::udp_frame(testgen::L2{}, {.src = "10.0.0.1", .dst = "10.0.0.2"},
                                        53, 5353, payload(5000));
  const auto frags = testgen::fragment_frame(whole, 1480);
  std::vector<Decoded> decoded(frags.size());
  for (std::size_t i = 0; i < frags.size(); ++i) decode(raw(frags[i]), decoded[i]);
  Defragmenter df({});
  std::uint64_t t = 0;
  for (auto _ : state) {
    for (Decoded d : decoded) {
      auto dg = df.add(d, ++t);
      benchmark::DoNotOptimize(dg);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(frags.size()));
}
BENCHMARK(BM_DefragFourFragments);

}  // namespace
}  // namespace dlp::dataplane

BENCHMARK_MAIN();
