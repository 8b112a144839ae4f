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

}  // namespace

std::string client_hello_handshake(const ClientHelloSpec& s) {
  std::string body;
  u16(body, 0x0303);
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
  if (!s.sni.empty()) {
    std::string list;
    u8(list, 0);
    u16(list, static_cast<unsigned>(s.sni.size()));
    list += s.sni;
    std::string b;
    u16(b, static_cast<unsigned>(list.size()));
    ext(exts, 0x0000, b + list);
  }
  for (auto e : s.other_extensions) ext(exts, e, "");
  if (!s.alpn.empty()) {
    std::string list;
    for (const auto& a : s.alpn) {
      u8(list, static_cast<unsigned>(a.size()));
      list += a;
    }
    std::string b;
    u16(b, static_cast<unsigned>(list.size()));
    ext(exts, 0x0010, b + list);
  }
  if (!s.signature_algorithms.empty()) {
    std::string b;
    u16(b, static_cast<unsigned>(s.signature_algorithms.size() * 2));
    for (auto a : s.signature_algorithms) u16(b, a);
    ext(exts, 0x000d, b);
  }
  if (!s.supported_versions.empty()) {
    std::string b;
    std::vector<std::uint16_t> v = s.supported_versions;
    if (s.grease) v.insert(v.begin(), 0x2a2a);
    u8(b, static_cast<unsigned>(v.size() * 2));
    for (auto x : v) u16(b, x);
    ext(exts, 0x002b, b);
  }
  if (s.grease) ext(exts, 0x1a1a, std::string(1, '\0'));
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
