// Text from a PDF held in memory: every `stream … endstream` that is a page content
// stream (not an image, font, XRef or metadata stream) is inflated if it is FlateDecode
// (zlib) or taken as is if unfiltered, and the strings shown by the text operators
// Tj, TJ, ' and " are written out, with PDF escapes decoded (\n, \(, \\, \ddd octal) and
// hex strings <48656c6c6f>. A new line is written where the text moves to a new line
// (T*, Td/TD with a vertical move, Tm to another line, ET), a space for a large TJ gap;
// nothing between strings on one line, so a number split across Tj/TJ pieces stays
// contiguous. Garbage is skipped, never trusted: lengths are found by searching for
// `endstream`, not read from /Length.
//
// Not supported (reported through PdfResult, counted as "pdf.unsupported"): encrypted
// documents, object streams (/ObjStm), fonts with custom or CID encodings (/Identity-H:
// glyph ids are not characters; such bytes are written with NULs dropped, which reads
// right only when the glyph ids happen to be ASCII; ToUnicode maps are not read), filters
// other than FlateDecode (LZW, ASCII85, RunLength, predictors). Form XObjects are read
// like any content stream; annotations and the document information dictionary are not
// read.
//
//   struct Out : PdfTextOut { ... };
//   PdfResult r = extract_pdf_text(held_bytes, out);
#pragma once

#include <cstdint>
#include <string_view>

#include "common/dlp/bytes.h"

namespace dlp::inspectors::files {

class PdfTextOut {
 public:
  virtual ~PdfTextOut() = default;
  // Extracted text, in order; `s` is valid during the call only.
  virtual void text(std::string_view s) = 0;
  // `n` more bytes were inflated; false stops the extraction (a limit was hit).
  virtual bool inflated(std::uint64_t n) = 0;
};

struct PdfResult {
  std::uint32_t streams = 0;          // content streams read
  std::uint32_t inflate_errors = 0;   // FlateDecode streams that were corrupt
  bool encrypted = false;             // /Encrypt in the trailer: nothing can be read
  bool object_streams = false;        // /ObjStm present (objects inside are not read)
  bool cid_fonts = false;             // /Identity-H or similar encodings present
  bool other_filters = false;         // LZW, ASCII85, RunLength ... skipped
  bool stopped = false;               // PdfTextOut::inflated() said stop
};

PdfResult extract_pdf_text(Bytes pdf, PdfTextOut& out);

// The content-stream lexer on its own (for tests): feeds may be cut anywhere.
class PdfContentText {
 public:
  explicit PdfContentText(PdfTextOut& out) : out_(out) {}
  void feed(Bytes content);
  void finish();

 private:
  enum class State : std::uint8_t { normal, literal, hex, lt, comment };
  void end_token();
  void op(std::string_view name);
  void newline();
  void emit_pending();
  void add_pending(char c);
  std::string_view pending_view() const { return {pending_, pending_len_}; }

  PdfTextOut& out_;
  State state_ = State::normal;
  std::uint32_t depth_ = 0;     // literal string nesting
  std::uint8_t esc_ = 0;        // 0 none, 1 after '\', 2..4 octal digits read + 1
  std::uint32_t octal_ = 0;
  int nibble_ = -1;             // hex string: pending high nibble
  bool in_array_ = false;
  bool wrote_ = false;          // something since the last line break
  bool last_cr_ = false;        // literal: '\r' just seen after '\'
  double last_num_ = 0;
  double tm_y_ = 0;
  std::uint8_t nums_ = 0;
  std::uint8_t token_len_ = 0;
  char token_[24] = {};
  std::uint32_t pending_len_ = 0;
  char pending_[4096] = {};  // strings shown by the next operator
};

}  // namespace dlp::inspectors::files
