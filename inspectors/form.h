// Streaming decoders for what request bodies say in text: form urlencoding and JSON
// string escapes. Both keep a few bytes of state across calls (a '%4' or a '\u00' cut by
// a segment boundary decodes as if whole) and write through a fixed buffer, so a value
// hidden behind an encoding reaches the scanner in its plain form and contiguous.
//
//   UrlDecoder url;       url.feed(as_bytes("card=4111%2011"), sink); url.finish(sink);
//   // sink: "card: 4111 11"   ('&' becomes a newline, '=' ": ", '+' a space)
//   JsonUnescaper json;   json.feed(as_bytes(R"({"n":"\u0034\u0031"})"), sink);
//   // sink: {"n":"41"}
#pragma once

#include <array>
#include <cstdint>

#include "inspectors/decompress.h"

namespace dlp::inspectors {

// A fixed output buffer flushed to a ByteSink: decoders write byte by byte without a
// call per byte.
class BufferedOut {
 protected:
  void put(std::uint8_t c, ByteSink& out) {
    if (len_ == buf_.size()) flush(out);
    buf_[len_++] = c;
  }
  void flush(ByteSink& out) {
    if (len_ > 0) out.bytes(Bytes(buf_.data(), len_));
    len_ = 0;
  }

 private:
  std::array<std::uint8_t, 4096> buf_{};
  std::size_t len_ = 0;
};

class UrlDecoder : BufferedOut {
 public:
  void feed(Bytes in, ByteSink& out);
  // Flushes a dangling '%' or '%X' as the literal bytes it was.
  void finish(ByteSink& out);
  std::uint64_t bad_escapes() const { return bad_; }

 private:
  std::uint8_t pct_[2] = {};
  std::uint8_t pct_len_ = 0;  // 0: not in an escape; 1: after '%'; 2: after '%X'
  std::uint64_t bad_ = 0;
};

class JsonUnescaper : BufferedOut {
 public:
  void feed(Bytes in, ByteSink& out);
  void finish(ByteSink& out);
  std::uint64_t bad_escapes() const { return bad_; }

 private:
  void put_code_point(std::uint32_t cp, ByteSink& out);
  bool in_string_ = false;
  bool escape_ = false;
  int hex_left_ = 0;        // digits of a \uXXXX still to come
  std::uint32_t hex_ = 0;
  std::uint32_t high_ = 0;  // a high surrogate waiting for its low half
  std::uint64_t bad_ = 0;
};

}  // namespace dlp::inspectors
