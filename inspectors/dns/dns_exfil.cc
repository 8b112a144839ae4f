// The per-(client, registered domain) tunnelling tracker. See dns_exfil.h for the model.
#include "inspectors/dns/dns_exfil.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace dlp::inspectors {
namespace {

constexpr std::uint64_t kFnvOffset = 14695981039346656037ull;
constexpr std::uint64_t kFnvPrime = 1099511628211ull;

std::uint64_t fnv1a(std::uint64_t h, std::string_view s) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnvPrime;
  }
  return h;
}

std::size_t char_class(unsigned char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A';  // callers lowercase; be safe anyway
  if (c >= '0' && c <= '9') return 26 + (c - '0');
  if (c == '-') return 36;
  if (c == '_') return 37;
  return 38;
}

bool unusual_type(std::uint16_t t) {
  return t == 16 /*TXT*/ || t == 10 /*NULL*/ || t == 5 /*CNAME*/ || t == 15 /*MX*/;
}

}  // namespace

std::vector<std::string> default_dns_allowlist() {
  return {
      // Anti-virus and threat-intelligence reputation look-ups (file hashes, URLs in labels).
      "sophosxl.net", "avqs.mcafee.com", "avts.mcafee.com", "e5.sk", "hash.cymru.com",
      "url.trendmicro.com",
      // DNS block lists and reputation zones queried by mail servers and filters.
      "spamhaus.org", "spamhaus.net", "surbl.org", "uribl.com", "spamcop.net",
      "barracudacentral.org", "sorbs.net", "mailspike.net", "senderscore.com", "dnswl.org",
      "senderbase.org",
  };
}

std::size_t DnsExfilTracker::KeyHash::operator()(std::string_view s) const noexcept {
  return static_cast<std::size_t>(fnv1a(kFnvOffset, s));
}

DnsExfilTracker::DnsExfilTracker(DnsExfilConfig config)
    : config_(std::move(config)),
      slot_ns_(std::max<std::uint64_t>(1, config_.window_ns / kSlots)) {
  scratch_key_.reserve(16 + 256);
}

std::size_t DnsExfilTracker::entry_bytes(const Entry& e) {
  // The list node and the index node with its bucket, roughly; the key's heap text when
  // it does not fit the small-string buffer; the fingerprint set's capacity.
  std::size_t n = sizeof(Entry) + 2 * sizeof(void*) + sizeof(std::string_view) +
                  sizeof(Lru::iterator) + 3 * sizeof(void*);
  if (e.key.capacity() > 15) n += e.key.capacity() + 1;
  n += e.seen.capacity() * sizeof(Seen);
  return n;
}

std::size_t DnsExfilTracker::memory_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t n = 0;
  for (const Entry& e : lru_) n += entry_bytes(e);
  return n;
}

std::size_t DnsExfilTracker::memory_bound() const {
  // Key text <= 16 + 253 bytes; a vector's capacity is at most twice what it was asked for.
  const std::size_t per_key = sizeof(Entry) + 5 * sizeof(void*) + sizeof(std::string_view) +
                              sizeof(Lru::iterator) + 16 + 256 +
                              2 * config_.max_unique_per_key * sizeof(Seen);
  return config_.max_keys * per_key;
}

DnsExfilStats DnsExfilTracker::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  DnsExfilStats s = stats_;
  s.keys = lru_.size();
  return s;
}

void DnsExfilTracker::expire_idle(std::uint64_t now_ns) {
  // The tail is the least recently used key: when it has been idle for a window, nothing
  // of it is left in its window. Bounded work: stops at the first live key.
  while (!lru_.empty()) {
    Entry& tail = lru_.back();
    if (now_ns < tail.last_ns || now_ns - tail.last_ns <= config_.window_ns) break;
    index_.erase(std::string_view(tail.key));
    lru_.pop_back();
    ++stats_.expired;
  }
}

std::optional<DnsExfilEvidence> DnsExfilTracker::observe(const DnsQueryObservation& q) {
  // Work outside the lock: the key text, the name's fingerprint and its character figures.
  std::uint64_t fp = kFnvOffset;
  std::uint32_t chars = 0;
  std::uint32_t longest = 0;
  for (std::size_t i = 0; i < q.label_count; ++i) {
    fp = fnv1a(fp, q.labels[i]);
    fp = fnv1a(fp, ".");
    chars += static_cast<std::uint32_t>(q.labels[i].size());
    longest = std::max<std::uint32_t>(longest, static_cast<std::uint32_t>(q.labels[i].size()));
  }
  const auto fingerprint = static_cast<std::uint32_t>(fp ^ (fp >> 32));

  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.queries;
  expire_idle(q.now_ns);

  scratch_key_.assign(reinterpret_cast<const char*>(q.client.data()), q.client.size());
  scratch_key_.append(q.domain);
  auto found = index_.find(std::string_view(scratch_key_));
  Lru::iterator it;
  if (found == index_.end()) {
    if (config_.max_keys == 0) return std::nullopt;
    while (lru_.size() >= config_.max_keys) {
      index_.erase(std::string_view(lru_.back().key));
      lru_.pop_back();
      ++stats_.evicted;
    }
    lru_.emplace_front();
    it = lru_.begin();
    it->key = scratch_key_;
    index_.emplace(std::string_view(it->key), it);
  } else {
    it = found->second;
    if (it != lru_.begin()) lru_.splice(lru_.begin(), lru_, it);
  }
  Entry& e = *it;
  // Packet time can step back a little across workers: a late query counts as of the
  // key's newest time, so it never overwrites a newer slot.
  e.last_ns = std::max(e.last_ns, q.now_ns);
  const std::uint64_t now_ns = e.last_ns;
  const std::uint64_t cur = now_ns / slot_ns_;

  Slot& slot = e.slots[cur % kSlots];
  if (slot.epoch != cur) slot = Slot{.epoch = cur};
  ++slot.queries;
  ++e.total_queries;
  if (unusual_type(q.qtype)) ++slot.unusual;

  // Distinct within the window? Drop fingerprints that left it while looking.
  const auto cur32 = static_cast<std::uint32_t>(cur);
  bool is_new = true;
  std::size_t w = 0;
  for (std::size_t r = 0; r < e.seen.size(); ++r) {
    const Seen s = e.seen[r];
    if (cur32 - s.epoch >= kSlots) continue;  // aged out (unsigned wrap handles order)
    if (s.fingerprint == fingerprint) is_new = false;
    e.seen[w++] = s;
  }
  e.seen.resize(w);
  if (is_new && q.label_count != 0) {
    if (e.seen.size() < config_.max_unique_per_key) {
      e.seen.push_back({fingerprint, cur32});
    } else {
      ++stats_.set_full;
    }
    ++slot.unique;
    slot.sub_bytes += chars;
    if (chars >= config_.min_payload_chars) slot.encoded_bytes += chars;
    slot.labels += static_cast<std::uint32_t>(q.label_count);
    slot.longest = std::max(slot.longest, longest);
    for (std::size_t i = 0; i < q.label_count; ++i) {
      for (char c : q.labels[i]) {
        std::uint16_t& h = slot.hist[char_class(static_cast<unsigned char>(c))];
        if (h != 0xffff) ++h;
      }
    }
    e.total_encoded += chars;
  }
  return evaluate(e, now_ns, cur);
}

std::optional<DnsExfilEvidence> DnsExfilTracker::evaluate(Entry& e, std::uint64_t now_ns,
                                                          std::uint64_t cur) {
  if (e.reported &&
      (now_ns < e.last_report_ns || now_ns - e.last_report_ns < config_.window_ns)) {
    return std::nullopt;
  }

  DnsExfilEvidence ev;
  std::uint64_t labels = 0;
  std::uint64_t unusual = 0;
  std::array<std::uint64_t, kClasses> hist{};
  for (const Slot& s : e.slots) {
    if (s.epoch == ~0ull || s.epoch > cur || cur - s.epoch >= kSlots) continue;
    ev.queries += s.queries;
    ev.unique_subdomains += s.unique;
    ev.subdomain_bytes += s.sub_bytes;
    ev.encoded_bytes += s.encoded_bytes;
    ev.longest_label = std::max(ev.longest_label, s.longest);
    labels += s.labels;
    unusual += s.unusual;
    for (std::size_t i = 0; i < kClasses; ++i) hist[i] += s.hist[i];
  }
  const bool payload = ev.unique_subdomains >= config_.min_unique_subdomains &&
                       ev.encoded_bytes >= config_.min_encoded_bytes;
  const bool volume = ev.unique_subdomains >= config_.volume_unique_subdomains &&
                      ev.subdomain_bytes >= config_.volume_subdomain_bytes;
  if (!payload && !volume) return std::nullopt;
  ev.mean_label = labels == 0 ? 0.0 : static_cast<double>(ev.subdomain_bytes) / labels;
  if (ev.mean_label < config_.min_mean_label) return std::nullopt;
  std::uint64_t total = 0;
  for (std::uint64_t h : hist) total += h;
  double entropy = 0;
  for (std::uint64_t h : hist) {
    if (h == 0) continue;
    const double p = static_cast<double>(h) / static_cast<double>(total);
    entropy -= p * std::log2(p);
  }
  ev.entropy = entropy;
  if (ev.entropy < config_.min_entropy) return std::nullopt;

  ev.volume_rule = !payload;
  ev.unusual_type_share = ev.queries == 0 ? 0.0 : static_cast<double>(unusual) / ev.queries;
  ev.window_ns = config_.window_ns;
  ev.repeat = e.reported;
  if (e.reported) {
    ev.since_previous_ns = now_ns - e.last_report_ns;
    ev.new_queries = e.total_queries - e.reported_queries;
    ev.new_bytes = e.total_encoded - e.reported_bytes;
  } else {
    ev.new_queries = ev.queries;
    ev.new_bytes = ev.subdomain_bytes;
  }
  e.reported = true;
  e.last_report_ns = now_ns;
  e.reported_queries = e.total_queries;
  e.reported_bytes = e.total_encoded;
  ++stats_.findings;
  return ev;
}

}  // namespace dlp::inspectors
