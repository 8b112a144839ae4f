// Capture writer self-tests: files written by hand are read back with libpcap.
#include "tests/gen/pcap_writer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "tests/gen/selftest/testutil.h"

namespace dlp::testgen {
namespace {

std::vector<Packet> sample_packets() {
  std::vector<Packet> out;
  const Ip ip{.src = "10.0.0.1", .dst = "10.0.0.2"};
  for (int i = 0; i < 5; ++i) {
    std::vector<std::uint8_t> payload(static_cast<std::size_t>(i * 101 + 1), static_cast<std::uint8_t>(i));
    out.push_back({1'709'542'800'123'456'789ull + static_cast<std::uint64_t>(i) * 1'000'001,
                   tcp_frame({}, ip, 1000, 80, static_cast<std::uint32_t>(i), 0, kTcpAck | kTcpPsh, payload)});
  }
  return out;
}

class testgen_capture_writer : public ::testing::TestWithParam<Format> {};

TEST_P(testgen_capture_writer, LibpcapReadsRecordsBack) {
  const Format fmt = GetParam();
  const std::string path = testutil::temp_path(fmt == Format::kPcap ? "w.pcap" : "w.pcapng");
  const auto pkts = sample_packets();
  auto w = CaptureWriter::open(path, fmt);
  w->write_all(pkts);
  w->write_truncated(pkts[4].ts_ns + 5, pkts[4].frame, 60);
  EXPECT_EQ(w->records_written(), 6u);
  w->close();
  EXPECT_EQ(w->file_bytes(), std::filesystem::file_size(path));

  const auto cap = testutil::read_capture(path);
  EXPECT_EQ(cap.linktype, 1);  // DLT_EN10MB
  EXPECT_EQ(cap.last_status, -2) << cap.error;
  ASSERT_EQ(cap.records.size(), 6u);
  for (std::size_t i = 0; i < pkts.size(); ++i) {
    EXPECT_EQ(cap.records[i].caplen, pkts[i].frame.size());
    EXPECT_EQ(cap.records[i].len, pkts[i].frame.size());
    EXPECT_EQ(cap.records[i].data, pkts[i].frame);
    // pcap keeps microseconds, pcapng (if_tsresol 9) keeps nanoseconds.
    const std::uint64_t want = fmt == Format::kPcap ? pkts[i].ts_ns / 1000 * 1000 : pkts[i].ts_ns;
    EXPECT_EQ(cap.records[i].ts_ns, want);
  }
  EXPECT_EQ(cap.records[5].caplen, 60u);
  EXPECT_EQ(cap.records[5].len, pkts[4].frame.size());
  EXPECT_TRUE(std::equal(cap.records[5].data.begin(), cap.records[5].data.end(), pkts[4].frame.begin()));

  const auto spans = capture_records(path);
  ASSERT_EQ(spans.size(), 6u);
  EXPECT_EQ(spans[0].offset, fmt == Format::kPcap ? 24u : 28u + 32u);
  EXPECT_EQ(spans.back().offset + spans.back().size, std::filesystem::file_size(path));
}

TEST_P(testgen_capture_writer, TruncatedMidRecordIsAnErrorAfterTheGoodRecords) {
  const Format fmt = GetParam();
  const std::string path = testutil::temp_path(fmt == Format::kPcap ? "t.pcap" : "t.pcapng");
  auto w = CaptureWriter::open(path, fmt);
  w->write_all(sample_packets());
  w->close();
  const auto before = capture_records(path);
  const std::uint64_t size = truncate_capture_mid_record(path, 3, 20);
  EXPECT_EQ(size, before[3].offset + 20);
  EXPECT_EQ(std::filesystem::file_size(path), size);
  const auto cap = testutil::read_capture(path);
  EXPECT_EQ(cap.records.size(), 3u);
  EXPECT_EQ(cap.last_status, -1) << "libpcap must report the truncated record";
  EXPECT_THROW(truncate_capture_mid_record(path, 7, 1), std::out_of_range);
  EXPECT_THROW(truncate_capture_mid_record(path, 0, before[0].size), std::out_of_range);
}

INSTANTIATE_TEST_SUITE_P(Formats, testgen_capture_writer, ::testing::Values(Format::kPcap, Format::kPcapng),
                         [](const auto& info) { return info.param == Format::kPcap ? "pcap" : "pcapng"; });

TEST(testgen_capture_writer_file, PcapHeaderBytesAndLinktype) {
  const std::string path = testutil::temp_path("raw.pcap");
  auto w = CaptureWriter::open(path, Format::kPcap, 101 /* DLT_RAW */, 65535);
  w->write(0, std::vector<std::uint8_t>(20, 0x45));
  w->close();
  const auto cap = testutil::read_capture(path);
  EXPECT_EQ(cap.linktype, 12) << "LINKTYPE_RAW (101) maps to DLT_RAW (12) in libpcap";
  ASSERT_EQ(cap.records.size(), 1u);
  std::FILE* f = std::fopen(path.c_str(), "rb");
  std::uint8_t h[24];
  ASSERT_EQ(std::fread(h, 1, 24, f), 24u);
  std::fclose(f);
  std::uint32_t magic;
  std::memcpy(&magic, h, 4);
  EXPECT_EQ(magic, 0xa1b2c3d4u);
  EXPECT_EQ(h[4] | h[5] << 8, 2);  // version 2.4 (little-endian host)
  EXPECT_EQ(h[6] | h[7] << 8, 4);
}

TEST(testgen_capture_writer_file, OpenFailsWithPath) {
  EXPECT_THROW(CaptureWriter::open("/nonexistent-dir/x.pcap", Format::kPcap), std::runtime_error);
  const std::string path = testutil::temp_path("closed.pcap");
  auto w = CaptureWriter::open(path, Format::kPcap);
  w->close();
  EXPECT_THROW(w->write(0, std::vector<std::uint8_t>(60)), std::runtime_error);
}

}  // namespace
}  // namespace dlp::testgen
