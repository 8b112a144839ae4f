#include "dataplane/flow_table.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <random>
#include <tuple>
#include <utility>

namespace dlp::dataplane {
namespace {

constexpr std::uint32_t kNil = 0xFFFFFFFFu;
constexpr std::uint32_t kMaxChunkShift = 12;  // 4096 flows per chunk
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;

enum ListId : std::uint8_t { kSynList, kTcpList, kUdpList, kClosingList, kListCount };

std::uint64_t mix(std::uint64_t x) {  // murmur3 finaliser
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

std::uint64_t process_seed() {
  static const std::uint64_t seed = [] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }();
  return seed;
}

std::uint64_t endpoint_hash(const IpAddr& ip, std::uint16_t port, std::uint64_t seed) {
  std::uint64_t lo, hi;
  std::memcpy(&lo, ip.b.data(), 8);
  std::memcpy(&hi, ip.b.data() + 8, 8);
  return mix((lo ^ seed) * 0x9e3779b97f4a7c15ull + mix(hi ^ (std::uint64_t{port} << 48)));
}

std::uint8_t open_list_for(const Flow& f) {
  if (!f.tcp) return kUdpList;
  return f.tcp->state() >= TcpState::established ? kTcpList : kSynList;
}

}  // namespace

FlowKey flow_key_of(const Decoded& d) {
  FlowKey key;
  if (std::tie(d.src, d.sport) <= std::tie(d.dst, d.dport)) {
    key.a = d.src, key.pa = d.sport, key.b = d.dst, key.pb = d.dport;
  } else {
    key.a = d.dst, key.pa = d.dport, key.b = d.src, key.pb = d.sport;
  }
  key.proto = d.proto;
  return key;
}

std::uint64_t hash_flow_key(const FlowKey& k) {
  const std::uint64_t seed = process_seed();
  // Addition commutes: the two ends can come in either order.
  const std::uint64_t h = endpoint_hash(k.a, k.pa, seed) + endpoint_hash(k.b, k.pb, seed);
  return mix(h ^ (std::uint64_t{k.proto} * 0x100000001b3ull));
}

struct FlowTable::Impl {
  Impl(const FlowConfig& c, const ReassemblyConfig& r, ReassemblyMemory& m,
       ReassemblyCounters& rc, FlowEvents& e, FlowCounters& fc)
      : cfg(c), reasm(r), memory(m), reasm_counters(rc), events(e), counters(fc) {
    const std::uint32_t max = std::max<std::uint32_t>(cfg.max_flows, 1);
    const auto buckets_n = std::bit_ceil(max);
    buckets.assign(buckets_n, kNil);
    bucket_mask = buckets_n - 1;
    chunk_shift = std::min<std::uint32_t>(kMaxChunkShift, std::bit_width(buckets_n) - 1);
    chunk_mask = (1u << chunk_shift) - 1;
  }

  struct List {
    std::uint32_t head = kNil, tail = kNil;
  };

  Flow& at(std::uint32_t i) { return chunks[i >> chunk_shift][i & chunk_mask]; }

  std::uint64_t timeout(std::uint8_t list) const {
    switch (list) {
      case kSynList: return cfg.syn_idle_ns;
      case kTcpList: return cfg.tcp_idle_ns;
      case kUdpList: return cfg.udp_idle_ns;
      default: return cfg.closed_ns;
    }
  }

  void link_tail(std::uint32_t i, std::uint8_t list) {
    Flow& f = at(i);
    List& l = lists[list];
    f.list_ = list;
    f.lru_next_ = kNil;
    f.lru_prev_ = l.tail;
    if (l.tail != kNil) {
      at(l.tail).lru_next_ = i;
    } else {
      l.head = i;
    }
    l.tail = i;
  }

  void unlink(std::uint32_t i) {
    Flow& f = at(i);
    List& l = lists[f.list_];
    if (f.lru_prev_ != kNil) {
      at(f.lru_prev_).lru_next_ = f.lru_next_;
    } else {
      l.head = f.lru_next_;
    }
    if (f.lru_next_ != kNil) {
      at(f.lru_next_).lru_prev_ = f.lru_prev_;
    } else {
      l.tail = f.lru_prev_;
    }
    f.lru_prev_ = f.lru_next_ = kNil;
  }

  void unhash(std::uint32_t i) {
    Flow& f = at(i);
    std::uint32_t* link = &buckets[f.hash_ & bucket_mask];
    while (*link != i) link = &at(*link).hash_next_;
    *link = f.hash_next_;
    f.hash_next_ = kNil;
  }

  // A free slot: recycled, new from the pool (growing it by a chunk), or evicted.
  std::uint32_t alloc() {
    if (free_head == kNil && used_slots < cfg.max_flows) {
      if (used_slots == capacity) {
        const std::uint32_t n = std::min(1u << chunk_shift, cfg.max_flows - capacity);
        chunks.push_back(std::make_unique<Flow[]>(n));
        capacity += n;
      }
      return used_slots++;
    }
    if (free_head == kNil) {
      const std::uint32_t victim = pick_victim();
      if (victim == kNil) return kNil;
      end(victim, FlowEnd::evicted);
    }
    const std::uint32_t i = free_head;
    free_head = at(i).hash_next_;
    return i;
  }

  std::uint32_t pick_victim() {
    if (lists[kClosingList].head != kNil) return lists[kClosingList].head;
    std::uint32_t best = kNil;
    for (std::uint8_t l : {kSynList, kTcpList, kUdpList}) {
      const std::uint32_t h = lists[l].head;
      if (h != kNil && (best == kNil || at(h).last_ns < at(best).last_ns)) best = h;
    }
    return best;
  }

  void end(std::uint32_t i, FlowEnd why) {
    Flow& f = at(i);
    events.on_flow_end(f, why);
    switch (why) {
      case FlowEnd::closed: ++counters.ended_closed; break;
      case FlowEnd::idle_timeout: ++counters.ended_idle; break;
      case FlowEnd::evicted: ++counters.evicted; break;
      case FlowEnd::flushed: ++counters.flushed; break;
    }
    unhash(i);
    unlink(i);
    f.tcp.reset();  // returns its held bytes to the worker's reassembly memory
    f.inspector.reset();
    f.meta.reset();
    f.in_use_ = false;
    f.hash_next_ = free_head;
    free_head = i;
    --counters.active;
  }

  FlowConfig cfg;
  const ReassemblyConfig& reasm;
  ReassemblyMemory& memory;
  ReassemblyCounters& reasm_counters;
  FlowEvents& events;
  FlowCounters& counters;

  std::uint32_t chunk_shift = 0, chunk_mask = 0;
  std::vector<std::unique_ptr<Flow[]>> chunks;
  std::uint32_t capacity = 0;    // slots in allocated chunks
  std::uint32_t used_slots = 0;  // slots ever handed out (the rest of the pool is fresh)
  std::uint32_t free_head = kNil;
  std::vector<std::uint32_t> buckets;
  std::uint64_t bucket_mask = 0;
  List lists[kListCount];
};

FlowTable::FlowTable(const FlowConfig& cfg, const ReassemblyConfig& reasm,
                     ReassemblyMemory& memory, ReassemblyCounters& reasm_counters,
                     FlowEvents& events)
    : impl_(std::make_unique<Impl>(cfg, reasm, memory, reasm_counters, events, counters_)) {}

FlowTable::~FlowTable() = default;

FlowLookup FlowTable::lookup_or_create(const Decoded& d, std::uint64_t now_ns) {
  Impl& m = *impl_;
  if (d.proto != kProtoTcp && d.proto != kProtoUdp) {
    ++counters_.not_flow;
    return {};
  }
  const FlowKey key = flow_key_of(d);
  const std::uint64_t h = hash_flow_key(key);
  const bool tcp = d.proto == kProtoTcp;
  const bool syn = tcp && (d.tcp_flags & tcp_flag::kSyn);
  const bool ack = tcp && (d.tcp_flags & tcp_flag::kAck);

  for (std::uint32_t i = m.buckets[h & m.bucket_mask]; i != kNil; i = m.at(i).hash_next_) {
    Flow& f = m.at(i);
    if (f.hash_ != h || !(f.key == key)) continue;
    if (f.closing && f.tcp && syn && !ack) {
      m.end(i, FlowEnd::closed);  // port reuse: a new connection
      break;
    }
    const Side from =
        (d.src == f.client_ip && d.sport == f.client_port) ? Side::client : Side::server;
    f.last_ns = std::max(f.last_ns, now_ns);
    const std::uint8_t list =
        f.closing ? static_cast<std::uint8_t>(kClosingList) : open_list_for(f);
    if (f.lru_next_ != kNil || f.list_ != list) {  // already the tail: a burst of one flow
      m.unlink(i);
      m.link_tail(i, list);
    }
    return {&f, from, false};
  }

  const std::uint32_t i = m.alloc();
  if (i == kNil) {
    ++counters_.not_flow;  // max_flows == 0
    return {};
  }
  Flow& f = m.at(i);
  // Who is the client: the SYN's sender, the SYN-ACK's receiver, else the ephemeral
  // (higher) port; on a tie, whoever spoke first.
  bool sender_is_client;
  if (syn) {
    sender_is_client = !ack;
  } else if (d.sport != d.dport) {
    sender_is_client = d.sport > d.dport;
  } else {
    sender_is_client = true;
  }
  f.key = key;
  f.client_ip = sender_is_client ? d.src : d.dst;
  f.server_ip = sender_is_client ? d.dst : d.src;
  f.client_port = sender_is_client ? d.sport : d.dport;
  f.server_port = sender_is_client ? d.dport : d.sport;
  f.proto = d.proto;
  f.first_ns = f.last_ns = now_ns;
  f.packets[0] = f.packets[1] = 0;
  f.bytes[0] = f.bytes[1] = 0;
  f.closing = false;
  if (tcp) {
    f.tcp.emplace(m.reasm, m.memory, m.reasm_counters);
  } else {
    f.tcp.reset();
  }
  f.inspector.reset();
  f.meta.reset();
  f.app_data = 0;
  f.serial = counters_.created + 1;
  f.self_ = i;
  f.hash_ = h;
  f.in_use_ = true;
  std::uint32_t& bucket = m.buckets[h & m.bucket_mask];
  f.hash_next_ = bucket;
  bucket = i;
  m.link_tail(i, open_list_for(f));
  ++counters_.created;
  ++counters_.active;
  counters_.peak_active = std::max(counters_.peak_active, counters_.active);
  return {&f, sender_is_client ? Side::client : Side::server, true};
}

void FlowTable::mark_closing(Flow& flow) {
  if (flow.closing || !flow.in_use_) return;
  Impl& m = *impl_;
  m.unlink(flow.self_);
  flow.closing = true;
  m.link_tail(flow.self_, kClosingList);
}

void FlowTable::expire(std::uint64_t now_ns) {
  Impl& m = *impl_;
  for (std::uint8_t l : {kSynList, kTcpList, kUdpList, kClosingList}) {
    const std::uint64_t timeout = m.timeout(l);
    while (m.lists[l].head != kNil) {
      const std::uint32_t i = m.lists[l].head;
      Flow& f = m.at(i);
      if (now_ns < f.last_ns || now_ns - f.last_ns < timeout) break;
      if (l == kSynList && open_list_for(f) == kTcpList) {
        // The handshake completed after the packet that put it here.
        m.unlink(i);
        m.link_tail(i, kTcpList);
        continue;
      }
      m.end(i, l == kClosingList ? FlowEnd::closed : FlowEnd::idle_timeout);
    }
  }
}

void FlowTable::flush() {
  Impl& m = *impl_;
  for (std::uint8_t l : {kClosingList, kSynList, kTcpList, kUdpList}) {
    while (m.lists[l].head != kNil) m.end(m.lists[l].head, FlowEnd::flushed);
  }
}

std::size_t FlowTable::memory_bytes() const {
  return static_cast<std::size_t>(impl_->capacity) * sizeof(Flow) +
         impl_->buckets.size() * sizeof(std::uint32_t) +
         impl_->chunks.capacity() * sizeof(std::unique_ptr<Flow[]>) + sizeof(Impl);
}

}  // namespace dlp::dataplane
