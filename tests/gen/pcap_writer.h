// Capture files written by hand with plain buffered file I/O: classic pcap (microsecond
// timestamps, magic 0xa1b2c3d4, host byte order) and pcapng (SHB, one IDB with
// if_tsresol = 9, i.e. nanoseconds, and EPBs). libpcap can read both but cannot write
// pcapng, hence this writer. Also helpers to damage a capture for the corrupt-file tests.
//
//   auto w = CaptureWriter::open("/tmp/x.pcapng", Format::kPcapng);
//   w->write(1'700'000'000'000'000'000, frame);
//   w->write_truncated(ts, frame, 60);        // caplen 60, original length frame.size()
//   w->close();
//   truncate_capture_mid_record("/tmp/x.pcapng", 1, 10);  // cut 10 bytes into record #1
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tests/gen/frames.h"

namespace dlp::testgen {

enum class Format { kPcap, kPcapng };

inline constexpr std::uint32_t kLinktypeEthernet = 1;  // DLT_EN10MB
inline constexpr std::uint32_t kDefaultSnaplen = 262144;

class CaptureWriter {
 public:
  // Creates (truncates) `path` and writes the file header. Throws std::runtime_error with
  // the path and errno text when the file cannot be created.
  static std::unique_ptr<CaptureWriter> open(const std::string& path, Format format,
                                             std::uint32_t linktype = kLinktypeEthernet,
                                             std::uint32_t snaplen = kDefaultSnaplen);
  ~CaptureWriter();
  CaptureWriter(const CaptureWriter&) = delete;
  CaptureWriter& operator=(const CaptureWriter&) = delete;

  // One record with the whole frame (caplen = original length = frame.size()).
  void write(std::uint64_t ts_ns, std::span<const std::uint8_t> frame);
  void write(const Packet& packet) { write(packet.ts_ns, packet.frame); }
  void write_all(const std::vector<Packet>& packets);
  // One record with only the first `caplen` bytes stored; original length = frame.size().
  void write_truncated(std::uint64_t ts_ns, std::span<const std::uint8_t> frame,
                       std::uint32_t caplen);
  // Flushes and closes; further writes throw. Throws std::runtime_error on I/O errors.
  void close();

  Format format() const { return format_; }
  std::uint64_t records_written() const { return records_; }
  std::uint64_t file_bytes() const { return file_bytes_; }  // bytes written so far

 private:
  CaptureWriter(std::FILE* file, std::string path, Format format, std::uint32_t linktype,
                std::uint32_t snaplen);
  void write_header();
  void put(const void* data, std::size_t size);
  void write_record(std::uint64_t ts_ns, std::span<const std::uint8_t> frame,
                    std::uint32_t caplen);

  std::FILE* file_ = nullptr;
  std::string path_;
  Format format_;
  std::uint32_t linktype_;
  std::uint32_t snaplen_;
  std::uint64_t records_ = 0;
  std::uint64_t file_bytes_ = 0;
  std::vector<char> buffer_;
};

// Byte offset and size of each packet record in a pcap or pcapng file written by
// CaptureWriter (pcap: 16-byte record header + data; pcapng: each EPB). Parsed
// independently of libpcap. Throws std::runtime_error on an unreadable/unknown file.
struct RecordSpan {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};
std::vector<RecordSpan> capture_records(const std::string& path);

// Cuts the file `bytes_into_record` bytes after the start of packet record
// `record_index` (0-based), leaving a partial record at the end. Returns the new size.
// Throws std::out_of_range when the record does not exist or bytes_into_record is not
// inside it.
std::uint64_t truncate_capture_mid_record(const std::string& path, std::size_t record_index,
                                          std::uint64_t bytes_into_record);
// Cuts the file to exactly `size` bytes.
void truncate_file(const std::string& path, std::uint64_t size);

}  // namespace dlp::testgen
