// The file layer: a ContentSink between the inspectors and the scanner that recognises
// what a content stream carries by its first bytes (magic), and opens what can be opened:
// ZIP-based documents (docx, xlsx, pptx, odt, ods), ZIP, gzip and tar archives, PDF text
// streams. Each file found inside becomes its own content stream on `next`, with its
// name, type, path and depth; text is extracted from document XML so a card number
// split across <w:t> runs is contiguous again. Plain content passes through untouched
// (zero copy).
//
//   FileSink files(worker_sink, limits);
//   auto insp = factory.create(files, flow);     // inspectors write into the file layer
//
// Containers need their directory, so a container stream is held (up to
// Limits::max_file_buffer) and opened when it closes; gzip is inflated as it streams.
// Every limit (buffer, decompressed size, ratio, depth, entries) is counted through
// limit_hit(); the content up to the limit is still scanned.
#pragma once

#include <cstdint>
#include <memory>

#include "inspectors/inspector.h"

namespace dlp::inspectors {

struct FileStats {
  std::uint64_t files_opened = 0;    // containers and documents decoded
  std::uint64_t entries = 0;         // files found inside them
  std::uint64_t bytes_extracted = 0;
  std::uint64_t decode_errors = 0;   // corrupt or unsupported: scanned as plain bytes
};

class FileSink final : public ContentSink {
 public:
  FileSink(ContentSink& next, const Limits& limits);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  StreamId open(const ContentMeta& meta) override;
  void write(StreamId id, Bytes data) override;
  void gap(StreamId id, std::uint64_t len) override;
  void close(StreamId id) override;
  void weird(std::string_view what) override;
  void flow_meta(const ContentMeta& meta) override;
  void report(const Report& r) override;
  std::uint64_t now_ns() const override;

  const FileStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dlp::inspectors
