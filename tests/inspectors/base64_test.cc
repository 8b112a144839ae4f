#include "inspectors/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace dlp::inspectors {
namespace {

TEST(Base64, Rfc4648Vectors) {
  std::string out;
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},         {"Zg==", "f"},       {"Zm8=", "fo"},         {"Zm9v", "foo"},
      {"Zm9vYg==", "foob"}, {"Zm9vYmE=", "fooba"}, {"Zm9vYmFy", "foobar"},
  };
  for (const auto& [in, want] : cases) {
    ASSERT_TRUE(base64_decode(in, out)) << in;
    EXPECT_EQ(out, want) << in;
  }
}

TEST(Base64, PaddingOptionalAndBinary) {
  std::string out;
  ASSERT_TRUE(base64_decode("Zg", out));
  EXPECT_EQ(out, "f");
  ASSERT_TRUE(base64_decode("Zm8", out));
  EXPECT_EQ(out, "fo");
  ASSERT_TRUE(base64_decode("AP8+/w==", out));
  EXPECT_EQ(out, std::string("\x00\xff\x3e\xff", 4));
  ASSERT_TRUE(base64_decode("YWxpY2U6czNjcjN0", out));
  EXPECT_EQ(out, "alice:s3cr3t");
}

TEST(Base64, Rejects) {
  std::string out = "stale";
  for (const char* bad : {"Z", "Zm9vY", "Zm=9", "Zg=", "Zm9v\n", "Zm 9v", "Zm9v-_==", "====",
                          "Zg===", "=Zg="}) {
    EXPECT_FALSE(base64_decode(bad, out)) << bad;
    EXPECT_TRUE(out.empty()) << bad;
  }
}

}  // namespace
}  // namespace dlp::inspectors
