#include "tests/gen/http_bodies.h"

#include <stdexcept>

#include <brotli/encode.h>
#include <zlib.h>

#include "tests/gen/payloads.h"

namespace dlp::testgen {

std::string raw_deflate(std::string_view data) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("raw_deflate: deflateInit2 failed");
  }
  std::string out(deflateBound(&z, data.size()) + 16, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("raw_deflate: deflate failed");
  out.resize(z.total_out);
  return out;
}

std::string brotli(std::string_view data) {
  std::string out(BrotliEncoderMaxCompressedSize(data.size()) + 16, '\0');
  std::size_t n = out.size();
  if (!BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, data.size(),
                             reinterpret_cast<const std::uint8_t*>(data.data()), &n,
                             reinterpret_cast<std::uint8_t*>(out.data()))) {
    throw std::runtime_error("brotli: BrotliEncoderCompress failed");
  }
  out.resize(n);
  return out;
}

std::string multipart_form(const std::vector<FormPart>& parts, std::string_view boundary) {
  std::string out;
  for (const FormPart& p : parts) {
    out += "--";
    out += boundary;
    out += "\r\nContent-Disposition: form-data; name=\"" + p.name + "\"";
    if (!p.filename.empty()) out += "; filename=\"" + p.filename + "\"";
    out += "\r\n";
    if (!p.content_type.empty()) out += "Content-Type: " + p.content_type + "\r\n";
    out += "\r\n" + p.data + "\r\n";
  }
  out += "--";
  out += boundary;
  out += "--\r\n";
  return out;
}

std::string http_request_with(std::string_view method, std::string_view host,
                              std::string_view url, std::string_view body,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              std::size_t chunk) {
  std::string r;
  r += method;
  r += " ";
  r += url;
  r += " HTTP/1.1\r\nHost: ";
  r += host;
  r += "\r\nUser-Agent: dlpgate-testgen/1.0\r\n";
  for (const auto& [k, v] : headers) r += k + ": " + v + "\r\n";
  if (chunk > 0) {
    r += "Transfer-Encoding: chunked\r\n\r\n" + chunked_encode(body, chunk);
  } else {
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    r += body;
  }
  return r;
}

}  // namespace dlp::testgen
