#include "mgmt/identity.h"

#include <gtest/gtest.h>

namespace dlp::mgmt {
namespace {

dataplane::IpAddr ip(const std::string& s) {
  dataplane::IpAddr a;
  EXPECT_TRUE(parse_ip(s, a)) << s;
  return a;
}

TEST(IdentityTest, ParsesCsvWithHeaderInAnyOrder) {
  IdentityTable t;
  auto r = t.parse_csv("# users\nuser,department,ip\nalice,finance,10.1.0.5\n"
                       "\"bob, jr\",eng,2001:db8::7\n",
                       "ids.csv");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(t.size(), 2u);
  const Identity* a = t.lookup(ip("10.1.0.5"), 123);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->user, "alice");
  EXPECT_EQ(a->department, "finance");
  const Identity* b = t.lookup(ip("2001:db8::7"), 0);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->user, "bob, jr");
  EXPECT_EQ(t.lookup(ip("10.1.0.6"), 0), nullptr);
}

TEST(IdentityTest, ErrorsNameFileAndLine) {
  IdentityTable t;
  auto r = t.parse_csv("ip,user,department\n10.0.0.1,alice,fin\n10.0.0.300,bob,eng\n", "ids.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "ids.csv:3: not an IP address: '10.0.0.300'");
  EXPECT_EQ(t.size(), 0u) << "nothing is added from a file with an error";

  r = t.parse_csv("address,name\n10.0.0.1,alice\n", "ids.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("ids.csv:1: header must name the columns ip and user"),
            std::string::npos);

  r = t.parse_csv("ip,user,department\n10.0.0.1\n", "ids.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "ids.csv:2: expected 3 fields, found 1");

  r = t.parse_csv("", "empty.csv");
  ASSERT_FALSE(r.ok());

  r = t.load_csv("/nonexistent/ids.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "/nonexistent/ids.csv: cannot open identity file");
}

TEST(IdentityTest, TimedBindingsAnswerForThePacketTime) {
  IdentityTable t;
  const auto a = ip("10.0.0.9");
  t.bind(a, {"carol", "sales"}, 100, 200);
  t.bind(a, {"dave", "eng"}, 200, 300);
  EXPECT_EQ(t.lookup(a, 99), nullptr);
  EXPECT_EQ(t.lookup(a, 100)->user, "carol");
  EXPECT_EQ(t.lookup(a, 199)->user, "carol");
  EXPECT_EQ(t.lookup(a, 200)->user, "dave");
  EXPECT_EQ(t.lookup(a, 300), nullptr);
  // A static binding underneath: the timed one that started later wins while it lasts.
  t.bind(a, {"shared-desk", "ops"});
  EXPECT_EQ(t.lookup(a, 150)->user, "carol");
  EXPECT_EQ(t.lookup(a, 400)->user, "shared-desk");
}

}  // namespace
}  // namespace dlp::mgmt
