// Loopback ports for tests that start a real server or listener: a socket bound to an
// ephemeral port on 127.0.0.1 (held while the test needs the port taken), and a port that
// was free a moment ago (for a server the test is about to start).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace dlp::testing {

struct BoundPort {
  int fd = -1;  // the caller closes it
  std::uint16_t port = 0;
};

// type: SOCK_DGRAM or SOCK_STREAM. fd is -1 when the socket could not be bound.
inline BoundPort bind_loopback(int type) {
  BoundPort b;
  b.fd = ::socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (b.fd < 0 || ::bind(b.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(b.fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (b.fd >= 0) ::close(b.fd);
    return BoundPort{};
  }
  b.port = ntohs(a.sin_port);
  return b;
}

inline std::uint16_t free_loopback_port(int type) {
  const BoundPort b = bind_loopback(type);
  if (b.fd >= 0) ::close(b.fd);
  return b.port;
}

}  // namespace dlp::testing
