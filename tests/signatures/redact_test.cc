#include "signatures/redact.h"

#include <gtest/gtest.h>

#include "signatures/mask.h"

namespace dlp::signatures {
namespace {

TEST(SignaturesRedact, MasksValidatedValuesAndLeavesTheRestAlone) {
  HashKey key{};
  for (DbMode mode : {DbMode::stream, DbMode::block}) {
    auto db = Database::compile(builtin_detectors(), key, mode);
    ASSERT_TRUE(db.ok()) << db.error().message;
    Redactor r(*db);
    EXPECT_EQ(r.redact("/pay?cc=4111111111111111&ssn=078-05-1121&n=1"),
              "/pay?cc=411111******1111&ssn=*****1121&n=1");
    EXPECT_EQ(r.redact("card 4111 1111 1111 1111."), "card 411111******1111.");
    // Luhn-invalid and SSA-invalid look-alikes are not values: left as they are.
    EXPECT_EQ(r.redact("/o?id=4111111111111112&s=666-12-3456"),
              "/o?id=4111111111111112&s=666-12-3456");
    EXPECT_EQ(r.redact(""), "");
    EXPECT_EQ(r.redact("key AKIAIOSFODNN7EXAMPLE"), "key ****************MPLE");
  }
}

TEST(SignaturesRedact, MaskRules) {
  EXPECT_EQ(mask_value(MaskRule::first6_last4, "4111111111111111"), "411111******1111");
  EXPECT_EQ(mask_value(MaskRule::first6_last4, "378282246310005"), "378282*****0005");
  EXPECT_EQ(mask_value(MaskRule::last4, "078051121"), "*****1121");
  EXPECT_EQ(mask_value(MaskRule::last4, "abcd"), "****");
  EXPECT_EQ(mask_value(MaskRule::first6_last4, "1234567890"), "******7890");
}

}  // namespace
}  // namespace dlp::signatures
