// Payload self-tests: Luhn/SSA/AWS properties checked with implementations written here
// again, HTTP framing, and that filler carries nothing a detector should fire on.
#include "tests/gen/payloads.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace dlp::testgen {
namespace {

// Second, textbook Luhn: sum from the right, doubling every second digit.
bool luhn_ref(const std::string& d) {
  int sum = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    int v = d[d.size() - 1 - i] - '0';
    if (i % 2 == 1) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
    sum += v;
  }
  return sum % 10 == 0;
}

bool ssa_ref(const std::string& s) {
  static const std::regex re(R"((\d{3})-(\d{2})-(\d{4}))");
  std::smatch m;
  if (!std::regex_match(s, m, re)) return false;
  const int area = std::stoi(m[1]), group = std::stoi(m[2]), serial = std::stoi(m[3]);
  return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

TEST(testgen_payloads, LuhnKnownAnswers) {
  EXPECT_TRUE(luhn_valid("4111111111111111"));
  EXPECT_TRUE(luhn_valid("4111 1111 1111 1111"));
  EXPECT_TRUE(luhn_valid("378282246310005"));
  EXPECT_TRUE(luhn_valid("5555-5555-5555-4444"));
  EXPECT_FALSE(luhn_valid("4111111111111112"));
  EXPECT_FALSE(luhn_valid("4111x111111111111"));
  EXPECT_FALSE(luhn_valid("0"));
  EXPECT_EQ(luhn_check_digit("411111111111111"), '1');
  EXPECT_EQ(luhn_check_digit("7992739871"), '3');  // the Wikipedia example 79927398713
}

TEST(testgen_payloads, CardsPerBrandAreValidAndDecoysAreNot) {
  std::mt19937_64 rng(7);
  for (CardBrand brand : kAllCardBrands) {
    std::set<std::string> seen;
    for (int i = 0; i < 500; ++i) {
      const std::string c = make_card(rng, brand);
      seen.insert(c);
      ASSERT_EQ(c.size(), brand == CardBrand::kAmex ? 15u : 16u) << c;
      ASSERT_TRUE(luhn_ref(c)) << c;
      ASSERT_TRUE(luhn_valid(c)) << c;
      ASSERT_TRUE(card_matches_brand(c, brand)) << c;
      const int p2 = std::stoi(c.substr(0, 2)), p3 = std::stoi(c.substr(0, 3)), p4 = std::stoi(c.substr(0, 4));
      switch (brand) {
        case CardBrand::kVisa: ASSERT_EQ(c[0], '4'); break;
        case CardBrand::kMastercard: ASSERT_TRUE(p2 >= 51 && p2 <= 55) << c; break;
        case CardBrand::kMastercard2: ASSERT_TRUE(p4 >= 2221 && p4 <= 2720) << c; break;
        case CardBrand::kAmex: ASSERT_TRUE(p2 == 34 || p2 == 37) << c; break;
        case CardBrand::kDiscover:
          ASSERT_TRUE(p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65) << c;
          break;
      }
      const std::string bad = make_luhn_invalid_card(rng, brand);
      ASSERT_FALSE(luhn_ref(bad)) << bad;
      ASSERT_FALSE(luhn_valid(bad)) << bad;
      ASSERT_TRUE(card_matches_brand(bad, brand)) << bad;
    }
    EXPECT_GT(seen.size(), 490u) << "values vary";
  }
  EXPECT_EQ(format_card("378282246310005", '-'), "3782-822463-10005");
  EXPECT_EQ(format_card("4111111111111111"), "4111 1111 1111 1111");
}

TEST(testgen_payloads, SameSeedSameValues) {
  std::mt19937_64 a(99), b(99), c(100);
  EXPECT_EQ(make_card(a, CardBrand::kVisa), make_card(b, CardBrand::kVisa));
  EXPECT_EQ(make_ssn(a), make_ssn(b));
  EXPECT_NE(make_aws_key_id(a), make_aws_key_id(c));
}

TEST(testgen_payloads, SsnRules) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 2000; ++i) {
    const std::string s = make_ssn(rng);
    ASSERT_TRUE(ssa_ref(s)) << s;
    ASSERT_TRUE(ssn_valid(s)) << s;
  }
  for (SsnDefect d : kAllSsnDefects) {
    for (int i = 0; i < 200; ++i) {
      const std::string s = make_invalid_ssn(rng, d);
      ASSERT_TRUE(std::regex_match(s, std::regex(R"(\d{3}-\d{2}-\d{4})"))) << s;
      ASSERT_FALSE(ssa_ref(s)) << s;
      ASSERT_FALSE(ssn_valid(s)) << s;
      switch (d) {
        case SsnDefect::kArea000: ASSERT_EQ(s.substr(0, 3), "000"); break;
        case SsnDefect::kArea666: ASSERT_EQ(s.substr(0, 3), "666"); break;
        case SsnDefect::kArea9xx: ASSERT_EQ(s[0], '9'); break;
        case SsnDefect::kGroup00: ASSERT_EQ(s.substr(4, 2), "00"); break;
        case SsnDefect::kSerial0000: ASSERT_EQ(s.substr(7), "0000"); break;
      }
    }
  }
  EXPECT_FALSE(ssn_valid("123456789"));
  EXPECT_FALSE(ssn_valid("12a-45-6789"));
  EXPECT_TRUE(ssn_valid("123-45-6789"));
}

TEST(testgen_payloads, AwsKeyIds) {
  std::mt19937_64 rng(3);
  const std::regex re("AKIA[A-Z2-7]{16}");
  for (int i = 0; i < 500; ++i) {
    const std::string k = make_aws_key_id(rng);
    ASSERT_TRUE(std::regex_match(k, re)) << k;
    ASSERT_TRUE(aws_key_id_valid(k));
  }
  EXPECT_FALSE(aws_key_id_valid("AKIA0000000000000000"));
  EXPECT_FALSE(aws_key_id_valid("ASIAABCDEFGHIJKLMNOP"));
}

TEST(testgen_payloads, FillerIsCleanAndRealistic) {
  std::mt19937_64 rng(5);
  const std::regex ssn_shape(R"((^|[^0-9])(\d{3}-\d{2}-\d{4})([^0-9]|$))");
  const std::regex digit_run(R"(\d{13,19})");
  for (int i = 0; i < 40; ++i) {
    const std::string t = benign_text(rng, 4000);
    const std::string j = benign_json(rng, 3000);
    const std::string f = benign_form(rng, 12);
    for (const std::string* s : {&t, &j, &f}) {
      ASSERT_FALSE(contains_sensitive(*s));
      ASSERT_EQ(s->find("AKIA"), std::string::npos);
      for (std::sregex_iterator it(s->begin(), s->end(), ssn_shape), end; it != end; ++it)
        ASSERT_FALSE(ssa_ref((*it)[2])) << (*it)[2];
      for (std::sregex_iterator it(s->begin(), s->end(), digit_run), end; it != end; ++it)
        ASSERT_FALSE(luhn_ref(it->str())) << it->str();
    }
    EXPECT_GE(t.size(), 4000u);
    EXPECT_LT(t.size(), 4200u);
    EXPECT_GE(j.size(), 2900u);
    EXPECT_EQ(j.front(), '{');
    EXPECT_EQ(j.back(), '}');
  }
  // The filler does carry the look-alikes it promises.
  const std::string big = benign_text(rng, 60000);
  EXPECT_TRUE(std::regex_search(big, std::regex(R"(order #\d{8})")));
  EXPECT_TRUE(std::regex_search(big, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)")));
  EXPECT_TRUE(std::regex_search(big, std::regex(R"(\(\d{3}\) 555-\d{4})")));
  EXPECT_TRUE(std::regex_search(big, std::regex(R"(tracking 9\d{15})")));
}

TEST(testgen_payloads, ContainsSensitiveDetectsPlantedValues) {
  std::mt19937_64 rng(8);
  EXPECT_TRUE(contains_sensitive("pay with " + make_card(rng, CardBrand::kAmex) + " today"));
  EXPECT_TRUE(contains_sensitive("card 4111 1111 1111 1111 ok"));
  EXPECT_TRUE(contains_sensitive("ssn " + make_ssn(rng) + "."));
  EXPECT_TRUE(contains_sensitive("key=" + make_aws_key_id(rng)));
  EXPECT_FALSE(contains_sensitive("ssn 666-12-3456 and 123-00-4567"));
  EXPECT_FALSE(contains_sensitive("order #12345678 at 2024-03-04T09:00:00Z call +1 (201) 555-0101"));
}

TEST(testgen_payloads, HttpRequestsAndChunking) {
  const std::string body = "name=alice&x=" + std::string(100, 'z');
  const std::string post = http_post("shop.example", "/checkout", body);
  EXPECT_EQ(post.rfind("POST /checkout HTTP/1.1\r\nHost: shop.example\r\n", 0), 0u);
  EXPECT_NE(post.find("\r\nUser-Agent: Mozilla/5.0"), std::string::npos);
  EXPECT_NE(post.find("\r\nContent-Type: application/x-www-form-urlencoded\r\n"), std::string::npos);
  EXPECT_NE(post.find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos);
  const std::size_t hdr_end = post.find("\r\n\r\n");
  ASSERT_NE(hdr_end, std::string::npos);
  EXPECT_EQ(post.substr(hdr_end + 4), body);

  const std::string chunked = http_post("h", "/u", body, "text/plain", true, 30);
  EXPECT_NE(chunked.find("\r\nTransfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_EQ(chunked.find("Content-Length"), std::string::npos);
  // Decode the chunked body independently.
  std::string rest = chunked.substr(chunked.find("\r\n\r\n") + 4), decoded;
  std::size_t chunks = 0;
  for (;;) {
    const std::size_t eol = rest.find("\r\n");
    ASSERT_NE(eol, std::string::npos);
    const std::size_t n = std::stoul(rest.substr(0, eol), nullptr, 16);
    if (n == 0) {
      EXPECT_EQ(rest.substr(eol), "\r\n\r\n");
      break;
    }
    decoded += rest.substr(eol + 2, n);
    EXPECT_EQ(rest.substr(eol + 2 + n, 2), "\r\n");
    rest = rest.substr(eol + 4 + n);
    ++chunks;
  }
  EXPECT_EQ(decoded, body);
  EXPECT_EQ(chunks, (body.size() + 29) / 30);
  EXPECT_EQ(chunked_encode("abc", 16), "3\r\nabc\r\n0\r\n\r\n");

  const std::string get = http_get("www.example", "/a?b=1");
  EXPECT_EQ(get.rfind("GET /a?b=1 HTTP/1.1\r\nHost: www.example\r\n", 0), 0u);
  EXPECT_EQ(get.substr(get.size() - 4), "\r\n\r\n");
  const std::string resp = http_response(404, "gone");
  EXPECT_EQ(resp.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
  EXPECT_NE(resp.find("\r\nContent-Length: 4\r\n"), std::string::npos);
  EXPECT_EQ(resp.substr(resp.size() - 8), "\r\n\r\ngone");
  EXPECT_EQ(form_urlencode({{"a b", "x&y=z"}, {"k", "4111-1111"}}), "a+b=x%26y%3Dz&k=4111-1111");
}

}  // namespace
}  // namespace dlp::testgen
