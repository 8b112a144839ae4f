// The built-in detector library, end to end: for every detector a true positive with its
// exact finding (detector ids, count, confidence, masked value) and hard negatives that
// must give nothing at all, scanned with every other detector present (so a detector that
// fires on its neighbour's data shows up here too).
#include <gtest/gtest.h>

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "signatures/scanner.h"

namespace dlp::signatures {
namespace {

const std::shared_ptr<const Database>& library() {
  static const auto db = [] {
    HashKey key{};
    auto r = Database::compile(builtin_detectors(), key);
    if (!r.ok()) ADD_FAILURE() << r.error().message;
    return r.ok() ? *r : nullptr;
  }();
  return db;
}

struct Found {
  std::uint32_t count = 0;
  Confidence confidence = Confidence::low;
  std::vector<std::string> masked;
  bool operator==(const Found&) const = default;
};
using Findings = std::map<std::string, Found>;

void PrintTo(const Found& f, std::ostream* os) {
  *os << "{count " << f.count << ", " << confidence_name(f.confidence) << ", [";
  for (const std::string& m : f.masked) *os << '"' << m << "\" ";
  *os << "]}";
}

// Reportable findings by detector id, the text written in one piece and byte by byte
// (which must agree: context and pending decisions cannot depend on how bytes arrive).
Findings scan(const std::string& text) {
  Findings out[2];
  for (int pass = 0; pass < 2; ++pass) {
    Scanner scanner(library());
    StreamScan s = scanner.open();
    if (pass == 0) {
      s.write(as_bytes(text));
    } else {
      for (char c : text) s.write(as_bytes(std::string(1, c)));
    }
    s.close();
    for (const DetectorHit* h : s.reportable()) {
      out[pass][library()->detectors()[h->detector].id] = Found{h->count, h->confidence, h->masked};
    }
  }
  EXPECT_EQ(out[0], out[1]) << "whole vs byte-at-a-time differ for: " << text;
  return out[0];
}

Found one(std::uint32_t count, Confidence c, std::vector<std::string> masked) {
  return Found{count, c, std::move(masked)};
}

constexpr Confidence kLow = Confidence::low;
constexpr Confidence kMed = Confidence::medium;
constexpr Confidence kHigh = Confidence::high;

void expect_nothing(const std::vector<std::string>& texts) {
  for (const std::string& t : texts) {
    Findings f = scan(t);
    EXPECT_TRUE(f.empty()) << "hard negative gave " << f.size() << " finding(s), first "
                           << (f.empty() ? "" : f.begin()->first) << ": " << t;
  }
}

TEST(SignaturesLibrary, Cards) {
  EXPECT_EQ(scan("ref 4111111111111111 ok"),
            (Findings{{"pci.credit_card", one(1, kMed, {"411111******1111"})}}));
  EXPECT_EQ(scan("Card number: 5555 5555 5555 4444"),
            (Findings{{"pci.credit_card", one(1, kHigh, {"555555******4444"})}}));
  EXPECT_EQ(scan("amex 3782-822463-10005"),
            (Findings{{"pci.credit_card", one(1, kHigh, {"378282*****0005"})}}));
  // Grouped cards are not Aadhaar numbers, whatever their 4-4-4 sub-runs say.
  EXPECT_EQ(scan("x 6011 0009 9013 9424 y 2223 0031 2200 3222"),
            (Findings{{"pci.credit_card", one(2, kMed, {"601100******9424", "222300******3222"})}}));
  expect_nothing({"ref 4111111111111112 ok", "tracking 9400111899223344556677",
                  "id 41111111111111111111", "order 1234567890123456"});
}

TEST(SignaturesLibrary, TrackData) {
  // Track 1 glues the card to the 'B': no word boundary, so it is track data only.
  EXPECT_EQ(scan("%B4111111111111111^DOE/JOHN^2512101000000000000?"),
            (Findings{{"pci.track_data", one(1, kHigh, {"411111******1111"})}}));
  EXPECT_EQ(scan(";4111111111111111=25121010000000000?"),
            (Findings{{"pci.credit_card", one(1, kMed, {"411111******1111"})},
                      {"pci.track_data", one(1, kHigh, {"411111******1111"})}}));
  expect_nothing({";4111111111111112=25121010000?", "B4111111111111112^DOE/JOHN^2512101"});
}

TEST(SignaturesLibrary, SsnAndItin) {
  EXPECT_EQ(scan("SSN: 219-09-9998"), (Findings{{"pii.us_ssn", one(1, kHigh, {"*****9998"})}}));
  EXPECT_EQ(scan("emp 219 09 9998"), (Findings{{"pii.us_ssn", one(1, kMed, {"*****9998"})}}));
  EXPECT_EQ(scan("ITIN 912-70-1234"), (Findings{{"pii.us_itin", one(1, kHigh, {"*****1234"})}}));
  expect_nothing({"ref 912-70-1234", "ssn 666-12-3456", "078-05-1120", "912-93-1234", "ssn 000-12-3456",
                  "zip 98765-4321 part 123456789"});
}

TEST(SignaturesLibrary, EmailNeedsAListOfThem) {
  std::string list;
  for (const char* who : {"ann", "bob", "cy", "dee", "eve"}) list += std::string(who) + "@mail.example.com, ";
  const std::string s16(16, '*');
  EXPECT_EQ(scan(list), (Findings{{"pii.email", one(5, kLow,
                                                    {s16 + ".com", s16 + ".com", s16.substr(1) + ".com",
                                                     s16 + ".com", s16 + ".com"})}}));
  expect_nothing({"contact ann@mail.example.com today", "a@localhost b@x c@@d.com"});
}

TEST(SignaturesLibrary, PhoneNeedsContext) {
  EXPECT_EQ(scan("call me at (415) 867-5309"),
            (Findings{{"pii.us_phone", one(1, kHigh, {"******5309"})}}));
  EXPECT_EQ(scan("415-867-5309 is my mobile"),
            (Findings{{"pii.us_phone", one(1, kHigh, {"******5309"})}}));
  expect_nothing({"ref 415-867-5309 batch", "call +1 (201) 555-0142", "tel 411-867-5309"});
}

TEST(SignaturesLibrary, DateOfBirthNeedsContext) {
  EXPECT_EQ(scan("DOB: 07/14/1985; DOB: 1990-01-31; born 3.4.1977"),
            (Findings{{"pii.date_of_birth",
                       one(3, kHigh, {"****0714", "****0131", "****0403"})}}));
  // One date of birth is below min_count 3: the CRM form case, not an export.
  expect_nothing({"DOB: 07/14/1985", "shipped 1985-07-14 1990-01-31 1977-04-03",
                  "dob 02/30/1985 dob 02/30/1985 dob 02/30/1985", "invoice date 07/14/1985"});
  // Written with the month's name, in the orders people and exports use.
  EXPECT_EQ(scan("DOB: March 14, 1987\nDOB: 4 Mar 1990\nDOB: 07-Jul-1975\nDOB: 2nd of February, 2001"),
            (Findings{{"pii.date_of_birth",
                       one(4, kHigh, {"****0314", "****0304", "****0707", "****0202"})}}));
  expect_nothing({"shipped March 14, 1987, 4 Mar 1990 and 07-Jul-1975",
                  "DOB: Marchh 14, 1987 DOB: Foo 4, 1990 DOB: 31 Feb 1990 DOB: 30-Feb-1975"});
}

TEST(SignaturesLibrary, UkNino) {
  EXPECT_EQ(scan("NI number AB 12 34 56 C"), (Findings{{"pii.uk_nino", one(1, kHigh, {"*****456C"})}}));
  EXPECT_EQ(scan("ref JG103759A"), (Findings{{"pii.uk_nino", one(1, kMed, {"*****759A"})}}));
  expect_nothing({"QQ123456C", "GB123456A", "AB123456E"});
}

TEST(SignaturesLibrary, CanadianSinNeedsContext) {
  EXPECT_EQ(scan("SIN: 130 692 544"), (Findings{{"pii.ca_sin", one(1, kHigh, {"*****2544"})}}));
  expect_nothing({"ref 130 692 544", "SIN 046 454 286", "SIN 130 692 545"});
}

TEST(SignaturesLibrary, Iban) {
  EXPECT_EQ(scan("IBAN GB82 WEST 1234 5698 7654 32"),
            (Findings{{"pii.iban", one(1, kHigh, {"******************5432"})}}));
  EXPECT_EQ(scan("to DE89370400440532013000."),
            (Findings{{"pii.iban", one(1, kMed, {"******************3000"})}}));
  // Retyped by people: lower case, dashes between the groups.
  EXPECT_EQ(scan("IBAN: gb82 west 1234 5698 7654 32"),
            (Findings{{"pii.iban", one(1, kHigh, {"******************5432"})}}));
  EXPECT_EQ(scan("to de89370400440532013000."),
            (Findings{{"pii.iban", one(1, kMed, {"******************3000"})}}));
  EXPECT_EQ(scan("IBAN GB82-WEST-1234-5698-7654-32").count("pii.iban"), 1u);
  expect_nothing({"GB82WEST12345698765433", "XX82WEST12345698765432", "DE8937040044053201300",
                  "gb82west12345698765433"});
}

TEST(SignaturesLibrary, BicAndAbaNeedContext) {
  EXPECT_EQ(scan("SWIFT: DEUTDEFF500"), (Findings{{"pii.swift_bic", one(1, kHigh, {"*******F500"})}}));
  EXPECT_EQ(scan("routing number 021000021"),
            (Findings{{"pii.aba_routing", one(1, kHigh, {"*****0021"})}}));
  expect_nothing({"DEUTDEFF500 PASSWORD", "swift PASSWORD", "order 021000021", "routing 021000022"});
}

TEST(SignaturesLibrary, IndiaPanAndAadhaar) {
  EXPECT_EQ(scan("PAN: ABCPE1234F"), (Findings{{"pii.in_pan", one(1, kHigh, {"******234F"})}}));
  EXPECT_EQ(scan("id 2341 2341 2346 ok"),
            (Findings{{"pii.in_aadhaar", one(1, kMed, {"********2346"})}}));
  EXPECT_EQ(scan("Aadhaar 234123412346"),
            (Findings{{"pii.in_aadhaar_unformatted", one(1, kHigh, {"********2346"})}}));
  expect_nothing({"ABCXE1234F", "id 2341 2341 2345", "order 234123412346", "1341 2341 2346"});
  // The grouped form stands alone: at the end of the data, after a colon, with dashes.
  EXPECT_EQ(scan("id: 2341 2341 2346"), (Findings{{"pii.in_aadhaar", one(1, kMed, {"********2346"})}}));
  EXPECT_EQ(scan("id 2341-2341-2346, ok"), (Findings{{"pii.in_aadhaar", one(1, kMed, {"********2346"})}}));
  // Never three groups out of a longer grouped number (a printed card), on either side.
  expect_nothing({"no 1111 2341 2341 2346 x", "no 2341 2341 2346 5555 x", "no 11 2341 2341 2346",
                  "no 1111-2341-2341-2346 x", "no 2341-2341-2346-5555", "2341 2341 2346 5"});
}

TEST(SignaturesLibrary, PassportNeedsContext) {
  EXPECT_EQ(scan("Passport No. C03005988"), (Findings{{"pii.passport", one(1, kHigh, {"*****5988"})}}));
  expect_nothing({"part C03005988", "invoice 123456789"});
}

TEST(SignaturesLibrary, Health) {
  EXPECT_EQ(scan("NPI: 1234567893"), (Findings{{"health.us_npi", one(1, kHigh, {"******7893"})}}));
  EXPECT_EQ(scan("Rx by BJ6125341"), (Findings{{"health.dea_number", one(1, kMed, {"*****5341"})}}));
  EXPECT_EQ(scan("DEA# AB1234563"), (Findings{{"health.dea_number", one(1, kHigh, {"*****4563"})}}));
  EXPECT_EQ(scan("Diagnosis: E11.65 type 2"), (Findings{{"health.icd10", one(1, kHigh, {"***"})}}));
  expect_nothing({"NPI 1234567890", "ref 1234567893", "AB1234567", "seat E11.65 row", "grid A12"});
}

TEST(SignaturesLibrary, AwsKeyAndSecretPair) {
  EXPECT_EQ(scan("key AKIAIOSFODNN7EXAMPLE"),
            (Findings{{"secrets.aws_access_key", one(1, kHigh, {"****************MPLE"})}}));
  EXPECT_EQ(scan("AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"),
            (Findings{{"secrets.aws_access_key", one(1, kHigh, {"****************MPLE"})},
                      {"secrets.aws_secret_key", one(1, kHigh, {std::string(36, '*') + "EKEY"})}}));
  EXPECT_EQ(scan("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            (Findings{{"secrets.aws_secret_key", one(1, kHigh, {std::string(36, '*') + "EKEY"})}}));
  expect_nothing({"blob wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end",
                  "aws_secret_access_key = da39a3ee5e6b4b0d3255bfef95601890afd80709"});
}

TEST(SignaturesLibrary, VendorTokens) {
  const std::string gh = "ghp_" + std::string("wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx");
  EXPECT_EQ(scan("token " + gh), (Findings{{"secrets.github_token", one(1, kHigh, {std::string(36, '*') + "INUx"})}}));
  EXPECT_EQ(scan("glpat-xK9mP2vL7qR4sT6wY8zA"),
            (Findings{{"secrets.gitlab_token", one(1, kHigh, {std::string(22, '*') + "Y8zA"})}}));
  EXPECT_EQ(scan("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx").size(), 1u);
  EXPECT_EQ(scan("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX")
                .count("secrets.slack_webhook"), 1u);
  EXPECT_EQ(scan("sk_live_4eC39HqLyjWDarjtT1zdp7dc").count("secrets.stripe_key"), 1u);
  EXPECT_EQ(scan("twilio SK2a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d"),
            (Findings{{"secrets.twilio", one(1, kHigh, {std::string(30, '*') + "2c1d"})}}));
  EXPECT_EQ(scan("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").size(), 1u);
  // npm and GitHub classic tokens end in the base62 CRC32 of their 30-character body.
  EXPECT_EQ(scan("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").count("secrets.npm_token"), 1u);
  expect_nothing({"ghp_" + std::string(36, 'a'), "ghx_wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx",
                  "ghp_wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUy", "npm_aBcD1234eFgH5678iJkL9012mNoP3456qRsT",
                  "sk_test_4eC39HqLyjWDarjtT1zdp7dc", "xoxb-short", "npm_install"});
}

TEST(SignaturesLibrary, JwtPrivateKeysGcpAzure) {
  EXPECT_EQ(scan("Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                 "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.sig")
                .at("secrets.jwt").confidence,
            kHigh);
  EXPECT_EQ(scan("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA75\n"),
            (Findings{{"secrets.private_key", one(1, kHigh, {"************AQEA"})}}));
  EXPECT_EQ(scan("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n").count("secrets.private_key"), 1u);
  EXPECT_EQ(scan("-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\nlQOYBF").count("secrets.private_key"), 1u);
  EXPECT_EQ(scan("-----BEGIN ENCRYPTED PRIVATE KEY-----\r\nMIIFHDBOBgkqhkiG9w0BBQ0w\r\n").count("secrets.private_key"), 1u);
  EXPECT_EQ(scan(R"({"type": "service_account", "project_id": "p", "private_key_id": "abc"})")
                .count("secrets.gcp_service_account"), 1u);
  const std::string azure =
      "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=eUK98iEG8IR3YvDzy012TccHIFEVmg+"
      "J8sbayuNEuzESRf1vhN+a18Wz0HasDo9TpzVsiJE/IPb3LbAi0k0Klg==;EndpointSuffix=core.windows.net";
  EXPECT_EQ(scan(azure).at("secrets.azure_storage_key").confidence, kHigh);
  expect_nothing({"eyJmb28iOiJiYXIiLCJiYXoiOjF9.eyJzdWIiOiIxMjM0NTY3ODkw.x",
                  "the header -----BEGIN RSA PRIVATE KEY----- marks a key",
                  "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0B\n",
                  R"({"type": "service_account", "email": "x@y.iam"})"});
}

TEST(SignaturesLibrary, GenericPasswordAssignmentsGatedByEntropy) {
  // Prefixed names count too.
  EXPECT_EQ(scan("db_password=Xk9#mP2$vL7q&next=1"),
            (Findings{{"secrets.generic_password", one(1, kMed, {"********vL7q"})}}));
  EXPECT_EQ(scan("DB_PASSWORD=Xk9#mP2$vL7q\n").count("secrets.generic_password"), 1u);
  EXPECT_EQ(scan("spring.datasource.password=Xk9#mP2$vL7q\n").count("secrets.generic_password"), 1u);
  EXPECT_EQ(scan("DATABASE_URL=postgres://app:Xk9mP2vL7qR4@db:5432/x\n"),
            (Findings{{"secrets.generic_password", one(1, kMed, {"********7qR4"})}}));
  EXPECT_EQ(scan("password=Xk9#mP2$vL7q&next=1"),
            (Findings{{"secrets.generic_password", one(1, kMed, {"********vL7q"})}}));
  EXPECT_EQ(scan("\"api_key\": \"8f1b2c9d7e6a5b4c\"").count("secrets.generic_password"), 1u);
  expect_nothing({"password=aaaaaaaaaa&", "password=${DB_PASSWORD}\n", "secret: <changeme>\n",
                  "password=11112222 ", "Password: ********\n",
                  // Code that fetches the secret is not the secret.
                  "password = os.environ[\"DB_PASSWORD\"]\n", "password = os.getenv(\"SMTP_PASSWORD\")\n",
                  "api_secret = settings.API_SECRET\n", "password: process.env.DB_PASSWORD\n",
                  "db_password = config.get(\"db\", \"password\")\n", "client_secret = $CLIENT_SECRET_FROM_VAULT\n",
                  "postgres://app:${DB_PASSWORD}@db:5432/x\n"});
}

TEST(SignaturesLibrary, ConfidentialityMarkers) {
  EXPECT_EQ(scan("COMPANY CONFIDENTIAL - Q3 plan"),
            (Findings{{"corporate.confidential_marker", one(1, kMed, {"****************TIAL"})}}));
  EXPECT_EQ(scan("Attorney-Client Privileged").count("corporate.confidential_marker"), 1u);
  EXPECT_EQ(scan("INTERNAL USE ONLY. DO NOT DISTRIBUTE.").at("corporate.confidential_marker").count, 2u);
  EXPECT_EQ(scan("PROPRIETARY AND CONFIDENTIAL").count("corporate.confidential_marker"), 1u);
  EXPECT_EQ(scan("Proprietary & Confidential").count("corporate.confidential_marker"), 1u);
  EXPECT_EQ(scan("TLP:AMBER+STRICT").count("corporate.confidential_marker"), 1u);
  EXPECT_EQ(scan("NOT FOR DISTRIBUTION").count("corporate.confidential_marker"), 1u);
  expect_nothing({"for internal only use", "please do not distribute the chairs", "TLP:GREEN", "TLP:CLEAR",
                  "a proprietary driver", "proprietary and confidential"});
}

}  // namespace
}  // namespace dlp::signatures
