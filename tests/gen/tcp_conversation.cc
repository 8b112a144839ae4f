// Scripted TCP conversation: see tcp_conversation.h. Sequence arithmetic is modulo 2^32
// (uint32_t wraps), as in RFC 9293.
#include "tests/gen/tcp_conversation.h"

#include <stdexcept>
#include <utility>

namespace dlp::testgen {

TcpConversation::TcpConversation(TcpConfig config)
    : config_(std::move(config)), now_ns_(config_.start_ns) {
  client_.l2 = config_.l2;
  client_.ip = config_.ip;
  client_.sport = config_.client_port;
  client_.dport = config_.server_port;
  client_.isn = config_.client_isn;
  client_.next_seq = config_.client_isn + 1;

  if (config_.server_l2) {
    server_.l2 = *config_.server_l2;
  } else {
    server_.l2 = config_.l2;
    std::swap(server_.l2.src_mac, server_.l2.dst_mac);
  }
  if (config_.server_ip) {
    server_.ip = *config_.server_ip;
  } else {
    server_.ip = config_.ip;
    std::swap(server_.ip.src, server_.ip.dst);
  }
  server_.sport = config_.server_port;
  server_.dport = config_.client_port;
  server_.isn = config_.server_isn;
  server_.next_seq = config_.server_isn + 1;
  // Validate the addresses early so a bad config fails at construction.
  (void)is_ipv6(client_.ip);
  (void)is_ipv6(server_.ip);
  if (config_.ack_every == 0) throw std::invalid_argument("testgen: ack_every must be >= 1");
}

Frame TcpConversation::frame(Side from, std::uint32_t seq, std::uint32_t ack, std::uint8_t flags,
                             std::span<const std::uint8_t> payload,
                             std::span<const std::uint8_t> tcp_options) const {
  const Dir& d = dir(from);
  return tcp_frame(d.l2, d.ip, d.sport, d.dport, seq, ack, flags, payload, config_.window,
                   tcp_options);
}

void TcpConversation::push(Frame f) {
  packets_.push_back({now_ns_, std::move(f)});
  now_ns_ += config_.step_ns;
}

void TcpConversation::emit(Side from, std::uint32_t seq, std::uint8_t flags,
                           std::span<const std::uint8_t> payload,
                           std::span<const std::uint8_t> options) {
  const std::uint32_t ack = (flags & kTcpAck) ? dir(peer_of(from)).next_seq : 0;
  push(frame(from, seq, ack, flags, payload, options));
}

void TcpConversation::handshake() {
  const auto mss = tcp_mss_option(config_.mss);
  emit(Side::kClient, client_.isn, kTcpSyn, {}, mss);
  emit(Side::kServer, server_.isn, kTcpSyn | kTcpAck, {}, mss);
  emit(Side::kClient, client_.next_seq, kTcpAck, {});
}

void TcpConversation::send(Side from, std::span<const std::uint8_t> data,
                           std::size_t segment_size) {
  if (segment_size == 0) throw std::invalid_argument("testgen: segment_size must be >= 1");
  std::vector<std::size_t> cuts;
  for (std::size_t off = segment_size; off < data.size(); off += segment_size) cuts.push_back(off);
  send_cut(from, data, cuts);
}

void TcpConversation::send(Side from, std::string_view data, std::size_t segment_size) {
  send(from, {reinterpret_cast<const std::uint8_t*>(data.data()), data.size()}, segment_size);
}

void TcpConversation::send_cut(Side from, std::span<const std::uint8_t> data,
                               std::span<const std::size_t> cut_offsets) {
  Dir& d = dir(from);
  std::size_t start = 0;
  std::size_t segments = 0;
  for (std::size_t i = 0; i <= cut_offsets.size(); ++i) {
    const std::size_t end = i < cut_offsets.size() ? cut_offsets[i] : data.size();
    if (end < start || end > data.size())
      throw std::invalid_argument("testgen: cut offsets must ascend within the data");
    if (end == start) continue;
    const bool last = end == data.size();
    emit(from, d.next_seq, static_cast<std::uint8_t>(kTcpAck | (last ? kTcpPsh : 0)),
         data.subspan(start, end - start));
    d.next_seq += static_cast<std::uint32_t>(end - start);
    d.data_bytes += end - start;
    ++segments;
    if (last || segments % config_.ack_every == 0) ack(peer_of(from));
    start = end;
  }
}

void TcpConversation::ack(Side from) { emit(from, dir(from).next_seq, kTcpAck, {}); }

void TcpConversation::fin(Side from) {
  Dir& d = dir(from);
  emit(from, d.next_seq, kTcpFin | kTcpAck, {});
  d.next_seq += 1;
  ack(peer_of(from));
}

void TcpConversation::fin() {
  emit(Side::kClient, client_.next_seq, kTcpFin | kTcpAck, {});
  client_.next_seq += 1;
  emit(Side::kServer, server_.next_seq, kTcpFin | kTcpAck, {});
  server_.next_seq += 1;
  ack(Side::kClient);
}

void TcpConversation::rst(Side from) { emit(from, dir(from).next_seq, kTcpRst | kTcpAck, {}); }

Packet TcpConversation::segment_at(Side from, std::uint32_t rel_seq_offset,
                                   std::span<const std::uint8_t> data, std::uint8_t flags) const {
  const std::uint32_t seq = dir(from).isn + 1 + rel_seq_offset;
  const std::uint32_t ack = (flags & kTcpAck) ? dir(peer_of(from)).next_seq : 0;
  return {now_ns_, frame(from, seq, ack, flags, data)};
}

std::vector<Packet> TcpConversation::take_packets() {
  std::vector<Packet> out;
  out.swap(packets_);
  return out;
}

std::uint32_t TcpConversation::isn(Side s) const { return dir(s).isn; }
std::uint32_t TcpConversation::next_seq(Side s) const { return dir(s).next_seq; }
std::uint64_t TcpConversation::bytes_sent(Side s) const { return dir(s).data_bytes; }

}  // namespace dlp::testgen
