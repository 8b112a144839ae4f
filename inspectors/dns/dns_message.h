// DNS wire format (RFC 1035 §4) for the DNS inspector: the header of a message and the
// names of its question section, decoded safely from a byte view. Internal to inspectors/dns.
//
//   DnsHeader h;
//   if (parse_dns_header(msg, h) && !h.response()) {
//     DnsName name;
//     std::size_t off = 12;
//     if (parse_dns_name(msg, off, name) == DnsNameStatus::ok) { ... name.text() ... }
//   }
//
// Names: labels are copied into a fixed buffer (no allocation); compression pointers are
// followed only backwards (to an offset before the pointer itself and after the header),
// so no chain can loop; a pointer that does not point backwards is a "pointer loop", one
// past the message end or into the header a "bad pointer". A name longer than 255 wire
// octets, a label type 01/10 (EDNS0 extended labels, obsolete), or a name running past the
// end of the message are errors. The caller turns the status into a weird.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/dlp/bytes.h"

namespace dlp::inspectors::dns {

inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::size_t kMaxNameWire = 255;   // RFC 1035 §2.3.4, length octets included
inline constexpr std::size_t kMaxLabels = 127;     // 255 octets / 2

// Record types the exfiltration heuristics care about.
inline constexpr std::uint16_t kTypeA = 1;
inline constexpr std::uint16_t kTypeCname = 5;
inline constexpr std::uint16_t kTypeNull = 10;
inline constexpr std::uint16_t kTypeMx = 15;
inline constexpr std::uint16_t kTypeTxt = 16;
inline constexpr std::uint16_t kTypeAaaa = 28;

struct DnsHeader {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;
  std::uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
  bool response() const { return (flags & 0x8000) != 0; }
  std::uint8_t opcode() const { return static_cast<std::uint8_t>((flags >> 11) & 0x0f); }
  std::uint8_t rcode() const { return static_cast<std::uint8_t>(flags & 0x0f); }
};

// False when the message is shorter than a header.
bool parse_dns_header(Bytes msg, DnsHeader& out);

enum class DnsNameStatus : std::uint8_t { ok, truncated, bad_label, bad_pointer, pointer_loop, too_long };

// The weird name for a failed status ("dns.truncated", ...), a string literal.
std::string_view dns_name_weird(DnsNameStatus s);

// A decoded name: the raw label bytes (case kept), each label's place in them.
class DnsName {
 public:
  std::size_t label_count() const { return count_; }
  std::string_view label(std::size_t i) const {
    return {reinterpret_cast<const char*>(bytes_.data()) + off_[i], len_[i]};
  }
  // Octets of all labels, without length octets or dots.
  std::size_t label_bytes() const { return used_; }
  bool is_root() const { return count_ == 0; }

 private:
  friend DnsNameStatus parse_dns_name(Bytes msg, std::size_t& offset, DnsName& out);
  std::array<std::uint8_t, kMaxNameWire> bytes_{};
  std::array<std::uint8_t, kMaxLabels> off_{};
  std::array<std::uint8_t, kMaxLabels> len_{};
  std::size_t count_ = 0;
  std::size_t used_ = 0;
};

// Decodes the name at `offset`; on ok, `offset` is moved past it (past the first pointer
// when the name is compressed). On error `offset` is unspecified.
DnsNameStatus parse_dns_name(Bytes msg, std::size_t& offset, DnsName& out);

// Appends the name in presentation form (RFC 1035 §5.1): labels joined by '.', bytes that
// are not printable ASCII, and '.' or '\' inside a label, as "\DDD"; `lower` folds A–Z.
// Returns the characters written (at most 4 * 255); `out` must hold kMaxPresentation.
inline constexpr std::size_t kMaxPresentation = 4 * kMaxNameWire + 1;
std::size_t dns_name_text(const DnsName& name, bool lower, char* out);

}  // namespace dlp::inspectors::dns
