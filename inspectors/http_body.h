// One HTTP request body on its way to the scanner: the content codings undone as the
// bytes stream (gzip, deflate, br, in reverse order of Content-Encoding), then the body
// decoded by its type — form urlencoding, JSON string escapes, multipart/form-data parts
// (MimeDecoder) — or passed as it is. Tunnels (CONNECT, Upgrade) pass raw.
//
//   HttpBody body(sink, limits);
//   body.begin(meta, "gzip", "application/json", /*raw=*/false);
//   body.write(bytes) ...; body.gap(n); body.end();
//
// Every failure keeps the bytes visible: an unknown or broken coding passes the rest
// raw (weird), a bomb stops at the limit (limit_hit), a stream past max_stream_bytes is
// cut there (limit_hit).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "inspectors/decompress.h"
#include "inspectors/form.h"
#include "inspectors/inspector.h"

namespace dlp::inspectors {

class MimeDecoder;

class HttpBody {
 public:
  HttpBody(ContentSink& sink, const Limits& limits);
  ~HttpBody();
  HttpBody(const HttpBody&) = delete;
  HttpBody& operator=(const HttpBody&) = delete;

  void begin(const ContentMeta& meta, std::string_view content_encoding,
             std::string_view content_type, bool raw);
  void write(Bytes b);
  void gap(std::uint64_t len);
  void end();
  bool active() const { return active_; }

 private:
  enum class Kind : std::uint8_t { plain, sniff, urlencoded, json, multipart };
  enum class StageState : std::uint8_t { decoding, passthrough, stopped };
  struct Stage final : ByteSink {
    HttpBody* body = nullptr;
    std::size_t index = 0;
    std::unique_ptr<Decompressor> dec;
    StageState state = StageState::decoding;
    void bytes(Bytes b) override { body->push(index + 1, b); }
  };
  struct Out final : ByteSink {
    HttpBody* body = nullptr;
    void bytes(Bytes b) override { body->emit(b); }
  };

  void push(std::size_t stage, Bytes b);
  void text(Bytes b);  // after every coding is undone
  void emit(Bytes b);  // into the content stream
  void open_stream();

  ContentSink& sink_;
  const Limits& limits_;
  bool active_ = false;
  ContentMeta meta_;
  std::string content_type_;
  Kind kind_ = Kind::plain;
  std::vector<std::unique_ptr<Stage>> stages_;
  Out out_;
  UrlDecoder url_;
  JsonUnescaper json_;
  std::unique_ptr<MimeDecoder> mime_;
  ContentSink::StreamId id_ = 0;
  bool open_ = false;
  bool cut_ = false;  // max_stream_bytes reached
  std::uint64_t written_ = 0;
};

}  // namespace dlp::inspectors
