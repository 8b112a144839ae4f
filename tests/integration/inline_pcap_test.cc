// The inline appliance end to end on DPDK net_pcap ports: `dlpgate run` reads a capture as
// its inside port's wire and writes what it forwards as captures, so the test sees exactly
// which frames left by which port. All frames (both directions) enter by the inside port,
// so their order is the capture's: deterministic.
//
// Bar of issue 5: the blocked flow stops at the matching segment (its later frames are
// absent), the RSTs are present with the right bytes, everything else passes byte for byte.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <algorithm>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataplane/pcap_source.h"
#include "tests/gen/frames.h"
#include "tests/gen/payloads.h"
#include "tests/gen/pcap_writer.h"
#include "tests/gen/tcp_conversation.h"
#include "tests/loopback.h"

namespace dlp::itest {
namespace {

namespace fs = std::filesystem;
using testgen::Frame;
using testgen::Side;

std::vector<Frame> read_frames(const std::string& path) {
  std::vector<Frame> out;
  dataplane::PcapFileSource src({path});
  dataplane::RawPacket burst[32];
  while (std::size_t n = src.next_burst(burst)) {
    for (std::size_t i = 0; i < n; ++i) out.emplace_back(burst[i].data.begin(), burst[i].data.end());
  }
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Outcome {
  int rc = -1;
  std::string err;
};

class InlinePcap : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dlpgate-inline-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    const char* bin = std::getenv("DLP_BINARY_DIR");
    // ctest runs the suites in the build directory.
    dlpgate_ = std::string(bin ? bin : ".") + "/mgmt/dlpgate";
    dlpctl_ = std::string(bin ? bin : ".") + "/mgmt/dlpctl";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& n) const { return (dir_ / n).string(); }

  void write_capture(const std::string& name, const std::vector<testgen::Packet>& pkts) {
    auto w = testgen::CaptureWriter::open(path(name), testgen::Format::kPcap);
    w->write_all(pkts);
    w->close();
  }

  // dlpgate.yaml: in.pcap in by the inside port, everything out into out0/out1.pcap.
  void write_config(const std::string& actions, const std::string& extra = "", int workers = 1) {
    write_capture("empty.pcap", {});
    std::ofstream cfg(path("dlpgate.yaml"));
    cfg << "dataplane:\n"
        << "  eal: [\"--no-huge\", \"-m\", \"256\", \"--no-pci\", \"--no-telemetry\",\n"
        << "        \"--vdev=net_pcap0,rx_pcap=" << path("in.pcap") << ",tx_pcap=" << path("out0.pcap") << "\",\n"
        << "        \"--vdev=net_pcap1,rx_pcap=" << path("empty.pcap") << ",tx_pcap=" << path("out1.pcap") << "\"]\n"
        << "  inside_port: 0\n  outside_port: 1\n  workers: " << workers << "\n  on_overload: fail_open\n"
        << "  mempool_mbufs: 4095\n"
        << extra << "actions:\n" << actions << "findings: " << path("findings.jsonl") << "\n"
        << "stats: " << path("stats.json") << "\n"
        << "store: " << path("dlpgate.db") << "\n"
        << "control: { socket: " << path("ctl.sock") << " }\n";
  }

  Outcome run(const std::string& actions, const std::string& extra = "", int workers = 1) {
    write_config(actions, extra, workers);
    const std::string cmd = dlpgate_ + " run --config " + path("dlpgate.yaml") +
                            " --until-idle 1500 --max-seconds 60 >" + path("stdout") + " 2>" + path("stderr");
    Outcome r;
    const int st = std::system(cmd.c_str());
    r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.err = slurp(path("stderr"));
    return r;
  }

  std::vector<nlohmann::json> findings() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(path("findings.jsonl"));
    std::string line;
    while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
    return out;
  }

  // dlpctl with these arguments; its standard output, and the exit status in `rc`.
  std::string dlpctl(const std::string& args, int* rc = nullptr) const {
    const int st = std::system((dlpctl_ + " " + args + " >" + path("ctl.out") + " 2>" + path("ctl.err")).c_str());
    if (rc) *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return slurp(path("ctl.out")) + slurp(path("ctl.err"));
  }

  fs::path dir_;
  std::string dlpgate_, dlpctl_;
};

// A benign upload and a card upload (different client ports), interleaved by time.
struct Traffic {
  std::vector<testgen::Packet> all;
  std::vector<Frame> benign, card_flow;
  std::size_t trigger = 0;  // index in card_flow of the segment completing the card
  std::string card;
  std::uint32_t trig_seq = 0, trig_ack = 0;
};

Traffic make_traffic() {
  Traffic t;
  std::mt19937_64 rng(2026);
  testgen::TcpConfig a;
  a.client_port = 41000;
  a.ack_every = 4;
  testgen::TcpConversation benign(a);
  benign.handshake();
  benign.send(Side::kClient, testgen::http_post("files.example", "/up", testgen::benign_text(rng, 20000), "text/plain"));
  benign.send(Side::kServer, testgen::http_response(200, "stored"));
  benign.fin();

  testgen::TcpConfig b;
  b.client_port = 42000;
  b.start_ns = a.start_ns + 500'000;  // interleaved with the benign one
  b.ack_every = 4;
  testgen::TcpConversation leak(b);
  leak.handshake();
  std::string body = testgen::benign_text(rng, 6000);
  t.card = testgen::make_card(rng, testgen::CardBrand::kVisa);
  body.insert(4000, "\ncard number " + t.card + "\n");
  leak.send(Side::kClient, testgen::http_post("paste.example", "/p", body, "text/plain"));
  leak.send(Side::kServer, testgen::http_response(200, "ok"));
  leak.fin();

  for (const auto& p : benign.packets()) t.benign.push_back(p.frame);
  for (const auto& p : leak.packets()) t.card_flow.push_back(p.frame);
  for (std::size_t i = 0; i < t.card_flow.size(); ++i) {
    const auto& f = t.card_flow[i];
    if (std::search(f.begin(), f.end(), t.card.begin() + 8, t.card.end()) != f.end()) {
      t.trigger = i;
      break;
    }
  }
  const auto& f = t.card_flow[t.trigger];
  auto be32 = [&](std::size_t o) {
    return (std::uint32_t{f[o]} << 24) | (std::uint32_t{f[o + 1]} << 16) | (std::uint32_t{f[o + 2]} << 8) | f[o + 3];
  };
  t.trig_seq = be32(14 + 20 + 4);
  t.trig_ack = be32(14 + 20 + 8);
  t.all = benign.packets();
  for (const auto& p : leak.packets()) t.all.push_back(p);
  // An ARP request too: not IP, bridged unchanged.
  testgen::Packet arp;
  arp.ts_ns = a.start_ns + 100;
  arp.frame = testgen::ethernet(testgen::L2{}, 0x0806, std::vector<std::uint8_t>(28, 1));
  t.all.push_back(arp);
  std::stable_sort(t.all.begin(), t.all.end(), [](const auto& x, const auto& y) { return x.ts_ns < y.ts_ns; });
  return t;
}

bool contains(const std::vector<Frame>& v, const Frame& f) {
  return std::find(v.begin(), v.end(), f) != v.end();
}

TEST_F(InlinePcap, CardFlowStopsAtTheMatchingSegmentWithResetsAndTheRestPassesIntact) {
  const Traffic t = make_traffic();
  ASSERT_GT(t.trigger, 3u);
  write_capture("in.pcap", t.all);
  const Outcome r = run("  - { category: credit_card, min_confidence: medium, verdict: reset }\n");
  ASSERT_EQ(r.rc, 0) << r.err;

  const auto out1 = read_frames(path("out1.pcap"));  // forwarded toward the internet
  const auto out0 = read_frames(path("out0.pcap"));  // sent back toward the users
  // Every frame of the benign flow, byte for byte, in order.
  std::vector<Frame> benign_out;
  for (const auto& f : out1) {
    if (contains(t.benign, f)) benign_out.push_back(f);
  }
  EXPECT_EQ(benign_out, t.benign);
  // The card flow: everything before the matching segment, nothing from it on.
  for (std::size_t i = 0; i < t.card_flow.size(); ++i) {
    EXPECT_EQ(contains(out1, t.card_flow[i]), i < t.trigger) << "card-flow frame " << i;
  }
  // The ARP frame is bridged.
  std::size_t arps = 0;
  for (const auto& f : out1) arps += f.size() >= 14 && f[12] == 0x08 && f[13] == 0x06;
  EXPECT_EQ(arps, 1u);

  // The RSTs, exactly as the independent builder makes them.
  testgen::Ip ip{.src = "10.1.0.10", .dst = "203.0.113.80", .ttl = 64, .ipv4_options = {},
                 .ipv6_ext_headers = false, .ip_id = 0, .dont_fragment = true};
  testgen::L2 l2;
  const Frame rst_server = testgen::tcp_frame(l2, ip, 42000, 80, t.trig_seq, t.trig_ack,
                                              testgen::kTcpRst | testgen::kTcpAck, {}, 0);
  testgen::L2 l2r{.src_mac = l2.dst_mac, .dst_mac = l2.src_mac, .vlans = {}, .pad = true};
  testgen::Ip ipr = ip;
  std::swap(ipr.src, ipr.dst);
  const Frame rst_client = testgen::tcp_frame(l2r, ipr, 80, 42000, t.trig_ack, t.trig_seq,
                                              testgen::kTcpRst | testgen::kTcpAck, {}, 0);
  EXPECT_TRUE(contains(out1, rst_server));
  EXPECT_EQ(out0, std::vector<Frame>{rst_client});  // nothing else goes back inside

  // One finding, blocked, masked; the number itself appears nowhere.
  const auto fs = findings();
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0]["category"], "credit_card");
  EXPECT_EQ(fs[0]["action"], "block");
  EXPECT_EQ(fs[0]["verdict"], "reset");
  EXPECT_EQ(fs[0]["src_port"], 42000);
  EXPECT_EQ(slurp(path("findings.jsonl")).find(t.card), std::string::npos);
  EXPECT_EQ(r.err.find(t.card), std::string::npos);

  // Counters, as an operator reads them.
  const auto stats = nlohmann::json::parse(slurp(path("stats.json")));
  EXPECT_EQ(stats["workers"][0]["verdicts"]["reset"], 1);
  EXPECT_EQ(stats["workers"][0]["resets_sent"], 2);
  EXPECT_EQ(stats["workers"][0]["dropped"]["verdict"], t.card_flow.size() - t.trigger);
  EXPECT_EQ(stats["ports"][0]["rx_packets"], t.all.size());
}

TEST_F(InlinePcap, TwoWorkersBehindTheSoftwareDistributorGiveTheSameResult) {
  // net_pcap has one queue: worker 0 distributes by a symmetric hash of the address pair.
  // Flows from many clients spread over both workers; the card flow is still cut at its
  // matching segment and every other flow passes whole.
  Traffic t = make_traffic();
  std::mt19937_64 rng(77);
  std::vector<Frame> others;
  for (int c = 0; c < 12; ++c) {
    testgen::TcpConfig cfg;
    cfg.ip.src = "10.9.0." + std::to_string(20 + c);
    cfg.client_port = static_cast<std::uint16_t>(50000 + c);
    cfg.start_ns = t.all.front().ts_ns + static_cast<std::uint64_t>(c) * 7000;
    testgen::TcpConversation conv(cfg);
    conv.handshake();
    conv.send(Side::kClient, testgen::http_post("x.example", "/", testgen::benign_text(rng, 4000), "text/plain"));
    conv.fin();
    for (const auto& p : conv.packets()) {
      others.push_back(p.frame);
      t.all.push_back(p);
    }
  }
  std::stable_sort(t.all.begin(), t.all.end(), [](const auto& x, const auto& y) { return x.ts_ns < y.ts_ns; });
  write_capture("in.pcap", t.all);
  const Outcome r = run("  - { category: credit_card, min_confidence: medium, verdict: reset }\n", "", 2);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("2 worker(s) in distributor mode"), std::string::npos) << r.err;
  const auto out1 = read_frames(path("out1.pcap"));
  for (const auto& f : others) EXPECT_TRUE(contains(out1, f));
  for (const auto& f : t.benign) EXPECT_TRUE(contains(out1, f));
  for (std::size_t i = 0; i < t.card_flow.size(); ++i) {
    EXPECT_EQ(contains(out1, t.card_flow[i]), i < t.trigger) << "card-flow frame " << i;
  }
  const auto stats = nlohmann::json::parse(slurp(path("stats.json")));
  ASSERT_EQ(stats["workers"].size(), 2u);
  EXPECT_GT(stats["workers"][0]["packets"].get<std::uint64_t>(), 0u);
  EXPECT_GT(stats["workers"][1]["packets"].get<std::uint64_t>(), 0u);
  const auto fs = findings();
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0]["verdict"], "reset");
}

TEST_F(InlinePcap, WithoutARuleEverythingPassesAndIsStillReported) {
  const Traffic t = make_traffic();
  write_capture("in.pcap", t.all);
  const Outcome r = run("  - { category: private_key, verdict: drop }\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  std::vector<Frame> expected;
  for (const auto& p : t.all) expected.push_back(p.frame);
  EXPECT_EQ(read_frames(path("out1.pcap")), expected);
  EXPECT_TRUE(read_frames(path("out0.pcap")).empty());
  const auto fs = findings();
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0]["verdict"], "pass");
}

TEST_F(InlinePcap, InspectionOffIsAPlainBridge) {
  const Traffic t = make_traffic();
  write_capture("in.pcap", t.all);
  const Outcome r = run("  - { category: credit_card, verdict: reset }\n", "  inspect: false\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  std::vector<Frame> expected;
  for (const auto& p : t.all) expected.push_back(p.frame);
  EXPECT_EQ(read_frames(path("out1.pcap")), expected);
  EXPECT_TRUE(findings().empty());
}

TEST_F(InlinePcap, MalformedFramesAreBridgedOrCountedNeverACrash) {
  Traffic t = make_traffic();
  // Truncated and corrupted copies of real frames, and pure garbage.
  std::mt19937_64 rng(5);
  std::vector<testgen::Packet> bad = t.all;
  for (std::size_t i = 0; i < t.all.size(); i += 3) {
    testgen::Packet p = t.all[i];
    p.frame.resize(std::min<std::size_t>(p.frame.size(), 14 + rng() % 40));
    bad.push_back(p);
    testgen::Packet q = t.all[i];
    for (int k = 0; k < 6; ++k) q.frame[14 + rng() % (q.frame.size() - 14)] ^= static_cast<std::uint8_t>(rng());
    bad.push_back(q);
  }
  testgen::Packet junk;
  junk.ts_ns = t.all.back().ts_ns + 1;
  junk.frame.assign(17, 0xff);
  bad.push_back(junk);
  write_capture("in.pcap", bad);
  const Outcome r = run("  - { category: credit_card, verdict: reset }\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto stats = nlohmann::json::parse(slurp(path("stats.json")));
  EXPECT_EQ(stats["ports"][0]["rx_packets"], bad.size());
  EXPECT_GT(stats["workers"][0]["decode_malformed"].get<std::uint64_t>(), 0u);
}

TEST_F(InlinePcap, BadConfigurationIsRefusedWithFileAndLine) {
  write_capture("in.pcap", {});
  const Outcome r = run("  - { category: credit_card, verdict: explode }\n");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("dlpgate.yaml:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("verdict must be pass, drop or reset"), std::string::npos) << r.err;
}

// The daemon run through dlpctl: status while it runs, a policy applied over the socket is
// enforced at once and audited with the caller's uid, a reload is carried out and audited,
// and after a clean stop the findings, the incident and the whole audit chain are in the
// store, readable with no daemon.
TEST_F(InlinePcap, DaemonIsRunThroughDlpctlAndLeavesItsRecordInTheStore) {
  const Traffic t = make_traffic();
  write_capture("in.pcap", t.all);
  write_config("  - { category: credit_card, verdict: reset }\n");
  const std::string cmd = dlpgate_ + " run --config " + path("dlpgate.yaml") + " --max-seconds 60 >" +
                          path("stdout") + " 2>" + path("stderr") + " & echo $! >" + path("pid");
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const pid_t pid = static_cast<pid_t>(std::stol(slurp(path("pid"))));
  const std::string sock = " --socket " + path("ctl.sock");

  // The capture is read at once; wait until its finding has been counted.
  nlohmann::json st;
  for (int i = 0; i < 300; ++i) {
    int rc = -1;
    const std::string o = dlpctl("status --json" + sock, &rc);
    if (rc == 0) {
      st = nlohmann::json::parse(slurp(path("ctl.out")));
      if (st.value("findings", 0) >= 1) break;
    }
    ASSERT_EQ(::kill(pid, 0), 0) << "dlpgate exited: " << slurp(path("stderr"));
    ::usleep(100'000);
  }
  ASSERT_TRUE(st.value("daemon", false)) << st.dump();
  EXPECT_EQ(st["findings"], 1);
  EXPECT_EQ(st["blocked"], 1);
  EXPECT_EQ(st["counters"]["workers"][0]["verdicts"]["reset"], 1);
  EXPECT_EQ(st["store"]["backend"], "sqlite");
  int rc = -1;
  const std::string text = dlpctl("status" + sock, &rc);
  EXPECT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("daemon     running"), std::string::npos) << text;
  EXPECT_NE(text.find("worker 0   packets"), std::string::npos) << text;
  // The card itself never leaves in a status or log line.
  EXPECT_EQ(text.find(t.card), std::string::npos);

  {
    std::ofstream pol(path("policy.yaml"));
    pol << "policy:\n  default: alert\n  rules:\n"
        << "    - { name: cards anywhere, category: [credit_card], action: block }\n";
  }
  std::string o = dlpctl("policy apply " + path("policy.yaml") + sock, &rc);
  EXPECT_EQ(rc, 0) << o;
  o = dlpctl("reload" + sock, &rc);
  EXPECT_EQ(rc, 0) << o;
  EXPECT_NE(o.find("reloaded"), std::string::npos) << o;
  EXPECT_NE(o.find("policy v1 from the store"), std::string::npos) << o;

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  for (int i = 0; i < 300 && ::kill(pid, 0) == 0; ++i) ::usleep(100'000);
  ASSERT_NE(::kill(pid, 0), 0) << "dlpgate did not stop on SIGTERM";
  const std::string err = slurp(path("stderr"));
  EXPECT_NE(err.find("now enforcing policy v1 from the store"), std::string::npos) << err;
  EXPECT_EQ(err.find(t.card), std::string::npos);

  // No daemon now: dlpctl reads the store.
  const std::string store = " --store " + path("dlpgate.db");
  o = dlpctl("incidents list --json" + store, &rc);
  ASSERT_EQ(rc, 0) << o;
  const auto inc = nlohmann::json::parse(slurp(path("ctl.out")));
  ASSERT_EQ(inc["incidents"].size(), 1u) << inc.dump();
  EXPECT_EQ(inc["incidents"][0]["findings"], 1);
  EXPECT_EQ(inc["incidents"][0]["action"], "block");
  o = dlpctl("audit log --json --limit 50" + store, &rc);
  ASSERT_EQ(rc, 0) << o;
  const auto log = nlohmann::json::parse(slurp(path("ctl.out")));
  std::vector<std::string> actions;
  for (const auto& e : log["entries"]) {
    actions.push_back(e["action"]);
    EXPECT_EQ(e["uid"], ::getuid()) << e.dump();
  }
  const std::vector<std::string> want{"daemon.start", "policy.apply", "daemon.reload", "daemon.stop"};
  std::vector<std::string> seen;
  for (const auto& a : actions) {
    if (std::find(want.begin(), want.end(), a) != want.end() && (seen.empty() || seen.back() != a)) seen.push_back(a);
  }
  EXPECT_EQ(seen.front(), "daemon.start") << log.dump();
  EXPECT_NE(std::find(seen.begin(), seen.end(), "policy.apply"), seen.end()) << log.dump();
  EXPECT_NE(std::find(seen.begin(), seen.end(), "daemon.reload"), seen.end()) << log.dump();
  EXPECT_EQ(seen.back(), "daemon.stop") << log.dump();
  o = dlpctl("audit verify" + store, &rc);
  EXPECT_EQ(rc, 0) << o;
  EXPECT_EQ(slurp(path("stdout")).find(t.card), std::string::npos);
}

// Live identity on the running daemon: a RADIUS Start sent with radclient (and a logon
// event sent with logger) before any traffic, and the finding of the card upload that
// follows names the RADIUS user rather than the static owner of the address. The capture
// is fed through a FIFO, so no frame is read before the test has sent the Start.
TEST_F(InlinePcap, LiveRadiusStartBeforeTrafficNamesTheUserOfTheFinding) {
  const std::string radclient = "/usr/bin/radclient", logger = "/usr/bin/logger";
  ASSERT_EQ(::access(radclient.c_str(), X_OK), 0)
      << "radclient not found: run deploy/install-deps.sh (Debian package freeradius-utils)";
  ASSERT_EQ(::access(logger.c_str(), X_OK), 0)
      << "logger not found: run deploy/install-deps.sh (Debian package bsdutils)";
  const Traffic t = make_traffic();
  write_capture("traffic.pcap", t.all);
  ASSERT_EQ(::mkfifo(path("in.pcap").c_str(), 0600), 0);
  { std::ofstream(path("radius.secret")) << "it3-s3cret\n"; }
  { std::ofstream(path("wrong.secret")) << "not-it\n"; }
  { std::ofstream(path("ids.csv")) << "ip,user,department\n10.1.0.10,dora,it\n"; }
  { std::ofstream(path("dir.csv")) << "user,department,devices\nalice,finance,alice-laptop\nbob,sales,\n"; }
  // Free loopback ports for the two listeners.
  const std::string rport = std::to_string(dlp::testing::free_loopback_port(SOCK_DGRAM));
  const std::string sport = std::to_string(dlp::testing::free_loopback_port(SOCK_DGRAM));
  write_config("  - { category: credit_card, verdict: reset }\n",
               "identity:\n  csv: ids.csv\n  directory: dir.csv\n"
               "  radius: { listen: \"127.0.0.1:" + rport + "\", secret_file: radius.secret }\n"
               "  syslog: { listen: \"127.0.0.1:" + sport + "\" }\n");
  const std::string cmd = dlpgate_ + " run --config " + path("dlpgate.yaml") + " --max-seconds 60 >" +
                          path("stdout") + " 2>" + path("stderr") + " & echo $! >" + path("pid");
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const pid_t pid = static_cast<pid_t>(std::stol(slurp(path("pid"))));
  const std::string sock = " --socket " + path("ctl.sock");
  struct Stop {
    pid_t pid;
    ~Stop() {
      ::kill(pid, SIGTERM);
      for (int i = 0; i < 300 && ::kill(pid, 0) == 0; ++i) ::usleep(100'000);
    }
  } stop{pid};

  // radclient retries until the listener is up; a reply means the Start is recorded.
  // Event-Timestamp: a minute before the traffic (2024-03-04T09:00:00Z).
  auto radius = [&](const std::string& attrs, const std::string& secret, int tries) {
    const std::string c = "echo '" + attrs + "' | " + radclient + " -x -r " + std::to_string(tries) +
                          " -t 0.5 -S " + path(secret) + " 127.0.0.1:" + rport + " acct >" +
                          path("rad.out") + " 2>&1";
    const int st = std::system(c.c_str());
    return std::make_pair(WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(path("rad.out")));
  };
  auto [rc1, out1] = radius("User-Name=CORP\\\\alice,Framed-IP-Address=10.1.0.10,Acct-Status-Type=Start,"
                            "Acct-Session-Id=vpn-1,Event-Timestamp=1709542740", "radius.secret", 40);
  ASSERT_EQ(rc1, 0) << out1 << slurp(path("stderr"));
  ASSERT_NE(out1.find("Received Accounting-Response"), std::string::npos) << out1;
  auto [rc2, out2] = radius("User-Name=mallory,Framed-IP-Address=10.1.0.10,Acct-Status-Type=Start,"
                            "Acct-Session-Id=evil-1,Event-Timestamp=1709542770", "wrong.secret", 1);
  EXPECT_NE(rc2, 0) << out2;
  EXPECT_EQ(out2.find("Received Accounting-Response"), std::string::npos) << out2;
  const std::string log = logger + " --udp --server 127.0.0.1 --port " + sport + " --rfc5424 -t evt ";
  ASSERT_EQ(std::system((log + "'{\"TimeCreated\":\"2024-03-04T08:30:00Z\",\"EventID\":4624,"
                               "\"TargetUserName\":\"CORP\\\\bob\",\"IpAddress\":\"10.1.0.20\"}'").c_str()), 0);
  ASSERT_EQ(std::system((log + "'{not json'").c_str()), 0);

  // Before any traffic, the daemon answers lookups from files and live sources together.
  int rc = -1;
  std::string o;
  for (int i = 0; i < 100; ++i) {
    o = dlpctl("identity lookup 10.1.0.20 2024-03-04T09:00:00Z" + sock, &rc);
    if (rc == 0 && o.find("bob") != std::string::npos) break;
    ::usleep(50'000);
  }
  EXPECT_EQ(o, "10.1.0.20 at 2024-03-04T09:00:00.000000Z: bob (sales)\n");
  o = dlpctl("identity lookup 10.1.0.10 2024-03-04T08:58:59Z" + sock, &rc);
  EXPECT_EQ(o, "10.1.0.10 at 2024-03-04T08:58:59.000000Z: dora (it)\n");
  o = dlpctl("identity lookup 10.1.0.10 2024-03-04T08:59:00Z" + sock, &rc);
  EXPECT_EQ(o, "10.1.0.10 at 2024-03-04T08:59:00.000000Z: alice (finance)\n");

  // Now the traffic.
  ASSERT_EQ(std::system(("timeout 30 cat " + path("traffic.pcap") + " > " + path("in.pcap")).c_str()), 0);
  nlohmann::json st;
  for (int i = 0; i < 300; ++i) {
    const std::string so = dlpctl("status --json" + sock, &rc);
    if (rc == 0) {
      st = nlohmann::json::parse(slurp(path("ctl.out")));
      if (st.value("findings", 0) >= 1 && st["identity"]["syslog"].value("received", 0) >= 2) break;
    }
    ASSERT_EQ(::kill(pid, 0), 0) << "dlpgate exited: " << slurp(path("stderr"));
    ::usleep(100'000);
  }
  ASSERT_EQ(st.value("findings", 0), 1) << st.dump();
  const nlohmann::json& radius_c = st["identity"]["radius"];
  EXPECT_EQ(radius_c["received"], 2) << st.dump();
  EXPECT_EQ(radius_c["answered"], 1);
  EXPECT_EQ(radius_c["bound"], 1);
  EXPECT_EQ(radius_c["dropped"]["total"], 1);
  EXPECT_EQ(radius_c["dropped"]["bad_authenticator"], 1);
  const nlohmann::json& syslog_c = st["identity"]["syslog"];
  EXPECT_EQ(syslog_c["received"], 2);
  EXPECT_EQ(syslog_c["bound"], 1);
  EXPECT_EQ(syslog_c["dropped"]["bad_logon"], 1);
  EXPECT_EQ(st["identity"]["bindings"], 3);
  EXPECT_EQ(st["identity"]["live_bindings"], 2);
  const std::string text = dlpctl("status" + sock, &rc);
  EXPECT_NE(text.find("radius     127.0.0.1:" + rport + ": received 2, answered 1, bound 1, ended 0, "
                      "dropped 1 (bad_authenticator 1)"), std::string::npos) << text;

  std::vector<nlohmann::json> fs_;
  for (int i = 0; i < 50 && fs_.empty(); ++i, ::usleep(100'000)) fs_ = findings();
  ASSERT_EQ(fs_.size(), 1u);
  EXPECT_EQ(fs_[0]["src_ip"], "10.1.0.10");
  EXPECT_EQ(fs_[0]["user"], "alice") << fs_[0].dump();
  EXPECT_EQ(fs_[0]["department"], "finance");

  // The daemon lists the live bindings next to the stored ones.
  o = dlpctl("identity list --json --ip 10.1.0.20" + sock, &rc);
  ASSERT_EQ(rc, 0) << o;
  const auto listed = nlohmann::json::parse(slurp(path("ctl.out")));
  ASSERT_EQ(listed["bindings"].size(), 1u) << listed.dump();
  EXPECT_EQ(listed["bindings"][0]["user"], "bob");
  EXPECT_EQ(listed["bindings"][0]["source"], "session");
  EXPECT_EQ(listed["bindings"][0]["origin"], "live");

  // A reload (the main loop runs now that the traffic is in) reads the files again and keeps what the listeners learnt.
  o = dlpctl("reload" + sock, &rc);
  EXPECT_EQ(rc, 0) << o;
  o = dlpctl("identity lookup 10.1.0.10 2024-03-04T08:59:00Z" + sock, &rc);
  EXPECT_EQ(o, "10.1.0.10 at 2024-03-04T08:59:00.000000Z: alice (finance)\n");

  // A Stop ends the session; a later lookup falls back to the static owner.
  auto [rc3, out3] = radius("User-Name=alice,Framed-IP-Address=10.1.0.10,Acct-Status-Type=Stop,"
                            "Acct-Session-Id=vpn-1,Event-Timestamp=1709546400", "radius.secret", 3);
  EXPECT_EQ(rc3, 0) << out3;
  o = dlpctl("identity lookup 10.1.0.10 2024-03-04T10:00:00Z" + sock, &rc);
  EXPECT_EQ(o, "10.1.0.10 at 2024-03-04T10:00:00.000000Z: dora (it)\n");

  // Neither secret appears in anything the daemon wrote.
  const std::string err = slurp(path("stderr")) + slurp(path("stdout"));
  EXPECT_EQ(err.find("it3-s3cret"), std::string::npos);
  EXPECT_NE(err.find("RADIUS accounting on udp port " + rport), std::string::npos) << err;
}

}  // namespace
}  // namespace dlp::itest
