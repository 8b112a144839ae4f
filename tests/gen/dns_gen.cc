// DNS messages, query mixes and tunnels for the generator. Written from RFC 1035 and
// RFC 4648, independently of inspectors/dns, so it can serve as the parser's oracle.
#include "tests/gen/dns_gen.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <stdexcept>

namespace dlp::testgen {
namespace {

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v & 0xffff));
}

std::string random_chars(std::mt19937_64& rng, std::size_t n, std::string_view alphabet) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += alphabet[rng() % alphabet.size()];
  return s;
}

constexpr std::string_view kHex = "0123456789abcdef";
constexpr std::string_view kAlnum = "abcdefghijklmnopqrstuvwxyz0123456789";

struct Site {
  std::string_view domain;
  std::vector<std::string_view> hosts;  // "" is the apex
};

const std::vector<Site>& sites() {
  static const std::vector<Site> kSites = {
      {"google.com", {"www", "mail", "apis", "accounts", "clients1", "clients4", "ogs", "play",
                      "docs", "drive", "calendar", "meet", "lh3", "ssl", "fonts"}},
      {"gstatic.com", {"www", "fonts", "ssl", "encrypted-tbn0", "csi"}},
      {"microsoft.com", {"www", "login", "learn", "go", "support"}},
      {"office.com", {"www", "outlook", "substrate", "res"}},
      {"live.com", {"login", "outlook", "account"}},
      {"github.com", {"", "api", "avatars", "codeload", "objects", "collector"}},
      {"githubusercontent.com", {"raw", "avatars", "objects", "user-images"}},
      {"wikipedia.org", {"en", "de", "upload", "www"}},
      {"nytimes.com", {"www", "static01", "a1", "purr"}},
      {"bbc.co.uk", {"www", "static", "ichef", "emp"}},
      {"amazon.com", {"www", "images-na", "fls-na", "m"}},
      {"slack.com", {"app", "edgeapi", "wss-primary", "a"}},
      {"zoom.us", {"", "us02web", "log", "zoom"}},
      {"salesforce.com", {"login", "na1", "c"}},
      {"doubleclick.net", {"securepubads.g", "stats.g", "ad"}},
      {"apple.com", {"gateway.icloud", "init", "mesu", "xp", "configuration.ls"}},
      {"msftconnecttest.com", {"www"}},
      {"windowsupdate.com", {"ctldl", "download", "fe2.update"}},
      {"cloudflare.com", {"www", "cdnjs", "dash"}},
      {"linkedin.com", {"www", "static", "media"}},
  };
  return kSites;
}

std::vector<std::uint8_t> question(std::uint16_t id, std::uint16_t flags, std::string_view name,
                                   std::uint16_t qtype) {
  std::vector<std::uint8_t> m;
  put16(m, id);
  put16(m, flags);
  put16(m, 1);
  put16(m, 0);
  put16(m, 0);
  put16(m, 0);
  const auto wire = dns_name_wire(name);
  m.insert(m.end(), wire.begin(), wire.end());
  put16(m, qtype);
  put16(m, 1);
  return m;
}

}  // namespace

std::vector<std::uint8_t> dns_name_wire(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::vector<std::uint8_t> out;
  while (!name.empty()) {
    const std::size_t dot = name.find('.');
    const std::string_view label = name.substr(0, dot);
    if (label.empty() || label.size() > 63) {
      throw std::invalid_argument("dns_name_wire: bad label in " + std::string(name));
    }
    out.push_back(static_cast<std::uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
  }
  out.push_back(0);
  if (out.size() > 255) throw std::invalid_argument("dns_name_wire: name over 255 octets");
  return out;
}

std::vector<std::uint8_t> dns_query(std::uint16_t id, std::string_view name, std::uint16_t qtype,
                                    bool edns) {
  std::vector<std::uint8_t> m = question(id, 0x0100 /*RD*/, name, qtype);
  if (edns) {
    m[11] = 1;  // ARCOUNT
    m.push_back(0);            // root
    put16(m, 41);              // OPT
    put16(m, 4096);            // UDP payload size
    put32(m, 0);               // extended rcode, version, flags
    put16(m, 0);               // RDLENGTH
  }
  return m;
}

std::vector<std::uint8_t> dns_response(std::span<const std::uint8_t> query, std::uint8_t rcode) {
  if (query.size() < 12) throw std::invalid_argument("dns_response: short query");
  // Header and the first question, as asked.
  std::size_t end = 12;
  while (end < query.size() && query[end] != 0) end += 1 + query[end];
  end += 5;  // root octet, QTYPE, QCLASS
  if (end > query.size()) throw std::invalid_argument("dns_response: bad question");
  std::vector<std::uint8_t> m(query.begin(), query.begin() + static_cast<std::ptrdiff_t>(end));
  const std::uint16_t qtype = static_cast<std::uint16_t>((m[end - 4] << 8) | m[end - 3]);
  m[2] = 0x81;                                           // QR, RD
  m[3] = static_cast<std::uint8_t>(0x80 | (rcode & 0x0f));  // RA, rcode
  m[4] = 0;
  m[5] = 1;
  m[6] = m[7] = m[8] = m[9] = m[10] = m[11] = 0;
  if (rcode == 0 && (qtype == kDnsA || qtype == kDnsAaaa)) {
    m[7] = 1;
    put16(m, 0xc00c);  // the question's name
    put16(m, qtype);
    put16(m, 1);
    put32(m, 300);
    if (qtype == kDnsA) {
      put16(m, 4);
      m.insert(m.end(), {203, 0, 113, 7});
    } else {
      put16(m, 16);
      const std::array<std::uint8_t, 16> v6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
      m.insert(m.end(), v6.begin(), v6.end());
    }
  }
  return m;
}

std::vector<std::uint8_t> dns_tcp_framed(std::span<const std::uint8_t> msg) {
  if (msg.size() > 0xffff) throw std::invalid_argument("dns_tcp_framed: message over 65535");
  std::vector<std::uint8_t> out;
  put16(out, static_cast<std::uint16_t>(msg.size()));
  out.insert(out.end(), msg.begin(), msg.end());
  return out;
}

std::vector<DnsQueryEvent> browsing_queries(std::mt19937_64& rng, std::size_t n,
                                            std::uint64_t start_ns, std::uint64_t duration_ns) {
  std::vector<DnsQueryEvent> out;
  // A handful of per-client app ids, fixed for the session.
  const std::string sentry_key = random_chars(rng, 32, kHex);
  const std::string dropbox_host = "uc" + random_chars(rng, 30, kAlnum);
  const std::array<std::string_view, 4> dkim_domains = {"example.org", "mailer.example.net",
                                                        "news.example.com", "shop.example"};
  while (out.size() < n) {
    const std::uint64_t ts = start_ns + (duration_ns == 0 ? 0 : rng() % duration_ns);
    const unsigned kind = static_cast<unsigned>(rng() % 100);
    auto add = [&](std::string name, std::uint16_t qtype) {
      if (out.size() < n) out.push_back({ts, std::move(name), qtype});
    };
    if (kind < 60) {  // a popular site: A, often AAAA too
      const Site& s = sites()[rng() % sites().size()];
      const std::string_view h = s.hosts[rng() % s.hosts.size()];
      const std::string name = h.empty() ? std::string(s.domain) : std::string(h) + "." + std::string(s.domain);
      add(name, kDnsA);
      if (rng() % 2 == 0) add(name, kDnsAaaa);
    } else if (kind < 70) {  // CDN names with hash-like labels
      switch (rng() % 5) {
        case 0: add("d" + random_chars(rng, 13, kAlnum) + ".cloudfront.net", kDnsA); break;
        case 1: add("e" + std::to_string(1000 + rng() % 9000) + ".a.akamaiedge.net", kDnsA); break;
        case 2:
          add("rr" + std::to_string(1 + rng() % 8) + "---sn-" + random_chars(rng, 8, kAlnum) +
                  ".googlevideo.com", kDnsA);
          break;
        case 3: add(random_chars(rng, 16, kAlnum) + ".z01.azureedge.net", kDnsA); break;
        default: add(dropbox_host + ".dl.dropboxusercontent.com", kDnsA); break;
      }
    } else if (kind < 78) {  // reverse look-ups
      if (rng() % 2 == 0) {
        add(std::to_string(rng() % 256) + "." + std::to_string(rng() % 256) + "." +
                std::to_string(rng() % 256) + ".10.in-addr.arpa", kDnsPtr);
      } else {
        std::string name;
        for (int i = 0; i < 32; ++i) name += std::string(1, kHex[rng() % 16]) + ".";
        add(name + "ip6.arpa", kDnsPtr);
      }
    } else if (kind < 85) {  // mail checks
      const std::string d(dkim_domains[rng() % dkim_domains.size()]);
      switch (rng() % 3) {
        case 0: add(d, kDnsTxt); break;
        case 1: add("_dmarc." + d, kDnsTxt); break;
        default: add("selector" + std::to_string(1 + rng() % 2) + "._domainkey." + d, kDnsTxt); break;
      }
    } else if (kind < 92) {  // anti-virus reputation: a file hash in the labels
      add(random_chars(rng, 40, kHex) + ".sfi_usr.sophosxl.net", kDnsA);
    } else if (kind < 96) {  // service discovery inside the company
      add(rng() % 2 ? "_ldap._tcp.dc._msdcs.corp.example.com" : "_kerberos._udp.corp.example.com",
          kDnsSrv);
    } else {  // an app's telemetry key
      add(sentry_key + ".ingest.sentry.io", kDnsA);
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const DnsQueryEvent& a, const DnsQueryEvent& b) { return a.ts_ns < b.ts_ns; });
  return out;
}

std::string base32_encode(std::span<const std::uint8_t> data) {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::uint8_t b : data) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (5 - bits)) & 31];
  return out;
}

std::string hex_encode(std::span<const std::uint8_t> data) {
  std::string out;
  for (std::uint8_t b : data) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

namespace {

// Characters of payload that fit in `room` characters when cut into labels of label_len
// joined by dots.
std::size_t chars_that_fit(std::size_t room, std::size_t label_len) {
  std::size_t c = 0;
  while (true) {
    const std::size_t next = c + 1;
    const std::size_t labels = (next + label_len - 1) / label_len;
    if (next + labels - 1 > room) return c;
    c = next;
  }
}

std::size_t raw_for_chars(std::size_t chars, TunnelEncoding e) {
  return e == TunnelEncoding::kHex ? chars / 2 : chars * 5 / 8;
}

}  // namespace

std::size_t tunnel_bytes_per_query(const TunnelConfig& cfg) {
  if (cfg.label_len == 0 || cfg.label_len > 63 || cfg.max_name <= cfg.domain.size() + 1) {
    throw std::invalid_argument("tunnel: no room for payload");
  }
  const std::size_t chars = chars_that_fit(cfg.max_name - cfg.domain.size() - 1, cfg.label_len);
  const std::size_t raw = raw_for_chars(chars, cfg.encoding);
  const std::size_t seq = cfg.sequence ? 2 : 0;
  if (raw <= seq) throw std::invalid_argument("tunnel: no room for payload");
  const std::size_t fit = raw - seq;
  return cfg.bytes_per_query == 0 ? fit : std::min(fit, cfg.bytes_per_query);
}

std::vector<DnsQueryEvent> tunnel_queries(std::span<const std::uint8_t> payload,
                                          const TunnelConfig& cfg) {
  const std::size_t per = tunnel_bytes_per_query(cfg);
  std::vector<DnsQueryEvent> out;
  std::uint16_t seq = 0;
  for (std::size_t off = 0; off < payload.size(); off += per, ++seq) {
    std::vector<std::uint8_t> chunk;
    if (cfg.sequence) {
      chunk.push_back(static_cast<std::uint8_t>(seq >> 8));
      chunk.push_back(static_cast<std::uint8_t>(seq & 0xff));
    }
    const std::size_t len = std::min(per, payload.size() - off);
    chunk.insert(chunk.end(), payload.begin() + static_cast<std::ptrdiff_t>(off),
                 payload.begin() + static_cast<std::ptrdiff_t>(off + len));
    const std::string enc =
        cfg.encoding == TunnelEncoding::kHex ? hex_encode(chunk) : base32_encode(chunk);
    std::string name;
    for (std::size_t i = 0; i < enc.size(); i += cfg.label_len) {
      name += enc.substr(i, cfg.label_len);
      name += '.';
    }
    name += cfg.domain;
    out.push_back({cfg.start_ns + out.size() * cfg.interval_ns, std::move(name), cfg.qtype});
  }
  return out;
}

std::vector<DnsQueryEvent> merge_by_time(const std::vector<DnsQueryEvent>& a,
                                         const std::vector<DnsQueryEvent>& b) {
  std::vector<DnsQueryEvent> out;
  out.reserve(a.size() + b.size());
  std::merge(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out),
             [](const DnsQueryEvent& x, const DnsQueryEvent& y) { return x.ts_ns < y.ts_ns; });
  return out;
}

std::vector<Packet> dns_udp_packets(const std::vector<DnsQueryEvent>& events, const Ip& ip,
                                    bool responses, std::uint16_t first_port, const L2& l2) {
  std::vector<Packet> out;
  Ip back = ip;
  std::swap(back.src, back.dst);
  L2 back_l2 = l2;
  std::swap(back_l2.src_mac, back_l2.dst_mac);
  std::uint32_t port = std::max<std::uint16_t>(first_port, 1024);
  std::uint16_t id = 1;
  for (const DnsQueryEvent& e : events) {
    const auto sport = static_cast<std::uint16_t>(port);
    port = port == 65535 ? 1024 : port + 1;
    const auto q = dns_query(id++, e.name, e.qtype, true);
    out.push_back({e.ts_ns, udp_frame(l2, ip, sport, 53, q)});
    if (responses) {
      out.push_back({e.ts_ns + 1'000'000, udp_frame(back_l2, back, 53, sport, dns_response(q))});
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Packet& a, const Packet& b) { return a.ts_ns < b.ts_ns; });
  return out;
}

std::vector<Packet> dns_tcp_packets(const std::vector<DnsQueryEvent>& events, TcpConfig cfg,
                                    bool responses, std::size_t segment_size) {
  if (!events.empty() && events.front().ts_ns > cfg.step_ns) {
    cfg.start_ns = std::min(cfg.start_ns, events.front().ts_ns - cfg.step_ns * 3);
  }
  TcpConversation c(cfg);
  c.handshake();
  std::uint16_t id = 1;
  for (const DnsQueryEvent& e : events) {
    if (e.ts_ns > c.now_ns()) c.advance(e.ts_ns - c.now_ns());
    const auto q = dns_query(id++, e.name, e.qtype);
    c.send(Side::kClient, dns_tcp_framed(q), segment_size);
    if (responses) c.send(Side::kServer, dns_tcp_framed(dns_response(q)), segment_size);
  }
  c.fin();
  return c.take_packets();
}

}  // namespace dlp::testgen
