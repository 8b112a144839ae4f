// Labelled-corpus self-tests. Check digits are re-checked with implementations written here
// again from the specs (not the generator's), encodings are undone with decoders written
// here (UTF-16 with surrogates, full-width forms, zero-width characters, HTML numeric
// entities), and the accuracy arithmetic is checked on a hand-made corpus.
#include "tests/gen/labelled.h"
#include "tests/gen/payloads.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>

namespace dlp::testgen {
namespace {

constexpr std::size_t kPer = 14;  // two full rotations of the 7 positive encodings

const std::vector<LabelledCase>& corpus() {
  static const auto c = labelled_corpus(20261123, kPer);
  return c;
}

std::string digits(const std::string& s) {
  std::string d;
  for (char c : s)
    if (c >= '0' && c <= '9') d += c;
  return d;
}

// ---- second implementations of the check digits ----
bool luhn2(const std::string& d) {
  int sum = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    int v = d[d.size() - 1 - i] - '0';
    if (i % 2 == 1) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
    sum += v;
  }
  return d.size() >= 2 && sum % 10 == 0;
}
bool iban2(std::string s) {
  static const std::map<std::string, std::size_t> kLen = {
      {"DE", 22}, {"GB", 22}, {"FR", 27}, {"ES", 24}, {"IT", 27}, {"NL", 18}, {"BE", 16}, {"CH", 21},
      {"AT", 20}, {"PL", 28}, {"SE", 24}, {"NO", 15}, {"IE", 22}, {"PT", 25}, {"SA", 24}, {"BR", 29}};
  s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return c == ' ' || c == '-'; }), s.end());
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto it = kLen.find(s.substr(0, 2));
  if (it == kLen.end() || it->second != s.size()) return false;
  std::string num;
  for (char c : s.substr(4) + s.substr(0, 4)) num += (c >= 'A' && c <= 'Z') ? std::to_string(c - 'A' + 10) : std::string(1, c);
  // Piecewise mod 97 on 9-digit chunks (the registry's documented method).
  long long r = 0;
  std::size_t pos = 0;
  while (pos < num.size()) {
    const std::string chunk = std::to_string(r) + num.substr(pos, 7);
    pos += 7;
    r = std::stoll(chunk) % 97;
  }
  return r == 1;
}
bool aba2(const std::string& d) {
  if (!std::regex_match(d, std::regex(R"(\d{9})"))) return false;
  static const int w[9] = {3, 7, 1, 3, 7, 1, 3, 7, 1};
  int s = 0;
  for (int i = 0; i < 9; ++i) s += w[i] * (d[static_cast<std::size_t>(i)] - '0');
  return s % 10 == 0;
}
// Verhoeff via the dihedral group D5 multiplication written as arithmetic, not a table.
int d5(int j, int k) {
  if (j < 5 && k < 5) return (j + k) % 5;
  if (j < 5) return 5 + (j + k - 5) % 5;
  if (k < 5) return 5 + (j - 5 - k + 5) % 5;
  return (j - k + 5) % 5;
}
int perm(int pos, int v) {
  static const int p1[10] = {1, 5, 7, 6, 2, 8, 3, 0, 9, 4};
  for (int i = 0; i < pos % 8; ++i) v = p1[v];
  return v;
}
bool verhoeff2(const std::string& d) {
  int c = 0;
  for (std::size_t i = 0; i < d.size(); ++i) c = d5(c, perm(static_cast<int>(i), d[d.size() - 1 - i] - '0'));
  return c == 0;
}
bool npi2(const std::string& d) {
  if (!std::regex_match(d, std::regex(R"([12]\d{9})"))) return false;
  // CMS: double alternate digits of the first nine from the right, add 24 for the prefix.
  int sum = 24;
  for (int i = 0; i < 9; ++i) {
    int v = d[static_cast<std::size_t>(i)] - '0';
    if (i % 2 == 0) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
    sum += v;
  }
  return (10 - sum % 10) % 10 == d[9] - '0';
}
bool dea2(const std::string& s) {
  std::smatch m;
  if (!std::regex_match(s, m, std::regex(R"([A-Z][A-Z9](\d)(\d)(\d)(\d)(\d)(\d)(\d))"))) return false;
  auto n = [&](int i) { return std::stoi(m[i]); };
  return (n(1) + n(3) + n(5) + 2 * (n(2) + n(4) + n(6))) % 10 == n(7);
}

// Returns true/false for checksummed categories, nullopt-like -1 when there is none.
int check2(const std::string& category, const std::string& v) {
  if (category == "credit_card") {
    const std::size_t n = digits(v).size();
    return std::regex_match(v, std::regex(R"(\d[\d -]+\d)")) && n >= 13 && n <= 19 && luhn2(digits(v));
  }
  if (category == "track_data") {
    std::smatch m;
    if (!std::regex_search(v, m, std::regex(R"(^(?:%B|;)(\d{13,19})[\^=])"))) return 0;
    return luhn2(m[1]);
  }
  if (category == "us_ssn") {
    std::smatch m;
    if (!std::regex_match(v, m, std::regex(R"((\d{3})[- ](\d{2})[- ](\d{4}))"))) return 0;
    const int a = std::stoi(m[1]);
    return a != 0 && a != 666 && a < 900 && std::stoi(m[2]) != 0 && std::stoi(m[3]) != 0;
  }
  if (category == "us_itin") {
    std::smatch m;
    if (!std::regex_match(v, m, std::regex(R"(9\d\d[- ](\d\d)[- ]\d{4})"))) return 0;
    const int g = std::stoi(m[1]);
    return (g >= 50 && g <= 65) || (g >= 70 && g <= 88) || (g >= 90 && g <= 92) || g >= 94;
  }
  if (category == "ca_sin") return std::regex_match(v, std::regex(R"([1-79]\d\d[- ]\d{3}[- ]\d{3})")) && luhn2(digits(v));
  if (category == "iban") return iban2(v);
  if (category == "aba_routing") return aba2(v);
  if (category == "in_aadhaar") return std::regex_match(v, std::regex(R"([2-9]\d{3} ?\d{4} ?\d{4})")) && verhoeff2(digits(v));
  if (category == "us_npi") return npi2(v);
  if (category == "dea_number") return dea2(v);
  if (category == "uk_nino")
    return std::regex_match(v, std::regex(R"((?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d\d ?\d\d ?\d\d ?[A-D])"));
  if (category == "swift_bic")  // ISO 9362: no test BIC ('0'/'O' second in location), branch XXX or not X..
    return std::regex_match(v, std::regex(R"([A-Z]{4}[A-Z]{2}[A-Z0-9][A-NP-Z1-9](?:XXX|[A-WYZ0-9][A-Z0-9]{2})?)"));
  if (category == "in_pan") return std::regex_match(v, std::regex(R"([A-Z]{3}[ABCFGHLJPT][A-Z]\d{4}[A-Z])"));
  if (category == "us_phone") {
    std::string d = digits(v);
    if (d.size() == 11 && d[0] == '1') d.erase(0, 1);
    return std::regex_match(d, std::regex(R"([2-9](?!11)[0-8]\d[2-9](?!11)\d\d\d{4})"));
  }
  return -1;
}

// ---- decoders written for the test ----
std::string utf8(std::uint32_t cp) {
  std::string o;
  if (cp < 0x80) o += static_cast<char>(cp);
  else if (cp < 0x800) { o += static_cast<char>(0xC0 | cp >> 6); o += static_cast<char>(0x80 | (cp & 63)); }
  else if (cp < 0x10000) { o += static_cast<char>(0xE0 | cp >> 12); o += static_cast<char>(0x80 | (cp >> 6 & 63)); o += static_cast<char>(0x80 | (cp & 63)); }
  else { o += static_cast<char>(0xF0 | cp >> 18); o += static_cast<char>(0x80 | (cp >> 12 & 63)); o += static_cast<char>(0x80 | (cp >> 6 & 63)); o += static_cast<char>(0x80 | (cp & 63)); }
  return o;
}
std::string decode_utf16(const std::string& b, bool be) {
  EXPECT_EQ(b.size() % 2, 0u);
  auto at = [&](std::size_t i) {
    const unsigned x = static_cast<unsigned char>(b[i]), y = static_cast<unsigned char>(b[i + 1]);
    return be ? (x << 8 | y) : (y << 8 | x);
  };
  EXPECT_EQ(at(0), 0xFEFFu) << "BOM";
  std::string o;
  for (std::size_t i = 2; i + 1 < b.size(); i += 2) {
    std::uint32_t u = at(i);
    if (u >= 0xD800 && u < 0xDC00) {
      u = 0x10000 + ((u - 0xD800) << 10) + (at(i + 2) - 0xDC00);
      i += 2;
    }
    o += utf8(u);
  }
  return o;
}
std::string undo_fullwidth_and_zw(const std::string& s) {
  std::string o;
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0xEF && i + 2 < s.size()) {  // U+FF00..U+FFFF: EF BC xx / EF BD xx
      const std::uint32_t cp = 0xF000u | (static_cast<unsigned char>(s[i + 1]) & 63u) << 6 | (static_cast<unsigned char>(s[i + 2]) & 63u);
      if (cp >= 0xFF01 && cp <= 0xFF5E) { o += static_cast<char>(cp - 0xFF01 + 0x21); i += 3; continue; }
    }
    if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(s[i + 2]) == 0x8B || static_cast<unsigned char>(s[i + 2]) == 0x8D)) {
      i += 3;
      continue;
    }
    o += s[i++];
  }
  return o;
}
std::string undo_entities(const std::string& s) {
  static const std::regex re(R"(&#(x[0-9A-Fa-f]+|\d+);)");
  std::string o;
  auto it = std::sregex_iterator(s.begin(), s.end(), re);
  std::size_t last = 0;
  for (; it != std::sregex_iterator(); ++it) {
    o += s.substr(last, static_cast<std::size_t>(it->position()) - last);
    const std::string n = (*it)[1];
    o += static_cast<char>(n[0] == 'x' ? std::stoi(n.substr(1), nullptr, 16) : std::stoi(n));
    last = static_cast<std::size_t>(it->position() + it->length());
  }
  return o + s.substr(last);
}
std::string decode(const LabelledCase& c) {
  if (c.encoding == "utf16le") return decode_utf16(c.text, false);
  if (c.encoding == "utf16be") return decode_utf16(c.text, true);
  if (c.encoding == "fullwidth" || c.encoding == "zero_width") return undo_fullwidth_and_zw(c.text);
  if (c.encoding == "html_entity") return undo_entities(c.text);
  return c.text;
}

TEST(testgen_labelled, KnownCheckDigitVectors) {
  EXPECT_TRUE(iban_ok("DE89370400440532013000"));
  EXPECT_TRUE(iban_ok("GB82 WEST 1234 5698 7654 32"));
  EXPECT_FALSE(iban_ok("GB83WEST12345698765432"));
  EXPECT_FALSE(iban_ok("DE8937040044053201300"));  // registry length 22
  EXPECT_TRUE(aba_ok("021000021"));
  EXPECT_FALSE(aba_ok("021000022"));
  EXPECT_TRUE(verhoeff_ok("2363"));
  EXPECT_FALSE(verhoeff_ok("2364"));
  EXPECT_TRUE(npi_ok("1234567893"));
  EXPECT_FALSE(npi_ok("1234567894"));
  EXPECT_TRUE(dea_ok("AB1234563"));
  EXPECT_FALSE(dea_ok("AB1234564"));
  EXPECT_FALSE(sin_ok("046 454 286"));  // ESDC's specimen: Luhn-valid, but 0 is never issued
  EXPECT_TRUE(luhn2("046454286"));
  EXPECT_TRUE(sin_ok("123 456 782"));
  EXPECT_FALSE(sin_ok("123 456 783"));
  EXPECT_TRUE(itin_ok("912-70-1234"));
  EXPECT_FALSE(itin_ok("912-40-1234"));
  EXPECT_TRUE(nino_ok("AB 12 34 56 C"));
  EXPECT_FALSE(nino_ok("GB123456A"));
  EXPECT_TRUE(pan_ok("ABCPE1234F"));
  EXPECT_FALSE(pan_ok("ABCXE1234F"));
  EXPECT_TRUE(nanp_ok("(415) 555-2671"));
  EXPECT_FALSE(nanp_ok("(115) 555-2671"));
  // The second implementations agree on the same vectors.
  EXPECT_TRUE(iban2("GB82 WEST 1234 5698 7654 32"));
  EXPECT_TRUE(aba2("021000021"));
  EXPECT_TRUE(verhoeff2("2363"));
  EXPECT_TRUE(npi2("1234567893"));
  EXPECT_TRUE(dea2("AB1234563"));
  EXPECT_EQ(numeric_lookalikes("SSN 123-45-6789 and card 4111 1111 1111 1111"),
            (std::set<std::string>{"us_ssn", "credit_card"}));
  EXPECT_TRUE(numeric_lookalikes("B4111111111111111 x1234567893").empty());  // glued to letters
}

TEST(testgen_labelled, MakeLuhnNumberKeepsPrefixAndLength) {
  std::mt19937_64 rng(5);
  for (std::size_t len : {14u, 16u, 19u}) {
    for (int k = 0; k < 50; ++k) {
      const std::string n = make_luhn_number(rng, "3528", len);
      EXPECT_EQ(n.size(), len);
      EXPECT_EQ(n.substr(0, 4), "3528");
      EXPECT_TRUE(luhn2(n)) << n;
    }
  }
  EXPECT_THROW(make_luhn_number(rng, "1234", 4), std::invalid_argument);
}

TEST(testgen_labelled, SameSeedSameCorpusOtherSeedDiffers) {
  const auto a = labelled_corpus(99, 3), b = labelled_corpus(99, 3), c = labelled_corpus(100, 3);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(a.size(), c.size());
  std::size_t differ = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].text, b[i].text);
    EXPECT_EQ(a[i].value, b[i].value);
    EXPECT_EQ(a[i].expect, b[i].expect);
    differ += a[i].text != c[i].text;
  }
  EXPECT_GT(differ, a.size() * 9 / 10);
}

TEST(testgen_labelled, EveryIssueCategoryBrandAndEncoding) {
  const std::set<std::string> kIssue = {
      "credit_card", "track_data", "us_ssn", "us_itin", "us_phone", "email", "date_of_birth", "uk_nino",
      "ca_sin", "iban", "swift_bic", "aba_routing", "in_pan", "in_aadhaar", "passport", "us_npi",
      "dea_number", "icd10", "aws_access_key", "aws_secret_key", "gcp_service_account",
      "azure_storage_key", "github_token", "gitlab_token", "slack_token", "stripe_key", "twilio",
      "sendgrid_key", "npm_token", "jwt", "private_key", "password", "confidential_marker", "slack_webhook"};
  EXPECT_EQ(std::set<std::string>(labelled_categories().begin(), labelled_categories().end()), kIssue);
  std::map<std::string, std::size_t> count;
  std::map<std::string, std::set<std::string>> encodings;
  std::set<std::string> brands, ibans, neg_kinds;
  for (const auto& c : corpus()) {
    if (!c.expect) {
      neg_kinds.insert(c.id.substr(0, c.id.find('.', 4)));
      continue;
    }
    ++count[c.category];
    encodings[c.category].insert(c.encoding);
    const std::string variant = c.id.substr(c.category.size() + 1, c.id.find('.', c.category.size() + 1) - c.category.size() - 1);
    if (c.category == "credit_card") brands.insert(variant);
    if (c.category == "iban") ibans.insert(variant);
  }
  for (const std::string& cat : kIssue) {
    EXPECT_EQ(count[cat], cat == "credit_card" ? kPer * 8 : kPer) << cat;
    std::set<std::string> want = {"fullwidth", "zero_width", "utf16le", "utf16be", "html_entity"};
    want.insert(cat == "date_of_birth" || cat == "passport" || cat == "icd10" ? "context" : "plain");
    for (const char* g : {"credit_card", "us_ssn", "us_itin", "uk_nino", "ca_sin", "iban", "in_aadhaar"})
      if (cat == g) want.insert("grouped");
    EXPECT_EQ(encodings[cat], want) << cat;
  }
  EXPECT_EQ(brands, (std::set<std::string>{"visa", "mastercard", "mastercard2", "amex", "discover", "jcb", "diners", "unionpay"}));
  EXPECT_EQ(ibans.size(), 14u);  // kPer = 14 cases cycle through 14 of the 16 registry countries
  EXPECT_EQ(neg_kinds.size(), 29u);
  for (const char* k : {"neg.order_number", "neg.uuid", "neg.timestamp", "neg.tracking_number", "neg.luhn_invalid",
                        "neg.ssa_invalid_ssn", "neg.iban_bad_check", "neg.base64_blob", "neg.hex_hash", "neg.random_id",
                        "neg.phone_no_context", "neg.date_no_context", "neg.env_password", "neg.sri_integrity",
                        "neg.token_bad_checksum"})
    EXPECT_TRUE(neg_kinds.count(k)) << k;
}

TEST(testgen_labelled, PositivesPassTheirChecksumDecoysFailIt) {
  std::size_t checked_pos = 0, checked_neg = 0;
  std::set<std::string> ids;
  for (const auto& c : corpus()) {
    EXPECT_TRUE(ids.insert(c.id).second) << "duplicate id " << c.id;
    ASSERT_NE(c.plain.find(c.value), std::string::npos) << c.id;
    if (c.expect) {
      EXPECT_FALSE(c.category.empty()) << c.id;
      EXPECT_TRUE(c.decoy_of.empty()) << c.id;
      const int ref = check2(c.category, c.value);
      const auto own = value_checksum_ok(c.category, c.value);
      if (ref != -1) {
        EXPECT_EQ(ref, 1) << c.id << " value " << c.value;
        ASSERT_TRUE(own.has_value()) << c.id;
        EXPECT_TRUE(*own) << c.id;
        ++checked_pos;
      }
      if (c.category == "github_token" && c.value.rfind("gh", 0) == 0 && c.value.size() == 40) {
        EXPECT_TRUE(github_classic_ok(c.value)) << c.id;
      }
    } else {
      EXPECT_TRUE(c.category.empty()) << c.id;
      EXPECT_TRUE(c.also.empty()) << c.id;
      EXPECT_TRUE(numeric_lookalikes(c.plain).empty()) << c.id;
      const int ref = check2(c.decoy_of, c.value);
      // Phone and BIC decoys are well-formed values that lack their context words.
      if (ref != -1 && c.decoy_of != "us_phone" && c.decoy_of != "swift_bic") {
        EXPECT_EQ(ref, 0) << c.id << " value " << c.value;
        EXPECT_FALSE(value_checksum_ok(c.decoy_of, c.value).value_or(true)) << c.id;
        ++checked_neg;
      }
    }
  }
  // 14 checked categories (credit_card x8); 13 decoy kinds imitate a checksummed value.
  EXPECT_EQ(checked_pos, kPer * (13 + 8));
  EXPECT_EQ(checked_neg, kPer * 13);
}

TEST(testgen_labelled, EncodingsDecodeBackToThePlainText) {
  std::map<std::string, std::size_t> seen;
  for (const auto& c : corpus()) {
    ++seen[c.encoding];
    EXPECT_EQ(decode(c), c.plain) << c.id;
    EXPECT_EQ(needs_normaliser(c.encoding), c.text != c.plain) << c.id;
    if (c.encoding == "fullwidth") {
      EXPECT_TRUE(c.text.find("\xEF\xBC") != std::string::npos || c.text.find("\xEF\xBD") != std::string::npos) << c.id;
      EXPECT_EQ(c.text.find(c.value), std::string::npos) << c.id;
    }
    if (c.encoding == "zero_width") {
      EXPECT_TRUE(c.text.find("\xE2\x80\x8B") != std::string::npos || c.text.find("\xE2\x80\x8D") != std::string::npos) << c.id;
      EXPECT_EQ(c.text.find(c.value), std::string::npos) << c.id;
    }
    if (c.encoding == "html_entity") {
      EXPECT_TRUE(std::regex_search(c.text, std::regex("&#x?[0-9A-F]+;"))) << c.id;
    }
    if (c.encoding == "utf16le") {
      EXPECT_EQ(c.text.substr(0, 2), "\xFF\xFE") << c.id;
    }
    if (c.encoding == "utf16be") {
      EXPECT_EQ(c.text.substr(0, 2), "\xFE\xFF") << c.id;
    }
  }
  for (const char* e : {"plain", "grouped", "fullwidth", "zero_width", "utf16le", "utf16be", "html_entity", "context", "no_context"})
    EXPECT_GT(seen[e], 0u) << e;
}

TEST(testgen_labelled, LabelsAreUnambiguous) {
  for (const auto& c : corpus()) {
    if (!c.expect) continue;
    for (const std::string& l : numeric_lookalikes(c.plain))
      EXPECT_TRUE(l == c.category || std::find(c.also.begin(), c.also.end(), l) != c.also.end()) << c.id << " " << l;
  }
}

TEST(testgen_labelled, NoContextDecoysCarryNoContextWords) {
  const std::map<std::string, std::vector<std::string>> kWords = {
      {"date_of_birth", {"dob", "birth", "born"}},
      {"passport", {"passport", "travel document"}},
      {"icd10", {"diagnos", "icd", "dx", "condition"}},
      {"us_phone", {"phone", "tel", "mobile", "cell", "call", "fax"}}};
  std::size_t n = 0;
  for (const auto& c : corpus()) {
    if (c.expect || !kWords.count(c.decoy_of)) continue;
    std::string low = c.plain;
    std::transform(low.begin(), low.end(), low.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    for (const std::string& w : kWords.at(c.decoy_of)) EXPECT_EQ(low.find(w), std::string::npos) << c.id << " has '" << w << "'";
    ++n;
  }
  EXPECT_EQ(n, kPer * 5);  // timestamps, dates, phones, passports, ICD-10 codes without context
}

TEST(testgen_labelled, EvaluateCountsExactly) {
  std::vector<LabelledCase> cs(5);
  cs[0] = {"a", "credit_card", "t0", "v", "plain", true, "t0", {}, ""};
  cs[1] = {"b", "credit_card", "t1", "v", "plain", true, "t1", {}, ""};
  cs[2] = {"c", "track_data", "t2", "v", "plain", true, "t2", {"credit_card"}, ""};
  cs[3] = {"d", "", "t3", "v", "plain", false, "t3", {}, "us_ssn"};
  cs[4] = {"e", "us_ssn", "t4", "v", "plain", true, "t4", {}, ""};
  const std::map<std::string, std::set<std::string>> found = {
      {"t0", {"credit_card"}}, {"t1", {"email"}}, {"t2", {"credit_card", "track_data"}},
      {"t3", {"us_ssn", "email"}}, {"t4", {"us_ssn"}}};
  const auto rows = evaluate(cs, [&](std::string_view t) { return found.at(std::string(t)); });
  ASSERT_EQ(rows.size(), 5u);  // credit_card, email, track_data, us_ssn, overall
  auto row = [&](const std::string& n) {
    for (const auto& r : rows)
      if (r.detector_or_category == n) return r;
    ADD_FAILURE() << n;
    return AccuracyRow{};
  };
  EXPECT_EQ(rows.back().detector_or_category, "overall");
  const AccuracyRow cc = row("credit_card"), em = row("email"), tr = row("track_data"), ss = row("us_ssn"), all = row("overall");
  EXPECT_EQ(std::tie(cc.tp, cc.fp, cc.fn), std::make_tuple(1ull, 0ull, 1ull));
  EXPECT_DOUBLE_EQ(cc.precision, 1.0);
  EXPECT_DOUBLE_EQ(cc.recall, 0.5);
  EXPECT_EQ(std::tie(em.tp, em.fp, em.fn), std::make_tuple(0ull, 2ull, 0ull));
  EXPECT_DOUBLE_EQ(em.precision, 0.0);
  EXPECT_DOUBLE_EQ(em.recall, 1.0);
  EXPECT_EQ(std::tie(tr.tp, tr.fp, tr.fn), std::make_tuple(1ull, 0ull, 0ull));
  EXPECT_EQ(std::tie(ss.tp, ss.fp, ss.fn), std::make_tuple(1ull, 1ull, 0ull));
  EXPECT_DOUBLE_EQ(ss.precision, 0.5);
  EXPECT_EQ(std::tie(all.tp, all.fp, all.fn), std::make_tuple(3ull, 3ull, 1ull));
  EXPECT_DOUBLE_EQ(all.recall, 0.75);
  const CaseOutcome o = judge(cs[3], {"us_ssn"});
  EXPECT_FALSE(o.tp);
  EXPECT_FALSE(o.fn);
  EXPECT_EQ(o.fp, (std::set<std::string>{"us_ssn"}));
  EXPECT_DOUBLE_EQ(accuracy_bar("iban"), 0.99);
  EXPECT_DOUBLE_EQ(accuracy_bar("jwt"), 0.95);
}

}  // namespace
}  // namespace dlp::testgen
