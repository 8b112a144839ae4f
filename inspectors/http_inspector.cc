// HTTP/1.x request framing as an incremental state machine over the to_server bytes.
//
// Shape: feed() loops over the input; each state consumes what it can and returns where
// it stopped. Lines (request line, headers, chunk-size lines, trailers) are handed over as
// views into the input when they lie entirely inside one data() call, and assembled in
// line_ only when they straddle two; body bytes are never copied, they go to the sink as
// spans of the input. Everything the framing decides depends on the byte content alone,
// never on where the data() calls split it, so a request delivered one byte at a time gives
// the same streams, bytes and weirds as the same request in one call.
#include "inspectors/http_inspector.h"

#include "inspectors/http_body.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "inspectors/base64.h"

namespace dlp::inspectors {
namespace {

using Ptr = const std::uint8_t*;

// Methods we recognise when sniffing a flow and when looking for a request start after
// losing sync. Once framing is known, any token is accepted as a method.
constexpr std::string_view kMethods[] = {"GET ",     "POST ",    "PUT ",
                                         "PATCH ",   "DELETE ",  "HEAD ",
                                         "OPTIONS ", "CONNECT ", "TRACE "};
constexpr std::size_t kMaxMethodPrefix = 8;  // longest entry above ("OPTIONS ", "CONNECT ")
constexpr std::size_t kMaxMethodLen = 32;
constexpr std::uint16_t kPorts[] = {80, 8080, 8000, 3128, 8008, 8888};

enum class Match : std::uint8_t { yes, maybe, no };

// yes: `s` starts with a known method and SP; maybe: `s` is a proper prefix of one.
Match match_method(std::string_view s) {
  bool maybe = false;
  for (std::string_view m : kMethods) {
    if (s.size() >= m.size()) {
      if (s.substr(0, m.size()) == m) return Match::yes;
    } else if (m.substr(0, s.size()) == s) {
      maybe = true;
    }
  }
  return maybe ? Match::maybe : Match::no;
}

bool is_tchar(std::uint8_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_ws(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
  return s;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// chunk-size [BWS] [; ext...]; leading whitespace tolerated as most servers do.
bool parse_chunk_size(std::string_view line, std::uint64_t& out) {
  std::size_t i = 0;
  while (i < line.size() && is_ws(line[i])) ++i;
  std::uint64_t v = 0;
  bool any = false;
  for (; i < line.size(); ++i) {
    const int h = hex_value(line[i]);
    if (h < 0) break;
    if ((v >> 60) != 0) return false;  // would overflow 64 bits
    v = (v << 4) | static_cast<std::uint64_t>(h);
    any = true;
  }
  if (!any) return false;
  while (i < line.size() && is_ws(line[i])) ++i;
  if (i < line.size() && line[i] != ';') return false;
  out = v;
  return true;
}

enum class ClResult : std::uint8_t { ok, bad, conflict };

// The Content-Length field values of one request, joined with ','. All must be 1*DIGIT;
// RFC 9110 allows a list of identical values; differing ones give their maximum.
ClResult parse_content_length(std::string_view list, std::uint64_t& out) {
  bool first = true;
  bool conflict = false;
  out = 0;
  while (true) {
    const std::size_t comma = list.find(',');
    const std::string_view item = trim(list.substr(0, comma));
    if (item.empty() || item.size() > 18) return ClResult::bad;  // 18 digits fit in 64 bits
    std::uint64_t v = 0;
    for (char c : item) {
      if (c < '0' || c > '9') return ClResult::bad;
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (!first && v != out) conflict = true;
    out = first ? v : std::max(out, v);
    first = false;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return conflict ? ClResult::conflict : ClResult::ok;
}

enum class Field : std::uint8_t {
  none,
  other,
  host,
  user_agent,
  content_length,
  transfer_encoding,
  content_type,
  authorization,
  proxy_authorization,
  content_encoding,
  upgrade,
};

Field classify_field(std::string_view name) {
  switch (name.size()) {
    case 4: if (iequals(name, "host")) return Field::host; break;
    case 7: if (iequals(name, "upgrade")) return Field::upgrade; break;
    case 16: if (iequals(name, "content-encoding")) return Field::content_encoding; break;
    case 10: if (iequals(name, "user-agent")) return Field::user_agent; break;
    case 12: if (iequals(name, "content-type")) return Field::content_type; break;
    case 13: if (iequals(name, "authorization")) return Field::authorization; break;
    case 14: if (iequals(name, "content-length")) return Field::content_length; break;
    case 17: if (iequals(name, "transfer-encoding")) return Field::transfer_encoding; break;
    case 19: if (iequals(name, "proxy-authorization")) return Field::proxy_authorization; break;
    default: break;
  }
  return Field::other;
}

class HttpInspector final : public Inspector {
 public:
  HttpInspector(ContentSink& sink, const HttpLimits& limits, const Limits& common)
      : sink_(sink), limits_(limits), common_(common), body_(sink, common_) {
    meta_.app = App::http;
    meta_.dir = Dir::to_server;
  }

  void data(Dir dir, Bytes bytes) override {
    if (closed_ || dir != Dir::to_server || bytes.empty()) return;
    feed(bytes.data(), bytes.data() + bytes.size());
  }

  void gap(Dir dir, std::uint64_t len) override;
  void close() override;

 private:
  enum class State : std::uint8_t {
    request_line,    // skipping empty lines, then method, then the rest of the line
    headers,
    body_length,     // body_left_ bytes of a Content-Length body
    chunk_size,
    chunk_data,      // chunk_left_ bytes of the current chunk
    chunk_data_end,  // the CRLF after chunk data
    trailers,
    opaque,          // every byte goes to the body stream until close (tunnel, unframed body)
    tunnel_start,    // after CONNECT: a retried request, or the first tunnel byte
    resync,          // framing lost: bytes go to the unparsed stream until a request line
  };
  enum class Line : std::uint8_t { partial, complete, overflow };

  void feed(Ptr p, Ptr end);
  Line take_line(Ptr& p, Ptr end, std::size_t limit, std::string_view& out);
  Ptr on_request_line(Ptr p, Ptr end);
  bool parse_request_line(std::string_view line);
  Ptr on_head_line(Ptr p, Ptr end, bool trailer);
  void on_header(std::string_view line);
  void end_of_head();
  Ptr on_chunk_size(Ptr p, Ptr end);
  Ptr on_chunk_data_end(Ptr p, Ptr end);
  Ptr on_resync(Ptr p, Ptr end);
  Ptr on_tunnel_start(Ptr p, Ptr end);
  Match classify_start(Ptr p, Ptr end) const;
  Ptr start_request(Ptr p);
  void keep_prefix(Ptr p, Ptr end);

  void bad_request_line(const char* what, bool at_line_start);
  void enter_resync(bool at_line_start);
  void emit_url();
  void request_done();
  void reset_request();
  void decode_user();
  bool basic_user(std::string_view value);
  std::string* field_value(Field f);
  void append_capped(std::string& to, std::string_view sep, std::string_view value) const;

  void write_body(const void* p, std::size_t n);
  void body_gap(std::uint64_t len);
  void close_body();
  void write_unparsed(const void* p, std::size_t n);
  void close_unparsed();

  ContentSink& sink_;
  const HttpLimits limits_;
  const Limits common_;  // by value: an inspector may outlive a test's factory
  State state_ = State::request_line;
  bool closed_ = false;

  // Line assembly.
  std::string line_;         // a line straddling data() calls (also the request line)
  bool skip_line_ = false;   // discard until LF (a line over the limit)
  bool method_done_ = false; // request_line: method and SP are in line_
  std::size_t method_len_ = 0;

  // The current request.
  ContentMeta meta_;
  std::string cl_raw_;     // Content-Length values, joined by ','
  std::string te_raw_;     // Transfer-Encoding values, joined by ','
  std::string auth_raw_;   // Authorization
  std::string pauth_raw_;  // Proxy-Authorization
  std::string scratch_;    // base64-decoded credentials, wiped after use
  std::size_t header_count_ = 0;
  std::size_t head_bytes_ = 0;
  bool head_overflow_ = false;  // a header limit was hit: read to the end, interpret no more
  bool host_seen_ = false;
  bool url_emitted_ = false;
  Field last_field_ = Field::none;  // target of an obs-fold continuation
  std::uint64_t body_left_ = 0;
  std::uint64_t chunk_left_ = 0;

  std::string ce_raw_;      // Content-Encoding values, joined by ','
  std::string upgrade_raw_;
  bool http10_ = false;
  bool tunnel_ = false;    // after CONNECT or Upgrade: the body is raw tunnel bytes
  std::uint64_t chunks_ = 0;

  // Streams.
  HttpBody body_;
  ContentSink::StreamId unparsed_id_ = 0;
  bool unparsed_open_ = false;
  std::string last_host_;  // for the meta of unparsed bytes

  // Resync / tunnel start: bytes at a line start that may begin a method, carried over a
  // data() boundary until they decide.
  bool at_line_start_ = false;
  std::array<std::uint8_t, kMaxMethodPrefix> prefix_{};
  std::size_t prefix_len_ = 0;
};

void HttpInspector::feed(Ptr p, Ptr end) {
  while (p < end) {
    if (skip_line_) {
      const void* lf = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
      if (lf == nullptr) return;
      p = static_cast<Ptr>(lf) + 1;
      skip_line_ = false;
      continue;
    }
    switch (state_) {
      case State::request_line:
        p = on_request_line(p, end);
        break;
      case State::headers:
        p = on_head_line(p, end, false);
        break;
      case State::trailers:
        p = on_head_line(p, end, true);
        break;
      case State::body_length: {
        const std::size_t n = static_cast<std::size_t>(
            std::min<std::uint64_t>(body_left_, static_cast<std::uint64_t>(end - p)));
        write_body(p, n);
        p += n;
        body_left_ -= n;
        if (body_left_ == 0) request_done();
        break;
      }
      case State::chunk_size:
        p = on_chunk_size(p, end);
        break;
      case State::chunk_data: {
        const std::size_t n = static_cast<std::size_t>(
            std::min<std::uint64_t>(chunk_left_, static_cast<std::uint64_t>(end - p)));
        write_body(p, n);
        p += n;
        chunk_left_ -= n;
        if (chunk_left_ == 0) state_ = State::chunk_data_end;
        break;
      }
      case State::chunk_data_end:
        p = on_chunk_data_end(p, end);
        break;
      case State::opaque:
        write_body(p, static_cast<std::size_t>(end - p));
        p = end;
        break;
      case State::tunnel_start:
        p = on_tunnel_start(p, end);
        break;
      case State::resync:
        p = on_resync(p, end);
        break;
    }
  }
}

// A line ends at LF; one CR before it is dropped. `out` views the input when the whole
// line is in it, else line_. Overflow means the line is longer than `limit` (detected
// at the same content position however the input is split); then exactly `limit` bytes
// of it are in line_ and p points just after them.
HttpInspector::Line HttpInspector::take_line(Ptr& p, Ptr end, std::size_t limit,
                                             std::string_view& out) {
  const Ptr lf = static_cast<Ptr>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
  const std::size_t avail = static_cast<std::size_t>((lf != nullptr ? lf : end) - p);
  if (line_.size() + avail > limit) {
    const std::size_t take = limit - line_.size();
    line_.append(reinterpret_cast<const char*>(p), take);
    p += take;
    return Line::overflow;
  }
  if (lf == nullptr) {
    line_.append(reinterpret_cast<const char*>(p), avail);
    p = end;
    return Line::partial;
  }
  if (line_.empty()) {
    out = std::string_view(reinterpret_cast<const char*>(p), avail);
  } else {
    line_.append(reinterpret_cast<const char*>(p), avail);
    out = line_;
  }
  p = lf + 1;
  if (!out.empty() && out.back() == '\r') out.remove_suffix(1);
  return Line::complete;
}

Ptr HttpInspector::on_request_line(Ptr p, Ptr end) {
  if (!method_done_) {
    if (line_.empty()) {
      // Empty lines before a request are allowed (RFC 9112 §2.2), and some clients send a
      // CRLF after a body.
      while (p < end && (*p == '\r' || *p == '\n')) ++p;
      if (p == end) return p;
    }
    // The method is checked as it arrives, so binary data is handed to resync at once
    // rather than after max_line bytes.
    Ptr q = p;
    while (q < end && line_.size() + static_cast<std::size_t>(q - p) < kMaxMethodLen &&
           is_tchar(*q)) {
      ++q;
    }
    line_.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(q - p));
    p = q;
    if (p == end) return p;
    if (*p == ' ' && !line_.empty()) {
      method_len_ = line_.size();
      line_.push_back(' ');
      method_done_ = true;
      return p + 1;
    }
    bad_request_line("http.bad_request_line", /*at_line_start=*/false);
    return p;
  }
  std::string_view line;
  switch (take_line(p, end, limits_.max_line, line)) {
    case Line::partial:
      return p;
    case Line::overflow:
      bad_request_line("http.request_line_too_long", /*at_line_start=*/false);
      return p;
    case Line::complete:
      break;
  }
  method_done_ = false;
  if (!parse_request_line(line)) {
    bad_request_line("http.bad_request_line", /*at_line_start=*/true);
    return p;
  }
  line_.clear();
  return p;
}

// `line` is line_: method, SP, then target and version.
bool HttpInspector::parse_request_line(std::string_view line) {
  const std::string_view method = line.substr(0, method_len_);
  const std::string_view rest = trim(line.substr(method_len_ + 1));
  std::string_view target = rest;
  std::string_view version;
  // The version is after the last SP, so a target with raw spaces (seen from broken
  // clients) is still taken whole.
  if (const std::size_t sp = rest.rfind(' '); sp != std::string_view::npos) {
    version = rest.substr(sp + 1);
    target = trim(rest.substr(0, sp));
    if (version.substr(0, 5) != "HTTP/") return false;
  }
  if (target.empty()) return false;

  reset_request();
  meta_.http_method.assign(method);
  meta_.http_url.assign(target);
  if (version.empty()) {
    // HTTP/0.9: no header block follows.
    sink_.weird("http.no_version");
    emit_url();
    request_done();
    return true;
  }
  if (version == "HTTP/2.0" && method == "PRI") {
    // h2c with prior knowledge: binary frames follow; scan them as an opaque stream.
    sink_.weird("http.h2_prior_knowledge");
    url_emitted_ = true;
    tunnel_ = true;
    state_ = State::opaque;
    return true;
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") sink_.weird("http.bad_version");
  http10_ = version == "HTTP/1.0";
  state_ = State::headers;
  return true;
}

Ptr HttpInspector::on_head_line(Ptr p, Ptr end, bool trailer) {
  std::string_view line;
  switch (take_line(p, end, limits_.max_line, line)) {
    case Line::partial:
      return p;
    case Line::overflow:
      sink_.weird("http.header_line_too_long");
      line_.clear();
      skip_line_ = true;
      last_field_ = Field::none;
      head_bytes_ += limits_.max_line;
      return p;
    case Line::complete:
      break;
  }
  if (line.empty()) {
    line_.clear();
    if (trailer) {
      request_done();
    } else {
      end_of_head();
    }
    return p;
  }
  head_bytes_ += line.size() + 2;
  // Trailer fields are framing only here (they come after the body we scanned).
  if (!trailer) on_header(line);
  line_.clear();
  return p;
}

void HttpInspector::on_header(std::string_view line) {
  ++header_count_;
  if (head_overflow_) return;
  if (header_count_ > limits_.max_headers) {
    sink_.weird("http.too_many_headers");
    head_overflow_ = true;
    return;
  }
  if (head_bytes_ > limits_.max_header_bytes) {
    sink_.weird("http.header_block_too_long");
    head_overflow_ = true;
    return;
  }
  if (is_ws(line.front())) {
    // obs-fold (RFC 9112 §5.2): replaced by a space, as a recipient may do; counted because
    // it is deprecated and a known way to hide a header from one parser but not another.
    sink_.weird("http.obs_fold");
    if (std::string* v = field_value(last_field_)) append_capped(*v, " ", trim(line));
    return;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    sink_.weird("http.bad_header");
    last_field_ = Field::none;
    return;
  }
  const std::string_view name = line.substr(0, colon);
  if (is_ws(name.back())) {
    // "Content-Length : 5" must be rejected (RFC 9112 §5.1): a smuggling classic.
    sink_.weird("http.bad_header_name");
    last_field_ = Field::none;
    return;
  }
  const std::string_view value = trim(line.substr(colon + 1));
  Field f = classify_field(name);
  switch (f) {
    case Field::host:
      if (host_seen_) {
        sink_.weird("http.multiple_host");
        f = Field::none;  // the first one stands; do not fold into it either
      } else {
        host_seen_ = true;
        meta_.http_host.assign(value);
      }
      break;
    case Field::user_agent:
      meta_.http_user_agent.clear();
      append_capped(meta_.http_user_agent, "", value);
      break;
    case Field::content_type:
      meta_.file_mime.clear();
      append_capped(meta_.file_mime, "", value);
      break;
    case Field::content_length:
      append_capped(cl_raw_, cl_raw_.empty() ? "" : ",", value);
      break;
    case Field::transfer_encoding:
      append_capped(te_raw_, te_raw_.empty() ? "" : ",", value);
      break;
    case Field::authorization:
      if (auth_raw_.empty()) append_capped(auth_raw_, "", value);
      break;
    case Field::proxy_authorization:
      if (pauth_raw_.empty()) append_capped(pauth_raw_, "", value);
      break;
    case Field::content_encoding:
      append_capped(ce_raw_, ce_raw_.empty() ? "" : ",", value);
      break;
    case Field::upgrade:
      append_capped(upgrade_raw_, upgrade_raw_.empty() ? "" : ",", value);
      break;
    case Field::none:
    case Field::other:
      break;
  }
  last_field_ = f;
}

std::string* HttpInspector::field_value(Field f) {
  switch (f) {
    case Field::host: return &meta_.http_host;
    case Field::user_agent: return &meta_.http_user_agent;
    case Field::content_type: return &meta_.file_mime;
    case Field::content_length: return &cl_raw_;
    case Field::transfer_encoding: return &te_raw_;
    case Field::authorization: return &auth_raw_;
    case Field::proxy_authorization: return &pauth_raw_;
    case Field::content_encoding: return &ce_raw_;
    case Field::upgrade: return &upgrade_raw_;
    case Field::none:
    case Field::other: return nullptr;
  }
  return nullptr;
}

// Kept values never exceed max_line, whatever folding and repetition add up to.
void HttpInspector::append_capped(std::string& to, std::string_view sep,
                                  std::string_view value) const {
  if (to.size() + sep.size() >= limits_.max_line) return;
  to.append(sep);
  to.append(value.substr(0, limits_.max_line - to.size()));
}

void HttpInspector::end_of_head() {
  decode_user();
  if (meta_.http_host.empty()) {
    // absolute-form target (to a proxy): the authority is the host.
    std::string_view url = meta_.http_url;
    const std::size_t scheme = url.find("://");
    if (scheme != std::string_view::npos && scheme > 0 && scheme < 8) {
      url.remove_prefix(scheme + 3);
      meta_.http_host.assign(url.substr(0, url.find_first_of("/?#")));
    } else if (meta_.http_method == "CONNECT") {
      meta_.http_host.assign(url);  // authority-form host:port
    }
  }
  last_host_ = meta_.http_host;
  emit_url();

  if (meta_.http_method == "CONNECT") {
    prefix_len_ = 0;
    tunnel_ = true;
    state_ = State::tunnel_start;
    return;
  }
  if (!upgrade_raw_.empty()) {
    // We do not see the 101; a client that asks and then speaks another protocol got it.
    // Either way the bytes after this request are scanned raw, never lost.
    ContentMeta note;
    note.notes.push_back("upgrade: " + upgrade_raw_);
    sink_.flow_meta(note);
  }
  if (!te_raw_.empty()) {
    // Transfer-Encoding wins over Content-Length (RFC 9112 §6.3); both present is how
    // request smuggling starts, so it is counted.
    if (!cl_raw_.empty()) sink_.weird("http.te_and_cl");
    std::string_view codings = te_raw_;
    const std::size_t comma = codings.rfind(',');
    if (comma != std::string_view::npos) codings.remove_prefix(comma + 1);
    if (iequals(trim(codings), "chunked")) {
      state_ = State::chunk_size;
    } else {
      // No knowable end: the rest of the direction is this body.
      sink_.weird("http.bad_transfer_encoding");
      state_ = State::opaque;
    }
    return;
  }
  if (!cl_raw_.empty()) {
    std::uint64_t n = 0;
    switch (parse_content_length(cl_raw_, n)) {
      case ClResult::ok:
        break;
      case ClResult::conflict:
        sink_.weird("http.conflicting_content_length");
        break;
      case ClResult::bad:
        sink_.weird("http.bad_content_length");
        state_ = State::opaque;
        return;
    }
    if (n > 0) {
      body_left_ = n;
      state_ = State::body_length;
      return;
    }
  } else if (http10_ && (meta_.http_method == "POST" || meta_.http_method == "PUT" ||
                         meta_.http_method == "PATCH")) {
    // HTTP/1.0 with a body and no length: it ends when the connection does.
    sink_.weird("http.body_until_close");
    state_ = State::opaque;
    return;
  }
  request_done();
}

void HttpInspector::decode_user() {
  // Proxy credentials first: at the egress proxy they name the employee; Authorization
  // names an account at the remote site.
  if (!pauth_raw_.empty() && basic_user(pauth_raw_)) return;
  if (!auth_raw_.empty()) basic_user(auth_raw_);
}

bool HttpInspector::basic_user(std::string_view value) {
  if (value.size() < 6 || !istarts_with(value, "basic") || !is_ws(value[5])) return false;
  bool ok = base64_decode(trim(value.substr(6)), scratch_);
  const std::size_t colon = scratch_.find(':');
  ok = ok && colon != std::string::npos;
  if (ok) {
    meta_.user_hint.assign(scratch_, 0, colon);
  } else {
    sink_.weird("http.bad_basic_auth");
  }
  // The password never outlives this call.
  std::fill(scratch_.begin(), scratch_.end(), '\0');
  scratch_.clear();
  return ok;
}

Ptr HttpInspector::on_chunk_size(Ptr p, Ptr end) {
  std::string_view line;
  switch (take_line(p, end, limits_.max_chunk_line, line)) {
    case Line::partial:
      return p;
    case Line::overflow:
      // The framing is lost; keep scanning: every further byte is the body (raw).
      sink_.weird("http.chunk_line_too_long");
      write_body(line_.data(), line_.size());
      line_.clear();
      state_ = State::opaque;
      return p;
    case Line::complete:
      break;
  }
  std::uint64_t size = 0;
  if (!parse_chunk_size(line, size)) {
    sink_.weird("http.bad_chunk_size");
    write_body(line.data(), line.size());
    line_.clear();
    state_ = State::opaque;
    return p;
  }
  line_.clear();
  if (++chunks_ > limits_.max_chunks) {
    // Endless tiny chunks cost a parse step per byte: stop framing, scan the rest raw.
    limit_hit(sink_, common_, "chunks", meta_,
              "more than " + std::to_string(limits_.max_chunks) + " chunks in one body");
    state_ = State::opaque;
    return p;
  }
  if (size == 0) {
    state_ = State::trailers;
  } else {
    chunk_left_ = size;
    state_ = State::chunk_data;
  }
  return p;
}

Ptr HttpInspector::on_chunk_data_end(Ptr p, Ptr end) {
  std::string_view line;
  switch (take_line(p, end, limits_.max_chunk_line, line)) {
    case Line::partial:
      return p;
    case Line::overflow:
      line = line_;
      break;
    case Line::complete:
      if (line.empty()) {
        line_.clear();  // the CRLF may have straddled two calls
        state_ = State::chunk_size;
        return p;
      }
      break;
  }
  // More data than the chunk size announced: the framing is lost, keep scanning raw.
  sink_.weird("http.bad_chunk_terminator");
  write_body(line.data(), line.size());
  line_.clear();
  state_ = State::opaque;
  return p;
}

// yes / no / maybe for the bytes at p, preceded by those carried from the previous call.
Match HttpInspector::classify_start(Ptr p, Ptr end) const {
  char tmp[kMaxMethodPrefix];
  std::memcpy(tmp, prefix_.data(), prefix_len_);
  const std::size_t n =
      std::min(kMaxMethodPrefix - prefix_len_, static_cast<std::size_t>(end - p));
  std::memcpy(tmp + prefix_len_, p, n);
  return match_method(std::string_view(tmp, prefix_len_ + n));
}

// A request line starts at the carried prefix (if any) followed by p.
Ptr HttpInspector::start_request(Ptr p) {
  state_ = State::request_line;
  method_done_ = false;
  line_.clear();
  if (prefix_len_ > 0) {
    std::array<std::uint8_t, kMaxMethodPrefix> carried = prefix_;
    const std::size_t n = prefix_len_;
    prefix_len_ = 0;
    feed(carried.data(), carried.data() + n);  // only method characters: no recursion
  }
  return p;
}

// "maybe" only happens when the input ends before the longest method could be seen.
void HttpInspector::keep_prefix(Ptr p, Ptr end) {
  const std::size_t n = static_cast<std::size_t>(end - p);
  std::memcpy(prefix_.data() + prefix_len_, p, n);
  prefix_len_ += n;
}

Ptr HttpInspector::on_resync(Ptr p, Ptr end) {
  Ptr run = p;  // bytes not yet written to the unparsed stream
  while (p < end) {
    if (at_line_start_) {
      switch (classify_start(p, end)) {
        case Match::yes:
          write_unparsed(run, static_cast<std::size_t>(p - run));
          close_unparsed();
          return start_request(p);
        case Match::maybe:
          write_unparsed(run, static_cast<std::size_t>(p - run));
          keep_prefix(p, end);
          return end;
        case Match::no:
          if (prefix_len_ > 0) {
            write_unparsed(prefix_.data(), prefix_len_);
            prefix_len_ = 0;
          }
          at_line_start_ = false;
          break;
      }
    }
    const void* lf = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
    if (lf == nullptr) {
      p = end;
      break;
    }
    p = static_cast<Ptr>(lf) + 1;
    at_line_start_ = true;
  }
  write_unparsed(run, static_cast<std::size_t>(p - run));
  return p;
}

// After CONNECT we do not see the proxy's answer; a client refused with 407 retries on
// the same connection, often with Proxy-Authorization. A method at the very start of the
// tunnel is that retry; anything else (a TLS ClientHello starts with 0x16) is the tunnel.
Ptr HttpInspector::on_tunnel_start(Ptr p, Ptr end) {
  switch (classify_start(p, end)) {
    case Match::yes:
      tunnel_ = false;  // a retried request, not tunnel bytes
      return start_request(p);
    case Match::maybe:
      keep_prefix(p, end);
      return end;
    case Match::no:
      break;
  }
  state_ = State::opaque;
  if (prefix_len_ > 0) {
    write_body(prefix_.data(), prefix_len_);
    prefix_len_ = 0;
  }
  return p;
}

// The request line (or its first bytes) in line_ is not HTTP: scan it as unparsed and
// look for the next request.
void HttpInspector::bad_request_line(const char* what, bool at_line_start) {
  sink_.weird(what);
  write_unparsed(line_.data(), line_.size());
  line_.clear();
  enter_resync(at_line_start);
}

void HttpInspector::enter_resync(bool at_line_start) {
  close_body();
  reset_request();
  state_ = State::resync;
  at_line_start_ = at_line_start;
  prefix_len_ = 0;
  method_done_ = false;
  skip_line_ = false;
}

void HttpInspector::gap(Dir dir, std::uint64_t len) {
  if (closed_ || dir != Dir::to_server || len == 0) return;
  switch (state_) {
    case State::body_length:
      if (len <= body_left_) {
        // The hole is inside the body: the scanner hears about it and we stay in sync.
        body_gap(len);
        body_left_ -= len;
        if (body_left_ == 0) request_done();
        return;
      }
      body_gap(body_left_);
      break;
    case State::chunk_data:
      if (len <= chunk_left_) {
        body_gap(len);
        chunk_left_ -= len;
        if (chunk_left_ == 0) state_ = State::chunk_data_end;
        return;
      }
      body_gap(len);
      break;
    case State::tunnel_start:
    case State::opaque:
      // No framing to lose: the stream just has a hole.
      state_ = State::opaque;
      if (prefix_len_ > 0) {
        write_body(prefix_.data(), prefix_len_);
        prefix_len_ = 0;
      }
      body_gap(len);
      return;
    case State::request_line:
      // A partial request line is still client data worth scanning.
      write_unparsed(line_.data(), line_.size());
      line_.clear();
      break;
    case State::headers:
      emit_url();
      break;
    case State::chunk_size:
    case State::chunk_data_end:
    case State::trailers:
      if (body_.active()) body_.gap(len);
      break;
    case State::resync:
      if (prefix_len_ > 0) write_unparsed(prefix_.data(), prefix_len_);
      prefix_len_ = 0;
      break;
  }
  sink_.weird("http.gap_resync");
  line_.clear();
  if (unparsed_open_) sink_.gap(unparsed_id_, len);
  // The byte after a gap is as likely as any to start a request (a lost segment often
  // ends at a message boundary), so it is checked like a line start.
  enter_resync(/*at_line_start=*/true);
}

void HttpInspector::close() {
  if (closed_) return;
  switch (state_) {
    case State::request_line:
      write_unparsed(line_.data(), line_.size());
      break;
    case State::headers:
      emit_url();
      break;
    case State::body_length:
    case State::chunk_size:
    case State::chunk_data:
    case State::chunk_data_end:
      sink_.weird("http.truncated_body");
      break;
    case State::tunnel_start:
      if (prefix_len_ > 0) write_body(prefix_.data(), prefix_len_);
      break;
    case State::resync:
      if (prefix_len_ > 0) write_unparsed(prefix_.data(), prefix_len_);
      break;
    case State::trailers:
    case State::opaque:
      break;
  }
  prefix_len_ = 0;
  line_.clear();
  close_body();
  close_unparsed();
  closed_ = true;
}

void HttpInspector::emit_url() {
  if (url_emitted_) return;
  url_emitted_ = true;
  if (meta_.http_url.empty()) return;
  const ContentSink::StreamId id = sink_.open(meta_);
  sink_.write(id, as_bytes(meta_.http_url));
  sink_.close(id);
}

void HttpInspector::request_done() {
  close_body();
  const bool upgrade = !upgrade_raw_.empty();
  reset_request();
  state_ = State::request_line;
  if (upgrade) {
    tunnel_ = true;  // the rest of the client direction is the upgraded protocol
    state_ = State::opaque;
  }
}

void HttpInspector::reset_request() {
  meta_.http_method.clear();
  meta_.http_host.clear();
  meta_.http_url.clear();
  meta_.http_user_agent.clear();
  meta_.file_mime.clear();
  meta_.user_hint.clear();
  cl_raw_.clear();
  te_raw_.clear();
  ce_raw_.clear();
  upgrade_raw_.clear();
  http10_ = false;
  chunks_ = 0;
  auth_raw_.clear();
  pauth_raw_.clear();
  header_count_ = 0;
  head_bytes_ = 0;
  head_overflow_ = false;
  host_seen_ = false;
  url_emitted_ = false;
  last_field_ = Field::none;
  body_left_ = 0;
  chunk_left_ = 0;
}

// n == 0 only starts the body (for a gap before the first body byte).
void HttpInspector::write_body(const void* p, std::size_t n) {
  if (!body_.active()) {
    // Tunnels are raw; a body is decoded by its Content-Encoding and Content-Type.
    body_.begin(meta_, tunnel_ ? std::string_view{} : std::string_view(ce_raw_),
                tunnel_ ? std::string_view{} : std::string_view(meta_.file_mime), tunnel_);
  }
  if (n > 0) body_.write(Bytes(static_cast<Ptr>(p), n));
}

void HttpInspector::body_gap(std::uint64_t len) {
  write_body(nullptr, 0);
  body_.gap(len);
}

void HttpInspector::close_body() { body_.end(); }

void HttpInspector::write_unparsed(const void* p, std::size_t n) {
  if (n == 0) return;
  if (!unparsed_open_) {
    // Not a request: no method or URL, but the host of the connection's last request
    // tells the analyst where the bytes went.
    reset_request();
    meta_.http_host = last_host_;
    unparsed_id_ = sink_.open(meta_);
    unparsed_open_ = true;
    meta_.http_host.clear();
  }
  sink_.write(unparsed_id_, Bytes(static_cast<Ptr>(p), n));
}

void HttpInspector::close_unparsed() {
  if (!unparsed_open_) return;
  sink_.close(unparsed_id_);
  unparsed_open_ = false;
}

}  // namespace

bool HttpInspectorFactory::wants_port(std::uint16_t server_port) const {
  return std::find(std::begin(kPorts), std::end(kPorts), server_port) != std::end(kPorts);
}

bool HttpInspectorFactory::probe(Bytes first_client_bytes) const {
  if (first_client_bytes.empty()) return false;
  return match_method(as_chars(first_client_bytes)) != Match::no;
}

std::unique_ptr<Inspector> HttpInspectorFactory::create(ContentSink& sink,
                                                        const FlowInfo& /*flow*/) const {
  return std::make_unique<HttpInspector>(sink, limits_, common_);
}

}  // namespace dlp::inspectors
