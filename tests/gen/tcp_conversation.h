// A scripted TCP conversation between a client and a server that produces the packets a
// tap would see: handshake, data segmented at a chosen size with the peer's ACKs, FIN or
// RST close. Sequence numbers start from chosen ISNs (so a test can cross the 2^32 wrap,
// e.g. client_isn = 0xFFFFFF00) and every packet gets the conversation clock (start, step).
// The result is a plain vector of packets so a test can reorder, duplicate, drop, or insert
// crafted (overlapping) segments before writing it.
//
//   TcpConfig cfg;
//   cfg.ip = {.src = "10.1.0.10", .dst = "203.0.113.80"};
//   cfg.client_port = 40001; cfg.server_port = 80; cfg.client_isn = 0xFFFFFF00;
//   TcpConversation c(cfg);
//   c.handshake();
//   c.send(Side::kClient, http_post("example.com", "/up", body, "text/plain"), 1460);
//   c.send(Side::kServer, http_response(200, "ok"));
//   c.fin();
//   auto pkts = c.packets();
//   std::swap(pkts[4].frame, pkts[5].frame);                       // out of order
//   pkts.push_back(c.segment_at(Side::kClient, 10, dlp::as_bytes("XXXX")));  // overlap
//
// Midstream capture: skip handshake(); the first data byte of each side is still ISN + 1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "tests/gen/frames.h"

namespace dlp::testgen {

enum class Side { kClient, kServer };

inline Side peer_of(Side s) { return s == Side::kClient ? Side::kServer : Side::kClient; }

struct TcpConfig {
  // As seen on client→server frames (src = client). Server→client frames use the same
  // VLANs with MACs and addresses swapped, unless server_l2 / server_ip override them.
  L2 l2;
  Ip ip{.src = "10.1.0.10", .dst = "203.0.113.80"};
  std::optional<L2> server_l2;  // L2 of server→client frames, when not the mirror image
  std::optional<Ip> server_ip;  // Ip of server→client frames, when not the mirror image
  std::uint16_t client_port = 40000;
  std::uint16_t server_port = 80;
  std::uint32_t client_isn = 1000;
  std::uint32_t server_isn = 700000;
  std::uint64_t start_ns = 1'709'542'800'000'000'000ull;  // 2024-03-04T09:00:00Z
  std::uint64_t step_ns = 1'000'000;                      // clock advance per packet
  std::uint16_t window = 65535;
  std::uint16_t mss = 1460;    // MSS option on SYN / SYN-ACK
  std::size_t ack_every = 2;   // the receiver ACKs every n-th data segment and the last one
};

class TcpConversation {
 public:
  explicit TcpConversation(TcpConfig config);

  // SYN (with MSS), SYN-ACK (with MSS), ACK.
  void handshake();
  // Sends `data` from `from` in segments of at most segment_size bytes (ACK on all, PSH on
  // the last); the peer ACKs every config.ack_every segments and after the last.
  void send(Side from, std::span<const std::uint8_t> data, std::size_t segment_size = 1460);
  void send(Side from, std::string_view data, std::size_t segment_size = 1460);
  // Like send(), but segment boundaries are at the given ascending offsets into `data`
  // (e.g. {100, 2000} → segments [0,100) [100,2000) [2000,end)).
  void send_cut(Side from, std::span<const std::uint8_t> data,
                std::span<const std::size_t> cut_offsets);
  // Orderly close: client FIN|ACK, server FIN|ACK, client ACK.
  void fin();
  // One side's FIN|ACK, and the peer's ACK of it.
  void fin(Side from);
  // RST|ACK from `from` at its current sequence number.
  void rst(Side from);
  // A bare ACK from `from` acknowledging everything the peer sent so far.
  void ack(Side from);

  // Builds (does not append) one data segment (ACK|PSH unless flags given) carrying
  // `data` at stream offset rel_seq_offset of `from`'s stream (offset 0 = ISN + 1),
  // acknowledging what the peer sent so far, stamped with the current clock.
  Packet segment_at(Side from, std::uint32_t rel_seq_offset, std::span<const std::uint8_t> data,
                    std::uint8_t flags = kTcpAck | kTcpPsh) const;
  // Builds (does not append) an arbitrary segment from `from`.
  Frame frame(Side from, std::uint32_t seq, std::uint32_t ack, std::uint8_t flags,
              std::span<const std::uint8_t> payload,
              std::span<const std::uint8_t> tcp_options = {}) const;
  // Appends a packet (e.g. from segment_at) stamped with the clock, which then advances.
  void push(Frame frame);

  const std::vector<Packet>& packets() const { return packets_; }
  // Moves the packets produced so far out (the conversation continues from its state).
  std::vector<Packet> take_packets();

  std::uint32_t isn(Side s) const;
  // Sequence number of the next byte `s` would send (SYN/FIN count as one).
  std::uint32_t next_seq(Side s) const;
  // Data bytes `s` has sent so far.
  std::uint64_t bytes_sent(Side s) const;
  std::uint64_t now_ns() const { return now_ns_; }
  void advance(std::uint64_t ns) { now_ns_ += ns; }
  const TcpConfig& config() const { return config_; }

 private:
  struct Dir {
    L2 l2;
    Ip ip;
    std::uint16_t sport = 0, dport = 0;
    std::uint32_t isn = 0;
    std::uint32_t next_seq = 0;
    std::uint64_t data_bytes = 0;
  };
  Dir& dir(Side s) { return s == Side::kClient ? client_ : server_; }
  const Dir& dir(Side s) const { return s == Side::kClient ? client_ : server_; }
  void emit(Side from, std::uint32_t seq, std::uint8_t flags, std::span<const std::uint8_t> payload,
            std::span<const std::uint8_t> options = {});

  TcpConfig config_;
  Dir client_, server_;
  std::uint64_t now_ns_;
  std::vector<Packet> packets_;
};

}  // namespace dlp::testgen
