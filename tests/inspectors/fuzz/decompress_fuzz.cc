// libFuzzer target for the streaming decoders of request bodies: the first byte picks
// the coding (gzip, deflate, br) or the text decoder (urlencoded, JSON) and where the
// input is cut in two; output must stay within the decompression limit.
#include <cstdint>
#include <cstdlib>

#include "inspectors/decompress.h"
#include "inspectors/form.h"

namespace {
struct Count final : dlp::inspectors::ByteSink {
  std::uint64_t n = 0;
  void bytes(dlp::Bytes b) override { n += b.size(); }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dlp::inspectors;
  if (size == 0) return 0;
  const dlp::Bytes input(data + 1, size - 1);
  const std::size_t cut = input.empty() ? 0 : (data[0] >> 3) % input.size();
  Count out;
  Limits limits;
  limits.max_decompressed_bytes = 1 << 20;
  switch (data[0] % 5) {
    case 0: case 1: case 2: {
      const Coding c = data[0] % 5 == 0 ? Coding::gzip : data[0] % 5 == 1 ? Coding::deflate : Coding::br;
      Decompressor d(c, limits);
      d.feed(input.subspan(0, cut), out);
      d.feed(input.subspan(cut), out);
      if (out.n > limits.max_decompressed_bytes) std::abort();
      break;
    }
    case 3: {
      UrlDecoder u;
      u.feed(input.subspan(0, cut), out);
      u.feed(input.subspan(cut), out);
      u.finish(out);
      if (out.n > 2 * input.size()) std::abort();  // '=' becomes ": ", nothing grows more
      break;
    }
    default: {
      JsonUnescaper j;
      j.feed(input.subspan(0, cut), out);
      j.feed(input.subspan(cut), out);
      j.finish(out);
      break;
    }
  }
  return 0;
}
