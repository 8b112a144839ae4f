#include "tests/gen/ftp_gen.h"

#include <algorithm>

namespace dlp::testgen {
namespace {

constexpr std::uint64_t kStep = 1'000'000;  // 1 ms between control lines

std::string host_port(const std::string& ip, std::uint16_t port) {
  std::string out = ip;
  std::replace(out.begin(), out.end(), '.', ',');
  return out + "," + std::to_string(port / 256) + "," + std::to_string(port % 256);
}

bool is_v6(const std::string& ip) { return ip.find(':') != std::string::npos; }

}  // namespace

FtpScript ftp_upload_script(const FtpSessionSpec& s) {
  FtpScript out;
  const bool active = s.mode == FtpMode::kActive || s.mode == FtpMode::kExtendedActive;
  out.control = {s.client_ip, s.server_ip, s.control_port, 21};
  if (active) {
    out.data = {s.server_ip, s.client_ip, 20, s.data_port};
  } else {
    out.data = {s.client_ip, s.server_ip, static_cast<std::uint16_t>(s.control_port + 1),
                s.data_port};
  }
  std::uint64_t t = s.start_ns + 3 * kStep;  // after the control handshake
  auto srv = [&](const std::string& line) {
    out.chunks.push_back({false, Side::kServer, line + "\r\n", t});
    t += kStep;
  };
  auto cli = [&](const std::string& line) {
    out.chunks.push_back({false, Side::kClient, line + "\r\n", t});
    t += kStep;
  };
  srv("220 ftp.example.net ready");
  cli("USER " + s.user);
  srv("331 Password required for " + s.user);
  cli("PASS " + s.password);
  srv("230-Welcome.");
  srv(" Uploads are logged.");
  srv("230 Logged in");
  cli("TYPE I");
  srv("200 Type set to I");
  switch (s.mode) {
    case FtpMode::kPassive:
      cli("PASV");
      srv("227 Entering Passive Mode (" +
          host_port(s.pasv_announced_ip.empty() ? s.server_ip : s.pasv_announced_ip,
                    s.data_port) + ").");
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
      cli(std::string("EPRT |") + (is_v6(s.client_ip) ? "2" : "1") + "|" + s.client_ip + "|" +
          std::to_string(s.data_port) + "|");
      srv("200 EPRT command successful");
      break;
  }
  if (s.data_connects_early) {
    out.data_connect_ns = t;
    t += 3 * kStep;
  }
  cli(s.command + (s.command == "STOU" || s.file_name.empty() ? "" : " " + s.file_name));
  srv(s.command == "STOU" ? "150 FILE: " + s.stou_name
                          : "150 Opening BINARY mode data connection for " + s.file_name);
  if (!s.data_connects_early) {
    out.data_connect_ns = t;
    t += 3 * kStep;
  }
  // The uploader is the FTP client: the data flow's responder in active mode.
  const Side uploader = active ? Side::kServer : Side::kClient;
  const std::size_t seg = std::max<std::size_t>(1, s.data_segment);
  for (std::size_t i = 0; i < s.data.size(); i += seg) {
    out.chunks.push_back({true, uploader, s.data.substr(i, seg), t});
    t += kStep / 10;
  }
  t += 2 * kStep;  // the data flow's FINs
  srv("226 Transfer complete");
  cli("QUIT");
  srv("221 Goodbye");
  return out;
}

std::vector<Packet> ftp_upload_packets(const FtpSessionSpec& s) {
  const FtpScript script = ftp_upload_script(s);
  auto conversation = [](const FtpFlowEnds& f, std::uint64_t start, std::uint32_t isn) {
    TcpConfig c;
    c.ip = {.src = f.client_ip, .dst = f.server_ip};
    c.client_port = f.client_port;
    c.server_port = f.server_port;
    c.start_ns = start;
    c.step_ns = 100'000;
    c.client_isn = isn;
    c.server_isn = isn + 500'000;
    return TcpConversation(c);
  };
  TcpConversation ctl = conversation(script.control, s.start_ns, 1000);
  TcpConversation data = conversation(script.data, script.data_connect_ns, 90'000);
  ctl.handshake();
  data.handshake();
  // Each conversation's clock is moved to the chunk's time, so the two flows interleave.
  auto at = [](TcpConversation& c, std::uint64_t ts) {
    if (ts > c.now_ns()) c.advance(ts - c.now_ns());
  };
  Side uploader = Side::kClient;
  std::uint64_t data_end = script.data_connect_ns;
  for (const FtpChunk& ch : script.chunks) {
    TcpConversation& c = ch.data_flow ? data : ctl;
    at(c, ch.ts_ns);
    c.send(ch.from, ch.bytes);
    if (ch.data_flow) {
      uploader = ch.from;
      data_end = c.now_ns();
    }
  }
  at(data, data_end);
  data.fin(uploader);
  data.fin(peer_of(uploader));
  ctl.fin();
  std::vector<Packet> out = ctl.take_packets();
  std::vector<Packet> dp = data.take_packets();
  out.insert(out.end(), dp.begin(), dp.end());
  std::stable_sort(out.begin(), out.end(),
                   [](const Packet& a, const Packet& b) { return a.ts_ns < b.ts_ns; });
  return out;
}

}  // namespace dlp::testgen
