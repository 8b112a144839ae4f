// libFuzzer target for the DNS inspector. The first input byte chooses UDP (the rest is
// one datagram, then cut in two as two datagrams) or TCP (the rest cut into two data()
// calls, optionally with a gap between), and a tight tracker so the finding path runs
// too; the sink checks the ContentSink contract. The tracker is shared across inputs, as
// it is across flows in the appliance.
//
// Built by CMake only with clang (tests/inspectors/fuzz/CMakeLists.txt).
#include <cstdint>
#include <cstdlib>

#include "inspectors/dns/dns_inspector.h"
#include "tests/inspectors/recording_sink.h"

namespace {

dlp::inspectors::DnsExfilConfig tight() {
  dlp::inspectors::DnsExfilConfig c;
  c.min_unique_subdomains = 2;
  c.min_encoded_bytes = 2;
  c.min_payload_chars = 1;
  c.min_mean_label = 0;
  c.min_entropy = 0;
  c.max_keys = 64;
  c.max_unique_per_key = 8;
  c.window_ns = 1000;
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dlp::inspectors;
  static const DnsInspectorFactory loose;
  static const DnsInspectorFactory strict(tight(), [] {
    Limits l;
    l.max_flow_memory = 64;
    l.max_stream_bytes = 100;
    return l;
  }());
  static std::uint64_t clock = 0;
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  const dlp::Bytes input(data + 1, size - 1);
  const DnsInspectorFactory& f = (control & 0x80) ? strict : loose;
  FlowInfo flow;
  flow.ip_proto = (control & 0x40) ? 17 : 6;
  flow.server_port = 53;
  flow.client_ip[15] = control & 3;
  const std::size_t cut = input.empty() ? 0 : (control & 0x1f) % input.size();

  (void)f.probe(input);
  testing::RecordingSink sink;
  sink.clock_ns = clock += 7;
  auto insp = f.create(sink, flow);
  if (flow.ip_proto == 17) insp->data(Dir::to_server, input);
  insp->data(Dir::to_server, input.first(cut));
  if (control & 0x20) insp->gap(Dir::to_server, 1 + (control & 0x0f));
  insp->data(Dir::to_server, input.subspan(cut));
  insp->data(Dir::to_client, input);
  insp->close();

  if (!sink.errors.empty() || !sink.all_closed()) std::abort();
  for (const Report& r : sink.reports) {
    if (r.category == "dns_exfil" && r.meta.dns_domain.empty()) std::abort();
  }
  return 0;
}
