// DNS traffic for the generator: query and response messages (RFC 1035 wire format), UDP
// and TCP (two-byte length) framings, a seeded "ordinary browsing" query mix, and a
// tunnel that encodes given bytes into base32 or hex labels under a domain at a given
// rate in packet time (the shape of iodine / dnscat2 traffic), as packets for
// tests/gen/pcap_writer.h.
//
//   std::mt19937_64 rng(7);
//   auto normal = browsing_queries(rng, 400, t0, 600'000'000'000);
//   TunnelConfig tc{.domain = "exfil-example.net", .start_ns = t0, .interval_ns = 200'000'000};
//   auto tunnel = tunnel_queries(dlp::as_bytes(secret), tc);
//   auto pkts = dns_udp_packets(merge_by_time(normal, tunnel), Ip{.src = "10.1.0.10", .dst = "10.0.0.53"});
//   auto w = CaptureWriter::open("/tmp/dns.pcap", Format::kPcap); w->write_all(pkts);
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tests/gen/frames.h"
#include "tests/gen/tcp_conversation.h"

namespace dlp::testgen {

inline constexpr std::uint16_t kDnsA = 1;
inline constexpr std::uint16_t kDnsCname = 5;
inline constexpr std::uint16_t kDnsNull = 10;
inline constexpr std::uint16_t kDnsPtr = 12;
inline constexpr std::uint16_t kDnsMx = 15;
inline constexpr std::uint16_t kDnsTxt = 16;
inline constexpr std::uint16_t kDnsAaaa = 28;
inline constexpr std::uint16_t kDnsSrv = 33;

// ---- messages ----
// Wire form of "a.b.c" (split at '.', a trailing dot ignored, "" or "." is the root).
// Throws std::invalid_argument for an empty or >63-byte label or a name over 255 octets.
std::vector<std::uint8_t> dns_name_wire(std::string_view name);
// A standard query (RD set) with one question, class IN; with edns an OPT record (4096).
std::vector<std::uint8_t> dns_query(std::uint16_t id, std::string_view name,
                                    std::uint16_t qtype = kDnsA, bool edns = false);
// The answer to `query`: same id and question, QR|RD|RA, `rcode`; for rcode 0 and an A
// or AAAA question one answer (name compressed as a pointer to the question, TTL 300).
std::vector<std::uint8_t> dns_response(std::span<const std::uint8_t> query, std::uint8_t rcode = 0);
// RFC 1035 §4.2.2 framing for TCP: two-byte big-endian length, then the message.
std::vector<std::uint8_t> dns_tcp_framed(std::span<const std::uint8_t> msg);

// ---- query streams in packet time ----
struct DnsQueryEvent {
  std::uint64_t ts_ns = 0;
  std::string name;
  std::uint16_t qtype = kDnsA;
};

// n queries spread over [start_ns, start_ns + duration_ns), sorted by time: popular sites
// and their usual host names (often A then AAAA), CDN names with hash-like labels
// (cloudfront, akamaiedge, googlevideo, azureedge, per-file download hosts), reverse
// look-ups (in-addr.arpa, ip6.arpa), mail checks (SPF TXT, _dmarc, DKIM selectors),
// anti-virus reputation look-ups with hashed labels (sophosxl.net), service discovery
// (SRV under _tcp), and a few app ids (a 32-hex key under ingest.sentry.io).
std::vector<DnsQueryEvent> browsing_queries(std::mt19937_64& rng, std::size_t n,
                                            std::uint64_t start_ns, std::uint64_t duration_ns);

enum class TunnelEncoding { kBase32, kHex };

struct TunnelConfig {
  std::string domain = "exfil-example.net";  // the zone whose name server the attacker runs
  TunnelEncoding encoding = TunnelEncoding::kBase32;
  std::size_t label_len = 63;      // payload label length (the last one may be shorter)
  std::size_t max_name = 253;      // whole name in characters, domain included
  std::size_t bytes_per_query = 0;  // payload bytes per query; 0: as many as fit
  std::uint64_t start_ns = 1'709'542'800'000'000'000ull;
  std::uint64_t interval_ns = 100'000'000;  // one query every 100 ms
  std::uint16_t qtype = kDnsTxt;
  // dnscat2-like: each chunk is prefixed with a two-byte sequence number before encoding,
  // so every name is new even when the payload repeats.
  bool sequence = true;
};

// RFC 4648 base32 (lowercase, no padding) and lowercase hex.
std::string base32_encode(std::span<const std::uint8_t> data);
std::string hex_encode(std::span<const std::uint8_t> data);
// Payload bytes one query carries with this configuration (sequence bytes excluded).
std::size_t tunnel_bytes_per_query(const TunnelConfig& cfg);
// The queries that carry `payload`, one every interval_ns from start_ns.
std::vector<DnsQueryEvent> tunnel_queries(std::span<const std::uint8_t> payload,
                                          const TunnelConfig& cfg);
// Both streams in one, ordered by time (stable: `a` first on ties).
std::vector<DnsQueryEvent> merge_by_time(const std::vector<DnsQueryEvent>& a,
                                         const std::vector<DnsQueryEvent>& b);

// ---- packets ----
// One UDP exchange per event, each from its own source port (first_port, +1, ... wrapping
// within 1024–65535, as stub resolvers randomise), ids counting from 1; with responses the
// answer follows 1 ms later. ip.src is the client, ip.dst the resolver (port 53).
std::vector<Packet> dns_udp_packets(const std::vector<DnsQueryEvent>& events, const Ip& ip,
                                    bool responses = true, std::uint16_t first_port = 40000,
                                    const L2& l2 = {});
// One TCP connection to port cfg.server_port (set it to 53) carrying every query framed,
// each sent at its event time (the clock is moved forward to it), in segments of
// segment_size bytes; responses from the server when asked. Handshake and FIN included.
std::vector<Packet> dns_tcp_packets(const std::vector<DnsQueryEvent>& events, TcpConfig cfg,
                                    bool responses = true, std::size_t segment_size = 1460);

}  // namespace dlp::testgen
