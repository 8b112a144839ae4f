#include "dataplane/decode.h"

namespace dlp::dataplane {
namespace {

// Every read goes through a length check first; these helpers assume it was done.
inline std::uint16_t be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}
inline std::uint32_t le32(const std::uint8_t* p) {
  return (std::uint32_t{p[3]} << 24) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[1]} << 8) |
         p[0];
}

constexpr std::uint16_t kEthIpv4 = 0x0800;
constexpr std::uint16_t kEthIpv6 = 0x86dd;
constexpr std::uint16_t kEth8021Q = 0x8100;
constexpr std::uint16_t kEth8021ad = 0x88a8;
constexpr std::uint16_t kEthQinQOld = 0x9100;  // pre-802.1ad vendor QinQ
constexpr std::uint8_t kMaxVlans = 2;

constexpr std::uint8_t kProtoHopByHop = 0;
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::uint8_t kProtoRouting = 43;
constexpr std::uint8_t kProtoFragment = 44;
constexpr std::uint8_t kProtoEsp = 50;
constexpr std::uint8_t kProtoAh = 51;
constexpr std::uint8_t kProtoNoNext = 59;
constexpr std::uint8_t kProtoDestOpts = 60;

// Linktypes (see decode.h). Raw IP appears as 101 in the file, and libpcap hands it to
// us as DLT_RAW, which is 12 on most systems and 14 on OpenBSD.
constexpr std::uint32_t kDltNull = 0;
constexpr std::uint32_t kDltEn10mb = 1;
constexpr std::uint32_t kDltRaw12 = 12;
constexpr std::uint32_t kDltRaw14 = 14;
constexpr std::uint32_t kLinktypeRaw = 101;
constexpr std::uint32_t kDltLoop = 108;
constexpr std::uint32_t kDltLinuxSll = 113;
constexpr std::uint32_t kLinktypeIpv4 = 228;
constexpr std::uint32_t kLinktypeIpv6 = 229;
constexpr std::uint32_t kDltLinuxSll2 = 276;

// Address-family values of DLT_NULL/DLT_LOOP headers: AF_INET is 2 everywhere, AF_INET6
// differs by the OS that wrote the capture (Linux, NetBSD/OpenBSD, FreeBSD, Darwin).
bool is_af_inet6(std::uint32_t af) { return af == 10 || af == 24 || af == 28 || af == 30; }

// The captured frame and how many bytes the capture cut off its end.
struct Frame {
  Bytes data;              // whole captured frame
  std::uint32_t snapped;   // wire_len - captured bytes (0 when nothing was cut)
};

// A declared length (IP total, UDP length) against the bytes captured after that header:
// within them (anything after is padding), cut off by the capture's snap length, or a
// length the wire never carried.
enum class LenCheck { fits, snapped, bad };
LenCheck check_length(std::size_t declared, std::size_t captured, std::uint32_t snapped) {
  if (declared <= captured) return LenCheck::fits;
  if (declared <= captured + snapped) return LenCheck::snapped;
  return LenCheck::bad;
}

// Where an IP datagram of `total` bytes ends within the `captured` bytes we have, and how
// many of its bytes the capture's snap length cut off. False: the length field lies.
bool ip_extent(std::size_t total, std::size_t captured, std::uint32_t snapped, std::size_t& end,
               std::uint32_t& wire_extra) {
  end = total;
  wire_extra = 0;
  switch (check_length(total, captured, snapped)) {
    case LenCheck::fits: return true;
    case LenCheck::snapped:
      end = captured;
      wire_extra = static_cast<std::uint32_t>(total - captured);
      return true;
    case LenCheck::bad: return false;
  }
  return false;
}

DecodeStatus decode_tcp(Bytes l4, bool snapped, Decoded& out) {
  if (l4.size() < 20) return DecodeStatus::tcp_truncated;
  const std::uint8_t* h = l4.data();
  const std::size_t hlen = std::size_t{static_cast<std::uint8_t>(h[12] >> 4)} * 4;
  if (hlen < 20) return DecodeStatus::tcp_bad_offset;
  // Options past the end: the capture cut them off, or the offset field lies.
  if (hlen > l4.size()) return snapped ? DecodeStatus::tcp_truncated : DecodeStatus::tcp_bad_offset;
  out.sport = be16(h);
  out.dport = be16(h + 2);
  out.seq = be32(h + 4);
  out.ack = be32(h + 8);
  out.tcp_flags = h[13] & 0x3f;  // CWR/ECE are not flow state
  out.window = be16(h + 14);
  out.payload = l4.subspan(hlen);
  return DecodeStatus::ok;
}

// `wire_extra`: bytes the capture cut off after `l4` (0 for a whole datagram).
DecodeStatus decode_udp(Bytes l4, std::uint32_t wire_extra, Decoded& out) {
  if (l4.size() < 8) return DecodeStatus::udp_truncated;
  const std::uint8_t* h = l4.data();
  const std::size_t ulen = be16(h + 4);
  if (ulen < 8) return DecodeStatus::udp_bad_length;
  std::size_t end = ulen;
  switch (check_length(ulen, l4.size(), wire_extra)) {
    case LenCheck::fits: break;  // a UDP length shorter than the IP payload: trim to it
    case LenCheck::snapped: end = l4.size(); break;
    case LenCheck::bad: return DecodeStatus::udp_bad_length;
  }
  out.sport = be16(h);
  out.dport = be16(h + 2);
  out.payload = l4.subspan(8, end - 8);
  return DecodeStatus::ok;
}

DecodeStatus decode_l4_impl(std::uint8_t proto, Bytes l4, std::uint32_t wire_extra,
                            Decoded& out) {
  out.proto = proto;
  if (proto == kProtoTcp) return decode_tcp(l4, wire_extra != 0, out);
  if (proto == kProtoUdp) return decode_udp(l4, wire_extra, out);
  return DecodeStatus::unsupported_l4;
}

DecodeStatus decode_ipv4(const Frame& f, std::size_t off, Decoded& out) {
  const Bytes ip = f.data.subspan(off);
  if (ip.size() < 20) return DecodeStatus::ipv4_truncated;
  const std::uint8_t* h = ip.data();
  if ((h[0] >> 4) != 4) return DecodeStatus::ipv4_bad_version;
  const std::size_t hlen = std::size_t{static_cast<std::uint8_t>(h[0] & 0x0f)} * 4;
  if (hlen < 20) return DecodeStatus::ipv4_bad_ihl;
  const std::size_t total = be16(h + 2);
  if (total < hlen) return DecodeStatus::ipv4_bad_length;
  if (hlen > ip.size()) return DecodeStatus::ipv4_truncated;  // options cut off
  std::size_t end;
  std::uint32_t wire_extra;
  if (!ip_extent(total, ip.size(), f.snapped, end, wire_extra)) return DecodeStatus::ipv4_bad_length;

  // RFC 1071: the one's-complement sum over a correct header, checksum included, is 0xffff.
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < hlen; i += 2) sum += be16(h + i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  if (sum != 0xffff) return DecodeStatus::ipv4_bad_checksum;

  out.ip_version = 4;
  out.src = IpAddr::v4_bytes(h + 12);
  out.dst = IpAddr::v4_bytes(h + 16);
  out.proto = h[9];
  out.ttl = h[8];
  out.l3 = ip.first(end);
  out.l3_offset = static_cast<std::uint32_t>(off);

  const std::uint16_t frag = be16(h + 6);
  const bool more = (frag & 0x2000) != 0;
  const std::uint32_t frag_off = std::uint32_t{static_cast<std::uint16_t>(frag & 0x1fff)} * 8;
  const Bytes l4 = out.l3.subspan(hlen);
  if (more || frag_off != 0) {
    // A fragment missing its tail would reassemble into a datagram with a silent hole.
    if (wire_extra) return DecodeStatus::ipv4_truncated;
    out.is_fragment = true;
    out.frag_id = be16(h + 4);
    out.frag_offset = frag_off;
    out.frag_more = more;
    out.frag_payload = l4;
    return DecodeStatus::ok;
  }
  return decode_l4_impl(out.proto, l4, wire_extra, out);
}

DecodeStatus decode_ipv6(const Frame& f, std::size_t off, Decoded& out) {
  const Bytes ip = f.data.subspan(off);
  if (ip.size() < 40) return DecodeStatus::ipv6_truncated;
  const std::uint8_t* h = ip.data();
  if ((h[0] >> 4) != 6) return DecodeStatus::ipv6_bad_version;
  // Payload length 0 is either an empty datagram or a jumbogram (RFC 2675); jumbograms do
  // not cross Ethernet, so 0 is taken literally.
  const std::size_t total = 40 + std::size_t{be16(h + 4)};
  std::size_t end;
  std::uint32_t wire_extra;
  if (!ip_extent(total, ip.size(), f.snapped, end, wire_extra)) return DecodeStatus::ipv6_bad_length;

  out.ip_version = 6;
  out.src = IpAddr::v6_bytes(h + 8);
  out.dst = IpAddr::v6_bytes(h + 24);
  out.ttl = h[7];
  out.l3 = ip.first(end);
  out.l3_offset = static_cast<std::uint32_t>(off);

  // An extension header that runs past what was captured is truncation when the capture
  // snapped the frame, a malformed header otherwise.
  const DecodeStatus past_end =
      wire_extra ? DecodeStatus::ipv6_truncated : DecodeStatus::ipv6_bad_ext;
  std::uint8_t nh = h[6];
  std::size_t pos = 40;
  int ext_count = 0;
  bool seen_frag = false;
  for (;;) {
    out.proto = nh;
    std::size_t len = 0;
    switch (nh) {
      case kProtoTcp:
      case kProtoUdp:
        return decode_l4_impl(nh, out.l3.subspan(pos), wire_extra, out);
      case kProtoNoNext:
      case kProtoEsp:  // encrypted: nothing past here is readable
        return DecodeStatus::unsupported_l4;
      case kProtoHopByHop:
        // RFC 8200 4.1: hop-by-hop only directly after the IPv6 header.
        if (pos != 40) return DecodeStatus::ipv6_bad_ext;
        [[fallthrough]];
      case kProtoRouting:
      case kProtoDestOpts:
        if (pos + 2 > end) return past_end;
        len = (std::size_t{out.l3[pos + 1]} + 1) * 8;
        break;
      case kProtoAh:  // RFC 4302: length in 4-byte units, minus 2
        if (pos + 2 > end) return past_end;
        len = (std::size_t{out.l3[pos + 1]} + 2) * 4;
        break;
      case kProtoFragment: {
        if (seen_frag) return DecodeStatus::ipv6_bad_ext;
        seen_frag = true;
        if (pos + 8 > end) return past_end;
        const std::uint8_t* fh = out.l3.data() + pos;
        const std::uint16_t offm = be16(fh + 2);
        const std::uint32_t frag_off = std::uint32_t{static_cast<std::uint16_t>(offm >> 3)} * 8;
        const bool more = (offm & 1) != 0;
        if (frag_off != 0 || more) {
          if (wire_extra) return DecodeStatus::ipv6_truncated;
          if (++ext_count > kMaxIpv6ExtHeaders) return DecodeStatus::ipv6_too_many_ext;
          out.proto = fh[0];  // of this fragment's data; defrag keeps the first fragment's
          out.is_fragment = true;
          out.frag_id = be32(fh + 4);
          out.frag_offset = frag_off;
          out.frag_more = more;
          out.frag_payload = out.l3.subspan(pos + 8);
          return DecodeStatus::ok;
        }
        // RFC 6946: an atomic fragment (offset 0, M=0) is a whole datagram.
        len = 8;
        break;
      }
      default:  // ICMPv6, SCTP, ...
        return DecodeStatus::unsupported_l4;
    }
    if (++ext_count > kMaxIpv6ExtHeaders) return DecodeStatus::ipv6_too_many_ext;
    if (pos + len > end) return past_end;
    nh = out.l3[pos];
    pos += len;
  }
}

DecodeStatus decode_ethertype(const Frame& f, std::size_t off, std::uint16_t type,
                              Decoded& out) {
  while (type == kEth8021Q || type == kEth8021ad || type == kEthQinQOld) {
    if (out.vlan_depth == kMaxVlans) return DecodeStatus::vlan_too_deep;
    if (off + 4 > f.data.size()) return DecodeStatus::vlan_truncated;
    out.vlan[out.vlan_depth++] = be16(f.data.data() + off) & 0x0fff;  // VID without PCP/DEI
    type = be16(f.data.data() + off + 2);
    off += 4;
  }
  if (type == kEthIpv4) return decode_ipv4(f, off, out);
  if (type == kEthIpv6) return decode_ipv6(f, off, out);
  return DecodeStatus::not_ip;
}

DecodeStatus decode_raw_ip(const Frame& f, std::size_t off, Decoded& out) {
  if (off >= f.data.size()) return DecodeStatus::ipv4_truncated;
  switch (f.data[off] >> 4) {
    case 4: return decode_ipv4(f, off, out);
    case 6: return decode_ipv6(f, off, out);
    default: return DecodeStatus::ipv4_bad_version;
  }
}

DecodeStatus decode_loopback(const Frame& f, std::uint32_t af, Decoded& out) {
  if (af == 2) return decode_ipv4(f, 4, out);
  if (is_af_inet6(af)) return decode_ipv6(f, 4, out);
  return DecodeStatus::not_ip;
}

}  // namespace

std::string_view decode_status_name(DecodeStatus s) {
  switch (s) {
    case DecodeStatus::ok: return "ok";
    case DecodeStatus::not_ip: return "not_ip";
    case DecodeStatus::eth_truncated: return "eth_truncated";
    case DecodeStatus::vlan_truncated: return "vlan_truncated";
    case DecodeStatus::vlan_too_deep: return "vlan_too_deep";
    case DecodeStatus::ipv4_truncated: return "ipv4_truncated";
    case DecodeStatus::ipv4_bad_version: return "ipv4_bad_version";
    case DecodeStatus::ipv4_bad_ihl: return "ipv4_bad_ihl";
    case DecodeStatus::ipv4_bad_length: return "ipv4_bad_length";
    case DecodeStatus::ipv4_bad_checksum: return "ipv4_bad_checksum";
    case DecodeStatus::ipv6_truncated: return "ipv6_truncated";
    case DecodeStatus::ipv6_bad_ext: return "ipv6_bad_ext";
    case DecodeStatus::ipv6_too_many_ext: return "ipv6_too_many_ext";
    case DecodeStatus::ipv6_bad_version: return "ipv6_bad_version";
    case DecodeStatus::ipv6_bad_length: return "ipv6_bad_length";
    case DecodeStatus::tcp_truncated: return "tcp_truncated";
    case DecodeStatus::tcp_bad_offset: return "tcp_bad_offset";
    case DecodeStatus::udp_truncated: return "udp_truncated";
    case DecodeStatus::udp_bad_length: return "udp_bad_length";
    case DecodeStatus::unsupported_l4: return "unsupported_l4";
    case DecodeStatus::unsupported_link: return "unsupported_link";
    case DecodeStatus::kCount: break;
  }
  return "unknown";
}

DecodeStatus decode(const RawPacket& pkt, Decoded& out) {
  out = Decoded{};
  const Frame f{pkt.data, pkt.wire_len > pkt.data.size()
                              ? static_cast<std::uint32_t>(pkt.wire_len - pkt.data.size())
                              : 0u};
  const std::uint8_t* p = f.data.data();
  const std::size_t n = f.data.size();
  switch (pkt.linktype) {
    case kDltEn10mb:
      if (n < 14) return DecodeStatus::eth_truncated;
      return decode_ethertype(f, 14, be16(p + 12), out);
    case kDltRaw12:
    case kDltRaw14:
    case kLinktypeRaw:
      return decode_raw_ip(f, 0, out);
    case kLinktypeIpv4:
      return decode_ipv4(f, 0, out);
    case kLinktypeIpv6:
      return decode_ipv6(f, 0, out);
    case kDltLinuxSll:  // packet type, ARPHRD, addr len, 8 bytes addr, protocol
      if (n < 16) return DecodeStatus::eth_truncated;
      return decode_ethertype(f, 16, be16(p + 14), out);
    case kDltLinuxSll2:  // protocol first, then reserved, ifindex, ARPHRD, type, addr
      if (n < 20) return DecodeStatus::eth_truncated;
      return decode_ethertype(f, 20, be16(p), out);
    case kDltNull: {
      if (n < 4) return DecodeStatus::eth_truncated;
      // Host byte order of the capturing machine: the family is small, so whichever
      // reading is below 256 is the right one.
      const std::uint32_t be = be32(p);
      return decode_loopback(f, be < 256 ? be : le32(p), out);
    }
    case kDltLoop:
      if (n < 4) return DecodeStatus::eth_truncated;
      return decode_loopback(f, be32(p), out);
    default:
      return DecodeStatus::unsupported_link;
  }
}

DecodeStatus decode_l4(std::uint8_t proto, Bytes l4, Decoded& out) {
  return decode_l4_impl(proto, l4, 0, out);
}

std::uint64_t DecodeCounters::malformed() const {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < by_status.size(); ++i) {
    const auto s = static_cast<DecodeStatus>(i);
    if (s == DecodeStatus::ok || s == DecodeStatus::not_ip ||
        s == DecodeStatus::unsupported_l4 || s == DecodeStatus::unsupported_link) {
      continue;
    }
    n += by_status[i];
  }
  return n;
}

}  // namespace dlp::dataplane
