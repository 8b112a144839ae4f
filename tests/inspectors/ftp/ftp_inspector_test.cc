#include "inspectors/ftp/ftp_inspector.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "tests/inspectors/recording_sink.h"

namespace dlp::inspectors {
namespace {

using testing::RecordingSink;

Ip16 ip(const char* text) {
  Ip16 out{};
  unsigned char b[4];
  if (inet_pton(AF_INET, text, b) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, b, 4);
  } else {
    inet_pton(AF_INET6, text, out.data());
  }
  return out;
}

FlowInfo flow(const char* c, std::uint16_t cport, const char* s, std::uint16_t sport,
              std::uint64_t start = 1000) {
  FlowInfo f;
  f.client_ip = ip(c);
  f.server_ip = ip(s);
  f.client_port = cport;
  f.server_port = sport;
  f.start_ns = start;
  return f;
}

struct Session {
  FtpInspectorFactory factory;
  RecordingSink control_sink;
  std::unique_ptr<Inspector> control;
  explicit Session(const FlowInfo& f) { control = factory.create(control_sink, f); }
  void client(const std::string& s) { control->data(Dir::to_server, as_bytes(s)); }
  void server(const std::string& s) { control->data(Dir::to_client, as_bytes(s)); }
};

const FlowInfo kControl = flow("10.1.0.30", 40021, "203.0.113.21", 21);

TEST(Ftp, PassiveUploadIsOneStreamWithNameCommandAndUser) {
  Session s(kControl);
  s.server("220 hi\r\n");
  s.client("USER alice\r\nPASS hunter2\r\nPASV\r\n");
  s.server("331 ok\r\n230 ok\r\n227 Entering Passive Mode (203,0,113,21,195,149).\r\n");
  s.client("STOR reports/q3.csv\r\n");
  ASSERT_EQ(s.control_sink.flow_metas.size(), 1u);
  EXPECT_EQ(s.control_sink.flow_metas[0].user_hint, "alice");

  const FlowInfo data = flow("10.1.0.30", 40022, "203.0.113.21", 195 * 256 + 149);
  EXPECT_TRUE(s.factory.claim(data));
  EXPECT_FALSE(s.factory.claim(flow("10.1.0.31", 40022, "203.0.113.21", 195 * 256 + 149)));
  RecordingSink ds;
  auto d = s.factory.create(ds, data);
  d->data(Dir::to_server, as_bytes("name,card\nPat,4111 1111 1111 1111\n"));
  d->data(Dir::to_client, as_bytes("ignored"));
  d->close();
  ASSERT_EQ(ds.streams.size(), 1u);
  EXPECT_EQ(ds.streams[0].bytes, "name,card\nPat,4111 1111 1111 1111\n");
  const ContentMeta& m = ds.streams[0].meta;
  EXPECT_EQ(m.app, App::ftp);
  EXPECT_EQ(m.dir, Dir::to_server);
  EXPECT_EQ(m.file_name, "q3.csv");
  EXPECT_EQ(m.file_path, "reports/q3.csv");
  EXPECT_EQ(m.ftp_command, "STOR");
  EXPECT_EQ(m.user_hint, "alice");
  EXPECT_TRUE(ds.weirds.empty());
  // Claimed once: the expectation is gone.
  EXPECT_FALSE(s.factory.claim(data));
  EXPECT_EQ(s.factory.stats().claimed, 1u);
  // The password is nowhere.
  EXPECT_EQ(s.control_sink.dump().find("hunter2"), std::string::npos);
}

TEST(Ftp, ActiveModeFileTravelsFromTheFlowsResponder) {
  Session s(kControl);
  s.client("USER bob\r\nPORT 10,1,0,30,200,10\r\n");
  s.server("200 PORT ok\r\n");
  s.client("APPE log.txt\r\n");
  // The server opens the data connection from port 20 to the client.
  const FlowInfo data = flow("203.0.113.21", 20, "10.1.0.30", 200 * 256 + 10);
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
  EXPECT_EQ(ds.streams[0].meta.user_hint, "bob");
}

TEST(Ftp, ExtendedModesAndIpv6) {
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
  }
  {
    const FlowInfo ctl6 = flow("2001:db8::30", 40021, "2001:db8::21", 21);
    Session s(ctl6);
    s.client("USER d\r\nEPRT |2|2001:db8::30|5282|\r\nSTOR v6.bin\r\n");
    EXPECT_TRUE(s.control_sink.weirds.empty()) << s.control_sink.dump();
    EXPECT_TRUE(s.factory.claim(flow("2001:db8::21", 20, "2001:db8::30", 5282)));
  }
}

TEST(Ftp, DataBeforeStorStillGetsTheNameAtItsFirstByte) {
  Session s(kControl);
  s.client("USER e\r\nPASV\r\n");
  s.server("227 Entering Passive Mode (203,0,113,21,4,1)\r\n");
  const FlowInfo data = flow("10.1.0.30", 40200, "203.0.113.21", 1025);
  ASSERT_TRUE(s.factory.claim(data));
  RecordingSink ds;
  auto d = s.factory.create(ds, data);  // the data connection is up before STOR
  s.client("STOR late.txt\r\n");
  d->data(Dir::to_server, as_bytes("payload"));
  d->close();
  ASSERT_EQ(ds.streams.size(), 1u);
  EXPECT_EQ(ds.streams[0].meta.file_name, "late.txt");
  EXPECT_TRUE(ds.weirds.empty());
}

TEST(Ftp, ExpectationsExpireAndAreBounded) {
  Session s(kControl);
  s.control_sink.clock_ns = 1000;
  s.client("PASV\r\n");
  s.server("227 (203,0,113,21,4,2)\r\n");
  const FlowInfo late = flow("10.1.0.30", 40300, "203.0.113.21", 1026,
                             1000 + FtpInspectorFactory::kExpectNs + 1);
  EXPECT_FALSE(s.factory.claim(late));
  EXPECT_EQ(s.factory.stats().expired, 1u);
  for (int i = 0; i < 10000; ++i) s.server("227 (203,0,113,21,10,10)\r\n");
  EXPECT_EQ(s.factory.stats().evicted, 10000u - FtpInspectorFactory::kMaxExpectations);
}

TEST(Ftp, HostileInputIsCountedAndBounded) {
  Session s(kControl);
  s.client("PORT 10,1,0,30,999,1\r\nPORT 1,2,3\r\nEPRT |9|x|1|\r\nSTOR nothing-announced\r\n");
  s.server("227 no numbers here\r\n229 (|||99999|)\r\n227\r\n");  // the last: found by ftp_fuzz
  s.client(std::string(100000, 'A') + "\r\nUSER ok\r\n");
  s.client("PORT 192,0,2,99,4,4\r\n");  // a bounce: another host's address
  const auto& w = s.control_sink;
  EXPECT_EQ(w.weird_count("ftp.bad_port"), 2u);
  EXPECT_EQ(w.weird_count("ftp.bad_eprt"), 1u);
  EXPECT_EQ(w.weird_count("ftp.transfer_without_port"), 1u);
  EXPECT_EQ(w.weird_count("ftp.bad_pasv_reply"), 2u);
  EXPECT_EQ(w.weird_count("ftp.bad_epsv_reply"), 1u);
  EXPECT_EQ(w.weird_count("ftp.line_too_long"), 1u);
  EXPECT_EQ(w.weird_count("ftp.port_foreign_address"), 1u);
  EXPECT_EQ(w.merged_flow_meta().user_hint, "ok");
  // Every split of a session gives the same metadata and expectations.
  const std::string input = "USER alice\r\nPASV\r\nSTOR a.txt\r\n";
  for (std::size_t i = 1; i < input.size(); ++i) {
    Session t(kControl);
    t.client(input.substr(0, i));
    if (i > 18) t.server("227 (203,0,113,21,1,1)\r\n");
    t.client(input.substr(i));
    if (i <= 18) t.server("227 (203,0,113,21,1,1)\r\n");
    EXPECT_EQ(t.control_sink.merged_flow_meta().user_hint, "alice") << i;
    EXPECT_TRUE(t.factory.claim(flow("10.1.0.30", 1, "203.0.113.21", 257))) << i;
  }
}

TEST(Ftp, AuthTlsIsNotedAndEndsParsing) {
  Session s(kControl);
  s.client("AUTH TLS\r\n");
  s.server("234 Proceed\r\n");
  s.client("\x16\x03\x01 binary PORT 10,1,0,30,1,1\r\n");
  EXPECT_EQ(s.control_sink.merged_flow_meta().notes,
            std::vector<std::string>{"ftp auth tls: rest of session encrypted, not inspectable"});
  EXPECT_EQ(s.factory.stats().expectations, 0u);
}

}  // namespace
}  // namespace dlp::inspectors
