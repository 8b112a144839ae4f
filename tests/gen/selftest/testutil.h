// Helpers for the generator's self-tests: reading captures back with libpcap, and a
// deliberately naive parser/checksum written separately from frames.cc (and from the
// decoder in dataplane/) so the tests check the generator against a second reading of the
// RFCs rather than against itself.
//
//   auto recs = read_capture(path);           // libpcap, nanosecond timestamps
//   ParsedFrame p = parse(recs[0].data);      // eth/vlan/ipv4/ipv6(+ext, frag)/tcp/udp
//   EXPECT_TRUE(p.ip_checksum_ok && p.l4_checksum_ok);
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace testutil {

struct Record {
  std::uint64_t ts_ns = 0;
  std::uint32_t caplen = 0, len = 0;
  std::vector<std::uint8_t> data;
};

struct Capture {
  int linktype = -1;
  std::vector<Record> records;
  int last_status = 0;  // pcap_next_ex result that ended the loop (-2 = clean EOF)
  std::string error;
};

inline Capture read_capture(const std::string& path) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  if (!p) throw std::runtime_error(std::string("pcap_open_offline: ") + err);
  Capture c;
  c.linktype = pcap_datalink(p);
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
    Record r;
    r.ts_ns = static_cast<std::uint64_t>(h->ts.tv_sec) * 1'000'000'000ull +
              static_cast<std::uint64_t>(h->ts.tv_usec);  // tv_usec holds ns at NANO precision
    r.caplen = h->caplen;
    r.len = h->len;
    r.data.assign(d, d + h->caplen);
    c.records.push_back(std::move(r));
  }
  c.last_status = rc;
  if (rc == -1) c.error = pcap_geterr(p);
  pcap_close(p);
  return c;
}

inline std::string temp_path(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("testgen_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

inline std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
inline std::uint32_t be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}

// Naive RFC 1071: 32-bit accumulation of 16-bit words, folded at the end.
inline std::uint16_t naive_sum(const std::vector<std::uint8_t>& bytes) {
  std::uint32_t s = 0;
  for (std::size_t i = 0; i < bytes.size(); i += 2) {
    std::uint32_t w = static_cast<std::uint32_t>(bytes[i]) << 8;
    if (i + 1 < bytes.size()) w |= bytes[i + 1];
    s += w;
    s = (s & 0xffff) + (s >> 16);
  }
  return static_cast<std::uint16_t>(s);
}

struct ParsedFrame {
  std::vector<std::uint16_t> tag_types, tag_values;
  std::uint16_t ethertype = 0;
  bool v6 = false;
  std::string src, dst;  // hex of the address bytes (for keys), not text
  std::vector<std::uint8_t> src_raw, dst_raw;
  std::uint8_t ttl = 0;
  std::uint16_t ip_id = 0;
  std::uint32_t frag_id = 0;
  bool is_fragment = false, more_fragments = false;
  std::size_t frag_offset = 0;
  std::uint8_t proto = 0;
  std::vector<std::uint8_t> ext_chain;  // IPv6 next-header values walked
  bool ip_checksum_ok = true;
  std::vector<std::uint8_t> ip_payload;  // after IP header (and v6 ext/fragment headers)
  std::size_t ip_total = 0;              // IPv4 total length or 40 + IPv6 payload length
  // Transport (only when not a non-first fragment):
  bool has_l4 = false;
  bool l4_checksum_ok = false;
  std::uint16_t sport = 0, dport = 0;
  std::uint32_t seq = 0, ack = 0;
  std::uint8_t flags = 0;
  std::uint16_t window = 0;
  std::vector<std::uint8_t> tcp_options;
  std::vector<std::uint8_t> payload;
};

inline std::string hex(const std::vector<std::uint8_t>& v) {
  static const char* k = "0123456789abcdef";
  std::string s;
  for (auto b : v) { s += k[b >> 4]; s += k[b & 15]; }
  return s;
}

inline bool l4_ok(const ParsedFrame& f, std::uint8_t proto, const std::vector<std::uint8_t>& l4) {
  std::vector<std::uint8_t> ph(f.src_raw);
  ph.insert(ph.end(), f.dst_raw.begin(), f.dst_raw.end());
  const std::uint32_t len = static_cast<std::uint32_t>(l4.size());
  if (f.v6) {
    for (int sh : {24, 16, 8, 0}) ph.push_back(static_cast<std::uint8_t>(len >> sh));
    ph.insert(ph.end(), {0, 0, 0, proto});
  } else {
    ph.insert(ph.end(), {0, proto, static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len)});
  }
  ph.insert(ph.end(), l4.begin(), l4.end());
  return naive_sum(ph) == 0xffff;
}

// Parses transport from `l4` (a whole TCP segment or UDP datagram) into f.
inline void parse_l4(ParsedFrame& f, std::uint8_t proto, const std::vector<std::uint8_t>& l4) {
  if (proto == 6 && l4.size() >= 20) {
    f.has_l4 = true;
    f.sport = be16(&l4[0]);
    f.dport = be16(&l4[2]);
    f.seq = be32(&l4[4]);
    f.ack = be32(&l4[8]);
    const std::size_t off = (l4[12] >> 4) * 4u;
    f.flags = l4[13];
    f.window = be16(&l4[14]);
    f.tcp_options.assign(l4.begin() + 20, l4.begin() + static_cast<std::ptrdiff_t>(off));
    f.payload.assign(l4.begin() + static_cast<std::ptrdiff_t>(off), l4.end());
    f.l4_checksum_ok = l4_ok(f, 6, l4);
  } else if (proto == 17 && l4.size() >= 8) {
    f.has_l4 = true;
    f.sport = be16(&l4[0]);
    f.dport = be16(&l4[2]);
    f.payload.assign(l4.begin() + 8, l4.begin() + be16(&l4[4]));
    f.l4_checksum_ok = be16(&l4[6]) != 0 && l4_ok(f, 17, l4);
  }
}

inline ParsedFrame parse(const std::vector<std::uint8_t>& d) {
  ParsedFrame f;
  std::size_t off = 12;
  std::uint16_t type = be16(&d[off]);
  while (type == 0x8100 || type == 0x88a8) {
    f.tag_types.push_back(type);
    f.tag_values.push_back(be16(&d[off + 2]));
    off += 4;
    type = be16(&d[off]);
  }
  f.ethertype = type;
  const std::size_t l3 = off + 2;
  if (type == 0x0800) {
    const std::size_t ihl = (d[l3] & 15) * 4u;
    f.ip_total = be16(&d[l3 + 2]);
    f.ip_id = be16(&d[l3 + 4]);
    const std::uint16_t fo = be16(&d[l3 + 6]);
    f.more_fragments = fo & 0x2000;
    f.frag_offset = (fo & 0x1fff) * 8u;
    f.is_fragment = f.more_fragments || f.frag_offset != 0;
    f.ttl = d[l3 + 8];
    f.proto = d[l3 + 9];
    f.src_raw.assign(&d[l3 + 12], &d[l3 + 16]);
    f.dst_raw.assign(&d[l3 + 16], &d[l3 + 20]);
    f.ip_checksum_ok = naive_sum({d.begin() + static_cast<std::ptrdiff_t>(l3),
                                  d.begin() + static_cast<std::ptrdiff_t>(l3 + ihl)}) == 0xffff;
    f.ip_payload.assign(d.begin() + static_cast<std::ptrdiff_t>(l3 + ihl),
                        d.begin() + static_cast<std::ptrdiff_t>(l3 + f.ip_total));
  } else if (type == 0x86dd) {
    f.v6 = true;
    f.ip_total = 40u + be16(&d[l3 + 4]);
    f.ttl = d[l3 + 7];
    f.src_raw.assign(&d[l3 + 8], &d[l3 + 24]);
    f.dst_raw.assign(&d[l3 + 24], &d[l3 + 40]);
    std::uint8_t nh = d[l3 + 6];
    std::size_t o = l3 + 40;
    while (nh == 0 || nh == 43 || nh == 60 || nh == 44) {
      f.ext_chain.push_back(nh);
      if (nh == 44) {
        const std::uint16_t fo = be16(&d[o + 2]);
        f.is_fragment = true;
        f.frag_offset = fo & 0xfff8;
        f.more_fragments = fo & 1;
        f.frag_id = be32(&d[o + 4]);
        nh = d[o];
        o += 8;
        break;  // what follows is (part of) the fragmentable payload
      }
      nh = d[o];
      o += (d[o + 1] + 1u) * 8;
    }
    f.proto = nh;
    f.ip_payload.assign(d.begin() + static_cast<std::ptrdiff_t>(o),
                        d.begin() + static_cast<std::ptrdiff_t>(l3 + f.ip_total));
  } else {
    return f;
  }
  f.src = hex(f.src_raw);
  f.dst = hex(f.dst_raw);
  if (!f.is_fragment) parse_l4(f, f.proto, f.ip_payload);
  return f;
}

// Reassembles IPv4/IPv6 fragments of a capture (by src, dst, id, proto) and returns
// every packet parsed at transport level, in capture order of completion.
inline std::vector<ParsedFrame> parse_all_with_defrag(const std::vector<Record>& records) {
  std::vector<ParsedFrame> out;
  std::map<std::tuple<std::string, std::string, std::uint32_t, std::uint8_t>,
           std::vector<ParsedFrame>> pending;
  for (const Record& r : records) {
    ParsedFrame f = parse(r.data);
    if (!f.is_fragment) {
      out.push_back(std::move(f));
      continue;
    }
    auto key = std::make_tuple(f.src, f.dst, f.v6 ? f.frag_id : f.ip_id, f.proto);
    auto& list = pending[key];
    list.push_back(f);
    std::map<std::size_t, const ParsedFrame*> by_off;
    std::size_t end = 0;
    bool have_last = false;
    for (const auto& p : list) {
      by_off[p.frag_offset] = &p;
      if (!p.more_fragments) { have_last = true; end = p.frag_offset + p.ip_payload.size(); }
    }
    if (!have_last) continue;
    std::vector<std::uint8_t> whole;
    for (const auto& [o, p] : by_off) {
      if (o != whole.size()) break;
      whole.insert(whole.end(), p->ip_payload.begin(), p->ip_payload.end());
    }
    if (whole.size() != end) continue;
    ParsedFrame done = list.front();
    done.is_fragment = true;
    done.ip_payload = whole;
    parse_l4(done, done.proto, whole);
    out.push_back(std::move(done));
    pending.erase(key);
  }
  return out;
}

}  // namespace testutil
