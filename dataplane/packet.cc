#include "dataplane/packet.h"

#include <arpa/inet.h>

namespace dlp::dataplane {

IpAddr IpAddr::v4(std::uint32_t host_order) {
  IpAddr a;
  a.b[10] = 0xff;
  a.b[11] = 0xff;
  a.b[12] = static_cast<std::uint8_t>(host_order >> 24);
  a.b[13] = static_cast<std::uint8_t>(host_order >> 16);
  a.b[14] = static_cast<std::uint8_t>(host_order >> 8);
  a.b[15] = static_cast<std::uint8_t>(host_order);
  return a;
}

IpAddr IpAddr::v4_bytes(const std::uint8_t* p) {
  IpAddr a;
  a.b[10] = 0xff;
  a.b[11] = 0xff;
  std::memcpy(a.b.data() + 12, p, 4);
  return a;
}

IpAddr IpAddr::v6_bytes(const std::uint8_t* p) {
  IpAddr a;
  std::memcpy(a.b.data(), p, 16);
  return a;
}

std::string IpAddr::str() const {
  char buf[INET6_ADDRSTRLEN];
  // A v4-mapped address prints as dotted quad: that is how every log and SIEM expects an
  // IPv4 peer, and it is how identity.csv spells them.
  const char* s = is_v4() ? inet_ntop(AF_INET, b.data() + 12, buf, sizeof buf)
                          : inet_ntop(AF_INET6, b.data(), buf, sizeof buf);
  return s ? std::string(s) : std::string();
}

}  // namespace dlp::dataplane
