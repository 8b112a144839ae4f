#include "inspectors/base64.h"

#include <array>
#include <cstdint>

namespace dlp::inspectors {
namespace {

constexpr std::uint8_t kInvalid = 0xff;

constexpr std::array<std::uint8_t, 256> make_table() {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = kInvalid;
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    t[static_cast<std::uint8_t>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return t;
}

constexpr std::array<std::uint8_t, 256> kTable = make_table();

}  // namespace

bool base64_decode(std::string_view in, std::string& out) {
  out.clear();
  std::size_t end = in.size();
  std::size_t pad = 0;
  while (end > 0 && in[end - 1] == '=' && pad < 2) {
    --end;
    ++pad;
  }
  // With padding the input is whole quanta; without it, 1 leftover character is impossible.
  if ((pad != 0 && in.size() % 4 != 0) || end % 4 == 1) {
    return false;
  }
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < end; ++i) {
    const std::uint8_t v = kTable[static_cast<std::uint8_t>(in[i])];
    if (v == kInvalid) {
      out.clear();
      return false;
    }
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

}  // namespace dlp::inspectors
