// Validators: published test numbers pass, checksum/issuer/SSA-invalid values fail, and
// canonical values are digits only.
#include "signatures/validators.h"

#include <gtest/gtest.h>

#include <string>

namespace dlp::signatures {
namespace {

bool run(ValidatorFn fn, std::string_view match, std::string* canonical = nullptr) {
  std::string c;
  bool ok = fn(match, c);
  if (canonical) *canonical = c;
  return ok;
}

TEST(SignaturesValidators, RegistryFindsEveryStarterValidatorByName) {
  EXPECT_EQ(find_validator("luhn"), &validate_luhn);
  EXPECT_EQ(find_validator("us_ssn"), &validate_us_ssn);
  EXPECT_EQ(find_validator("aws_key_id"), &validate_aws_key_id);
  EXPECT_EQ(find_validator("mod97"), nullptr);
  EXPECT_EQ(find_validator(""), nullptr);
  EXPECT_EQ(validators().size(), 3u);
}

TEST(SignaturesValidators, LuhnAcceptsPublishedTestCards) {
  // Test numbers published by the networks and payment processors, one or more per issuer.
  const char* cards[] = {
      "4111111111111111",    "4012888888881881", "4222222222222",     // Visa 16, 16, 13
      "4111111111111111110",                                         // Visa 19
      "5555555555554444",    "5105105105105100",                     // Mastercard 5x
      "2221000000000009",    "2223003122003222", "2720990000000007",  // Mastercard 2-series
      "378282246310005",     "371449635398431",                      // Amex
      "6011111111111117",    "6011000990139424", "6441234567890123",  // Discover
      "6011000000000000001",                                         // Discover 19
      "3530111333300000",    "3566002020360505",                     // JCB
      "30569309025904",      "38520000023237",   "36227206271667",    // Diners
      "6200000000000005",    "6205500000000000004", "621234567890123457",  // UnionPay
  };
  for (const char* c : cards) {
    std::string canonical;
    EXPECT_TRUE(run(validate_luhn, c, &canonical)) << c;
    EXPECT_EQ(canonical, c);
  }
}

TEST(SignaturesValidators, LuhnCanonicalStripsSingleSeparators) {
  std::string canonical;
  EXPECT_TRUE(run(validate_luhn, "4111 1111 1111 1111", &canonical));
  EXPECT_EQ(canonical, "4111111111111111");
  EXPECT_TRUE(run(validate_luhn, "3782-822463-10005", &canonical));
  EXPECT_EQ(canonical, "378282246310005");
}

TEST(SignaturesValidators, LuhnRejectsBadChecksumsIssuersLengthsAndShapes) {
  EXPECT_FALSE(run(validate_luhn, "4111111111111112"));     // check digit off by one
  EXPECT_FALSE(run(validate_luhn, "5555555555554440"));
  EXPECT_FALSE(run(validate_luhn, "378282246310006"));
  EXPECT_FALSE(run(validate_luhn, "9111111111111110"));     // Luhn-valid, no issuer 9
  EXPECT_FALSE(run(validate_luhn, "0000000000000000"));     // Luhn-valid, no issuer 0
  EXPECT_FALSE(run(validate_luhn, "411111111111116"));      // Luhn-valid Visa of 15 digits
  EXPECT_FALSE(run(validate_luhn, "2721000000000004"));     // past the Mastercard 2720 end
  EXPECT_FALSE(run(validate_luhn, "2220000000000000"));     // before the 2221 start
  EXPECT_FALSE(run(validate_luhn, "5611111111111113"));     // 56 is not Mastercard
  EXPECT_FALSE(run(validate_luhn, "3782822463100011"));     // Amex prefix, 16 digits
  EXPECT_FALSE(run(validate_luhn, "4111  1111 1111 1111"));  // doubled separator
  EXPECT_FALSE(run(validate_luhn, "-4111111111111111"));
  EXPECT_FALSE(run(validate_luhn, "4111111111111111-"));
  EXPECT_FALSE(run(validate_luhn, "4111.1111.1111.1111"));
  EXPECT_FALSE(run(validate_luhn, ""));
}

TEST(SignaturesValidators, LuhnChecksumAndIssuerBuildingBlocks) {
  EXPECT_TRUE(luhn_checksum_ok("79927398713"));  // the textbook example
  EXPECT_FALSE(luhn_checksum_ok("79927398710"));
  EXPECT_FALSE(luhn_checksum_ok(""));
  EXPECT_FALSE(luhn_checksum_ok("7992739871a"));
  EXPECT_TRUE(card_issuer_known("4111111111111111"));
  EXPECT_FALSE(card_issuer_known("411111111111111"));
  EXPECT_TRUE(card_issuer_known("30569309025904"));
  EXPECT_FALSE(card_issuer_known("3069309025904"));
}

TEST(SignaturesValidators, SsnAcceptsValidAreaGroupSerial) {
  std::string canonical;
  EXPECT_TRUE(run(validate_us_ssn, "123-45-6789", &canonical));
  EXPECT_EQ(canonical, "123456789");
  EXPECT_TRUE(run(validate_us_ssn, "665 01 0001", &canonical));
  EXPECT_EQ(canonical, "665010001");
  EXPECT_TRUE(run(validate_us_ssn, "899-99-9999"));
  EXPECT_TRUE(run(validate_us_ssn, "001-01-0001"));
}

TEST(SignaturesValidators, SsnRejectsWhatTheSsaNeverIssues) {
  EXPECT_FALSE(run(validate_us_ssn, "000-12-3456"));  // area 000
  EXPECT_FALSE(run(validate_us_ssn, "666-12-3456"));  // area 666
  EXPECT_FALSE(run(validate_us_ssn, "900-12-3456"));  // 900-999: ITINs, not SSNs
  EXPECT_FALSE(run(validate_us_ssn, "999-12-3456"));
  EXPECT_FALSE(run(validate_us_ssn, "123-00-4567"));  // group 00
  EXPECT_FALSE(run(validate_us_ssn, "123-45-0000"));  // serial 0000
  EXPECT_FALSE(run(validate_us_ssn, "078-05-1120"));  // the Woolworth wallet card
  EXPECT_FALSE(run(validate_us_ssn, "219-09-9999"));  // SSA advertising
  EXPECT_FALSE(run(validate_us_ssn, "123-45-678"));   // too short
  EXPECT_FALSE(run(validate_us_ssn, "123-45-67890"));
}

TEST(SignaturesValidators, AwsKeyIdChecksPrefixLengthAndCharset) {
  std::string canonical;
  EXPECT_TRUE(run(validate_aws_key_id, "AKIAIOSFODNN7EXAMPLE", &canonical));
  EXPECT_EQ(canonical, "AKIAIOSFODNN7EXAMPLE");
  EXPECT_TRUE(run(validate_aws_key_id, "ASIAY34FZKBOKMUTVV7A"));
  EXPECT_TRUE(run(validate_aws_key_id, "AROAABCDEFGHIJKLMNOP"));
  EXPECT_FALSE(run(validate_aws_key_id, "AKIAIOSFODNN7EXAMPL"));    // 19 chars
  EXPECT_FALSE(run(validate_aws_key_id, "AKIAIOSFODNN7EXAMPLEE"));  // 21 chars
  EXPECT_FALSE(run(validate_aws_key_id, "AKIAIOSFODNN8EXAMPLE"));   // 8 is not base-32
  EXPECT_FALSE(run(validate_aws_key_id, "AKIAIOSFODNN1EXAMPLE"));   // nor is 1
  EXPECT_FALSE(run(validate_aws_key_id, "AKIAiosfodnn7example"));   // lower case
  EXPECT_FALSE(run(validate_aws_key_id, "ABIAIOSFODNN7EXAMPLE"));   // unknown prefix
}

}  // namespace
}  // namespace dlp::signatures
