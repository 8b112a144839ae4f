// pcap and pcapng writing by hand: see pcap_writer.h. Layouts from the libpcap file
// format (draft-ietf-opsawg-pcap) and the PCAP Next Generation format
// (draft-ietf-opsawg-pcapng): section header, interface description, enhanced packet.
#include "tests/gen/pcap_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace dlp::testgen {
namespace {

constexpr std::uint32_t kPcapMagicUsec = 0xa1b2c3d4;
constexpr std::uint32_t kPcapMagicNsec = 0xa1b23c4d;
constexpr std::uint32_t kBlockShb = 0x0A0D0D0A;
constexpr std::uint32_t kBlockIdb = 0x00000001;
constexpr std::uint32_t kBlockEpb = 0x00000006;
constexpr std::uint32_t kBlockSpb = 0x00000003;
constexpr std::uint32_t kBlockObsoletePacket = 0x00000002;
constexpr std::uint32_t kByteOrderMagic = 0x1A2B3C4D;
constexpr std::uint16_t kOptEndOfOpt = 0;
constexpr std::uint16_t kOptIfTsresol = 9;
constexpr std::size_t kWriteBuffer = 1 << 20;

std::size_t pad4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

std::uint32_t bswap32(std::uint32_t v) { return __builtin_bswap32(v); }

std::runtime_error io_error(const std::string& what, const std::string& path) {
  return std::runtime_error("testgen: " + what + " '" + path + "': " + std::strerror(errno));
}

}  // namespace

std::unique_ptr<CaptureWriter> CaptureWriter::open(const std::string& path, Format format,
                                                   std::uint32_t linktype, std::uint32_t snaplen) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw io_error("cannot create", path);
  std::unique_ptr<CaptureWriter> w(new CaptureWriter(f, path, format, linktype, snaplen));
  w->write_header();
  return w;
}

CaptureWriter::CaptureWriter(std::FILE* file, std::string path, Format format,
                             std::uint32_t linktype, std::uint32_t snaplen)
    : file_(file), path_(std::move(path)), format_(format), linktype_(linktype),
      snaplen_(snaplen), buffer_(kWriteBuffer) {
  std::setvbuf(file_, buffer_.data(), _IOFBF, buffer_.size());
}

CaptureWriter::~CaptureWriter() {
  if (file_) std::fclose(file_);
}

void CaptureWriter::put(const void* data, std::size_t size) {
  if (!file_) throw std::runtime_error("testgen: write to closed capture '" + path_ + "'");
  if (size && std::fwrite(data, 1, size, file_) != size) throw io_error("write failed on", path_);
  file_bytes_ += size;
}

void CaptureWriter::write_header() {
  if (format_ == Format::kPcap) {
    struct {
      std::uint32_t magic;
      std::uint16_t major, minor;
      std::int32_t thiszone;
      std::uint32_t sigfigs, snaplen, network;
    } h{kPcapMagicUsec, 2, 4, 0, 0, snaplen_, linktype_};
    static_assert(sizeof(h) == 24);
    put(&h, sizeof(h));
    return;
  }
  // Section Header Block, no options.
  struct {
    std::uint32_t type, total;
    std::uint32_t bom;
    std::uint16_t major, minor;
    std::int64_t section_length;
    std::uint32_t total2;
  } __attribute__((packed)) shb{kBlockShb, 28, kByteOrderMagic, 1, 0, -1, 28};
  static_assert(sizeof(shb) == 28);
  put(&shb, sizeof(shb));
  // Interface Description Block with if_tsresol = 9 (10^-9 s).
  struct {
    std::uint32_t type, total;
    std::uint16_t linktype, reserved;
    std::uint32_t snaplen;
    std::uint16_t opt_code, opt_len;
    std::uint8_t tsresol, pad[3];
    std::uint16_t end_code, end_len;
    std::uint32_t total2;
  } __attribute__((packed)) idb{kBlockIdb, 32, static_cast<std::uint16_t>(linktype_), 0, snaplen_,
                                kOptIfTsresol, 1, 9, {0, 0, 0}, kOptEndOfOpt, 0, 32};
  static_assert(sizeof(idb) == 32);
  put(&idb, sizeof(idb));
}

void CaptureWriter::write_record(std::uint64_t ts_ns, std::span<const std::uint8_t> frame,
                                 std::uint32_t caplen) {
  caplen = std::min<std::uint32_t>(caplen, static_cast<std::uint32_t>(frame.size()));
  const auto orig = static_cast<std::uint32_t>(frame.size());
  if (format_ == Format::kPcap) {
    const std::uint32_t rec[4] = {static_cast<std::uint32_t>(ts_ns / 1'000'000'000ull),
                                  static_cast<std::uint32_t>((ts_ns % 1'000'000'000ull) / 1000),
                                  caplen, orig};
    put(rec, sizeof(rec));
    put(frame.data(), caplen);
  } else {
    const auto total = static_cast<std::uint32_t>(32 + pad4(caplen));
    const std::uint32_t hdr[7] = {kBlockEpb,
                                  total,
                                  0,  // interface id
                                  static_cast<std::uint32_t>(ts_ns >> 32),
                                  static_cast<std::uint32_t>(ts_ns),
                                  caplen,
                                  orig};
    put(hdr, sizeof(hdr));
    put(frame.data(), caplen);
    static const std::uint8_t kZero[4] = {0, 0, 0, 0};
    put(kZero, pad4(caplen) - caplen);
    put(&total, sizeof(total));
  }
  ++records_;
}

void CaptureWriter::write(std::uint64_t ts_ns, std::span<const std::uint8_t> frame) {
  write_record(ts_ns, frame, static_cast<std::uint32_t>(frame.size()));
}

void CaptureWriter::write_all(const std::vector<Packet>& packets) {
  for (const Packet& p : packets) write(p.ts_ns, p.frame);
}

void CaptureWriter::write_truncated(std::uint64_t ts_ns, std::span<const std::uint8_t> frame,
                                    std::uint32_t caplen) {
  write_record(ts_ns, frame, caplen);
}

void CaptureWriter::close() {
  if (!file_) return;
  const bool ok = std::fflush(file_) == 0;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok || !closed) throw io_error("cannot finish", path_);
}

std::vector<RecordSpan> capture_records(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw io_error("cannot open", path);
  struct Closer {
    std::FILE* f;
    ~Closer() { std::fclose(f); }
  } closer{f};
  std::vector<RecordSpan> out;
  std::uint32_t magic = 0;
  if (std::fread(&magic, 4, 1, f) != 1) throw std::runtime_error("testgen: empty capture " + path);
  const auto size = std::filesystem::file_size(path);
  if (magic == kPcapMagicUsec || magic == kPcapMagicNsec || magic == bswap32(kPcapMagicUsec) ||
      magic == bswap32(kPcapMagicNsec)) {
    const bool swap = magic == bswap32(kPcapMagicUsec) || magic == bswap32(kPcapMagicNsec);
    std::uint64_t off = 24;
    while (off + 16 <= size) {
      std::uint32_t rec[4];
      if (std::fseek(f, static_cast<long>(off), SEEK_SET) != 0 || std::fread(rec, 16, 1, f) != 1)
        break;
      const std::uint32_t incl = swap ? bswap32(rec[2]) : rec[2];
      out.push_back({off, 16 + static_cast<std::uint64_t>(incl)});
      off += 16 + static_cast<std::uint64_t>(incl);
    }
    return out;
  }
  if (magic != kBlockShb) throw std::runtime_error("testgen: not a pcap/pcapng file: " + path);
  std::uint64_t off = 0;
  bool swap = false;
  while (off + 12 <= size) {
    std::uint32_t hdr[3];
    if (std::fseek(f, static_cast<long>(off), SEEK_SET) != 0 || std::fread(hdr, 12, 1, f) != 1) break;
    std::uint32_t type = hdr[0];
    if (type == kBlockShb) swap = hdr[2] == bswap32(kByteOrderMagic);
    if (swap) type = bswap32(type);
    const std::uint32_t total = swap ? bswap32(hdr[1]) : hdr[1];
    if (total < 12) throw std::runtime_error("testgen: bad pcapng block length in " + path);
    if (type == kBlockEpb || type == kBlockSpb || type == kBlockObsoletePacket)
      out.push_back({off, total});
    off += total;
  }
  return out;
}

void truncate_file(const std::string& path, std::uint64_t size) {
  std::error_code ec;
  std::filesystem::resize_file(path, size, ec);
  if (ec) throw std::system_error(ec, "testgen: cannot truncate '" + path + "'");
}

std::uint64_t truncate_capture_mid_record(const std::string& path, std::size_t record_index,
                                          std::uint64_t bytes_into_record) {
  const auto records = capture_records(path);
  if (record_index >= records.size())
    throw std::out_of_range("testgen: capture has only " + std::to_string(records.size()) +
                            " records");
  const RecordSpan r = records[record_index];
  if (bytes_into_record == 0 || bytes_into_record >= r.size)
    throw std::out_of_range("testgen: cut must fall inside the record (1.." +
                            std::to_string(r.size - 1) + ")");
  truncate_file(path, r.offset + bytes_into_record);
  return r.offset + bytes_into_record;
}

}  // namespace dlp::testgen
