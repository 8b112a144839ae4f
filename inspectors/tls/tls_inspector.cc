// ClientHello framing (records → one handshake message), parsing and JA4.
//
// JA4 follows FoxIO's published description (technical_details/JA4.md of FoxIO-LLC/ja4):
//   a: "t" + version (highest supported_versions, else the hello's legacy version; GREASE
//      ignored) + "d"/"i" (server_name present) + cipher count + extension count (GREASE
//      ignored, at most 99) + first and last character of the first ALPN value ("00")
//   b: SHA-256 of the sorted cipher list ("002f,0035,..."), first 12 hex digits
//   c: SHA-256 of the sorted extension list without SNI and ALPN, then "_" and the
//      signature algorithms in wire order (no "_" when there are none), first 12 hex
//   an empty list hashes as "000000000000".
#include "inspectors/tls/tls_inspector.h"

#include <algorithm>
#include <cstring>

#include <openssl/sha.h>

namespace dlp::inspectors {
namespace {

constexpr std::size_t kMaxRecord = 16384 + 2048;  // TLSCiphertext bound (RFC 8446 §5.2)
constexpr std::size_t kMaxSni = 255;
constexpr std::size_t kMaxAlpnText = 512;
constexpr char kHex[] = "0123456789abcdef";

// A bounds-checked big-endian reader over a byte view; once a read fails every later
// read fails too, so a parser checks `ok` once after a group of reads.
struct Reader {
  Bytes b;
  std::size_t pos = 0;
  bool ok = true;
  std::size_t left() const { return ok ? b.size() - pos : 0; }
  std::uint32_t num(std::size_t n) {
    if (left() < n) {
      ok = false;
      return 0;
    }
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | b[pos + i];
    pos += n;
    return v;
  }
  Bytes take(std::size_t n) {
    if (left() < n) {
      ok = false;
      return {};
    }
    Bytes v = b.subspan(pos, n);
    pos += n;
    return v;
  }
  // A vector<n-byte length> as a reader of its own.
  Reader sub(std::size_t len_bytes) { return Reader{take(num(len_bytes))}; }
};

// Reads a list of 16-bit values filling the whole reader; false on an odd length.
bool u16_list(Reader r, std::vector<std::uint16_t>& out) {
  if (!r.ok || r.b.size() % 2 != 0) return false;
  while (r.left() >= 2) out.push_back(static_cast<std::uint16_t>(r.num(2)));
  return true;
}

void append_hex4(std::string& out, std::uint16_t v) {
  out += kHex[(v >> 12) & 15];
  out += kHex[(v >> 8) & 15];
  out += kHex[(v >> 4) & 15];
  out += kHex[v & 15];
}

void append_list(std::string& out, const std::vector<std::uint16_t>& v) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    append_hex4(out, v[i]);
  }
}

void append_sha12(std::string& out, const std::string& s) {
  if (s.empty()) {
    out += "000000000000";
    return;
  }
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  for (int i = 0; i < 6; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
}

bool is_alnum(std::uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// The three lists JA4 hashes, GREASE removed; ciphers and extensions sorted.
struct Ja4Parts {
  std::string a;
  std::string ciphers;     // "002f,0035,..."
  std::string extensions;  // "0005,000a,...[_0403,0804,...]"
};

Ja4Parts ja4_parts(const ClientHello& h) {
  Ja4Parts p;
  std::uint16_t version = 0;
  for (std::uint16_t v : h.supported_versions) {
    if (!is_grease(v)) version = std::max(version, v);
  }
  if (version == 0) version = h.legacy_version;
  p.a = "t";
  switch (version) {
    case 0x0304: p.a += "13"; break;
    case 0x0303: p.a += "12"; break;
    case 0x0302: p.a += "11"; break;
    case 0x0301: p.a += "10"; break;
    case 0x0300: p.a += "s3"; break;
    case 0x0002: p.a += "s2"; break;
    case 0xfeff: p.a += "d1"; break;
    case 0xfefd: p.a += "d2"; break;
    case 0xfefc: p.a += "d3"; break;
    default: p.a += "00"; break;
  }
  p.a += h.has_sni ? 'd' : 'i';

  std::vector<std::uint16_t> ciphers, exts, algs;
  for (auto c : h.ciphers) {
    if (!is_grease(c)) ciphers.push_back(c);
  }
  std::size_t ext_count = 0;
  for (auto e : h.extensions) {
    if (is_grease(e)) continue;
    ++ext_count;
    if (e != 0x0000 && e != 0x0010) exts.push_back(e);
  }
  for (auto a : h.signature_algorithms) {
    if (!is_grease(a)) algs.push_back(a);
  }
  const std::size_t nc = std::min<std::size_t>(ciphers.size(), 99);
  const std::size_t ne = std::min<std::size_t>(ext_count, 99);
  p.a += static_cast<char>('0' + nc / 10);
  p.a += static_cast<char>('0' + nc % 10);
  p.a += static_cast<char>('0' + ne / 10);
  p.a += static_cast<char>('0' + ne % 10);

  if (h.alpn.empty() || h.alpn[0].empty()) {
    p.a += "00";
  } else {
    const std::string& v = h.alpn[0];
    const auto first = static_cast<std::uint8_t>(v.front());
    const auto last = static_cast<std::uint8_t>(v.back());
    if (is_alnum(first) && is_alnum(last)) {
      p.a += static_cast<char>(first);
      p.a += static_cast<char>(last);
    } else {
      // The first and last character of the value's hex form.
      p.a += kHex[first >> 4];
      p.a += kHex[last & 15];
    }
  }

  std::sort(ciphers.begin(), ciphers.end());
  std::sort(exts.begin(), exts.end());
  append_list(p.ciphers, ciphers);
  append_list(p.extensions, exts);
  if (!exts.empty() && !algs.empty()) {
    p.extensions += '_';
    append_list(p.extensions, algs);
  }
  return p;
}

// Printable ASCII kept, anything else (and, in ALPN lists, the separator) as '?'.
bool append_printable(std::string& out, std::string_view s, std::size_t cap, bool no_comma) {
  bool clean = true;
  for (char c : s.substr(0, cap)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e || (no_comma && c == ',')) {
      out += '?';
      clean = false;
    } else {
      out += c;
    }
  }
  return clean && s.size() <= cap;
}

}  // namespace

bool is_grease(std::uint16_t v) { return (v >> 8) == (v & 0xff) && (v & 0x0f) == 0x0a; }

bool parse_client_hello(Bytes body, ClientHello& h) {
  Reader r{body};
  h.legacy_version = static_cast<std::uint16_t>(r.num(2));
  r.take(32);        // random
  r.take(r.num(1));  // legacy_session_id
  if (!u16_list(r.sub(2), h.ciphers) || !r.ok) return false;
  r.take(r.num(1));  // legacy_compression_methods
  if (!r.ok) return false;
  if (r.left() == 0) return true;  // no extensions (SSL 3.0 / TLS 1.0 style)
  Reader exts = r.sub(2);
  if (!r.ok) return false;
  if (r.left() != 0) return false;  // bytes after the extensions
  while (exts.left() > 0) {
    const auto type = static_cast<std::uint16_t>(exts.num(2));
    Reader e = exts.sub(2);
    if (!exts.ok) return false;
    h.extensions.push_back(type);
    bool good = true;
    switch (type) {
      case 0x0000: {  // server_name: list of (type, host_name<1..2^16-1>)
        h.has_sni = true;
        Reader list = e.sub(2);
        good = e.ok && e.left() == 0 && list.left() > 0;
        while (good && list.left() > 0) {
          const auto kind = list.num(1);
          Bytes name = list.take(list.num(2));
          good = list.ok && !name.empty();
          if (good && kind == 0 && h.sni.empty()) h.sni.assign(as_chars(name));
        }
        break;
      }
      case 0x0010: {  // ALPN: list of protocol_name<1..2^8-1>
        Reader list = e.sub(2);
        good = e.ok && e.left() == 0 && list.left() > 0;
        while (good && list.left() > 0) {
          Bytes p = list.take(list.num(1));
          good = list.ok && !p.empty();
          if (list.ok) h.alpn.emplace_back(as_chars(p));
        }
        break;
      }
      case 0x002b: {  // supported_versions (client): versions<2..254>
        Reader list = e.sub(1);
        good = e.ok && e.left() == 0 && list.left() > 0 && u16_list(list, h.supported_versions);
        break;
      }
      case 0x000d: {  // signature_algorithms: supported_signature_algorithms<2..2^16-2>
        Reader list = e.sub(2);
        good = e.ok && e.left() == 0 && list.left() > 0 && u16_list(list, h.signature_algorithms);
        break;
      }
      case 0xfe0d:  // encrypted_client_hello
        h.has_ech = true;
        break;
      default:
        break;
    }
    if (!good) ++h.bad_extensions;
  }
  return exts.ok;
}

std::string ja4(const ClientHello& h) {
  const Ja4Parts p = ja4_parts(h);
  std::string out = p.a;
  out += '_';
  append_sha12(out, p.ciphers);
  out += '_';
  append_sha12(out, p.extensions);
  return out;
}

std::string ja4_raw(const ClientHello& h) {
  const Ja4Parts p = ja4_parts(h);
  return p.a + "_" + p.ciphers + "_" + p.extensions;
}

namespace {

class TlsInspector final : public Inspector {
 public:
  TlsInspector(ContentSink& sink, const Limits& limits) : sink_(sink), limits_(limits) {}

  void data(Dir dir, Bytes bytes) override {
    if (dir != Dir::to_server || done_ || bytes.empty()) return;
    seen_ = true;
    std::size_t i = 0;
    // Common case: the whole hello in the first record of this call, nothing buffered.
    if (header_len_ == 0 && record_left_ == 0 && hello_.empty() && bytes.size() >= 9 &&
        bytes[0] == 22 && bytes[1] == 3) {
      const std::size_t rec = (std::size_t{bytes[3]} << 8) | bytes[4];
      const std::size_t len =
          (std::size_t{bytes[6]} << 16) | (std::size_t{bytes[7]} << 8) | bytes[8];
      if (bytes[5] == 1 && rec >= len + 4 && rec <= kMaxRecord && bytes.size() >= 5 + rec &&
          len + 4 <= TlsInspectorFactory::kMaxHello) {
        finish(bytes.subspan(9, len));
        return;
      }
    }
    while (i < bytes.size() && !done_) {
      if (record_left_ == 0) {
        // The record header, which may itself be split across segments.
        while (i < bytes.size() && header_len_ < 5) header_[header_len_++] = bytes[i++];
        if (header_len_ < 5) return;
        header_len_ = 0;
        if (header_[0] != 22 || header_[1] != 3) {
          fail(hello_.empty() ? "tls.not_handshake" : "tls.bad_record");
          return;
        }
        record_left_ = (std::size_t{header_[3]} << 8) | header_[4];
        if (record_left_ == 0 || record_left_ > kMaxRecord) {
          fail("tls.bad_record");
          return;
        }
        continue;
      }
      std::size_t n = std::min(record_left_, bytes.size() - i);
      if (hello_.capacity() == 0) hello_.reserve(1024);
      while (n > 0 && !done_) {
        const std::size_t want = wanted();
        // Bytes after the hello in its last record are not ours to parse.
        const std::size_t take = hello_.size() < want ? std::min(n, want - hello_.size()) : n;
        if (hello_.size() < want) {
          hello_.insert(hello_.end(), bytes.begin() + static_cast<std::ptrdiff_t>(i),
                        bytes.begin() + static_cast<std::ptrdiff_t>(i + take));
        }
        i += take;
        n -= take;
        record_left_ -= take;
        check();
      }
    }
  }

  void gap(Dir dir, std::uint64_t) override {
    if (dir == Dir::to_server && !done_) fail("tls.gap");
  }

  void close() override {
    if (!done_ && seen_) sink_.weird("tls.truncated_hello");
    done_ = true;
    std::vector<std::uint8_t>().swap(hello_);
  }

 private:
  // Bytes of handshake data needed: the 4-byte header, then the whole message.
  std::size_t wanted() const {
    if (hello_.size() < 4) return 4;
    return 4 + ((std::size_t{hello_[1]} << 16) | (std::size_t{hello_[2]} << 8) | hello_[3]);
  }

  void check() {
    if (hello_.size() < 4) return;
    if (hello_[0] != 1) {
      fail("tls.not_client_hello");
      return;
    }
    const std::size_t want = wanted();
    if (want > TlsInspectorFactory::kMaxHello) {
      ContentMeta m;
      m.app = App::tls;
      limit_hit(sink_, limits_, "flow_memory", m,
                "ClientHello of " + std::to_string(want) + " bytes, more than 16 KiB");
      stop();
      return;
    }
    if (hello_.size() < want) return;
    finish(Bytes(hello_).subspan(4, want - 4));
  }

  void finish(Bytes body) {
    ClientHello h;
    if (!parse_client_hello(body, h)) {
      fail("tls.bad_hello");
      return;
    }
    if (h.bad_extensions > 0) sink_.weird("tls.bad_extension");
    ContentMeta m;
    m.app = App::tls;
    if (!append_printable(m.tls_sni, h.sni, kMaxSni, false)) sink_.weird("tls.bad_sni");
    bool alpn_clean = true;
    for (const std::string& a : h.alpn) {
      if (m.tls_alpn.size() >= kMaxAlpnText) {
        alpn_clean = false;
        break;
      }
      if (!m.tls_alpn.empty()) m.tls_alpn += ',';
      alpn_clean &= append_printable(m.tls_alpn, a, kMaxAlpnText - m.tls_alpn.size(), true);
    }
    if (!alpn_clean) sink_.weird("tls.bad_alpn");
    m.tls_ja4 = ja4(h);
    if (h.has_ech) {
      m.notes.push_back("tls ech: the real server name is encrypted, sni is the outer name");
    }
    sink_.flow_meta(m);
    stop();
  }

  void fail(std::string_view what) {
    sink_.weird(what);
    stop();
  }

  void stop() {
    done_ = true;
    std::vector<std::uint8_t>().swap(hello_);
  }

  ContentSink& sink_;
  const Limits limits_;  // by value: an inspector may outlive a test's factory
  std::vector<std::uint8_t> hello_;  // handshake bytes gathered so far (≤ kMaxHello)
  std::uint8_t header_[5] = {};
  std::size_t header_len_ = 0;
  std::size_t record_left_ = 0;
  bool seen_ = false;
  bool done_ = false;
};

}  // namespace

bool TlsInspectorFactory::wants_port(std::uint16_t p) const {
  switch (p) {
    case 443: case 465: case 563: case 636: case 853: case 989: case 990: case 993:
    case 995: case 5061: case 8443:
      return true;
    default:
      return false;
  }
}

bool TlsInspectorFactory::probe(Bytes b) const {
  if (b.size() < 3 || b[0] != 22 || b[1] != 3 || b[2] > 4) return false;
  return b.size() < 6 || b[5] == 1;  // handshake type ClientHello
}

std::unique_ptr<Inspector> TlsInspectorFactory::create(ContentSink& sink, const FlowInfo&) const {
  return std::make_unique<TlsInspector>(sink, limits_);
}

}  // namespace dlp::inspectors
