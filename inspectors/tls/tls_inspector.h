// The TLS inspector: reads the client's ClientHello (across TCP segments and TLS records)
// and reports the flow's destination and client fingerprint as flow metadata, so findings
// and policy see where an encrypted flow goes: the server name (SNI), the offered ALPN
// protocols, and a JA4 client fingerprint (FoxIO's JA4, TCP variant "t...").
// Everything after the ClientHello is encrypted: ignored; TLS opens no content streams.
//
//   TlsInspectorFactory tls;
//   auto insp = tls.create(sink, flow);
//   insp->data(Dir::to_server, client_hello_bytes);
//   // sink.flow_meta(): app tls, tls_sni "www.example.com", tls_alpn "h2,http/1.1",
//   //                   tls_ja4 "t13d1516h2_8daaf6152771_e5627efa2ab1"
//
// A hello inside one record and one data() call is parsed in place; otherwise its
// handshake bytes are gathered, at most kMaxHello (16 KiB; more is "limit.flow_memory",
// counted and reported). Malformed framing (lengths past the record or the message) is
// "tls.bad_hello" and ends parsing; a malformed extension body is "tls.bad_extension" and
// the rest of the hello still counts, so a crafted extension does not hide the
// destination. A server name or ALPN value with bytes outside printable ASCII is kept with
// those bytes as '?' ("tls.bad_sni", "tls.bad_alpn"). Encrypted Client Hello (0xfe0d) is
// noted: the SNI seen is then only the outer, public name.
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
  std::vector<std::string> alpn;  // raw protocol ids, as sent
  std::string sni;                // raw host_name, as sent
  bool has_sni = false;           // the server_name extension is present
  bool has_ech = false;           // encrypted_client_hello (0xfe0d) is present
  std::uint16_t bad_extensions = 0;  // extensions whose body did not parse
};

// Parses a ClientHello handshake body (after the 4-byte handshake header). False when
// the framing is broken: a length runs past its container. Malformed bodies of known
// extensions only count in bad_extensions.
bool parse_client_hello(Bytes body, ClientHello& out);
// RFC 8701 GREASE values (0x0a0a, 0x1a1a, ... 0xfafa).
bool is_grease(std::uint16_t v);
// JA4 of a ClientHello seen over TCP: "t13d1516h2_8daaf6152771_e5627efa2ab1".
std::string ja4(const ClientHello& hello);
// JA4_r, the same before hashing: "t13d1516h2_002f,0035,..._0005,000a,..._0403,0804,...".
std::string ja4_raw(const ClientHello& hello);

class TlsInspectorFactory final : public InspectorFactory {
 public:
  static constexpr std::size_t kMaxHello = 16 * 1024;
  explicit TlsInspectorFactory(const Limits& limits = {}) : limits_(limits) {}
  App app() const override { return App::tls; }
  std::string_view name() const override { return "tls"; }
  // 443, 465, 563, 636, 853, 989, 990, 993, 995, 5061, 8443.
  bool wants_port(std::uint16_t server_port) const override;
  // A handshake record header (0x16 0x03 0x00..0x04) whose message is a ClientHello
  // (type 1 at offset 5); a first segment of 3 to 5 bytes is accepted on the header alone.
  bool probe(Bytes first_client_bytes) const override;
  std::unique_ptr<Inspector> create(ContentSink& sink, const FlowInfo& flow) const override;

 private:
  Limits limits_;
};

}  // namespace dlp::inspectors
