// Packet sources backed by libpcap: capture files (pcap and pcapng, several in order)
// and live interfaces. A truncated or corrupt file ends that file with an error naming
// the file and the packet number; every packet before it has already been handed over,
// and reading goes on with the next file.
//
//   PcapFileSource src({"a.pcap", "b.pcapng"});
//   RawPacket burst[32];
//   while (std::size_t n = src.next_burst(burst)) { ... }
//   for (auto& e : src.errors()) std::cerr << e.message << "\n";
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/dlp/result.h"
#include "dataplane/packet.h"

namespace dlp::dataplane {

class PacketSource {
 public:
  virtual ~PacketSource() = default;
  // Fill up to out.size() packets; 0 means the source is exhausted (or stopped).
  // The packets' data stays valid until the next call.
  virtual std::size_t next_burst(std::span<RawPacket> out) = 0;
  // Errors met so far (file, packet number, reason). Reading continues after them.
  virtual const std::vector<Error>& errors() const = 0;
  // Progress for a progress bar: bytes of input consumed and total (0 if unknown).
  virtual std::uint64_t bytes_read() const { return 0; }
  virtual std::uint64_t bytes_total() const { return 0; }
};

class PcapFileSource final : public PacketSource {
 public:
  explicit PcapFileSource(std::vector<std::string> paths);
  ~PcapFileSource() override;
  std::size_t next_burst(std::span<RawPacket> out) override;
  const std::vector<Error>& errors() const override { return errors_; }
  std::uint64_t bytes_read() const override;
  std::uint64_t bytes_total() const override { return total_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<Error> errors_;
  std::uint64_t total_ = 0;
};

struct LiveOptions {
  std::string interface;
  std::string bpf_filter;  // optional, e.g. "tcp or udp"
  int snaplen = 65535;
  bool promiscuous = true;
  int timeout_ms = 100;
};

class PcapLiveSource final : public PacketSource {
 public:
  // Opening fails with a clear error (no such device, permission).
  static Result<std::unique_ptr<PcapLiveSource>> open(const LiveOptions& opts);
  ~PcapLiveSource() override;
  std::size_t next_burst(std::span<RawPacket> out) override;
  const std::vector<Error>& errors() const override { return errors_; }
  // Make next_burst() return 0 from now on (safe from a signal handler).
  void stop();

 private:
  PcapLiveSource() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<Error> errors_;
};

}  // namespace dlp::dataplane
