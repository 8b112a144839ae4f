// `dlpgate scan --interface`: a real HTTP upload over a real TCP connection on loopback,
// captured live by libpcap, ended with SIGINT as a user's Ctrl-C would.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataplane/pcap_source.h"
#include "mgmt/scan.h"

namespace dlp {
namespace {

bool may_capture_on_lo() {
  dataplane::LiveOptions o;
  o.interface = "lo";
  return dataplane::PcapLiveSource::open(o).ok();
}

// One HTTP POST from a client socket to a server socket on 127.0.0.1:port.
void upload_over_loopback(std::uint16_t port, const std::string& body) {
  const int srv = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(srv, 1) != 0) {
    ::close(srv);
    return;
  }
  std::thread server([srv] {
    const int c = ::accept(srv, nullptr, nullptr);
    char buf[4096];
    while (c >= 0 && ::read(c, buf, sizeof buf) > 0) {
    }
    if (c >= 0) ::close(c);
  });
  const int cli = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(cli, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string req = "POST /upload HTTP/1.1\r\nHost: loopback.test\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body;
    // Two writes, so the number can be split across segments.
    const std::size_t half = req.size() - body.size() / 2;
    (void)!::write(cli, req.data(), half);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    (void)!::write(cli, req.data() + half, req.size() - half);
  }
  ::shutdown(cli, SHUT_WR);
  server.join();
  ::close(cli);
  ::close(srv);
}

TEST(LiveScanTest, FindsACardInALoopbackUploadAndStopsOnSigint) {
  if (!may_capture_on_lo()) GTEST_SKIP() << "no capture rights on lo (run as root)";
  const std::uint16_t port = static_cast<std::uint16_t>(20000 + ::getpid() % 20000);
  const auto out = std::filesystem::temp_directory_path() /
                   ("dlpgate-live-" + std::to_string(::getpid()) + ".jsonl");
  mgmt::ScanOptions o;
  o.interface = "lo";
  o.bpf_filter = "tcp port " + std::to_string(port);
  o.out_path = out.string();
  o.progress = 0;

  // The upload starts once the capture is open; if the scan ends without ever starting,
  // no traffic and no signal are sent.
  std::promise<bool> started;  // true: capturing; false: the scan ended without starting
  auto ready = started.get_future();
  bool fulfilled = false;
  o.on_started = [&] {
    fulfilled = true;
    started.set_value(true);
  };
  std::thread traffic([port, &ready] {
    if (!ready.get()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    upload_over_loopback(port, "name=test&card=5555 5555 5555 4444&note=done");
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    ::kill(::getpid(), SIGINT);
  });
  std::ostringstream summary, err;
  const int rc = mgmt::run_scan(o, summary, err);
  if (!fulfilled) started.set_value(false);
  traffic.join();
  ASSERT_EQ(rc, 0) << err.str();

  std::vector<nlohmann::json> findings;
  std::ifstream in(out);
  for (std::string line; std::getline(in, line);) findings.push_back(nlohmann::json::parse(line));
  std::filesystem::remove(out);
  ASSERT_EQ(findings.size(), 1u) << summary.str();
  EXPECT_EQ(findings[0]["category"], "credit_card");
  EXPECT_EQ(findings[0]["masked"], nlohmann::json::array({"555555******4444"}));
  EXPECT_EQ(findings[0]["src_ip"], "127.0.0.1");
  EXPECT_EQ(findings[0]["dst_port"], port);
  EXPECT_EQ(findings[0]["http.host"], "loopback.test");
  EXPECT_NE(summary.str().find("interface lo"), std::string::npos) << summary.str();
}

}  // namespace
}  // namespace dlp
