// The sample and benchmark captures: see scenario.h.
#include "tests/gen/scenario.h"

#include <algorithm>
#include <deque>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>

#include "tests/gen/frames.h"
#include "tests/gen/payloads.h"
#include "tests/gen/tcp_conversation.h"

namespace dlp::testgen {
namespace {

constexpr std::uint64_t kSampleStartNs = 1'709'542'800'000'000'000ull;  // 2024-03-04T09:00:00Z
const Mac kGatewayMac{0x02, 0x00, 0x00, 0xfe, 0x00, 0x01};

struct User {
  const char* ip;
  const char* user;
  const char* department;
  std::uint8_t mac_last;
};
constexpr User kUsers[] = {
    {"10.1.0.10", "alice", "finance", 0x10},   {"10.1.0.11", "bob", "engineering", 0x11},
    {"10.1.0.12", "carol", "hr", 0x12},        {"10.1.0.13", "dave", "sales", 0x13},
    {"10.1.0.14", "erin", "legal", 0x14},      {"2001:db8:10::20", "frank", "engineering", 0x20},
};
enum UserIndex { kAlice, kBob, kCarol, kDave, kErin, kFrank };

Mac user_mac(const User& u) { return {0x02, 0x00, 0x00, 0x01, 0x00, u.mac_last}; }

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Builds the sample's conversations; packets are merged by time at the end.
class SampleBuilder {
 public:
  explicit SampleBuilder(std::uint64_t seed) : rng_(seed) {}

  struct Flow {
    const User* user;
    std::string server_ip;
    std::uint16_t server_port = 80;
    std::vector<std::uint16_t> vlans;
    bool v6_ext = false;
  };

  TcpConversation open(const Flow& f) {
    TcpConfig c;
    c.l2.src_mac = user_mac(*f.user);
    c.l2.dst_mac = kGatewayMac;
    c.l2.vlans = f.vlans;
    c.ip.src = f.user->ip;
    c.ip.dst = f.server_ip;
    c.ip.ipv6_ext_headers = f.v6_ext;
    c.ip.ip_id = static_cast<std::uint16_t>(rng_());
    c.client_port = next_port_++;
    c.server_port = f.server_port;
    c.client_isn = static_cast<std::uint32_t>(rng_());
    c.server_isn = static_cast<std::uint32_t>(rng_());
    c.start_ns = start_ns_;
    c.step_ns = 400'000 + rng_() % 900'000;  // 0.4-1.3 ms between packets of one flow
    start_ns_ += 150'000'000 + rng_() % 250'000'000;
    return TcpConversation(c);
  }

  void finish(TcpConversation& c) {
    for (Packet& p : c.take_packets()) packets_.push_back(std::move(p));
  }
  void add(std::vector<Packet> pkts) {
    for (Packet& p : pkts) packets_.push_back(std::move(p));
  }

  Planted planted(const TcpConversation& c, std::string category, std::string value,
                  std::string host, std::string url, bool expect, std::string note) {
    Planted p;
    p.category = std::move(category);
    p.value = std::move(value);
    p.src_ip = c.config().ip.src;
    p.src_port = c.config().client_port;
    p.dst_ip = c.config().ip.dst;
    p.dst_port = c.config().server_port;
    p.http_host = std::move(host);
    p.http_url = std::move(url);
    p.expect_finding = expect;
    p.note = std::move(note);
    return p;
  }

  // GET with a page of prose in the response.
  void benign_get(const Flow& f, const std::string& host, const std::string& url, bool midstream = false) {
    auto c = open(f);
    if (!midstream) c.handshake();
    c.send(Side::kClient, http_get(host, url));
    const std::string page = "<html><head><title>" + host + "</title></head><body><p>" +
                             benign_text(rng_, 1500 + rng_() % 4000) + "</p></body></html>";
    c.send(Side::kServer, http_response(200, page));
    c.fin();
    finish(c);
  }

  void benign_post(const Flow& f, const std::string& host, const std::string& url,
                   const std::string& body, const std::string& ctype, bool end_with_rst = false) {
    auto c = open(f);
    c.handshake();
    c.send(Side::kClient, http_post(host, url, body, ctype));
    c.send(Side::kServer, http_response(201, "{\"status\":\"ok\"}", "application/json"));
    if (end_with_rst) {
      c.rst(Side::kClient);
    } else {
      c.fin();
    }
    finish(c);
  }

  // A DNS A query and its answer over UDP (RFC 1035 wire format).
  void dns_lookup(const User& u, const std::string& name, const std::string& answer_v4) {
    std::vector<std::uint8_t> q;
    const std::uint16_t id = static_cast<std::uint16_t>(rng_());
    auto put16 = [](std::vector<std::uint8_t>& v, std::uint16_t x) {
      v.push_back(static_cast<std::uint8_t>(x >> 8));
      v.push_back(static_cast<std::uint8_t>(x));
    };
    put16(q, id);
    put16(q, 0x0100);  // RD
    put16(q, 1);
    put16(q, 0);
    put16(q, 0);
    put16(q, 0);
    std::size_t start = 0;
    while (start <= name.size()) {
      const std::size_t dot = std::min(name.find('.', start), name.size());
      q.push_back(static_cast<std::uint8_t>(dot - start));
      q.insert(q.end(), name.begin() + static_cast<std::ptrdiff_t>(start),
               name.begin() + static_cast<std::ptrdiff_t>(dot));
      start = dot + 1;
    }
    q.push_back(0);
    put16(q, 1);  // A
    put16(q, 1);  // IN
    std::vector<std::uint8_t> r = q;
    r[2] = 0x81;  // QR, RD
    r[3] = 0x80;  // RA
    r[7] = 1;     // ANCOUNT
    put16(r, 0xc00c);
    put16(r, 1);
    put16(r, 1);
    put16(r, 0);
    put16(r, 300);  // TTL
    put16(r, 4);
    unsigned a, b, c2, d;
    std::sscanf(answer_v4.c_str(), "%u.%u.%u.%u", &a, &b, &c2, &d);
    for (unsigned x : {a, b, c2, d}) r.push_back(static_cast<std::uint8_t>(x));

    L2 l2{.src_mac = user_mac(u), .dst_mac = kGatewayMac};
    Ip ip{.src = u.ip, .dst = "10.1.0.1"};
    const std::uint16_t sport = next_port_++;
    packets_.push_back({start_ns_, udp_frame(l2, ip, sport, 53, q)});
    std::swap(l2.src_mac, l2.dst_mac);
    std::swap(ip.src, ip.dst);
    packets_.push_back({start_ns_ + 2'100'000, udp_frame(l2, ip, 53, sport, r)});
    start_ns_ += 20'000'000;
  }

  std::vector<Packet> take() {
    std::stable_sort(packets_.begin(), packets_.end(),
                     [](const Packet& a, const Packet& b) { return a.ts_ns < b.ts_ns; });
    return std::move(packets_);
  }

  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
  std::uint64_t start_ns_ = kSampleStartNs;
  std::uint16_t next_port_ = 49152;
  std::vector<Packet> packets_;
};

// Smallest chunk/segment size >= lo that puts a boundary strictly inside [off, off+len).
std::size_t size_splitting(std::size_t off, std::size_t len, std::size_t lo) {
  for (std::size_t s = lo;; ++s)
    if (off / s != (off + len - 1) / s) return s;
}

std::size_t must_find(const std::string& hay, const std::string& needle) {
  const std::size_t at = hay.find(needle);
  if (at == std::string::npos) throw std::logic_error("testgen: planted value not in payload");
  return at;
}

}  // namespace

std::string sample_identity_csv() {
  std::string out = "ip,user,department\n";
  for (const User& u : kUsers) out += std::string(u.ip) + "," + u.user + "," + u.department + "\n";
  return out;
}

std::string planted_to_jsonl(const std::vector<Planted>& planted) {
  std::string out;
  for (const Planted& p : planted) {
    nlohmann::ordered_json j;
    j["category"] = p.category;
    j["value"] = p.value;
    j["src_ip"] = p.src_ip;
    j["src_port"] = p.src_port;
    j["dst_ip"] = p.dst_ip;
    j["dst_port"] = p.dst_port;
    j["http_host"] = p.http_host;
    j["http_url"] = p.http_url;
    j["expect_finding"] = p.expect_finding;
    j["note"] = p.note;
    out += j.dump() + "\n";
  }
  return out;
}

std::vector<Planted> write_sample_capture(const std::string& path, std::uint64_t seed, Format format) {
  SampleBuilder b(seed);
  auto& rng = b.rng();
  std::vector<Planted> truth;
  const User& alice = kUsers[kAlice];
  const User& bob = kUsers[kBob];
  const User& carol = kUsers[kCarol];
  const User& dave = kUsers[kDave];
  const User& erin = kUsers[kErin];
  const User& frank = kUsers[kFrank];

  // Morning browsing, name lookups, benign uploads.
  b.dns_lookup(alice, "www.news.example", "203.0.113.10");
  b.benign_get({&alice, "203.0.113.10"}, "www.news.example", "/");
  b.dns_lookup(bob, "docs.example.org", "203.0.113.11");
  b.benign_get({&bob, "203.0.113.11"}, "docs.example.org", "/guide/install.html");
  b.benign_get({&frank, "2001:db8:cafe::80"}, "upload.example", "/status");
  b.benign_post({&carol, "203.0.113.20"}, "shop.example", "/cart/add", benign_form(rng, 8),
                "application/x-www-form-urlencoded");
  b.benign_post({&dave, "198.51.100.20"}, "api.telemetry.example", "/v2/events",
                benign_json(rng, 5000), "application/json");
  b.benign_get({&erin, "203.0.113.10", 80, {200, 10}}, "www.news.example", "/world");  // QinQ
  b.benign_get({&frank, "2001:db8:cafe::80", 80, {}, true}, "upload.example", "/help");  // v6 ext hdrs
  b.benign_get({&bob, "203.0.113.11"}, "docs.example.org", "/guide/faq.html", /*midstream=*/true);

  // 1. alice: Visa card in a checkout form, split across two TCP segments.
  {
    const std::string card = make_card(rng, CardBrand::kVisa);
    const std::string body = form_urlencode({{"name", "Alice Example"},
                                             {"email", "alice@corp.example"},
                                             {"card_number", card},
                                             {"exp", "09/27"},
                                             {"notes", benign_text(rng, 300)}});
    const std::string host = "shop.example", url = "/checkout";
    const std::string req = http_post(host, url, body);
    auto c = b.open({&alice, "203.0.113.20"});
    c.handshake();
    const std::size_t cut[] = {must_find(req, card) + 7};
    c.send_cut(Side::kClient, bytes_of(req), cut);
    c.send(Side::kServer, http_response(302, ""));
    c.fin();
    truth.push_back(b.planted(c, "credit_card", card, host, url, true, "split_segments"));
    b.finish(c);
  }
  // 2. carol: SSN in a pasted text, the two segments carrying it sent out of order.
  {
    const std::string ssn = make_ssn(rng);
    const std::string body = benign_text(rng, 1800) + "Employee record: SSN " + ssn +
                             " effective 2024-03-01\n" + benign_text(rng, 1200);
    const std::string host = "paste.example", url = "/api/paste";
    const std::string req = http_post(host, url, body, "text/plain; charset=utf-8");
    TcpConversation c = b.open({&carol, "198.51.100.7"});
    c.handshake();
    const std::size_t at = must_find(req, ssn);
    const std::size_t cuts[] = {at / 2, at + 5};  // SSN spans segments 2 and 3
    const std::size_t first = c.packets().size();
    c.send_cut(Side::kClient, bytes_of(req), cuts);
    auto pkts = c.take_packets();
    // Packets from `first`: seg1, seg2, ack, seg3, ack (ack_every 2): swap seg2 and seg3.
    std::swap(pkts[first + 1].frame, pkts[first + 3].frame);
    std::swap(pkts[first + 2].frame, pkts[first + 3].frame);  // now seg1, seg3, seg2, ack, ack
    b.add(std::move(pkts));
    c.send(Side::kServer, http_response(200, "{\"id\":\"p7Hx2\"}", "application/json"));
    c.fin();
    truth.push_back(b.planted(c, "us_ssn", ssn, host, url, true, "out_of_order"));
    b.finish(c);
  }
  // 3. dave: Mastercard (2-series) in a chunked body, a chunk boundary inside the number.
  {
    const std::string card = make_card(rng, CardBrand::kMastercard2);
    const std::string body = "{\"customer\":\"" + std::string("Dave Example") + "\",\"notes\":\"" +
                             benign_text(rng, 900) + "\",\"payment\":{\"pan\":\"" + card +
                             "\",\"exp\":\"11/26\"},\"items\":" + benign_json(rng, 1500) + "}";
    const std::string host = "files.example", url = "/upload/orders.json";
    const std::size_t chunk = size_splitting(must_find(body, card), card.size(), 300);
    const std::string req = http_post(host, url, body, "application/json", true, chunk);
    auto c = b.open({&dave, "203.0.113.30"});
    c.handshake();
    c.send(Side::kClient, req, 1460);
    c.send(Side::kServer, http_response(201, "{\"stored\":true}", "application/json"));
    c.fin();
    truth.push_back(b.planted(c, "credit_card", card, host, url, true, "chunked"));
    b.finish(c);
  }
  // 4. frank over IPv6: an AWS access key id in a JSON config upload.
  {
    const std::string key = make_aws_key_id(rng);
    const std::string body = "{\"profile\":\"deploy\",\"region\":\"us-east-1\",\"aws_access_key_id\":\"" +
                             key + "\",\"comment\":\"" + benign_text(rng, 400) + "\"}";
    const std::string host = "upload.example", url = "/v1/config";
    auto c = b.open({&frank, "2001:db8:cafe::80"});
    c.handshake();
    c.send(Side::kClient, http_post(host, url, body, "application/json"));
    c.send(Side::kServer, http_response(200, "{\"ok\":true}", "application/json"));
    c.fin();
    truth.push_back(b.planted(c, "aws_access_key", key, host, url, true, "ipv6"));
    b.finish(c);
  }
  // 5. erin on VLAN 100: an SSN in a CRM form.
  {
    const std::string ssn = make_ssn(rng);
    const std::string body = form_urlencode({{"contact", "J. Doe"},
                                             {"ssn", ssn},
                                             {"dob", "1984-07-12"},
                                             {"memo", benign_text(rng, 250)}});
    const std::string host = "crm.example", url = "/contacts/new";
    auto c = b.open({&erin, "198.51.100.40", 80, {100}});
    c.handshake();
    c.send(Side::kClient, http_post(host, url, body));
    c.send(Side::kServer, http_response(201, ""));
    c.fin();
    truth.push_back(b.planted(c, "us_ssn", ssn, host, url, true, "vlan"));
    b.finish(c);
  }
  // 6. alice: an Amex card in a segment sent as IPv4 fragments, split between fragments.
  {
    const std::string card = make_card(rng, CardBrand::kAmex);
    const std::string body = benign_text(rng, 1400) + "Corporate card " + format_card(card, '-') +
                             " for travel expenses.\n" + benign_text(rng, 1400);
    const std::string value = format_card(card, '-');
    const std::string host = "files.example", url = "/upload/expenses.txt";
    const std::string req = http_post(host, url, body, "text/plain");
    auto c = b.open({&alice, "203.0.113.30"});
    c.handshake();
    const std::size_t at = must_find(req, value);
    const std::size_t seg_start = at - 700;
    const std::size_t cuts[] = {seg_start, seg_start + 1400};
    const std::size_t first = c.packets().size();
    c.send_cut(Side::kClient, bytes_of(req), cuts);
    auto pkts = c.take_packets();
    // Packets from `first`: seg1, seg2, ack, seg3, ack. Fragment seg2 (the card at TCP
    // payload offset 700, IP payload offset 720) with a boundary inside the number.
    const std::size_t ip_off = 20 + 700;
    const std::size_t frag_size = (ip_off / 8 + 1) * 8;  // boundary 1-8 bytes into the number
    const std::size_t frag_at = first + 1;
    auto frags = fragment_frame(pkts[frag_at].frame, frag_size);
    if (frags.size() < 2) throw std::logic_error("testgen: expected IPv4 fragments");
    std::vector<Packet> out(pkts.begin(), pkts.begin() + static_cast<std::ptrdiff_t>(frag_at));
    for (std::size_t i = 0; i < frags.size(); ++i)
      out.push_back({pkts[frag_at].ts_ns + i * 20'000, std::move(frags[i])});
    out.insert(out.end(), pkts.begin() + static_cast<std::ptrdiff_t>(frag_at) + 1, pkts.end());
    b.add(std::move(out));
    c.send(Side::kServer, http_response(201, ""));
    c.fin();
    truth.push_back(b.planted(c, "credit_card", value, host, url, true, "ipv4_fragments"));
    b.finish(c);
  }
  // 7. bob: an AWS key pasted in plain text, connection reset afterwards.
  {
    const std::string key = make_aws_key_id(rng);
    const std::string body = "export AWS_ACCESS_KEY_ID=" + key + "\nexport AWS_DEFAULT_REGION=eu-west-1\n" +
                             benign_text(rng, 600);
    const std::string host = "paste.example", url = "/api/paste";
    auto c = b.open({&bob, "198.51.100.7"});
    c.handshake();
    c.send(Side::kClient, http_post(host, url, body, "text/plain"));
    c.send(Side::kServer, http_response(200, "{\"id\":\"k2Lm9\"}", "application/json"));
    c.rst(Side::kClient);
    truth.push_back(b.planted(c, "aws_access_key", key, host, url, true, "plain"));
    b.finish(c);
  }
  // 8. frank over IPv6: a Discover card with spaces in a support ticket.
  {
    const std::string value = format_card(make_card(rng, CardBrand::kDiscover), ' ');
    const std::string body = "Ticket: customer could not pay with card " + value + ", please refund.\n" +
                             benign_text(rng, 500);
    const std::string host = "upload.example", url = "/v1/tickets";
    auto c = b.open({&frank, "2001:db8:cafe::80"});
    c.handshake();
    c.send(Side::kClient, http_post(host, url, body, "text/plain"));
    c.send(Side::kServer, http_response(201, ""));
    c.fin();
    truth.push_back(b.planted(c, "credit_card", value, host, url, true, "ipv6"));
    b.finish(c);
  }

  // Decoys: look like the real thing, fail the validators; no finding expected.
  {
    const std::string card = make_luhn_invalid_card(rng, CardBrand::kVisa);
    const std::string body = form_urlencode({{"name", "Dave Example"}, {"card_number", card},
                                             {"exp", "01/28"}, {"notes", benign_text(rng, 200)}});
    const std::string host = "shop.example", url = "/checkout";
    auto c = b.open({&dave, "203.0.113.20"});
    c.handshake();
    c.send(Side::kClient, http_post(host, url, body));
    c.send(Side::kServer, http_response(400, "invalid card"));
    c.fin();
    truth.push_back(b.planted(c, "credit_card", card, host, url, false, "decoy_luhn_invalid"));
    b.finish(c);
  }
  {
    const std::string host = "paste.example", url = "/api/paste";
    auto c = b.open({&carol, "198.51.100.7"});
    std::vector<std::string> bad;
    for (SsnDefect d : kAllSsnDefects) bad.push_back(make_invalid_ssn(rng, d));
    std::string body = "Test records (not real):\n";
    for (const auto& s : bad) body += "  ssn " + s + " status pending\n";
    body += benign_text(rng, 400);
    c.handshake();
    c.send(Side::kClient, http_post(host, url, body, "text/plain"));
    c.send(Side::kServer, http_response(200, "{\"id\":\"t0Qa1\"}", "application/json"));
    c.fin();
    for (const auto& s : bad) truth.push_back(b.planted(c, "us_ssn", s, host, url, false, "decoy_ssa_invalid"));
    b.finish(c);
  }
  {
    const std::string card = make_luhn_invalid_card(rng, CardBrand::kMastercard);
    const std::string body = "{\"ref\":\"" + card + "\",\"events\":" + benign_json(rng, 1200) + "}";
    const std::string host = "api.telemetry.example", url = "/v2/events";
    auto c = b.open({&bob, "198.51.100.20"});
    c.handshake();
    c.send(Side::kClient, http_post(host, url, body, "application/json"));
    c.send(Side::kServer, http_response(204, ""));
    c.fin();
    truth.push_back(b.planted(c, "credit_card", card, host, url, false, "decoy_luhn_invalid"));
    b.finish(c);
  }
  // A few more benign flows after the uploads.
  b.benign_post({&erin, "198.51.100.20"}, "api.telemetry.example", "/v2/events",
                benign_json(rng, 3000), "application/json", /*end_with_rst=*/true);
  b.benign_get({&carol, "203.0.113.10"}, "www.news.example", "/markets");
  b.benign_post({&alice, "203.0.113.20"}, "shop.example", "/newsletter", benign_form(rng, 4),
                "application/x-www-form-urlencoded");

  auto w = CaptureWriter::open(path, format);
  w->write_all(b.take());
  w->close();
  return truth;
}

// ---------------- benchmark capture ----------------

namespace {

class BenchFlowSource {
 public:
  explicit BenchFlowSource(std::uint64_t seed) : rng_(seed) {
    for (int i = 0; i < 16; ++i) pool_.push_back(benign_text(rng_, kMaxBody + 1024));
    for (int i = 0; i < 8; ++i) pool_.push_back(benign_json(rng_, kMaxBody + 1024));
  }

  struct Flow {
    std::deque<Packet> packets;
  };

  Flow make(BenchStats& stats) {
    const std::uint32_t n = flow_counter_++;
    TcpConfig c;
    c.l2.src_mac = {0x02, 0x00, 0x00, 0x01, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
    c.l2.dst_mac = kGatewayMac;
    c.ip.src = "10.1." + std::to_string(1 + (n / 250) % 250) + "." + std::to_string(1 + n % 250);
    c.ip.dst = "203.0.113." + std::to_string(10 + n % 40);
    c.ip.ip_id = static_cast<std::uint16_t>(rng_());
    c.client_port = static_cast<std::uint16_t>(10000 + (n % 50000));
    c.server_port = 80;
    c.client_isn = static_cast<std::uint32_t>(rng_());
    c.server_isn = static_cast<std::uint32_t>(rng_());
    TcpConversation conv(c);
    const std::size_t len = kMinBody + rng_() % (kMaxBody - kMinBody + 1);
    const std::string& src = pool_[rng_() % pool_.size()];
    std::string body = src.substr(rng_() % (src.size() - len), len);
    const std::string host = "files" + std::to_string(n % 40) + ".example";
    const std::string url = "/upload/" + std::to_string(n);
    if (std::uniform_int_distribution<int>(0, 999)(rng_) == 0) {
      const std::string card = make_card(rng_, kAllCardBrands[rng_() % 5]);
      const std::string planted = " card: " + card + " ok ";
      const std::size_t at = rng_() % (body.size() - planted.size());
      body.replace(at, planted.size(), planted);
      Planted p{"credit_card", card, c.ip.src, c.client_port, c.ip.dst, c.server_port, host, url,
                true, "bench"};
      stats.planted_items.push_back(std::move(p));
      ++stats.planted;
    }
    conv.handshake();
    const std::string req = http_post(host, url, body, "text/plain");
    conv.send(Side::kClient, req, 1460);
    const std::string resp = http_response(201, "{\"stored\":true}", "application/json");
    conv.send(Side::kServer, resp);
    conv.fin();
    stats.payload_bytes += req.size() + resp.size();
    ++stats.flows;
    auto pk = conv.take_packets();
    return Flow{std::deque<Packet>(std::make_move_iterator(pk.begin()), std::make_move_iterator(pk.end()))};
  }

 private:
  static constexpr std::size_t kMinBody = 4 * 1024;
  static constexpr std::size_t kMaxBody = 64 * 1024;
  std::mt19937_64 rng_;
  std::vector<std::string> pool_;
  std::uint32_t flow_counter_ = 0;
};

}  // namespace

BenchStats write_bench_capture(const std::string& path, std::uint64_t target_bytes, std::uint64_t seed,
                               Format format) {
  constexpr std::size_t kConcurrent = 64;
  BenchStats stats;
  BenchFlowSource source(seed);
  std::mt19937_64 pick(seed ^ 0x9e3779b97f4a7c15ull);
  auto w = CaptureWriter::open(path, format);
  std::vector<BenchFlowSource::Flow> active;
  std::uint64_t ts = kSampleStartNs;
  while (true) {
    const bool open_more = w->file_bytes() < target_bytes;
    while (open_more && active.size() < kConcurrent) active.push_back(source.make(stats));
    if (active.empty()) break;
    const std::size_t i = pick() % active.size();
    Packet& p = active[i].packets.front();
    w->write(ts, p.frame);
    // ~1 Gbit/s including preamble and gap, at least 1 us apart so pcap's microsecond
    // timestamps stay strictly increasing.
    ts += std::max<std::uint64_t>(1000, (p.frame.size() + 24) * 8);
    ++stats.packets;
    active[i].packets.pop_front();
    if (active[i].packets.empty()) {
      std::swap(active[i], active.back());
      active.pop_back();
    }
  }
  w->close();
  stats.file_bytes = w->file_bytes();
  return stats;
}

}  // namespace dlp::testgen
