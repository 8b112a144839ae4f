#include "inspectors/tls/tls_inspector.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include <openssl/sha.h>

namespace dlp::inspectors {
namespace {

// A bounds-checked big-endian reader over a byte view.
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
};

std::string hex4(std::uint16_t v) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "%04x", v);
  return buf;
}

std::string sha256_12(const std::string& s) {
  if (s.empty()) return "000000000000";
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  static const char* k = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 6; ++i) {
    out += k[md[i] >> 4];
    out += k[md[i] & 15];
  }
  return out;
}

std::string joined(const std::vector<std::uint16_t>& v) {
  std::string out;
  for (std::uint16_t x : v) {
    if (!out.empty()) out += ',';
    out += hex4(x);
  }
  return out;
}

}  // namespace

bool is_grease(std::uint16_t v) { return (v >> 8) == (v & 0xff) && (v & 0x0f) == 0x0a; }

bool parse_client_hello(Bytes body, ClientHello& h) {
  Reader r{body};
  h.legacy_version = static_cast<std::uint16_t>(r.num(2));
  r.take(32);                 // random
  r.take(r.num(1));           // session id
  Reader cs{r.take(r.num(2))};
  if (!r.ok || cs.b.size() % 2 != 0) return false;
  while (cs.left() >= 2) h.ciphers.push_back(static_cast<std::uint16_t>(cs.num(2)));
  r.take(r.num(1));  // compression methods
  if (!r.ok) return false;
  if (r.left() == 0) return true;  // no extensions (TLS 1.0 style)
  Reader exts{r.take(r.num(2))};
  if (!r.ok) return false;
  while (exts.left() > 0) {
    const auto type = static_cast<std::uint16_t>(exts.num(2));
    Reader e{exts.take(exts.num(2))};
    if (!exts.ok) return false;
    h.extensions.push_back(type);
    switch (type) {
      case 0x0000: {  // server_name
        h.has_sni = true;
        Reader list{e.take(e.num(2))};
        while (list.ok && list.left() >= 3) {
          const auto kind = list.num(1);
          Bytes name = list.take(list.num(2));
          if (list.ok && kind == 0 && h.sni.empty()) h.sni.assign(as_chars(name));
        }
        if (!e.ok || !list.ok) return false;
        break;
      }
      case 0x0010: {  // ALPN
        Reader list{e.take(e.num(2))};
        while (list.ok && list.left() > 0) {
          Bytes p = list.take(list.num(1));
          if (list.ok) h.alpn.emplace_back(as_chars(p));
        }
        if (!e.ok || !list.ok) return false;
        break;
      }
      case 0x002b: {  // supported_versions
        Reader list{e.take(e.num(1))};
        while (list.ok && list.left() >= 2) h.supported_versions.push_back(static_cast<std::uint16_t>(list.num(2)));
        if (!e.ok) return false;
        break;
      }
      case 0x000d: {  // signature_algorithms
        Reader list{e.take(e.num(2))};
        while (list.ok && list.left() >= 2) h.signature_algorithms.push_back(static_cast<std::uint16_t>(list.num(2)));
        if (!e.ok) return false;
        break;
      }
      default: break;
    }
  }
  return exts.ok;
}

std::string ja4(const ClientHello& h) {
  std::uint16_t version = 0;
  for (std::uint16_t v : h.supported_versions) {
    if (!is_grease(v)) version = std::max(version, v);
  }
  if (version == 0) version = h.legacy_version;
  std::string out = "t";
  switch (version) {
    case 0x0304: out += "13"; break;
    case 0x0303: out += "12"; break;
    case 0x0302: out += "11"; break;
    case 0x0301: out += "10"; break;
    case 0x0300: out += "s3"; break;
    default: out += "00"; break;
  }
  out += h.has_sni ? 'd' : 'i';
  std::vector<std::uint16_t> ciphers, exts;
  for (auto c : h.ciphers) {
    if (!is_grease(c)) ciphers.push_back(c);
  }
  for (auto e : h.extensions) {
    if (!is_grease(e)) exts.push_back(e);
  }
  char counts[8];
  std::snprintf(counts, sizeof counts, "%02zu%02zu", std::min<std::size_t>(ciphers.size(), 99),
                std::min<std::size_t>(exts.size(), 99));
  out += counts;
  if (h.alpn.empty() || h.alpn[0].empty()) {
    out += "00";
  } else {
    const std::string& a = h.alpn[0];
    const auto first = static_cast<unsigned char>(a.front());
    const auto last = static_cast<unsigned char>(a.back());
    if (std::isalnum(first) && std::isalnum(last)) {
      out += static_cast<char>(first);
      out += static_cast<char>(last);
    } else {
      // Not printable: the first hex digit of the first byte and the last of the last.
      static const char* k = "0123456789abcdef";
      out += k[first >> 4];
      out += k[last & 15];
    }
  }
  std::sort(ciphers.begin(), ciphers.end());
  out += "_" + sha256_12(joined(ciphers));
  std::vector<std::uint16_t> sorted_exts;
  for (auto e : exts) {
    if (e != 0x0000 && e != 0x0010) sorted_exts.push_back(e);
  }
  std::sort(sorted_exts.begin(), sorted_exts.end());
  std::string c = joined(sorted_exts);
  if (!h.signature_algorithms.empty() && !c.empty()) {
    std::vector<std::uint16_t> algs;
    for (auto a : h.signature_algorithms) {
      if (!is_grease(a)) algs.push_back(a);
    }
    c += "_" + joined(algs);
  }
  out += "_" + sha256_12(c);
  return out;
}

namespace {

class TlsInspector final : public Inspector {
 public:
  TlsInspector(ContentSink& sink, const Limits& limits) : sink_(sink), limits_(limits) {}

  void data(Dir dir, Bytes bytes) override {
    if (dir != Dir::to_server || done_) return;
    // Records: strip the 5-byte headers and collect the handshake bytes.
    std::size_t i = 0;
    while (i < bytes.size() && !done_) {
      if (record_left_ == 0) {
        // Gather the record header (it may be split across segments).
        while (i < bytes.size() && header_len_ < 5) header_[header_len_++] = bytes[i++];
        if (header_len_ < 5) return;
        header_len_ = 0;
        if (header_[0] != 22 || header_[1] != 3) {
          fail("tls.not_handshake");
          return;
        }
        record_left_ = (std::size_t{header_[3]} << 8) | header_[4];
        if (record_left_ == 0) {
          fail("tls.bad_record");
          return;
        }
        continue;
      }
      const std::size_t n = std::min(record_left_, bytes.size() - i);
      if (hello_.size() + n > TlsInspectorFactory::kMaxHello) {
        done_ = true;
        limit_hit(sink_, limits_, "flow_memory", meta(), "ClientHello larger than 16 KiB");
        return;
      }
      hello_.insert(hello_.end(), bytes.begin() + static_cast<std::ptrdiff_t>(i),
                    bytes.begin() + static_cast<std::ptrdiff_t>(i + n));
      i += n;
      record_left_ -= n;
      try_parse();
    }
  }

  void gap(Dir dir, std::uint64_t) override {
    if (dir == Dir::to_server && !done_) fail("tls.gap");
  }
  void close() override {
    if (!done_ && !hello_.empty()) sink_.weird("tls.truncated_hello");
    done_ = true;
  }

 private:
  ContentMeta meta() const {
    ContentMeta m;
    m.app = App::tls;
    return m;
  }
  void fail(std::string_view what) {
    sink_.weird(what);
    done_ = true;
    std::vector<std::uint8_t>().swap(hello_);
  }
  void try_parse() {
    if (hello_.size() < 4) return;
    if (hello_[0] != 1) {
      fail("tls.not_client_hello");
      return;
    }
    const std::size_t len = (std::size_t{hello_[1]} << 16) | (std::size_t{hello_[2]} << 8) | hello_[3];
    if (len + 4 > TlsInspectorFactory::kMaxHello) {
      done_ = true;
      limit_hit(sink_, limits_, "flow_memory", meta(), "ClientHello larger than 16 KiB");
      return;
    }
    if (hello_.size() < len + 4) return;
    ClientHello h;
    if (!parse_client_hello(Bytes(hello_).subspan(4, len), h)) {
      fail("tls.bad_hello");
      return;
    }
    ContentMeta m = meta();
    m.tls_sni = h.sni;
    for (const auto& a : h.alpn) m.tls_alpn += (m.tls_alpn.empty() ? "" : ",") + a;
    m.tls_ja4 = ja4(h);
    sink_.flow_meta(m);
    done_ = true;
    std::vector<std::uint8_t>().swap(hello_);
  }

  ContentSink& sink_;
  const Limits& limits_;
  std::vector<std::uint8_t> hello_;
  std::uint8_t header_[5] = {};
  std::size_t header_len_ = 0;
  std::size_t record_left_ = 0;
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
