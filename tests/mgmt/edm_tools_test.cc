#include "mgmt/edm_tools.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace dlp::mgmt {
namespace {

TEST(EdmToolsTest, IndexInfoAndTestFromTheCommandLineFunctions) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("dlp-edm-tools-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto csv = (dir / "customers.csv").string();
  const auto idx = (dir / "customers.edm").string();
  {
    std::ofstream f(csv);
    f << "name,email,account\n";
    for (int i = 0; i < 50; ++i)
      f << "Client" << i << " Sample,client" << i << "@corp.example," << 70000000 + i * 11 << "\n";
  }
  std::ostringstream out, err;
  ASSERT_EQ(edm_index(csv, idx, {}, true, out, err), 0) << err.str();
  auto j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["rows"], 50);

  std::ostringstream info, err2;
  ASSERT_EQ(edm_info(idx, true, info, err2), 0) << err2.str();
  auto ji = nlohmann::json::parse(info.str());
  EXPECT_EQ(ji["rows"], 50);
  EXPECT_EQ(ji["columns"], nlohmann::json::array({"name", "email", "account"}));

  std::ostringstream hit, err3;
  const int rc = edm_test(idx, "Client7 Sample <client7@corp.example> acct " +
                                   std::to_string(70000000 + 7 * 11),
                          {}, true, hit, err3);
  EXPECT_EQ(rc, 1) << err3.str();
  EXPECT_NE(hit.str().find("\"row\""), std::string::npos) << hit.str();
  EXPECT_EQ(hit.str().find("client7@corp.example"), std::string::npos) << "masked only";

  std::ostringstream none, err4;
  EXPECT_EQ(edm_test(idx, "nobody here", {}, false, none, err4), 0);

  // A row with the wrong number of fields is refused with file:line.
  { std::ofstream(csv, std::ios::app) << "only,two\n"; }
  std::ostringstream bad_out, bad_err;
  EXPECT_EQ(edm_index(csv, idx, {}, false, bad_out, bad_err), 2);
  EXPECT_NE(bad_err.str().find(csv + ":52:"), std::string::npos) << bad_err.str();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace dlp::mgmt
