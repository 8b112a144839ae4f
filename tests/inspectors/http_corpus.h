// A small corpus of client byte streams that exercise every path of the HTTP inspector:
// the seeds of the split and fuzz tests (and of the libFuzzer target's corpus).
//
//   for (const HttpCase& c : http_corpus()) run_http(c.input, c.limits);
#pragma once

#include <string>
#include <vector>

#include "inspectors/http_inspector.h"

namespace dlp::inspectors::testing {

struct HttpCase {
  const char* name;
  std::string input;
  HttpLimits limits;
};

inline HttpLimits tight_limits() {
  HttpLimits l;
  l.max_line = 40;
  l.max_header_bytes = 100;
  l.max_headers = 4;
  l.max_chunk_line = 8;
  return l;
}

inline std::vector<HttpCase> http_corpus() {
  static const char kBinary[] = "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\x00\r\n\xff\n";
  return {
      {"pipelined",
       "GET /one?card=4111111111111111 HTTP/1.1\r\nHost: h1\r\nUser-Agent: ua\r\n\r\n"
       "POST /two HTTP/1.1\r\nHost: h2\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"
       "body2"
       "POST /three HTTP/1.1\r\nHost: h3\r\nTransfer-Encoding: chunked\r\n\r\n"
       "3;x=y\r\nbod\r\n2 \r\ny3\r\n0\r\nTrailer: t\r\n\r\n",
       {}},
      {"auth_fold_absolute",
       "PUT http://site.example/f HTTP/1.1\r\nProxy-Authorization: Basic Ym9iOng=\r\n"
       "User-Agent: a\r\n b\r\nContent-Length: 3\r\n\r\nxyz",
       {}},
      {"connect_retry",
       "CONNECT a.example:443 HTTP/1.1\r\n\r\nCONNECT a.example:443 HTTP/1.1\r\n"
       "Proxy-Authorization: Basic YWxpY2U6cA==\r\n\r\n\x16\x03\x01 tunnel",
       {}},
      {"garbage_then_request",
       std::string(kBinary, sizeof(kBinary) - 1) +
           "POS\nPOST /y HTTP/1.1\r\nContent-Length: 1\r\n\r\nq",
       {}},
      {"bad_content_length",
       "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\nrest\r\nGET / HTTP/1.1\r\n\r\n", {}},
      {"conflicting_cl_and_te",
       "POST /a HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\nabcd"
       "POST /b HTTP/1.1\r\nContent-Length: 9\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
       {}},
      {"chunk_errors",
       "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcdEF\r\nzz\r\n", {}},
      {"tight_limits",
       "GET /a-rather-long-target-that-overflows HTTP/1.1\r\nHost: h\r\n\r\n"
       "POST /p HTTP/1.1\r\nX-Long: 0123456789012345678901234567890123456789\r\nA: 1\r\n"
       "B: 2\r\nC: 3\r\nD: 4\r\n\r\n"
       "POST /q HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=long\r\nhello",
       tight_limits()},
      {"oddities",
       "\r\n\r\nGET /old\r\nGET /v HTTP/3.0\r\nno colon\r\nX : y\r\nHost: a\r\nHost: b\r\n\r\n"
       "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x01\x02",
       {}},
      {"partial_at_close", "GET /x HTTP/1.1\r\n\r\nGET /leak?ssn=078-05-1120", {}},
  };
}

}  // namespace dlp::inspectors::testing
