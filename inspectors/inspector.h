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
// Hot-path rules: no exceptions, no logging, no per-call allocation in steady state;
// protocol anomalies are reported with ContentSink::weird() and counted.
#pragma once

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

// What an inspector may know about the flow it parses (no addresses: those are the
// dataplane's and mgmt's business).
struct FlowInfo {
  std::uint16_t client_port = 0;
  std::uint16_t server_port = 0;
  std::uint8_t ip_proto = 6;  // 6 TCP, 17 UDP
};

// Metadata of one content stream; field names follow the Finding contract.
struct ContentMeta {
  App app = App::raw;
  Dir dir = Dir::to_server;
  std::string http_method;
  std::string http_host;
  std::string http_url;
  std::string http_user_agent;
  std::string file_name;
  std::string file_mime;
  std::string smtp_mail_from;
  std::vector<std::string> smtp_rcpt_to;
  std::string user_hint;  // identity seen in-band (Basic auth, SMTP AUTH, FTP USER)
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
};

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

// Turns a flow into an Inspector. Stateless and shared by all workers.
class InspectorFactory {
 public:
  virtual ~InspectorFactory() = default;
  virtual App app() const = 0;
  virtual std::string_view name() const = 0;
  // Well-known server ports for this protocol.
  virtual bool wants_port(std::uint16_t server_port) const = 0;
  // Content sniffing on the first bytes the client sent (may be short).
  virtual bool probe(Bytes first_client_bytes) const = 0;
  virtual std::unique_ptr<Inspector> create(ContentSink& sink, const FlowInfo& flow) const = 0;
};

// The set of inspectors the dataplane chooses from.
class Registry {
 public:
  void add(std::unique_ptr<InspectorFactory> factory);
  // Choice rule: a protocol whose probe() accepts the first client bytes wins (content
  // beats port, so HTTP on port 8443 or 9999 is still HTTP); then a protocol whose
  // well-known port matches; then the raw inspector. Never returns null.
  const InspectorFactory& choose(const FlowInfo& flow, Bytes first_client_bytes) const;
  const std::vector<std::unique_ptr<InspectorFactory>>& factories() const { return factories_; }

 private:
  std::vector<std::unique_ptr<InspectorFactory>> factories_;
};

// Every built-in inspector (raw, http, and those added later).
Registry default_registry();

}  // namespace dlp::inspectors
