// SMTP: the client side of a mail submission or relay session. EHLO/HELO, AUTH (the user
// name, never the password), MAIL FROM and RCPT TO become metadata; each message (DATA
// with dot-unstuffing, or BDAT chunks) goes through the MIME decoder, so the body and
// every attachment are content streams with their file names, mail from/to and subject.
// STARTTLS accepted by the server ends what can be seen: noted as flow metadata.
//
//   SmtpInspectorFactory smtp;
//   client: EHLO pc / AUTH PLAIN AGFsaWNlAHB3 / MAIL FROM:<alice@corp> / RCPT TO:<x@y> / DATA
//   streams: the message's parts (app smtp, user_hint "alice", smtp_mail_from, smtp_rcpt_to)
//
// Replies are read for what changes the client's state: 354 after DATA (a 5xx ends the
// DATA mode before any message byte), 334 during AUTH, 220 after STARTTLS.
#pragma once

#include <memory>
#include <string_view>

#include "inspectors/inspector.h"

namespace dlp::inspectors {

class SmtpInspectorFactory final : public InspectorFactory {
 public:
  explicit SmtpInspectorFactory(const Limits& limits = {}) : limits_(limits) {}
  App app() const override { return App::smtp; }
  std::string_view name() const override { return "smtp"; }
  bool wants_port(std::uint16_t p) const override { return p == 25 || p == 587 || p == 2525; }
  bool probe(Bytes first_client_bytes) const override;
  std::unique_ptr<Inspector> create(ContentSink& sink, const FlowInfo& flow) const override;

 private:
  Limits limits_;
};

}  // namespace dlp::inspectors
