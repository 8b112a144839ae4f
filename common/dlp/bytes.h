// Byte views used across every folder. A `Bytes` is a non-owning view into a packet,
// a reassembly buffer or a decoded body: it is valid only for the duration of the call
// that hands it over, so anyone who needs the bytes later must copy them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace dlp {

using Bytes = std::span<const std::uint8_t>;

inline Bytes as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(Bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace dlp
