#include "mgmt/identity_import.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace dlp::mgmt {
namespace {

namespace fs = std::filesystem;

class IdentityImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dlpgate-ids-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    ASSERT_TRUE(directory_.parse("user,department,devices\n"
                                 "alice,finance,alice-laptop;00:16:3E:01:01:01\n"
                                 "bob,sales,BOB-PC\n"
                                 "carol,hr,00-16-3e-03-03-03\n",
                                 "dir.csv"));
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file(const std::string& name, const std::string& text) {
    const auto p = (dir_ / name).string();
    std::ofstream(p) << text;
    return p;
  }
  static dataplane::IpAddr ip(const char* s) {
    dataplane::IpAddr a;
    EXPECT_TRUE(parse_ip(s, a));
    return a;
  }
  static std::uint64_t t(const char* iso) {
    std::uint64_t ns = 0;
    EXPECT_TRUE(parse_iso8601(iso, ns)) << iso;
    return ns;
  }
  static std::string who(const IdentityTable& ids, const char* addr, const char* when) {
    const Identity* i = ids.lookup(ip(addr), t(when));
    return i ? i->user + "/" + i->department : "-";
  }

  fs::path dir_;
  Directory directory_;
};

TEST_F(IdentityImportTest, DirectoryNormalisesDevicesAndRefusesDoubleOwners) {
  ASSERT_NE(directory_.owner("00-16-3e-01-01-01"), nullptr);
  EXPECT_EQ(directory_.owner("00-16-3e-01-01-01")->user, "alice");
  EXPECT_EQ(directory_.owner("bob-pc")->user, "bob");
  EXPECT_EQ(directory_.owner("unknown"), nullptr);
  EXPECT_EQ(directory_.department("carol"), "hr");
  Directory d;
  auto r = d.parse("user,department,devices\na,x,pc1\nb,y,PC1\n", "d.csv");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "d.csv:3: device 'pc1' already belongs to a");
  EXPECT_EQ(d.parse("name,dept\n", "e.csv").error().message,
            "e.csv:1: header must be 'user,department,devices'");
}

TEST_F(IdentityImportTest, LeaseFileBindsAddressesToOwnersForTheLeaseTime) {
  IdentityTable ids;
  auto r = import_dhcp_leases(ids, directory_, file("dhcpd.leases", R"(# comment
authoring-byte-order little-endian;
lease 10.0.0.5 {
  starts 1 2024/03/04 08:00:00;
  ends 3 2024/03/06 12:00:00;
  binding state active;
  hardware ethernet 00:16:3e:01:01:01;
}
lease 10.0.0.5 {
  starts 3 2024/03/06 12:00:00;
  ends 1 2024/03/11 00:00:00;
  hardware ethernet 00:16:3e:99:99:99;
  client-hostname "bob-pc";
}
lease 10.0.0.9 {
  starts 1 2024/03/04 08:00:00;
  ends never;
  hardware ethernet 00:16:3e:77:77:77;
}
)"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->bindings, 2u);
  EXPECT_EQ(r->unowned, 1u);  // nobody owns 00:16:3e:77:77:77
  EXPECT_EQ(who(ids, "10.0.0.5", "2024-03-04T07:59:59Z"), "-");
  EXPECT_EQ(who(ids, "10.0.0.5", "2024-03-05T10:00:00Z"), "alice/finance");
  // Reassigned on Wednesday noon: never the previous holder after that.
  EXPECT_EQ(who(ids, "10.0.0.5", "2024-03-06T11:59:59Z"), "alice/finance");
  EXPECT_EQ(who(ids, "10.0.0.5", "2024-03-06T12:00:00Z"), "bob/sales");

  auto bad = import_dhcp_leases(ids, directory_, file("bad.leases", "lease 10.0.0.5 {\n  starts 1 2024-03-04;\n}\n"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("bad.leases:2: bad lease time"), std::string::npos);
}

TEST_F(IdentityImportTest, DhcpdAndDnsmasqSyslogLines) {
  IdentityTable ids;
  auto r = import_dhcp_syslog(ids, directory_, file("dhcp.log",
      "Mar  4 08:00:01 gw dhcpd[811]: DHCPREQUEST for 10.0.0.7 from 00:16:3e:01:01:01 via eth1\n"
      "Mar  4 08:00:01 gw dhcpd[811]: DHCPACK on 10.0.0.7 to 00:16:3e:01:01:01 (alice-laptop) via eth1\n"
      "Mar  5 13:30:00 gw dnsmasq-dhcp[90]: DHCPACK(br0) 10.0.0.7 00:16:3e:03:03:03 carol-mac\n"
      "Mar  5 14:00:00 gw dnsmasq-dhcp[90]: DHCPACK(br0) 10.0.0.8 aa:bb:cc:dd:ee:ff stranger\n"), 2024);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->bindings, 2u);
  EXPECT_EQ(r->unowned, 1u);
  EXPECT_EQ(who(ids, "10.0.0.7", "2024-03-05T13:29:59Z"), "alice/finance");
  EXPECT_EQ(who(ids, "10.0.0.7", "2024-03-05T13:30:00Z"), "carol/hr");
  auto bad = import_dhcp_syslog(ids, directory_, file("x.log", "Foo  4 08:00:01 gw dhcpd: DHCPACK on 1.2.3.4 to x\n"), 2024);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("x.log:1:"), std::string::npos);
}

TEST_F(IdentityImportTest, LogonSessionsOutrankLeasesAndEndAtLogoff) {
  IdentityTable ids;
  ids.bind(ip("10.0.0.20"), Identity{"kiosk", "it"});  // a static default
  ASSERT_TRUE(import_dhcp_syslog(ids, directory_, file("d.log",
      "Mar  4 08:00:00 gw dhcpd[1]: DHCPACK on 10.0.0.20 to 00:16:3e:01:01:01 via eth0\n"), 2024));
  auto r = import_logon_events(ids, directory_, file("logons.jsonl",
      R"({"TimeCreated":"2024-03-04T09:00:00Z","EventID":4624,"TargetUserName":"CORP\\bob","IpAddress":"10.0.0.20","TargetLogonId":"0x1"})" "\n"
      R"({"TimeCreated":"2024-03-04T09:30:00Z","EventID":4624,"TargetUserName":"WS01$","IpAddress":"10.0.0.20"})" "\n"
      R"({"TimeCreated":"2024-03-04T10:00:00.5+00:00","EventID":4634,"TargetUserName":"bob","IpAddress":"10.0.0.20"})" "\n"
      R"({"TimeCreated":"2024-03-04T10:00:00Z","EventID":4688,"TargetUserName":"x"})" "\n"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->bindings, 1u);
  EXPECT_EQ(r->ended, 1u);
  EXPECT_EQ(who(ids, "10.0.0.20", "2024-03-04T07:00:00Z"), "kiosk/it");        // static only
  EXPECT_EQ(who(ids, "10.0.0.20", "2024-03-04T08:30:00Z"), "alice/finance");   // lease beats static
  EXPECT_EQ(who(ids, "10.0.0.20", "2024-03-04T09:15:00Z"), "bob/sales");       // logon beats lease
  EXPECT_EQ(who(ids, "10.0.0.20", "2024-03-04T10:00:01Z"), "alice/finance");   // after logoff
  auto bad = import_logon_events(ids, directory_, file("b.jsonl", "{\"EventID\":4624,\"TimeCreated\":\"yesterday\"}\n"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.substr(bad.error().message.size() - 27), "bad TimeCreated 'yesterday'");
}

TEST_F(IdentityImportTest, MacSpellingsNameOneDevice) {
  EXPECT_EQ(normalise_device("00-16-3E-01-01-01"), "00:16:3e:01:01:01");
  EXPECT_EQ(normalise_device("00163E010101"), "00:16:3e:01:01:01");
  EXPECT_EQ(normalise_device("0016.3e01.0101"), "00:16:3e:01:01:01");
  EXPECT_EQ(normalise_device(" Alice-Laptop "), "alice-laptop");
  EXPECT_EQ(normalise_device("00-16-3e:01-01-01"), "00-16-3e:01-01-01");  // mixed: left alone
  EXPECT_EQ(normalise_device("workstation1"), "workstation1");            // 12 chars, not hex
  ASSERT_NE(directory_.owner("00163e030303"), nullptr);
  EXPECT_EQ(directory_.owner("0016.3e03.0303")->user, "carol");
}

TEST_F(IdentityImportTest, DhcpAckParserReadsBothFormsAnywhereInAMessage) {
  DhcpAck a;
  std::string why;
  ASSERT_EQ(parse_dhcp_ack("dhcpd[811]: DHCPACK on 10.0.0.7 to 00:16:3e:01:01:01 (alice-laptop) via eth1", a, why),
            MessageParse::ok);
  EXPECT_EQ(a.ip, ip("10.0.0.7"));
  EXPECT_EQ(a.mac, "00:16:3e:01:01:01");
  EXPECT_EQ(a.host, "alice-laptop");
  ASSERT_EQ(parse_dhcp_ack("DHCPACK on 10.0.0.8 to 00:16:3e:01:01:02 via eth1", a, why), MessageParse::ok);
  EXPECT_EQ(a.host, "");
  ASSERT_EQ(parse_dhcp_ack("dnsmasq-dhcp[90]: DHCPACK(br0) 2001:db8::5 00:16:3e:03:03:03 carol-mac", a, why),
            MessageParse::ok);
  EXPECT_EQ(a.ip, ip("2001:db8::5"));
  EXPECT_EQ(a.mac, "00:16:3e:03:03:03");
  EXPECT_EQ(a.host, "carol-mac");
  EXPECT_EQ(parse_dhcp_ack("DHCPREQUEST for 10.0.0.7 from 00:16:3e:01:01:01", a, why), MessageParse::other);
  EXPECT_EQ(parse_dhcp_ack("DHCPACK somewhere", a, why), MessageParse::malformed);
  EXPECT_EQ(why, "DHCPACK line in neither dhcpd nor dnsmasq form");
  EXPECT_EQ(parse_dhcp_ack("DHCPACK on 10.0.0.300 to aa via x", a, why), MessageParse::malformed);
  EXPECT_EQ(why, "not an IP address: '10.0.0.300'");
  // A very long token is read without recursion.
  const std::string longtok = "DHCPACK on " + std::string(200000, 'x') + " to y";
  EXPECT_EQ(parse_dhcp_ack(longtok, a, why), MessageParse::malformed);
}

TEST_F(IdentityImportTest, RenewalsByTheSameOwnerAddNoBinding) {
  IdentityTable ids;
  auto r = import_dhcp_syslog(ids, directory_, file("renew.log",
      "Mar  4 08:00:00 gw dhcpd[1]: DHCPACK on 10.0.0.7 to 00:16:3e:01:01:01 via eth0\n"
      "Mar  4 20:00:00 gw dhcpd[1]: DHCPACK on 10.0.0.7 to 00:16:3e:01:01:01 via eth0\n"
      "Mar  5 08:00:00 gw dhcpd[1]: DHCPACK on 10.0.0.7 to 00:16:3e:03:03:03 via eth0\n"
      "Mar  5 20:00:00 gw dhcpd[1]: DHCPACK on 10.0.0.7 to 00:16:3e:01:01:01 via eth0\n"), 2024);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->bindings, 3u);
  EXPECT_EQ(r->renewed, 1u);
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(who(ids, "10.0.0.7", "2024-03-04T21:00:00Z"), "alice/finance");
  EXPECT_EQ(who(ids, "10.0.0.7", "2024-03-05T19:59:59Z"), "carol/hr");
  EXPECT_EQ(who(ids, "10.0.0.7", "2024-03-05T20:00:00Z"), "alice/finance");
}

TEST_F(IdentityImportTest, LogonParserNeverThrowsOnOddTypes) {
  LogonEvent ev;
  std::string why;
  ASSERT_EQ(parse_logon_event(R"({"EventID":"4624","TimeCreated":"2024-03-04T09:00:00Z","TargetUserName":"CORP\\bob","IpAddress":"10.0.0.20"})",
                              ev, why),
            MessageParse::ok);
  EXPECT_TRUE(ev.logon);
  EXPECT_EQ(ev.user, "bob");
  EXPECT_EQ(ev.ip, ip("10.0.0.20"));
  EXPECT_EQ(ev.t_ns, t("2024-03-04T09:00:00Z"));
  EXPECT_EQ(parse_logon_event(R"({"EventID":4634,"TimeCreated":12,"TargetUserName":"bob"})", ev, why),
            MessageParse::malformed);
  EXPECT_EQ(why, "bad TimeCreated ''");
  EXPECT_EQ(parse_logon_event(R"({"EventID":4624,"TimeCreated":"2024-03-04T09:00:00Z","TargetUserName":["x"],"IpAddress":"10.0.0.20"})",
                              ev, why),
            MessageParse::other);
  EXPECT_EQ(parse_logon_event(R"({"EventID":{"a":1}})", ev, why), MessageParse::other);
  EXPECT_EQ(parse_logon_event(R"([4624])", ev, why), MessageParse::malformed);
  EXPECT_EQ(parse_logon_event("{\"EventID\":4624", ev, why), MessageParse::malformed);
  EXPECT_EQ(why, "not a JSON object");
}

TEST_F(IdentityImportTest, SyslogStampAtTheStartOfALine) {
  std::uint64_t ns = 0;
  std::size_t len = 0;
  std::string why;
  ASSERT_TRUE(parse_syslog_stamp("Mar  4 08:00:01 gw dhcpd: x", 2024, ns, len, why));
  EXPECT_EQ(ns, t("2024-03-04T08:00:01Z"));
  EXPECT_EQ(len, 16u);
  ASSERT_TRUE(parse_syslog_stamp("Dec 31 23:59:59 h", 2023, ns, len, why));
  EXPECT_EQ(ns, t("2023-12-31T23:59:59Z"));
  EXPECT_FALSE(parse_syslog_stamp("Foo  4 08:00:01 gw", 2024, ns, len, why));
  EXPECT_EQ(why, "bad month 'Foo'");
  EXPECT_FALSE(parse_syslog_stamp("Mar 44 08:00:01 gw", 2024, ns, len, why));
  EXPECT_EQ(why, "bad syslog time stamp 'Mar 44 08:00:01'");
  EXPECT_FALSE(parse_syslog_stamp("2024-03-04T08:00:01Z gw", 2024, ns, len, why));
  EXPECT_EQ(why, "no syslog time stamp");
}

TEST_F(IdentityImportTest, Iso8601Forms) {
  std::uint64_t a = 0, b = 0;
  ASSERT_TRUE(parse_iso8601("2024-03-04T10:00:00+01:00", a));
  ASSERT_TRUE(parse_iso8601("2024-03-04 09:00:00", b));
  EXPECT_EQ(a, b);
  ASSERT_TRUE(parse_iso8601("2024-03-04T09:00:00.000000123Z", a));
  EXPECT_EQ(a, b + 123);
  EXPECT_FALSE(parse_iso8601("2024-13-04T09:00:00Z", a));
  EXPECT_FALSE(parse_iso8601("04/03/2024", a));
}

}  // namespace
}  // namespace dlp::mgmt
