#include "inspectors/decompress.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include <brotli/decode.h>
#include <zlib.h>

namespace dlp::inspectors {

Coding parse_coding(std::string_view t) {
  auto eq = [t](std::string_view s) {
    if (t.size() != s.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(t[i])) != s[i]) return false;
    }
    return true;
  };
  if (eq("gzip") || eq("x-gzip")) return Coding::gzip;
  if (eq("deflate")) return Coding::deflate;
  if (eq("br")) return Coding::br;
  if (eq("identity") || t.empty()) return Coding::identity;
  return Coding::unknown;
}

std::string_view coding_name(Coding c) {
  switch (c) {
    case Coding::identity: return "identity";
    case Coding::gzip: return "gzip";
    case Coding::deflate: return "deflate";
    case Coding::br: return "br";
    case Coding::unknown: return "unknown";
  }
  return "unknown";
}

struct Decompressor::State {
  z_stream z{};
  bool z_init = false;
  BrotliDecoderState* br = nullptr;
  std::vector<std::uint8_t> out;
  // deflate: the first two bytes decide between a zlib header and raw deflate.
  std::uint8_t head[2] = {};
  std::size_t head_len = 0;
  ~State() {
    if (z_init) inflateEnd(&z);
    if (br != nullptr) BrotliDecoderDestroyInstance(br);
  }
};

Decompressor::Decompressor(Coding coding, const Limits& limits)
    : coding_(coding), limits_(limits), st_(std::make_unique<State>()) {
  st_->out.resize(kOut);
  if (coding_ == Coding::gzip) {
    st_->z_init = inflateInit2(&st_->z, 15 + 16) == Z_OK;
  } else if (coding_ == Coding::br) {
    st_->br = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  }
}

Decompressor::~Decompressor() = default;

Decompressor::Status Decompressor::emit(const std::uint8_t* p, std::size_t n, ByteSink& out) {
  if (n == 0) return Status::ok;
  std::size_t allowed = n;
  if (out_ + n > limits_.max_decompressed_bytes) {
    allowed = static_cast<std::size_t>(limits_.max_decompressed_bytes - std::min(out_, limits_.max_decompressed_bytes));
    limit_what_ = "decompressed_bytes";
  }
  if (allowed > 0) out.bytes(Bytes(p, allowed));
  out_ += allowed;
  if (!limit_what_.empty()) return Status::limit;
  // The ratio only means something once a real amount came out; it is taken over the
  // input the decoder has consumed, not what was handed to it in one piece.
  if (out_ > (1u << 20) && out_ / std::max<std::uint64_t>(used_, 1) > limits_.max_decompression_ratio) {
    limit_what_ = "decompression_ratio";
    return Status::limit;
  }
  return Status::ok;
}

Decompressor::Status Decompressor::inflate_some(Bytes in, ByteSink& out) {
  State& s = *st_;
  s.z.next_in = const_cast<Bytef*>(in.data());
  s.z.avail_in = static_cast<uInt>(in.size());
  while (true) {
    s.z.next_out = s.out.data();
    s.z.avail_out = static_cast<uInt>(s.out.size());
    const uInt avail_before = s.z.avail_in;
    const int rc = inflate(&s.z, Z_NO_FLUSH);
    used_ += avail_before - s.z.avail_in;
    if (Status e = emit(s.out.data(), s.out.size() - s.z.avail_out, out); e != Status::ok) {
      return final_ = e;
    }
    if (rc == Z_STREAM_END) {
      if (coding_ == Coding::gzip && s.z.avail_in > 0) {
        inflateReset(&s.z);  // another gzip member follows
        continue;
      }
      return final_ = Status::done;
    }
    if (rc == Z_BUF_ERROR) return Status::ok;  // all input used, more needed
    if (rc != Z_OK) return final_ = Status::corrupt;
    if (s.z.avail_in == 0 && s.z.avail_out != 0) return Status::ok;
  }
}

Decompressor::Status Decompressor::feed(Bytes in, ByteSink& out) {
  if (final_ != Status::ok) return final_;
  in_ += in.size();
  State& s = *st_;
  switch (coding_) {
    case Coding::gzip:
      if (!s.z_init) return final_ = Status::corrupt;
      return inflate_some(in, out);
    case Coding::deflate: {
      if (s.z_init) return inflate_some(in, out);
      // Two bytes decide: a valid zlib header (CM 8, FCHECK) means RFC 1950 framing,
      // anything else raw RFC 1951, which is what many clients send as "deflate".
      while (s.head_len < 2 && !in.empty()) {
        s.head[s.head_len++] = in[0];
        in = in.subspan(1);
      }
      if (s.head_len < 2) return Status::ok;
      const bool zlib = (s.head[0] & 0x0f) == 8 && ((s.head[0] << 8) | s.head[1]) % 31 == 0;
      if (inflateInit2(&s.z, zlib ? 15 : -15) != Z_OK) return final_ = Status::corrupt;
      s.z_init = true;
      if (Status r = inflate_some(Bytes(s.head, 2), out); r != Status::ok) return r;
      return inflate_some(in, out);
    }
    case Coding::br: {
      if (s.br == nullptr) return final_ = Status::corrupt;
      std::size_t avail_in = in.size();
      const std::uint8_t* next_in = in.data();
      while (true) {
        std::size_t avail_out = s.out.size();
        std::uint8_t* next_out = s.out.data();
        const std::size_t avail_before = avail_in;
        const BrotliDecoderResult rc = BrotliDecoderDecompressStream(
            s.br, &avail_in, &next_in, &avail_out, &next_out, nullptr);
        used_ += avail_before - avail_in;
        if (Status e = emit(s.out.data(), s.out.size() - avail_out, out); e != Status::ok) {
          return final_ = e;
        }
        if (rc == BROTLI_DECODER_RESULT_SUCCESS) return final_ = Status::done;
        if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) return Status::ok;
        if (rc == BROTLI_DECODER_RESULT_ERROR) return final_ = Status::corrupt;
        // NEEDS_MORE_OUTPUT: go round with a fresh buffer.
      }
    }
    case Coding::identity:
    case Coding::unknown:
      break;
  }
  return final_ = Status::corrupt;
}

}  // namespace dlp::inspectors
