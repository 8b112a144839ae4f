// The run configuration's identity section: file sources and the live listeners.
#include "mgmt/run_config.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace dlp::mgmt {
namespace {

namespace fs = std::filesystem;

class RunConfigIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dlpgate-runcfg-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "radius.secret") << "s3cret\n";
    origin_ = (dir_ / "dlpgate.yaml").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  Result<RunConfig> parse(const std::string& identity) {
    return parse_run_config("dataplane: { eal: [--no-huge], inside_port: 0, outside_port: 1 }\n"
                            "identity:\n" + identity,
                            origin_);
  }
  std::string error(const std::string& identity) {
    auto r = parse(identity);
    EXPECT_FALSE(r) << identity;
    return r ? std::string() : r.error().message;
  }
  fs::path dir_;
  std::string origin_;
};

TEST_F(RunConfigIdentityTest, LiveSourcesNextToTheFiles) {
  auto r = parse("  csv: ids.csv\n"
                 "  radius: { listen: \"127.0.0.1:1813\", secret_file: radius.secret, allow: [10.0.0.5, 192.0.2.0/24] }\n"
                 "  syslog: { listen: \"[::]:5514\", allow: [\"2001:db8::/32\"] }\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->identity_csv, (dir_ / "ids.csv").string());
  EXPECT_EQ(r->live_identity.radius_listen, "127.0.0.1:1813");
  EXPECT_EQ(r->live_identity.radius_secret_file, (dir_ / "radius.secret").string());
  EXPECT_EQ(r->live_identity.syslog_listen, "[::]:5514");
  EXPECT_EQ(r->live_identity.radius_allow, (std::vector<std::string>{"10.0.0.5", "192.0.2.0/24"}));
  EXPECT_EQ(r->live_identity.syslog_allow, (std::vector<std::string>{"2001:db8::/32"}));

  auto off = parse("  csv: ids.csv\n");
  ASSERT_TRUE(off);
  EXPECT_TRUE(off->live_identity.radius_listen.empty());
  EXPECT_TRUE(off->live_identity.syslog_listen.empty());
}

TEST_F(RunConfigIdentityTest, BadValuesNameTheKeyAndTheLine) {
  EXPECT_EQ(error("  radius: { listen: \"localhost:1813\", secret_file: radius.secret }\n"),
            origin_ + ":3: identity.radius.listen must be ADDRESS:PORT with a numeric address "
                      "(127.0.0.1:1813, 0.0.0.0:1813, [::]:1813), not 'localhost:1813'");
  EXPECT_EQ(error("  syslog: { listen: \"127.0.0.1\" }\n"),
            origin_ + ":3: identity.syslog.listen must be ADDRESS:PORT with a numeric address "
                      "(127.0.0.1:1813, 0.0.0.0:1813, [::]:1813), not '127.0.0.1'");
  EXPECT_EQ(error("  radius: { listen: \"127.0.0.1:1813\" }\n"),
            origin_ + ":3: identity.radius needs secret_file: the file holding the RADIUS shared secret");
  EXPECT_EQ(error("  radius: { secret_file: radius.secret }\n"),
            origin_ + ":3: identity.radius needs listen: ADDRESS:PORT, e.g. 127.0.0.1:1813");
  EXPECT_EQ(error("  radius: { listen: \"127.0.0.1:1813\", secret_file: nope.secret }\n"),
            origin_ + ":3: identity.radius.secret_file '" + (dir_ / "nope.secret").string() +
                "': cannot open: No such file or directory");
  EXPECT_EQ(error("  radius: { listen: \"127.0.0.1:1813\", secret_file: radius.secret, secret: x }\n"),
            origin_ + ":3: unknown key 'secret' in identity.radius (known: listen, secret_file, allow)");
  EXPECT_EQ(error("  syslog: { listen: \"127.0.0.1:5514\", allow: [10.0.0.0/33] }\n"),
            origin_ + ":3: identity.syslog.allow: '10.0.0.0/33' is not an address or a CIDR (10.0.0.5, 10.0.0.0/24)");
  EXPECT_EQ(error("  syslog: { listen: \"127.0.0.1:5514\", allow: 10.0.0.1 }\n"),
            origin_ + ":3: identity.syslog.allow must be a list of addresses or CIDRs");
  EXPECT_EQ(error("  syslog: { listen: \"127.0.0.1:5514\", proto: tcp }\n"),
            origin_ + ":3: unknown key 'proto' in identity.syslog (known: listen, allow)");
  EXPECT_EQ(error("  syslog: \"127.0.0.1:5514\"\n"), origin_ + ":3: identity.syslog must be a mapping");
  // The secret itself never appears in an error.
  std::ofstream(dir_ / "two.secret") << "s3cret\nmore\n";
  const std::string m = error("  radius: { listen: \"127.0.0.1:1813\", secret_file: two.secret }\n");
  EXPECT_EQ(m.find("s3cret"), std::string::npos) << m;
  EXPECT_NE(m.find("identity.radius.secret_file"), std::string::npos) << m;
}

}  // namespace
}  // namespace dlp::mgmt
