// The HTTP/1.x request inspector: frames the client side of an HTTP/1.0/1.1 connection
// (request line, headers, Content-Length or chunked bodies, pipelining, CONNECT) and emits
// what a client can leak through a request as content streams.
//
//   HttpInspectorFactory http;                       // or HttpInspectorFactory({.max_headers = 50})
//   auto insp = http.create(sink, flow);
//   insp->data(Dir::to_server, as_bytes("POST /u?id=7 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"));
//   insp->close();
//   // sink saw: stream 1 (meta method POST, url "/u?id=7") = "/u?id=7"; stream 2 = "abc"
//
// Content streams, all with meta app=http, dir=to_server, http_method, http_host,
// http_url, http_user_agent, file_mime (the request's Content-Type) and user_hint (the
// user name of a Basic Proxy-Authorization, else Authorization, header):
//   * the request target, one stream per request, written and closed when the header block
//     ends (the meta needs the headers), so data hidden in a query string is scanned;
//   * the body, one stream per request that has one, opened at its first byte: exactly N
//     bytes of a Content-Length body, or the de-chunked bytes of a chunked body (a value
//     split across two chunks is contiguous in the stream);
//   * after CONNECT, the tunnel: every later client byte, meta http_method=CONNECT, so a
//     cleartext tunnel is scanned like raw (a retried request, e.g. after a 407, is parsed);
//   * "unparsed": bytes the parser could not frame (a bad request line, the data after a
//     gap until the next request line), meta with an empty http_method and the last host.
//     Losing sync must never mean losing visibility: an attacker who breaks our framing
//     still has his bytes scanned.
// Request headers are not a content stream in this milestone; responses (to_client) are
// ignored: nothing that leaves the building travels in them.
//
// Framing follows RFC 9112: Transfer-Encoding wins over Content-Length; a request with a
// Transfer-Encoding whose last coding is not chunked, or an invalid Content-Length, has no
// knowable end, so the rest of the direction is its body (weird counted). Conflicting
// Content-Length values: the largest is used (weird), so no byte escapes the body scan.
// A gap inside a body of known remaining length is passed on as a gap and parsing stays in
// sync; any other gap closes the current body and resynchronises on the next line that
// starts with a method (weird http.gap_resync).
//
// State is bounded: one line buffer (at most max_line bytes, grown only when a line
// straddles two data() calls) plus the interesting header values. Every limit hit is a weird.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "inspectors/inspector.h"

namespace dlp::inspectors {

struct HttpLimits {
  std::size_t max_line = 16 * 1024;          // request line, header or trailer line
  std::size_t max_header_bytes = 64 * 1024;  // the whole header block of one request
  std::size_t max_headers = 100;             // header fields in one request
  std::size_t max_chunk_line = 1024;         // chunk-size line, extensions included
  std::size_t max_chunks = 100'000;          // chunks in one body ("limit.chunks")
};

class HttpInspectorFactory final : public InspectorFactory {
 public:
  explicit HttpInspectorFactory(HttpLimits limits = {}, const Limits& common = {})
      : limits_(limits), common_(common) {}
  App app() const override { return App::http; }
  std::string_view name() const override { return "http"; }
  // 80, 8080, 8000, 3128 (Squid), 8008, 8888.
  bool wants_port(std::uint16_t server_port) const override;
  // A request line start ("GET ", "POST ", ... "TRACE "). A first segment shorter than the
  // method is accepted when it is entirely a prefix of one ("GE"), since TCP may deliver
  // a request one byte at a time.
  bool probe(Bytes first_client_bytes) const override;
  std::unique_ptr<Inspector> create(ContentSink& sink, const FlowInfo& flow) const override;

  const HttpLimits& limits() const { return limits_; }

 private:
  HttpLimits limits_;
  Limits common_;  // decompression, stream and chunk limits shared with the other parsers
};

}  // namespace dlp::inspectors
