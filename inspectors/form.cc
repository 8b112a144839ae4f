#include "inspectors/form.h"

namespace dlp::inspectors {
namespace {

int hex_value(std::uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void UrlDecoder::feed(Bytes in, ByteSink& out) {
  for (std::uint8_t c : in) {
    if (pct_len_ > 0) {
      if (hex_value(c) < 0) {
        // Not an escape after all: the bytes stand for themselves.
        ++bad_;
        put('%', out);
        if (pct_len_ == 2) put(pct_[1], out);
        pct_len_ = 0;
        // c is handled below as an ordinary byte.
      } else if (pct_len_ == 1) {
        pct_[1] = c;
        pct_len_ = 2;
        continue;
      } else {
        put(static_cast<std::uint8_t>(hex_value(pct_[1]) * 16 + hex_value(c)), out);
        pct_len_ = 0;
        continue;
      }
    }
    switch (c) {
      case '%': pct_len_ = 1; break;
      case '+': put(' ', out); break;
      case '&': put('\n', out); break;
      case '=': put(':', out); put(' ', out); break;
      default: put(c, out); break;
    }
  }
  flush(out);
}

void UrlDecoder::finish(ByteSink& out) {
  if (pct_len_ > 0) {
    put('%', out);
    if (pct_len_ == 2) put(pct_[1], out);
    pct_len_ = 0;
  }
  flush(out);
}

void JsonUnescaper::put_code_point(std::uint32_t cp, ByteSink& out) {
  if (cp < 0x80) {
    put(static_cast<std::uint8_t>(cp), out);
  } else if (cp < 0x800) {
    put(static_cast<std::uint8_t>(0xc0 | (cp >> 6)), out);
    put(static_cast<std::uint8_t>(0x80 | (cp & 0x3f)), out);
  } else if (cp < 0x10000) {
    put(static_cast<std::uint8_t>(0xe0 | (cp >> 12)), out);
    put(static_cast<std::uint8_t>(0x80 | ((cp >> 6) & 0x3f)), out);
    put(static_cast<std::uint8_t>(0x80 | (cp & 0x3f)), out);
  } else {
    put(static_cast<std::uint8_t>(0xf0 | (cp >> 18)), out);
    put(static_cast<std::uint8_t>(0x80 | ((cp >> 12) & 0x3f)), out);
    put(static_cast<std::uint8_t>(0x80 | ((cp >> 6) & 0x3f)), out);
    put(static_cast<std::uint8_t>(0x80 | (cp & 0x3f)), out);
  }
}

void JsonUnescaper::feed(Bytes in, ByteSink& out) {
  for (std::uint8_t c : in) {
    if (hex_left_ > 0) {
      const int v = hex_value(c);
      if (v < 0) {
        ++bad_;
        hex_left_ = 0;
        high_ = 0;
        put(c, out);
        continue;
      }
      hex_ = hex_ * 16 + static_cast<std::uint32_t>(v);
      if (--hex_left_ > 0) continue;
      if (hex_ >= 0xd800 && hex_ < 0xdc00) {
        if (high_ != 0) put_code_point(0xfffd, out);
        high_ = hex_;  // wait for the low half
      } else if (hex_ >= 0xdc00 && hex_ < 0xe000) {
        if (high_ != 0) {
          put_code_point(0x10000 + ((high_ - 0xd800) << 10) + (hex_ - 0xdc00), out);
        } else {
          ++bad_;
          put_code_point(0xfffd, out);
        }
        high_ = 0;
      } else {
        if (high_ != 0) {
          ++bad_;
          put_code_point(0xfffd, out);
          high_ = 0;
        }
        put_code_point(hex_, out);
      }
      continue;
    }
    if (!in_string_) {
      if (c == '"') in_string_ = true;
      put(c, out);
      continue;
    }
    if (escape_) {
      escape_ = false;
      switch (c) {
        case 'u': hex_left_ = 4; hex_ = 0; continue;
        case 'n': put('\n', out); break;
        case 't': put('\t', out); break;
        case 'r': put('\r', out); break;
        case 'b': put('\b', out); break;
        case 'f': put('\f', out); break;
        default: put(c, out); break;  // \" \\ \/ and anything else: the character itself
      }
      if (high_ != 0) {
        ++bad_;
        high_ = 0;
      }
      continue;
    }
    if (c == '\\') {
      escape_ = true;
      continue;
    }
    if (high_ != 0) {  // a lone high surrogate
      ++bad_;
      put_code_point(0xfffd, out);
      high_ = 0;
    }
    if (c == '"') in_string_ = false;
    put(c, out);
  }
  flush(out);
}

void JsonUnescaper::finish(ByteSink& out) {
  if (high_ != 0) put_code_point(0xfffd, out);
  high_ = 0;
  hex_left_ = 0;
  flush(out);
}

}  // namespace dlp::inspectors
