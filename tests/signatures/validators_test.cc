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
  // Changed with the full library: every registered validator is found by its own name.
  EXPECT_EQ(validators().size(), 23u);
  for (const ValidatorEntry& v : validators()) {
    EXPECT_EQ(find_validator(v.name), v.fn) << v.name;
    EXPECT_FALSE(v.summary.empty()) << v.name;
  }
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

// ---------------------------------------------------------------- full library validators

std::string canon(ValidatorFn fn, std::string_view match) {
  std::string c;
  EXPECT_TRUE(fn(match, c)) << match;
  return c;
}

TEST(SignaturesValidators, IbanRegistryExamplesPassAndNearMissesFail) {
  // Examples printed in the ISO 13616 registry / national bank documentation.
  for (const char* iban : {"GB82WEST12345698765432", "DE89370400440532013000",
                           "FR1420041010050500013M02606", "NL91ABNA0417164300", "BE68539007547034",
                           "CH9300762011623852957", "NO9386011117947", "MT84MALT011000012345MTLCAST001S",
                           "SA0380000000608010167519", "SE4550000000058398257466",
                           "LC55HEMM000100010012001200023015", "RU0304452522540817810538091310419"}) {
    EXPECT_TRUE(run(validate_iban, iban)) << iban;
  }
  EXPECT_EQ(canon(validate_iban, "GB82 WEST 1234 5698 7654 32"), "GB82WEST12345698765432");
  EXPECT_FALSE(run(validate_iban, "GB82WEST12345698765433"));   // mod-97 off by one
  EXPECT_FALSE(run(validate_iban, "GB82WEST1234569876543"));    // GB is 22, not 21
  EXPECT_FALSE(run(validate_iban, "DE89370400440532013000 1")); // not a single IBAN
  EXPECT_FALSE(run(validate_iban, "US64SVBKUS6S3300958879"));   // US is not in the registry
  // As people type them: dashes between groups, lower case.
  EXPECT_EQ(canon(validate_iban, "GB82-WEST-1234-5698-7654-32"), "GB82WEST12345698765432");
  EXPECT_EQ(canon(validate_iban, "gb82 west 1234 5698 7654 32"), "GB82WEST12345698765432");
  EXPECT_FALSE(run(validate_iban, "GB82_WEST_1234_5698_7654_32"));
  EXPECT_EQ(iban_length("NO"), 15u);
  EXPECT_EQ(iban_length("RU"), 33u);
  EXPECT_EQ(iban_length("LC"), 32u);
  EXPECT_EQ(iban_length("XX"), 0u);
}

TEST(SignaturesValidators, BicIso9362) {
  EXPECT_EQ(canon(validate_bic, "DEUTDEFF"), "DEUTDEFF");
  EXPECT_TRUE(run(validate_bic, "NWBKGB2L"));
  EXPECT_TRUE(run(validate_bic, "DEUTDEFF500"));
  EXPECT_TRUE(run(validate_bic, "CHASUS33XXX"));
  EXPECT_FALSE(run(validate_bic, "PASSWORD"));     // "WO" is no country
  EXPECT_FALSE(run(validate_bic, "DEUTDEF0"));     // location 'x0' is a test BIC
  EXPECT_FALSE(run(validate_bic, "DEUTDEFFXYZ"));  // branch X.. is only XXX
  EXPECT_FALSE(run(validate_bic, "DEUTDEFF5"));    // 9 characters
  EXPECT_FALSE(run(validate_bic, "D3UTDEFF"));     // bank code is letters
  EXPECT_TRUE(iso_country("XK"));
  EXPECT_FALSE(iso_country("ZZ"));
}

TEST(SignaturesValidators, AbaRoutingChecksumAndPrefix) {
  for (const char* aba : {"011000015", "021000021", "026009593", "121000358"}) {
    EXPECT_TRUE(run(validate_aba, aba)) << aba;
  }
  EXPECT_FALSE(run(validate_aba, "011000016"));  // checksum
  EXPECT_FALSE(run(validate_aba, "000000000"));
  EXPECT_FALSE(run(validate_aba, "400000008"));  // 40 is not a Federal Reserve prefix (sum ok)
  EXPECT_TRUE(aba_checksum_ok("400000008"));
  EXPECT_FALSE(run(validate_aba, "01100001"));   // 8 digits
}

TEST(SignaturesValidators, AadhaarVerhoeff) {
  EXPECT_TRUE(verhoeff_ok("2363"));  // Verhoeff's own example: 236 + check digit 3
  EXPECT_FALSE(verhoeff_ok("2364"));
  EXPECT_EQ(canon(validate_aadhaar, "2341 2341 2346"), "234123412346");
  EXPECT_TRUE(run(validate_aadhaar, "499187665431"));
  EXPECT_TRUE(run(validate_aadhaar, " 5678-1234-5678."));  // the pattern's delimiters trimmed
  EXPECT_FALSE(run(validate_aadhaar, "234123412345"));     // check digit
  EXPECT_FALSE(run(validate_aadhaar, "134123412346"));     // first digit 1 is never issued
  EXPECT_FALSE(run(validate_aadhaar, "23412341234"));      // 11 digits
  // One digit wrong or two adjacent digits swapped: Verhoeff catches both.
  EXPECT_FALSE(run(validate_aadhaar, "243123412346"));
}

TEST(SignaturesValidators, NpiLuhnWith80840Prefix) {
  EXPECT_EQ(canon(validate_npi, "1234567893"), "1234567893");  // the CMS example
  EXPECT_FALSE(run(validate_npi, "1234567890"));
  EXPECT_FALSE(run(validate_npi, "3234567893"));  // NPIs start with 1 or 2
  EXPECT_FALSE(run(validate_npi, "123456789"));
}

TEST(SignaturesValidators, DeaChecksum) {
  EXPECT_TRUE(run(validate_dea, "BJ6125341"));
  EXPECT_TRUE(run(validate_dea, "AB1234563"));
  EXPECT_TRUE(run(validate_dea, "FS1234563"));
  EXPECT_TRUE(run(validate_dea, "G91234563"));   // '9' second character
  EXPECT_FALSE(run(validate_dea, "AB1234567"));  // check digit
  EXPECT_FALSE(run(validate_dea, "IB1234563"));  // I is no registrant type
  EXPECT_FALSE(run(validate_dea, "A11234563"));
}

TEST(SignaturesValidators, UkNinoPrefixRules) {
  EXPECT_EQ(canon(validate_uk_nino, "AB 12 34 56 C"), "AB123456C");
  EXPECT_TRUE(run(validate_uk_nino, "JG103759A"));
  EXPECT_FALSE(run(validate_uk_nino, "QQ123456C"));  // HMRC's documentation example
  EXPECT_FALSE(run(validate_uk_nino, "DA123456A"));  // D never first
  EXPECT_FALSE(run(validate_uk_nino, "AO123456A"));  // O never second
  EXPECT_FALSE(run(validate_uk_nino, "GB123456A"));  // unallocated prefixes
  EXPECT_FALSE(run(validate_uk_nino, "TN123456A"));
  EXPECT_FALSE(run(validate_uk_nino, "AB123456E"));  // suffix A-D only
}

TEST(SignaturesValidators, CanadianSinLuhn) {
  EXPECT_EQ(canon(validate_ca_sin, "130 692 544"), "130692544");
  EXPECT_TRUE(run(validate_ca_sin, "193-456-787"));
  EXPECT_FALSE(run(validate_ca_sin, "046 454 286"));  // CRA's fictitious example: 0 prefix
  EXPECT_FALSE(run(validate_ca_sin, "130 692 545"));  // Luhn
  EXPECT_FALSE(run(validate_ca_sin, "812345678"));    // 8 is not allocated (and Luhn aside)
}

TEST(SignaturesValidators, ItinGroups) {
  EXPECT_EQ(canon(validate_us_itin, "912-70-1234"), "912701234");
  EXPECT_TRUE(run(validate_us_itin, "999-88-1234"));
  EXPECT_TRUE(run(validate_us_itin, "900-94-0001"));
  EXPECT_TRUE(run(validate_us_itin, "950-50-1234"));
  EXPECT_FALSE(run(validate_us_itin, "912-93-1234"));  // 93 is not an ITIN group
  EXPECT_FALSE(run(validate_us_itin, "912-89-1234"));
  EXPECT_FALSE(run(validate_us_itin, "912-45-1234"));
  EXPECT_FALSE(run(validate_us_itin, "812-70-1234"));  // not a 9xx area
  EXPECT_FALSE(run(validate_us_itin, "912-70-0000"));
}

TEST(SignaturesValidators, IndiaPan) {
  EXPECT_TRUE(run(validate_in_pan, "ABCPE1234F"));
  EXPECT_TRUE(run(validate_in_pan, "AAACB1234C"));
  EXPECT_FALSE(run(validate_in_pan, "ABCXE1234F"));  // X is no holder type
  EXPECT_FALSE(run(validate_in_pan, "ABCPE0000F"));
  EXPECT_FALSE(run(validate_in_pan, "ABCPE12345"));
}

TEST(SignaturesValidators, UsPhoneNanpRules) {
  EXPECT_EQ(canon(validate_us_phone, "+1 (415) 867-5309"), "4158675309");
  EXPECT_EQ(canon(validate_us_phone, "415.867.5309"), "4158675309");
  EXPECT_FALSE(run(validate_us_phone, "(115) 867-5309"));  // area code starts 2-9
  EXPECT_FALSE(run(validate_us_phone, "411-867-5309"));    // N11 service code
  EXPECT_FALSE(run(validate_us_phone, "415-155-5309"));    // exchange starts 2-9
  EXPECT_FALSE(run(validate_us_phone, "415-555-0142"));    // 555-01xx is fiction
}

TEST(SignaturesValidators, EmailShape) {
  EXPECT_EQ(canon(validate_email, "Jane.Doe@Mail.Example.com&"), "jane.doe@mail.example.com");
  EXPECT_EQ(canon(validate_email, "a@b.io. "), "a@b.io");
  EXPECT_FALSE(run(validate_email, "a@localhost "));     // no dot in the domain
  // The scanner hands over the whole run of local-part bytes before the '@'; the address
  // starts at its first letter or digit.
  EXPECT_EQ(canon(validate_email, ".a@b.com "), "a@b.com");
  EXPECT_FALSE(run(validate_email, "@b.com "));
  EXPECT_FALSE(run(validate_email, "a..b@b.com "));
  EXPECT_FALSE(run(validate_email, "a@-b.com "));
  EXPECT_FALSE(run(validate_email, "a@b.c0m "));         // TLD letters only
}

TEST(SignaturesValidators, CalendarDates) {
  EXPECT_EQ(canon(validate_date, "1985-07-14"), "19850714");
  EXPECT_EQ(canon(validate_date, "7/14/1985"), "19850714");   // US M/D/Y
  EXPECT_EQ(canon(validate_date, "14.07.1985"), "19850714");  // D.M.Y
  EXPECT_TRUE(run(validate_date, "02/29/2000"));               // leap year
  EXPECT_FALSE(run(validate_date, "02/29/1900"));              // not a leap year
  EXPECT_FALSE(run(validate_date, "13/01/1985"));
  EXPECT_FALSE(run(validate_date, "1985-02-30"));
  EXPECT_FALSE(run(validate_date, "1985-07/14"));              // mixed separators
  // With the month's name or abbreviation, either order of day and month.
  EXPECT_EQ(canon(validate_date, "March 14, 1987"), "19870314");
  EXPECT_EQ(canon(validate_date, "Mar. 14th 1987"), "19870314");
  EXPECT_EQ(canon(validate_date, "14 March 1987"), "19870314");
  EXPECT_EQ(canon(validate_date, "14th of March, 1987"), "19870314");
  EXPECT_EQ(canon(validate_date, "14-MAR-1987"), "19870314");
  EXPECT_EQ(canon(validate_date, "Sept 3, 1990"), "19900903");
  EXPECT_FALSE(run(validate_date, "Marc 14, 1987x"));
  EXPECT_FALSE(run(validate_date, "Mayday 14, 1987"));          // not a month
  EXPECT_FALSE(run(validate_date, "31 April 1987"));            // April has 30 days
  EXPECT_FALSE(run(validate_date, "14xy March 1987"));          // not an ordinal
}

TEST(SignaturesValidators, TrackData) {
  EXPECT_EQ(canon(validate_track_data, "%B4111111111111111^DOE/JOHN^2512101"), "4111111111111111");
  EXPECT_EQ(canon(validate_track_data, ";4111111111111111=2512101"), "4111111111111111");
  EXPECT_FALSE(run(validate_track_data, ";4111111111111112=2512101"));  // Luhn
  EXPECT_FALSE(run(validate_track_data, ";4111111111111111=2513101"));  // month 13
}

TEST(SignaturesValidators, JwtHeaderMustBeJson) {
  const std::string jwt =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkw";
  EXPECT_TRUE(run(validate_jwt, jwt));
  // {"foo":"bar","baz":1}: JSON, but no alg/typ/enc, so not a JOSE header.
  EXPECT_FALSE(run(validate_jwt, "eyJmb28iOiJiYXIiLCJiYXoiOjF9.eyJzdWIiOiIxMjM0NTY3ODkw"));
  EXPECT_FALSE(run(validate_jwt, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.abc"));
  EXPECT_FALSE(run(validate_jwt, "eyJ!!!!!!!!!!.eyJzdWIiOiIxMjM0NTY3ODkw"));
  // {"typ":"JWT"}: a JOSE header must name its algorithm; {"alg":"XX999",...}: not a JOSE one.
  EXPECT_FALSE(run(validate_jwt, "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxMjM0NTY3ODkw"));
  EXPECT_FALSE(run(validate_jwt, "eyJhbGciOiJYWDk5OSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkw"));
  // The header is decoded whole: a truncated one is not a JSON object.
  EXPECT_FALSE(run(validate_jwt, "eyJhbGciOiJIUzI1NiIsInR5cCI6Ikp.eyJzdWIiOiIxMjM0NTY3ODkw"));
}

TEST(SignaturesValidators, GithubTokenChecksum) {
  // The last 6 characters are base62(CRC32(the 30 before them)).
  EXPECT_TRUE(run(validate_github_token, "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"));
  EXPECT_TRUE(run(validate_github_token, "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"));
  EXPECT_FALSE(run(validate_github_token, "ghp_wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUy"));
  EXPECT_FALSE(run(validate_github_token, "ghp_xWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx"));
  EXPECT_FALSE(run(validate_github_token, "ghp_" + std::string(36, 'a')));
  EXPECT_FALSE(run(validate_github_token, "ghp_wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINU"));
}

TEST(SignaturesValidators, SecretsShapes) {
  EXPECT_EQ(canon(validate_aws_secret_key, "=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"),
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
  // A SHA-1 in hex is 40 characters of the same alphabet, but never mixed case.
  EXPECT_FALSE(run(validate_aws_secret_key, " da39a3ee5e6b4b0d3255bfef95601890afd80709 "));
  EXPECT_FALSE(run(validate_aws_secret_key, " wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE "));  // 39

  const std::string azure =
      "AccountKey=eUK98iEG8IR3YvDzy012TccHIFEVmg+J8sbayuNEuzESRf1vhN+a18Wz0HasDo9TpzVsiJE/"
      "IPb3LbAi0k0Klg==";
  EXPECT_TRUE(run(validate_azure_storage_key, azure));
  EXPECT_FALSE(run(validate_azure_storage_key, "AccountKey=" + std::string(86, '!') + "=="));
  // The bare key with the delimiters its pattern takes.
  EXPECT_EQ(canon(validate_azure_storage_key, azure.substr(10) + "\n"), azure.substr(11));

  std::string c;
  EXPECT_TRUE(validate_private_key("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA", c));
  EXPECT_EQ(c, "MIIEpAIBAAKCAQEA");
  EXPECT_FALSE(validate_private_key("BEGIN RSA PRIVATE KEY", c));
}

TEST(SignaturesValidators, AssignmentsDropPlaceholders) {
  EXPECT_EQ(canon(validate_assignment, "password=\"Xk9#mP2$vL7q\"&"), "Xk9#mP2$vL7q");
  EXPECT_EQ(canon(validate_assignment, "api_key: 8f1b2c9d7e6a5b4c "), "8f1b2c9d7e6a5b4c");
  EXPECT_FALSE(run(validate_assignment, "password=${DB_PASSWORD} "));
  EXPECT_FALSE(run(validate_assignment, "password=<your-password> "));
  EXPECT_FALSE(run(validate_assignment, "secret=********** "));
  EXPECT_FALSE(run(validate_assignment, "pwd=short "));
  EXPECT_FALSE(run(validate_assignment, "password=ChangeMe123 "));
  // Code that looks the value up, unquoted.
  EXPECT_FALSE(run(validate_assignment, "password = os.environ["));
  EXPECT_FALSE(run(validate_assignment, "password = os.getenv("));
  EXPECT_FALSE(run(validate_assignment, "api_secret = settings.API_SECRET\n"));
  EXPECT_FALSE(run(validate_assignment, "secret=$VAULT_SECRET "));
  // ...but quoted it is a literal, and punctuation inside a literal is fine.
  EXPECT_EQ(canon(validate_assignment, "password = \"os.environ[x]\""), "os.environ[x]");
  EXPECT_EQ(canon(validate_assignment, "DB_PASSWORD=Ab(3xQ9#zT "), "Ab(3xQ9#zT");
  EXPECT_EQ(canon(validate_assignment, "password=DNW4%9m9*%S#mRMn5x "), "DNW4%9m9*%S#mRMn5x");
  EXPECT_FALSE(run(validate_assignment, "password=user-%s-secret "));
  // URL credentials.
  EXPECT_EQ(canon(validate_assignment, "postgres://app:Xk9mP2vL7qR4@d"), "Xk9mP2vL7qR4");
  EXPECT_FALSE(run(validate_assignment, "postgres://app:password@d"));
}

TEST(SignaturesValidators, ShannonEntropy) {
  EXPECT_DOUBLE_EQ(shannon_entropy(""), 0.0);
  EXPECT_DOUBLE_EQ(shannon_entropy("aaaaaaaa"), 0.0);
  EXPECT_DOUBLE_EQ(shannon_entropy("abcdefgh"), 3.0);
  EXPECT_DOUBLE_EQ(shannon_entropy("aabb"), 1.0);
}

}  // namespace
}  // namespace dlp::signatures
