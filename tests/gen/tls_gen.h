// TLS ClientHello builder for the TLS inspector's tests and captures: chosen server name,
// ALPN list, cipher suites, extensions (with GREASE where asked), supported versions and
// signature algorithms, wrapped in one or several handshake records.
//
//   ClientHelloSpec s;
//   s.sni = "www.example.com";
//   std::string bytes = client_hello_records(s);          // ready for TcpConversation::send
//   std::string two = client_hello_records(s, 100);       // split into 100-byte records
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
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
};

// The handshake message (type 1, 3-byte length, body).
std::string client_hello_handshake(const ClientHelloSpec& spec);
// In TLS records of at most `record_size` payload bytes each.
std::string client_hello_records(const ClientHelloSpec& spec, std::size_t record_size = 16384);

}  // namespace dlp::testgen
