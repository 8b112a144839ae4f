// Mail as a client submits it, for the SMTP and MIME tests and captures: a MIME message
// (text body plain or quoted-printable, attachments in base64 with lines of 76, quoted-
// printable, or uuencoded inside the text) and the SMTP session that carries it (EHLO,
// AUTH PLAIN or LOGIN, MAIL/RCPT, DATA with dot-stuffing or BDAT chunks, optional
// STARTTLS), with the server's replies.
//
//   SmtpSpec m;
//   m.attachments.push_back({"cards.csv", "text/csv", csv, MailEncoding::kBase64});
//   std::vector<Packet> pkts = smtp_packets(m, tcp_config);
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/gen/tcp_conversation.h"

namespace dlp::testgen {

enum class MailEncoding { kBase64, kQuotedPrintable, kUuencode };

struct MailAttachment {
  std::string file_name;
  std::string content_type;
  std::string data;
  MailEncoding encoding = MailEncoding::kBase64;
};

struct SmtpSpec {
  std::string helo = "pc42.corp.example";
  std::string auth = "PLAIN";  // PLAIN, LOGIN or empty
  std::string user = "alice";
  std::string password = "Spring2024!";
  std::string from = "alice@corp.example";
  std::vector<std::string> to = {"bob@partner.example"};
  std::string subject = "Quarterly report";
  std::string body = "Hello,\r\nplease find the files attached.\r\n.leading dot line\r\n";
  bool body_quoted_printable = false;
  std::vector<MailAttachment> attachments;
  bool bdat = false;      // CHUNKING instead of DATA
  bool starttls = false;  // STARTTLS before MAIL (the rest is then not inspectable)
};

// The RFC 5322 message (headers and MIME body), CRLF line ends, not dot-stuffed.
std::string mail_message(const SmtpSpec& spec);
// The session in order: (side, bytes) with the server's replies.
std::vector<std::pair<Side, std::string>> smtp_session(const SmtpSpec& spec);
std::vector<Packet> smtp_packets(const SmtpSpec& spec, TcpConfig cfg);

// RFC 4648 base64 with padding, on one line.
std::string base64(std::string_view data);
std::string base64_lines(const std::string& data, std::size_t line = 76);
std::string quoted_printable(const std::string& data, std::size_t line = 76);
std::string uuencode(const std::string& data, const std::string& name);

}  // namespace dlp::testgen
