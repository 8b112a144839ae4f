#include "inspectors/mime.h"

#include "inspectors/ascii.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>
#include <vector>

namespace dlp::inspectors {
namespace {

// Lines longer than this are not boundaries (RFC 2046: at most 70 characters plus the
// dashes); their bytes go on as content in pieces, so a part without line breaks is never
// held in memory.
constexpr std::size_t kMaxLine = 1024;
constexpr std::size_t kMaxParts = 1000;

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int b64val(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;  // '-' and '_': the URL-safe alphabet, seen in the wild
  if (c == '/' || c == '_') return 63;
  return -1;
}

void latin1_to_utf8(std::string_view in, std::string& out) {
  for (unsigned char c : in) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
}

// One RFC 2047 encoded word's text, decoded (B or Q) and turned into UTF-8 when its
// charset is Latin-1; other charsets keep their bytes (the scanner's normaliser copes).
bool decode_word(std::string_view charset, char enc, std::string_view text, std::string& out) {
  std::string raw;
  if (enc == 'B' || enc == 'b') {
    unsigned acc = 0;
    int bits = 0;
    for (unsigned char c : text) {
      const int v = b64val(c);
      if (v < 0) continue;
      acc = (acc << 6) | static_cast<unsigned>(v);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        raw += static_cast<char>((acc >> bits) & 0xff);
      }
    }
  } else if (enc == 'Q' || enc == 'q') {
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '_') {
        raw += ' ';
      } else if (text[i] == '=' && i + 2 < text.size() + 0 && hexval(text[i + 1]) >= 0 &&
                 hexval(text[i + 2]) >= 0) {
        raw += static_cast<char>(hexval(text[i + 1]) * 16 + hexval(text[i + 2]));
        i += 2;
      } else {
        raw += text[i];
      }
    }
  } else {
    return false;
  }
  const std::string cs = ascii_lower(charset);
  if (cs == "iso-8859-1" || cs == "latin1" || cs == "us-ascii" || cs == "windows-1252") {
    latin1_to_utf8(raw, out);
  } else {
    out += raw;
  }
  return true;
}

// RFC 2047: "=?charset?B?...?=" words anywhere in a header value; whitespace between two
// adjacent encoded words is dropped.
std::string decode_words(std::string_view v) {
  std::string out;
  std::size_t i = 0;
  bool last_was_word = false;
  std::string pending_ws;
  while (i < v.size()) {
    if (v.compare(i, 2, "=?") == 0) {
      const std::size_t q1 = v.find('?', i + 2);
      const std::size_t q2 = q1 == std::string_view::npos ? q1 : v.find('?', q1 + 1);
      const std::size_t end = q2 == std::string_view::npos ? q2 : v.find("?=", q2 + 1);
      if (end != std::string_view::npos && q2 == q1 + 2) {
        std::string word;
        if (decode_word(v.substr(i + 2, q1 - i - 2), v[q1 + 1], v.substr(q2 + 1, end - q2 - 1), word)) {
          if (!last_was_word) out += pending_ws;
          pending_ws.clear();
          out += word;
          last_was_word = true;
          i = end + 2;
          continue;
        }
      }
    }
    if (v[i] == ' ' || v[i] == '\t') {
      pending_ws += v[i++];
      continue;
    }
    out += pending_ws;
    pending_ws.clear();
    out += v[i++];
    last_was_word = false;
  }
  return out + pending_ws;
}

// A structured header value: "type/sub; a=b; c=\"d e\"; f*=utf-8''%e2%82%ac; g*0=x; g*1=y".
struct Params {
  std::string value;  // lowercased before the first ';'
  std::vector<std::pair<std::string, std::string>> list;  // lowercased names, RFC 2231 merged
  std::string get(std::string_view name) const {
    for (const auto& [k, v] : list) {
      if (k == name) return v;
    }
    return {};
  }
};

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out += static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

Params parse_params(std::string_view v) {
  Params p;
  std::size_t i = v.find(';');
  p.value = ascii_lower(trim_blank(v.substr(0, i)));
  struct Piece {
    std::string name;
    int index;
    bool extended;
    std::string value;
  };
  std::vector<Piece> pieces;
  while (i != std::string_view::npos && i < v.size()) {
    ++i;
    const std::size_t eq = v.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string name = ascii_lower(trim_blank(v.substr(i, eq - i)));
    std::size_t j = eq + 1;
    while (j < v.size() && (v[j] == ' ' || v[j] == '\t')) ++j;
    std::string value;
    if (j < v.size() && v[j] == '"') {
      ++j;
      while (j < v.size() && v[j] != '"') {
        if (v[j] == '\\' && j + 1 < v.size()) ++j;
        value += v[j++];
      }
      i = v.find(';', j);
    } else {
      i = v.find(';', j);
      value = std::string(trim_blank(v.substr(j, i == std::string_view::npos ? std::string_view::npos : i - j)));
    }
    Piece piece{name, -1, false, value};
    if (!name.empty() && name.back() == '*') {
      piece.extended = true;
      name.pop_back();
    }
    if (const auto star = name.find('*'); star != std::string::npos) {
      piece.index = std::atoi(name.c_str() + star + 1);
      name.resize(star);
    }
    piece.name = name;
    pieces.push_back(std::move(piece));
  }
  // Merge RFC 2231 continuations in index order; decode extended values.
  std::stable_sort(pieces.begin(), pieces.end(),
                   [](const Piece& a, const Piece& b) { return a.name == b.name && a.index < b.index; });
  for (const Piece& piece : pieces) {
    std::string value = piece.value;
    if (piece.extended) {
      std::string charset;
      if (piece.index <= 0) {
        // charset'language'encoded
        const std::size_t a = value.find('\'');
        const std::size_t b = a == std::string::npos ? a : value.find('\'', a + 1);
        if (b != std::string::npos) {
          charset = value.substr(0, a);
          value = value.substr(b + 1);
        }
      }
      value = percent_decode(value);
      if (ascii_lower(charset) == "iso-8859-1") {
        std::string u;
        latin1_to_utf8(value, u);
        value = u;
      }
    } else {
      value = decode_words(value);  // non-standard but common: encoded words in a quoted name
    }
    auto it = std::find_if(p.list.begin(), p.list.end(), [&](const auto& kv) { return kv.first == piece.name; });
    if (it != p.list.end() && piece.index > 0) {
      it->second += value;
    } else if (it == p.list.end()) {
      p.list.emplace_back(piece.name, value);
    } else if (piece.extended) {
      it->second = value;  // name*= wins over name=
    }
  }
  return p;
}

enum class Cte : std::uint8_t { plain, base64, qp };

}  // namespace

struct MimeDecoder::Impl {
  enum class State : std::uint8_t { headers, preamble, body, epilogue, dead };

  Impl(ContentSink& s, const ContentMeta& b, const Limits& l) : sink(s), base(b), limits(l) {}

  ContentSink& sink;
  ContentMeta base;
  const Limits& limits;
  State state = State::headers;
  std::string subject;

  // Headers of the entity being read.
  std::string header_block;
  bool header_overflow = false;
  int message_depth = 0;  // message/rfc822 nesting and the top message
  bool top_message = true;

  // Enclosing multipart boundaries, innermost last ("--" included).
  std::vector<std::string> boundaries;
  std::size_t parts = 0;
  bool flat = false;  // a limit was hit: everything from here is one text stream

  // The current leaf.
  ContentMeta leaf;
  Cte cte = Cte::plain;
  bool leaf_open = false;
  ContentSink::StreamId leaf_id = 0;
  std::uint64_t leaf_bytes = 0;
  bool leaf_cut = false;
  bool text_part = true;  // uuencoded blocks are looked for in text parts only
  // Decoder state.
  unsigned b64_acc = 0;
  int b64_bits = 0;
  bool b64_bad = false;
  int qp_state = 0;  // 0 normal, 1 after '=', 2 after '=X', 3 after '=' CR
  char qp_hex = 0;
  // uuencode inside a text part.
  bool uu = false;
  ContentSink::StreamId uu_id = 0;

  // Line assembly.
  std::string line;
  bool long_line = false;    // the current line passed kMaxLine: content, not a boundary
  std::string pending_eol;   // the last content line's end, held until the next line

  std::vector<std::uint8_t> out;  // decoded bytes of one call

  // ---- output ----
  void emit(const std::uint8_t* p, std::size_t n) {
    if (n == 0 || leaf_cut) return;
    if (!leaf_open) {
      leaf_id = sink.open(leaf);
      leaf_open = true;
      leaf_bytes = 0;
    }
    if (leaf_bytes + n > limits.max_stream_bytes) {
      n = static_cast<std::size_t>(limits.max_stream_bytes - leaf_bytes);
      leaf_cut = true;
      if (n > 0) sink.write(leaf_id, Bytes(p, n));
      limit_hit(sink, limits, "stream_bytes", leaf, "MIME part longer than the stream limit");
      return;
    }
    sink.write(leaf_id, Bytes(p, n));
    leaf_bytes += n;
  }

  void decode(const std::uint8_t* p, std::size_t n) {
    switch (cte) {
      case Cte::plain:
        emit(p, n);
        return;
      case Cte::base64: {
        out.clear();
        for (std::size_t i = 0; i < n; ++i) {
          const int v = b64val(p[i]);
          if (v < 0) {
            if (p[i] == '=' ) {
              b64_bits = 0;  // padding ends a group
              b64_acc = 0;
            } else if (!std::isspace(p[i]) && !b64_bad) {
              b64_bad = true;
              sink.weird("mime.bad_base64");
            }
            continue;
          }
          b64_acc = ((b64_acc << 6) | static_cast<unsigned>(v)) & 0xffffff;
          b64_bits += 6;
          if (b64_bits >= 8) {
            b64_bits -= 8;
            out.push_back(static_cast<std::uint8_t>((b64_acc >> b64_bits) & 0xff));
          }
        }
        emit(out.data(), out.size());
        return;
      }
      case Cte::qp: {
        out.clear();
        for (std::size_t i = 0; i < n; ++i) {
          const char c = static_cast<char>(p[i]);
          switch (qp_state) {
            case 0:
              if (c == '=') qp_state = 1;
              else out.push_back(p[i]);
              break;
            case 1:
              if (c == '\r') {
                qp_state = 3;  // soft line break
              } else if (c == '\n') {
                qp_state = 0;
              } else if (hexval(c) >= 0) {
                qp_hex = c;
                qp_state = 2;
              } else {
                out.push_back('=');
                out.push_back(p[i]);
                qp_state = 0;
              }
              break;
            case 2:
              if (hexval(c) >= 0) {
                out.push_back(static_cast<std::uint8_t>(hexval(qp_hex) * 16 + hexval(c)));
              } else {
                out.push_back('=');
                out.push_back(static_cast<std::uint8_t>(qp_hex));
                out.push_back(p[i]);
              }
              qp_state = 0;
              break;
            case 3:
              qp_state = 0;
              if (c != '\n') out.push_back(p[i]);
              break;
          }
        }
        emit(out.data(), out.size());
        return;
      }
    }
  }

  void close_leaf() {
    if (uu) {
      sink.close(uu_id);
      uu = false;
    }
    if (leaf_open) sink.close(leaf_id);
    leaf_open = false;
    leaf_cut = false;
    pending_eol.clear();
  }

  void start_leaf(const Params& type, const Params& disposition, std::string_view te) {
    leaf = base;
    if (!subject.empty()) leaf.smtp_subject = subject;
    std::string name = disposition.get("filename");
    if (name.empty()) name = type.get("name");
    if (!name.empty()) {
      const std::size_t slash = name.find_last_of("/\\");
      leaf.file_name = slash == std::string::npos ? name : name.substr(slash + 1);
    }
    if (!type.value.empty()) leaf.file_mime = type.value;
    const std::string field = disposition.get("name");
    if (!field.empty()) leaf.form_field = field;
    const std::string t = ascii_lower(trim_blank(te));
    cte = t == "base64" ? Cte::base64 : t == "quoted-printable" ? Cte::qp : Cte::plain;
    if (!t.empty() && cte == Cte::plain && t != "7bit" && t != "8bit" && t != "binary") {
      sink.weird("mime.unknown_transfer_encoding");
    }
    text_part = type.value.empty() || type.value.rfind("text/", 0) == 0;
    b64_acc = 0;
    b64_bits = 0;
    b64_bad = false;
    qp_state = 0;
    state = State::body;
  }

  // ---- entity headers ----
  void end_of_headers() {
    std::string ct, te, cd;
    // Unfold and pick the fields that matter.
    std::size_t pos = 0;
    std::string field;
    auto take = [&](const std::string& f) {
      const std::size_t colon = f.find(':');
      if (colon == std::string::npos) return;
      const std::string name = ascii_lower(trim_blank(std::string_view(f).substr(0, colon)));
      const std::string value(trim_blank(std::string_view(f).substr(colon + 1)));
      if (name == "content-type") ct = value;
      else if (name == "content-transfer-encoding") te = value;
      else if (name == "content-disposition") cd = value;
      else if (name == "subject" && top_message && subject.empty()) subject = decode_words(value).substr(0, 998);
    };
    while (pos < header_block.size()) {
      std::size_t eol = header_block.find('\n', pos);
      if (eol == std::string::npos) eol = header_block.size();
      std::string_view l(header_block.data() + pos, eol - pos);
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      if (!l.empty() && (l[0] == ' ' || l[0] == '\t')) {
        field += ' ';
        field += trim_blank(l);
      } else {
        if (!field.empty()) take(field);
        field.assign(l);
      }
      pos = eol + 1;
    }
    if (!field.empty()) take(field);
    header_block.clear();
    top_message = false;
    begin_entity(ct, te, cd);
  }

  void begin_entity(std::string_view ct, std::string_view te, std::string_view cd) {
    const Params type = parse_params(ct);
    const Params disp = parse_params(cd);
    if (++parts > kMaxParts && !flat) {
      limit_hit(sink, limits, "mime_parts", base, "more than 1000 MIME parts");
      go_flat();
      return;
    }
    if (type.value.rfind("multipart/", 0) == 0) {
      const std::string b = type.get("boundary");
      if (b.empty() || b.size() > 200) {
        sink.weird("mime.no_boundary");
        start_leaf(type, disp, te);
        return;
      }
      if (boundaries.size() + static_cast<std::size_t>(message_depth) >= limits.max_depth + 1u) {
        limit_hit(sink, limits, "depth", base, "MIME nesting deeper than the depth limit");
        go_flat();
        return;
      }
      boundaries.push_back("--" + b);
      state = State::preamble;
      return;
    }
    if (type.value == "message/rfc822" && ascii_lower(trim_blank(te)) != "base64") {
      if (boundaries.size() + static_cast<std::size_t>(++message_depth) > limits.max_depth) {
        limit_hit(sink, limits, "depth", base, "MIME nesting deeper than the depth limit");
        go_flat();
        return;
      }
      state = State::headers;
      return;
    }
    start_leaf(type, disp, te);
  }

  void go_flat() {
    close_leaf();
    flat = true;
    boundaries.clear();
    leaf = base;
    cte = Cte::plain;
    text_part = false;
    state = State::body;
  }

  // Which enclosing boundary this line is, if any: index, and whether it closes.
  int boundary_of(std::string_view l, bool& closing) const {
    if (l.size() < 3 || l[0] != '-' || l[1] != '-') return -1;
    while (!l.empty() && (l.back() == ' ' || l.back() == '\t')) l.remove_suffix(1);
    for (int k = static_cast<int>(boundaries.size()) - 1; k >= 0; --k) {
      const std::string& b = boundaries[static_cast<std::size_t>(k)];
      if (l.size() >= b.size() && l.compare(0, b.size(), b) == 0) {
        const std::string_view rest = l.substr(b.size());
        if (rest.empty()) {
          closing = false;
          return k;
        }
        if (rest == "--") {
          closing = true;
          return k;
        }
      }
    }
    return -1;
  }

  // ---- lines ----
  void on_line(std::string_view l, std::string_view eol) {
    if (!long_line && !flat && !boundaries.empty()) {
      bool closing = false;
      const int k = boundary_of(l, closing);
      if (k >= 0) {
        close_leaf();
        if (state == State::headers && !header_block.empty()) {
          sink.weird("mime.truncated_headers");
          header_block.clear();
        }
        boundaries.resize(static_cast<std::size_t>(k) + 1);
        if (closing) {
          boundaries.pop_back();
          state = State::epilogue;
          leaf = base;
          cte = Cte::plain;
          text_part = false;
        } else {
          state = State::headers;
        }
        return;
      }
    }
    switch (state) {
      case State::headers:
        if (l.empty() && !long_line) {
          end_of_headers();
          return;
        }
        if (header_block.size() + l.size() + 2 > limits.max_header_bytes) {
          if (!header_overflow) {
            header_overflow = true;
            limit_hit(sink, limits, "header_bytes", base, "MIME header block longer than the limit");
          }
          // What follows cannot be framed: scan it as text.
          header_block.clear();
          start_leaf(Params{}, Params{}, {});
          content(l, eol);
          return;
        }
        header_block.append(l);
        header_block.append("\n");
        return;
      case State::preamble:
      case State::epilogue:
        // Text outside the parts is legal and ignorable, and a place to hide data: scan it.
        if (!trim_blank(l).empty() || leaf_open) {
          if (!leaf_open) {
            leaf = base;
            cte = Cte::plain;
            text_part = true;
          }
          content(l, eol);
        }
        return;
      case State::body:
        content(l, eol);
        return;
      case State::dead:
        return;
    }
  }

  void content(std::string_view l, std::string_view eol) {
    if (text_part && cte == Cte::plain && !long_line) {
      if (uu) {
        if (trim_blank(l) == "end") {
          sink.close(uu_id);
          uu = false;
          return;
        }
        uu_line(l);
        return;
      }
      if (l.rfind("begin ", 0) == 0 && l.size() > 10 && std::isdigit(static_cast<unsigned char>(l[6]))) {
        const std::size_t sp = l.find(' ', 6);
        if (sp != std::string_view::npos && sp > 6 && sp - 6 <= 4) {
          ContentMeta m = leaf;
          m.file_name = std::string(trim_blank(l.substr(sp + 1)));
          m.file_mime.clear();
          uu_id = sink.open(m);
          uu = true;
          return;
        }
      }
    }
    if (!pending_eol.empty()) {
      decode(reinterpret_cast<const std::uint8_t*>(pending_eol.data()), pending_eol.size());
      pending_eol.clear();
    }
    decode(reinterpret_cast<const std::uint8_t*>(l.data()), l.size());
    pending_eol.assign(eol);
  }

  void uu_line(std::string_view l) {
    if (l.empty()) return;
    const std::size_t n = static_cast<std::size_t>((l[0] - ' ') & 0x3f);
    out.clear();
    auto v = [&](std::size_t k) { return static_cast<unsigned>(k < l.size() ? ((l[k] - ' ') & 0x3f) : 0); };
    for (std::size_t i = 1; i < l.size() && out.size() < n; i += 4) {
      const unsigned w = (v(i) << 18) | (v(i + 1) << 12) | (v(i + 2) << 6) | v(i + 3);
      for (int b = 2; b >= 0 && out.size() < n; --b) out.push_back(static_cast<std::uint8_t>((w >> (8 * b)) & 0xff));
    }
    if (!out.empty()) sink.write(uu_id, Bytes(out.data(), out.size()));
  }

  void feed(Bytes b) {
    std::size_t i = 0;
    while (i < b.size()) {
      const void* lf = std::memchr(b.data() + i, '\n', b.size() - i);
      const std::size_t end = lf ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(lf) - b.data()) : b.size();
      const std::size_t n = end - i;
      const std::size_t cap = state == State::headers ? limits.max_header_bytes : kMaxLine;
      if (line.size() + n > cap) {
        if (state == State::headers) {
          // A header line without end: nothing after it can be framed; scan it as text.
          if (!header_overflow) {
            header_overflow = true;
            limit_hit(sink, limits, "header_bytes", base, "MIME header line longer than the limit");
          }
          header_block.clear();
          start_leaf(Params{}, Params{}, {});
        }
        // Too long to be a boundary: what we have is content (no line end yet).
        line.append(reinterpret_cast<const char*>(b.data() + i), n);
        long_line = true;
        if (state != State::body && !leaf_open) {
          leaf = base;
          cte = Cte::plain;
          text_part = true;
        }
        content(line, {});
        pending_eol.clear();
        line.clear();
        if (!lf) return;
        i = end + 1;
        // The line ends here: its end is held like any content line's.
        pending_eol = "\n";
        long_line = false;
        continue;
      }
      line.append(reinterpret_cast<const char*>(b.data() + i), n);
      if (!lf) return;
      i = end + 1;
      std::string_view l = line;
      std::string_view eol = "\n";
      if (!l.empty() && l.back() == '\r') {
        l.remove_suffix(1);
        eol = "\r\n";
      }
      if (long_line) {
        content(l, eol);
        long_line = false;
      } else {
        on_line(l, eol);
      }
      line.clear();
    }
  }

  void finish() {
    if (!line.empty()) {
      std::string_view l = line;
      if (long_line) content(l, {});
      else on_line(l, {});
      line.clear();
    }
    if (state == State::headers && !header_block.empty()) end_of_headers();
    if (!boundaries.empty() && !flat) sink.weird("mime.missing_close_boundary");
    close_leaf();
    boundaries.clear();
    state = State::dead;
  }
};

MimeDecoder::MimeDecoder(ContentSink& sink, const ContentMeta& base, const Limits& limits)
    : impl_(std::make_unique<Impl>(sink, base, limits)) {}

MimeDecoder::~MimeDecoder() = default;

void MimeDecoder::start_message() {
  impl_->state = Impl::State::headers;
  impl_->top_message = true;
}

void MimeDecoder::start_body(std::string_view content_type, std::string_view transfer_encoding) {
  impl_->top_message = false;
  impl_->begin_entity(content_type, transfer_encoding, {});
}

void MimeDecoder::data(Bytes bytes) {
  if (impl_->state != Impl::State::dead) impl_->feed(bytes);
}

void MimeDecoder::gap(std::uint64_t len) {
  Impl& m = *impl_;
  if (m.state == Impl::State::body && !m.flat) {
    if (!m.leaf_open) {
      m.leaf_id = m.sink.open(m.leaf);
      m.leaf_open = true;
    }
    m.sink.gap(m.leaf_id, len);
    m.line.clear();
    m.pending_eol.clear();
    return;
  }
  m.sink.weird("mime.gap");
  m.line.clear();
}

void MimeDecoder::finish() {
  if (impl_->state != Impl::State::dead) impl_->finish();
}

std::string_view MimeDecoder::subject() const { return impl_->subject; }

}  // namespace dlp::inspectors
