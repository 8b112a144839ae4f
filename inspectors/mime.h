// Streaming MIME decoder (RFC 2045-2049, RFC 2231, RFC 2047, RFC 7578), shared by SMTP
// (a whole message after DATA/BDAT) and HTTP (a multipart/form-data request body).
// Bytes go in as they arrive; each leaf part comes out as its own content stream on the
// sink, transfer-decoded (base64, quoted-printable, uuencoded blocks inside text parts)
// with its file name, declared type and form field name. Nested multiparts and attached
// messages (message/rfc822) are followed down to Limits::max_depth. Nothing is buffered
// beyond one header block (Limits::max_header_bytes) and one boundary line.
//
//   MimeDecoder mime(sink, base_meta, limits);   // base_meta: app, dir, mail from/to ...
//   mime.start_message();                         // SMTP: headers are in the bytes
//   // or mime.start_body("multipart/form-data; boundary=x");  (HTTP: headers parsed already)
//   mime.data(bytes) ...; mime.finish();
//
// Malformed input (missing boundary, bad base64, endless headers, unterminated parts) is
// counted with weird() / limit_hit() and decoded as far as it makes sense; what cannot be
// framed is still scanned as text.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "inspectors/inspector.h"

namespace dlp::inspectors {

class MimeDecoder {
 public:
  // `base`: the metadata every part inherits; a part adds file_name, file_mime, form_field.
  MimeDecoder(ContentSink& sink, const ContentMeta& base, const Limits& limits);
  ~MimeDecoder();
  MimeDecoder(const MimeDecoder&) = delete;
  MimeDecoder& operator=(const MimeDecoder&) = delete;

  // The entity's header block comes first in the bytes (a mail message).
  void start_message();
  // The headers were parsed elsewhere (an HTTP request): its Content-Type (with the
  // boundary parameter) and Content-Transfer-Encoding, which may be empty.
  void start_body(std::string_view content_type, std::string_view transfer_encoding = {});
  void data(Bytes bytes);
  void gap(std::uint64_t len);
  // End of the entity: decodes what is pending and closes every open part stream.
  void finish();

  // The top-level message's Subject (RFC 2047 decoded), once its headers are parsed.
  std::string_view subject() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dlp::inspectors
