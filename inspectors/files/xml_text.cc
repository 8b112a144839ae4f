#include "inspectors/files/xml_text.h"

#include <cstring>
#include <string_view>

namespace dlp::inspectors::files {
namespace {

using namespace std::string_view_literals;

bool is_space(std::uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Elements whose character data is document text in OOXML (local names).
bool is_text_element(std::string_view name) {
  return name == "t"sv || name == "v"sv || name == "f"sv || name == "delText"sv ||
         name == "instrText"sv;
}

// The separator an element stands for where it ends (or where it is, when empty):
// paragraphs, rows and line breaks end a line; cells, tabs and ODF spaces a word. Runs
// (w:r, a:r, text:span) are deliberately absent: text split across runs stays joined.
char separator_for(std::string_view name) {
  static constexpr std::string_view kLine[] = {
      "p", "tr", "row", "si", "br", "cr", "h", "list-item", "table-row", "line-break",
      "note", "annotation", "comment", "frame"};
  static constexpr std::string_view kWord[] = {"tab", "tc", "c", "table-cell", "s", "v",
                                               "f", "is"};
  for (std::string_view n : kLine) {
    if (n == name) return '\n';
  }
  for (std::string_view n : kWord) {
    if (n == name) return ' ';
  }
  return 0;
}

void put_utf8(char* out, std::size_t& n, std::uint32_t cp) {
  if (cp < 0x80) {
    out[n++] = static_cast<char>(cp);
  } else if (cp < 0x800) {
    out[n++] = static_cast<char>(0xc0 | (cp >> 6));
    out[n++] = static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out[n++] = static_cast<char>(0xe0 | (cp >> 12));
    out[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out[n++] = static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out[n++] = static_cast<char>(0xf0 | (cp >> 18));
    out[n++] = static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out[n++] = static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// Decodes the body of an entity reference ("amp", "#52", "#x34") into `out`; false if
// it is not one we know (then it is kept literally).
bool decode_entity(std::string_view e, char* out, std::size_t& n) {
  n = 0;
  const auto one = [&](char c) {
    out[n++] = c;
    return true;
  };
  if (e == "amp"sv) return one('&');
  if (e == "lt"sv) return one('<');
  if (e == "gt"sv) return one('>');
  if (e == "quot"sv) return one('"');
  if (e == "apos"sv) return one('\'');
  if (e.size() < 2 || e[0] != '#') return false;
  std::uint32_t cp = 0;
  const bool hex = e[1] == 'x' || e[1] == 'X';
  const std::string_view digits = e.substr(hex ? 2 : 1);
  if (digits.empty() || digits.size() > 8) return false;
  for (char c : digits) {
    std::uint32_t d;
    if (c >= '0' && c <= '9') {
      d = static_cast<std::uint32_t>(c - '0');
    } else if (hex && c >= 'a' && c <= 'f') {
      d = static_cast<std::uint32_t>(c - 'a' + 10);
    } else if (hex && c >= 'A' && c <= 'F') {
      d = static_cast<std::uint32_t>(c - 'A' + 10);
    } else {
      return false;
    }
    cp = cp * (hex ? 16 : 10) + d;
  }
  if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
  put_utf8(out, n, cp);
  return true;
}

}  // namespace

// Separators are held until text follows, so runs of them collapse into one (a line
// break wins over a space) and a part never starts with one.
void XmlText::put_sep(std::string& /*out*/, char sep) {
  if (!wrote_) return;
  if (pending_sep_ == 0 || sep == '\n') pending_sep_ = sep;
}

void XmlText::put_text(std::string& out, const char* p, std::size_t n) {
  if (n == 0 || !in_root_ || (mode_ == Mode::ooxml && in_text_ == 0)) return;
  if (pending_sep_ != 0) {
    out.push_back(pending_sep_);
    pending_sep_ = 0;
  }
  out.append(p, n);
  wrote_ = true;
}

void XmlText::flush_entity(std::string& out) {
  const char amp = '&';
  put_text(out, &amp, 1);
  put_text(out, entity_, entity_len_);
  entity_len_ = 0;
}

void XmlText::end_tag(std::string& out) {
  state_ = State::text;
  in_root_ = true;  // text before the first element (after the declaration) is not text
  if (name_len_ >= sizeof(name_)) return;  // a name longer than any we know
  const std::string_view name(name_, name_len_);
  const bool text_elem = mode_ == Mode::ooxml && is_text_element(name);
  if (closing_) {
    if (text_elem && in_text_ > 0) --in_text_;
  } else if (!self_closing_) {
    if (text_elem && in_text_ < 1000) ++in_text_;
    return;  // separators go where an element ends
  }
  if (mode_ == Mode::meta) {
    put_sep(out, '\n');
    return;
  }
  const char sep = separator_for(name);
  if (sep != 0) put_sep(out, sep);
}

void XmlText::feed(Bytes xml, std::string& out) {
  const char* p = reinterpret_cast<const char*>(xml.data());
  const char* const end = p + xml.size();
  while (p < end) {
    switch (state_) {
      case State::text: {
        const char* q = p;
        while (q < end && *q != '<' && *q != '&') ++q;
        put_text(out, p, static_cast<std::size_t>(q - p));
        if (q == end) return;
        state_ = *q == '<' ? State::tag_open : State::entity;
        entity_len_ = 0;
        p = q + 1;
        break;
      }
      case State::entity: {
        const char c = *p;
        if (c == ';') {
          ++p;
          state_ = State::text;
          std::string_view body(entity_, entity_len_);
          char decoded[8];
          std::size_t n = 0;
          if (decode_entity(body, decoded, n)) {
            put_text(out, decoded, n);
          } else {
            flush_entity(out);
            const char semi = ';';
            put_text(out, &semi, 1);
          }
          entity_len_ = 0;
        } else if (entity_len_ < sizeof(entity_) &&
                   ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                    (c >= 'A' && c <= 'Z') || c == '#')) {
          entity_[entity_len_++] = c;
          ++p;
        } else {
          flush_entity(out);  // not an entity: literal, and `c` is text again
          state_ = State::text;
        }
        break;
      }
      case State::tag_open: {
        const char c = *p;
        closing_ = false;
        self_closing_ = false;
        last_slash_ = false;
        name_len_ = 0;
        match_ = 0;
        if (c == '/') {
          closing_ = true;
          state_ = State::tag_name;
          ++p;
        } else if (c == '!') {
          state_ = State::decl;
          ++p;
        } else if (c == '?') {
          state_ = State::decl;
          match_ = 100;  // a processing instruction: skip to '>'
          ++p;
        } else {
          state_ = State::tag_name;
        }
        break;
      }
      case State::tag_name: {
        const char c = *p++;
        if (c == '>') {
          end_tag(out);
        } else if (c == '/') {
          last_slash_ = true;
          state_ = State::tag_body;
        } else if (is_space(static_cast<std::uint8_t>(c))) {
          state_ = State::tag_body;
        } else if (c == ':') {
          name_len_ = 0;  // keep the local name only
        } else if (name_len_ < sizeof(name_)) {
          name_[name_len_++] = c;
        }
        break;
      }
      case State::tag_body: {
        // Attributes are skipped; only quotes matter ('>' may appear inside them).
        const char c = *p++;
        if (c == '>') {
          self_closing_ = last_slash_;
          end_tag(out);
        } else if (c == '"' || c == '\'') {
          quote_ = c;
          last_slash_ = false;
          state_ = State::tag_quote;
        } else if (c == '/') {
          last_slash_ = true;
        } else if (!is_space(static_cast<std::uint8_t>(c))) {
          last_slash_ = false;
        }
        break;
      }
      case State::tag_quote: {
        const void* q = std::memchr(p, quote_, static_cast<std::size_t>(end - p));
        if (q == nullptr) return;
        p = static_cast<const char*>(q) + 1;
        state_ = State::tag_body;
        break;
      }
      case State::decl: {
        // After "<!": "--" opens a comment, "[CDATA[" a CDATA section; anything else
        // (DOCTYPE) and processing instructions run to the next '>'.
        static constexpr std::string_view kCdata = "[CDATA[";
        const char c = *p++;
        if (match_ < 100) {
          const bool comment_ok = match_ < 2 && c == '-';
          const bool cdata_ok = match_ < kCdata.size() && c == kCdata[match_];
          if (comment_ok && match_ == 1) {
            state_ = State::comment;
            match_ = 0;
            break;
          }
          if (cdata_ok && match_ + 1 == kCdata.size()) {
            state_ = State::cdata;
            match_ = 0;
            break;
          }
          match_ = (comment_ok || cdata_ok) ? match_ + 1 : 100;
        }
        if (c == '>') state_ = State::text;
        break;
      }
      case State::comment: {
        const char c = *p++;
        if (c == '-') {
          ++match_;
        } else {
          if (c == '>' && match_ >= 2) state_ = State::text;
          match_ = 0;
        }
        break;
      }
      case State::cdata: {
        const char c = *p++;
        if (c == ']') {
          if (match_ == 2) {
            put_text(out, "]", 1);  // "]]]": the first one is text
          } else {
            ++match_;
          }
        } else if (c == '>' && match_ == 2) {
          state_ = State::text;
          match_ = 0;
        } else {
          put_text(out, "]]", match_);
          put_text(out, &c, 1);
          match_ = 0;
        }
        break;
      }
    }
  }
}

void XmlText::finish(std::string& out) {
  if (state_ == State::entity) flush_entity(out);
  if (state_ == State::cdata) put_text(out, "]]", match_);
  if (pending_sep_ != 0) out.push_back(pending_sep_);
  pending_sep_ = 0;
  state_ = State::text;
  match_ = 0;
}

}  // namespace dlp::inspectors::files
