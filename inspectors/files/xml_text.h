// Streaming text extraction from office-document XML (OOXML and ODF parts): tags are
// stripped, entities decoded, and a separator is put where a paragraph, row or cell ends
// — never between runs, so "<w:t>4111 11</w:t></w:r><w:r><w:t>11 1111</w:t>" reads
// "4111 1111 1111" again. The hot path of document scanning: a byte loop with no
// allocation once the output string has grown. Internal to the file layer.
//
//   XmlText x(XmlText::Mode::ooxml);
//   std::string out;
//   x.feed(chunk1, out); x.feed(chunk2, out);   // any cut gives the same text
//   x.finish(out);
#pragma once

#include <cstdint>
#include <string>

#include "common/dlp/bytes.h"

namespace dlp::inspectors::files {

class XmlText {
 public:
  enum class Mode : std::uint8_t {
    // OOXML parts: only the text of text elements (w:t, a:t, t, v, f, w:delText,
    // w:instrText) is kept; whitespace between elements (pretty printing) is not text.
    ooxml,
    // ODF parts: all character data is text (ODF writes no whitespace between elements
    // of a paragraph; <text:s/> and <text:tab/> stand for spaces).
    odf,
    // Metadata parts (docProps/core.xml, meta.xml): all character data, a line break
    // after every element, so title, author and keywords stay apart.
    meta,
  };

  explicit XmlText(Mode mode) : mode_(mode) {}

  // Appends the text of `xml` to `out`.
  void feed(Bytes xml, std::string& out);
  // End of the part: a pending entity is written as it was.
  void finish(std::string& out);

 private:
  enum class State : std::uint8_t {
    text, entity, tag_open, tag_name, tag_body, tag_quote, comment, cdata, decl
  };
  void end_tag(std::string& out);
  void put_sep(std::string& out, char sep);
  void put_text(std::string& out, const char* p, std::size_t n);
  void flush_entity(std::string& out);

  Mode mode_;
  State state_ = State::text;
  bool closing_ = false;      // "</name"
  bool self_closing_ = false;  // "<name/>"
  bool last_slash_ = false;
  char quote_ = 0;
  bool in_root_ = false;  // the first element has started
  bool wrote_ = false;    // some text was written
  char pending_sep_ = 0;  // separator to write before the next text
  std::uint32_t in_text_ = 0;  // nesting of text elements (ooxml mode)
  std::uint32_t match_ = 0;    // progress through "--" / "[CDATA[" / "]]>" / "-->"
  std::uint8_t name_len_ = 0;
  std::uint8_t entity_len_ = 0;
  char name_[24] = {};    // local name (after the prefix), truncated
  char entity_[12] = {};  // between '&' and ';'
};

}  // namespace dlp::inspectors::files
