// Streaming decompression for content codings: gzip (several members), deflate (zlib
// wrapped or raw, as clients disagree), and br (Brotli). Input arrives in any pieces;
// output leaves in pieces of at most kOut bytes through a ByteSink. Bounded: the output
// buffer is allocated once per decoder, and the bomb guard stops a stream whose output
// passes Limits::max_decompressed_bytes, or whose ratio passes
// Limits::max_decompression_ratio after its first MiB.
//
//   Decompressor d(Coding::gzip, limits);
//   Decompressor::Status s = d.feed(bytes, sink);   // ok | done | corrupt | limit
//   if (s == Decompressor::Status::limit) limit_hit(..., d.limit_what(), ...);
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "inspectors/inspector.h"

namespace dlp::inspectors {

enum class Coding : std::uint8_t { identity, gzip, deflate, br, unknown };
// "gzip", "x-gzip", "deflate", "br", "identity"; anything else is unknown.
Coding parse_coding(std::string_view token);
std::string_view coding_name(Coding c);

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void bytes(Bytes b) = 0;
};

class Decompressor {
 public:
  static constexpr std::size_t kOut = 16 * 1024;
  enum class Status : std::uint8_t {
    ok,       // more input welcome
    done,     // the coded stream ended (bytes after it are reported as trailing)
    corrupt,  // not this coding, or damaged: nothing more is decoded
    limit,    // a bomb-guard limit stopped it: limit_what() says which
  };

  Decompressor(Coding coding, const Limits& limits);
  ~Decompressor();
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;

  Status feed(Bytes in, ByteSink& out);
  Coding coding() const { return coding_; }
  std::uint64_t bytes_in() const { return in_; }
  std::uint64_t bytes_out() const { return out_; }
  // "decompressed_bytes" or "decompression_ratio" after Status::limit.
  std::string_view limit_what() const { return limit_what_; }

 private:
  struct State;
  Status emit(const std::uint8_t* p, std::size_t n, ByteSink& out);
  Status inflate_some(Bytes in, ByteSink& out);

  Coding coding_;
  Limits limits_;
  std::unique_ptr<State> st_;
  std::uint64_t in_ = 0, out_ = 0;
  std::uint64_t used_ = 0;  // input the decoder has consumed
  Status final_ = Status::ok;
  std::string_view limit_what_;
};

}  // namespace dlp::inspectors
