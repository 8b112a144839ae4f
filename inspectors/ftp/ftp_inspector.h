// FTP: the control channel names the user and the files; the files travel on data
// connections the control channel announces (PORT/EPRT for active mode, the 227/229
// answers to PASV/EPSV for passive mode). The factory keeps those announcements as
// expectations (shared by all workers, behind a mutex, touched per control command and
// per new flow only, expiring in packet time), claims the data flow when it appears, and
// gives it a data inspector that scans the upload as one content stream with the file
// name, the command (STOR, APPE, STOU) and the user.
//
//   FtpInspectorFactory ftp;   // registered: claims come before probes and ports
//   control flow:  USER alice / PASV -> 227 (10,0,0,5,78,52) / STOR q3.xlsx
//   data flow 10.0.0.9:51000 -> 10.0.0.5:20020: claimed; its client bytes are one stream
//     (app ftp, file_name "q3.xlsx", ftp_command "STOR", user_hint "alice")
//
// Downloads (RETR) and listings are not scanned: egress DLP cares about what leaves.
// After AUTH TLS is accepted the rest of the control session is encrypted (noted).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "inspectors/inspector.h"

namespace dlp::inspectors {

// One transfer announced on a control connection; shared with its data inspector.
struct FtpTransfer {
  std::mutex mu;
  std::string file_name;
  std::string command;  // STOR, APPE, STOU, RETR, LIST, ...
  std::string user;
  bool named = false;   // a transfer command has been seen
};

struct FtpExpectation {
  Ip16 connector{};   // who opens the data connection
  Ip16 listener{};    // who accepts it
  std::uint16_t port = 0;
  bool active = false;  // PORT/EPRT: the server connects to the client
  std::uint64_t expires_ns = 0;
  std::shared_ptr<FtpTransfer> transfer;
};

struct FtpStats {
  std::uint64_t expectations = 0;
  std::uint64_t claimed = 0;
  std::uint64_t expired = 0;
  std::uint64_t evicted = 0;
};

class FtpInspectorFactory final : public InspectorFactory {
 public:
  static constexpr std::uint64_t kExpectNs = 120'000'000'000ull;  // 2 minutes
  static constexpr std::size_t kMaxExpectations = 4096;

  explicit FtpInspectorFactory(const Limits& limits = {}) : limits_(limits) {}
  App app() const override { return App::ftp; }
  std::string_view name() const override { return "ftp"; }
  bool wants_port(std::uint16_t server_port) const override { return server_port == 21; }
  bool probe(Bytes first_client_bytes) const override;
  bool claim(const FlowInfo& flow) const override;
  std::unique_ptr<Inspector> create(ContentSink& sink, const FlowInfo& flow) const override;

  // Called by control inspectors.
  void expect(FtpExpectation e) const;
  FtpStats stats() const;

 private:
  // Finds (and with `take`, removes) the expectation a new flow fulfils.
  std::shared_ptr<FtpTransfer> match(const FlowInfo& flow, bool take, bool* active) const;

  Limits limits_;
  mutable std::mutex mu_;
  mutable std::deque<FtpExpectation> expected_;
  mutable FtpStats stats_;
};

}  // namespace dlp::inspectors
