#include "tests/gen/tls_gen.h"

#include <algorithm>

namespace dlp::testgen {
namespace {

void u8(std::string& s, unsigned v) { s += static_cast<char>(v & 0xff); }
void u16(std::string& s, unsigned v) {
  u8(s, v >> 8);
  u8(s, v);
}
void u24(std::string& s, std::size_t v) {
  u8(s, static_cast<unsigned>(v >> 16));
  u16(s, static_cast<unsigned>(v));
}
void ext(std::string& out, std::uint16_t type, const std::string& body) {
  u16(out, type);
  u16(out, static_cast<unsigned>(body.size()));
  out += body;
}

std::string extension_body(const ClientHelloSpec& s, std::uint16_t type) {
  std::string b;
  switch (type) {
    case 0x0000: {
      std::string list;
      u8(list, 0);
      u16(list, static_cast<unsigned>(s.sni.size()));
      list += s.sni;
      u16(b, static_cast<unsigned>(list.size()));
      return b + list;
    }
    case 0x0010: {
      std::string list;
      for (const auto& a : s.alpn) {
        u8(list, static_cast<unsigned>(a.size()));
        list += a;
      }
      u16(b, static_cast<unsigned>(list.size()));
      return b + list;
    }
    case 0x000d:
      u16(b, static_cast<unsigned>(s.signature_algorithms.size() * 2));
      for (auto a : s.signature_algorithms) u16(b, a);
      return b;
    case 0x002b: {
      std::vector<std::uint16_t> v = s.supported_versions;
      if (s.grease && !v.empty()) v.insert(v.begin(), 0x2a2a);
      u8(b, static_cast<unsigned>(v.size() * 2));
      for (auto x : v) u16(b, x);
      return b;
    }
    case 0x000a:  // supported_groups: x25519, secp256r1, secp384r1
      u16(b, 6);
      u16(b, 0x001d);
      u16(b, 0x0017);
      u16(b, 0x0018);
      return b;
    case 0x000b:  // ec_point_formats: uncompressed
      u8(b, 1);
      u8(b, 0);
      return b;
    case 0x0033: {  // key_share: x25519 with a 32-byte key
      std::string entry;
      u16(entry, 0x001d);
      u16(entry, 32);
      for (int i = 0; i < 32; ++i) u8(entry, static_cast<unsigned>(0x40 + i));
      u16(b, static_cast<unsigned>(entry.size()));
      return b + entry;
    }
    case 0x002d:  // psk_key_exchange_modes: psk_dhe_ke
      u8(b, 1);
      u8(b, 1);
      return b;
    case 0x0005:  // status_request: ocsp, empty lists
      u8(b, 1);
      u16(b, 0);
      u16(b, 0);
      return b;
    case 0x001b:  // compress_certificate: brotli
      u8(b, 2);
      u16(b, 2);
      return b;
    case 0x4469:  // application_settings (ALPS): h2
    case 0x44cd:
      u16(b, 3);
      u8(b, 2);
      b += "h2";
      return b;
    case 0xff01:  // renegotiation_info: empty
      u8(b, 0);
      return b;
    case 0x0015:  // padding
      return std::string(32, '\0');
    default:
      return b;
  }
}

}  // namespace

std::string client_hello_handshake(const ClientHelloSpec& s) {
  std::string body;
  u16(body, s.legacy_version);
  for (int i = 0; i < 32; ++i) u8(body, static_cast<unsigned>(i * 7 + 1));  // random
  u8(body, 32);
  for (int i = 0; i < 32; ++i) u8(body, static_cast<unsigned>(0xa0 + i));  // session id
  std::vector<std::uint16_t> ciphers = s.ciphers;
  if (s.grease) ciphers.insert(ciphers.begin(), 0x3a3a);
  u16(body, static_cast<unsigned>(ciphers.size() * 2));
  for (auto c : ciphers) u16(body, c);
  u8(body, 1);
  u8(body, 0);  // null compression

  std::string exts;
  if (s.grease) ext(exts, 0x8a8a, "");
  if (!s.order.empty()) {
    for (auto e : s.order) ext(exts, e, extension_body(s, e));
  } else {
    if (!s.sni.empty()) ext(exts, 0x0000, extension_body(s, 0x0000));
    for (auto e : s.other_extensions) ext(exts, e, "");
    if (!s.alpn.empty()) ext(exts, 0x0010, extension_body(s, 0x0010));
    if (!s.signature_algorithms.empty()) ext(exts, 0x000d, extension_body(s, 0x000d));
    if (!s.supported_versions.empty()) ext(exts, 0x002b, extension_body(s, 0x002b));
  }
  if (s.grease) ext(exts, 0x1a1a, std::string(1, '\0'));
  for (const auto& [type, b] : s.raw_extensions) ext(exts, type, b);
  u16(body, static_cast<unsigned>(exts.size()));
  body += exts;

  std::string hs;
  u8(hs, 1);
  u24(hs, body.size());
  return hs + body;
}

std::string client_hello_records(const ClientHelloSpec& spec, std::size_t record_size) {
  const std::string hs = client_hello_handshake(spec);
  std::string out;
  for (std::size_t i = 0; i < hs.size(); i += record_size) {
    const std::size_t n = std::min(record_size, hs.size() - i);
    u8(out, 22);
    u16(out, 0x0301);
    u16(out, static_cast<unsigned>(n));
    out += hs.substr(i, n);
  }
  return out;
}

}  // namespace dlp::testgen
