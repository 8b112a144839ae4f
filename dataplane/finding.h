// A Finding as it leaves the dataplane: one detector in one content stream, with the flow
// it came from and the content's metadata. The value itself is never here: only masked
// forms and keyed hashes. mgmt adds identity, policy and risk before anything is written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/packet.h"
#include "dataplane/verdict.h"
#include "inspectors/inspector.h"
#include "signatures/detector.h"

namespace dlp::dataplane {

struct Finding {
  std::uint64_t ts_ns = 0;        // packet time of the first validated match
  std::uint64_t finding_id = 0;   // unique per run: worker id in the top 16 bits
  std::string detector;           // "pci.credit_card"
  std::string detector_name;
  std::string category;           // "credit_card"
  std::string severity;
  signatures::Confidence confidence = signatures::Confidence::medium;
  std::uint32_t count = 0;
  std::vector<std::string> masked;
  std::vector<std::uint64_t> hashes;
  std::uint64_t stream_offset = 0;  // where in the content stream the first match was
  // The sender of the content (for outbound content: the client).
  IpAddr src_ip, dst_ip;
  std::uint16_t src_port = 0, dst_port = 0;
  std::uint8_t transport = 6;  // IP protocol number
  inspectors::ContentMeta meta;
  std::vector<std::string> reasons;  // why it was reported at this confidence
  // Inline only: what the dataplane did to the flow because of this finding (pass when
  // nothing, or when inspecting offline).
  Verdict verdict = Verdict::pass;
};

}  // namespace dlp::dataplane
