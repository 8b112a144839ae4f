// Inline verdicts: what the appliance does with a flow once its content is judged.
//
//   pass  - forward, as if nothing was found (findings are still reported);
//   drop  - the segment that completes the match and every later packet of the flow, in
//           both directions, are not forwarded;
//   reset - the same, plus a TCP RST towards each end, so neither waits for a timeout.
//
// The decision is the first matching rule of the enforcement snapshot's action table
// (category, detector, minimum confidence), made strongest-first per packet: a packet that
// completes a card (reset) and a marker (drop) resets. The snapshot also carries per-source
// overrides the management plane publishes (risk-adaptive: a source whose user is at
// critical risk has every validated finding blocked). Workers read the snapshot without a
// lock: it is published through an RCU cell (dataplane/rcu.h) and never changed in place.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/dlp/bytes.h"
#include "dataplane/packet.h"
#include "signatures/detector.h"

namespace dlp::dataplane {

enum class Verdict : std::uint8_t { pass = 0, drop = 1, reset = 2 };
std::string_view verdict_name(Verdict v);
bool parse_verdict(std::string_view s, Verdict& out);  // "pass" | "drop" | "reset"

struct ActionRule {
  std::string category;  // empty: any
  std::string detector;  // empty: any; else the detector id ("pci.credit_card")
  signatures::Confidence min_confidence = signatures::Confidence::low;
  Verdict verdict = Verdict::pass;
  std::string source;  // "file:line" of the rule, named in the finding's reasons
};

struct IpAddrHash {
  std::size_t operator()(const IpAddr& a) const noexcept;
};

struct Enforcement {
  std::uint64_t version = 0;
  std::vector<ActionRule> actions;  // first match wins
  // Sender address -> verdict for any validated finding it sends (management plane,
  // risk-adaptive), applied when stronger than the action table's.
  std::unordered_map<IpAddr, Verdict, IpAddrHash> sources;

  // The verdict for one finding of `category`/`detector` at `confidence` sent by `src`;
  // `rule` names the rule that decided (nullptr for none).
  Verdict decide(std::string_view category, std::string_view detector,
                 signatures::Confidence confidence, const IpAddr& src,
                 const ActionRule** rule = nullptr) const;
  bool active() const { return !actions.empty() || !sources.empty(); }
};

// A TCP RST built from the packet that triggered a reset. `toward_sender` frames go back
// out of the port the trigger came in on; the others continue the trigger's direction.
struct ResetFrame {
  std::vector<std::uint8_t> frame;
  bool toward_sender = false;
};

// What the reassembler knew just before the trigger was processed, so the RSTs carry the
// sequence numbers each end will accept (RFC 5961: exactly rcv_nxt).
struct ResetSeq {
  std::uint32_t to_receiver_seq = 0;  // the first byte the trigger's receiver has not got
  std::uint32_t to_sender_seq = 0;    // the first byte the trigger's sender has not got
};

// Builds the two RSTs for a trigger frame (Ethernet with up to two VLAN tags, IPv4 or
// IPv6, TCP), each with its L2 header copied (MACs swapped toward the sender), a fresh IP
// header (TTL 64, no options), correct IP and TCP checksums. Returns false (nothing
// appended) when the frame is not TCP over Ethernet.
bool build_resets(Bytes trigger, std::uint32_t linktype, const ResetSeq& seq,
                  std::vector<ResetFrame>& out);

// One's-complement checksum helpers (RFC 1071), exposed for tests.
std::uint16_t inet_checksum(const std::uint8_t* p, std::size_t n, std::uint32_t seed = 0);

}  // namespace dlp::dataplane
