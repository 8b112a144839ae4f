#include "dataplane/pcap_source.h"

#include <pcap/pcap.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <cstdio>
#include <string_view>

namespace dlp::dataplane {
namespace {

// pcap_next_ex's buffer lives only until the next call, so a burst is copied into one
// arena owned by the source (reused, grown only when a burst is bigger than any before).
// Spans are pointed into it after the burst is complete, since growing moves the bytes.
class BurstArena {
 public:
  void reset() {
    used_ = 0;
    offsets_.clear();
  }
  void add(const std::uint8_t* data, std::size_t len) {
    if (used_ + len > buf_.size()) buf_.resize(std::max(buf_.size() * 2, used_ + len));
    std::memcpy(buf_.data() + used_, data, len);
    offsets_.push_back(used_);
    used_ += len;
  }
  // Points packet i's data at the i-th copy; the sizes were set by the caller.
  void fix(std::span<RawPacket> pkts) const {
    for (std::size_t i = 0; i < pkts.size(); ++i) {
      pkts[i].data = Bytes(buf_.data() + offsets_[i], pkts[i].data.size());
    }
  }

 private:
  std::vector<std::uint8_t> buf_;
  std::vector<std::size_t> offsets_;
  std::size_t used_ = 0;
};

// With PCAP_TSTAMP_PRECISION_NANO, libpcap puts nanoseconds in tv_usec.
std::uint64_t ts_ns(const pcap_pkthdr& h, bool nano) {
  return static_cast<std::uint64_t>(h.ts.tv_sec) * 1'000'000'000ull +
         static_cast<std::uint64_t>(h.ts.tv_usec) * (nano ? 1u : 1000u);
}

// libpcap's open errors usually start with the path; ours does too, so drop theirs.
std::string strip_path(const std::string& path, std::string_view msg) {
  if (msg.size() > path.size() + 2 && msg.substr(0, path.size()) == path &&
      msg.substr(path.size(), 2) == ": ") {
    msg.remove_prefix(path.size() + 2);
  }
  return std::string(msg);
}

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------

struct PcapFileSource::Impl {
  std::vector<std::string> paths;
  std::vector<std::uint64_t> sizes;
  std::size_t next_file = 0;     // index of the file to open next
  pcap_t* cur = nullptr;
  std::size_t cur_file = 0;
  std::uint32_t linktype = 0;
  std::uint64_t packets = 0;     // packets read from the current file
  std::uint64_t bytes_done = 0;  // sizes of the files finished
  BurstArena arena;

  ~Impl() { close(); }
  void close() {
    if (cur) pcap_close(cur);
    cur = nullptr;
  }
  void finish_file() {
    close();
    bytes_done += sizes[cur_file];
  }
};

PcapFileSource::PcapFileSource(std::vector<std::string> paths) : impl_(std::make_unique<Impl>()) {
  impl_->paths = std::move(paths);
  for (const auto& p : impl_->paths) {
    impl_->sizes.push_back(file_size(p));
    total_ += impl_->sizes.back();
  }
}

PcapFileSource::~PcapFileSource() = default;

std::uint64_t PcapFileSource::bytes_read() const {
  std::uint64_t n = impl_->bytes_done;
  if (impl_->cur) {
    const long pos = std::ftell(pcap_file(impl_->cur));
    if (pos > 0) n += static_cast<std::uint64_t>(pos);
  }
  return n;
}

std::size_t PcapFileSource::next_burst(std::span<RawPacket> out) {
  Impl& m = *impl_;
  m.arena.reset();
  std::size_t n = 0;
  while (n < out.size()) {
    if (!m.cur) {
      if (m.next_file >= m.paths.size()) break;
      m.cur_file = m.next_file++;
      const std::string& path = m.paths[m.cur_file];
      char errbuf[PCAP_ERRBUF_SIZE] = {};
      // Nanosecond precision: pcapng files keep their resolution, pcap files are scaled.
      m.cur = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO,
                                                      errbuf);
      if (!m.cur) {
        errors_.push_back(make_error(path + ": cannot open: " + strip_path(path, errbuf)));
        m.bytes_done += m.sizes[m.cur_file];
        continue;
      }
      m.linktype = static_cast<std::uint32_t>(pcap_datalink(m.cur));
      m.packets = 0;
    }
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(m.cur, &hdr, &data);
    if (rc == 1) {
      RawPacket& p = out[n++];
      p.ts_ns = ts_ns(*hdr, true);
      p.data = Bytes(data, hdr->caplen);  // re-pointed into the arena below
      p.wire_len = hdr->len;
      p.index = ++m.packets;
      p.linktype = m.linktype;
      m.arena.add(data, hdr->caplen);
      continue;
    }
    if (rc == PCAP_ERROR) {
      const std::string& path = m.paths[m.cur_file];
      errors_.push_back(make_error(path + ": packet " + std::to_string(m.packets + 1) + ": " +
                                   pcap_geterr(m.cur) + " (truncated or corrupt capture); " +
                                   std::to_string(m.packets) + " packets read before it"));
    }
    // PCAP_ERROR_BREAK is the end of the file; 0 cannot happen offline.
    m.finish_file();
  }
  m.arena.fix(out.first(n));
  return n;
}

// ---------------------------------------------------------------------------------------

struct PcapLiveSource::Impl {
  pcap_t* p = nullptr;
  std::string name;
  std::uint32_t linktype = 1;
  bool nano = false;  // timestamps in nanoseconds (not every device can)
  std::uint64_t packets = 0;
  std::atomic<bool> stopped{false};
  BurstArena arena;

  // State of one next_burst() for the pcap_dispatch callback.
  std::span<RawPacket> out;
  std::size_t n = 0;

  ~Impl() {
    if (p) pcap_close(p);
  }
  static void on_packet(u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
    auto& m = *reinterpret_cast<Impl*>(user);
    if (m.n >= m.out.size()) return;  // cannot happen: dispatch is asked for the room left
    RawPacket& pkt = m.out[m.n++];
    pkt.ts_ns = ts_ns(*h, m.nano);
    pkt.data = Bytes(bytes, h->caplen);  // re-pointed into the arena after the dispatch
    pkt.wire_len = h->len;
    pkt.index = ++m.packets;
    pkt.linktype = m.linktype;
    m.arena.add(bytes, h->caplen);
  }
};

static_assert(std::atomic<bool>::is_always_lock_free, "stop() must be async-signal-safe");

Result<std::unique_ptr<PcapLiveSource>> PcapLiveSource::open(const LiveOptions& opts) {
  std::unique_ptr<PcapLiveSource> src(new PcapLiveSource());
  src->impl_ = std::make_unique<Impl>();
  Impl& m = *src->impl_;
  m.name = opts.interface;
  const std::string& dev = opts.interface;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  m.p = pcap_create(dev.c_str(), errbuf);
  if (!m.p) return make_error(dev + ": cannot open: " + strip_path(dev, errbuf));
  pcap_set_snaplen(m.p, opts.snaplen);
  pcap_set_promisc(m.p, opts.promiscuous ? 1 : 0);
  pcap_set_timeout(m.p, opts.timeout_ms);
  // Not every device can stamp in nanoseconds; libpcap then keeps microseconds, and the
  // callback scales by what pcap_get_tstamp_precision() says after activation.
  pcap_set_tstamp_precision(m.p, PCAP_TSTAMP_PRECISION_NANO);

  const int rc = pcap_activate(m.p);
  if (rc < 0) {
    std::string why;
    switch (rc) {
      case PCAP_ERROR_NO_SUCH_DEVICE:
        why = "no such device";
        break;
      case PCAP_ERROR_PERM_DENIED:
        why = "permission denied (capturing needs root or CAP_NET_RAW and CAP_NET_ADMIN)";
        break;
      case PCAP_ERROR_PROMISC_PERM_DENIED:
        why = "permission denied for promiscuous mode";
        break;
      case PCAP_ERROR_IFACE_NOT_UP:
        why = "interface is down";
        break;
      default:
        why = pcap_statustostr(rc);
        break;
    }
    const std::string detail = pcap_geterr(m.p);
    if (!detail.empty()) why += " (" + strip_path(dev, detail) + ")";
    return make_error(dev + ": cannot capture: " + why);
  }
  if (rc > 0) {
    // Warnings (promiscuous mode not supported, ...): capture works, but say so.
    src->errors_.push_back(make_error(dev + ": warning: " + pcap_statustostr(rc)));
  }
  if (!opts.bpf_filter.empty()) {
    bpf_program prog{};
    if (pcap_compile(m.p, &prog, opts.bpf_filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      return make_error(dev + ": bad filter '" + opts.bpf_filter + "': " + pcap_geterr(m.p));
    }
    const int set = pcap_setfilter(m.p, &prog);
    pcap_freecode(&prog);
    if (set != 0) {
      return make_error(dev + ": cannot set filter '" + opts.bpf_filter + "': " +
                        pcap_geterr(m.p));
    }
  }
  m.linktype = static_cast<std::uint32_t>(pcap_datalink(m.p));
  m.nano = pcap_get_tstamp_precision(m.p) == PCAP_TSTAMP_PRECISION_NANO;
  return src;
}

PcapLiveSource::~PcapLiveSource() = default;

void PcapLiveSource::stop() {
  // Only a lock-free atomic store and pcap_breakloop, which libpcap documents as safe in
  // a signal handler.
  impl_->stopped.store(true, std::memory_order_relaxed);
  if (impl_->p) pcap_breakloop(impl_->p);
}

std::size_t PcapLiveSource::next_burst(std::span<RawPacket> out) {
  Impl& m = *impl_;
  m.arena.reset();
  m.out = out;
  m.n = 0;
  // Block (in slices of the read timeout) until at least one packet: 0 means "done".
  while (m.n == 0 && !out.empty() && !m.stopped.load(std::memory_order_relaxed)) {
    const int rc = pcap_dispatch(m.p, static_cast<int>(out.size() - m.n), &Impl::on_packet,
                                 reinterpret_cast<u_char*>(&m));
    if (rc == PCAP_ERROR_BREAK) break;
    if (rc == PCAP_ERROR) {
      errors_.push_back(make_error(m.name + ": read error: " + pcap_geterr(m.p)));
      break;
    }
  }
  m.arena.fix(out.first(m.n));
  const std::size_t n = m.n;
  m.out = {};
  return n;
}

}  // namespace dlp::dataplane
