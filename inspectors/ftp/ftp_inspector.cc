// FTP control and data inspectors and the factory's expectation table.
//
// The control inspector is a line parser per direction (commands from the client,
// replies from the server, multi-line replies folded to their last line) driving a small
// transfer state machine: an announcement (PORT/EPRT, or the 227/229 reply) creates a
// transfer record and registers an expectation; the transfer command names it; the
// 1xx/2xx/4xx/5xx replies start, finish or fail it. Everything the parser decides depends
// on the bytes only, never on how data() calls cut them.
#include "inspectors/ftp/ftp_inspector.h"

#include "inspectors/ascii.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace dlp::inspectors {
namespace {

constexpr std::size_t kMaxLine = 2048;
constexpr std::size_t kMaxName = 1024;
constexpr std::size_t kMaxUser = 256;
constexpr unsigned kFloodAnnouncements = 64;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// Case-insensitive search for an ASCII needle (given in upper case).
std::size_t ifind(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return std::string_view::npos;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    std::size_t k = 0;
    while (k < needle.size() && ascii_upper(hay[i + k]) == needle[k]) ++k;
    if (k == needle.size()) return i;
  }
  return std::string_view::npos;
}

// Printable bytes only: names and users end up in JSON, logs and an analyst's terminal.
void assign_printable(std::string& out, std::string_view s, std::size_t cap) {
  out.clear();
  for (char c : s.substr(0, cap)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
}

Ip16 v4(const unsigned char b[4]) {
  Ip16 ip{};
  ip[10] = ip[11] = 0xff;
  std::memcpy(ip.data() + 12, b, 4);
  return ip;
}

// "h1,h2,h3,h4,p1,p2" starting at the first digit of `s` (PORT argument, 227 reply).
bool parse_host_port(std::string_view s, Ip16& ip, std::uint16_t& port) {
  std::size_t i = 0;
  while (i < s.size() && !is_digit(s[i])) ++i;
  unsigned v[6];
  for (int k = 0; k < 6; ++k) {
    if (i >= s.size() || !is_digit(s[i])) return false;
    unsigned n = 0;
    int digits = 0;
    while (i < s.size() && is_digit(s[i])) {
      n = n * 10 + static_cast<unsigned>(s[i++] - '0');
      if (++digits > 3) return false;
    }
    if (n > 255) return false;
    v[k] = n;
    if (k < 5) {
      if (i >= s.size() || s[i] != ',') return false;
      ++i;
    }
  }
  const unsigned char b[4] = {static_cast<unsigned char>(v[0]), static_cast<unsigned char>(v[1]),
                              static_cast<unsigned char>(v[2]), static_cast<unsigned char>(v[3])};
  ip = v4(b);
  port = static_cast<std::uint16_t>(v[4] * 256 + v[5]);
  return port != 0;
}

bool parse_port_number(std::string_view s, std::uint16_t& port) {
  if (s.empty() || s.size() > 5) return false;
  unsigned n = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  if (n == 0 || n > 65535) return false;
  port = static_cast<std::uint16_t>(n);
  return true;
}

// EPRT |1|132.235.1.2|6275|  or  |2|1080::8:800:200C:417A|5282|  (RFC 2428).
bool parse_eprt(std::string_view s, Ip16& ip, std::uint16_t& port) {
  if (s.size() < 7) return false;
  const char d = s[0];
  if (d < 33 || d > 126 || is_digit(d)) return false;
  std::string_view parts[3];
  std::size_t pos = 1;
  for (auto& part : parts) {
    const std::size_t next = s.find(d, pos);
    if (next == std::string_view::npos) return false;
    part = s.substr(pos, next - pos);
    pos = next + 1;
  }
  if (parts[1].empty() || parts[1].size() > 45) return false;  // INET6_ADDRSTRLEN - 1
  char host[46];
  std::memcpy(host, parts[1].data(), parts[1].size());
  host[parts[1].size()] = '\0';
  if (parts[0] == "1") {
    unsigned char b[4];
    if (inet_pton(AF_INET, host, b) != 1) return false;
    ip = v4(b);
  } else if (parts[0] == "2") {
    if (inet_pton(AF_INET6, host, ip.data()) != 1) return false;
  } else {
    return false;
  }
  return parse_port_number(parts[2], port);
}

// EPSV answer: "229 Entering Extended Passive Mode (|||6446|)".
bool parse_epsv_reply(std::string_view s, std::uint16_t& port) {
  const std::size_t open = s.find('(');
  if (open == std::string_view::npos || open + 4 >= s.size()) return false;
  const char d = s[open + 1];
  if (s[open + 2] != d || s[open + 3] != d) return false;
  const std::size_t end = s.find(d, open + 4);
  if (end == std::string_view::npos) return false;
  return parse_port_number(s.substr(open + 4, end - open - 4), port);
}

// The name a STOU reply gives: "150 FILE: a0b1c2" (RFC 1123), or
// "250 Transfer complete (unique file name: a0b1c2)".
std::string_view stou_name(std::string_view line) {
  std::size_t at = ifind(line, "FILE:");
  std::size_t skip = 5;
  if (at == std::string_view::npos) {
    at = ifind(line, "FILE NAME:");
    skip = 10;
  }
  if (at == std::string_view::npos) return {};
  std::string_view name = trim_blank(line.substr(at + skip));
  const std::size_t close = name.find(')');
  if (close != std::string_view::npos) name = trim_blank(name.substr(0, close));
  return name;
}

// Lines of one direction, bounded; an over-long line is counted and skipped to its LF.
// A line is assembled in line_ (one buffer of at most kMaxLine, reused) and wiped after
// use, so a PASS line does not linger in memory.
class Lines {
 public:
  template <class Fn>
  void feed(Bytes b, ContentSink& sink, Fn&& on_line) {
    std::size_t i = 0;
    while (i < b.size()) {
      const void* lf = std::memchr(b.data() + i, '\n', b.size() - i);
      const std::size_t end =
          lf ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(lf) - b.data()) : b.size();
      if (!skipping_) {
        const std::size_t n = end - i;
        if (line_.size() + n > kMaxLine) {
          sink.weird("ftp.line_too_long");
          skipping_ = true;
          wipe();
        } else {
          line_.append(reinterpret_cast<const char*>(b.data() + i), n);
        }
      }
      if (!lf) return;
      i = end + 1;
      if (!skipping_) on_line(std::string_view(line_));
      skipping_ = false;
      wipe();
    }
  }
  // After a gap the next bytes are the middle of a line: skip to its end.
  void lost() {
    wipe();
    skipping_ = true;
  }

 private:
  void wipe() {
    std::fill(line_.begin(), line_.end(), '\0');
    line_.clear();
  }
  std::string line_;
  bool skipping_ = false;
};

class FtpControl final : public Inspector {
 public:
  FtpControl(ContentSink& sink, const FtpInspectorFactory& factory, const FlowInfo& flow)
      : sink_(sink), factory_(factory), flow_(flow), owner_(factory.new_owner()) {}

  void data(Dir dir, Bytes bytes) override {
    if (encrypted_ || closed_) return;
    if (dir == Dir::to_server) {
      client_.feed(bytes, sink_, [this](std::string_view l) { on_command(l); });
    } else {
      server_.feed(bytes, sink_, [this](std::string_view l) { on_reply(l); });
    }
  }
  void gap(Dir dir, std::uint64_t) override {
    if (encrypted_ || closed_) return;
    sink_.weird("ftp.gap");
    (dir == Dir::to_server ? client_ : server_).lost();
    if (dir == Dir::to_client) in_multi_ = false;
  }
  void close() override { closed_ = true; }

 private:
  enum class Xfer : std::uint8_t { none, announced, sent, running };

  void announce(const Ip16& connector, const Ip16& listener, const Ip16& alt, std::uint16_t port,
                bool active) {
    if (++announcements_ == kFloodAnnouncements) sink_.weird("ftp.announcement_flood");
    current_ = std::make_shared<FtpTransfer>();
    current_->user = user_;
    xfer_ = Xfer::announced;
    FtpExpectation e;
    e.connector = connector;
    e.listener = listener;
    e.alt_listener = alt;
    e.port = port;
    e.active = active;
    e.owner = owner_;
    e.expires_ns = sink_.now_ns() + FtpInspectorFactory::kExpectNs;
    e.transfer = current_;
    factory_.expect(std::move(e));
  }

  void on_command(std::string_view line) {
    line = trim_blank(line);
    if (line.empty()) return;
    char verb_buf[4];
    std::size_t n = 0;
    while (n < line.size() && line[n] != ' ') {
      if (n < 4) verb_buf[n] = ascii_upper(line[n]);
      ++n;
    }
    if (n < 3 || n > 4) return;  // every command we follow has 3 or 4 letters
    const std::string_view verb(verb_buf, n);
    const std::string_view arg = trim_blank(line.substr(n));
    if (verb == "USER") {
      assign_printable(user_, arg, kMaxUser);
      ContentMeta m;
      m.app = App::ftp;
      m.user_hint = user_;
      sink_.flow_meta(m);
      if (current_) {
        std::lock_guard<std::mutex> lock(current_->mu);
        current_->user = user_;
      }
    } else if (verb == "PORT" || verb == "EPRT") {
      Ip16 ip;
      std::uint16_t port = 0;
      if (verb == "PORT" ? !parse_host_port(arg, ip, port) : !parse_eprt(arg, ip, port)) {
        sink_.weird(verb == "PORT" ? "ftp.bad_port" : "ftp.bad_eprt");
        return;
      }
      // Another host's address is an FTP bounce; the server connects there all the same.
      if (ip != flow_.client_ip) sink_.weird("ftp.port_foreign_address");
      if (port < 1024) sink_.weird("ftp.port_privileged");
      announce(flow_.server_ip, ip, ip, port, /*active=*/true);
    } else if (verb == "STOR" || verb == "APPE" || verb == "STOU" || verb == "RETR" ||
               verb == "LIST" || verb == "NLST" || verb == "MLSD") {
      announcements_ = 0;
      if (!current_) {
        sink_.weird("ftp.transfer_without_port");
        return;
      }
      if (arg.size() > kMaxName) sink_.weird("ftp.name_too_long");
      std::lock_guard<std::mutex> lock(current_->mu);
      current_->command.assign(verb);
      assign_printable(current_->file_name, arg, kMaxName);
      current_->user = user_;
      current_->named = true;
      xfer_ = Xfer::sent;
    } else if (verb == "AUTH") {
      auth_pending_ = true;
    }
  }

  void on_reply(std::string_view line) {
    line = trim_blank(line);
    // A multi-line reply ("150-...", continuation lines, "150 ...") counts by its last line.
    if (in_multi_) {
      if (line.size() >= 3 && line.substr(0, 3) == std::string_view(multi_code_, 3) &&
          (line.size() == 3 || line[3] == ' ')) {
        in_multi_ = false;
      } else {
        return;
      }
    } else {
      if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2])) {
        if (!line.empty()) sink_.weird("ftp.bad_reply");
        return;
      }
      if (line.size() > 3 && line[3] == '-') {
        std::memcpy(multi_code_, line.data(), 3);
        in_multi_ = true;
        return;
      }
    }
    const std::string_view code = line.substr(0, 3);
    if (code == "227") {
      Ip16 ip;
      std::uint16_t port = 0;
      const std::size_t open = line.find('(');
      if (!parse_host_port(open != std::string_view::npos ? line.substr(open) : line.substr(3),
                           ip, port)) {
        sink_.weird("ftp.bad_pasv_reply");
        return;
      }
      // A server behind NAT often announces its inside address; clients then connect to
      // the control connection's server address, so both are expected.
      if (ip != flow_.server_ip) sink_.weird("ftp.pasv_foreign_address");
      announce(flow_.client_ip, ip, flow_.server_ip, port, /*active=*/false);
    } else if (code == "229") {
      std::uint16_t port = 0;
      if (!parse_epsv_reply(line, port)) {
        sink_.weird("ftp.bad_epsv_reply");
        return;
      }
      announce(flow_.client_ip, flow_.server_ip, flow_.server_ip, port, /*active=*/false);
    } else if (code[0] == '1') {
      if (xfer_ == Xfer::sent || xfer_ == Xfer::running) {
        xfer_ = Xfer::running;
        stou_reply(line);
      }
    } else if (code == "234" && auth_pending_) {
      encrypted_ = true;
      ContentMeta m;
      m.app = App::ftp;
      m.notes.push_back("ftp auth tls: rest of session encrypted, not inspectable");
      sink_.flow_meta(m);
    } else if (code[0] == '2') {
      if ((code == "226" || code == "250") && (xfer_ == Xfer::sent || xfer_ == Xfer::running)) {
        stou_reply(line);
        finish();
      }
    } else if (code[0] == '4' || code[0] == '5') {
      auth_pending_ = false;
      if (xfer_ == Xfer::running) {
        finish();  // aborted (426) or failed (451, 552) after it started
      } else if (xfer_ == Xfer::sent) {
        // Refused before it started (550, 553): the announcement may serve the next
        // command, which names it again.
        std::lock_guard<std::mutex> lock(current_->mu);
        current_->named = false;
        current_->command.clear();
        current_->file_name.clear();
        xfer_ = Xfer::announced;
      }
    }
  }

  void stou_reply(std::string_view line) {
    std::lock_guard<std::mutex> lock(current_->mu);
    if (current_->command != "STOU") return;
    const std::string_view name = stou_name(line.substr(3));
    if (!name.empty()) assign_printable(current_->file_name, name, kMaxName);
  }

  void finish() {
    current_.reset();  // the data inspector keeps its own reference
    xfer_ = Xfer::none;
  }

  ContentSink& sink_;
  const FtpInspectorFactory& factory_;
  const FlowInfo flow_;
  const std::uint64_t owner_;
  Lines client_, server_;
  std::string user_;
  std::shared_ptr<FtpTransfer> current_;
  Xfer xfer_ = Xfer::none;
  unsigned announcements_ = 0;  // since the last transfer command
  char multi_code_[3] = {};
  bool in_multi_ = false;
  bool auth_pending_ = false;
  bool encrypted_ = false;
  bool closed_ = false;
};

class FtpData final : public Inspector {
 public:
  FtpData(ContentSink& sink, std::shared_ptr<FtpTransfer> t, bool active, const Limits& limits)
      : sink_(sink),
        transfer_(std::move(t)),
        limits_(limits),
        upload_dir_(active ? Dir::to_client : Dir::to_server) {}

  void data(Dir dir, Bytes bytes) override {
    if (dir != upload_dir_ || cut_ || closed_ || bytes.empty()) return;
    if (!open_) start();
    if (written_ + bytes.size() > limits_.max_stream_bytes) {
      const auto room = static_cast<std::size_t>(limits_.max_stream_bytes - written_);
      if (room > 0) sink_.write(id_, bytes.first(room));
      cut_ = true;
      limit_hit(sink_, limits_, "stream_bytes", meta_,
                "FTP upload longer than " + std::to_string(limits_.max_stream_bytes) + " bytes");
      return;
    }
    written_ += bytes.size();
    sink_.write(id_, bytes);
  }
  void gap(Dir dir, std::uint64_t len) override {
    if (dir != upload_dir_ || cut_ || closed_ || len == 0) return;
    if (!open_) start();
    sink_.weird("ftp.data_gap");
    sink_.gap(id_, len);
  }
  void close() override {
    if (open_) sink_.close(id_);
    open_ = false;
    closed_ = true;
  }

 private:
  void start() {
    meta_.app = App::ftp;
    meta_.dir = upload_dir_;
    {
      std::lock_guard<std::mutex> lock(transfer_->mu);
      if (transfer_->named) {
        const std::string& c = transfer_->command;
        if (c != "STOR" && c != "APPE" && c != "STOU") {
          // Bytes from the client on a download or listing connection are odd, and still
          // leave the building: scanned, with the command that was given.
          sink_.weird("ftp.upload_on_download");
        }
      } else {
        sink_.weird("ftp.data_before_command");
      }
      meta_.file_name = transfer_->file_name;
      meta_.ftp_command = transfer_->command;
      meta_.user_hint = transfer_->user;
    }
    const std::size_t slash = meta_.file_name.find_last_of('/');
    if (slash != std::string::npos) {
      meta_.file_path = meta_.file_name;
      meta_.file_name.erase(0, slash + 1);
    }
    id_ = sink_.open(meta_);
    open_ = true;
  }

  ContentSink& sink_;
  std::shared_ptr<FtpTransfer> transfer_;
  const Limits limits_;  // by value: an inspector may outlive its factory in tests
  const Dir upload_dir_;
  ContentMeta meta_;
  ContentSink::StreamId id_ = 0;
  std::uint64_t written_ = 0;
  bool open_ = false;
  bool cut_ = false;
  bool closed_ = false;
};

}  // namespace

bool FtpInspectorFactory::probe(Bytes b) const {
  if (b.size() < 5) return false;
  return ascii_upper(static_cast<char>(b[0])) == 'U' && ascii_upper(static_cast<char>(b[1])) == 'S' &&
         ascii_upper(static_cast<char>(b[2])) == 'E' && ascii_upper(static_cast<char>(b[3])) == 'R' &&
         b[4] == ' ';
}

bool FtpInspectorFactory::expect(FtpExpectation e) const {
  std::lock_guard<std::mutex> lock(mu_);
  const std::uint64_t now = e.expires_ns - kExpectNs;
  while (!expected_.empty() && expected_.front().expires_ns < now) {
    erase_at(0);
    ++stats_.expired;
  }
  bool replaced = false;
  for (std::size_t i = 0; i < expected_.size(); ++i) {
    if (expected_[i].owner == e.owner) {
      erase_at(i);
      ++stats_.replaced;
      replaced = true;
      break;  // at most one per owner
    }
  }
  if (expected_.size() >= kMaxExpectations) {
    erase_at(0);  // the oldest announcement gives way
    ++stats_.evicted;
  }
  port_count_[bucket(e.port)].fetch_add(1, std::memory_order_relaxed);
  expected_.push_back(std::move(e));
  ++stats_.expectations;
  return replaced;
}

void FtpInspectorFactory::erase_at(std::size_t i) const {
  port_count_[bucket(expected_[i].port)].fetch_sub(1, std::memory_order_relaxed);
  expected_.erase(expected_.begin() + static_cast<std::ptrdiff_t>(i));
}

std::shared_ptr<FtpTransfer> FtpInspectorFactory::match(const FlowInfo& f, bool take,
                                                         bool* active) const {
  // Relaxed is enough: an announcement and the data flow it names are ordered by the
  // network (the SYN follows the 227/PORT by a round trip), not by this counter; a stale
  // zero could only miss a flow that raced its own announcement across workers.
  if (f.ip_proto != 6 || port_count_[bucket(f.server_port)].load(std::memory_order_relaxed) == 0) {
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mu_);
  // Expired announcements go first (packet time of the new flow). The table is nearly in
  // expiry order (flows on different workers differ by little), so a later entry that
  // has expired too is caught when it would match.
  while (!expected_.empty() && expected_.front().expires_ns < f.start_ns) {
    erase_at(0);
    ++stats_.expired;
  }
  std::shared_ptr<FtpTransfer> found;
  for (std::size_t i = 0; i < expected_.size(); ++i) {
    const FtpExpectation& e = expected_[i];
    if (e.port != f.server_port || e.connector != f.client_ip ||
        (e.listener != f.server_ip && e.alt_listener != f.server_ip)) {
      continue;
    }
    if (e.expires_ns < f.start_ns) {
      erase_at(i);
      ++stats_.expired;
      --i;
      continue;
    }
    found = e.transfer;
    if (active != nullptr) *active = e.active;
    if (take) {
      erase_at(i);
      ++stats_.claimed;
    }
    break;
  }
  return found;
}

bool FtpInspectorFactory::claim(const FlowInfo& flow) const {
  return match(flow, /*take=*/false, nullptr) != nullptr;
}

std::unique_ptr<Inspector> FtpInspectorFactory::create(ContentSink& sink, const FlowInfo& flow) const {
  bool active = false;
  if (auto t = match(flow, /*take=*/true, &active)) {
    return std::make_unique<FtpData>(sink, std::move(t), active, limits_);
  }
  return std::make_unique<FtpControl>(sink, *this, flow);
}

FtpStats FtpInspectorFactory::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  FtpStats s = stats_;
  s.pending = expected_.size();
  return s;
}

}  // namespace dlp::inspectors
