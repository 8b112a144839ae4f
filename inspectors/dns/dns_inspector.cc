// DNS query framing, the per-flow name stream, and the hand-over to the tunnelling tracker.
//
// Shape: UDP data() calls are whole messages; TCP bytes go through a small framing state
// machine (length, body, skip, desync) that parses a message in place when it lies inside
// one data() call and copies it into buf_ only when it straddles calls, so the result does
// not depend on how reassembly cut the bytes. Per question: one write to the content
// stream, one PSL look-up, one tracker call (one mutex acquisition).
#include "inspectors/dns/dns_inspector.h"

#include <libpsl.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "inspectors/dns/dns_message.h"

namespace dlp::inspectors {
namespace dns {
namespace {

constexpr std::size_t kMaxQuestions = 4;

std::uint16_t be16(Bytes b, std::size_t off) {
  return static_cast<std::uint16_t>((b[off] << 8) | b[off + 1]);
}

bool ends_with_label(std::string_view name, std::string_view suffix) {
  if (suffix.empty()) return false;
  if (name.size() == suffix.size()) return name == suffix;
  return name.size() > suffix.size() && name[name.size() - suffix.size() - 1] == '.' &&
         name.substr(name.size() - suffix.size()) == suffix;
}

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_';
}

std::string fmt(const char* f, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string minutes(std::uint64_t ns) {
  const double m = static_cast<double>(ns) / 60e9;
  return m == static_cast<double>(static_cast<std::uint64_t>(m)) ? fmt("%.0f min", m)
                                                                   : fmt("%.1f min", m);
}

// The strict query check behind probe().
bool plausible_query(Bytes m) {
  DnsHeader h;
  if (!parse_dns_header(m, h)) return false;
  if (h.response() || h.opcode() != 0 || (h.flags & 0x0040) != 0 || h.rcode() != 0) return false;
  if (h.qdcount != 1 || h.ancount != 0 || h.nscount != 0 || h.arcount > 1) return false;
  if (m.size() <= kHeaderSize || m[kHeaderSize] >= 0xc0) return false;  // no compression in the first name
  std::size_t off = kHeaderSize;
  DnsName name;
  if (parse_dns_name(m, off, name) != DnsNameStatus::ok || name.is_root()) return false;
  for (std::size_t l = 0; l < name.label_count(); ++l) {
    for (char c : name.label(l)) {
      if (!host_char(c)) return false;
    }
  }
  if (off + 4 > m.size()) return false;
  const std::uint16_t qclass = be16(m, off + 2);
  if (qclass != 1 && qclass != 255) return false;
  off += 4;
  if (h.arcount == 0) return off == m.size();
  // EDNS0 OPT: root name, type 41, then class, TTL, RDLENGTH and RDATA.
  if (off + 11 > m.size() || m[off] != 0 || be16(m, off + 1) != 41) return false;
  return off + 11 + be16(m, off + 9) == m.size();
}

}  // namespace

class DnsInspector final : public Inspector {
 public:
  DnsInspector(ContentSink& sink, const DnsInspectorFactory& factory, const FlowInfo& flow)
      : sink_(sink), f_(factory), flow_(flow), udp_(flow.ip_proto == 17) {
    meta_.app = App::dns;
    meta_.dir = Dir::to_server;
  }

  void data(Dir dir, Bytes bytes) override {
    if (closed_ || dir != Dir::to_server || bytes.empty()) return;
    if (udp_) {
      on_message(bytes);
    } else {
      feed(bytes.data(), bytes.data() + bytes.size());
    }
  }

  void gap(Dir dir, std::uint64_t len) override;

  void close() override {
    if (closed_) return;
    closed_ = true;
    if (stream_open_) sink_.close(stream_);
    stream_open_ = false;
  }

 private:
  enum class Tcp : std::uint8_t { length, body, skip, desync };
  using Ptr = const std::uint8_t*;

  void feed(Ptr p, Ptr end);
  void start_message(Ptr& p, Ptr end);
  void on_message(Bytes msg);
  void on_question(const DnsName& name, std::uint16_t qtype);
  void track(const DnsName& name, std::size_t lower_len, std::uint16_t qtype);
  void write_content(Bytes b);
  void desync();

  ContentSink& sink_;
  const DnsInspectorFactory& f_;
  const FlowInfo flow_;
  const bool udp_;
  bool closed_ = false;
  ContentMeta meta_;
  ContentSink::StreamId stream_ = 0;
  bool stream_open_ = false;
  bool stream_full_ = false;
  std::uint64_t stream_bytes_ = 0;

  Tcp state_ = Tcp::length;
  bool have_hi_ = false;
  std::uint8_t len_hi_ = 0;
  std::size_t need_ = 0;
  std::vector<std::uint8_t> buf_;

  DnsName name_;
  char text_[kMaxPresentation + 1];
  char lower_[kMaxPresentation + 1];
  char lowered_labels_[kMaxNameWire];
};

void DnsInspector::feed(Ptr p, Ptr end) {
  while (p < end) {
    switch (state_) {
      case Tcp::length:
        if (!have_hi_ && end - p >= 2) {
          need_ = static_cast<std::size_t>((p[0] << 8) | p[1]);
          p += 2;
        } else if (!have_hi_) {
          len_hi_ = *p++;
          have_hi_ = true;
          continue;
        } else {
          need_ = static_cast<std::size_t>((len_hi_ << 8) | *p++);
          have_hi_ = false;
        }
        start_message(p, end);
        break;
      case Tcp::body: {
        const std::size_t take = std::min<std::size_t>(need_, static_cast<std::size_t>(end - p));
        buf_.insert(buf_.end(), p, p + take);
        p += take;
        need_ -= take;
        if (need_ == 0) {
          state_ = Tcp::length;
          on_message(Bytes(buf_.data(), buf_.size()));
        }
        break;
      }
      case Tcp::skip: {
        const std::size_t take = std::min<std::size_t>(need_, static_cast<std::size_t>(end - p));
        p += take;
        need_ -= take;
        if (need_ == 0) state_ = Tcp::length;
        break;
      }
      case Tcp::desync:
        write_content(Bytes(p, static_cast<std::size_t>(end - p)));
        p = end;
        break;
    }
  }
}

void DnsInspector::start_message(Ptr& p, Ptr end) {
  if (need_ == 0) {
    sink_.weird("dns.empty_message");
    return;
  }
  if (need_ > f_.limits_.max_flow_memory) {
    limit_hit(sink_, f_.limits_, "flow_memory", meta_,
              "DNS over TCP message of " + std::to_string(need_) + " bytes not parsed");
    state_ = Tcp::skip;
    return;
  }
  if (static_cast<std::size_t>(end - p) >= need_) {  // whole message here: parse in place
    on_message(Bytes(p, need_));
    p += need_;
    need_ = 0;
    return;
  }
  buf_.clear();
  state_ = Tcp::body;
}

void DnsInspector::gap(Dir dir, std::uint64_t len) {
  if (closed_ || dir != Dir::to_server || udp_ || len == 0) return;
  switch (state_) {
    case Tcp::body:
    case Tcp::skip:
      // The gap ends inside the current message, or exactly at its end: framing holds,
      // the damaged message is dropped.
      if (len <= need_) {
        sink_.weird("dns.gap");
        need_ -= static_cast<std::size_t>(len);
        state_ = need_ == 0 ? Tcp::length : Tcp::skip;
        return;
      }
      desync();
      return;
    case Tcp::length:
      desync();
      return;
    case Tcp::desync:
      if (stream_open_ && !stream_full_) sink_.gap(stream_, len);
      return;
  }
}

void DnsInspector::desync() {
  sink_.weird("dns.gap_desync");
  state_ = Tcp::desync;
  have_hi_ = false;
  buf_.clear();
  buf_.shrink_to_fit();
}

void DnsInspector::write_content(Bytes b) {
  if (stream_full_ || b.empty()) return;
  if (!stream_open_) {
    stream_ = sink_.open(meta_);
    stream_open_ = true;
  }
  const std::uint64_t room = f_.limits_.max_stream_bytes - std::min(stream_bytes_, f_.limits_.max_stream_bytes);
  if (b.size() > room) {
    if (room != 0) sink_.write(stream_, b.first(static_cast<std::size_t>(room)));
    stream_bytes_ += room;
    stream_full_ = true;
    limit_hit(sink_, f_.limits_, "stream_bytes", meta_,
              "DNS query names past " + std::to_string(f_.limits_.max_stream_bytes) +
                  " bytes in one flow not scanned");
    return;
  }
  sink_.write(stream_, b);
  stream_bytes_ += b.size();
}

void DnsInspector::on_message(Bytes msg) {
  DnsHeader h;
  if (!parse_dns_header(msg, h)) {
    sink_.weird("dns.truncated");
    return;
  }
  if (h.response()) {
    sink_.weird("dns.response_to_server");
    return;
  }
  if (h.opcode() != 0) {
    sink_.weird("dns.opcode");
    return;
  }
  if (h.qdcount == 0) {
    sink_.weird("dns.no_question");
    return;
  }
  std::size_t questions = h.qdcount;
  if (questions > kMaxQuestions) {
    sink_.weird("dns.too_many_questions");
    questions = kMaxQuestions;
  }
  std::size_t off = kHeaderSize;
  for (std::size_t i = 0; i < questions; ++i) {
    const DnsNameStatus st = parse_dns_name(msg, off, name_);
    if (st != DnsNameStatus::ok) {
      sink_.weird(dns_name_weird(st));
      return;
    }
    if (off + 4 > msg.size()) {
      // The name arrived whole: scan and track it, then report the damage.
      on_question(name_, 0);
      sink_.weird("dns.truncated");
      return;
    }
    const std::uint16_t qtype = be16(msg, off);
    off += 4;
    on_question(name_, qtype);
  }
}

void DnsInspector::on_question(const DnsName& name, std::uint16_t qtype) {
  if (name.is_root()) return;  // root priming, ". NS": nothing to carry
  bool binary = false;
  for (std::size_t l = 0; l < name.label_count() && !binary; ++l) {
    for (char c : name.label(l)) {
      if (!host_char(c)) {
        binary = true;
        break;
      }
    }
  }
  if (binary) sink_.weird("dns.binary_label");

  std::size_t n = dns_name_text(name, false, text_);
  text_[n++] = '\n';
  write_content(Bytes(reinterpret_cast<const std::uint8_t*>(text_), n));

  const std::size_t lower_len = dns_name_text(name, true, lower_);
  track(name, lower_len, qtype);
}

void DnsInspector::track(const DnsName& name, std::size_t lower_len, std::uint16_t qtype) {
  const std::string_view lower(lower_, lower_len);
  if (f_.excluded(lower)) return;
  const char* reg = f_.psl_ != nullptr
                        ? psl_registrable_domain(f_.psl_, lower_)
                        : nullptr;
  if (reg == nullptr || reg < lower_ || reg >= lower_ + lower_len) return;  // a public suffix
  const std::string_view domain(reg, static_cast<std::size_t>(lower_ + lower_len - reg));
  const std::size_t domain_labels =
      static_cast<std::size_t>(std::count(domain.begin(), domain.end(), '.')) + 1;
  if (domain_labels > name.label_count()) return;
  const std::size_t sub_labels = name.label_count() - domain_labels;

  DnsQueryObservation obs;
  obs.client = flow_.client_ip;
  obs.domain = domain;
  obs.qtype = qtype;
  obs.now_ns = sink_.now_ns();
  std::size_t used = 0;
  for (std::size_t l = 0; l < sub_labels; ++l) {
    const std::string_view label = name.label(l);
    if (label.front() == '_') continue;  // service labels: _domainkey, _dmarc, _tcp ...
    char* out = lowered_labels_ + used;
    for (std::size_t i = 0; i < label.size(); ++i) {
      const char c = label[i];
      out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    }
    obs.labels[obs.label_count++] = std::string_view(out, label.size());
    used += label.size();
  }

  const std::optional<DnsExfilEvidence> ev = f_.tracker_.observe(obs);
  if (!ev) return;

  Report r;
  r.detector = "dns.exfil";
  r.name = "DNS tunnelling";
  r.category = "dns_exfil";
  r.severity = "high";
  r.high_confidence = ev->entropy >= 4.3 || ev->unusual_type_share >= 0.5 ||
                      ev->unique_subdomains >= f_.tracker_.config().volume_unique_subdomains;
  r.count = static_cast<std::uint32_t>(std::min<std::uint64_t>(ev->new_queries, 0xffffffffu));
  r.volume_bytes = ev->new_bytes;
  r.meta.app = App::dns;
  r.meta.dir = Dir::to_server;
  r.meta.dns_domain = std::string(domain);
  const DnsExfilConfig& c = f_.tracker_.config();
  r.reasons.push_back(std::to_string(ev->queries) + " queries for " +
                      std::to_string(ev->unique_subdomains) +
                      " distinct subdomains of this domain from one client within " +
                      minutes(ev->window_ns));
  r.reasons.push_back(std::to_string(ev->subdomain_bytes) + " characters in distinct subdomains (" +
                      std::to_string(ev->encoded_bytes) + " in names of " +
                      std::to_string(c.min_payload_chars) + "+), mean label length " +
                      fmt("%.1f", ev->mean_label) + ", longest label " +
                      std::to_string(ev->longest_label));
  r.reasons.push_back("character entropy " + fmt("%.2f", ev->entropy) +
                      " bits/char (hex 4, base32 5, base64 6; host names about 3 to 4)");
  if (ev->volume_rule) {
    r.reasons.push_back("rule volume: " + std::to_string(c.volume_unique_subdomains) +
                        "+ distinct subdomains carrying " +
                        std::to_string(c.volume_subdomain_bytes) + "+ characters");
  } else {
    r.reasons.push_back("rule payload: " + std::to_string(c.min_unique_subdomains) +
                        "+ distinct subdomains, " + std::to_string(c.min_encoded_bytes) +
                        "+ characters in payload-sized names");
  }
  if (ev->unusual_type_share > 0) {
    r.reasons.push_back(fmt("%.0f%%", ev->unusual_type_share * 100) +
                        " of the queries ask for TXT, NULL, CNAME or MX records");
  }
  if (ev->repeat) {
    r.reasons.push_back(std::to_string(ev->new_queries) + " more queries and " +
                        std::to_string(ev->new_bytes) +
                        " more subdomain characters since the previous finding " +
                        minutes(ev->since_previous_ns) + " ago");
  }
  sink_.report(r);
}

}  // namespace dns

DnsInspectorFactory::DnsInspectorFactory(DnsExfilConfig config, Limits limits)
    : limits_(limits), tracker_(config) {
  // The system list (Debian's publicsuffix package) when it is newer than the built-in
  // one; the built-in alone if loading fails. Look-ups on a context are read-only, so
  // every worker shares it.
  psl_ctx_t* latest = psl_latest(nullptr);
  if (latest != nullptr) {
    psl_ = latest;
    psl_owned_ = true;
  } else {
    psl_ = psl_builtin();
  }
  for (std::string a : config.allowlist) {
    for (char& ch : a) {
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
    }
    while (!a.empty() && a.back() == '.') a.pop_back();
    if (a.rfind("*.", 0) == 0) a.erase(0, 2);
    while (!a.empty() && a.front() == '.') a.erase(0, 1);
    if (!a.empty()) allowlist_.push_back(std::move(a));
  }
}

DnsInspectorFactory::~DnsInspectorFactory() {
  if (psl_owned_) psl_free(const_cast<psl_ctx_t*>(psl_));
}

bool DnsInspectorFactory::excluded(std::string_view lower_name) const {
  if (dns::ends_with_label(lower_name, "arpa") || dns::ends_with_label(lower_name, "local")) {
    return true;
  }
  for (const std::string& a : allowlist_) {
    if (dns::ends_with_label(lower_name, a)) return true;
  }
  return false;
}

bool DnsInspectorFactory::probe(Bytes b) const {
  if (dns::plausible_query(b)) return true;
  return b.size() > 2 && static_cast<std::size_t>((b[0] << 8) | b[1]) == b.size() - 2 &&
         dns::plausible_query(b.subspan(2));
}

std::unique_ptr<Inspector> DnsInspectorFactory::create(ContentSink& sink,
                                                       const FlowInfo& flow) const {
  return std::make_unique<dns::DnsInspector>(sink, *this, flow);
}

}  // namespace dlp::inspectors
