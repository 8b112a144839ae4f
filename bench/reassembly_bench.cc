// TCP reassembly and flow-table lookup, the per-packet costs of the dataplane before any
// inspection: in-order 1460-byte segments (the zero-copy path), the same with 10% of the
// segments arriving one place late (held, copied once, drained), and lookup_or_create
// over 100,000 live flows.
//
//   build-dir/bench/bench_reassembly --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "dataplane/flow_table.h"
#include "dataplane/tcp_reassembly.h"

namespace dlp::dataplane {
namespace {

constexpr std::uint32_t kMss = 1460;
constexpr std::uint32_t kBatch = 1024;  // segments per benchmark iteration

class CountingSink final : public StreamSink {
 public:
  void on_data(Side, Bytes bytes) override { bytes_ += bytes.size(); }
  void on_gap(Side, std::uint64_t len) override { gaps_ += len; }
  std::uint64_t bytes_ = 0;
  std::uint64_t gaps_ = 0;
};

// Feeds one long client stream; `order[i]` is the index (within a batch) of the i-th
// segment sent.
void run_stream(benchmark::State& state, const std::vector<std::uint32_t>& order) {
  ReassemblyConfig cfg;
  ReassemblyMemory memory;
  ReassemblyCounters counters;
  CountingSink sink;
  TcpSession session(cfg, memory, counters);
  const std::uint32_t client_isn = 0xFFFF0000u;  // wraps early in the run
  const std::uint32_t server_isn = 7;
  constexpr auto kSynAck = static_cast<std::uint8_t>(tcp_flag::kSyn | tcp_flag::kAck);
  constexpr auto kData = static_cast<std::uint8_t>(tcp_flag::kAck | tcp_flag::kPsh);
  session.on_segment(Side::client, Segment{client_isn, 0, tcp_flag::kSyn, 65535, {}}, sink);
  session.on_segment(Side::server, Segment{server_isn, client_isn + 1, kSynAck, 65535, {}}, sink);
  std::vector<std::uint8_t> payload(kMss, 'x');
  std::uint32_t seq = client_isn + 1;
  for (auto _ : state) {
    for (std::uint32_t i : order) {
      Segment seg{seq + i * kMss, server_isn + 1, kData, 65535, payload};
      session.on_segment(Side::client, seg, sink);
    }
    seq += kBatch * kMss;
  }
  if (sink.gaps_ != 0 || memory.used != 0 || sink.bytes_ != static_cast<std::uint64_t>(state.iterations()) * kBatch * kMss) {
    state.SkipWithError("reassembly lost bytes");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(sink.bytes_));
  state.counters["held_segments"] = benchmark::Counter(
      static_cast<double>(counters.out_of_order), benchmark::Counter::kAvgIterations);
}

void BM_ReassemblyInOrder(benchmark::State& state) {
  std::vector<std::uint32_t> order(kBatch);
  std::iota(order.begin(), order.end(), 0u);
  run_stream(state, order);
}
BENCHMARK(BM_ReassemblyInOrder);

void BM_ReassemblyTenPercentSwapped(benchmark::State& state) {
  // In every 20 segments, one pair swapped: 10% of the segments arrive out of order
  // (each late one is held, then drained by its predecessor).
  std::vector<std::uint32_t> order(kBatch);
  std::iota(order.begin(), order.end(), 0u);
  std::mt19937 rng(1);
  for (std::uint32_t base = 0; base + 20 <= kBatch; base += 20) {
    const std::uint32_t a = base + rng() % 19;
    std::swap(order[a], order[a + 1]);
  }
  run_stream(state, order);
}
BENCHMARK(BM_ReassemblyTenPercentSwapped);

class NullEvents final : public FlowEvents {
 public:
  void on_flow_end(Flow&, FlowEnd) override {}
};

IpAddr v4(std::uint32_t host_order) {  // local: IpAddr's helpers belong to packet.cc
  IpAddr a;
  a.b[10] = a.b[11] = 0xff;
  for (int i = 0; i < 4; ++i) a.b[12 + i] = static_cast<std::uint8_t>(host_order >> (24 - 8 * i));
  return a;
}

void BM_FlowLookup100kFlows(benchmark::State& state) {
  constexpr std::uint32_t kFlows = 100'000;
  FlowConfig cfg;
  ReassemblyConfig reasm;
  ReassemblyMemory memory;
  ReassemblyCounters counters;
  NullEvents events;
  FlowTable table(cfg, reasm, memory, counters, events);
  std::vector<Decoded> packets(kFlows);
  for (std::uint32_t i = 0; i < kFlows; ++i) {
    Decoded& d = packets[i];
    d.ip_version = 4;
    d.proto = 6;
    d.src = v4(0x0A000000u + i / 8);
    d.dst = v4(0xC6336400u + i % 251);
    d.sport = static_cast<std::uint16_t>(32768 + i % 8 * 1000 + i % 997);
    d.dport = 443;
    d.tcp_flags = tcp_flag::kAck;
    table.lookup_or_create(d, 1);
  }
  if (table.size() != kFlows) state.SkipWithError("flows collided");
  // Visit them in random order, half of them from the server side, as traffic would.
  std::mt19937 rng(2);
  std::shuffle(packets.begin(), packets.end(), rng);
  for (std::uint32_t i = 0; i < kFlows; i += 2) {
    std::swap(packets[i].src, packets[i].dst);
    std::swap(packets[i].sport, packets[i].dport);
  }
  std::uint64_t now = 2;
  std::size_t next = 0;
  for (auto _ : state) {
    FlowLookup r = table.lookup_or_create(packets[next], now++);
    benchmark::DoNotOptimize(r.flow);
    if (++next == kFlows) next = 0;
  }
  if (table.counters().created != kFlows) state.SkipWithError("lookup created a flow");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FlowLookup100kFlows);

}  // namespace
}  // namespace dlp::dataplane

BENCHMARK_MAIN();
