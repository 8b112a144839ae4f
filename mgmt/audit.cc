#include "mgmt/audit.h"

#include <openssl/evp.h>

#include <cstdio>

namespace dlp::mgmt {

std::string sha256_hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string audit_canonical(const AuditEntry& e) {
  // nlohmann::json (not ordered_json) keeps object keys sorted: one canonical form.
  const nlohmann::json detail = nlohmann::json::parse(e.detail.dump());
  nlohmann::json row = nlohmann::json::array(
      {e.seq, e.ts_ns, e.uid, e.user, e.action, e.target, detail});
  return row.dump();
}

std::string audit_hash(const std::string& prev_hash, const AuditEntry& e) {
  return sha256_hex(prev_hash + "\n" + audit_canonical(e));
}

AuditVerdict verify_chain(const std::vector<AuditEntry>& rows, std::int64_t head_seq,
                          const std::string& head_hash) {
  AuditVerdict v;
  v.rows = static_cast<std::int64_t>(rows.size());
  std::string prev = kAuditGenesis;
  std::int64_t expect = 1;
  auto fail = [&](std::int64_t seq, std::string why) {
    v.ok = false;
    v.first_bad = seq;
    v.reason = std::move(why);
    v.head_hash = prev;
    return v;
  };
  for (const AuditEntry& e : rows) {
    if (e.seq != expect) {
      return fail(e.seq, "row " + std::to_string(e.seq) + " found where row " +
                             std::to_string(expect) + " was expected (a row was deleted or moved)");
    }
    if (e.prev_hash != prev) {
      return fail(e.seq, "row " + std::to_string(e.seq) +
                             ": prev_hash does not match the hash of the row before");
    }
    if (audit_hash(prev, e) != e.hash) {
      return fail(e.seq, "row " + std::to_string(e.seq) +
                             ": content does not match its hash (the row was edited)");
    }
    prev = e.hash;
    ++expect;
  }
  if (head_seq != expect - 1 || (head_seq > 0 && head_hash != prev)) {
    return fail(expect, "the chain ends at row " + std::to_string(expect - 1) +
                            " but the recorded head is row " + std::to_string(head_seq) +
                            " (rows at the end were deleted or the head was changed)");
  }
  v.head_hash = prev;
  return v;
}

}  // namespace dlp::mgmt
