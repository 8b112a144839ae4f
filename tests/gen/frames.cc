// Frame building: see frames.h. Byte layouts follow RFC 791 (IPv4), RFC 8200 (IPv6 and
// its Fragment header), RFC 9293 (TCP), RFC 768 (UDP), RFC 1071 (checksum), IEEE 802.1Q.
#include "tests/gen/frames.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace dlp::testgen {
namespace {

constexpr std::size_t kEthHeader = 14;
constexpr std::size_t kIpv4Header = 20;
constexpr std::size_t kIpv6Header = 40;
constexpr std::size_t kEthMinFrame = 60;  // without FCS

void put16(Frame& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
void put32(Frame& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v));
}
void set16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
std::uint16_t get16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

struct Addrs {
  bool v6 = false;
  std::array<std::uint8_t, 16> src{}, dst{};
  std::size_t len() const { return v6 ? 16 : 4; }
};

Addrs parse_addrs(const Ip& ip) {
  Addrs a;
  in_addr v4{};
  if (inet_pton(AF_INET, ip.src.c_str(), &v4) == 1) {
    std::memcpy(a.src.data(), &v4, 4);
    if (inet_pton(AF_INET, ip.dst.c_str(), &v4) != 1)
      throw std::invalid_argument("testgen: destination '" + ip.dst + "' is not IPv4 like '" +
                                  ip.src + "'");
    std::memcpy(a.dst.data(), &v4, 4);
    return a;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, ip.src.c_str(), &v6) != 1)
    throw std::invalid_argument("testgen: bad source address '" + ip.src + "'");
  std::memcpy(a.src.data(), &v6, 16);
  if (inet_pton(AF_INET6, ip.dst.c_str(), &v6) != 1)
    throw std::invalid_argument("testgen: destination '" + ip.dst + "' is not IPv6 like '" +
                                ip.src + "'");
  std::memcpy(a.dst.data(), &v6, 16);
  a.v6 = true;
  return a;
}

// Unfolded one's-complement sum of 16-bit big-endian words; an odd tail is padded with 0.
std::uint64_t sum_words(std::span<const std::uint8_t> data, std::uint64_t sum = 0) {
  std::size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += static_cast<std::uint32_t>((data[i] << 8) | data[i + 1]);
  if (i < data.size()) sum += static_cast<std::uint32_t>(data[i] << 8);
  return sum;
}
std::uint16_t fold(std::uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

std::uint64_t pseudo_header_sum(const Addrs& a, std::uint8_t protocol, std::size_t l4_len) {
  std::uint64_t sum = sum_words({a.src.data(), a.len()});
  sum = sum_words({a.dst.data(), a.len()}, sum);
  if (a.v6) {
    sum += static_cast<std::uint32_t>(l4_len >> 16) + static_cast<std::uint32_t>(l4_len & 0xffff);
  } else {
    sum += static_cast<std::uint32_t>(l4_len & 0xffff);
  }
  sum += protocol;
  return sum;
}

// IPv4 options padded with EOL (0) to a multiple of 4 bytes; at most 40 bytes.
std::vector<std::uint8_t> padded_options(const std::vector<std::uint8_t>& options) {
  std::vector<std::uint8_t> out = options;
  while (out.size() % 4 != 0) out.push_back(0);
  if (out.size() > 40) throw std::invalid_argument("testgen: IPv4 options longer than 40 bytes");
  return out;
}

Frame ipv4_header(const Addrs& a, const Ip& ip, std::uint8_t protocol,
                  std::span<const std::uint8_t> options, std::size_t payload_len,
                  std::uint16_t flags_offset) {
  const std::size_t hlen = kIpv4Header + options.size();
  const std::size_t total = hlen + payload_len;
  if (total > 0xffff) throw std::invalid_argument("testgen: IPv4 packet longer than 65535");
  Frame h;
  h.reserve(total);
  h.push_back(static_cast<std::uint8_t>(0x40 | (hlen / 4)));
  h.push_back(0);  // DSCP/ECN
  put16(h, static_cast<std::uint16_t>(total));
  put16(h, ip.ip_id);
  put16(h, flags_offset);
  h.push_back(ip.ttl);
  h.push_back(protocol);
  put16(h, 0);  // checksum, below
  h.insert(h.end(), a.src.begin(), a.src.begin() + 4);
  h.insert(h.end(), a.dst.begin(), a.dst.begin() + 4);
  h.insert(h.end(), options.begin(), options.end());
  set16(h.data() + 10, internet_checksum(h));
  return h;
}

Frame ipv6_header(const Addrs& a, const Ip& ip, std::uint8_t next_header, std::size_t payload_len) {
  if (payload_len > 0xffff) throw std::invalid_argument("testgen: IPv6 payload longer than 65535");
  Frame h;
  h.reserve(kIpv6Header + payload_len);
  put32(h, 0x60000000u);  // version 6, traffic class 0, flow label 0
  put16(h, static_cast<std::uint16_t>(payload_len));
  h.push_back(next_header);
  h.push_back(ip.ttl);
  h.insert(h.end(), a.src.begin(), a.src.end());
  h.insert(h.end(), a.dst.begin(), a.dst.end());
  return h;
}

// An 8-byte option header (hop-by-hop or destination options) holding one PadN option.
void put_padn_option_header(Frame& out, std::uint8_t next_header) {
  out.push_back(next_header);
  out.push_back(0);  // length in 8-octet units, not counting the first 8
  out.push_back(1);  // PadN
  out.push_back(4);  // 4 bytes of padding data
  for (int i = 0; i < 4; ++i) out.push_back(0);
}

std::uint32_t fnv1a(std::span<const std::uint8_t> data) {
  std::uint32_t h = 2166136261u;
  for (std::uint8_t b : data) h = (h ^ b) * 16777619u;
  return h == 0 ? 1 : h;
}

struct Ipv6Split {
  std::size_t unfrag_end = 0;        // frame offset where the fragmentable part starts
  std::size_t nh_field = 0;          // frame offset of the next-header byte to patch
  std::size_t payload_end = 0;       // frame offset after the IPv6 payload
};

Ipv6Split split_ipv6(std::span<const std::uint8_t> f, std::size_t l3) {
  if (f.size() < l3 + kIpv6Header) throw std::invalid_argument("testgen: short IPv6 packet");
  Ipv6Split s;
  s.payload_end = l3 + kIpv6Header + get16(&f[l3 + 4]);
  if (s.payload_end > f.size()) throw std::invalid_argument("testgen: IPv6 payload length past frame");
  s.unfrag_end = l3 + kIpv6Header;
  s.nh_field = l3 + 6;
  std::uint8_t nh = f[l3 + 6];
  std::size_t off = l3 + kIpv6Header;
  while (nh == kIpProtoHopByHop || nh == kIpProtoRouting || nh == kIpProtoDestOpts) {
    if (off + 2 > s.payload_end) throw std::invalid_argument("testgen: truncated IPv6 ext header");
    const std::size_t len = (static_cast<std::size_t>(f[off + 1]) + 1) * 8;
    if (nh == kIpProtoHopByHop || nh == kIpProtoRouting) {
      // Everything up to the last hop-by-hop/routing header is per-fragment (RFC 8200 4.5).
      s.unfrag_end = off + len;
      s.nh_field = off;
    }
    nh = f[off];
    off += len;
  }
  if (nh == kIpProtoFragment) throw std::invalid_argument("testgen: frame is already an IPv6 fragment");
  return s;
}

}  // namespace

bool is_ipv6(const Ip& ip) { return parse_addrs(ip).v6; }

Mac parse_mac(const std::string& text) {
  Mac m{};
  unsigned v[6];
  char tail;
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                  &tail) != 6)
    throw std::invalid_argument("testgen: bad MAC '" + text + "'");
  for (int i = 0; i < 6; ++i) {
    if (v[i] > 0xff) throw std::invalid_argument("testgen: bad MAC '" + text + "'");
    m[i] = static_cast<std::uint8_t>(v[i]);
  }
  return m;
}

std::uint16_t internet_checksum(std::span<const std::uint8_t> data, std::uint32_t initial) {
  return static_cast<std::uint16_t>(~fold(sum_words(data, initial)));
}

std::uint16_t l4_checksum(const Ip& ip, std::uint8_t protocol, std::span<const std::uint8_t> l4) {
  const Addrs a = parse_addrs(ip);
  return static_cast<std::uint16_t>(~fold(sum_words(l4, pseudo_header_sum(a, protocol, l4.size()))));
}

Frame ethernet(const L2& l2, std::uint16_t ethertype, std::span<const std::uint8_t> payload) {
  if (l2.vlans.size() > 2) throw std::invalid_argument("testgen: at most two VLAN tags");
  Frame f;
  f.reserve(kEthHeader + 4 * l2.vlans.size() + payload.size() + kEthMinFrame);
  f.insert(f.end(), l2.dst_mac.begin(), l2.dst_mac.end());
  f.insert(f.end(), l2.src_mac.begin(), l2.src_mac.end());
  for (std::size_t i = 0; i < l2.vlans.size(); ++i) {
    const bool outer_of_two = l2.vlans.size() == 2 && i == 0;
    put16(f, outer_of_two ? kEtherTypeQinQ : kEtherTypeVlan);
    put16(f, l2.vlans[i]);
  }
  put16(f, ethertype);
  f.insert(f.end(), payload.begin(), payload.end());
  if (l2.pad && f.size() < kEthMinFrame) f.resize(kEthMinFrame, 0);
  return f;
}

Frame ip_packet(const Ip& ip, std::uint8_t protocol, std::span<const std::uint8_t> l4) {
  const Addrs a = parse_addrs(ip);
  if (!a.v6) {
    const auto opts = padded_options(ip.ipv4_options);
    Frame p = ipv4_header(a, ip, protocol, opts, l4.size(), ip.dont_fragment ? 0x4000 : 0);
    p.insert(p.end(), l4.begin(), l4.end());
    return p;
  }
  const std::size_t ext = ip.ipv6_ext_headers ? 16 : 0;
  Frame p = ipv6_header(a, ip, ip.ipv6_ext_headers ? kIpProtoHopByHop : protocol, ext + l4.size());
  if (ip.ipv6_ext_headers) {
    put_padn_option_header(p, kIpProtoDestOpts);
    put_padn_option_header(p, protocol);
  }
  p.insert(p.end(), l4.begin(), l4.end());
  return p;
}

std::vector<std::uint8_t> tcp_mss_option(std::uint16_t mss) {
  return {2, 4, static_cast<std::uint8_t>(mss >> 8), static_cast<std::uint8_t>(mss)};
}

Frame tcp_segment(const Ip& ip, std::uint16_t sport, std::uint16_t dport, std::uint32_t seq,
                  std::uint32_t ack, std::uint8_t flags, std::span<const std::uint8_t> payload,
                  std::uint16_t window, std::span<const std::uint8_t> tcp_options) {
  std::vector<std::uint8_t> opts(tcp_options.begin(), tcp_options.end());
  while (opts.size() % 4 != 0) opts.push_back(0);  // EOL padding
  if (opts.size() > 40) throw std::invalid_argument("testgen: TCP options longer than 40 bytes");
  const std::size_t hlen = 20 + opts.size();
  Frame t;
  t.reserve(hlen + payload.size());
  put16(t, sport);
  put16(t, dport);
  put32(t, seq);
  put32(t, (flags & kTcpAck) ? ack : 0);
  t.push_back(static_cast<std::uint8_t>((hlen / 4) << 4));
  t.push_back(flags);
  put16(t, window);
  put16(t, 0);  // checksum
  put16(t, 0);  // urgent pointer
  t.insert(t.end(), opts.begin(), opts.end());
  t.insert(t.end(), payload.begin(), payload.end());
  set16(t.data() + 16, l4_checksum(ip, kIpProtoTcp, t));
  return t;
}

Frame udp_datagram(const Ip& ip, std::uint16_t sport, std::uint16_t dport,
                   std::span<const std::uint8_t> payload) {
  const std::size_t len = 8 + payload.size();
  if (len > 0xffff) throw std::invalid_argument("testgen: UDP datagram longer than 65535");
  Frame u;
  u.reserve(len);
  put16(u, sport);
  put16(u, dport);
  put16(u, static_cast<std::uint16_t>(len));
  put16(u, 0);
  u.insert(u.end(), payload.begin(), payload.end());
  std::uint16_t c = l4_checksum(ip, kIpProtoUdp, u);
  if (c == 0) c = 0xffff;  // RFC 768: a computed zero is transmitted as all ones
  set16(u.data() + 6, c);
  return u;
}

Frame tcp_frame(const L2& l2, const Ip& ip, std::uint16_t sport, std::uint16_t dport,
                std::uint32_t seq, std::uint32_t ack, std::uint8_t flags,
                std::span<const std::uint8_t> payload, std::uint16_t window,
                std::span<const std::uint8_t> tcp_options) {
  const Frame seg = tcp_segment(ip, sport, dport, seq, ack, flags, payload, window, tcp_options);
  const Frame pkt = ip_packet(ip, kIpProtoTcp, seg);
  return ethernet(l2, is_ipv6(ip) ? kEtherTypeIpv6 : kEtherTypeIpv4, pkt);
}

Frame udp_frame(const L2& l2, const Ip& ip, std::uint16_t sport, std::uint16_t dport,
                std::span<const std::uint8_t> payload) {
  const Frame dgram = udp_datagram(ip, sport, dport, payload);
  const Frame pkt = ip_packet(ip, kIpProtoUdp, dgram);
  return ethernet(l2, is_ipv6(ip) ? kEtherTypeIpv6 : kEtherTypeIpv4, pkt);
}

FrameLayout frame_layout(std::span<const std::uint8_t> f) {
  if (f.size() < kEthHeader) throw std::invalid_argument("testgen: frame shorter than Ethernet");
  FrameLayout l;
  std::size_t off = 12;
  std::uint16_t type = get16(&f[off]);
  int tags = 0;
  while (type == kEtherTypeVlan || type == kEtherTypeQinQ) {
    if (++tags > 2 || f.size() < off + 6) throw std::invalid_argument("testgen: bad VLAN tags");
    off += 4;
    type = get16(&f[off]);
  }
  l.l3_offset = off + 2;
  l.ethertype = type;
  if (type == kEtherTypeIpv4) {
    if (f.size() < l.l3_offset + kIpv4Header) throw std::invalid_argument("testgen: short IPv4");
    l.l4_offset = l.l3_offset + static_cast<std::size_t>(f[l.l3_offset] & 0x0f) * 4;
    l.l4_protocol = f[l.l3_offset + 9];
  } else if (type == kEtherTypeIpv6) {
    if (f.size() < l.l3_offset + kIpv6Header) throw std::invalid_argument("testgen: short IPv6");
    std::uint8_t nh = f[l.l3_offset + 6];
    std::size_t o = l.l3_offset + kIpv6Header;
    while (nh == kIpProtoHopByHop || nh == kIpProtoRouting || nh == kIpProtoDestOpts) {
      if (o + 2 > f.size()) throw std::invalid_argument("testgen: truncated IPv6 ext header");
      nh = f[o];
      o += (static_cast<std::size_t>(f[o + 1]) + 1) * 8;
    }
    l.l4_offset = o;
    l.l4_protocol = nh;
  } else {
    throw std::invalid_argument("testgen: frame is neither IPv4 nor IPv6");
  }
  return l;
}

Frame fragment_piece(const Frame& frame, std::size_t offset, std::size_t length,
                     bool more_fragments, std::optional<std::uint32_t> ident) {
  if (offset % 8 != 0) throw std::invalid_argument("testgen: fragment offset not a multiple of 8");
  const FrameLayout lay = frame_layout(frame);
  const std::size_t l3 = lay.l3_offset;
  // Rebuild the Ethernet header verbatim (tags included), then the fragment.
  const std::span<const std::uint8_t> l2_hdr(frame.data(), l3);
  Frame out(l2_hdr.begin(), l2_hdr.end());

  if (lay.ethertype == kEtherTypeIpv4) {
    const std::size_t ihl = static_cast<std::size_t>(frame[l3] & 0x0f) * 4;
    const std::size_t total = get16(&frame[l3 + 2]);
    if (total < ihl || l3 + total > frame.size()) throw std::invalid_argument("testgen: bad IPv4 length");
    const std::uint16_t orig = get16(&frame[l3 + 6]);
    const std::size_t base = static_cast<std::size_t>(orig & 0x1fff) * 8;
    const std::size_t data_len = total - ihl;
    if (offset > data_len) throw std::invalid_argument("testgen: fragment offset past payload");
    length = std::min(length, data_len - offset);
    const std::size_t abs_off = base + offset;
    // Options: all in the fragment at offset 0; only "copied" ones (type bit 0x80) later.
    std::vector<std::uint8_t> opts;
    const std::uint8_t* o = &frame[l3 + kIpv4Header];
    const std::size_t olen = ihl - kIpv4Header;
    if (abs_off == 0) {
      opts.assign(o, o + olen);
    } else {
      for (std::size_t i = 0; i < olen;) {
        const std::uint8_t type = o[i];
        if (type == 0) break;
        if (type == 1) { ++i; continue; }
        if (i + 1 >= olen || o[i + 1] < 2 || i + o[i + 1] > olen)
          throw std::invalid_argument("testgen: malformed IPv4 option");
        if (type & 0x80) opts.insert(opts.end(), o + i, o + i + o[i + 1]);
        i += o[i + 1];
      }
      while (opts.size() % 4 != 0) opts.push_back(0);
    }
    Addrs a;
    std::memcpy(a.src.data(), &frame[l3 + 12], 4);
    std::memcpy(a.dst.data(), &frame[l3 + 16], 4);
    Ip ip;
    ip.ttl = frame[l3 + 8];
    ip.ip_id = ident ? static_cast<std::uint16_t>(*ident) : get16(&frame[l3 + 4]);
    const std::uint16_t flags_off = static_cast<std::uint16_t>(
        (more_fragments ? 0x2000 : 0) | ((abs_off / 8) & 0x1fff));
    Frame hdr = ipv4_header(a, ip, frame[l3 + 9], opts, length, flags_off);
    hdr[1] = frame[l3 + 1];  // keep DSCP/ECN
    set16(hdr.data() + 10, 0);
    set16(hdr.data() + 10, internet_checksum({hdr.data(), kIpv4Header + opts.size()}));
    out.insert(out.end(), hdr.begin(), hdr.end());
    const std::uint8_t* data = &frame[l3 + ihl + offset];
    out.insert(out.end(), data, data + length);
  } else {
    const Ipv6Split s = split_ipv6(frame, l3);
    const std::size_t data_len = s.payload_end - s.unfrag_end;
    if (offset > data_len) throw std::invalid_argument("testgen: fragment offset past payload");
    length = std::min(length, data_len - offset);
    const std::uint32_t id = ident ? *ident : fnv1a({frame.data() + l3, s.payload_end - l3});
    const std::size_t out_l3 = out.size();
    out.insert(out.end(), frame.begin() + static_cast<std::ptrdiff_t>(l3),
               frame.begin() + static_cast<std::ptrdiff_t>(s.unfrag_end));
    const std::uint8_t original_nh = frame[s.nh_field];
    out[out_l3 + (s.nh_field - l3)] = kIpProtoFragment;
    out.push_back(original_nh);
    out.push_back(0);
    put16(out, static_cast<std::uint16_t>((offset & ~std::size_t{7}) | (more_fragments ? 1 : 0)));
    put32(out, id);
    const std::uint8_t* data = &frame[s.unfrag_end + offset];
    out.insert(out.end(), data, data + length);
    const std::size_t payload_len = out.size() - out_l3 - kIpv6Header;
    set16(&out[out_l3 + 4], static_cast<std::uint16_t>(payload_len));
  }
  if (out.size() < kEthMinFrame && frame.size() >= kEthMinFrame) out.resize(kEthMinFrame, 0);
  return out;
}

std::vector<Frame> fragment_frame(const Frame& frame, std::size_t payload_per_fragment,
                                  std::optional<std::uint32_t> ident) {
  const std::size_t step = std::max<std::size_t>(8, payload_per_fragment & ~std::size_t{7});
  const FrameLayout lay = frame_layout(frame);
  const std::size_t l3 = lay.l3_offset;
  std::size_t data_len = 0;
  bool orig_mf = false;
  if (lay.ethertype == kEtherTypeIpv4) {
    const std::size_t ihl = static_cast<std::size_t>(frame[l3] & 0x0f) * 4;
    data_len = get16(&frame[l3 + 2]) - ihl;
    orig_mf = (get16(&frame[l3 + 6]) & 0x2000) != 0;
  } else {
    const Ipv6Split s = split_ipv6(frame, l3);
    data_len = s.payload_end - s.unfrag_end;
    if (!ident) ident = fnv1a({frame.data() + l3, s.payload_end - l3});
  }
  std::vector<Frame> out;
  for (std::size_t off = 0; off < data_len || (data_len == 0 && off == 0); off += step) {
    const bool last = off + step >= data_len;
    out.push_back(fragment_piece(frame, off, step, !last || orig_mf, ident));
    if (data_len == 0) break;
  }
  return out;
}

}  // namespace dlp::testgen
