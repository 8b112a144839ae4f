// An FTP upload as a tap sees it: the control connection (banner, USER/PASS, the data
// channel announcement in the chosen mode, STOR, replies, QUIT) and the data connection
// it announces, with consistent addresses and ports and the data after the STOR in time.
//
//   FtpSessionSpec s;
//   s.mode = FtpMode::kPassive; s.file_name = "q3.csv"; s.data = csv;
//   std::vector<Packet> pkts = ftp_upload_packets(s);   // sorted by time
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/gen/tcp_conversation.h"

namespace dlp::testgen {

enum class FtpMode { kPassive, kActive, kExtendedPassive, kExtendedActive };

struct FtpSessionSpec {
  std::string client_ip = "10.1.0.30";
  std::string server_ip = "203.0.113.21";
  std::uint16_t control_port = 40021;  // the client's control port
  std::string user = "alice";
  std::string password = "s3cret-Pa55";
  FtpMode mode = FtpMode::kPassive;
  std::uint16_t data_port = 50020;  // passive: the server's; active: the client's
  std::string command = "STOR";
  std::string file_name = "upload.bin";
  std::string data;
  std::uint64_t start_ns = 1'709'542'800'000'000'000ull;
};

std::vector<Packet> ftp_upload_packets(const FtpSessionSpec& spec);

}  // namespace dlp::testgen
