#include "inspectors/ftp/ftp_inspector.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace dlp::inspectors {
namespace {

constexpr std::size_t kMaxLine = 2048;
constexpr std::size_t kMaxName = 1024;

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

Ip16 v4(const unsigned char b[4]) {
  Ip16 ip{};
  ip[10] = ip[11] = 0xff;
  std::memcpy(ip.data() + 12, b, 4);
  return ip;
}

// "h1,h2,h3,h4,p1,p2" anywhere in `s` (PORT argument, or inside a 227 reply).
bool parse_host_port(std::string_view s, Ip16& ip, std::uint16_t& port) {
  std::size_t i = 0;
  while (i < s.size() && !std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  unsigned v[6];
  for (int k = 0; k < 6; ++k) {
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    unsigned n = 0;
    int digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
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
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
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
  std::string_view parts[3];
  std::size_t pos = 1;
  for (auto& part : parts) {
    const std::size_t next = s.find(d, pos);
    if (next == std::string_view::npos) return false;
    part = s.substr(pos, next - pos);
    pos = next + 1;
  }
  const std::string host(parts[1].substr(0, 64));
  if (parts[0] == "1") {
    unsigned char b[4];
    if (inet_pton(AF_INET, host.c_str(), b) != 1) return false;
    ip = v4(b);
  } else if (parts[0] == "2") {
    if (inet_pton(AF_INET6, host.c_str(), ip.data()) != 1) return false;
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

// Lines of one direction, bounded; an over-long line is counted and skipped to its LF.
class Lines {
 public:
  template <class Fn>
  void feed(Bytes b, ContentSink& sink, Fn&& on_line) {
    std::size_t i = 0;
    while (i < b.size()) {
      const void* lf = std::memchr(b.data() + i, '\n', b.size() - i);
      const std::size_t end = lf ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(lf) - b.data()) : b.size();
      if (!skipping_) {
        const std::size_t n = end - i;
        if (line_.size() + n > kMaxLine) {
          sink.weird("ftp.line_too_long");
          skipping_ = true;
          line_.clear();
        } else {
          line_.append(reinterpret_cast<const char*>(b.data() + i), n);
        }
      }
      if (!lf) return;
      i = end + 1;
      if (!skipping_) on_line(std::string_view(line_));
      skipping_ = false;
      line_.clear();
    }
  }
  void reset() {
    line_.clear();
    skipping_ = false;
  }

 private:
  std::string line_;
  bool skipping_ = false;
};

class FtpControl final : public Inspector {
 public:
  FtpControl(ContentSink& sink, const FtpInspectorFactory& factory, const FlowInfo& flow)
      : sink_(sink), factory_(factory), flow_(flow) {}

  void data(Dir dir, Bytes bytes) override {
    if (encrypted_) return;
    if (dir == Dir::to_server) {
      client_.feed(bytes, sink_, [this](std::string_view l) { on_command(l); });
    } else {
      server_.feed(bytes, sink_, [this](std::string_view l) { on_reply(l); });
    }
  }
  void gap(Dir dir, std::uint64_t) override {
    // A lost piece of a command line: the partial line is dropped, parsing resumes at
    // the next line.
    sink_.weird("ftp.gap");
    (dir == Dir::to_server ? client_ : server_).reset();
  }
  void close() override {}

 private:
  void announce(const Ip16& connector, const Ip16& listener, std::uint16_t port, bool active) {
    current_ = std::make_shared<FtpTransfer>();
    current_->user = user_;
    FtpExpectation e;
    e.connector = connector;
    e.listener = listener;
    e.port = port;
    e.active = active;
    e.expires_ns = sink_.now_ns() + FtpInspectorFactory::kExpectNs;
    e.transfer = current_;
    factory_.expect(std::move(e));
  }

  void on_command(std::string_view line) {
    line = trim(line);
    if (line.empty()) return;
    const std::size_t sp = line.find(' ');
    const std::string verb = upper(line.substr(0, std::min<std::size_t>(sp, 8)));
    const std::string_view arg = sp == std::string_view::npos ? std::string_view{} : trim(line.substr(sp + 1));
    if (verb == "USER") {
      user_.assign(arg.substr(0, 256));
      ContentMeta m;
      m.app = App::ftp;
      m.user_hint = user_;
      sink_.flow_meta(m);
    } else if (verb == "PORT") {
      Ip16 ip;
      std::uint16_t port = 0;
      if (!parse_host_port(arg, ip, port)) {
        sink_.weird("ftp.bad_port");
        return;
      }
      if (ip != flow_.client_ip) sink_.weird("ftp.port_foreign_address");  // FTP bounce
      announce(flow_.server_ip, ip, port, true);
    } else if (verb == "EPRT") {
      Ip16 ip;
      std::uint16_t port = 0;
      if (!parse_eprt(arg, ip, port)) {
        sink_.weird("ftp.bad_eprt");
        return;
      }
      if (ip != flow_.client_ip) sink_.weird("ftp.port_foreign_address");
      announce(flow_.server_ip, ip, port, true);
    } else if (verb == "STOR" || verb == "APPE" || verb == "STOU" || verb == "RETR" ||
               verb == "LIST" || verb == "NLST" || verb == "MLSD") {
      if (!current_) {
        sink_.weird("ftp.transfer_without_port");
        return;
      }
      std::lock_guard<std::mutex> lock(current_->mu);
      current_->command = verb;
      current_->file_name.assign(arg.substr(0, kMaxName));
      current_->user = user_;
      current_->named = true;
    } else if (verb == "AUTH") {
      auth_pending_ = true;
    }
  }

  void on_reply(std::string_view line) {
    line = trim(line);
    if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0]))) return;
    const std::string_view code = line.substr(0, 3);
    if (code == "227") {
      Ip16 ip;
      std::uint16_t port = 0;
      const std::size_t open = line.find('(');
      const std::string_view where = open != std::string_view::npos ? line.substr(open)
                                     : line.size() > 4                ? line.substr(4)
                                                                      : std::string_view{};
      if (!parse_host_port(where, ip, port)) {
        sink_.weird("ftp.bad_pasv_reply");
        return;
      }
      announce(flow_.client_ip, ip, port, false);
    } else if (code == "229") {
      std::uint16_t port = 0;
      if (!parse_epsv_reply(line, port)) {
        sink_.weird("ftp.bad_epsv_reply");
        return;
      }
      announce(flow_.client_ip, flow_.server_ip, port, false);
    } else if ((code == "150" || code == "125" || code == "250") && current_) {
      // STOU: the server names the file it made ("150 FILE: a0b1c2").
      const std::size_t at = line.find("FILE:");
      std::lock_guard<std::mutex> lock(current_->mu);
      if (current_->command == "STOU" && at != std::string_view::npos) {
        current_->file_name.assign(trim(line.substr(at + 5)).substr(0, kMaxName));
      }
    } else if (code == "234" && auth_pending_) {
      encrypted_ = true;
      ContentMeta m;
      m.app = App::ftp;
      m.notes.push_back("ftp auth tls: rest of session encrypted, not inspectable");
      sink_.flow_meta(m);
    } else if (code[0] == '5' || code[0] == '4') {
      auth_pending_ = false;
    }
  }

  ContentSink& sink_;
  const FtpInspectorFactory& factory_;
  FlowInfo flow_;
  Lines client_, server_;
  std::string user_;
  std::shared_ptr<FtpTransfer> current_;
  bool auth_pending_ = false;
  bool encrypted_ = false;
};

class FtpData final : public Inspector {
 public:
  FtpData(ContentSink& sink, std::shared_ptr<FtpTransfer> t, bool active)
      : sink_(sink), transfer_(std::move(t)), upload_dir_(active ? Dir::to_client : Dir::to_server) {}

  void data(Dir dir, Bytes bytes) override {
    if (dir != upload_dir_ || skip_ || bytes.empty()) return;
    if (!open_ && !start()) return;
    sink_.write(id_, bytes);
  }
  void gap(Dir dir, std::uint64_t len) override {
    if (dir != upload_dir_ || skip_) return;
    if (!open_ && !start()) return;
    sink_.gap(id_, len);
  }
  void close() override {
    if (open_) sink_.close(id_);
    open_ = false;
  }

 private:
  bool start() {
    ContentMeta m;
    m.app = App::ftp;
    m.dir = upload_dir_;
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
      m.file_name = transfer_->file_name;
      m.ftp_command = transfer_->command;
      m.user_hint = transfer_->user;
    }
    const std::size_t slash = m.file_name.find_last_of('/');
    if (slash != std::string::npos) {
      m.file_path = m.file_name;
      m.file_name = m.file_name.substr(slash + 1);
    }
    id_ = sink_.open(m);
    open_ = true;
    return true;
  }

  ContentSink& sink_;
  std::shared_ptr<FtpTransfer> transfer_;
  Dir upload_dir_;
  ContentSink::StreamId id_ = 0;
  bool open_ = false;
  bool skip_ = false;
};

}  // namespace

bool FtpInspectorFactory::probe(Bytes b) const {
  if (b.size() < 5) return false;
  const std::string head = upper(as_chars(b.first(5)));
  return head == "USER ";
}

void FtpInspectorFactory::expect(FtpExpectation e) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (expected_.size() >= kMaxExpectations) {
    expected_.pop_front();  // the oldest announcement gives way
    ++stats_.evicted;
  }
  expected_.push_back(std::move(e));
  ++stats_.expectations;
}

std::shared_ptr<FtpTransfer> FtpInspectorFactory::match(const FlowInfo& f, bool take,
                                                         bool* active) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (expected_.empty()) return nullptr;
  // Expired announcements go first (packet time of the new flow).
  while (!expected_.empty() && expected_.front().expires_ns < f.start_ns) {
    expected_.pop_front();
    ++stats_.expired;
  }
  for (auto it = expected_.begin(); it != expected_.end(); ++it) {
    if (it->port == f.server_port && it->listener == f.server_ip && it->connector == f.client_ip &&
        f.ip_proto == 6) {
      std::shared_ptr<FtpTransfer> t = it->transfer;
      if (active != nullptr) *active = it->active;
      if (take) {
        expected_.erase(it);
        ++stats_.claimed;
      }
      return t;
    }
  }
  return nullptr;
}

bool FtpInspectorFactory::claim(const FlowInfo& flow) const {
  return match(flow, /*take=*/false, nullptr) != nullptr;
}

std::unique_ptr<Inspector> FtpInspectorFactory::create(ContentSink& sink, const FlowInfo& flow) const {
  bool active = false;
  if (auto t = match(flow, /*take=*/true, &active)) {
    return std::make_unique<FtpData>(sink, std::move(t), active);
  }
  return std::make_unique<FtpControl>(sink, *this, flow);
}

FtpStats FtpInspectorFactory::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace dlp::inspectors
