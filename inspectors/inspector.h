// The inspector seam: how application-layer parsers plug into the dataplane.
//
// The dataplane hands an Inspector the in-order bytes of one flow, per direction, each
// byte exactly once (gaps are announced, never papered over). The inspector frames and
// decodes them and emits *content streams* to a ContentSink: a request body, a mail
// attachment, a URL, a DNS name, each with metadata. It knows nothing of packets,
// detection or users, so a parser can be tested with plain byte strings.
//
//   auto& factory = registry.choose(flow, Dir::to_server, first_bytes);
//   std::unique_ptr<Inspector> insp = factory.create(sink, flow);
//   insp->data(Dir::to_server, bytes);   // as reassembly delivers them
//   insp->close();                       // at flow end: closes open content streams
//
// Besides content streams an inspector may attach flow metadata (TLS server name, notes
// such as STARTTLS or Upgrade) with ContentSink::flow_meta(), and raise findings that are
// not pattern matches in content (DNS tunnelling, a limit that policy wants reported)
// with ContentSink::report(). Decoded content passes through the file layer
// (files/file_sink.h) before it reaches the scanner, so a docx inside a multipart upload or a
// mail attachment is opened wherever it travelled.
//
// Hot-path rules: no exceptions, no logging, no per-call allocation in steady state;
// protocol anomalies are reported with ContentSink::weird() and counted.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/dlp/bytes.h"

namespace dlp::inspectors {

enum class App : std::uint8_t { raw, http, smtp, ftp, dns, tls };
std::string_view app_name(App app);

// Direction relative to the flow's initiator: to_server is data the client sends (what
// leaves the building for an outbound flow), to_client is the answer.
enum class Dir : std::uint8_t { to_server = 0, to_client = 1 };

// An IP address as 16 bytes, IPv4 as ::ffff:a.b.c.d (the dataplane's IpAddr layout).
using Ip16 = std::array<std::uint8_t, 16>;

// What an inspector may know about the flow it parses. Addresses are here for protocols
// that name other flows (FTP's PORT/PASV) and for per-client state (DNS tunnelling).
// For UDP (ip_proto 17) every Inspector::data() call is exactly one datagram.
struct FlowInfo {
  std::uint16_t client_port = 0;
  std::uint16_t server_port = 0;
  std::uint8_t ip_proto = 6;  // 6 TCP, 17 UDP
  Ip16 client_ip{};
  Ip16 server_ip{};
  std::uint64_t start_ns = 0;  // packet time of the flow's first packet
};

// Metadata of one content stream; field names follow the Finding contract
// (mgmt/finding_json.cc writes each non-empty one).
struct ContentMeta {
  App app = App::raw;
  Dir dir = Dir::to_server;
  std::string http_method;
  std::string http_host;
  std::string http_url;
  std::string http_user_agent;
  std::string form_field;  // multipart/form-data part name, urlencoded "form"
  std::string file_name;   // innermost file name ("report.docx")
  std::string file_mime;   // declared (Content-Type) or found by content (magic)
  // Where the content was found, outermost first: "upload.zip/q3/report.docx/word/document.xml".
  std::string file_path;
  std::uint8_t depth = 0;  // 0: the protocol's own stream; +1 per file or container level
  std::string smtp_helo;
  std::string smtp_mail_from;
  std::vector<std::string> smtp_rcpt_to;
  std::string smtp_subject;
  std::string ftp_command;  // STOR, APPE, STOU
  std::string dns_domain;   // registered domain (dns_exfil)
  std::string tls_sni;
  std::string tls_alpn;     // offered ALPN protocols, comma-separated
  std::string tls_ja4;
  std::string user_hint;  // identity seen in-band (Basic auth, SMTP AUTH, FTP USER)
  // Facts about the flow worth an analyst's eye: "starttls: rest of session encrypted,
  // not inspectable", "upgrade: websocket", "connect: tunnel to host:443".
  std::vector<std::string> notes;
};

// Fills every empty field of `into` from `from` and appends from's notes that `into`
// lacks: flow metadata (from) under a content stream's own (into).
void merge_meta(ContentMeta& into, const ContentMeta& from);

// Limits every inspector and the file layer honour. Each limit hit is counted as a weird
// named "limit.<what>" and, when `limits_are_findings`, also reported as a finding of
// category "limit" (a zip bomb sent out is itself worth an analyst's look).
struct Limits {
  std::uint64_t max_stream_bytes = 64ull << 20;       // per content stream, then skipped
  std::uint64_t max_decompressed_bytes = 64ull << 20;  // per decompressed stream/file
  std::uint32_t max_decompression_ratio = 200;        // output/input, after the first 1 MiB
  std::uint64_t max_file_buffer = 32ull << 20;        // container held for extraction
  std::uint32_t max_depth = 4;                        // files within files
  std::uint64_t max_flow_memory = 8ull << 20;         // parser buffers per flow
  std::uint32_t max_header_bytes = 64u << 10;         // one header block (HTTP, MIME)
  bool limits_are_findings = true;
};

// A finding an inspector raises itself (not a detector match in content).
struct Report {
  std::string detector;  // "dns.exfil", "limit.decompression_ratio"
  std::string name;      // "DNS tunnelling", "Decompression bomb"
  std::string category;  // "dns_exfil", "limit"
  std::string severity;  // "low" | "medium" | "high" | "critical"
  bool high_confidence = false;
  std::uint32_t count = 1;
  std::uint64_t volume_bytes = 0;
  ContentMeta meta;                  // app, dir, dns_domain, file_name ...
  std::vector<std::string> reasons;  // never the sensitive value itself
};

// Where inspectors send decoded content. Implemented by the dataplane worker (which
// scans it) and by tests (which record it).
class ContentSink {
 public:
  using StreamId = std::uint32_t;
  virtual ~ContentSink() = default;
  // Begin a content stream; the meta is copied, the caller may reuse it.
  virtual StreamId open(const ContentMeta& meta) = 0;
  // Next bytes of the stream, in order. `data` is only valid during the call.
  virtual void write(StreamId id, Bytes data) = 0;
  // Bytes of the stream that were never seen (capture loss, reassembly gap).
  virtual void gap(StreamId id, std::uint64_t len) = 0;
  // End of the stream. The id is not used again.
  virtual void close(StreamId id) = 0;
  // A protocol anomaly ("weird"), counted by name. `what` must be a string literal
  // such as "http.bad_chunk_size".
  virtual void weird(std::string_view what) = 0;
  // Metadata of the whole flow (tls_sni, tls_alpn, tls_ja4, user_hint, notes): merged
  // into every content stream of the flow, opened before or after, when it is reported.
  virtual void flow_meta(const ContentMeta& meta) = 0;
  // A finding that is not a pattern match (DNS tunnelling, a limit hit), attributed to
  // the current flow.
  virtual void report(const Report& r) = 0;
  // Packet time (ns since the epoch) of the bytes being delivered.
  virtual std::uint64_t now_ns() const = 0;
};

// Counts "limit.<what>" and, when limits.limits_are_findings, reports it. `what` must be
// a string literal ("decompression_ratio").
void limit_hit(ContentSink& sink, const Limits& limits, std::string_view what,
               const ContentMeta& meta, std::string reason);

// One parser instance per flow.
class Inspector {
 public:
  virtual ~Inspector() = default;
  // In-order bytes for a direction; each byte is delivered exactly once.
  virtual void data(Dir dir, Bytes bytes) = 0;
  // `len` bytes of `dir` were lost; the next data() call continues after them.
  virtual void gap(Dir dir, std::uint64_t len) = 0;
  // The flow ended (FIN/RST/timeout/eviction): flush and close every content stream.
  virtual void close() = 0;
};

// Turns a flow into an Inspector. Shared by all workers: any state it keeps across flows
// (FTP expectations, DNS volume per domain) is thread-safe and touched per flow or per
// message, never per packet.
class InspectorFactory {
 public:
  virtual ~InspectorFactory() = default;
  virtual App app() const = 0;
  virtual std::string_view name() const = 0;
  // Well-known server ports for this protocol.
  virtual bool wants_port(std::uint16_t server_port) const = 0;
  // Content sniffing on the first bytes the client sent (may be short).
  virtual bool probe(Bytes first_client_bytes) const = 0;
  // A flow another flow announced (an FTP data connection after PASV/PORT): checked
  // before probe() and ports. Factories that keep such expectations hold them behind a
  // mutex: it is asked once per new flow, never per packet.
  virtual bool claim(const FlowInfo& /*flow*/) const { return false; }
  virtual std::unique_ptr<Inspector> create(ContentSink& sink, const FlowInfo& flow) const = 0;
};

// The set of inspectors the dataplane chooses from.
class Registry {
 public:
  void add(std::unique_ptr<InspectorFactory> factory);
  // Choice rule: a factory that claims the flow (announced by another flow) wins; then a
  // protocol whose probe() accepts the first client bytes wins (content
  // beats port, so HTTP on port 8443 or 9999 is still HTTP); then a protocol whose
  // well-known port matches; then the raw inspector. Never returns null.
  const InspectorFactory& choose(const FlowInfo& flow, Bytes first_client_bytes) const;
  const std::vector<std::unique_ptr<InspectorFactory>>& factories() const { return factories_; }

 private:
  std::vector<std::unique_ptr<InspectorFactory>> factories_;
};

// Every built-in inspector (raw, http, smtp, ftp, dns, tls), sharing one set of limits.
Registry default_registry(const Limits& limits = {});

}  // namespace dlp::inspectors
