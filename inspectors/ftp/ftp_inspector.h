// FTP: the control channel names the user and the files; the files travel on data
// connections the control channel announces (PORT/EPRT for active mode, the 227/229
// answers to PASV/EPSV for passive mode). The factory keeps those announcements as
// expectations (shared by all workers, behind a mutex, touched per announcement and per
// new flow only, expiring in packet time), claims the data flow when it appears, and
// gives it a data inspector that scans the upload as one content stream with the file
// name, the command (STOR, APPE, STOU) and the user.
//
//   FtpInspectorFactory ftp;   // registered: claims come before probes and ports
//   control flow 10.0.0.9:40021 -> 10.0.0.5:21:
//     USER alice / PASV -> 227 (10,0,0,5,78,52) / STOR q3.xlsx -> 150
//   data flow 10.0.0.9:51000 -> 10.0.0.5:20020: ftp.claim() is true; ftp.create() gives
//     the data inspector; the client's bytes are one stream (app ftp, dir to_server,
//     file_name "q3.xlsx", ftp_command "STOR", user_hint "alice")
//
// Which bytes are the upload: in passive mode the FTP client opens the data connection,
// so the file is the data flow's to_server direction; in active mode (PORT/EPRT) the
// server connects back to the client, so the file travels from the flow's responder,
// to_client. Downloads (RETR) and listings are not scanned: egress DLP cares about what
// leaves. Bytes the client sends on a download's connection are still scanned (weird).
//
// The data inspector reads the transfer's name at its first byte, from the record it
// shares with the control inspector, so a data connection that is set up before the
// STOR line has been parsed still gets the name. After AUTH TLS/SSL is accepted the rest
// of the control session is encrypted (a flow note). PASS is never kept anywhere.
//
// Bounds: a control line is at most 2 KiB (longer: "ftp.line_too_long", skipped to its
// LF); a control flow has at most one announcement pending (a newer one replaces it, as
// the server does), a run of 64 announcements without a transfer is "ftp.announcement_flood";
// the table holds at most kMaxExpectations (the oldest gives way, FtpStats::evicted), each
// for kExpectNs of packet time.
//
// A control inspector registers with the factory that made it, so the factory must
// outlive its inspectors (the registry holds it for the life of the workers).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "inspectors/inspector.h"

namespace dlp::inspectors {

// One transfer announced on a control connection; shared with its data inspector. The
// control inspector fills it in as the transfer command and the replies arrive; the data
// inspector reads it once, at its first byte. Guarded by `mu` (per transfer, not per packet).
struct FtpTransfer {
  std::mutex mu;
  std::string file_name;
  std::string command;  // STOR, APPE, STOU, RETR, LIST, ...
  std::string user;
  bool named = false;   // a transfer command has been seen
};

struct FtpExpectation {
  Ip16 connector{};     // who opens the data connection (the data flow's client)
  Ip16 listener{};      // who accepts it (the data flow's server)
  Ip16 alt_listener{};  // passive: the control server's own address (a NATed 227)
  std::uint16_t port = 0;
  bool active = false;  // PORT/EPRT: the server connects to the client
  std::uint64_t owner = 0;  // the announcing control flow (one pending per owner)
  std::uint64_t expires_ns = 0;
  std::shared_ptr<FtpTransfer> transfer;
};

struct FtpStats {
  std::uint64_t expectations = 0;  // announcements registered
  std::uint64_t claimed = 0;       // data flows matched
  std::uint64_t expired = 0;       // dropped unused after kExpectNs
  std::uint64_t evicted = 0;       // dropped because the table was full
  std::uint64_t replaced = 0;      // superseded by a newer announcement of the same flow
  std::uint64_t pending = 0;       // in the table now
};

class FtpInspectorFactory final : public InspectorFactory {
 public:
  static constexpr std::uint64_t kExpectNs = 120'000'000'000ull;  // 2 minutes
  static constexpr std::size_t kMaxExpectations = 4096;

  explicit FtpInspectorFactory(const Limits& limits = {}) : limits_(limits) {}
  App app() const override { return App::ftp; }
  std::string_view name() const override { return "ftp"; }
  bool wants_port(std::uint16_t server_port) const override { return server_port == 21; }
  // "USER " (any case) at the start of the client's bytes (a shorter prefix of it too).
  bool probe(Bytes first_client_bytes) const override;
  // A TCP flow some control flow announced and that has not expired.
  bool claim(const FlowInfo& flow) const override;
  // The data inspector for a claimed flow (the expectation is used up), else a control
  // inspector.
  std::unique_ptr<Inspector> create(ContentSink& sink, const FlowInfo& flow) const override;

  // Called by control inspectors. Replaces the owner's pending expectation, if any;
  // returns true when it did.
  bool expect(FtpExpectation e) const;
  // A new owner id for a control flow.
  std::uint64_t new_owner() const { return next_owner_.fetch_add(1, std::memory_order_relaxed); }
  FtpStats stats() const;
  const Limits& limits() const { return limits_; }

 private:
  // Finds (and with `take`, removes) the expectation a new flow fulfils.
  std::shared_ptr<FtpTransfer> match(const FlowInfo& flow, bool take, bool* active) const;
  // Removal that keeps port_count_ right; mu_ held.
  void erase_at(std::size_t i) const;

  Limits limits_;
  mutable std::mutex mu_;
  mutable std::deque<FtpExpectation> expected_;  // oldest first
  mutable FtpStats stats_;
  // Pending expectations per data-port bucket (port % kPortBuckets), readable without the
  // lock: almost every new flow goes to a port nothing was announced for, and it should
  // not queue on mu_ (or scan the table) to learn that. Written under mu_.
  static constexpr std::size_t kPortBuckets = 4096;
  static std::size_t bucket(std::uint16_t port) { return port % kPortBuckets; }
  mutable std::unique_ptr<std::atomic<std::uint16_t>[]> port_count_{
      new std::atomic<std::uint16_t>[kPortBuckets]()};
  mutable std::atomic<std::uint64_t> next_owner_{1};
};

}  // namespace dlp::inspectors
