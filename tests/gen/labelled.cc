// The labelled corpus: see labelled.h. Check-digit algorithms from their specifications:
// Luhn (ISO/IEC 7812-1), IBAN mod-97 (ISO 13616, lengths from the SWIFT IBAN registry),
// ABA routing 3-7-1 weights (ABA Key to Routing Numbers), Verhoeff (Aadhaar, UIDAI), NPI
// Luhn with the 80840 card-issuer prefix (CMS NPI check-digit spec), DEA registration check
// digit, Canadian SIN Luhn (ESDC), SSA and IRS ITIN group ranges, HMRC NINO prefix rules,
// India PAN entity letters, NANP NPA/NXX rules, GitHub token CRC32/base62 checksum.
#include "tests/gen/labelled.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "tests/gen/payloads.h"

namespace dlp::testgen {
namespace {

using Rng = std::mt19937_64;

constexpr std::string_view kDigits = "0123456789";
constexpr std::string_view kUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
constexpr std::string_view kAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kLowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kHex = "0123456789abcdef";
constexpr std::string_view kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kB64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kBase32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view kBase62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

int uni(Rng& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
template <class C>
const auto& pick(Rng& rng, const C& items) {
  return items[static_cast<std::size_t>(uni(rng, 0, static_cast<int>(std::size(items)) - 1))];
}
std::string from(Rng& rng, std::string_view alphabet, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += alphabet[static_cast<std::size_t>(uni(rng, 0, static_cast<int>(alphabet.size()) - 1))];
  return s;
}
std::string pad(int v, int width) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%0*d", width, v);
  return buf;
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
std::string digits_of(std::string_view s) {
  std::string d;
  for (char c : s)
    if (is_digit(c)) d += c;
  return d;
}
std::string strip_spaces(std::string_view s) {
  std::string d;
  for (char c : s)
    if (c != ' ' && c != '-') d += c;
  return d;
}
std::string replace_all(std::string s, std::string_view from_, std::string_view to) {
  for (std::size_t p = s.find(from_); p != std::string::npos; p = s.find(from_, p + to.size()))
    s.replace(p, from_.size(), to);
  return s;
}
std::string fill(std::string_view tmpl, std::string_view v) { return replace_all(std::string(tmpl), "{v}", v); }
std::string group(std::string_view d, std::initializer_list<std::size_t> sizes, char sep) {
  std::string out;
  std::size_t off = 0;
  for (std::size_t g : sizes) {
    if (off >= d.size()) break;
    if (off) out += sep;
    out.append(d.substr(off, g));
    off += g;
  }
  if (off < d.size()) out.append(d.substr(off));
  return out;
}

// ---- filler: words no detector keys on (no digits, no context keywords) ----
constexpr std::array<std::string_view, 40> kWords = {
    "the", "quarterly", "report", "shipment", "was", "approved", "by", "the", "team", "please",
    "review", "attached", "draft", "before", "friday", "meeting", "notes", "budget", "update",
    "warehouse", "delivery", "schedule", "customer", "follow", "up", "with", "vendor", "on",
    "project", "status", "for", "next", "week", "and", "new", "office", "plan", "summary",
    "agenda", "migration"};
constexpr std::array<std::string_view, 10> kFirst = {"Olivia", "Liam", "Emma", "Noah", "Ava",
                                                     "Mason", "Sophia", "Lucas", "Mia", "Ethan"};
constexpr std::array<std::string_view, 8> kLast = {"Smith", "Jones", "Garcia", "Miller",
                                                   "Davis", "Wilson", "Moore", "Taylor"};
std::string sentence(Rng& rng) {
  std::string s;
  const int n = uni(rng, 5, 12);
  for (int i = 0; i < n; ++i) {
    std::string w(pick(rng, kWords));
    if (i == 0) w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
    if (i) s += ' ';
    s += w;
  }
  return s + ".";
}
// Surround a snippet with realistic text: prose, an e-mail body, or a log line.
std::string frame(Rng& rng, std::string_view snippet) {
  switch (uni(rng, 0, 2)) {
    case 0: return sentence(rng) + "\n" + std::string(snippet) + "\n" + sentence(rng) + "\n";
    case 1:
      return "Hi " + std::string(pick(rng, kFirst)) + ",\n\n" + sentence(rng) + "\n" +
             std::string(snippet) + "\n\nThanks,\n" + std::string(pick(rng, kFirst)) + "\n";
    default:
      // Time of day only: a date here would sit next to a positive's context words (a
      // "DOB:" positive must be found by its own date, not by the log's).
      return pad(uni(rng, 0, 23), 2) + ":" + pad(uni(rng, 0, 59), 2) + ":" + pad(uni(rng, 0, 59), 2) + "." +
             pad(uni(rng, 0, 999), 3) + " INFO worker[" + std::to_string(uni(rng, 2, 64)) + "]: " +
             std::string(snippet) + "\n";
  }
}

// ---- check digits ----
constexpr int kVerD[10][10] = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
                               {2, 3, 4, 0, 1, 7, 8, 9, 5, 6}, {3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
                               {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
                               {6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
                               {8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}};
constexpr int kVerP[8][10] = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
                              {5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
                              {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
                              {2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8}};
constexpr int kVerInv[10] = {0, 4, 3, 2, 1, 5, 6, 7, 8, 9};
char verhoeff_digit(std::string_view d) {
  int c = 0;
  for (std::size_t i = 0; i < d.size(); ++i) c = kVerD[c][kVerP[(i + 1) % 8][d[d.size() - 1 - i] - '0']];
  return static_cast<char>('0' + kVerInv[c]);
}
char aba_digit(std::string_view d8) {
  const int s = 3 * (d8[0] - '0' + d8[3] - '0' + d8[6] - '0') + 7 * (d8[1] - '0' + d8[4] - '0' + d8[7] - '0') +
                (d8[2] - '0' + d8[5] - '0');
  return static_cast<char>('0' + (10 - s % 10) % 10);
}
char dea_digit(std::string_view d6) {
  const int s = (d6[0] - '0' + d6[2] - '0' + d6[4] - '0') + 2 * (d6[1] - '0' + d6[3] - '0' + d6[5] - '0');
  return static_cast<char>('0' + s % 10);
}
int mod97(std::string_view rearranged) {
  int m = 0;
  for (char c : rearranged) {
    if (is_digit(c)) {
      m = (m * 10 + (c - '0')) % 97;
    } else {
      const int v = std::toupper(static_cast<unsigned char>(c)) - 'A' + 10;
      m = (m * 100 + v) % 97;
    }
  }
  return m;
}
std::uint32_t crc32(std::string_view s) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}
std::string base62_6(std::uint32_t v) {
  std::string s;
  while (v) { s.insert(s.begin(), kBase62[v % 62]); v /= 62; }
  while (s.size() < 6) s.insert(s.begin(), '0');
  return s;
}

// IBAN registry: country, total length, BBAN layout (n digits, a upper letters, c upper alnum).
struct IbanCountry {
  std::string_view cc;
  std::size_t length;
  std::string_view bban;
};
constexpr std::array<IbanCountry, 16> kIban = {{{"DE", 22, "18n"},
                                                {"GB", 22, "4a14n"},
                                                {"FR", 27, "10n11c2n"},
                                                {"ES", 24, "20n"},
                                                {"IT", 27, "1a10n12c"},
                                                {"NL", 18, "4a10n"},
                                                {"BE", 16, "12n"},
                                                {"CH", 21, "5n12c"},
                                                {"AT", 20, "16n"},
                                                {"PL", 28, "24n"},
                                                {"SE", 24, "20n"},
                                                {"NO", 15, "11n"},
                                                {"IE", 22, "4a14n"},
                                                {"PT", 25, "21n"},
                                                {"SA", 24, "2n18c"},
                                                {"BR", 29, "23n1a1c"}}};
std::string make_bban(Rng& rng, std::string_view layout) {
  std::string out;
  std::size_t n = 0;
  for (char c : layout) {
    if (is_digit(c)) { n = n * 10 + static_cast<std::size_t>(c - '0'); continue; }
    out += from(rng, c == 'n' ? kDigits : c == 'a' ? kUpper : std::string_view("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), n);
    n = 0;
  }
  return out;
}
std::string iban_with_check(std::string_view cc, std::string_view bban, int check) {
  return std::string(cc) + pad(check, 2) + std::string(bban);
}
int iban_check(std::string_view cc, std::string_view bban) {
  return 98 - mod97(std::string(bban) + std::string(cc) + "00");
}

// ---- value generators ----
std::string make_aba(Rng& rng) {
  static constexpr std::array<int, 4> kLo = {1, 21, 61, 80}, kHi = {12, 32, 72, 80};
  const std::size_t r = static_cast<std::size_t>(uni(rng, 0, 3));
  std::string d = pad(uni(rng, kLo[r], kHi[r]), 2) + from(rng, kDigits, 6);
  return d + aba_digit(d);
}
std::string make_aadhaar(Rng& rng) {
  std::string d = std::to_string(uni(rng, 2, 9)) + from(rng, kDigits, 10);
  return d + verhoeff_digit(d);
}
std::string make_npi(Rng& rng) {
  std::string d = std::to_string(uni(rng, 1, 2)) + from(rng, kDigits, 8);
  const std::string full = make_luhn_number(rng, "80840" + d, 15);  // prefix fixed: only the check is random-free
  return d + full.back();
}
std::string make_dea(Rng& rng) {
  static constexpr std::string_view kFirstL = "ABFGM";
  std::string s(1, kFirstL[static_cast<std::size_t>(uni(rng, 0, 4))]);
  s += uni(rng, 0, 9) == 0 ? '9' : kUpper[static_cast<std::size_t>(uni(rng, 0, 25))];
  const std::string d = from(rng, kDigits, 6);
  return s + d + dea_digit(d);
}
std::string make_sin(Rng& rng) {
  static constexpr std::array<int, 8> kFirstD = {1, 2, 3, 4, 5, 6, 7, 9};
  return make_luhn_number(rng, std::to_string(pick(rng, kFirstD)), 9);
}
std::string make_itin(Rng& rng) {
  static constexpr std::array<std::pair<int, int>, 5> kGroups = {{{50, 65}, {70, 88}, {90, 92}, {94, 99}, {70, 88}}};
  const auto& g = pick(rng, kGroups);
  return "9" + from(rng, kDigits, 2) + "-" + pad(uni(rng, g.first, g.second), 2) + "-" + pad(uni(rng, 1, 9999), 4);
}
constexpr std::string_view kNinoFirst = "ABCEGHJKLMNOPRSTWXYZ";
constexpr std::string_view kNinoSecond = "ABCEGHJKLMNPRSTWXYZ";
std::string make_nino(Rng& rng) {
  for (;;) {
    std::string p{kNinoFirst[static_cast<std::size_t>(uni(rng, 0, static_cast<int>(kNinoFirst.size()) - 1))],
                  kNinoSecond[static_cast<std::size_t>(uni(rng, 0, static_cast<int>(kNinoSecond.size()) - 1))]};
    if (p == "BG" || p == "GB" || p == "KN" || p == "NK" || p == "NT" || p == "TN" || p == "ZZ") continue;
    return p + from(rng, kDigits, 6) + std::string(1, "ABCD"[uni(rng, 0, 3)]);
  }
}
constexpr std::string_view kPanEntity = "ABCFGHLJPT";
std::string make_pan(Rng& rng) {
  return from(rng, kUpper, 3) + std::string(1, uni(rng, 0, 2) ? 'P' : kPanEntity[static_cast<std::size_t>(uni(rng, 0, 9))]) +
         from(rng, kUpper, 1) + from(rng, kDigits, 4) + from(rng, kUpper, 1);
}
std::string make_nanp(Rng& rng) {
  for (;;) {
    const int a = uni(rng, 2, 9), b = uni(rng, 0, 8), c = uni(rng, 0, 9);
    if (b == 1 && c == 1) continue;
    const int x = uni(rng, 2, 9), y = uni(rng, 0, 9), z = uni(rng, 0, 9);
    if (y == 1 && z == 1) continue;
    return std::to_string(a * 100 + b * 10 + c) + std::to_string(x * 100 + y * 10 + z) + from(rng, kDigits, 4);
  }
}
std::string github_classic(Rng& rng, std::string_view prefix) {
  const std::string body = from(rng, kAlnum, 30);
  return std::string(prefix) + body + base62_6(crc32(body));
}
std::string base64_lines(Rng& rng, std::size_t chars, std::size_t width, std::string_view nl) {
  std::string s;
  for (std::size_t i = 0; i < chars; ++i) {
    if (i && i % width == 0) s += nl;
    s += kB64[static_cast<std::size_t>(uni(rng, 0, 63))];
  }
  return s;
}
std::string b64url(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += kB64Url[(v >> k) & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kB64Url[(v >> 18) & 63];
    out += kB64Url[(v >> 12) & 63];
  } else if (i + 2 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8;
    out += kB64Url[(v >> 18) & 63];
    out += kB64Url[(v >> 12) & 63];
    out += kB64Url[(v >> 6) & 63];
  }
  return out;
}
std::string high_entropy_secret(Rng& rng) {
  static constexpr std::string_view kChars =
      "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%^*_+=-";
  for (;;) {
    std::string s = from(rng, kChars, static_cast<std::size_t>(uni(rng, 16, 28)));
    int classes[4] = {0, 0, 0, 0};
    for (char c : s) {
      if (std::isupper(static_cast<unsigned char>(c))) classes[0] = 1;
      else if (std::islower(static_cast<unsigned char>(c))) classes[1] = 1;
      else if (is_digit(c)) classes[2] = 1;
      else classes[3] = 1;
    }
    if (classes[0] + classes[1] + classes[2] + classes[3] == 4) return s;
  }
}
constexpr int kDobFormats = 7;
std::string dob_string(int year, int month, int day, int fmt) {
  static constexpr std::array<std::string_view, 12> kMonths = {"January", "February", "March", "April", "May", "June",
                                                               "July", "August", "September", "October", "November", "December"};
  const std::string name(kMonths[static_cast<std::size_t>(month - 1)]);
  static constexpr std::array<std::string_view, 4> kOrdinal = {"th", "st", "nd", "rd"};
  const std::string_view ordinal = (day % 10 <= 3 && day / 10 != 1) ? kOrdinal[static_cast<std::size_t>(day % 10)] : "th";
  switch (fmt % kDobFormats) {
    case 0: return pad(month, 2) + "/" + pad(day, 2) + "/" + std::to_string(year);
    case 1: return std::to_string(year) + "-" + pad(month, 2) + "-" + pad(day, 2);
    case 2: return pad(day, 2) + "." + pad(month, 2) + "." + std::to_string(year);
    case 3: return name + " " + std::to_string(day) + ", " + std::to_string(year);
    case 4: return std::to_string(day) + " " + name.substr(0, 3) + " " + std::to_string(year);
    // DD-MON-YYYY, as Oracle and spreadsheet exports print dates.
    case 5: return pad(day, 2) + "-" + name.substr(0, 3) + "-" + std::to_string(year);
    default: return std::to_string(day) + std::string(ordinal) + " " + name + " " + std::to_string(year);
  }
}
constexpr std::array<std::string_view, 20> kIcd10 = {
    "E11.9", "I10", "J45.909", "F32.9", "M54.5", "Z00.00", "K21.9", "R51.9", "E78.5", "N39.0",
    "G43.909", "F41.1", "J06.9", "I25.10", "E03.9", "M17.11", "C50.911", "S52.501A", "O80", "L40.0"};

// ---- categories ----
struct Planted {
  std::string value;    // as written in the text
  std::string snippet;  // the value in its sentence / assignment / block
  std::vector<std::string> also;
  std::string variant;
};
using PosGen = Planted (*)(Rng&, bool grouped, std::size_t i);

struct CategorySpec {
  std::string_view category;
  bool groupable;    // has a distinct "grouped" written form
  bool context;      // detector needs context words: positives labelled "context"
  PosGen gen;
};

Planted card_case(Rng& rng, bool grouped, std::size_t i) {
  static constexpr std::array<std::string_view, 8> kBrands = {"visa", "mastercard", "mastercard2", "amex",
                                                              "discover", "jcb", "diners", "unionpay"};
  const std::string_view brand = kBrands[i % kBrands.size()];
  std::string d;
  if (brand == "visa") d = make_card(rng, CardBrand::kVisa);
  else if (brand == "mastercard") d = make_card(rng, CardBrand::kMastercard);
  else if (brand == "mastercard2") d = make_card(rng, CardBrand::kMastercard2);
  else if (brand == "amex") d = make_card(rng, CardBrand::kAmex);
  else if (brand == "discover") d = make_card(rng, CardBrand::kDiscover);
  else if (brand == "jcb") d = make_luhn_number(rng, std::to_string(uni(rng, 3528, 3589)), 16);
  else if (brand == "diners") d = make_luhn_number(rng, uni(rng, 0, 1) ? "36" : std::to_string(uni(rng, 300, 305)), 14);
  else d = make_luhn_number(rng, std::to_string(uni(rng, 622126, 622925)), grouped ? 16 : static_cast<std::size_t>(uni(rng, 16, 19)));
  std::string v = d;
  if (grouped) {
    const char sep = uni(rng, 0, 1) ? ' ' : '-';
    if (d.size() == 15) v = group(d, {4, 6, 5}, sep);
    else if (d.size() == 14) v = group(d, {4, 6, 4}, sep);
    else v = group(d, {4, 4, 4, 4}, sep);
  }
  static constexpr std::array<std::string_view, 5> kT = {
      "Card number: {v}", "Please charge {v} for the renewal, expiry 09/27.", "cc_number={v}&cvv=",
      "\"pan\": \"{v}\"", "{v}"};
  return {v, fill(pick(rng, kT), v), {}, std::string(brand)};
}
Planted track_case(Rng& rng, bool, std::size_t i) {
  const std::string pan = make_card(rng, i % 2 ? CardBrand::kMastercard : CardBrand::kVisa);
  const std::string exp = pad(uni(rng, 25, 31), 2) + pad(uni(rng, 1, 12), 2);
  const std::string svc = uni(rng, 0, 1) ? "101" : "201";
  std::string v;
  std::string variant;
  if (i % 2 == 0) {
    std::string name = std::string(pick(rng, kLast)) + "/" + std::string(pick(rng, kFirst));
    std::transform(name.begin(), name.end(), name.begin(), [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
    v = "%B" + pan + "^" + name + "^" + exp + svc + from(rng, kDigits, 13) + "?";
    variant = "track1";
  } else {
    v = ";" + pan + "=" + exp + svc + from(rng, kDigits, 10) + "?";
    variant = "track2";
  }
  static constexpr std::array<std::string_view, 3> kT = {"swipe data: {v}", "POS dump {v}", "{v}"};
  return {v, fill(pick(rng, kT), v), {"credit_card"}, variant};
}
Planted ssn_case(Rng& rng, bool grouped, std::size_t) {
  std::string v = make_ssn(rng);
  if (grouped) v = replace_all(v, "-", " ");
  static constexpr std::array<std::string_view, 4> kT = {"SSN: {v}", "Social Security Number {v}", "ssn={v}", "employee {v} on file"};
  return {v, fill(pick(rng, kT), v), {}, grouped ? "spaced" : "dashed"};
}
Planted itin_case(Rng& rng, bool grouped, std::size_t) {
  std::string v = make_itin(rng);
  if (grouped) v = replace_all(v, "-", " ");
  static constexpr std::array<std::string_view, 3> kT = {"ITIN: {v}", "Individual Taxpayer Identification Number {v}", "taxpayer ITIN {v} attached"};
  return {v, fill(pick(rng, kT), v), {}, grouped ? "spaced" : "dashed"};
}
Planted phone_case(Rng& rng, bool, std::size_t i) {
  const std::string d = make_nanp(rng);
  std::string v;
  switch (i % 4) {
    case 0: v = "(" + d.substr(0, 3) + ") " + d.substr(3, 3) + "-" + d.substr(6); break;
    case 1: v = d.substr(0, 3) + "-" + d.substr(3, 3) + "-" + d.substr(6); break;
    case 2: v = "+1 " + d.substr(0, 3) + " " + d.substr(3, 3) + " " + d.substr(6); break;
    default: v = d.substr(0, 3) + "." + d.substr(3, 3) + "." + d.substr(6); break;
  }
  static constexpr std::array<std::string_view, 4> kT = {"Phone: {v}", "call me at {v} after lunch", "Mobile: {v}", "Tel. {v}"};
  return {v, fill(pick(rng, kT), v), {}, "fmt" + std::to_string(i % 4)};
}
// E-mail addresses are everywhere in traffic (every message has a From:); what a DLP
// policy is after is a list of them, so positives are contact lists of 6 to 10 addresses.
std::string email_address(Rng& rng, std::size_t k) {
  static constexpr std::array<std::string_view, 6> kDom = {"gmail.com", "outlook.com", "acme-corp.com", "contoso.org", "mail.fabrikam.co.uk", "yahoo.fr"};
  std::string f(pick(rng, kFirst)), l(pick(rng, kLast));
  std::transform(f.begin(), f.end(), f.begin(), [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  std::transform(l.begin(), l.end(), l.begin(), [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  std::string local;
  switch (k % 3) {
    case 0: local = f + "." + l; break;
    case 1: local = f.substr(0, 1) + "_" + l; break;
    default: local = f + "+" + std::string(pick(rng, kWords)); break;
  }
  return local + std::to_string(uni(rng, 1, 99)) + "@" + std::string(pick(rng, kDom));
}
Planted email_case(Rng& rng, bool, std::size_t i) {
  const int n = uni(rng, 6, 10);
  std::string v;
  switch (i % 3) {
    case 0:
      v = "To: ";
      for (int k = 0; k < n; ++k) v += (k ? ", " : "") + email_address(rng, static_cast<std::size_t>(k));
      break;
    case 1:
      v = "name,email\n";
      for (int k = 0; k < n; ++k) v += std::string(pick(rng, kFirst)) + " " + std::string(pick(rng, kLast)) + "," + email_address(rng, static_cast<std::size_t>(k)) + "\n";
      break;
    default:
      v = "[";
      for (int k = 0; k < n; ++k) v += std::string(k ? ", " : "") + "{\"email\": \"" + email_address(rng, static_cast<std::size_t>(k)) + "\"}";
      v += "]";
      break;
  }
  static constexpr std::array<std::string_view, 3> kT = {"{v}", "contact export attached:\n{v}", "{v}\n(mailing list for the offsite)"};
  static constexpr std::array<std::string_view, 3> kVariant = {"to_header", "csv", "json"};
  return {v, fill(pick(rng, kT), v), {}, std::string(kVariant[i % 3])};
}
// One birth date in an HR or CRM form is the business working; a set of them (an export,
// a patient list) is the leak. Positives are 3 to 6 records, each with its own context word.
Planted dob_case(Rng& rng, bool, std::size_t i) {
  const int n = uni(rng, 3, 6);
  const std::size_t layout = (i / 5) % 3;
  std::string v;
  for (int k = 0; k < n; ++k) {
    const int year = uni(rng, 1940, 2005), month = uni(rng, 1, 12), day = uni(rng, 1, 28);  // sequenced
    const std::string date = dob_string(year, month, day, static_cast<int>(i));
    const std::string who = std::string(pick(rng, kFirst)) + " " + std::string(pick(rng, kLast));
    if (k) v += "\n";
    switch (layout) {
      case 0: v += who + ", DOB: " + date; break;
      case 1: v += "{\"name\": \"" + who + "\", \"dob\": \"" + date + "\"}"; break;
      default: v += "patient " + who + " born " + date; break;
    }
  }
  static constexpr std::array<std::string_view, 3> kT = {"{v}", "HR export:\n{v}", "seen today:\n{v}"};
  return {v, fill(pick(rng, kT), v), {}, "fmt" + std::to_string(i % kDobFormats)};
}
Planted nino_case(Rng& rng, bool grouped, std::size_t) {
  const std::string n = make_nino(rng);
  const std::string v = grouped ? n.substr(0, 2) + " " + n.substr(2, 2) + " " + n.substr(4, 2) + " " + n.substr(6, 2) + " " + n.substr(8) : n;
  static constexpr std::array<std::string_view, 3> kT = {"NI number: {v}", "National Insurance No. {v}", "NINO {v}"};
  return {v, fill(pick(rng, kT), v), {}, grouped ? "spaced" : "compact"};
}
Planted sin_case(Rng& rng, bool grouped, std::size_t) {
  const std::string d = make_sin(rng);
  const std::string v = group(d, {3, 3, 3}, grouped ? ' ' : '-');
  static constexpr std::array<std::string_view, 3> kT = {"SIN: {v}", "Social Insurance Number {v}", "employee SIN {v} for payroll"};
  return {v, fill(pick(rng, kT), v), {}, grouped ? "spaced" : "dashed"};
}
Planted iban_case(Rng& rng, bool grouped, std::size_t i) {
  const IbanCountry& c = kIban[i % kIban.size()];
  const std::string bban = make_bban(rng, c.bban);
  const std::string e = iban_with_check(c.cc, bban, iban_check(c.cc, bban));
  std::string v = e;
  // Retyped by hand: every third case in lower case, and some grouped with dashes.
  const bool lower = (i / kIban.size()) % 3 == 1;
  if (grouped) {
    const char* sep = (i / kIban.size()) % 4 == 2 ? "-" : " ";
    v.clear();
    for (std::size_t k = 0; k < e.size(); k += 4) v += (k ? sep : "") + e.substr(k, 4);
  }
  if (lower) std::transform(v.begin(), v.end(), v.begin(), [](char ch) { return static_cast<char>(std::tolower(static_cast<unsigned char>(ch))); });
  static constexpr std::array<std::string_view, 3> kT = {"IBAN: {v}", "please wire the deposit to {v} by friday", "\"iban\": \"{v}\""};
  return {v, fill(pick(rng, kT), v), {}, std::string(c.cc)};
}
Planted bic_case(Rng& rng, bool, std::size_t i) {
  static constexpr std::array<std::string_view, 14> kCc = {"DE", "GB", "FR", "US", "CH", "NL", "IT", "ES", "JP", "SG", "HK", "AU", "CA", "IN"};
  // ISO 9362: location = 2 alnum, the second neither '0' (test BIC) nor 'O'; branch = "XXX"
  // (primary office) or 3 alnum not starting with 'X'.
  std::string v = from(rng, kUpper, 4) + std::string(pick(rng, kCc)) + from(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ23456789", 1) +
                  from(rng, "ABCDEFGHIJKLMNPQRSTUVWXYZ123456789", 1);
  if (i % 2)
    v += uni(rng, 0, 1) ? "XXX" : from(rng, "ABCDEFGHIJKLMNOPQRSTUVWYZ0123456789", 1) + from(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 2);
  static constexpr std::array<std::string_view, 3> kT = {"SWIFT/BIC: {v}", "BIC {v}", "SWIFT code: {v}"};
  return {v, fill(pick(rng, kT), v), {}, i % 2 ? "bic11" : "bic8"};
}
Planted aba_case(Rng& rng, bool, std::size_t) {
  const std::string v = make_aba(rng);
  static constexpr std::array<std::string_view, 3> kT = {"Routing number: {v}", "ABA {v}", "RTN: {v}"};
  return {v, fill(pick(rng, kT), v), {}, "aba"};
}
Planted pan_case(Rng& rng, bool, std::size_t) {
  const std::string v = make_pan(rng);
  static constexpr std::array<std::string_view, 3> kT = {"PAN: {v}", "PAN card no. {v}", "Permanent Account Number {v}"};
  return {v, fill(pick(rng, kT), v), {}, "pan"};
}
Planted aadhaar_case(Rng& rng, bool grouped, std::size_t) {
  const std::string d = make_aadhaar(rng);
  const std::string v = grouped ? group(d, {4, 4, 4}, ' ') : d;
  static constexpr std::array<std::string_view, 3> kT = {"Aadhaar: {v}", "Aadhaar No. {v}", "UIDAI number {v}"};
  return {v, fill(pick(rng, kT), v), {}, grouped ? "spaced" : "compact"};
}
Planted passport_case(Rng& rng, bool, std::size_t i) {
  std::string v = i % 2 ? std::string(1, kUpper[static_cast<std::size_t>(uni(rng, 0, 25))]) + from(rng, kDigits, 8)
                        : std::to_string(uni(rng, 1, 9)) + from(rng, kDigits, 8);
  static constexpr std::array<std::string_view, 3> kT = {"Passport No. {v}", "passport number: {v}", "Passport #{v}, expires 2031"};
  return {v, fill(pick(rng, kT), v), {}, i % 2 ? "letter8" : "digits9"};
}
Planted npi_case(Rng& rng, bool, std::size_t) {
  const std::string v = make_npi(rng);
  static constexpr std::array<std::string_view, 3> kT = {"NPI: {v}", "Provider NPI {v}", "rendering provider npi={v}"};
  return {v, fill(pick(rng, kT), v), {}, "npi"};
}
Planted dea_case(Rng& rng, bool, std::size_t) {
  const std::string v = make_dea(rng);
  static constexpr std::array<std::string_view, 3> kT = {"DEA# {v}", "DEA number: {v}", "prescriber DEA {v}"};
  return {v, fill(pick(rng, kT), v), {}, "dea"};
}
Planted icd_case(Rng& rng, bool, std::size_t) {
  const std::string v(pick(rng, kIcd10));
  static constexpr std::array<std::string_view, 3> kT = {"Diagnosis: {v}", "ICD-10 code {v}", "dx {v} (primary diagnosis)"};
  return {v, fill(pick(rng, kT), v), {}, "icd10"};
}
Planted aws_key_case(Rng& rng, bool, std::size_t i) {
  const std::string v = i % 3 == 2 ? "ASIA" + from(rng, kBase32, 16) : make_aws_key_id(rng);
  static constexpr std::array<std::string_view, 3> kT = {"aws_access_key_id = {v}", "export AWS_ACCESS_KEY_ID={v}", "\"AccessKeyId\": \"{v}\""};
  return {v, fill(pick(rng, kT), v), {"password"}, v.substr(0, 4)};
}
Planted aws_secret_case(Rng& rng, bool, std::size_t i) {
  const std::string v = from(rng, kB64, 40);
  if (i % 3 == 2) {
    const std::string id = make_aws_key_id(rng);
    switch ((i / 3) % 3) {
      case 0: return {v, "[default]\naws_access_key_id = " + id + "\naws_secret_access_key = " + v, {"password", "aws_access_key"}, "pair"};
      case 1:  // Terraform provider block: no AWS word next to the secret, only the key id
        return {v, "provider \"aws\" {\n  region     = \"us-east-1\"\n  access_key = \"" + id + "\"\n  secret_key = \"" + v + "\"\n}",
                {"password", "aws_access_key"}, "terraform"};
      default:  // the credentials CSV the IAM console offers for download
        return {v, "User name,Access key ID,Secret access key\n" + std::string(pick(rng, kFirst)) + "," + id + "," + v,
                {"password", "aws_access_key"}, "credentials_csv"};
    }
  }
  static constexpr std::array<std::string_view, 3> kT = {"aws_secret_access_key = {v}", "export AWS_SECRET_ACCESS_KEY={v}", "\"SecretAccessKey\": \"{v}\""};
  return {v, fill(pick(rng, kT), v), {"password"}, "alone"};
}
std::string pem_body(Rng& rng, std::string_view nl) { return base64_lines(rng, static_cast<std::size_t>(uni(rng, 12, 20)) * 64, 64, nl); }
Planted gcp_case(Rng& rng, bool, std::size_t) {
  const std::string project = std::string(pick(rng, kWords)) + "-" + std::string(pick(rng, kWords)) + "-prod";
  const std::string acct = std::string(pick(rng, kWords)) + "-sa";
  const std::string v = "{\n  \"type\": \"service_account\",\n  \"project_id\": \"" + project +
                        "\",\n  \"private_key_id\": \"" + from(rng, kHex, 40) +
                        "\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n" + pem_body(rng, "\\n") +
                        "\\n-----END PRIVATE KEY-----\\n\",\n  \"client_email\": \"" + acct + "@" + project +
                        ".iam.gserviceaccount.com\",\n  \"client_id\": \"1" + from(rng, kDigits, 20) +
                        "\",\n  \"auth_uri\": \"https://accounts.google.com/o/oauth2/auth\",\n  \"token_uri\": "
                        "\"https://oauth2.googleapis.com/token\"\n}";
  return {v, v, {"private_key", "email", "password"}, "json"};
}
Planted azure_case(Rng& rng, bool, std::size_t i) {
  const std::string acct = std::string(pick(rng, kWords)) + from(rng, kLowerAlnum, 6);
  const std::string key = from(rng, kB64, 86) + "==";
  if (i % 2) {
    const std::string v = "DefaultEndpointsProtocol=https;AccountName=" + acct + ";AccountKey=" + key + ";EndpointSuffix=core.windows.net";
    return {v, "\"StorageConnectionString\": \"" + v + "\"", {"password"}, "connection_string"};
  }
  switch ((i / 2) % 3) {
    case 0: return {key, "AZURE_STORAGE_ACCOUNT=" + acct + "\nAZURE_STORAGE_KEY=" + key, {"password"}, "account_key"};
    case 1:  // PowerShell
      return {key, "$storageAccountName = \"" + acct + "\"\n$storageAccountKey = \"" + key + "\"", {"password"}, "account_key"};
    default:  // appsettings.json
      return {key, "\"Storage\": {\n  \"AccountName\": \"" + acct + "\",\n  \"AccountKey\": \"" + key + "\"\n}", {"password"}, "account_key"};
  }
}
Planted github_case(Rng& rng, bool, std::size_t i) {
  static constexpr std::array<std::string_view, 3> kPre = {"ghp_", "gho_", "ghs_"};
  const std::string v = i % 3 == 2 ? "github_pat_" + from(rng, kAlnum, 22) + "_" + from(rng, kAlnum, 59)
                                   : github_classic(rng, pick(rng, kPre));
  static constexpr std::array<std::string_view, 3> kT = {"GITHUB_TOKEN={v}", "Authorization: token {v}", "gh auth login --with-token <<< {v}"};
  return {v, fill(pick(rng, kT), v), {"password"}, i % 3 == 2 ? "fine_grained" : "classic"};
}
Planted gitlab_case(Rng& rng, bool, std::size_t) {
  const std::string v = "glpat-" + from(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", 20);
  static constexpr std::array<std::string_view, 3> kT = {"PRIVATE-TOKEN: {v}", "GITLAB_TOKEN={v}", "\"gitlab_token\": \"{v}\""};
  return {v, fill(pick(rng, kT), v), {"password"}, "pat"};
}
Planted slack_case(Rng& rng, bool, std::size_t i) {
  const std::string v = i % 2 ? "xoxp-" + from(rng, kDigits, 11) + "-" + from(rng, kDigits, 11) + "-" + from(rng, kDigits, 12) + "-" + from(rng, kHex, 32)
                              : "xoxb-" + from(rng, kDigits, 11) + "-" + from(rng, kDigits, 13) + "-" + from(rng, kAlnum, 24);
  static constexpr std::array<std::string_view, 3> kT = {"SLACK_BOT_TOKEN={v}", "Authorization: Bearer {v}", "slack_token: {v}"};
  return {v, fill(pick(rng, kT), v), {"password"}, v.substr(0, 4)};
}
Planted stripe_case(Rng& rng, bool, std::size_t i) {
  const std::string v = i % 3 == 1 ? "rk_live_" + from(rng, kAlnum, 24) : "sk_live_" + from(rng, kAlnum, i % 3 ? 24 : 99);
  static constexpr std::array<std::string_view, 3> kT = {"STRIPE_SECRET_KEY={v}", "stripe.api_key = \"{v}\"", "\"stripe_key\": \"{v}\""};
  return {v, fill(pick(rng, kT), v), {"password"}, v.substr(0, 7)};
}
Planted twilio_case(Rng& rng, bool, std::size_t i) {
  const bool sid = i % 2 == 1;
  const std::string v = (sid ? "AC" : "SK") + from(rng, kHex, 32);
  static constexpr std::array<std::string_view, 3> kKey = {"TWILIO_API_KEY={v}", "twilio api key: {v}", "\"twilio_api_key\": \"{v}\""};
  static constexpr std::array<std::string_view, 3> kSid = {"TWILIO_ACCOUNT_SID={v}", "account_sid = \"{v}\"", "client = Client(\"{v}\", auth_token)"};
  return {v, fill(sid ? pick(rng, kSid) : pick(rng, kKey), v), {"password"}, sid ? "account_sid" : "api_key"};
}
Planted slack_webhook_case(Rng& rng, bool, std::size_t) {
  static constexpr std::string_view kUpperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const std::string v = "https://hooks.slack.com/services/T" + from(rng, kUpperDigits, static_cast<std::size_t>(uni(rng, 8, 10))) +
                        "/B" + from(rng, kUpperDigits, static_cast<std::size_t>(uni(rng, 8, 10))) + "/" + from(rng, kAlnum, 24);
  static constexpr std::array<std::string_view, 3> kT = {"SLACK_WEBHOOK_URL={v}", "curl -X POST -H 'Content-type: application/json' --data '{\"text\":\"deploy done\"}' {v}",
                                                         "\"webhook\": \"{v}\""};
  return {v, fill(pick(rng, kT), v), {}, "incoming"};
}
Planted sendgrid_case(Rng& rng, bool, std::size_t) {
  const std::string v = "SG." + from(rng, kB64Url, 22) + "." + from(rng, kB64Url, 43);
  static constexpr std::array<std::string_view, 3> kT = {"SENDGRID_API_KEY={v}", "sg = SendGridAPIClient(\"{v}\")", "Authorization: Bearer {v}"};
  return {v, fill(pick(rng, kT), v), {"password"}, "api_key"};
}
Planted npm_case(Rng& rng, bool, std::size_t) {
  const std::string body = from(rng, kAlnum, 30);
  const std::string v = "npm_" + body + base62_6(crc32(body));
  static constexpr std::array<std::string_view, 3> kT = {"//registry.npmjs.org/:_authToken={v}", "NPM_TOKEN={v}", "npm config set //registry.npmjs.org/:_authToken {v}"};
  return {v, fill(pick(rng, kT), v), {"password"}, "granular"};
}
Planted jwt_case(Rng& rng, bool, std::size_t i) {
  const std::string header = i % 2 ? R"({"alg":"RS256","typ":"JWT","kid":")" + from(rng, kHex, 8) + "\"}" : R"({"alg":"HS256","typ":"JWT"})";
  std::string f(pick(rng, kFirst));
  const std::string payload = R"({"sub":")" + from(rng, kDigits, 10) + R"(","name":")" + f + " " + std::string(pick(rng, kLast)) +
                              R"(","iat":1)" + from(rng, kDigits, 9) + "}";
  const std::string v = b64url(header) + "." + b64url(payload) + "." + from(rng, kB64Url, i % 2 ? 342 : 43);
  static constexpr std::array<std::string_view, 3> kT = {"Authorization: Bearer {v}", "id_token={v}", "\"access_token\": \"{v}\""};
  return {v, fill(pick(rng, kT), v), {"password"}, i % 2 ? "rs256" : "hs256"};
}
Planted private_key_case(Rng& rng, bool, std::size_t i) {
  static constexpr std::array<std::string_view, 5> kKinds = {"RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "PGP PRIVATE KEY BLOCK"};
  const std::string_view kind = kKinds[i % kKinds.size()];
  std::string body = pem_body(rng, "\n");
  if (kind == "OPENSSH PRIVATE KEY") body.replace(0, 24, "b3BlbnNzaC1rZXktdjEAAAAA");
  if (kind == "PGP PRIVATE KEY BLOCK") body = "Version: GnuPG v2\n\n" + body + "\n=" + from(rng, kB64, 4);
  if (kind == "RSA PRIVATE KEY") body.replace(0, 4, "MIIE");
  const std::string v = "-----BEGIN " + std::string(kind) + "-----\n" + body + "\n-----END " + std::string(kind) + "-----";
  static constexpr std::array<std::string_view, 3> kT = {"{v}", "here is the deploy key:\n{v}", "$ cat ~/.ssh/id_deploy\n{v}"};
  std::string variant(kind);
  std::transform(variant.begin(), variant.end(), variant.begin(), [](char c) { return c == ' ' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  return {v, fill(pick(rng, kT), v), {}, variant};
}
Planted generic_secret_case(Rng& rng, bool, std::size_t i) {
  if (i % 4 == 3) {
    // Credentials in a connection URL; the password is URL-safe.
    std::string v;
    do v = from(rng, kAlnum, static_cast<std::size_t>(uni(rng, 12, 20)));
    while (std::none_of(v.begin(), v.end(), [](char c) { return is_digit(c); }));
    static constexpr std::array<std::string_view, 3> kT = {"DATABASE_URL=postgres://app:{v}@db.internal:5432/orders",
                                                           "spring.datasource.url=jdbc:mysql://report:{v}@10.0.4.12/reports",
                                                           "amqp://svc:{v}@rabbit.prod.local:5672/"};
    return {v, fill(pick(rng, kT), v), {}, "url"};
  }
  const std::string v = high_entropy_secret(rng);
  static constexpr std::array<std::string_view, 7> kT = {"db_password = \"{v}\"", "DB_PASSWORD={v}", "\"client_secret\": \"{v}\"",
                                                         "secret: {v}", "api_secret = '{v}'", "spring.datasource.password={v}",
                                                         "\"password\": \"{v}\""};
  return {v, fill(pick(rng, kT), v), {}, "assignment"};
}
Planted marker_case(Rng& rng, bool, std::size_t i) {
  static constexpr std::array<std::string_view, 10> kM = {"COMPANY CONFIDENTIAL", "INTERNAL ONLY", "STRICTLY CONFIDENTIAL",
                                                          "CONFIDENTIAL - DO NOT DISTRIBUTE", "INTERNAL USE ONLY", "PROPRIETARY AND CONFIDENTIAL",
                                                          "Proprietary and Confidential", "TLP:AMBER", "NOT FOR DISTRIBUTION",
                                                          "CONFIDENTIAL AND PROPRIETARY"};
  const std::string v(kM[i % kM.size()]);
  static constexpr std::array<std::string_view, 3> kT = {"{v}\nSubject: reorganisation plan", "-- {v} --", "Classification: {v}"};
  return {v, fill(pick(rng, kT), v), {}, "marker" + std::to_string(i % kM.size())};
}

const std::array<CategorySpec, 35>& specs() {
  static const std::array<CategorySpec, 35> k = {{
      {"credit_card", true, false, card_case},       {"track_data", false, false, track_case},
      {"us_ssn", true, false, ssn_case},             {"us_itin", true, false, itin_case},
      {"us_phone", false, false, phone_case},        {"email", false, false, email_case},
      {"date_of_birth", false, true, dob_case},      {"uk_nino", true, false, nino_case},
      {"ca_sin", true, false, sin_case},             {"iban", true, false, iban_case},
      {"swift_bic", false, false, bic_case},         {"aba_routing", false, false, aba_case},
      {"in_pan", false, false, pan_case},            {"in_aadhaar", true, false, aadhaar_case},
      {"passport", false, true, passport_case},      {"us_npi", false, false, npi_case},
      {"dea_number", false, false, dea_case},        {"icd10", false, true, icd_case},
      {"aws_access_key", false, false, aws_key_case}, {"aws_secret_key", false, false, aws_secret_case},
      {"gcp_service_account", false, false, gcp_case}, {"azure_storage_key", false, false, azure_case},
      {"github_token", false, false, github_case},   {"gitlab_token", false, false, gitlab_case},
      {"slack_token", false, false, slack_case},     {"slack_webhook", false, false, slack_webhook_case},
      {"stripe_key", false, false, stripe_case},
      {"twilio", false, false, twilio_case},     {"sendgrid_key", false, false, sendgrid_case},
      {"npm_token", false, false, npm_case},         {"jwt", false, false, jwt_case},
      {"private_key", false, false, private_key_case}, {"password", false, false, generic_secret_case},
      {"confidential_marker", false, false, marker_case}, {"", false, false, nullptr},
  }};
  return k;
}

// ---- hard negatives ----
struct Decoy {
  std::string value;
  std::string snippet;
  std::string decoy_of;
  bool no_context = false;  // a context-gated shape planted without its context
};
using NegGen = Decoy (*)(Rng&, std::size_t i);
struct NegSpec {
  std::string_view kind;
  NegGen gen;
};

Decoy neg_order(Rng& rng, std::size_t i) {
  std::string v;
  do v = i % 2 ? from(rng, "123456789", 1) + from(rng, kDigits, 2) + "-" + from(rng, kDigits, 7) + "-" + from(rng, kDigits, 7)
                              : "PO-2024-" + from(rng, kDigits, 6);
  while (luhn_digits_ok(digits_of(v)));  // not a card however the dashes are read
  return {v, "Order ID: " + v + " has shipped", "credit_card"};
}
Decoy neg_uuid(Rng& rng, std::size_t) {
  const std::string v = from(rng, kHex, 8) + "-" + from(rng, kHex, 4) + "-4" + from(rng, kHex, 3) + "-" +
                        std::string(1, "89ab"[uni(rng, 0, 3)]) + from(rng, kHex, 3) + "-" + from(rng, kHex, 12);
  return {v, "request_id=" + v + " status=200", ""};
}
Decoy neg_timestamp(Rng& rng, std::size_t i) {
  std::string v;
  switch (i % 3) {
    case 0: v = "2024-" + pad(uni(rng, 1, 12), 2) + "-" + pad(uni(rng, 1, 28), 2) + "T" + pad(uni(rng, 0, 23), 2) + ":" + pad(uni(rng, 0, 59), 2) + ":" + pad(uni(rng, 0, 59), 2) + "Z"; break;
    case 1: v = "17" + from(rng, kDigits, 11); break;
    default: v = std::to_string(uni(rng, 1, 28)) + "/Mar/2024:" + pad(uni(rng, 0, 23), 2) + ":" + pad(uni(rng, 0, 59), 2) + ":" + pad(uni(rng, 0, 59), 2) + " +0000"; break;
  }
  return {v, "event received at " + v, "date_of_birth"};
}
Decoy neg_tracking(Rng& rng, std::size_t i) {
  std::string v;
  switch (i % 3) {
    case 0: v = "1Z" + from(rng, "ABCDEFGHJKLMNPRSTUVWXYZ0123456789", 6) + from(rng, kDigits, 10); break;
    case 1: v = std::to_string(uni(rng, 2, 9)) + from(rng, kDigits, 11); break;  // FedEx 12 digits
    default: v = "9400" + from(rng, kDigits, 18); break;                         // USPS 22 digits
  }
  return {v, "Tracking number " + v + " out for delivery", "credit_card"};
}
Decoy neg_luhn_invalid(Rng& rng, std::size_t i) {
  std::string d = make_luhn_invalid_card(rng, kAllCardBrands[i % std::size(kAllCardBrands)]);
  const std::string v = i % 2 ? format_card(d, ' ') : d;
  return {v, "Card number: " + v, "credit_card"};
}
Decoy neg_ssn(Rng& rng, std::size_t i) {
  const std::string v = make_invalid_ssn(rng, kAllSsnDefects[i % std::size(kAllSsnDefects)]);
  return {v, "SSN: " + v, "us_ssn"};
}
Decoy neg_itin(Rng& rng, std::size_t) {
  const std::string v = "9" + from(rng, kDigits, 2) + "-" + pad(uni(rng, 10, 49), 2) + "-" + pad(uni(rng, 1, 9999), 4);
  return {v, "ITIN: " + v, "us_itin"};
}
Decoy neg_iban(Rng& rng, std::size_t i) {
  const IbanCountry& c = kIban[i % kIban.size()];
  const std::string bban = make_bban(rng, c.bban);
  const int good = iban_check(c.cc, bban);
  int bad = good;
  while (bad == good) bad = uni(rng, 2, 98);
  const std::string v = iban_with_check(c.cc, bban, bad);
  return {v, "IBAN: " + v, "iban"};
}
Decoy neg_aba(Rng& rng, std::size_t) {
  std::string v = make_aba(rng);
  v.back() = static_cast<char>('0' + (v.back() - '0' + uni(rng, 1, 9)) % 10);
  return {v, "Routing number: " + v, "aba_routing"};
}
Decoy neg_sin(Rng& rng, std::size_t) {
  std::string d = make_sin(rng);
  d.back() = static_cast<char>('0' + (d.back() - '0' + uni(rng, 1, 9)) % 10);
  const std::string v = group(d, {3, 3, 3}, '-');
  return {v, "SIN: " + v, "ca_sin"};
}
Decoy neg_npi(Rng& rng, std::size_t) {
  std::string v = make_npi(rng);
  v.back() = static_cast<char>('0' + (v.back() - '0' + uni(rng, 1, 9)) % 10);
  return {v, "NPI: " + v, "us_npi"};
}
Decoy neg_dea(Rng& rng, std::size_t) {
  std::string v = make_dea(rng);
  v.back() = static_cast<char>('0' + (v.back() - '0' + uni(rng, 1, 9)) % 10);
  return {v, "DEA number: " + v, "dea_number"};
}
Decoy neg_aadhaar(Rng& rng, std::size_t) {
  std::string d = make_aadhaar(rng);
  d.back() = static_cast<char>('0' + (d.back() - '0' + uni(rng, 1, 9)) % 10);
  const std::string v = group(d, {4, 4, 4}, ' ');
  return {v, "Aadhaar: " + v, "in_aadhaar"};
}
Decoy neg_nino(Rng& rng, std::size_t i) {
  static constexpr std::array<std::string_view, 6> kBad = {"GB", "BG", "NK", "TN", "ZZ", "DQ"};
  const std::string v = std::string(kBad[i % kBad.size()]) + from(rng, kDigits, 6) + std::string(1, "ABCD"[uni(rng, 0, 3)]);
  return {v, "NI number: " + v, "uk_nino"};
}
Decoy neg_pan(Rng& rng, std::size_t) {
  const std::string v = from(rng, kUpper, 3) + std::string(1, "DEIKMNOQRSUVWXYZ"[uni(rng, 0, 15)]) + from(rng, kUpper, 1) +
                        from(rng, kDigits, 4) + from(rng, kUpper, 1);
  return {v, "PAN: " + v, "in_pan"};
}
Decoy neg_base64(Rng& rng, std::size_t) {
  const std::string v = base64_lines(rng, static_cast<std::size_t>(uni(rng, 3, 8)) * 76, 76, "\n");
  return {v, "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n" + v, "aws_secret_key"};
}
Decoy neg_hash(Rng& rng, std::size_t i) {
  std::string v;
  std::string s;
  switch (i % 3) {
    case 0: v = from(rng, kHex, 32); s = "ETag: \"" + v + "\""; break;
    case 1: v = from(rng, kHex, 40); s = "commit " + v + "\nMerge: deploy scripts"; break;
    default: v = from(rng, kHex, 64); s = v + "  release.tar.gz"; break;
  }
  return {v, s, "password"};
}
Decoy neg_random_id(Rng& rng, std::size_t i) {
  const std::string v = from(rng, kLowerAlnum, static_cast<std::size_t>(12 + (i % 3) * 8));
  return {v, i % 2 ? "x-request-id: " + v : "trace " + v + " completed", ""};
}
Decoy neg_phone_no_context(Rng& rng, std::size_t) {
  const std::string v = make_nanp(rng);
  return {v, "batch " + v + " completed without errors", "us_phone", true};
}
Decoy neg_date_no_context(Rng& rng, std::size_t i) {
  std::string v;
  const int n = uni(rng, 3, 5);
  for (int k = 0; k < n; ++k) {
    const int year = uni(rng, 1950, 2024), month = uni(rng, 1, 12), day = uni(rng, 1, 28);
    v += (k ? ", " : "") + dob_string(year, month, day, static_cast<int>(i));
  }
  static constexpr std::array<std::string_view, 3> kT = {"Invoice dates: {v}", "shipped on {v}", "contract renewals {v}"};
  return {v, fill(pick(rng, kT), v), "date_of_birth", true};
}
Decoy neg_env_password(Rng& rng, std::size_t i) {
  static constexpr std::array<std::string_view, 12> kT = {
      "password = os.environ[\"DB_PASSWORD\"]", "password = os.getenv(\"SMTP_PASSWORD\")", "secret: ${VAULT_SECRET}",
      "DB_PASSWORD=changeme", "password: \"<your-password-here>\"", "api_secret = settings.API_SECRET",
      "password = \"********\"", "db_password = config.get(\"database\", \"password\")",
      "password: process.env.DB_PASSWORD", "\"password\": \"{{ vault_db_password }}\"",
      "DATABASE_URL=postgres://app:${DB_PASSWORD}@db.internal:5432/orders", "client_secret = $CLIENT_SECRET_FROM_VAULT"};
  const std::string v(kT[i % kT.size()]);
  (void)rng;
  return {v, "config snippet:\n" + v, "password"};
}
Decoy neg_passport_no_context(Rng& rng, std::size_t i) {
  const std::string v = i % 2 ? std::string(1, kUpper[static_cast<std::size_t>(uni(rng, 0, 25))]) + from(rng, kDigits, 8)
                              : std::to_string(uni(rng, 1, 9)) + from(rng, kDigits, 8);
  return {v, "ticket " + v + " assigned to the team", "passport", true};
}
Decoy neg_icd_no_context(Rng& rng, std::size_t) {
  const std::string v(pick(rng, kIcd10));
  static constexpr std::array<std::string_view, 3> kT = {"meet me at gate {v}", "room {v} on the left", "take the {v} exit"};
  return {v, fill(pick(rng, kT), v), "icd10", true};
}
Decoy neg_public_key(Rng& rng, std::size_t i) {
  std::string v;
  switch (i % 3) {
    case 0: v = "-----BEGIN PUBLIC KEY-----\n" + base64_lines(rng, 384, 64, "\n") + "\n-----END PUBLIC KEY-----"; break;
    case 1: v = "-----BEGIN CERTIFICATE-----\n" + base64_lines(rng, 1024, 64, "\n") + "\n-----END CERTIFICATE-----"; break;
    default: v = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + from(rng, kB64, 43) + " deploy@build"; break;
  }
  return {v, v, "private_key"};
}
Decoy neg_caps_words(Rng& rng, std::size_t) {
  static constexpr std::array<std::string_view, 7> kW = {"DOCUMENT", "ABSOLUTE", "HOSPITAL", "FEEDBACK", "BUSINESS", "SHIPMENT", "CUSTOMER"};
  const std::string v(pick(rng, kW));
  return {v, "PLEASE READ THE " + v + " UPDATE", "swift_bic", true};
}
Decoy neg_confidentiality(Rng& rng, std::size_t i) {
  static constexpr std::array<std::string_view, 6> kT = {"Our confidentiality policy is on the intranet.",
                                                         "The team discussed it internally before the review.",
                                                         "See the confidentiality agreement template.",
                                                         "The vendor ships a proprietary driver for the scanner.",
                                                         "TLP:CLEAR - share freely with the community.",
                                                         "Shared under TLP:GREEN with partner CERTs."};
  const std::string v(kT[i % kT.size()]);
  (void)rng;
  return {v, v, "confidential_marker"};
}
Decoy neg_email_lookalike(Rng& rng, std::size_t i) {
  static constexpr std::array<std::string_view, 3> kT = {"<img src=\"/static/logo@2x.png\">", "@media screen and (max-width: 600px)",
                                                         "npm install @types/node"};
  const std::string v(kT[i % kT.size()]);
  (void)rng;
  return {v, v, "email"};
}

// package-lock.json: every dependency carries an SRI digest, 88 base64 characters of a
// SHA-512 ending "==": the shape of an Azure storage key, without its name.
Decoy neg_sri_integrity(Rng& rng, std::size_t i) {
  const std::string v = from(rng, kB64, 86) + "==";
  static constexpr std::array<std::string_view, 3> kPkg = {"lodash", "express", "react-dom"};
  const std::string pkg(kPkg[i % kPkg.size()]);
  return {v, "\"node_modules/" + pkg + "\": {\n  \"version\": \"4." + std::to_string(uni(rng, 0, 20)) + ".1\",\n  \"resolved\": \"https://registry.npmjs.org/" +
                 pkg + "/-/" + pkg + ".tgz\",\n  \"integrity\": \"sha512-" + v + "\"\n}",
          "azure_storage_key"};
}
// Token-shaped strings whose CRC32 does not match: placeholders in documentation, typos,
// truncated copies.
Decoy neg_token_bad_checksum(Rng& rng, std::size_t i) {
  static constexpr std::array<std::string_view, 3> kPre = {"ghp_", "gho_", "npm_"};
  const std::string_view pre = kPre[i % kPre.size()];
  std::string v;
  do v = std::string(pre) + from(rng, kAlnum, 36);
  while (base62_6(crc32(std::string_view(v).substr(4, 30))) == std::string_view(v).substr(34));
  static constexpr std::array<std::string_view, 3> kT = {"export GITHUB_TOKEN={v}  # example, replace", "token: {v}",
                                                         "NPM_TOKEN={v}  # revoked, see the runbook"};
  return {v, fill(pick(rng, kT), v), pre == "npm_" ? "npm_token" : "github_token"};
}

constexpr std::array<NegSpec, 29> kNegatives = {{
    {"sri_integrity", neg_sri_integrity}, {"token_bad_checksum", neg_token_bad_checksum},
    {"order_number", neg_order},        {"uuid", neg_uuid},
    {"timestamp", neg_timestamp},       {"tracking_number", neg_tracking},
    {"luhn_invalid", neg_luhn_invalid}, {"ssa_invalid_ssn", neg_ssn},
    {"itin_bad_group", neg_itin},       {"iban_bad_check", neg_iban},
    {"aba_bad_check", neg_aba},         {"sin_bad_check", neg_sin},
    {"npi_bad_check", neg_npi},         {"dea_bad_check", neg_dea},
    {"aadhaar_bad_check", neg_aadhaar}, {"nino_bad_prefix", neg_nino},
    {"pan_bad_entity", neg_pan},        {"base64_blob", neg_base64},
    {"hex_hash", neg_hash},             {"random_id", neg_random_id},
    {"phone_no_context", neg_phone_no_context}, {"date_no_context", neg_date_no_context},
    {"env_password", neg_env_password}, {"passport_no_context", neg_passport_no_context},
    {"icd10_no_context", neg_icd_no_context}, {"public_key", neg_public_key},
    {"caps_words", neg_caps_words},     {"confidentiality_prose", neg_confidentiality},
    {"email_lookalike", neg_email_lookalike},
}};

// ---- encodings ----
void put_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}
std::string zero_width(std::string_view v) {
  std::string out;
  int n = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    out += v[i];
    if (is_word(v[i]) && ++n % 3 == 1 && i + 1 < v.size() && is_word(v[i + 1])) put_utf8(out, n % 2 ? 0x200B : 0x200D);
  }
  return out;
}
std::string html_entities(std::string_view v) {
  std::string out;
  int n = 0;
  for (char c : v) {
    if (std::isalnum(static_cast<unsigned char>(c)) && ++n % 3 == 1) {
      char buf[16];
      if (n % 2) std::snprintf(buf, sizeof(buf), "&#%d;", c);
      else std::snprintf(buf, sizeof(buf), "&#x%X;", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}
// `plain` with the planted value (at its first occurrence) re-encoded.
std::string encode(std::string_view plain, std::string_view value, std::string_view encoding) {
  if (encoding == "utf16le") return to_utf16(plain, false);
  if (encoding == "utf16be") return to_utf16(plain, true);
  std::string (*f)(std::string_view) = nullptr;
  if (encoding == "fullwidth") f = to_fullwidth;
  else if (encoding == "zero_width") f = zero_width;
  else if (encoding == "html_entity") f = html_entities;
  if (!f) return std::string(plain);
  const std::size_t at = plain.find(value);
  if (at == std::string_view::npos) throw std::logic_error("testgen: planted value not in its text");
  return std::string(plain.substr(0, at)) + f(value) + std::string(plain.substr(at + value.size()));
}

bool clean_labels(std::string_view plain, const std::string& category, const std::vector<std::string>& also) {
  for (const std::string& c : numeric_lookalikes(plain))
    if (c != category && std::find(also.begin(), also.end(), c) == also.end()) return false;
  return true;
}

std::string case_id(std::string_view head, std::string_view variant, std::string_view encoding, std::size_t n) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04zu", n);
  return std::string(head) + "." + std::string(variant) + "." + std::string(encoding) + "." + buf;
}

}  // namespace

// ---------------- reference validators ----------------

bool luhn_digits_ok(std::string_view d) {
  if (d.size() < 2) return false;
  for (char c : d)
    if (!is_digit(c)) return false;
  return luhn_check_digit(d.substr(0, d.size() - 1)) == d.back();
}

std::size_t iban_registry_length(std::string_view cc) {
  for (const IbanCountry& c : kIban)
    if (c.cc == cc) return c.length;
  return 0;
}

bool iban_ok(std::string_view iban) {
  std::string s = strip_spaces(iban);
  for (char& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (s.size() < 5) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c)) && !std::isupper(static_cast<unsigned char>(c))) return false;
  const std::size_t len = iban_registry_length(std::string_view(s).substr(0, 2));
  if (len == 0 || s.size() != len || !is_digit(s[2]) || !is_digit(s[3])) return false;
  return mod97(s.substr(4) + s.substr(0, 4)) == 1;
}

bool aba_ok(std::string_view d) {
  if (d.size() != 9 || digits_of(d).size() != 9) return false;
  const int p = (d[0] - '0') * 10 + (d[1] - '0');
  if (!((p <= 12) || (p >= 21 && p <= 32) || (p >= 61 && p <= 72) || p == 80)) return false;
  return aba_digit(d.substr(0, 8)) == d[8];
}

bool verhoeff_ok(std::string_view d) {
  if (d.size() < 2 || digits_of(d).size() != d.size()) return false;
  int c = 0;
  for (std::size_t i = 0; i < d.size(); ++i) c = kVerD[c][kVerP[i % 8][d[d.size() - 1 - i] - '0']];
  return c == 0;
}

bool npi_ok(std::string_view d) {
  if (d.size() != 10 || digits_of(d).size() != 10 || (d[0] != '1' && d[0] != '2')) return false;
  return luhn_digits_ok("80840" + std::string(d));
}

bool dea_ok(std::string_view s) {
  if (s.size() != 9 || !std::isupper(static_cast<unsigned char>(s[0])) ||
      !(std::isupper(static_cast<unsigned char>(s[1])) || s[1] == '9'))
    return false;
  if (digits_of(s.substr(2)).size() != 7) return false;
  return dea_digit(s.substr(2, 6)) == s[8];
}

bool sin_ok(std::string_view s) {
  const std::string d = digits_of(s);
  if (d.size() != 9 || strip_spaces(s) != d || d[0] == '0' || d[0] == '8') return false;
  return luhn_digits_ok(d);
}

bool itin_ok(std::string_view s) {
  const std::string d = digits_of(s);
  if (d.size() != 9 || strip_spaces(s) != d || d[0] != '9') return false;
  const int g = std::stoi(d.substr(3, 2));
  return (g >= 50 && g <= 65) || (g >= 70 && g <= 88) || (g >= 90 && g <= 92) || (g >= 94 && g <= 99);
}

bool nino_ok(std::string_view s) {
  std::string n;
  for (char c : s)
    if (c != ' ') n += c;
  if (n.size() != 9) return false;
  if (kNinoFirst.find(n[0]) == std::string_view::npos || kNinoSecond.find(n[1]) == std::string_view::npos) return false;
  const std::string p = n.substr(0, 2);
  if (p == "BG" || p == "GB" || p == "KN" || p == "NK" || p == "NT" || p == "TN" || p == "ZZ") return false;
  if (digits_of(n.substr(2, 6)).size() != 6) return false;
  return n[8] >= 'A' && n[8] <= 'D';
}

bool pan_ok(std::string_view s) {
  if (s.size() != 10) return false;
  for (std::size_t i : {0u, 1u, 2u, 3u, 4u, 9u})
    if (!std::isupper(static_cast<unsigned char>(s[i]))) return false;
  if (digits_of(s.substr(5, 4)).size() != 4) return false;
  return kPanEntity.find(s[3]) != std::string_view::npos;
}

bool nanp_ok(std::string_view s) {
  std::string d = digits_of(s);
  if (d.size() == 11 && d[0] == '1') d.erase(0, 1);
  if (d.size() != 10) return false;
  if (d[0] < '2' || d[1] == '9' || (d[1] == '1' && d[2] == '1')) return false;
  if (d[3] < '2' || (d[4] == '1' && d[5] == '1')) return false;
  return true;
}

bool github_classic_ok(std::string_view t) {
  if (t.size() != 40 || t.substr(0, 2) != "gh" || t[3] != '_') return false;
  return base62_6(crc32(t.substr(4, 30))) == t.substr(34);
}

std::optional<bool> value_checksum_ok(std::string_view category, std::string_view v) {
  if (category == "credit_card") {
    const std::string d = digits_of(v);
    return strip_spaces(v) == d && d.size() >= 13 && d.size() <= 19 && luhn_digits_ok(d);
  }
  if (category == "track_data") {
    const std::size_t start = v.front() == '%' ? 2 : 1;
    const std::size_t end = v.find_first_of("^=");
    return end != std::string_view::npos && luhn_digits_ok(v.substr(start, end - start));
  }
  if (category == "us_ssn") return ssn_valid(replace_all(std::string(v), " ", "-"));
  if (category == "us_itin") return itin_ok(v);
  if (category == "ca_sin") return sin_ok(v);
  if (category == "iban") return iban_ok(v);
  if (category == "aba_routing") return aba_ok(v);
  if (category == "in_aadhaar") {
    const std::string d = digits_of(v);
    return d.size() == 12 && d[0] >= '2' && verhoeff_ok(d);
  }
  if (category == "us_npi") return npi_ok(v);
  if (category == "dea_number") return dea_ok(v);
  if (category == "uk_nino") return nino_ok(v);
  if (category == "in_pan") return pan_ok(v);
  if (category == "us_phone") return nanp_ok(v);
  if (category == "swift_bic") {
    if (v.size() != 8 && v.size() != 11) return false;
    for (std::size_t k = 0; k < 6; ++k)
      if (!std::isupper(static_cast<unsigned char>(v[k]))) return false;
    for (char ch : v.substr(6))
      if (!std::isupper(static_cast<unsigned char>(ch)) && !is_digit(ch)) return false;
    if (v[7] == '0' || v[7] == 'O') return false;
    return v.size() == 8 || v.substr(8) == "XXX" || v[8] != 'X';
  }
  if (category == "github_token" && v.substr(0, 3) == "gh" && v.size() == 40) return github_classic_ok(v);
  if (category == "npm_token") return v.size() == 40 && base62_6(crc32(v.substr(4, 30))) == v.substr(34);
  return std::nullopt;
}

std::set<std::string> numeric_lookalikes(std::string_view t) {
  std::set<std::string> out;
  // Letter-led ids: a passport "A12345678" or a ticket "G93189013" can be a checksum-valid
  // DEA number (2 letters, 7 digits).
  for (std::size_t a = 0; a < t.size();) {
    if (!is_word(t[a])) { ++a; continue; }
    std::size_t b = a;
    while (b < t.size() && is_word(t[b])) ++b;
    if (b - a == 9 && dea_ok(t.substr(a, 9))) out.insert("dea_number");
    a = b;
  }
  std::size_t i = 0;
  while (i < t.size()) {
    if (!is_digit(t[i])) { ++i; continue; }
    const bool left = i == 0 || !is_word(t[i - 1]);
    std::vector<std::string> groups;
    std::size_t j = i;
    for (;;) {
      std::size_t k = j;
      while (k < t.size() && is_digit(t[k])) ++k;
      groups.emplace_back(t.substr(j, k - j));
      if (k + 1 < t.size() && (t[k] == ' ' || t[k] == '-') && is_digit(t[k + 1])) { j = k + 1; continue; }
      j = k;
      break;
    }
    const bool right = j == t.size() || !is_word(t[j]);
    i = j;
    for (std::size_t a = 0; a < groups.size(); ++a) {
      if (a == 0 && !left) continue;
      std::string d;
      std::vector<std::size_t> shape;
      for (std::size_t b = a; b < groups.size(); ++b) {
        if (b + 1 == groups.size() && !right) break;
        d += groups[b];
        shape.push_back(groups[b].size());
        const std::size_t L = d.size();
        if (L > 19) break;
        const bool single = shape.size() == 1;
        if (L >= 13 && d[0] >= '2' && d[0] <= '6' && (single || shape[0] == 4) && luhn_digits_ok(d)) out.insert("credit_card");
        if (shape == std::vector<std::size_t>{3, 2, 4}) {
          const std::string dashed = d.substr(0, 3) + "-" + d.substr(3, 2) + "-" + d.substr(5);
          if (ssn_valid(dashed)) out.insert("us_ssn");
          if (itin_ok(d)) out.insert("us_itin");
        }
        if ((single && L == 9) || shape == std::vector<std::size_t>{3, 3, 3})
          if (sin_ok(d)) out.insert("ca_sin");
        if (single && L == 9 && aba_ok(d)) out.insert("aba_routing");
        if (single && L == 10 && npi_ok(d)) out.insert("us_npi");
        if (((single && L == 12) || shape == std::vector<std::size_t>{4, 4, 4}) && d[0] >= '2' && verhoeff_ok(d))
          out.insert("in_aadhaar");
      }
    }
  }
  return out;
}

std::string to_fullwidth(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (is_digit(c)) put_utf8(out, 0xFF10u + static_cast<std::uint32_t>(c - '0'));
    else if (c >= 'A' && c <= 'Z') put_utf8(out, 0xFF21u + static_cast<std::uint32_t>(c - 'A'));
    else if (c >= 'a' && c <= 'z') put_utf8(out, 0xFF41u + static_cast<std::uint32_t>(c - 'a'));
    else out += c;
  }
  return out;
}

std::string to_utf16(std::string_view s, bool be) {
  std::string out;
  auto unit = [&](std::uint32_t u) {
    const char hi = static_cast<char>(u >> 8), lo = static_cast<char>(u & 0xFF);
    if (be) { out += hi; out += lo; } else { out += lo; out += hi; }
  };
  unit(0xFEFF);
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    std::uint32_t cp;
    std::size_t n;
    if (c < 0x80) { cp = c; n = 1; }
    else if ((c >> 5) == 6) { cp = c & 0x1F; n = 2; }
    else if ((c >> 4) == 14) { cp = c & 0x0F; n = 3; }
    else { cp = c & 0x07; n = 4; }
    for (std::size_t k = 1; k < n && i + k < s.size(); ++k) cp = cp << 6 | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    i += n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(0xD800 + (cp >> 10));
      unit(0xDC00 + (cp & 0x3FF));
    } else {
      unit(cp);
    }
  }
  return out;
}

// ---------------- corpus ----------------

const std::vector<std::string>& labelled_categories() {
  static const std::vector<std::string> k = [] {
    std::vector<std::string> v;
    for (const CategorySpec& s : specs())
      if (s.gen) v.emplace_back(s.category);
    return v;
  }();
  return k;
}

bool is_checksummed_category(std::string_view c) {
  return c == "credit_card" || c == "us_ssn" || c == "iban" || c == "ca_sin" || c == "us_npi" || c == "aba_routing";
}

bool needs_normaliser(std::string_view e) {
  return !(e == "plain" || e == "grouped" || e == "context" || e == "no_context");
}

std::vector<LabelledCase> labelled_corpus(std::uint64_t seed, std::size_t per_category) {
  Rng rng(seed);
  std::vector<LabelledCase> out;
  for (const CategorySpec& spec : specs()) {
    if (!spec.gen) continue;
    std::vector<std::string_view> encs = {spec.context ? "context" : "plain"};
    if (spec.groupable) encs.push_back("grouped");
    for (std::string_view e : {"fullwidth", "zero_width", "utf16le", "utf16be", "html_entity"}) encs.push_back(e);
    // Cards: per_category for each brand (the generator cycles brands by index).
    const std::size_t n = spec.category == "credit_card" ? per_category * 8 : per_category;
    for (std::size_t i = 0; i < n; ++i) {
      // Cards: brand = i % 8, encoding = (i / 8) % encodings, so every brand meets every encoding.
      const std::size_t ei = spec.category == "credit_card" ? (i / 8) % encs.size() : i % encs.size();
      const std::string_view enc = encs[ei];
      const bool grouped = enc == "grouped" || (spec.groupable && enc != "plain" && uni(rng, 0, 1) == 1);
      // Variant index (format, prefix, country, ...): shifted by one every rotation of the
      // encodings so a variant does not always meet the same encoding.
      const std::size_t vi = spec.category == "credit_card" ? i : i + i / encs.size();
      for (int attempt = 0;; ++attempt) {
        if (attempt > 1000) throw std::logic_error("testgen: cannot build a clean case for " + std::string(spec.category));
        Planted p = spec.gen(rng, grouped, vi);
        const std::string plain = frame(rng, p.snippet);
        if (!clean_labels(plain, std::string(spec.category), p.also)) continue;
        LabelledCase c;
        c.id = case_id(spec.category, p.variant, enc, i);
        c.category = std::string(spec.category);
        c.text = encode(plain, p.value, enc);
        c.value = p.value;
        c.encoding = std::string(enc);
        c.expect = true;
        c.plain = plain;
        c.also = std::move(p.also);
        out.push_back(std::move(c));
        break;
      }
    }
  }
  static constexpr std::array<std::string_view, 4> kNegEnc = {"fullwidth", "utf16le", "zero_width", "utf16be"};
  for (const NegSpec& ns : kNegatives) {
    for (std::size_t i = 0; i < per_category; ++i) {
      for (int attempt = 0;; ++attempt) {
        if (attempt > 1000) throw std::logic_error("testgen: cannot build a clean negative " + std::string(ns.kind));
        Decoy d = ns.gen(rng, i);
        const std::string plain = frame(rng, d.snippet);
        if (!numeric_lookalikes(plain).empty()) continue;
        std::string enc(d.no_context ? "no_context" : "plain");
        if (i % 3 == 2) enc = kNegEnc[(i / 3) % kNegEnc.size()];
        LabelledCase c;
        c.id = case_id("neg." + std::string(ns.kind), d.decoy_of.empty() ? "none" : d.decoy_of, enc, i);
        c.text = encode(plain, d.value, enc);
        c.value = d.value;
        c.encoding = enc;
        c.expect = false;
        c.plain = plain;
        c.decoy_of = d.decoy_of;
        out.push_back(std::move(c));
        break;
      }
    }
  }
  return out;
}

// ---------------- accuracy ----------------

CaseOutcome judge(const LabelledCase& c, const std::set<std::string>& found) {
  CaseOutcome o;
  if (c.expect) {
    o.tp = found.count(c.category) != 0;
    o.fn = !o.tp;
  }
  for (const std::string& f : found) {
    if (c.expect && f == c.category) continue;
    if (std::find(c.also.begin(), c.also.end(), f) != c.also.end()) continue;
    o.fp.insert(f);
  }
  return o;
}

std::vector<AccuracyRow> evaluate(const std::vector<LabelledCase>& corpus, const ScanFn& scan) {
  std::map<std::string, AccuracyRow> rows;
  for (const LabelledCase& c : corpus) {
    if (c.expect) rows[c.category].detector_or_category = c.category;
    const CaseOutcome o = judge(c, scan(c.text));
    if (o.tp) ++rows[c.category].tp;
    if (o.fn) ++rows[c.category].fn;
    for (const std::string& f : o.fp) {
      rows[f].detector_or_category = f;
      ++rows[f].fp;
    }
  }
  auto finish = [](AccuracyRow& r) {
    r.precision = r.tp + r.fp == 0 ? 1.0 : static_cast<double>(r.tp) / static_cast<double>(r.tp + r.fp);
    r.recall = r.tp + r.fn == 0 ? 1.0 : static_cast<double>(r.tp) / static_cast<double>(r.tp + r.fn);
  };
  std::vector<AccuracyRow> out;
  AccuracyRow total;
  total.detector_or_category = "overall";
  for (auto& [name, r] : rows) {
    finish(r);
    total.tp += r.tp;
    total.fp += r.fp;
    total.fn += r.fn;
    out.push_back(r);
  }
  finish(total);
  out.push_back(total);
  return out;
}

double accuracy_bar(std::string_view category) { return is_checksummed_category(category) ? 0.99 : 0.95; }

}  // namespace dlp::testgen
