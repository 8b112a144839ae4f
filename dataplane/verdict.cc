#include "dataplane/verdict.h"

#include <algorithm>
#include <cstring>

#include "dataplane/decode.h"

namespace dlp::dataplane {
namespace {

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, static_cast<std::uint16_t>(v >> 16));
  put16(p + 2, static_cast<std::uint16_t>(v));
}

std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t acc) {
  for (std::size_t i = 0; i + 1 < n; i += 2) acc += (std::uint32_t{p[i]} << 8) | p[i + 1];
  if (n & 1) acc += std::uint32_t{p[n - 1]} << 8;
  return acc;
}

std::uint16_t fold(std::uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<std::uint16_t>(~acc & 0xffff);
}

constexpr std::size_t kTcpLen = 20;

// One RST: L2 copied from the trigger (MACs swapped when `reverse`), fresh IP + TCP.
ResetFrame make_rst(Bytes trigger, const Decoded& d, bool reverse, std::uint32_t seq,
                    std::uint32_t ack) {
  ResetFrame out;
  out.toward_sender = reverse;
  const std::size_t l2 = d.l3_offset;
  const bool v4 = d.ip_version == 4;
  const std::size_t ip_len = v4 ? 20 : 40;
  // Zero-padded to the 60-byte Ethernet minimum, as on the wire.
  out.frame.assign(std::max<std::size_t>(60, l2 + ip_len + kTcpLen), 0);
  std::uint8_t* f = out.frame.data();
  std::memcpy(f, trigger.data(), l2);
  if (reverse && l2 >= 12) {
    std::uint8_t tmp[6];
    std::memcpy(tmp, f, 6);
    std::memcpy(f, f + 6, 6);
    std::memcpy(f + 6, tmp, 6);
  }
  const IpAddr& src = reverse ? d.dst : d.src;
  const IpAddr& dst = reverse ? d.src : d.dst;
  std::uint8_t* ip = f + l2;
  std::uint32_t pseudo = 0;
  if (v4) {
    ip[0] = 0x45;
    put16(ip + 2, static_cast<std::uint16_t>(ip_len + kTcpLen));
    put16(ip + 6, 0x4000);  // DF
    ip[8] = 64;
    ip[9] = 6;
    std::memcpy(ip + 12, src.b.data() + 12, 4);
    std::memcpy(ip + 16, dst.b.data() + 12, 4);
    put16(ip + 10, fold(sum16(ip, 20, 0)));
    pseudo = sum16(ip + 12, 8, 0);
  } else {
    put32(ip, 0x60000000u);
    put16(ip + 4, kTcpLen);
    ip[6] = 6;
    ip[7] = 64;
    std::memcpy(ip + 8, src.b.data(), 16);
    std::memcpy(ip + 24, dst.b.data(), 16);
    pseudo = sum16(ip + 8, 32, 0);
  }
  pseudo += 6 + kTcpLen;
  std::uint8_t* tcp = ip + ip_len;
  put16(tcp, reverse ? d.dport : d.sport);
  put16(tcp + 2, reverse ? d.sport : d.dport);
  put32(tcp + 4, seq);
  put32(tcp + 8, ack);
  tcp[12] = 5 << 4;
  tcp[13] = tcp_flag::kRst | tcp_flag::kAck;
  put16(tcp + 16, fold(sum16(tcp, kTcpLen, pseudo)));
  return out;
}

}  // namespace

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::pass: return "pass";
    case Verdict::drop: return "drop";
    case Verdict::reset: return "reset";
  }
  return "pass";
}

bool parse_verdict(std::string_view s, Verdict& out) {
  if (s == "pass") out = Verdict::pass;
  else if (s == "drop") out = Verdict::drop;
  else if (s == "reset") out = Verdict::reset;
  else return false;
  return true;
}

std::size_t IpAddrHash::operator()(const IpAddr& a) const noexcept {
  std::uint64_t x, y;
  std::memcpy(&x, a.b.data(), 8);
  std::memcpy(&y, a.b.data() + 8, 8);
  x ^= y * 0x9e3779b97f4a7c15ull;
  x ^= x >> 31;
  return static_cast<std::size_t>(x * 0xbf58476d1ce4e5b9ull);
}

Verdict Enforcement::decide(std::string_view category, std::string_view detector,
                            signatures::Confidence confidence, const IpAddr& src,
                            const ActionRule** rule) const {
  Verdict v = Verdict::pass;
  if (rule) *rule = nullptr;
  for (const ActionRule& r : actions) {
    if (!r.category.empty() && r.category != category) continue;
    if (!r.detector.empty() && r.detector != detector) continue;
    if (confidence < r.min_confidence) continue;
    v = r.verdict;
    if (rule) *rule = &r;
    break;
  }
  if (!sources.empty()) {
    auto it = sources.find(src);
    if (it != sources.end() && it->second > v) {
      v = it->second;
      if (rule) *rule = nullptr;
    }
  }
  return v;
}

std::uint16_t inet_checksum(const std::uint8_t* p, std::size_t n, std::uint32_t seed) {
  return fold(sum16(p, n, seed));
}

bool build_resets(Bytes trigger, std::uint32_t linktype, const ResetSeq& seq,
                  std::vector<ResetFrame>& out) {
  if (linktype != 1) return false;  // RSTs need an L2 header to copy: Ethernet only
  RawPacket pkt;
  pkt.data = trigger;
  pkt.wire_len = static_cast<std::uint32_t>(trigger.size());
  pkt.linktype = linktype;
  Decoded d;
  if (decode(pkt, d) != DecodeStatus::ok || d.is_fragment || d.proto != 6) return false;
  // Toward the trigger's receiver: as if its sender reset at the byte the receiver expects.
  out.push_back(make_rst(trigger, d, false, seq.to_receiver_seq, seq.to_sender_seq));
  // Toward the trigger's sender: as if the receiver reset, at what the sender expects.
  out.push_back(make_rst(trigger, d, true, seq.to_sender_seq, seq.to_receiver_seq));
  return true;
}

}  // namespace dlp::dataplane
