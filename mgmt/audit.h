// The audit chain: how each audit row is bound to the one before it.
//
// Rule: hash(row) = hex(SHA-256(prev_hash || "\n" || canonical(row))), where prev_hash is
// the hex hash of the row before (64 zeros for the first row) and canonical(row) is the
// compact JSON array [seq, ts_ns, uid, user, action, target, detail] with object keys
// sorted (nlohmann::json's default ordering) and no whitespace. The store also keeps the
// chain head (last seq and hash) beside the log, so dropping the newest rows is caught
// too. verify_chain() walks the rows in seq order and names the first row that fails:
// a changed field (its hash no longer matches), a deleted or reordered row (seq out of
// sequence, or prev_hash not the hash before it), or a truncated tail (head mismatch).
//
//   AuditEntry e{...};
//   e.prev_hash = last.hash;
//   e.hash = audit_hash(e.prev_hash, e);
//   AuditVerdict v = verify_chain(rows, head_seq, head_hash);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mgmt/store.h"

namespace dlp::mgmt {

inline const std::string kAuditGenesis(64, '0');

std::string audit_canonical(const AuditEntry& e);
std::string audit_hash(const std::string& prev_hash, const AuditEntry& e);
std::string sha256_hex(const std::string& data);

// `rows` in ascending seq order as stored; head_seq/head_hash: the recorded chain head
// (0 and "" when the store has never had a row).
AuditVerdict verify_chain(const std::vector<AuditEntry>& rows, std::int64_t head_seq,
                          const std::string& head_hash);

}  // namespace dlp::mgmt
