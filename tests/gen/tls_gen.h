// TLS ClientHello builder for the TLS inspector's tests and captures: chosen server name,
// ALPN list, cipher suites, extensions (with GREASE where asked), supported versions and
// signature algorithms, wrapped in one or several handshake records.
//
//   ClientHelloSpec s;
//   s.sni = "www.example.com";
//   std::string bytes = client_hello_records(s);          // ready for TcpConversation::send
//   std::string two = client_hello_records(s, 100);       // split into 100-byte records
//
// FoxIO's published JA4 example (t13d1516h2_8daaf6152771_e5627efa2ab1) is the default
// cipher and signature lists with `order` = kJa4SpecExtensionOrder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dlp::testgen {

struct ClientHelloSpec {
  std::string sni;  // empty: no server_name extension
  std::vector<std::string> alpn = {"h2", "http/1.1"};
  std::vector<std::uint16_t> ciphers = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c,
                                        0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c,
                                        0x009d, 0x002f, 0x0035};
  std::vector<std::uint16_t> supported_versions = {0x0304, 0x0303};
  std::vector<std::uint16_t> signature_algorithms = {0x0403, 0x0804, 0x0401, 0x0503,
                                                     0x0805, 0x0501, 0x0806, 0x0601};
  // Other extensions, sent empty-bodied where that is legal enough for a parser test
  // (extended_master_secret 0x0017, renegotiation_info 0xff01, session_ticket 0x0023 ...).
  std::vector<std::uint16_t> other_extensions = {0x0017, 0xff01, 0x0023, 0x0005, 0x0012,
                                                 0x001b};
  bool grease = false;  // a GREASE cipher first and GREASE extensions first and last
  // When not empty: every extension, in this order (0x0000 SNI, 0x0010 ALPN, 0x000d,
  // 0x002b from the fields above, also when those are empty; the rest with a plausible
  // body: supported_groups, ec_point_formats, key_share, psk modes, status_request ...);
  // other_extensions is then unused. GREASE (when asked) is still added first and last.
  std::vector<std::uint16_t> order;
  // Appended after everything else exactly as given (type, body): for hostile tests.
  std::vector<std::pair<std::uint16_t, std::string>> raw_extensions;
  std::uint16_t legacy_version = 0x0303;
};

// The extension order of the ClientHello in FoxIO's JA4 description.
inline const std::vector<std::uint16_t> kJa4SpecExtensionOrder = {
    0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d,
    0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015};

// The handshake message (type 1, 3-byte length, body).
std::string client_hello_handshake(const ClientHelloSpec& spec);
// In TLS records of at most `record_size` payload bytes each.
std::string client_hello_records(const ClientHelloSpec& spec, std::size_t record_size = 16384);

}  // namespace dlp::testgen
