#include "dataplane/defrag.h"

#include <algorithm>
#include <cstring>
#include <list>
#include <unordered_map>

namespace dlp::dataplane {
namespace {

constexpr std::size_t kMaxDatagram = 65535;

struct Key {
  IpAddr src, dst;
  std::uint32_t id = 0;
  std::uint8_t proto = 0;    // IPv4 protocol; 0 for IPv6 (the id alone names the datagram)
  std::uint8_t version = 0;
  bool operator==(const Key&) const = default;
};

struct KeyHash {
  std::size_t operator()(const Key& k) const {
    // FNV-1a over the fields: fragments are rare, a simple hash is plenty.
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&h](const std::uint8_t* p, std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    };
    mix(k.src.b.data(), 16);
    mix(k.dst.b.data(), 16);
    const std::uint8_t tail[6] = {static_cast<std::uint8_t>(k.id), static_cast<std::uint8_t>(k.id >> 8),
                                  static_cast<std::uint8_t>(k.id >> 16),
                                  static_cast<std::uint8_t>(k.id >> 24), k.proto, k.version};
    mix(tail, sizeof tail);
    return static_cast<std::size_t>(h);
  }
};

struct Range {
  std::uint32_t start = 0, end = 0;  // [start, end)
};

struct Pending {
  std::vector<std::uint8_t> buf;    // the fragmentable part, as far as any fragment reached
  std::vector<Range> have;          // received bytes: sorted, disjoint, merged
  std::vector<Range> frags;         // each accepted fragment, for duplicates and the cap
  std::uint32_t total = 0;          // known once the last fragment (MF/M = 0) arrived
  bool total_known = false;
  std::uint8_t proto = 0;           // L4 (IPv4) / next header of the offset-0 fragment (IPv6)
  std::uint64_t first_ns = 0;
  std::list<Key>::iterator age;     // position in the oldest-first list
};

// Bytes of IPv6 extension headers to skip at the start of a reassembled fragmentable
// part (RFC 8200 allows destination options, routing and AH there); returns false when a
// header runs past the end. `proto` becomes the protocol after them.
bool skip_ipv6_ext(const std::vector<std::uint8_t>& b, std::uint8_t& proto, std::size_t& pos) {
  for (int n = 0; n < 8; ++n) {
    std::size_t len;
    if (proto == 43 || proto == 60) {
      if (pos + 2 > b.size()) return false;
      len = (std::size_t{b[pos + 1]} + 1) * 8;
    } else if (proto == 51) {
      if (pos + 2 > b.size()) return false;
      len = (std::size_t{b[pos + 1]} + 2) * 4;
    } else {
      return true;
    }
    if (pos + len > b.size()) return false;
    proto = b[pos];
    pos += len;
  }
  return true;  // too many: leave proto an extension header, decode_l4 refuses it
}

}  // namespace

struct Defragmenter::Impl {
  explicit Impl(const DefragConfig& c) : cfg(c) {}
  DefragConfig cfg;
  std::unordered_map<Key, Pending, KeyHash> pending;
  std::list<Key> by_age;  // front = oldest first fragment
  std::uint64_t bytes = 0;
  std::vector<Range> scratch;  // for merging received ranges

  void drop(std::unordered_map<Key, Pending, KeyHash>::iterator it) {
    bytes -= it->second.buf.size();
    by_age.erase(it->second.age);
    pending.erase(it);
  }
  void drop_oldest() { drop(pending.find(by_age.front())); }
};

Defragmenter::Defragmenter(const DefragConfig& cfg) : impl_(std::make_unique<Impl>(cfg)) {}
Defragmenter::~Defragmenter() = default;

std::uint64_t Defragmenter::pending_bytes() const { return impl_->bytes; }
std::uint64_t Defragmenter::pending_datagrams() const { return impl_->pending.size(); }

void Defragmenter::expire(std::uint64_t now_ns) {
  Impl& m = *impl_;
  // Oldest first: the list is in arrival order, so the first one still young ends the walk.
  while (!m.by_age.empty()) {
    auto it = m.pending.find(m.by_age.front());
    if (now_ns < it->second.first_ns || now_ns - it->second.first_ns <= m.cfg.timeout_ns) break;
    m.drop(it);
    ++counters_.timeouts;
  }
}

std::optional<Datagram> Defragmenter::add(Decoded& d, std::uint64_t now_ns) {
  Impl& m = *impl_;
  ++counters_.fragments;
  const bool v6 = d.ip_version == 6;
  const Key key{d.src, d.dst, d.frag_id, v6 ? std::uint8_t{0} : d.proto, d.ip_version};
  auto it = m.pending.find(key);
  if (it != m.pending.end() && now_ns >= it->second.first_ns &&
      now_ns - it->second.first_ns > m.cfg.timeout_ns) {
    m.drop(it);  // a stale datagram with a reused id: never mix the two
    ++counters_.timeouts;
    it = m.pending.end();
  }
  // Drops the fragment; for IPv6 the datagram it belongs to as well.
  auto reject = [&](std::uint64_t& counter, bool whole) -> std::optional<Datagram> {
    ++counter;
    if (whole && it != m.pending.end()) m.drop(it);
    return std::nullopt;
  };

  const std::size_t len = d.frag_payload.size();
  const std::size_t off = d.frag_offset;
  const std::size_t end = off + len;
  // The reassembled datagram's length field must hold it: IPv4 total length counts the
  // header; IPv6 payload length counts the unfragmentable extension headers (without the
  // fragment header).
  const std::size_t hdr = static_cast<std::size_t>(d.frag_payload.data() - d.l3.data());
  const std::size_t reassembled = v6 ? hdr - 40 - 8 + end : hdr + end;
  if (reassembled > kMaxDatagram) return reject(counters_.too_big, true);
  if (len == 0 || (d.frag_more && len % 8 != 0)) return reject(counters_.invalid, v6);

  if (it == m.pending.end()) {
    if (m.cfg.max_datagrams == 0) return reject(counters_.memory_evictions, false);
    while (m.pending.size() >= m.cfg.max_datagrams) {
      m.drop_oldest();
      ++counters_.memory_evictions;
    }
    it = m.pending.emplace(key, Pending{}).first;
    m.by_age.push_back(key);
    it->second.age = std::prev(m.by_age.end());
    it->second.first_ns = now_ns;
  }
  Pending& p = it->second;

  if (p.frags.size() >= m.cfg.max_fragments_per_datagram) {
    return reject(counters_.too_many_fragments, true);
  }
  const std::uint8_t* data = d.frag_payload.data();
  for (const Range& r : p.frags) {
    if (r.start == off && r.end == end && std::memcmp(p.buf.data() + off, data, len) == 0) {
      ++counters_.duplicates;
      return std::nullopt;
    }
  }
  if (!d.frag_more) {
    if (p.total_known && p.total != end) return reject(counters_.invalid, v6);
    if (!p.have.empty() && p.have.back().end > end) return reject(counters_.invalid, v6);
  } else if (p.total_known && end > p.total) {
    return reject(counters_.invalid, v6);
  }

  bool overlap = false;
  for (const Range& r : p.have) {
    if (r.start < end && off < r.end) {
      overlap = true;
      break;
    }
  }
  if (overlap) {
    if (v6) {
      ++counters_.overlaps;
      return reject(counters_.dropped_overlap_v6, true);
    }
    ++counters_.overlaps;
  }

  if (p.buf.size() < end) {
    m.bytes += end - p.buf.size();
    p.buf.resize(end);
  }
  // Copy only into the holes: bytes already held stay (first wins).
  std::size_t cur = off;
  for (const Range& r : p.have) {
    if (r.end <= cur) continue;
    if (r.start >= end) break;
    if (r.start > cur) std::memcpy(p.buf.data() + cur, data + (cur - off), r.start - cur);
    cur = std::max<std::size_t>(cur, r.end);
  }
  if (cur < end) std::memcpy(p.buf.data() + cur, data + (cur - off), end - cur);
  // Merge the new range into the received set (touching ranges join).
  Range nr{static_cast<std::uint32_t>(off), static_cast<std::uint32_t>(end)};
  std::vector<Range>& merged = m.scratch;  // reused: no allocation once warm
  merged.clear();
  bool placed = false;
  for (const Range& r : p.have) {
    if (r.end < nr.start) {
      merged.push_back(r);
    } else if (r.start > nr.end) {
      if (!placed) merged.push_back(nr);
      placed = true;
      merged.push_back(r);
    } else {
      nr.start = std::min(nr.start, r.start);
      nr.end = std::max(nr.end, r.end);
    }
  }
  if (!placed) merged.push_back(nr);
  p.have.swap(merged);
  p.frags.push_back({static_cast<std::uint32_t>(off), static_cast<std::uint32_t>(end)});

  if (!v6 || off == 0) p.proto = d.proto;
  if (!d.frag_more) {
    p.total = static_cast<std::uint32_t>(end);
    p.total_known = true;
  }

  // Stay under the memory cap: oldest first, this datagram too when its turn comes.
  while (m.bytes > m.cfg.max_bytes && !m.by_age.empty()) {
    const bool self = m.by_age.front() == key;
    m.drop_oldest();
    ++counters_.memory_evictions;
    if (self) return std::nullopt;
  }

  if (!p.total_known || p.have.size() != 1 || p.have[0].start != 0 || p.have[0].end != p.total) {
    return std::nullopt;
  }
  Datagram dg;
  dg.bytes_ = std::move(p.buf);
  p.buf.clear();
  m.bytes -= dg.bytes_.size();
  dg.bytes_.resize(p.total);
  std::uint8_t proto = p.proto;
  if (v6) {
    std::size_t pos = 0;
    if (skip_ipv6_ext(dg.bytes_, proto, pos)) {
      dg.bytes_.erase(dg.bytes_.begin(), dg.bytes_.begin() + static_cast<std::ptrdiff_t>(pos));
    }
  }
  m.by_age.erase(p.age);
  m.pending.erase(it);
  d.proto = proto;
  ++counters_.reassembled;
  return dg;
}

}  // namespace dlp::dataplane
