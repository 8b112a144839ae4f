// Packet source tests: capture files written by tests/gen's CaptureWriter (its own pcap
// and pcapng encoder), read back through libpcap by PcapFileSource; a live capture on
// the loopback interface when the test may capture.
#include "dataplane/pcap_source.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/decode.h"
#include "tests/gen/frames.h"
#include "tests/gen/pcap_writer.h"

namespace dlp::dataplane {
namespace {

namespace fs = std::filesystem;
using testgen::CaptureWriter;
using testgen::Format;
using testgen::Frame;

constexpr std::uint64_t kT0 = 1'700'000'000'000'000'000ull;

class PcapFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("dlp_pcap_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Frame i: a UDP datagram whose payload says which one it is, `extra` bytes long.
  static Frame frame(int i, std::size_t extra = 0) {
    std::string text = "packet-" + std::to_string(i) + std::string(extra, '.');
    testgen::Ip ip{.src = "10.0.0.1", .dst = "10.0.0.2"};
    return testgen::udp_frame(testgen::L2{}, ip, 1000, static_cast<std::uint16_t>(2000 + i),
                              as_bytes(text));
  }
  // Writes `n` frames at kT0 + i * step and returns them.
  std::vector<Frame> write(const std::string& file, Format fmt, int n, std::uint64_t step,
                           std::uint64_t t0 = kT0) {
    std::vector<Frame> frames;
    auto w = CaptureWriter::open(file, fmt);
    for (int i = 0; i < n; ++i) {
      frames.push_back(frame(i));
      w->write(t0 + static_cast<std::uint64_t>(i) * step, frames.back());
    }
    w->close();
    return frames;
  }
  static std::vector<std::uint8_t> vec(Bytes b) { return {b.begin(), b.end()}; }

  fs::path dir_;
};

TEST_F(PcapFileTest, PcapInBursts) {
  const std::string f = path("a.pcap");
  const auto frames = write(f, Format::kPcap, 5, 1'000'000);  // pcap keeps microseconds
  PcapFileSource src({f});
  EXPECT_EQ(src.bytes_total(), fs::file_size(f));
  EXPECT_EQ(src.bytes_read(), 0u);
  RawPacket burst[2];
  std::vector<std::size_t> sizes;
  std::size_t seen = 0;
  while (std::size_t n = src.next_burst(burst)) {
    sizes.push_back(n);
    for (std::size_t i = 0; i < n; ++i, ++seen) {
      EXPECT_EQ(burst[i].index, seen + 1);
      EXPECT_EQ(burst[i].ts_ns, kT0 + seen * 1'000'000);
      EXPECT_EQ(burst[i].linktype, 1u);
      EXPECT_EQ(burst[i].wire_len, frames[seen].size());
      EXPECT_EQ(vec(burst[i].data), frames[seen]);
    }
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{2, 2, 1}));
  EXPECT_TRUE(src.errors().empty());
  EXPECT_EQ(src.bytes_read(), src.bytes_total());
  EXPECT_EQ(src.next_burst(burst), 0u);  // stays exhausted
}

TEST_F(PcapFileTest, PcapngNanosecondsAndSnappedRecords) {
  const std::string f = path("b.pcapng");
  const std::uint64_t t = kT0 + 123'456'789;
  const Frame big = frame(7, 200);
  {
    auto w = CaptureWriter::open(f, Format::kPcapng);
    w->write(t, frame(0));
    w->write(t + 1, frame(1));
    w->write_truncated(t + 999'999'999, big, 60);
    w->close();
  }
  PcapFileSource src({f});
  RawPacket burst[8];
  ASSERT_EQ(src.next_burst(burst), 3u);
  EXPECT_EQ(burst[0].ts_ns, t);
  EXPECT_EQ(burst[1].ts_ns, t + 1);
  EXPECT_EQ(burst[2].ts_ns, t + 999'999'999);
  EXPECT_EQ(vec(burst[1].data), frame(1));
  EXPECT_EQ(burst[2].data.size(), 60u);
  EXPECT_EQ(burst[2].wire_len, big.size());
  EXPECT_EQ(vec(burst[2].data), Frame(big.begin(), big.begin() + 60));
  EXPECT_EQ(burst[2].index, 3u);
  EXPECT_EQ(src.next_burst(burst), 0u);
  // The snapped record decodes as far as it was captured.
  Decoded d;
  ASSERT_EQ(decode(burst[2], d), DecodeStatus::ok);
  EXPECT_EQ(d.dport, 2007);
  EXPECT_EQ(d.payload.size(), 60u - 42);
}

TEST_F(PcapFileTest, SeveralFilesInOrderAndAMissingOne) {
  const std::string a = path("a.pcap"), b = path("b.pcapng"), missing = path("nope.pcap");
  const auto fa = write(a, Format::kPcap, 3, 1000, kT0);
  const auto fb = write(b, Format::kPcapng, 2, 7, kT0 + 5'000'000'000ull);
  PcapFileSource src({a, missing, b});
  EXPECT_EQ(src.bytes_total(), fs::file_size(a) + fs::file_size(b));
  RawPacket burst[16];
  // One burst spans the file boundary and the missing file.
  ASSERT_EQ(src.next_burst(burst), 5u);
  const std::uint64_t idx[] = {1, 2, 3, 1, 2};
  const std::uint64_t ts[] = {kT0, kT0 + 1000, kT0 + 2000, kT0 + 5'000'000'000ull,
                              kT0 + 5'000'000'007ull};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(burst[i].index, idx[i]);
    EXPECT_EQ(burst[i].ts_ns, ts[i]);
    EXPECT_EQ(vec(burst[i].data), i < 3 ? fa[i] : fb[i - 3]);
  }
  ASSERT_EQ(src.errors().size(), 1u);
  EXPECT_EQ(src.errors()[0].message, missing + ": cannot open: No such file or directory");
  EXPECT_EQ(src.next_burst(burst), 0u);
  EXPECT_EQ(src.bytes_read(), src.bytes_total());
}

TEST_F(PcapFileTest, NotACaptureFile) {
  const std::string junk = path("notes.txt"), good = path("g.pcap");
  std::ofstream(junk) << "this is not a capture file, just some text long enough\n";
  write(good, Format::kPcap, 1, 1);
  PcapFileSource src({junk, good});
  RawPacket burst[4];
  EXPECT_EQ(src.next_burst(burst), 1u);
  ASSERT_EQ(src.errors().size(), 1u);
  EXPECT_EQ(src.errors()[0].message, junk + ": cannot open: unknown file format");
}

TEST_F(PcapFileTest, TruncatedMidRecordEndsThatFileOnly) {
  for (Format fmt : {Format::kPcap, Format::kPcapng}) {
    const std::string cut = path(fmt == Format::kPcap ? "cut.pcap" : "cut.pcapng");
    const std::string next = path("next.pcap");
    const auto frames = write(cut, fmt, 6, 1000);
    write(next, Format::kPcap, 2, 1000, kT0 + 9'000'000'000ull);
    testgen::truncate_capture_mid_record(cut, 4, 10);  // record #5 is cut 10 bytes in
    PcapFileSource src({cut, next});
    RawPacket burst[3];
    std::vector<RawPacket> got;
    std::vector<std::vector<std::uint8_t>> data;
    while (std::size_t n = src.next_burst(burst)) {
      for (std::size_t i = 0; i < n; ++i) {
        got.push_back(burst[i]);
        data.push_back(vec(burst[i].data));
      }
    }
    ASSERT_EQ(got.size(), 6u);  // 4 before the cut, then the next file's 2
    for (std::size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(got[i].index, i + 1);
      EXPECT_EQ(data[i], frames[i]);
    }
    EXPECT_EQ(got[4].index, 1u);
    EXPECT_EQ(got[4].ts_ns, kT0 + 9'000'000'000ull);
    ASSERT_EQ(src.errors().size(), 1u);
    const std::string& msg = src.errors()[0].message;
    const std::string head = cut + ": packet 5: ";
    const std::string tail = " (truncated or corrupt capture); 4 packets read before it";
    EXPECT_EQ(msg.substr(0, head.size()), head) << msg;
    ASSERT_GT(msg.size(), head.size() + tail.size()) << msg;
    EXPECT_EQ(msg.substr(msg.size() - tail.size()), tail) << msg;
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;  // libpcap's own reason
  }
}

TEST_F(PcapFileTest, BurstDataSurvivesArenaGrowth) {
  const std::string f = path("big.pcap");
  std::vector<Frame> frames;
  {
    auto w = CaptureWriter::open(f, Format::kPcap);
    for (int i = 0; i < 20; ++i) {
      frames.push_back(frame(i, 100 + 70 * static_cast<std::size_t>(i)));  // growing
      w->write(kT0 + static_cast<std::uint64_t>(i), frames.back());
    }
    w->close();
  }
  PcapFileSource src({f});
  RawPacket burst[8];
  std::size_t seen = 0;
  while (std::size_t n = src.next_burst(burst)) {
    // Checked only after the whole burst was read: earlier packets must not have moved.
    for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(vec(burst[i].data), frames[seen + i]);
    seen += n;
  }
  EXPECT_EQ(seen, 20u);
}

TEST_F(PcapFileTest, RawIpLinktype) {
  const std::string f = path("raw.pcap");
  const Frame eth = frame(3);
  const Frame ip(eth.begin() + 14, eth.begin() + 14 + 20 + 8 + 8);  // no Ethernet padding
  {
    auto w = CaptureWriter::open(f, Format::kPcap, 101);  // LINKTYPE_RAW
    w->write(kT0, ip);
    w->close();
  }
  PcapFileSource src({f});
  RawPacket burst[1];
  ASSERT_EQ(src.next_burst(burst), 1u);
  EXPECT_EQ(burst[0].linktype, 12u);  // libpcap hands LINKTYPE_RAW over as DLT_RAW
  Decoded d;
  ASSERT_EQ(decode(burst[0], d), DecodeStatus::ok);
  EXPECT_EQ(d.dport, 2003);
  EXPECT_EQ(std::string(as_chars(d.payload)), "packet-3");
}

// --- live capture ------------------------------------------------------------------------

TEST(PcapLive, NoSuchDevice) {
  LiveOptions o;
  o.interface = "dlpnosuch0";
  auto r = PcapLiveSource::open(o);
  ASSERT_FALSE(r.ok());
  const std::string& msg = r.error().message;
  // Without capture rights libpcap may refuse before it looks for the device.
  const bool no_dev = msg.rfind("dlpnosuch0: cannot capture: no such device", 0) == 0;
  const bool no_perm = msg.rfind("dlpnosuch0: cannot capture: permission denied", 0) == 0;
  EXPECT_TRUE(no_dev || no_perm) << msg;
}

std::unique_ptr<PcapLiveSource> open_lo(const std::string& filter, std::string* error) {
  LiveOptions o;
  o.interface = "lo";
  o.bpf_filter = filter;
  o.timeout_ms = 50;
  auto r = PcapLiveSource::open(o);
  if (!r.ok()) {
    *error = r.error().message;
    return nullptr;
  }
  return std::move(*r);
}

bool may_capture() {
  std::string err;
  return open_lo("", &err) != nullptr;
}

TEST(PcapLive, BadFilterIsReported) {
  if (!may_capture()) GTEST_SKIP() << "no capture rights on lo";
  std::string err;
  EXPECT_EQ(open_lo("tcp port", &err), nullptr);
  EXPECT_EQ(err.rfind("lo: bad filter 'tcp port': ", 0), 0u) << err;
}

TEST(PcapLive, CapturesLoopbackUdpAndStops) {
  if (!may_capture()) GTEST_SKIP() << "no capture rights on lo";
  std::string err;
  auto src = open_lo("udp and dst port 47999", &err);
  ASSERT_NE(src, nullptr) << err;

  const int s = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(s, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(47999);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const char msg[] = "ping-dlp";
  ASSERT_EQ(::sendto(s, msg, 8, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 8);
  ::close(s);

  RawPacket burst[4];
  const std::size_t n = src->next_burst(burst);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(burst[0].index, 1u);
  Decoded d;
  ASSERT_EQ(decode(burst[0], d), DecodeStatus::ok);
  EXPECT_EQ(d.dport, 47999);
  EXPECT_EQ(d.dst.str(), "127.0.0.1");
  EXPECT_EQ(std::string(as_chars(d.payload)), "ping-dlp");
  const auto now_ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  EXPECT_LT(now_ns - burst[0].ts_ns, 10'000'000'000ull);  // stamped in ns, just now

  // Nothing more matches: next_burst blocks until stop() (as a signal handler would call).
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    src->stop();
  });
  EXPECT_EQ(src->next_burst(burst), 0u);
  stopper.join();
  EXPECT_EQ(src->next_burst(burst), 0u);
  EXPECT_TRUE(src->errors().empty());
}

}  // namespace
}  // namespace dlp::dataplane
