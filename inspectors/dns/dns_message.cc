// DNS header and name decoding. Every read is bounds-checked against the message view.
#include "inspectors/dns/dns_message.h"

namespace dlp::inspectors::dns {
namespace {

std::uint16_t be16(Bytes b, std::size_t off) {
  return static_cast<std::uint16_t>((b[off] << 8) | b[off + 1]);
}

}  // namespace

bool parse_dns_header(Bytes msg, DnsHeader& out) {
  if (msg.size() < kHeaderSize) return false;
  out.id = be16(msg, 0);
  out.flags = be16(msg, 2);
  out.qdcount = be16(msg, 4);
  out.ancount = be16(msg, 6);
  out.nscount = be16(msg, 8);
  out.arcount = be16(msg, 10);
  return true;
}

std::string_view dns_name_weird(DnsNameStatus s) {
  switch (s) {
    case DnsNameStatus::ok: return "dns.ok";
    case DnsNameStatus::truncated: return "dns.truncated";
    case DnsNameStatus::bad_label: return "dns.bad_label";
    case DnsNameStatus::bad_pointer: return "dns.bad_pointer";
    case DnsNameStatus::pointer_loop: return "dns.pointer_loop";
    case DnsNameStatus::too_long: return "dns.name_too_long";
  }
  return "dns.bad_label";
}

DnsNameStatus parse_dns_name(Bytes msg, std::size_t& offset, DnsName& out) {
  out.count_ = 0;
  out.used_ = 0;
  std::size_t pos = offset;
  std::size_t wire = 0;       // octets of the name as RFC 1035 counts them
  bool jumped = false;
  while (true) {
    if (pos >= msg.size()) return DnsNameStatus::truncated;
    const std::uint8_t len = msg[pos];
    const std::uint8_t kind = len & 0xc0;
    if (kind == 0xc0) {
      if (pos + 1 >= msg.size()) return DnsNameStatus::truncated;
      const std::size_t target = static_cast<std::size_t>(((len & 0x3f) << 8) | msg[pos + 1]);
      if (target >= msg.size() || target < kHeaderSize) return DnsNameStatus::bad_pointer;
      // Only strictly backwards: each hop lowers the position, so no chain can cycle.
      if (target >= pos) return DnsNameStatus::pointer_loop;
      if (!jumped) offset = pos + 2;
      jumped = true;
      pos = target;
      continue;
    }
    if (kind != 0) return DnsNameStatus::bad_label;
    wire += 1 + len;
    if (wire > kMaxNameWire) return DnsNameStatus::too_long;
    if (len == 0) {
      if (!jumped) offset = pos + 1;
      return DnsNameStatus::ok;
    }
    if (pos + 1 + len > msg.size()) return DnsNameStatus::truncated;
    // wire <= 255 bounds used_ + len and count_ (each label costs at least 2 octets).
    out.off_[out.count_] = static_cast<std::uint8_t>(out.used_);
    out.len_[out.count_] = len;
    for (std::size_t i = 0; i < len; ++i) out.bytes_[out.used_ + i] = msg[pos + 1 + i];
    out.used_ += len;
    ++out.count_;
    pos += 1 + len;
  }
}

std::size_t dns_name_text(const DnsName& name, bool lower, char* out) {
  std::size_t n = 0;
  for (std::size_t l = 0; l < name.label_count(); ++l) {
    if (l != 0) out[n++] = '.';
    for (char ch : name.label(l)) {
      const auto c = static_cast<unsigned char>(ch);
      if (c > 0x20 && c < 0x7f && c != '.' && c != '\\') {
        out[n++] = (lower && c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : ch;
      } else {
        out[n++] = '\\';
        out[n++] = static_cast<char>('0' + c / 100);
        out[n++] = static_cast<char>('0' + (c / 10) % 10);
        out[n++] = static_cast<char>('0' + c % 10);
      }
    }
  }
  out[n] = '\0';
  return n;
}

}  // namespace dlp::inspectors::dns
