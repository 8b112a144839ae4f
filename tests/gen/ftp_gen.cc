#include "tests/gen/ftp_gen.h"

#include <algorithm>
#include <sstream>

namespace dlp::testgen {
namespace {

std::string commas(const std::string& ip) {
  std::string out = ip;
  std::replace(out.begin(), out.end(), '.', ',');
  return out;
}

std::string host_port(const std::string& ip, std::uint16_t port) {
  return commas(ip) + "," + std::to_string(port / 256) + "," + std::to_string(port % 256);
}

}  // namespace

std::vector<Packet> ftp_upload_packets(const FtpSessionSpec& s) {
  TcpConfig cc;
  cc.ip = {.src = s.client_ip, .dst = s.server_ip};
  cc.client_port = s.control_port;
  cc.server_port = 21;
  cc.start_ns = s.start_ns;
  TcpConversation ctl(cc);
  ctl.handshake();
  auto srv = [&ctl](const std::string& line) { ctl.send(Side::kServer, line + "\r\n"); };
  auto cli = [&ctl](const std::string& line) { ctl.send(Side::kClient, line + "\r\n"); };
  srv("220 ftp.example.net ready");
  cli("USER " + s.user);
  srv("331 Password required");
  cli("PASS " + s.password);
  srv("230 Logged in");
  cli("TYPE I");
  srv("200 Type set to I");
  const bool active = s.mode == FtpMode::kActive || s.mode == FtpMode::kExtendedActive;
  switch (s.mode) {
    case FtpMode::kPassive:
      cli("PASV");
      srv("227 Entering Passive Mode (" + host_port(s.server_ip, s.data_port) + ").");
      break;
    case FtpMode::kExtendedPassive:
      cli("EPSV");
      srv("229 Entering Extended Passive Mode (|||" + std::to_string(s.data_port) + "|)");
      break;
    case FtpMode::kActive:
      cli("PORT " + host_port(s.client_ip, s.data_port));
      srv("200 PORT command successful");
      break;
    case FtpMode::kExtendedActive:
      cli("EPRT |1|" + s.client_ip + "|" + std::to_string(s.data_port) + "|");
      srv("200 EPRT command successful");
      break;
  }
  cli(s.command + (s.file_name.empty() ? "" : " " + s.file_name));
  srv("150 Opening BINARY mode data connection");

  std::vector<Packet> out = ctl.take_packets();
  const std::uint64_t data_start = out.back().ts_ns + 1'000'000;

  TcpConfig dc;
  if (active) {
    dc.ip = {.src = s.server_ip, .dst = s.client_ip};  // the server connects from port 20
    dc.client_port = 20;
    dc.server_port = s.data_port;
  } else {
    dc.ip = {.src = s.client_ip, .dst = s.server_ip};
    dc.client_port = static_cast<std::uint16_t>(s.control_port + 1);
    dc.server_port = s.data_port;
  }
  dc.start_ns = data_start;
  dc.step_ns = 100'000;
  TcpConversation data(dc);
  data.handshake();
  // The uploader is the FTP client: the data flow's responder in active mode.
  data.send(active ? Side::kServer : Side::kClient, s.data);
  data.fin(active ? Side::kServer : Side::kClient);
  data.fin(active ? Side::kClient : Side::kServer);
  std::vector<Packet> dp = data.take_packets();

  // The control connection goes on after the transfer.
  srv("226 Transfer complete");
  cli("QUIT");
  srv("221 Goodbye");
  ctl.fin();
  std::vector<Packet> rest = ctl.take_packets();
  const std::uint64_t shift = dp.back().ts_ns + 1'000'000 > rest.front().ts_ns
                                  ? dp.back().ts_ns + 1'000'000 - rest.front().ts_ns
                                  : 0;
  for (Packet& p : rest) p.ts_ns += shift;
  out.insert(out.end(), dp.begin(), dp.end());
  out.insert(out.end(), rest.begin(), rest.end());
  std::stable_sort(out.begin(), out.end(), [](const Packet& a, const Packet& b) { return a.ts_ns < b.ts_ns; });
  return out;
}

}  // namespace dlp::testgen
