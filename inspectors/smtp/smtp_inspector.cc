#include "inspectors/smtp/smtp_inspector.h"

#include "inspectors/ascii.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <deque>
#include <string>

#include "inspectors/base64.h"
#include "inspectors/mime.h"

namespace dlp::inspectors {
namespace {

constexpr std::size_t kMaxCommandLine = 4096;
constexpr std::size_t kMaxRcpt = 100;
constexpr std::size_t kMaxPending = 64;

// "<a@b> SIZE=10" -> "a@b"
std::string address_of(std::string_view arg) {
  arg = trim_blank(arg);
  if (!arg.empty() && arg.front() == '<') {
    const std::size_t gt = arg.find('>');
    return std::string(arg.substr(1, gt == std::string_view::npos ? std::string_view::npos : gt - 1)).substr(0, 320);
  }
  return std::string(arg.substr(0, std::min(arg.find(' '), std::size_t{320})));
}

class SmtpInspector final : public Inspector {
 public:
  SmtpInspector(ContentSink& sink, const Limits& limits) : sink_(sink), limits_(limits) {
    meta_.app = App::smtp;
    meta_.dir = Dir::to_server;
  }

  void data(Dir dir, Bytes b) override {
    if (done_) return;
    if (dir == Dir::to_client) {
      server_lines(b);
      return;
    }
    std::size_t i = 0;
    while (i < b.size() && !done_) {
      switch (mode_) {
        case Mode::command: i += command_bytes(b.subspan(i)); break;
        case Mode::data: i += data_bytes(b.subspan(i)); break;
        case Mode::bdat: i += bdat_bytes(b.subspan(i)); break;
      }
    }
  }

  void gap(Dir dir, std::uint64_t len) override {
    if (done_ || dir == Dir::to_client) {
      server_line_.clear();
      return;
    }
    switch (mode_) {
      case Mode::data:
        if (mime_) mime_->gap(len);
        at_line_start_ = false;
        break;
      case Mode::bdat:
        if (mime_) mime_->gap(std::min<std::uint64_t>(len, bdat_left_));
        if (len >= bdat_left_) {
          bdat_left_ = 0;
          end_bdat_chunk();
        } else {
          bdat_left_ -= len;
        }
        break;
      case Mode::command:
        sink_.weird("smtp.gap");
        line_.clear();
        skipping_ = true;  // resync at the next line
        break;
    }
  }

  void close() override {
    if (mime_) {
      sink_.weird("smtp.truncated_message");
      end_message();
    }
    done_ = true;
  }

 private:
  enum class Mode : std::uint8_t { command, data, bdat };
  enum class Auth : std::uint8_t { none, plain, login_user, login_pass };

  // ---- commands ----
  std::size_t command_bytes(Bytes b) {
    const void* lf = std::memchr(b.data(), '\n', b.size());
    const std::size_t n = lf ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(lf) - b.data()) : b.size();
    if (!skipping_) {
      if (line_.size() + n > kMaxCommandLine) {
        sink_.weird("smtp.line_too_long");
        skipping_ = true;
        line_.clear();
      } else {
        line_.append(reinterpret_cast<const char*>(b.data()), n);
      }
    }
    if (!lf) return b.size();
    if (!skipping_) {
      // A TLS record after STARTTLS when the server's side is not visible.
      if (starttls_sent_ && !line_.empty() && line_[0] == '\x16') {
        encrypted();
        return b.size();
      }
      command(trim_blank(line_));
    }
    skipping_ = false;
    line_.clear();
    return n + 1;
  }

  void command(std::string_view l) {
    if (auth_ != Auth::none) {
      auth_response(l);
      return;
    }
    if (l.empty()) return;
    const std::size_t sp = l.find(' ');
    const std::string verb = ascii_upper(l.substr(0, std::min<std::size_t>(sp, 10)));
    const std::string_view arg = sp == std::string_view::npos ? std::string_view{} : trim_blank(l.substr(sp + 1));
    if (pending_.size() < kMaxPending) pending_.push_back(verb);
    if (verb == "EHLO" || verb == "HELO") {
      meta_.smtp_helo.assign(arg.substr(0, 255));
    } else if (verb == "AUTH") {
      const std::size_t sp2 = arg.find(' ');
      const std::string mech = ascii_upper(arg.substr(0, sp2));
      const std::string_view initial = sp2 == std::string_view::npos ? std::string_view{} : trim_blank(arg.substr(sp2 + 1));
      if (mech == "PLAIN") {
        if (initial.empty()) auth_ = Auth::plain;
        else plain_user(initial);
      } else if (mech == "LOGIN") {
        if (initial.empty()) {
          auth_ = Auth::login_user;
        } else {
          login_user(initial);
          auth_ = Auth::login_pass;
        }
      }
    } else if (verb == "MAIL") {
      meta_.smtp_mail_from = address_of(arg.substr(std::min(arg.find(':') + 1, arg.size())));
      meta_.smtp_rcpt_to.clear();
    } else if (verb == "RCPT") {
      if (meta_.smtp_rcpt_to.size() < kMaxRcpt) {
        meta_.smtp_rcpt_to.push_back(address_of(arg.substr(std::min(arg.find(':') + 1, arg.size()))));
      } else {
        sink_.weird("smtp.too_many_recipients");
      }
    } else if (verb == "RSET") {
      meta_.smtp_mail_from.clear();
      meta_.smtp_rcpt_to.clear();
    } else if (verb == "DATA") {
      // The client waits for 354 before the message (RFC 2920 puts DATA last in a
      // group), so the message starts with its next byte; a refusal undoes this.
      start_message();
      mode_ = Mode::data;
      at_line_start_ = true;
      data_bytes_ = 0;
    } else if (verb == "BDAT") {
      const std::size_t sp2 = arg.find(' ');
      std::uint64_t n = 0;
      bool ok = sp2 != 0 && !arg.empty();
      for (char c : arg.substr(0, sp2)) {
        if (!std::isdigit(static_cast<unsigned char>(c)) || n > (1ull << 40)) ok = false;
        else n = n * 10 + static_cast<std::uint64_t>(c - '0');
      }
      if (!ok) {
        sink_.weird("smtp.bad_bdat");
        return;
      }
      bdat_last_ = sp2 != std::string_view::npos && ascii_upper(trim_blank(arg.substr(sp2))) == "LAST";
      if (!mime_) start_message();
      bdat_left_ = n;
      mode_ = Mode::bdat;
      if (n == 0) end_bdat_chunk();
    } else if (verb == "STARTTLS") {
      starttls_sent_ = true;
    }
  }

  void plain_user(std::string_view b64) {
    // authzid \0 authcid \0 password: the password never leaves this function.
    std::string raw;
    if (!base64_decode(b64, raw)) {
      sink_.weird("smtp.bad_auth");
      return;
    }
    const std::size_t a = raw.find('\0');
    const std::size_t b = a == std::string::npos ? a : raw.find('\0', a + 1);
    if (b != std::string::npos) {
      std::string user = raw.substr(a + 1, b - a - 1);
      if (user.empty()) user = raw.substr(0, a);
      set_user(user);
    } else {
      sink_.weird("smtp.bad_auth");
    }
    std::fill(raw.begin(), raw.end(), '\0');
  }

  void login_user(std::string_view b64) {
    std::string raw;
    if (base64_decode(b64, raw)) set_user(raw);
    else sink_.weird("smtp.bad_auth");
  }

  void auth_response(std::string_view l) {
    const Auth state = auth_;
    auth_ = Auth::none;
    if (l == "*") return;  // cancelled
    switch (state) {
      case Auth::plain: plain_user(l); break;
      case Auth::login_user:
        login_user(l);
        auth_ = Auth::login_pass;
        break;
      case Auth::login_pass: break;  // the password: skipped, never kept
      case Auth::none: break;
    }
  }

  void set_user(const std::string& user) {
    meta_.user_hint = user.substr(0, 256);
    ContentMeta m;
    m.app = App::smtp;
    m.user_hint = meta_.user_hint;
    sink_.flow_meta(m);
  }

  // ---- messages ----
  void start_message() {
    // A message still open (BDAT chunks without LAST, then DATA) ends here, never dangles.
    if (mime_) {
      sink_.weird("smtp.unfinished_message");
      mime_->finish();
    }
    mime_ = std::make_unique<MimeDecoder>(sink_, meta_, limits_);
    mime_->start_message();
  }

  void end_message() {
    if (mime_) mime_->finish();
    mime_.reset();
    mode_ = Mode::command;
    meta_.smtp_mail_from.clear();
    meta_.smtp_rcpt_to.clear();
  }

  // DATA: lines until "." alone; ".." at a line start stands for ".".
  std::size_t data_bytes(Bytes b) {
    std::size_t i = 0;
    while (i < b.size()) {
      if (at_line_start_ && dot_state_ == 0) {
        if (b[i] == '.') {
          dot_state_ = 1;
          ++i;
          continue;
        }
      }
      if (dot_state_ == 1) {
        // After a leading dot: CRLF ends the message, anything else was stuffed.
        if (b[i] == '\r') {
          dot_state_ = 2;
          ++i;
          continue;
        }
        if (b[i] == '\n') {
          dot_state_ = 0;
          end_message();
          return i + 1;
        }
        dot_state_ = 0;
        at_line_start_ = false;
        if (b[i] == '.') {
          feed(b.subspan(i, 1));  // "..": one dot is data
          ++i;
          continue;
        }
        // A single dot followed by text: not RFC-conformant, keep it (no loss).
        static const std::uint8_t kDot = '.';
        feed(Bytes(&kDot, 1));
        continue;
      }
      if (dot_state_ == 2) {
        dot_state_ = 0;
        if (b[i] == '\n') {
          end_message();
          return i + 1;
        }
        static const std::uint8_t kDotCr[2] = {'.', '\r'};
        feed(Bytes(kDotCr, 2));
        at_line_start_ = false;
        continue;
      }
      // Up to and including the next LF is data.
      const void* lf = std::memchr(b.data() + i, '\n', b.size() - i);
      const std::size_t end = lf ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(lf) - b.data()) + 1 : b.size();
      feed(b.subspan(i, end - i));
      at_line_start_ = lf != nullptr;
      i = end;
    }
    return b.size();
  }

  void feed(Bytes b) {
    data_bytes_ += b.size();
    if (mime_) mime_->data(b);
  }

  std::size_t bdat_bytes(Bytes b) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(bdat_left_, b.size()));
    feed(b.first(n));
    bdat_left_ -= n;
    if (bdat_left_ == 0) end_bdat_chunk();
    return n;
  }

  void end_bdat_chunk() {
    if (bdat_last_) {
      end_message();
    } else {
      mode_ = Mode::command;  // the next BDAT continues the same message
    }
  }

  // ---- replies ----
  void server_lines(Bytes b) {
    std::size_t i = 0;
    while (i < b.size()) {
      const void* lf = std::memchr(b.data() + i, '\n', b.size() - i);
      const std::size_t end = lf ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(lf) - b.data()) : b.size();
      if (server_line_.size() < 512) {
        server_line_.append(reinterpret_cast<const char*>(b.data() + i), std::min(end - i, 512 - server_line_.size()));
      }
      if (!lf) return;
      i = end + 1;
      reply(trim_blank(server_line_));
      server_line_.clear();
      if (done_) return;
    }
  }

  void reply(std::string_view l) {
    if (l.size() < 3 || !std::isdigit(static_cast<unsigned char>(l[0]))) return;
    if (l.size() > 3 && l[3] == '-') return;  // a multi-line reply continues
    if (!greeted_ && l.substr(0, 3) == "220" && (pending_.empty() || pending_.front() != "STARTTLS")) {
      greeted_ = true;  // the banner answers no command
      return;
    }
    greeted_ = true;
    const char cls = l[0];
    const std::string cmd = pending_.empty() ? std::string() : pending_.front();
    if (!pending_.empty()) pending_.pop_front();
    if (cmd == "DATA" && cls != '3' && mime_ && data_bytes_ == 0) {
      // DATA refused: no message follows.
      mime_->finish();
      mime_.reset();
      mode_ = Mode::command;
    } else if (cmd == "STARTTLS" && l.substr(0, 3) == "220") {
      encrypted();
    }
  }

  void encrypted() {
    done_ = true;
    if (mime_) end_message();
    ContentMeta m;
    m.app = App::smtp;
    m.notes.push_back("starttls: rest of session encrypted, not inspectable");
    sink_.flow_meta(m);
  }

  ContentSink& sink_;
  const Limits& limits_;
  ContentMeta meta_;
  Mode mode_ = Mode::command;
  Auth auth_ = Auth::none;
  std::string line_;
  bool skipping_ = false;
  std::string server_line_;
  std::deque<std::string> pending_;
  std::unique_ptr<MimeDecoder> mime_;
  bool at_line_start_ = true;
  int dot_state_ = 0;
  std::uint64_t data_bytes_ = 0;
  std::uint64_t bdat_left_ = 0;
  bool bdat_last_ = false;
  bool starttls_sent_ = false;
  bool greeted_ = false;
  bool done_ = false;
};

}  // namespace

bool SmtpInspectorFactory::probe(Bytes b) const {
  if (b.size() < 5) return false;
  const std::string head = ascii_upper(as_chars(b.first(5)));
  return head == "EHLO " || head == "HELO ";
}

std::unique_ptr<Inspector> SmtpInspectorFactory::create(ContentSink& sink, const FlowInfo&) const {
  return std::make_unique<SmtpInspector>(sink, limits_);
}

}  // namespace dlp::inspectors
