#include "inspectors/ftp/ftp_inspector.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "tests/gen/ftp_gen.h"
#include "tests/inspectors/recording_sink.h"

namespace dlp::inspectors {
namespace {

using testing::RecordingSink;

Ip16 ip(const std::string& text) {
  Ip16 out{};
  unsigned char b[4];
  if (inet_pton(AF_INET, text.c_str(), b) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, b, 4);
  } else {
    inet_pton(AF_INET6, text.c_str(), out.data());
  }
  return out;
}

FlowInfo flow(const std::string& c, std::uint16_t cport, const std::string& s,
              std::uint16_t sport, std::uint64_t start = 1000) {
  FlowInfo f;
  f.client_ip = ip(c);
  f.server_ip = ip(s);
  f.client_port = cport;
  f.server_port = sport;
  f.start_ns = start;
  return f;
}

FlowInfo flow(const testgen::FtpFlowEnds& e, std::uint64_t start) {
  return flow(e.client_ip, e.client_port, e.server_ip, e.server_port, start);
}

struct Session {
  FtpInspectorFactory factory;
  RecordingSink control_sink;
  std::unique_ptr<Inspector> control;
  explicit Session(const FlowInfo& f, const Limits& limits = {}) : factory(limits) {
    control = factory.create(control_sink, f);
  }
  void client(const std::string& s) { control->data(Dir::to_server, as_bytes(s)); }
  void server(const std::string& s) { control->data(Dir::to_client, as_bytes(s)); }
};

const FlowInfo kControl = flow("10.1.0.30", 40021, "203.0.113.21", 21);

// Replays a generated session into a fresh factory: the control inspector from the start,
// the data inspector claimed and created when the data connection comes up, every chunk
// longer than `cut` cut there. Returns everything observable.
std::string replay(const testgen::FtpScript& sc, std::size_t cut = 0,
                   const Limits& limits = {}) {
  FtpInspectorFactory f(limits);
  RecordingSink cs, ds;
  const std::uint64_t t0 = sc.chunks.front().ts_ns;
  cs.clock_ns = t0;
  auto control = f.create(cs, flow(sc.control, t0));
  std::unique_ptr<Inspector> data;
  std::string out;
  for (const testgen::FtpChunk& ch : sc.chunks) {
    cs.clock_ns = ds.clock_ns = ch.ts_ns;
    if (!data && ch.ts_ns >= sc.data_connect_ns) {
      const FlowInfo df = flow(sc.data, sc.data_connect_ns);
      out += f.claim(df) ? "claimed\n" : "not claimed\n";
      data = f.create(ds, df);
    }
    Inspector& insp = ch.data_flow ? *data : *control;
    const Dir dir = ch.from == testgen::Side::kClient ? Dir::to_server : Dir::to_client;
    if (cut > 0 && cut < ch.bytes.size()) {
      insp.data(dir, as_bytes(ch.bytes.substr(0, cut)));
      insp.data(dir, as_bytes(ch.bytes.substr(cut)));
    } else {
      insp.data(dir, as_bytes(ch.bytes));
    }
  }
  if (data) data->close();
  control->close();
  const FtpStats st = f.stats();
  out += "control:\n" + cs.dump() + "flow " + RecordingSink::describe(cs.merged_flow_meta()) +
         "\ndata:\n" + ds.dump() + "stats " + std::to_string(st.expectations) + " " +
         std::to_string(st.claimed) + " " + std::to_string(st.pending) + "\n";
  for (const auto& e : cs.errors) out += "control error " + e + "\n";
  return out;
}

TEST(Ftp, PassiveUploadIsOneStreamWithNameCommandAndUser) {
  Session s(kControl);
  s.server("220 hi\r\n");
  s.client("USER alice\r\nPASS hunter2\r\nPASV\r\n");
  s.server("331 ok\r\n230 ok\r\n227 Entering Passive Mode (203,0,113,21,195,149).\r\n");
  s.client("STOR reports/q3.csv\r\n");
  s.server("150 Ok to send data.\r\n");
  ASSERT_EQ(s.control_sink.flow_metas.size(), 1u);
  EXPECT_EQ(s.control_sink.flow_metas[0].user_hint, "alice");
  EXPECT_EQ(s.control_sink.flow_metas[0].app, App::ftp);

  const FlowInfo data = flow("10.1.0.30", 40022, "203.0.113.21", 195 * 256 + 149);
  EXPECT_TRUE(s.factory.claim(data));
  EXPECT_FALSE(s.factory.claim(flow("10.1.0.31", 40022, "203.0.113.21", 195 * 256 + 149)));
  EXPECT_FALSE(s.factory.claim(flow("10.1.0.30", 40022, "203.0.113.22", 195 * 256 + 149)));
  EXPECT_FALSE(s.factory.claim(flow("10.1.0.30", 40022, "203.0.113.21", 195 * 256 + 150)));
  EXPECT_FALSE(s.factory.claim(flow("10.1.0.30", 40022, "203.0.113.21", 195 * 256 + 149 + 4096)));
  FlowInfo udp = data;
  udp.ip_proto = 17;
  EXPECT_FALSE(s.factory.claim(udp));
  RecordingSink ds;
  auto d = s.factory.create(ds, data);
  d->data(Dir::to_server, as_bytes("name,card\n"));
  d->data(Dir::to_client, as_bytes("ignored"));
  d->data(Dir::to_server, as_bytes("Pat,4111 1111 1111 1111\n"));
  s.server("226 Transfer complete.\r\n");
  d->close();
  ASSERT_EQ(ds.streams.size(), 1u);
  EXPECT_EQ(ds.streams[0].bytes, "name,card\nPat,4111 1111 1111 1111\n");
  EXPECT_TRUE(ds.streams[0].closed);
  const ContentMeta& m = ds.streams[0].meta;
  EXPECT_EQ(m.app, App::ftp);
  EXPECT_EQ(m.dir, Dir::to_server);
  EXPECT_EQ(m.file_name, "q3.csv");
  EXPECT_EQ(m.file_path, "reports/q3.csv");
  EXPECT_EQ(m.ftp_command, "STOR");
  EXPECT_EQ(m.user_hint, "alice");
  EXPECT_TRUE(ds.weirds.empty()) << ds.dump();
  EXPECT_TRUE(s.control_sink.weirds.empty()) << s.control_sink.dump();
  // Claimed once: the expectation is gone.
  EXPECT_FALSE(s.factory.claim(data));
  EXPECT_EQ(s.factory.stats().claimed, 1u);
  EXPECT_EQ(s.factory.stats().pending, 0u);
  // The password is nowhere.
  EXPECT_EQ(s.control_sink.dump().find("hunter2"), std::string::npos);
  EXPECT_EQ(RecordingSink::describe(s.control_sink.merged_flow_meta()).find("hunter2"),
            std::string::npos);
}

TEST(Ftp, ActiveModeFileTravelsFromTheFlowsResponder) {
  Session s(kControl);
  s.client("USER bob\r\nPORT 10,1,0,30,200,10\r\n");
  s.server("200 PORT ok\r\n");
  s.client("APPE log.txt\r\n");
  s.server("150 Opening data connection\r\n");
  // The server opens the data connection from port 20 to the client.
  const FlowInfo data = flow("203.0.113.21", 20, "10.1.0.30", 200 * 256 + 10);
  EXPECT_FALSE(s.factory.claim(flow("10.1.0.30", 20, "203.0.113.21", 200 * 256 + 10)));
  ASSERT_TRUE(s.factory.claim(data));
  RecordingSink ds;
  auto d = s.factory.create(ds, data);
  d->data(Dir::to_server, as_bytes("from the server: not an upload"));
  d->data(Dir::to_client, as_bytes("appended secret"));
  d->close();
  ASSERT_EQ(ds.streams.size(), 1u);
  EXPECT_EQ(ds.streams[0].bytes, "appended secret");
  EXPECT_EQ(ds.streams[0].meta.dir, Dir::to_client);
  EXPECT_EQ(ds.streams[0].meta.ftp_command, "APPE");
  EXPECT_EQ(ds.streams[0].meta.file_name, "log.txt");
  EXPECT_EQ(ds.streams[0].meta.file_path, "");
  EXPECT_EQ(ds.streams[0].meta.user_hint, "bob");
  EXPECT_TRUE(s.control_sink.weirds.empty()) << s.control_sink.dump();
}

TEST(Ftp, ExtendedPassiveAndStouNames) {
  {
    Session s(kControl);
    s.client("USER c\r\nEPSV\r\n");
    s.server("229 Entering Extended Passive Mode (|||6446|)\r\n");
    s.client("STOU\r\n");
    s.server("150 FILE: a0b1c2\r\n");
    const FlowInfo data = flow("10.1.0.30", 40100, "203.0.113.21", 6446);
    ASSERT_TRUE(s.factory.claim(data));
    RecordingSink ds;
    auto d = s.factory.create(ds, data);
    d->data(Dir::to_server, as_bytes("x"));
    d->close();
    ASSERT_EQ(ds.streams.size(), 1u);
    EXPECT_EQ(ds.streams[0].meta.file_name, "a0b1c2");
    EXPECT_EQ(ds.streams[0].meta.ftp_command, "STOU");
    EXPECT_EQ(ds.streams[0].meta.dir, Dir::to_server);
  }
  {
    // The name only in the final reply (the data inspector opened later, at its first byte).
    Session s(kControl);
    s.client("EPSV\r\n");
    s.server("229 Extended Passive (!!!6447!)\r\n");
    s.client("stou\r\n");
    s.server("125 Data connection open\r\n250 Transfer complete (unique file name: up.7)\r\n");
    const FlowInfo data = flow("10.1.0.30", 40101, "203.0.113.21", 6447);
    ASSERT_TRUE(s.factory.claim(data));
    RecordingSink ds;
    auto d = s.factory.create(ds, data);
    d->data(Dir::to_server, as_bytes("y"));
    d->close();
    ASSERT_EQ(ds.streams.size(), 1u);
    EXPECT_EQ(ds.streams[0].meta.file_name, "up.7");
    EXPECT_EQ(ds.streams[0].meta.ftp_command, "STOU");
  }
}

TEST(Ftp, Ipv6ExtendedActiveUpload) {
  const FlowInfo ctl6 = flow("2001:db8::30", 40021, "2001:db8::21", 21);
  Session s(ctl6);
  s.client("USER d\r\nEPRT |2|2001:db8::30|5282|\r\n");
  s.server("200 EPRT command successful\r\n");
  s.client("STOR v6.bin\r\n");
  EXPECT_TRUE(s.control_sink.weirds.empty()) << s.control_sink.dump();
  EXPECT_FALSE(s.factory.claim(flow("2001:db8::30", 5282, "2001:db8::21", 20)));
  const FlowInfo data = flow("2001:db8::21", 20, "2001:db8::30", 5282);
  ASSERT_TRUE(s.factory.claim(data));
  RecordingSink ds;
  auto d = s.factory.create(ds, data);
  d->data(Dir::to_client, as_bytes("v6 payload"));
  d->close();
  ASSERT_EQ(ds.streams.size(), 1u);
  EXPECT_EQ(ds.streams[0].bytes, "v6 payload");
  EXPECT_EQ(ds.streams[0].meta.dir, Dir::to_client);
  EXPECT_EQ(ds.streams[0].meta.file_name, "v6.bin");
  EXPECT_EQ(ds.streams[0].meta.user_hint, "d");
}

TEST(Ftp, DataConnectionBeforeStorGetsTheNameAtItsFirstByte) {
  Session s(kControl);
  s.client("USER e\r\nPASV\r\n");
  s.server("227 Entering Passive Mode (203,0,113,21,4,1)\r\n");
  const FlowInfo data = flow("10.1.0.30", 40200, "203.0.113.21", 1025);
  ASSERT_TRUE(s.factory.claim(data));
  RecordingSink ds;
  auto d = s.factory.create(ds, data);  // the data connection is up before STOR
  EXPECT_EQ(s.factory.stats().pending, 0u);
  s.client("STOR late.txt\r\n");
  d->data(Dir::to_server, as_bytes("payload"));
  d->close();
  ASSERT_EQ(ds.streams.size(), 1u);
  EXPECT_EQ(ds.streams[0].meta.file_name, "late.txt");
  EXPECT_EQ(ds.streams[0].meta.ftp_command, "STOR");
  EXPECT_TRUE(ds.weirds.empty());
}

TEST(Ftp, DataBytesBeforeAnyTransferCommandAreStillScanned) {
  Session s(kControl);
  s.client("USER f\r\nPASV\r\n");
  s.server("227 Entering Passive Mode (203,0,113,21,4,3)\r\n");
  const FlowInfo data = flow("10.1.0.30", 40201, "203.0.113.21", 1027);
  RecordingSink ds;
  auto d = s.factory.create(ds, data);
  d->data(Dir::to_server, as_bytes("early"));
  s.client("STOR too-late.txt\r\n");
  d->data(Dir::to_server, as_bytes(" bytes"));
  d->close();
  ASSERT_EQ(ds.streams.size(), 1u);
  EXPECT_EQ(ds.streams[0].bytes, "early bytes");
  EXPECT_EQ(ds.streams[0].meta.file_name, "");
  EXPECT_EQ(ds.streams[0].meta.user_hint, "f");
  EXPECT_EQ(ds.weirds, std::vector<std::string>{"ftp.data_before_command"});
}

TEST(Ftp, DownloadsAreNotScanned) {
  Session s(kControl);
  s.client("USER g\r\nPASV\r\n");
  s.server("227 (203,0,113,21,4,4)\r\n");
  s.client("RETR big.iso\r\n");
  const FlowInfo data = flow("10.1.0.30", 40202, "203.0.113.21", 1028);
  RecordingSink ds;
  auto d = s.factory.create(ds, data);
  d->data(Dir::to_client, as_bytes("the download"));
  d->close();
  EXPECT_TRUE(ds.streams.empty());
  EXPECT_TRUE(ds.weirds.empty());
  // Client bytes on a download connection leave the building: scanned, counted.
  s.server("226 ok\r\n");
  s.client("PASV\r\n");
  s.server("227 (203,0,113,21,4,5)\r\n");
  s.client("LIST\r\n");
  RecordingSink ls;
  auto l = s.factory.create(ls, flow("10.1.0.30", 40203, "203.0.113.21", 1029));
  l->data(Dir::to_server, as_bytes("smuggled"));
  l->close();
  ASSERT_EQ(ls.streams.size(), 1u);
  EXPECT_EQ(ls.streams[0].meta.ftp_command, "LIST");
  EXPECT_EQ(ls.weirds, std::vector<std::string>{"ftp.upload_on_download"});
}

TEST(Ftp, TransferStateFollowsTheReplies) {
  Session s(kControl);
  s.client("USER h\r\nPASV\r\n");
  s.server("227 (203,0,113,21,5,1)\r\n");
  s.client("STOR denied.txt\r\n");
  s.server("553 Could not create file.\r\n");
  // Refused before it started: the announcement serves the next command.
  s.client("STOR allowed.txt\r\n");
  s.server("150 go\r\n");
  RecordingSink ds;
  auto d = s.factory.create(ds, flow("10.1.0.30", 40300, "203.0.113.21", 1281));
  d->data(Dir::to_server, as_bytes("z"));
  d->close();
  ASSERT_EQ(ds.streams.size(), 1u);
  EXPECT_EQ(ds.streams[0].meta.file_name, "allowed.txt");
  s.server("226 done\r\n");
  // Finished: a transfer command without a new announcement has no data connection.
  s.client("STOR again.txt\r\n");
  EXPECT_EQ(s.control_sink.weirds, std::vector<std::string>{"ftp.transfer_without_port"});
}

TEST(Ftp, MultiLineRepliesCountByTheirLastLine) {
  Session s(kControl);
  // A banner whose middle line looks like a 227: not an announcement.
  s.server("220-Welcome\r\n227 (203,0,113,21,9,9) is not a reply\r\n220 ready\r\n");
  EXPECT_EQ(s.factory.stats().expectations, 0u);
  s.client("PASV\r\n");
  s.server("227-Entering Passive Mode\r\n  see next line\r\n227 (203,0,113,21,9,10)\r\n");
  EXPECT_EQ(s.factory.stats().expectations, 1u);
  EXPECT_TRUE(s.factory.claim(flow("10.1.0.30", 1, "203.0.113.21", 9 * 256 + 10)));
  EXPECT_TRUE(s.control_sink.weirds.empty()) << s.control_sink.dump();
}

TEST(Ftp, NatedPassiveAddressStillMatchesTheControlServer) {
  Session s(kControl);
  s.client("PASV\r\n");
  s.server("227 Entering Passive Mode (192,168,7,21,10,1)\r\n");
  EXPECT_EQ(s.control_sink.weirds, std::vector<std::string>{"ftp.pasv_foreign_address"});
  EXPECT_TRUE(s.factory.claim(flow("10.1.0.30", 1, "203.0.113.21", 2561)));
  EXPECT_TRUE(s.factory.claim(flow("10.1.0.30", 1, "192.168.7.21", 2561)));
}

TEST(Ftp, ExpectationsExpireInPacketTime) {
  Session s(kControl);
  s.control_sink.clock_ns = 1000;
  s.client("PASV\r\n");
  s.server("227 (203,0,113,21,4,2)\r\n");
  const FlowInfo late = flow("10.1.0.30", 40300, "203.0.113.21", 1026,
                             1000 + FtpInspectorFactory::kExpectNs + 1);
  const FlowInfo in_time = flow("10.1.0.30", 40300, "203.0.113.21", 1026,
                                1000 + FtpInspectorFactory::kExpectNs);
  EXPECT_TRUE(s.factory.claim(in_time));
  EXPECT_FALSE(s.factory.claim(late));
  EXPECT_EQ(s.factory.stats().expired, 1u);
  EXPECT_EQ(s.factory.stats().pending, 0u);
  EXPECT_FALSE(s.factory.claim(in_time));

  // An entry behind a younger one (announced by a worker whose clock was ahead) is
  // caught when it would match.
  FtpInspectorFactory f;
  RecordingSink a, b;
  a.clock_ns = 5'000'000'000;
  b.clock_ns = 1'000'000'000;
  auto ca = f.create(a, kControl);
  auto cb = f.create(b, flow("10.1.0.31", 40021, "203.0.113.21", 21));
  ca->data(Dir::to_client, as_bytes("227 (203,0,113,21,1,1)\r\n"));
  cb->data(Dir::to_client, as_bytes("227 (203,0,113,21,1,2)\r\n"));
  EXPECT_FALSE(f.claim(flow("10.1.0.31", 9, "203.0.113.21", 258,
                            1'000'000'000 + FtpInspectorFactory::kExpectNs + 1)));
  EXPECT_EQ(f.stats().expired, 1u);
  EXPECT_TRUE(f.claim(flow("10.1.0.30", 9, "203.0.113.21", 257,
                           1'000'000'000 + FtpInspectorFactory::kExpectNs + 1)));
}

TEST(Ftp, AnnouncementFloodsAreBounded) {
  {
    // One control flow: each announcement replaces the last, the run is counted once.
    Session s(kControl);
    for (int i = 0; i < 10000; ++i) s.server("227 (203,0,113,21,10," + std::to_string(i % 256) + ")\r\n");
    for (int i = 0; i < 10000; ++i) s.client("PORT 10,1,0,30,20," + std::to_string(1 + i % 255) + "\r\n");
    const FtpStats st = s.factory.stats();
    EXPECT_EQ(st.expectations, 20000u);
    EXPECT_EQ(st.replaced, 19999u);
    EXPECT_EQ(st.pending, 1u);
    EXPECT_EQ(st.evicted, 0u);
    EXPECT_EQ(s.control_sink.weird_count("ftp.announcement_flood"), 1u);
    EXPECT_EQ(s.control_sink.weirds.size(), 1u);
    // Only the last one is expected.
    EXPECT_TRUE(s.factory.claim(flow("203.0.113.21", 20, "10.1.0.30", 20 * 256 + 1 + 9999 % 255)));
    EXPECT_FALSE(s.factory.claim(flow("10.1.0.30", 1, "203.0.113.21", 10 * 256 + 9999 % 256)));
  }
  {
    // Many control flows: the table keeps the newest kMaxExpectations.
    FtpInspectorFactory f;
    RecordingSink sink;
    std::vector<std::unique_ptr<Inspector>> controls;
    for (int i = 0; i < 5000; ++i) {
      controls.push_back(f.create(sink, kControl));
      controls.back()->data(Dir::to_client, as_bytes("227 (203,0,113,21,30,40)\r\n"));
    }
    const FtpStats st = f.stats();
    EXPECT_EQ(st.pending, FtpInspectorFactory::kMaxExpectations);
    EXPECT_EQ(st.evicted, 5000u - FtpInspectorFactory::kMaxExpectations);
    EXPECT_TRUE(sink.weirds.empty());
  }
}

TEST(Ftp, HostileInputIsCountedAndBounded) {
  Session s(kControl);
  s.client("PORT 10,1,0,30,999,1\r\nPORT 1,2,3\r\nPORT 10,1,0,30,0,0\r\nPORT 1000,1,1,1,1,1\r\n"
           "EPRT |9|x|1|\r\nEPRT |1|10.1.0.30|70000|\r\nEPRT |2|::zz|5|\r\nEPRT 1\r\n"
           "STOR nothing-announced\r\n");
  s.server("227 no numbers here\r\n229 (|||99999|)\r\n227\r\n229 (|||)\r\n");
  s.client(std::string(100000, 'A') + "\r\nUSER ok\r\n");
  s.client("PORT 192,0,2,99,4,4\r\n");  // a bounce: another host's address
  s.client("PORT 10,1,0,30,0,25\r\n");  // a privileged port
  s.client("STOR " + std::string(5000, 'n') + "\r\n");  // longer than a line: skipped
  s.client("STOR " + std::string(1500, 'n') + "\r\n");  // a long name: kept, capped
  s.server("\x01\x02 garbage\r\n");
  const auto& w = s.control_sink;
  EXPECT_EQ(w.weird_count("ftp.bad_port"), 4u);
  EXPECT_EQ(w.weird_count("ftp.bad_eprt"), 4u);
  EXPECT_EQ(w.weird_count("ftp.transfer_without_port"), 1u);
  EXPECT_EQ(w.weird_count("ftp.bad_pasv_reply"), 2u);
  EXPECT_EQ(w.weird_count("ftp.bad_epsv_reply"), 2u);
  EXPECT_EQ(w.weird_count("ftp.line_too_long"), 2u);
  EXPECT_EQ(w.weird_count("ftp.port_foreign_address"), 1u);
  EXPECT_EQ(w.weird_count("ftp.port_privileged"), 1u);
  EXPECT_EQ(w.weird_count("ftp.name_too_long"), 1u);
  EXPECT_EQ(w.weird_count("ftp.bad_reply"), 1u);
  EXPECT_EQ(w.weirds.size(), 19u) << w.dump();
  EXPECT_EQ(w.merged_flow_meta().user_hint, "ok");
  EXPECT_EQ(s.factory.stats().pending, 1u);

  // A user name with control characters and a huge one.
  Session u(kControl);
  u.client("USER a\x1b[31mb\r\n");
  EXPECT_EQ(u.control_sink.merged_flow_meta().user_hint, "a?[31mb");
  u.client("USER " + std::string(600, 'u') + "\r\n");
  EXPECT_EQ(u.control_sink.flow_metas.back().user_hint, std::string(256, 'u'));
}

TEST(Ftp, GapsResynchroniseAtTheNextLine) {
  Session s(kControl);
  s.client("USER al");
  s.control->gap(Dir::to_server, 10);
  s.client("ice\r\nUSER bob\r\nPASV\r\n");
  s.server("227 (203,0,");
  s.control->gap(Dir::to_client, 5);
  s.server("1,2)\r\n227 (203,0,113,21,1,3)\r\n");
  EXPECT_EQ(s.control_sink.weirds, (std::vector<std::string>{"ftp.gap", "ftp.gap"}));
  EXPECT_EQ(s.control_sink.merged_flow_meta().user_hint, "bob");
  EXPECT_EQ(s.factory.stats().expectations, 1u);
  s.client("STOR g.bin\r\n");
  RecordingSink ds;
  auto d = s.factory.create(ds, flow("10.1.0.30", 1, "203.0.113.21", 259));
  d->data(Dir::to_server, as_bytes("abc"));
  d->gap(Dir::to_server, 100);
  d->data(Dir::to_server, as_bytes("def"));
  d->gap(Dir::to_client, 100);
  d->close();
  ASSERT_EQ(ds.streams.size(), 1u);
  EXPECT_EQ(ds.streams[0].bytes, "abcdef");
  EXPECT_EQ(ds.streams[0].gaps, (std::vector<testing::RecordedGap>{{3, 100}}));
  EXPECT_EQ(ds.weirds, std::vector<std::string>{"ftp.data_gap"});
}

TEST(Ftp, StreamLimitIsCountedAndReported) {
  Limits limits;
  limits.max_stream_bytes = 10;
  Session s(kControl, limits);
  s.client("USER i\r\nPASV\r\n");
  s.server("227 (203,0,113,21,1,4)\r\n");
  s.client("STOR big.bin\r\n");
  RecordingSink ds;
  auto d = s.factory.create(ds, flow("10.1.0.30", 1, "203.0.113.21", 260));
  d->data(Dir::to_server, as_bytes("0123456"));
  d->data(Dir::to_server, as_bytes("789abcdef"));
  d->data(Dir::to_server, as_bytes("more"));
  d->close();
  ASSERT_EQ(ds.streams.size(), 1u);
  EXPECT_EQ(ds.streams[0].bytes, "0123456789");
  EXPECT_EQ(ds.weirds, std::vector<std::string>{"limit.stream_bytes"});
  ASSERT_EQ(ds.reports.size(), 1u);
  EXPECT_EQ(ds.reports[0].meta.file_name, "big.bin");
}

TEST(Ftp, AuthTlsIsNotedAndEndsParsing) {
  Session s(kControl);
  s.client("AUTH TLS\r\n");
  s.server("234 Proceed\r\n");
  s.client("\x16\x03\x01 binary PORT 10,1,0,30,1,1\r\n");
  EXPECT_EQ(s.control_sink.merged_flow_meta().notes,
            std::vector<std::string>{"ftp auth tls: rest of session encrypted, not inspectable"});
  EXPECT_EQ(s.factory.stats().expectations, 0u);
  // Refused AUTH: parsing goes on.
  Session r(kControl);
  r.client("AUTH TLS\r\n");
  r.server("504 not here\r\n234 late\r\n");
  r.client("PORT 10,1,0,30,1,1\r\n");
  EXPECT_TRUE(r.control_sink.flow_metas.empty());
  EXPECT_EQ(r.factory.stats().expectations, 1u);
}

TEST(Ftp, ProbeAndPort) {
  FtpInspectorFactory f;
  EXPECT_TRUE(f.probe(as_bytes("USER alice\r\n")));
  EXPECT_TRUE(f.probe(as_bytes("user alice\r\n")));
  EXPECT_FALSE(f.probe(as_bytes("USER")));
  EXPECT_FALSE(f.probe(as_bytes("USERS x")));
  EXPECT_FALSE(f.probe(as_bytes("GET / HTTP/1.1\r\n")));
  EXPECT_TRUE(f.wants_port(21));
  EXPECT_FALSE(f.wants_port(20));
  EXPECT_FALSE(f.claim(kControl));  // nothing announced
}

// Generated sessions in every mode, replayed whole and cut at every byte of every chunk:
// the same streams, metadata, weirds and expectations each time.
TEST(FtpGenerated, EveryModeAtEverySplit) {
  const std::string payload = "name,ssn\nPat Doe,078-05-1120\nLee Roe,219-09-9999\n";
  struct Case {
    testgen::FtpMode mode;
    const char* client;
    const char* server;
    const char* command;
    Dir dir;
  };
  const Case cases[] = {
      {testgen::FtpMode::kPassive, "10.1.0.30", "203.0.113.21", "STOR", Dir::to_server},
      {testgen::FtpMode::kActive, "10.1.0.30", "203.0.113.21", "APPE", Dir::to_client},
      {testgen::FtpMode::kExtendedPassive, "10.1.0.30", "203.0.113.21", "STOU", Dir::to_server},
      {testgen::FtpMode::kExtendedActive, "2001:db8:1::30", "2001:db8:2::21", "STOR",
       Dir::to_client},
      {testgen::FtpMode::kExtendedPassive, "2001:db8:1::30", "2001:db8:2::21", "STOR",
       Dir::to_server},
  };
  for (const Case& c : cases) {
    testgen::FtpSessionSpec spec;
    spec.client_ip = c.client;
    spec.server_ip = c.server;
    spec.mode = c.mode;
    spec.command = c.command;
    spec.file_name = "out/customers.csv";
    spec.data = payload;
    spec.data_segment = 17;
    const testgen::FtpScript sc = testgen::ftp_upload_script(spec);
    const std::string whole = replay(sc);
    SCOPED_TRACE(whole);
    EXPECT_EQ(whole.find("weird"), std::string::npos);
    EXPECT_EQ(whole.find("error"), std::string::npos);
    EXPECT_EQ(whole.find("s3cret"), std::string::npos);
    EXPECT_EQ(whole.rfind("claimed\n", 0), 0u);
    const std::string stream =
        std::string("stream 0 ftp ") + (c.dir == Dir::to_server ? "to_server" : "to_client") +
        " method= host= url=\"\" ua= mime= user=alice file=" +
        (std::string(c.command) == "STOU" ? "\"stou.0001\"" : "\"customers.csv\" path=\"out/customers.csv\"") +
        " ftp=\"" + c.command + "\"\n  bytes=" + RecordingSink::escape(payload) + "\n  closed\n";
    EXPECT_NE(whole.find(stream), std::string::npos) << stream;
    EXPECT_NE(whole.find("stats 1 1 0\n"), std::string::npos);
    std::size_t longest = 0;
    for (const auto& ch : sc.chunks) longest = std::max(longest, ch.bytes.size());
    for (std::size_t cut = 1; cut < longest; ++cut) ASSERT_EQ(replay(sc, cut), whole) << cut;
  }
}

TEST(FtpGenerated, EarlyDataConnectionAndNat) {
  testgen::FtpSessionSpec spec;
  spec.data = "secret rows";
  spec.data_connects_early = true;
  spec.pasv_announced_ip = "192.168.50.21";
  const testgen::FtpScript sc = testgen::ftp_upload_script(spec);
  // The data connection comes up between the 227 and the STOR.
  const auto stor = std::find_if(sc.chunks.begin(), sc.chunks.end(), [](const auto& ch) {
    return ch.bytes.rfind("STOR", 0) == 0;
  });
  ASSERT_NE(stor, sc.chunks.end());
  EXPECT_LT(sc.data_connect_ns, stor->ts_ns);
  const std::string out = replay(sc);
  EXPECT_EQ(out.rfind("claimed\n", 0), 0u) << out;
  EXPECT_NE(out.find("file=\"upload.bin\" ftp=\"STOR\"\n  bytes=\"secret rows\""), std::string::npos)
      << out;
  EXPECT_NE(out.find("weird ftp.pasv_foreign_address"), std::string::npos) << out;
  for (std::size_t cut = 1; cut < 40; ++cut) ASSERT_EQ(replay(sc, cut), out) << cut;
}

TEST(FtpGenerated, PacketsAreInTimeOrderAndInterleaved) {
  testgen::FtpSessionSpec spec;
  spec.data = std::string(5000, 'x');
  const auto pkts = testgen::ftp_upload_packets(spec);
  const testgen::FtpScript sc = testgen::ftp_upload_script(spec);
  ASSERT_FALSE(pkts.empty());
  EXPECT_TRUE(std::is_sorted(pkts.begin(), pkts.end(), [](const auto& a, const auto& b) {
    return a.ts_ns < b.ts_ns;
  }));
  // Control handshake (3) + data handshake (3) + data chunks and ACKs + FINs: more packets
  // than chunks, spanning from the session start to after the last control line.
  EXPECT_GT(pkts.size(), sc.chunks.size() + 6);
  EXPECT_EQ(pkts.front().ts_ns, spec.start_ns);
  EXPECT_GE(pkts.back().ts_ns, sc.chunks.back().ts_ns);
  // The data flow's packets sit between the 150 and the 226 in time.
  const auto first_data = std::find_if(sc.chunks.begin(), sc.chunks.end(),
                                       [](const auto& ch) { return ch.data_flow; });
  ASSERT_NE(first_data, sc.chunks.end());
  const auto done = std::find_if(sc.chunks.begin(), sc.chunks.end(), [](const auto& ch) {
    return ch.bytes.rfind("226", 0) == 0;
  });
  ASSERT_NE(done, sc.chunks.end());
  EXPECT_LT(first_data->ts_ns, done->ts_ns);
  EXPECT_GT(first_data->ts_ns, sc.data_connect_ns);
}

// Random mutations of a whole session: bounded and contract-clean, never a crash.
TEST(FtpGenerated, MutatedSessionsNeverBreakTheContract) {
  testgen::FtpSessionSpec spec;
  spec.data = "abc";
  const testgen::FtpScript sc = testgen::ftp_upload_script(spec);
  std::mt19937_64 rng(11);
  for (int i = 0; i < 2000; ++i) {
    FtpInspectorFactory f;
    RecordingSink cs, ds;
    auto control = f.create(cs, flow(sc.control, 0));
    for (const auto& ch : sc.chunks) {
      if (ch.data_flow) continue;
      std::string b = ch.bytes;
      if (rng() % 3 == 0) b[rng() % b.size()] = static_cast<char>(rng());
      control->data(ch.from == testgen::Side::kClient ? Dir::to_server : Dir::to_client,
                    as_bytes(b));
    }
    control->close();
    const FlowInfo df = flow(sc.data, 0);
    if (f.claim(df)) {
      auto d = f.create(ds, df);
      d->data(Dir::to_server, as_bytes("x"));
      d->close();
    }
    ASSERT_TRUE(cs.streams.empty());
    ASSERT_TRUE(cs.errors.empty());
    ASSERT_TRUE(ds.errors.empty());
    ASSERT_TRUE(ds.all_closed());
    ASSERT_LE(f.stats().pending, 1u);
  }
}

}  // namespace
}  // namespace dlp::inspectors
