// The TLS inspector: reads the client's ClientHello (across TCP segments and TLS records)
// and reports the flow's destination and client fingerprint as flow metadata, so findings
// and policy see where an encrypted flow goes: the server name (SNI), the offered ALPN
// protocols, and a JA4 client fingerprint (FoxIO's JA4, TCP variant "t...").
// Everything after the ClientHello is encrypted: counted and ignored; TLS opens no
// content streams.
//
//   TlsInspectorFactory tls;
//   auto insp = tls.create(sink, flow);
//   insp->data(Dir::to_server, client_hello_bytes);
//   // sink.flow_meta(): tls_sni "www.example.com", tls_alpn "h2,http/1.1",
//   //                   tls_ja4 "t13d1516h2_8daaf6152771_e5627efa2ab1"
//
// The hello is held until complete, at most kMaxHello bytes (limit "flow_memory"
// counted); malformed lengths are weirds ("tls.bad_hello"), never a crash.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "inspectors/inspector.h"

namespace dlp::inspectors {

// What a ClientHello offers, in wire order, GREASE values included.
struct ClientHello {
  std::uint16_t legacy_version = 0;
  std::vector<std::uint16_t> ciphers;
  std::vector<std::uint16_t> extensions;
  std::vector<std::uint16_t> supported_versions;
  std::vector<std::uint16_t> signature_algorithms;
  std::vector<std::string> alpn;
  std::string sni;
  bool has_sni = false;
};

// Parses a ClientHello handshake body (after the 4-byte handshake header). False when a
// length runs past its container.
bool parse_client_hello(Bytes body, ClientHello& out);
// RFC 8701 GREASE values (0x0a0a, 0x1a1a, ... 0xfafa).
bool is_grease(std::uint16_t v);
// JA4 of a ClientHello seen over TCP.
std::string ja4(const ClientHello& hello);

class TlsInspectorFactory final : public InspectorFactory {
 public:
  static constexpr std::size_t kMaxHello = 16 * 1024;
  explicit TlsInspectorFactory(const Limits& limits = {}) : limits_(limits) {}
  App app() const override { return App::tls; }
  std::string_view name() const override { return "tls"; }
  bool wants_port(std::uint16_t server_port) const override;
  bool probe(Bytes first_client_bytes) const override;
  std::unique_ptr<Inspector> create(ContentSink& sink, const FlowInfo& flow) const override;

 private:
  Limits limits_;
};

}  // namespace dlp::inspectors
