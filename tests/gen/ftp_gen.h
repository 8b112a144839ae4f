// An FTP upload as a tap sees it: the control connection (banner, USER/PASS, the data
// channel announcement in the chosen mode, the transfer command, replies, QUIT) and the
// data connection it announces, with consistent addresses and ports and interleaved
// packet time. Two forms of the same session:
//   * ftp_upload_script(): the application bytes in time order, each chunk tagged with
//     its flow (control or data) and the TCP side that sends it, plus both flows' ends,
//     so an inspector test can replay it without packets;
//   * ftp_upload_packets(): the frames (TcpConversation for both flows, handshakes and
//     FINs included), sorted by time, for pcap and end-to-end tests.
//
//   FtpSessionSpec s;
//   s.mode = FtpMode::kPassive; s.file_name = "q3.csv"; s.data = csv;
//   FtpScript script = ftp_upload_script(s);
//   std::vector<Packet> pkts = ftp_upload_packets(s);   // sorted by time
//
// Data flow direction: in passive modes the FTP client connects to the server's data
// port, in active modes the server connects from port 20 to the client's announced port;
// either way the upload is sent by the FTP client.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/gen/tcp_conversation.h"

namespace dlp::testgen {

enum class FtpMode { kPassive, kActive, kExtendedPassive, kExtendedActive };

struct FtpSessionSpec {
  std::string client_ip = "10.1.0.30";  // IPv6 works too (EPRT |2|...|)
  std::string server_ip = "203.0.113.21";
  std::uint16_t control_port = 40021;  // the client's control port
  std::string user = "alice";
  std::string password = "s3cret-Pa55";
  FtpMode mode = FtpMode::kPassive;
  std::uint16_t data_port = 50020;  // passive: the server's; active: the client's
  std::string command = "STOR";     // STOR, APPE, STOU (no argument for STOU)
  std::string file_name = "upload.bin";
  std::string stou_name = "stou.0001";  // STOU: the name the server's 150 reply gives
  std::string data;
  std::size_t data_segment = 1460;  // size of the data chunks
  // The data connection is set up (handshake) before the transfer command is sent; its
  // first byte still follows the 150 reply.
  bool data_connects_early = false;
  // The 227 reply announces this address instead of server_ip (a server behind NAT).
  std::string pasv_announced_ip;
  std::uint64_t start_ns = 1'709'542'800'000'000'000ull;
};

struct FtpFlowEnds {
  std::string client_ip, server_ip;  // the flow's initiator and responder
  std::uint16_t client_port = 0, server_port = 0;
};

struct FtpChunk {
  bool data_flow = false;  // false: control connection
  Side from = Side::kClient;  // the TCP side of that flow that sends it
  std::string bytes;
  std::uint64_t ts_ns = 0;
};

struct FtpScript {
  FtpFlowEnds control, data;
  std::uint64_t data_connect_ns = 0;  // the data flow's SYN
  std::vector<FtpChunk> chunks;       // in time order
};

FtpScript ftp_upload_script(const FtpSessionSpec& spec);
std::vector<Packet> ftp_upload_packets(const FtpSessionSpec& spec);

}  // namespace dlp::testgen
