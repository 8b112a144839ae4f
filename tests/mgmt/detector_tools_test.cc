#include "mgmt/detector_tools.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace dlp::mgmt {
namespace {

TEST(DetectorToolsTest, ListShowsTheStarterDetectors) {
  std::ostringstream out, err;
  ASSERT_EQ(detectors_list({}, true, out, err), 0) << err.str();
  auto j = nlohmann::json::parse(out.str());
  std::set<std::string> ids;
  for (const auto& d : j) ids.insert(d["id"]);
  EXPECT_TRUE(ids.count("pci.credit_card"));
  EXPECT_TRUE(ids.count("pii.us_ssn"));
  EXPECT_TRUE(ids.count("secrets.aws_access_key"));
}

TEST(DetectorToolsTest, TestMasksWhatItFinds) {
  std::ostringstream out, err;
  const int rc = detectors_test({}, "pay 4111 1111 1111 1111 and 4111111111111111, ssn 078-05-1121",
                                true, out, err);
  ASSERT_EQ(rc, 1) << err.str();
  auto j = nlohmann::json::parse(out.str());
  std::map<std::string, nlohmann::json> by;
  for (const auto& h : j) by[h["detector"]] = h;
  ASSERT_TRUE(by.count("pci.credit_card")) << out.str();
  EXPECT_EQ(by["pci.credit_card"]["count"], 2);
  EXPECT_EQ(by["pci.credit_card"]["masked"], nlohmann::json::array({"411111******1111"}));
  ASSERT_TRUE(by.count("pii.us_ssn")) << out.str();
  EXPECT_EQ(by["pii.us_ssn"]["masked"], nlohmann::json::array({"*****1121"}));
  EXPECT_EQ(out.str().find("4111111111111111"), std::string::npos);
  EXPECT_EQ(out.str().find("078-05-1121"), std::string::npos);

  std::ostringstream out2;
  EXPECT_EQ(detectors_test({}, "nothing to see, order 1234-5678", false, out2, err), 0);
  EXPECT_EQ(out2.str(), "no findings\n");
}

TEST(DetectorToolsTest, CheckReportsBadPacksWithFileAndLine) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto good = (dir / "dlp-good-pack.yaml").string();
  const auto bad = (dir / "dlp-bad-pack.yaml").string();
  std::ofstream(good) << "detectors:\n"
                         "  - id: corp.project_x\n"
                         "    name: Project X codename\n"
                         "    category: confidential_marker\n"
                         "    severity: medium\n"
                         "    patterns: ['\\bPROJECT[ -]X\\b']\n"
                         "    mask: last4\n"
                         "    confidence: medium\n";
  std::ofstream(bad) << "detectors:\n"
                        "  - id: corp.broken\n"
                        "    name: Broken\n"
                        "    category: confidential_marker\n"
                        "    severity: medium\n"
                        "    patterns: ['(unclosed']\n";
  std::ostringstream out, err;
  EXPECT_EQ(detectors_check(good, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("ok, 1 detector(s) compile"), std::string::npos);
  std::ostringstream out2, err2;
  EXPECT_EQ(detectors_check(bad, out2, err2), 2);
  EXPECT_NE(err2.str().find("corp.broken"), std::string::npos) << err2.str();
  std::filesystem::remove(good);
  std::filesystem::remove(bad);
}

}  // namespace
}  // namespace dlp::mgmt
