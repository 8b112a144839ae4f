#include "inspectors/files/pdf_text.h"

#include <zlib.h>

#include <algorithm>
#include <string_view>
#include <vector>

namespace dlp::inspectors::files {
namespace {

using namespace std::string_view_literals;

bool is_ws(std::uint8_t c) {
  return c == 0 || c == 9 || c == 10 || c == 12 || c == 13 || c == 32;
}

int hex_value(std::uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_number(std::string_view t, double& v) {
  std::size_t i = 0;
  bool neg = false;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) neg = t[i++] == '-';
  if (i == t.size()) return false;
  double x = 0;
  double scale = 0;
  bool digits = false;
  for (; i < t.size(); ++i) {
    const char c = t[i];
    if (c >= '0' && c <= '9') {
      digits = true;
      if (scale == 0) {
        x = x * 10 + (c - '0');
      } else {
        x += (c - '0') * scale;
        scale /= 10;
      }
    } else if (c == '.' && scale == 0) {
      scale = 0.1;
    } else {
      return false;
    }
  }
  if (!digits) return false;
  v = neg ? -x : x;
  return true;
}

// Does the stream dictionary `d` name `key` as a whole name ("/Fl" but not "/Flags")?
bool has_name(std::string_view d, std::string_view key) {
  std::size_t pos = 0;
  while ((pos = d.find(key, pos)) != std::string_view::npos) {
    const std::size_t after = pos + key.size();
    if (after == d.size()) return true;
    const char c = d[after];
    const bool name_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!name_char) return true;
    pos = after;
  }
  return false;
}

enum class StreamKind { content, flate, skip, unsupported };

StreamKind classify(std::string_view dict) {
  static constexpr std::string_view kSkip[] = {
      "/XRef", "/Image", "/Metadata", "/Length1", "/Length2", "/Length3", "/Type1C",
      "/CIDFontType0C", "/OpenType", "/DCTDecode", "/JPXDecode", "/CCITTFaxDecode",
      "/JBIG2Decode", "/DCT", "/CCF", "/EmbeddedFile", "/ICCBased", "/N 3", "/N 4"};
  static constexpr std::string_view kUnsupported[] = {
      "/ObjStm", "/LZWDecode", "/LZW", "/ASCII85Decode", "/A85", "/RunLengthDecode", "/RL",
      "/ASCIIHexDecode", "/AHx", "/Crypt", "/Predictor"};
  for (std::string_view k : kSkip) {
    if (has_name(dict, k)) return StreamKind::skip;
  }
  for (std::string_view k : kUnsupported) {
    if (has_name(dict, k)) return StreamKind::unsupported;
  }
  if (has_name(dict, "/FlateDecode") || has_name(dict, "/Fl")) return StreamKind::flate;
  if (has_name(dict, "/Filter")) return StreamKind::unsupported;
  return StreamKind::content;
}

// Inflates one FlateDecode stream into the lexer; false when the sink said stop.
bool inflate_stream(Bytes data, std::vector<std::uint8_t>& buf, PdfContentText& lexer,
                    PdfTextOut& out, PdfResult& result) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    z_stream zs{};
    // Some writers omit the zlib header: if the first attempt fails before any output,
    // the data is read again as raw deflate.
    if (inflateInit2(&zs, attempt == 0 ? 15 : -15) != Z_OK) return true;
    zs.next_in = const_cast<Bytef*>(data.data());
    zs.avail_in = static_cast<uInt>(std::min<std::size_t>(data.size(), 0x7fffffff));
    std::uint64_t produced = 0;
    bool retry = false;
    bool keep_going = true;
    for (;;) {
      zs.next_out = buf.data();
      zs.avail_out = static_cast<uInt>(buf.size());
      const int rc = inflate(&zs, Z_NO_FLUSH);
      const std::size_t got = buf.size() - zs.avail_out;
      if (got > 0) {
        produced += got;
        if (!out.inflated(got)) {
          keep_going = false;
          break;
        }
        lexer.feed(Bytes(buf.data(), got));
      }
      if (rc == Z_STREAM_END) break;
      if (rc == Z_OK) continue;
      if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // truncated: keep what we have
      if (produced == 0 && attempt == 0) {
        retry = true;
      } else {
        ++result.inflate_errors;
      }
      break;
    }
    inflateEnd(&zs);
    if (!keep_going) return false;
    if (!retry) return true;
  }
  ++result.inflate_errors;
  return true;
}

}  // namespace

void PdfContentText::add_pending(char c) {
  if (c == 0) return;  // two-byte glyph ids: keep the low bytes
  if (pending_len_ == sizeof(pending_)) {
    emit_pending();
    pending_len_ = 0;
  }
  pending_[pending_len_++] = c;
}

void PdfContentText::emit_pending() {
  if (pending_len_ == 0) return;
  out_.text(pending_view());
  wrote_ = true;
}

void PdfContentText::newline() {
  if (!wrote_) return;
  out_.text("\n");
  wrote_ = false;
}

void PdfContentText::op(std::string_view name) {
  if (name == "Tj"sv || name == "TJ"sv) {
    emit_pending();
  } else if (name == "'"sv || name == "\""sv) {
    newline();
    emit_pending();
  } else if (name == "T*"sv || name == "ET"sv) {
    newline();
  } else if (name == "Td"sv || name == "TD"sv) {
    if (nums_ >= 2 && last_num_ != 0) newline();
  } else if (name == "Tm"sv) {
    if (nums_ >= 6 && last_num_ != tm_y_) newline();
    if (nums_ >= 6) tm_y_ = last_num_;
  }
  pending_len_ = 0;
  nums_ = 0;
  in_array_ = false;
}

void PdfContentText::end_token() {
  if (token_len_ == 0) return;
  const std::string_view t(token_, token_len_);
  token_len_ = 0;
  if (t[0] == '/') return;  // a name operand
  double v;
  if (parse_number(t, v)) {
    last_num_ = v;
    if (nums_ < 255) ++nums_;
    if (in_array_ && v < -250) add_pending(' ');  // a word-sized gap inside TJ
    return;
  }
  if (t == "true"sv || t == "false"sv || t == "null"sv) return;
  op(t);
}

void PdfContentText::feed(Bytes content) {
  std::size_t i = 0;
  while (i < content.size()) {
    const std::uint8_t c = content[i];
    switch (state_) {
      case State::normal:
        ++i;
        if (is_ws(c)) {
          end_token();
        } else if (c == '(') {
          end_token();
          state_ = State::literal;
          depth_ = 1;
          esc_ = 0;
        } else if (c == '<') {
          end_token();
          state_ = State::lt;
        } else if (c == '[') {
          end_token();
          in_array_ = true;
        } else if (c == ']' || c == '>' || c == '{' || c == '}' || c == ')') {
          end_token();
        } else if (c == '%') {
          end_token();
          state_ = State::comment;
        } else {
          if (c == '/') end_token();
          if (token_len_ < sizeof(token_)) token_[token_len_++] = static_cast<char>(c);
        }
        break;
      case State::lt:
        if (c == '<') {
          ++i;
          state_ = State::normal;  // a dictionary
        } else {
          state_ = State::hex;
          nibble_ = -1;
        }
        break;
      case State::hex: {
        ++i;
        if (c == '>') {
          if (nibble_ >= 0) add_pending(static_cast<char>(nibble_ << 4));
          state_ = State::normal;
          break;
        }
        const int h = hex_value(c);
        if (h < 0) break;  // whitespace or garbage
        if (nibble_ < 0) {
          nibble_ = h;
        } else {
          add_pending(static_cast<char>((nibble_ << 4) | h));
          nibble_ = -1;
        }
        break;
      }
      case State::literal:
        if (esc_ == 1) {
          ++i;
          esc_ = 0;
          switch (c) {
            case 'n': add_pending('\n'); break;
            case 'r': add_pending('\r'); break;
            case 't': add_pending('\t'); break;
            case 'b': add_pending('\b'); break;
            case 'f': add_pending('\f'); break;
            case '\r': last_cr_ = true; break;  // line continuation
            case '\n': break;
            default:
              if (c >= '0' && c <= '7') {
                octal_ = c - '0';
                esc_ = 2;
              } else {
                add_pending(static_cast<char>(c));  // \( \) \\ and unknown escapes
              }
          }
          break;
        }
        if (esc_ >= 2) {
          if (c >= '0' && c <= '7') {
            ++i;
            octal_ = octal_ * 8 + (c - '0');
            if (++esc_ == 4) {
              add_pending(static_cast<char>(octal_ & 0xff));
              esc_ = 0;
            }
          } else {
            add_pending(static_cast<char>(octal_ & 0xff));
            esc_ = 0;  // `c` is read again as plain string content
          }
          break;
        }
        ++i;
        if (last_cr_) {
          last_cr_ = false;
          if (c == '\n') break;
        }
        if (c == '\\') {
          esc_ = 1;
        } else if (c == '(') {
          ++depth_;
          add_pending('(');
        } else if (c == ')') {
          if (--depth_ == 0) {
            state_ = State::normal;
          } else {
            add_pending(')');
          }
        } else {
          add_pending(static_cast<char>(c));
        }
        break;
      case State::comment:
        ++i;
        if (c == '\n' || c == '\r') state_ = State::normal;
        break;
    }
  }
}

void PdfContentText::finish() {
  if (state_ == State::normal) end_token();
  newline();
  state_ = State::normal;
  token_len_ = 0;
  pending_len_ = 0;
  nums_ = 0;
  in_array_ = false;
  esc_ = 0;
  last_cr_ = false;
}

PdfResult extract_pdf_text(Bytes pdf, PdfTextOut& out) {
  PdfResult result;
  const std::string_view doc = as_chars(pdf);
  if (doc.find("/Encrypt") != std::string_view::npos) {
    result.encrypted = true;
    return result;
  }
  result.object_streams = doc.find("/ObjStm") != std::string_view::npos;
  result.cid_fonts = doc.find("/Identity-H") != std::string_view::npos ||
                     doc.find("/Identity-V") != std::string_view::npos;
  std::vector<std::uint8_t> buf(64 * 1024);
  PdfContentText lexer(out);
  std::size_t pos = 0;
  std::size_t floor = 0;  // the dictionary of a stream starts after the previous stream
  while (pos < doc.size()) {
    const std::size_t at = doc.find("stream", pos);
    if (at == std::string_view::npos) break;
    pos = at + 6;
    if (at >= 3 && doc.substr(at - 3, 3) == "end"sv) continue;
    if (pos >= doc.size() || (doc[pos] != '\r' && doc[pos] != '\n')) continue;
    std::size_t data_begin = pos + 1;
    if (doc[pos] == '\r' && data_begin < doc.size() && doc[data_begin] == '\n') ++data_begin;
    const std::size_t window = std::max(floor, at > 4096 ? at - 4096 : std::size_t{0});
    std::string_view dict = doc.substr(window, at - window);
    const std::size_t obj = dict.rfind("obj");
    if (obj != std::string_view::npos) dict = dict.substr(obj);
    std::size_t data_end = doc.find("endstream", data_begin);
    std::size_t next = data_end == std::string_view::npos ? doc.size() : data_end + 9;
    if (data_end == std::string_view::npos) data_end = doc.size();
    if (data_end > data_begin && doc[data_end - 1] == '\n') --data_end;
    if (data_end > data_begin && doc[data_end - 1] == '\r') --data_end;
    const Bytes data = pdf.subspan(data_begin, data_end - data_begin);
    pos = next;
    floor = next;
    switch (classify(dict)) {
      case StreamKind::skip:
        continue;
      case StreamKind::unsupported:
        result.other_filters = true;
        continue;
      case StreamKind::content:
        ++result.streams;
        if (!out.inflated(0)) {
          result.stopped = true;
          return result;
        }
        lexer.feed(data);
        break;
      case StreamKind::flate:
        ++result.streams;
        if (!inflate_stream(data, buf, lexer, out, result)) {
          lexer.finish();
          result.stopped = true;
          return result;
        }
        break;
    }
    lexer.finish();
  }
  return result;
}

}  // namespace dlp::inspectors::files
