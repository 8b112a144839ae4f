#include "tests/gen/smtp_gen.h"

#include <cstdio>

namespace dlp::testgen {
std::string base64(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) | static_cast<unsigned char>(in[i + 2]);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += i + 1 < in.size() ? k[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_lines(const std::string& data, std::size_t line) {
  const std::string all = base64(data);
  std::string out;
  for (std::size_t i = 0; i < all.size(); i += line) out += all.substr(i, line) + "\r\n";
  return out;
}

std::string quoted_printable(const std::string& data, std::size_t line) {
  std::string out;
  std::size_t col = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    if (c == '\r' && i + 1 < data.size() && data[i + 1] == '\n') {
      out += "\r\n";
      col = 0;
      ++i;
      continue;
    }
    std::string piece;
    if ((c >= 33 && c <= 126 && c != '=') || c == ' ') {
      piece = std::string(1, static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "=%02X", c);
      piece = buf;
    }
    if (col + piece.size() > line - 1) {
      out += "=\r\n";  // soft line break
      col = 0;
    }
    out += piece;
    col += piece.size();
  }
  return out + "\r\n";
}

std::string uuencode(const std::string& data, const std::string& name) {
  auto enc = [](unsigned v) { return static_cast<char>(v == 0 ? '`' : v + ' '); };
  std::string out = "begin 644 " + name + "\r\n";
  for (std::size_t i = 0; i < data.size(); i += 45) {
    const std::string chunk = data.substr(i, 45);
    out += enc(static_cast<unsigned>(chunk.size()));
    for (std::size_t j = 0; j < chunk.size(); j += 3) {
      unsigned char b[3] = {0, 0, 0};
      for (std::size_t k = 0; k < 3 && j + k < chunk.size(); ++k) b[k] = static_cast<unsigned char>(chunk[j + k]);
      out += enc(b[0] >> 2);
      out += enc(((b[0] & 3) << 4) | (b[1] >> 4));
      out += enc(((b[1] & 15) << 2) | (b[2] >> 6));
      out += enc(b[2] & 63);
    }
    out += "\r\n";
  }
  return out + "`\r\nend\r\n";
}

std::string mail_message(const SmtpSpec& s) {
  std::string m = "From: " + s.from + "\r\nTo: ";
  for (std::size_t i = 0; i < s.to.size(); ++i) m += (i ? ", " : "") + s.to[i];
  m += "\r\nSubject: " + s.subject + "\r\nDate: Mon, 04 Mar 2024 09:00:00 +0000\r\nMIME-Version: 1.0\r\n";
  std::string text = s.body;
  std::vector<MailAttachment> mime_parts;
  for (const auto& a : s.attachments) {
    if (a.encoding == MailEncoding::kUuencode) {
      text += uuencode(a.data, a.file_name);
    } else {
      mime_parts.push_back(a);
    }
  }
  const std::string text_headers = s.body_quoted_printable
                                       ? "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
                                       : "Content-Type: text/plain; charset=utf-8\r\n";
  const std::string text_body = s.body_quoted_printable ? quoted_printable(text) : text;
  if (mime_parts.empty()) return m + text_headers + "\r\n" + text_body;
  const std::string b = "=_dlpgate_boundary_42";
  m += "Content-Type: multipart/mixed; boundary=\"" + b + "\"\r\n\r\nThis is a MIME message.\r\n";
  m += "--" + b + "\r\n" + text_headers + "\r\n" + text_body;
  for (const auto& a : mime_parts) {
    m += "--" + b + "\r\nContent-Type: " + a.content_type + "; name=\"" + a.file_name +
         "\"\r\nContent-Disposition: attachment; filename=\"" + a.file_name + "\"\r\n";
    if (a.encoding == MailEncoding::kBase64) {
      m += "Content-Transfer-Encoding: base64\r\n\r\n" + base64_lines(a.data);
    } else {
      m += "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + quoted_printable(a.data);
    }
  }
  return m + "--" + b + "--\r\n";
}

std::vector<std::pair<Side, std::string>> smtp_session(const SmtpSpec& s) {
  std::vector<std::pair<Side, std::string>> x;
  auto cli = [&x](const std::string& l) { x.emplace_back(Side::kClient, l + "\r\n"); };
  auto srv = [&x](const std::string& l) { x.emplace_back(Side::kServer, l + "\r\n"); };
  srv("220 mail.corp.example ESMTP ready");
  cli("EHLO " + s.helo);
  srv("250-mail.corp.example\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN");
  if (s.starttls) {
    cli("STARTTLS");
    srv("220 2.0.0 Ready to start TLS");
    x.emplace_back(Side::kClient, std::string("\x16\x03\x01\x00\x05hello", 10));
    return x;
  }
  if (s.auth == "PLAIN") {
    cli("AUTH PLAIN " + base64(std::string("\0", 1) + s.user + std::string("\0", 1) + s.password));
    srv("235 2.7.0 Authentication successful");
  } else if (s.auth == "LOGIN") {
    cli("AUTH LOGIN");
    srv("334 VXNlcm5hbWU6");
    cli(base64(s.user));
    srv("334 UGFzc3dvcmQ6");
    cli(base64(s.password));
    srv("235 2.7.0 Authentication successful");
  }
  // Pipelined envelope (RFC 2920).
  std::string env = "MAIL FROM:<" + s.from + ">\r\n";
  for (const auto& r : s.to) env += "RCPT TO:<" + r + ">\r\n";
  const std::string msg = mail_message(s);
  if (s.bdat) {
    x.emplace_back(Side::kClient, env);
    std::string replies = "250 2.1.0 Ok\r\n";
    for (std::size_t i = 0; i < s.to.size(); ++i) replies += "250 2.1.5 Ok\r\n";
    x.emplace_back(Side::kServer, replies);
    const std::size_t half = msg.size() / 2;
    cli("BDAT " + std::to_string(half));
    x.back().second += msg.substr(0, half);
    srv("250 2.0.0 " + std::to_string(half) + " octets received");
    cli("BDAT " + std::to_string(msg.size() - half) + " LAST");
    x.back().second += msg.substr(half);
    srv("250 2.0.0 Message accepted");
  } else {
    x.emplace_back(Side::kClient, env + "DATA\r\n");
    std::string replies = "250 2.1.0 Ok\r\n";
    for (std::size_t i = 0; i < s.to.size(); ++i) replies += "250 2.1.5 Ok\r\n";
    x.emplace_back(Side::kServer, replies + "354 End data with <CR><LF>.<CR><LF>\r\n");
    // Dot-stuffing: a line starting with '.' gets another.
    std::string stuffed;
    std::size_t i = 0;
    while (i < msg.size()) {
      const std::size_t eol = msg.find("\r\n", i);
      const std::size_t end = eol == std::string::npos ? msg.size() : eol + 2;
      if (msg[i] == '.') stuffed += '.';
      stuffed += msg.substr(i, end - i);
      i = end;
    }
    x.emplace_back(Side::kClient, stuffed + ".\r\n");
    srv("250 2.0.0 Ok: queued");
  }
  cli("QUIT");
  srv("221 2.0.0 Bye");
  return x;
}

std::vector<Packet> smtp_packets(const SmtpSpec& spec, TcpConfig cfg) {
  TcpConversation c(std::move(cfg));
  c.handshake();
  for (const auto& [side, bytes] : smtp_session(spec)) c.send(side, bytes);
  c.fin();
  return c.take_packets();
}

}  // namespace dlp::testgen
