// The DNS inspector: frames DNS queries (UDP: one message per datagram; TCP: RFC 1035
// §4.2.2 two-byte length framing, messages split across segments or several in one),
// writes every query name to one content stream per flow, and feeds each name to the
// factory's tunnelling tracker (dns_exfil.h), which raises a "dns.exfil" finding.
//
//   DnsInspectorFactory dns;                          // or DnsInspectorFactory(config, limits)
//   FlowInfo flow{.client_port = 53001, .server_port = 53, .ip_proto = 17, .client_ip = ip};
//   auto insp = dns.create(sink, flow);
//   insp->data(Dir::to_server, datagram);             // one query message
//   insp->close();
//   // sink saw: one stream (app=dns, to_server) = "www.example.com\n"; maybe a report
//
// Content stream: the query names in presentation form, original case, one per line
// (bytes that are not printable ASCII, and '.' or '\' inside a label, as \DDD), opened at
// the first name and closed at close(). So a card number written into labels is scanned
// like any other content. After a TCP gap that breaks the framing, the rest of the
// client's bytes go to the stream raw (weird dns.gap_desync): never lose visibility.
//
// Tracking: for each question name the registered domain is found with libpsl (the
// system's public suffix list, else libpsl's built-in one); the labels left of it, minus
// service labels starting with '_' (DKIM selectors' _domainkey, _dmarc, SRV's _tcp), are
// the subdomain. Not tracked: reverse zones and anything else under .arpa, mDNS (.local),
// names under an allowlisted suffix, names that are a public suffix themselves.
// Responses (to_client) are ignored: the data of a tunnel leaves in the queries.
//
// Weirds: dns.truncated, dns.bad_label, dns.bad_pointer, dns.pointer_loop,
// dns.name_too_long, dns.response_to_server, dns.opcode, dns.no_question,
// dns.too_many_questions, dns.empty_message, dns.gap, dns.gap_desync, dns.binary_label,
// limit.flow_memory (a TCP message larger than Limits::max_flow_memory is skipped),
// limit.stream_bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "inspectors/dns/dns_exfil.h"
#include "inspectors/inspector.h"

struct psl_ctx_st;  // libpsl's context, kept out of this header

namespace dlp::inspectors {

namespace dns {
class DnsInspector;
}

class DnsInspectorFactory final : public InspectorFactory {
 public:
  explicit DnsInspectorFactory(DnsExfilConfig config = {}, Limits limits = {});
  ~DnsInspectorFactory() override;
  DnsInspectorFactory(const DnsInspectorFactory&) = delete;
  DnsInspectorFactory& operator=(const DnsInspectorFactory&) = delete;

  App app() const override { return App::dns; }
  std::string_view name() const override { return "dns"; }
  bool wants_port(std::uint16_t server_port) const override { return server_port == 53; }
  // A plausible standard query: QR=0, opcode QUERY, rcode 0, one question, no answer or
  // authority records, at most one additional (EDNS0 OPT), an uncompressed host-name-like
  // name, class IN or ANY, nothing after. Accepted bare (a UDP datagram) or behind a TCP
  // length prefix equal to the rest.
  bool probe(Bytes first_client_bytes) const override;
  std::unique_ptr<Inspector> create(ContentSink& sink, const FlowInfo& flow) const override;

  // The tracker shared by every flow (statistics, tests).
  const DnsExfilTracker& tracker() const { return tracker_; }
  const Limits& limits() const { return limits_; }
  // True when `lower_name` (lowercased, no trailing dot) is not tracked: .arpa, .local,
  // or under an allowlist entry.
  bool excluded(std::string_view lower_name) const;

 private:
  friend class dns::DnsInspector;

  Limits limits_;
  const psl_ctx_st* psl_ = nullptr;
  bool psl_owned_ = false;
  std::vector<std::string> allowlist_;  // lowercased, without leading "*." or trailing '.'
  mutable DnsExfilTracker tracker_;
};

}  // namespace dlp::inspectors
