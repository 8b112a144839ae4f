// Helpers for the DNS inspector tests: feed generated query events through a factory the
// way the dataplane would (one UDP flow per query, the sink's clock at the packet time).
//
//   DnsInspectorFactory dns;
//   RecordingSink sink;
//   run_udp(dns, sink, events, ipv4(10, 1, 0, 10));
//   EXPECT_EQ(sink.reports.size(), 1u);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "inspectors/dns/dns_inspector.h"
#include "tests/gen/dns_gen.h"
#include "tests/inspectors/recording_sink.h"

namespace dlp::inspectors::testing {

inline Ip16 ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return Ip16{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d};
}

inline FlowInfo udp_flow(const Ip16& client, std::uint16_t sport = 40000) {
  FlowInfo f;
  f.client_port = sport;
  f.server_port = 53;
  f.ip_proto = 17;
  f.client_ip = client;
  f.server_ip = ipv4(10, 0, 0, 53);
  return f;
}

inline FlowInfo tcp_flow(const Ip16& client) {
  FlowInfo f = udp_flow(client);
  f.ip_proto = 6;
  return f;
}

// One UDP flow per query (what stub resolvers with random source ports produce), the
// response delivered too (it must be ignored).
inline void run_udp(const DnsInspectorFactory& dns, RecordingSink& sink,
                    const std::vector<testgen::DnsQueryEvent>& events, const Ip16& client) {
  std::uint16_t id = 1;
  for (const auto& e : events) {
    sink.clock_ns = e.ts_ns;
    const auto q = testgen::dns_query(id++, e.name, e.qtype, true);
    auto insp = dns.create(sink, udp_flow(client));
    insp->data(Dir::to_server, q);
    insp->data(Dir::to_client, testgen::dns_response(q));
    insp->close();
  }
}

// All events' queries framed for TCP, as one byte string.
inline std::string tcp_bytes(const std::vector<testgen::DnsQueryEvent>& events) {
  std::string out;
  std::uint16_t id = 1;
  for (const auto& e : events) {
    const auto f = testgen::dns_tcp_framed(testgen::dns_query(id++, e.name, e.qtype));
    out.append(f.begin(), f.end());
  }
  return out;
}

inline std::string to_string(const std::vector<std::uint8_t>& v) { return {v.begin(), v.end()}; }

}  // namespace dlp::inspectors::testing
