// Request bodies as clients encode them, for the HTTP tests and captures: content codings
// (gzip comes from file_gen.h; here raw deflate and Brotli), multipart/form-data with
// files, and requests that carry an encoded body.
//
//   std::string body = brotli(json);
//   std::string req = http_request_with("POST", "api.example", "/v1", body,
//                                       {{"Content-Type", "application/json"},
//                                        {"Content-Encoding", "br"}}, /*chunk=*/100);
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dlp::testgen {

// RFC 1951 without the zlib wrapper (what many clients send as "deflate").
std::string raw_deflate(std::string_view data);
// RFC 7932 Brotli, quality 5.
std::string brotli(std::string_view data);

struct FormPart {
  std::string name;
  std::string filename;      // empty: a plain form field
  std::string content_type;  // empty: none sent
  std::string data;
};
// multipart/form-data body with the given boundary.
std::string multipart_form(const std::vector<FormPart>& parts, std::string_view boundary);

// A request with the given extra headers and body: Content-Length, or chunked in
// `chunk`-byte chunks when chunk > 0.
std::string http_request_with(std::string_view method, std::string_view host,
                              std::string_view url, std::string_view body,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              std::size_t chunk = 0);

}  // namespace dlp::testgen
