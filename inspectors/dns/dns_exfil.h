// DNS exfiltration (tunnelling) evidence per (client IP, registered domain), over a sliding
// window in packet time. Shared by every worker through the DNS inspector factory: one
// mutex, taken once per query name (never per packet), bounded memory.
//
//   DnsExfilTracker tracker(config);
//   DnsQueryObservation q{.client = ip, .domain = "example.com", .qtype = 16, .now_ns = t};
//   q.labels = {"mzxw6ytboi", "x"}; q.label_count = 2;   // the subdomain, lowercased
//   if (auto ev = tracker.observe(q)) { ... raise one "dns.exfil" finding from *ev ... }
//
// Why these figures: a tunnel has to put its payload in the query name, and resolvers
// cache, so every chunk is a *new* name under a domain whose name server the attacker
// runs. That shows as many distinct subdomains of one registered domain from one client,
// long labels, and characters spread evenly over an encoding alphabet (base32 ~5 bits per
// character, hex 4, base64 6; words and host names ~3–4.2). Ordinary traffic asks for a
// few names per domain, again and again.
//
// Rules (both need mean label length >= min_mean_label and entropy >= min_entropy over
// the distinct subdomains in the window):
//   payload: >= min_unique_subdomains distinct subdomains and >= min_encoded_bytes of
//            subdomain characters in distinct names of >= min_payload_chars each
//            (a slow trickle: a few dozen queries with ~50 encoded characters each);
//   volume:  >= volume_unique_subdomains distinct subdomains carrying
//            >= volume_subdomain_bytes characters (a tunnel with short labels).
// One finding when a key first crosses; the next one for the same key only once a whole
// window has passed since, and it carries what was sent since the previous one.
//
// Window: kSlots slots of window/kSlots each, keyed by packet-time slot number, so the
// window covers the last (kSlots-1)/kSlots to 1 window and replays identically.
// Distinct subdomains: an exact set of 32-bit fingerprints per key, valid for the window,
// of at most max_unique_per_key entries; when full, every further query counts as new
// (an over-estimate that can only happen above every default threshold). Exact beats a
// HyperLogLog here: the thresholds are small numbers (tens), where a 64-register HLL is
// off by ±13%, and the set also tells whether a name's bytes were already counted.
// Memory: at most max_keys keys of ~850 bytes plus their set (8 bytes per entry) and key
// text; the least recently used key is evicted when full (counted), keys idle for a whole
// window are dropped as they age out of the LRU tail (counted).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "inspectors/inspector.h"

namespace dlp::inspectors {

// Domains whose name servers legitimately receive hashed or encoded labels: anti-virus
// and reputation look-ups, DNS block lists. Matched as a suffix of the query name.
std::vector<std::string> default_dns_allowlist();

struct DnsExfilConfig {
  std::uint64_t window_ns = 600'000'000'000ull;  // 10 minutes of packet time
  // payload rule
  std::uint32_t min_unique_subdomains = 30;
  std::uint64_t min_encoded_bytes = 1200;
  std::uint32_t min_payload_chars = 30;
  // volume rule
  std::uint32_t volume_unique_subdomains = 200;
  std::uint64_t volume_subdomain_bytes = 4096;
  // both rules
  double min_mean_label = 16.0;
  double min_entropy = 3.5;  // bits per character
  // memory
  std::size_t max_keys = 16384;
  std::size_t max_unique_per_key = 128;
  // Query names equal to or under one of these are not tracked (still scanned as
  // content). Reverse zones (.arpa) and mDNS (.local) are never tracked.
  std::vector<std::string> allowlist = default_dns_allowlist();
};

// One query as the tracker sees it: the subdomain labels (left of the registered domain,
// lowercased, service labels starting with '_' already left out).
struct DnsQueryObservation {
  Ip16 client{};
  std::string_view domain;  // registered domain, lowercased
  std::array<std::string_view, 128> labels{};
  std::size_t label_count = 0;
  std::uint16_t qtype = 1;
  std::uint64_t now_ns = 0;
};

// The figures behind a finding (window figures, and what is new since the previous one).
struct DnsExfilEvidence {
  bool volume_rule = false;      // which rule fired (payload otherwise)
  std::uint32_t queries = 0;     // in the window
  std::uint32_t unique_subdomains = 0;
  std::uint64_t subdomain_bytes = 0;  // characters of distinct subdomains in the window
  std::uint64_t encoded_bytes = 0;    // of which in payload-sized names
  std::uint32_t longest_label = 0;
  double mean_label = 0;
  double entropy = 0;            // bits per character
  double unusual_type_share = 0;  // TXT, NULL, CNAME, MX among the window's queries
  std::uint64_t window_ns = 0;
  // Not yet reported: the count and bytes of this finding.
  std::uint64_t new_queries = 0;
  std::uint64_t new_bytes = 0;
  bool repeat = false;             // a previous finding exists for the key
  std::uint64_t since_previous_ns = 0;
};

struct DnsExfilStats {
  std::uint64_t queries = 0;   // observed (tracked) queries
  std::uint64_t keys = 0;      // live keys
  std::uint64_t evicted = 0;   // dropped to make room (LRU)
  std::uint64_t expired = 0;   // dropped after a window without queries
  std::uint64_t findings = 0;
  std::uint64_t set_full = 0;  // queries counted as new because the set was full
};

class DnsExfilTracker {
 public:
  static constexpr std::size_t kSlots = 6;
  static constexpr std::size_t kClasses = 40;  // a-z, 0-9, '-', '_', other, (spare)

  explicit DnsExfilTracker(DnsExfilConfig config);
  DnsExfilTracker(const DnsExfilTracker&) = delete;
  DnsExfilTracker& operator=(const DnsExfilTracker&) = delete;

  // Records one query; returns the evidence when a finding is due. Thread-safe.
  std::optional<DnsExfilEvidence> observe(const DnsQueryObservation& q);

  DnsExfilStats stats() const;
  // Bytes held by the keys (structures, fingerprint sets, key text): the memory bound.
  std::size_t memory_bytes() const;
  // Upper bound of memory_bytes() for this configuration.
  std::size_t memory_bound() const;
  const DnsExfilConfig& config() const { return config_; }

 private:
  struct Slot {
    std::uint64_t epoch = ~0ull;  // packet-time slot number
    std::uint32_t queries = 0;
    std::uint32_t unique = 0;
    std::uint32_t sub_bytes = 0;
    std::uint32_t encoded_bytes = 0;
    std::uint32_t labels = 0;
    std::uint32_t unusual = 0;
    std::uint32_t longest = 0;
    std::array<std::uint16_t, kClasses> hist{};  // saturating
  };
  struct Seen {
    std::uint32_t fingerprint;
    std::uint32_t epoch;  // low 32 bits of the slot number
  };
  struct Entry {
    std::string key;  // 16 bytes of client IP, then the domain
    std::uint64_t last_ns = 0;
    std::array<Slot, kSlots> slots{};
    std::vector<Seen> seen;
    std::uint64_t total_queries = 0;   // since the entry was created
    std::uint64_t total_encoded = 0;   // bytes counted toward the finding's volume
    std::uint64_t reported_queries = 0;
    std::uint64_t reported_bytes = 0;
    std::uint64_t last_report_ns = 0;
    bool reported = false;
  };
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept;
  };
  using Lru = std::list<Entry>;

  static std::size_t entry_bytes(const Entry& e);
  void expire_idle(std::uint64_t now_ns);
  std::optional<DnsExfilEvidence> evaluate(Entry& e, std::uint64_t now_ns, std::uint64_t cur);

  const DnsExfilConfig config_;
  const std::uint64_t slot_ns_;
  mutable std::mutex mu_;
  Lru lru_;  // most recently used first
  std::unordered_map<std::string_view, Lru::iterator, KeyHash, std::equal_to<>> index_;
  std::string scratch_key_;
  DnsExfilStats stats_;
};

}  // namespace dlp::inspectors
