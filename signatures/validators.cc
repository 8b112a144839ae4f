// Validators and their registry. Each function is pure and allocation-free apart from
// writing `canonical`, whose capacity the scanner reserves once per worker.
#include "signatures/validators.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>

namespace dlp::signatures {
namespace {

// Copies the digits of `match` into `canonical`. Separators may only be single spaces or
// dashes between digits, the shape the card and SSN patterns produce; anything else means
// the match is not a number of ours.
bool digits_only(std::string_view match, std::string& canonical) {
  canonical.clear();
  bool prev_sep = true;  // a leading separator is as bad as a doubled one
  for (char c : match) {
    if (c >= '0' && c <= '9') {
      canonical.push_back(c);
      prev_sep = false;
    } else if ((c == ' ' || c == '-') && !prev_sep) {
      prev_sep = true;
    } else {
      return false;
    }
  }
  return !prev_sep;
}

unsigned prefix_value(std::string_view digits, std::size_t n) {
  unsigned v = 0;
  for (std::size_t i = 0; i < n; ++i) v = v * 10 + static_cast<unsigned>(digits[i] - '0');
  return v;
}

constexpr std::uint32_t lengths(std::initializer_list<unsigned> ls) {
  std::uint32_t m = 0;
  for (unsigned l : ls) m |= 1u << l;
  return m;
}

// Issuer identification ranges (ISO/IEC 7812 IINs as the networks publish them).
// `lo`..`hi` are compared against the first `digits` digits of the number.
struct IssuerRange {
  std::uint8_t digits;
  unsigned lo;
  unsigned hi;
  std::uint32_t length_mask;
};

constexpr std::array<IssuerRange, 12> kIssuers{{
    {1, 4, 4, lengths({13, 16, 19})},         // Visa
    {2, 51, 55, lengths({16})},               // Mastercard
    {4, 2221, 2720, lengths({16})},           // Mastercard 2-series
    {2, 34, 34, lengths({15})},               // American Express
    {2, 37, 37, lengths({15})},               // American Express
    {4, 6011, 6011, lengths({16, 19})},       // Discover
    {3, 644, 649, lengths({16, 19})},         // Discover
    {2, 65, 65, lengths({16, 19})},           // Discover
    {4, 3528, 3589, lengths({16, 19})},       // JCB
    {3, 300, 305, lengths({14})},             // Diners Club Carte Blanche
    {2, 36, 36, lengths({14})},               // Diners Club International
    {2, 38, 38, lengths({14})},               // Diners Club
}};
// UnionPay is listed apart only because 62 overlaps no range above.
constexpr IssuerRange kUnionPay{2, 62, 62, lengths({16, 17, 18, 19})};

bool in_range(const IssuerRange& r, std::string_view digits) {
  if (digits.size() < r.digits || digits.size() > 31) return false;
  unsigned p = prefix_value(digits, r.digits);
  return p >= r.lo && p <= r.hi && (r.length_mask & (1u << digits.size())) != 0;
}

bool is_base32_upper(char c) { return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'); }

constexpr std::array<std::string_view, 8> kAwsKeyPrefixes{"AKIA", "ASIA", "AGPA", "AIDA",
                                                          "AROA", "AIPA", "ANPA", "ANVA"};

// Numbers printed in the SSA's own advertising and a wallet insert, then used by thousands
// of people as their own; they show up in test data and templates, never as a real leak.
constexpr std::array<std::string_view, 2> kSsnAdvertising{"078051120", "219099999"};

constexpr std::array<ValidatorEntry, 23> kRegistry{{
    {"luhn", &validate_luhn, "payment card: Luhn checksum and a known issuer prefix/length"},
    {"us_ssn", &validate_us_ssn, "US SSN: SSA area/group/serial rules, advertising numbers"},
    {"aws_key_id", &validate_aws_key_id, "AWS access key id: known prefix, 20 chars A-Z2-7"},
    {"us_itin", &validate_us_itin, "US ITIN: 9xx area, IRS group ranges 50-65, 70-88, 90-92, 94-99"},
    {"track_data", &validate_track_data, "magnetic stripe track 1/2: card number (Luhn, issuer) and expiry"},
    {"iban", &validate_iban, "IBAN: ISO 13616 registry country length and mod-97"},
    {"bic", &validate_bic, "SWIFT/BIC (ISO 9362): 8 or 11 characters, ISO 3166 country"},
    {"aba", &validate_aba, "US ABA routing number: Federal Reserve prefix and 3-7-1 checksum"},
    {"aadhaar", &validate_aadhaar, "India Aadhaar: 12 digits, first 2-9, Verhoeff check digit"},
    {"in_pan", &validate_in_pan, "India PAN: AAAPA9999A with a known holder-type letter"},
    {"uk_nino", &validate_uk_nino, "UK National Insurance number: HMRC prefix and suffix rules"},
    {"ca_sin", &validate_ca_sin, "Canadian SIN: 9 digits, Luhn, first digit not 0 or 8"},
    {"us_phone", &validate_us_phone, "US/NANP phone: area code and exchange rules"},
    {"email", &validate_email, "email address: RFC 5321 local part and domain label shapes"},
    {"date", &validate_date, "calendar date (Y-M-D, M/D/Y, D.M.Y, or with the month's name), year 1900-2099"},
    {"npi", &validate_npi, "US NPI: 10 digits, Luhn over 80840 + number"},
    {"dea", &validate_dea, "US DEA registration: registrant letter and DEA checksum"},
    {"jwt", &validate_jwt, "JWT: base64url header decoding to a JSON object whose \"alg\" is a JOSE algorithm; JSON payload"},
    {"private_key", &validate_private_key, "private key block: BEGIN marker followed by key material"},
    {"aws_secret_key", &validate_aws_secret_key, "AWS secret access key: 40 base64 chars, mixed classes"},
    {"azure_storage_key", &validate_azure_storage_key, "Azure storage AccountKey: base64 of 64 bytes"},
    {"assignment", &validate_assignment, "password=/secret: assignment or URL credentials: a literal, non-placeholder value of 8+ chars"},
    {"github_token", &validate_github_token, "GitHub classic / npm token: base62 CRC32 of the 30-character body in the last 6"},
}};

}  // namespace

std::span<const ValidatorEntry> validators() { return kRegistry; }

ValidatorFn find_validator(std::string_view name) {
  for (const ValidatorEntry& v : kRegistry) {
    if (v.name == name) return v.fn;
  }
  return nullptr;
}

bool luhn_checksum_ok(std::string_view digits) {
  if (digits.empty()) return false;
  unsigned sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (*it < '0' || *it > '9') return false;
    unsigned d = static_cast<unsigned>(*it - '0');
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

bool card_issuer_known(std::string_view digits) {
  for (const IssuerRange& r : kIssuers) {
    if (in_range(r, digits)) return true;
  }
  return in_range(kUnionPay, digits);
}

bool validate_luhn(std::string_view match, std::string& canonical) {
  if (!digits_only(match, canonical)) return false;
  return card_issuer_known(canonical) && luhn_checksum_ok(canonical);
}

bool validate_us_ssn(std::string_view match, std::string& canonical) {
  if (!digits_only(match, canonical) || canonical.size() != 9) return false;
  std::string_view d = canonical;
  unsigned area = prefix_value(d, 3);
  unsigned group = prefix_value(d.substr(3), 2);
  unsigned serial = prefix_value(d.substr(5), 4);
  // SSA: area 000, 666 and 900-999 are never issued (9xx are ITINs); nor group 00 or
  // serial 0000.
  if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0) return false;
  for (std::string_view ad : kSsnAdvertising) {
    if (d == ad) return false;
  }
  return true;
}

bool validate_aws_key_id(std::string_view match, std::string& canonical) {
  canonical.clear();
  if (match.size() != 20) return false;
  bool prefix_ok = false;
  for (std::string_view p : kAwsKeyPrefixes) prefix_ok = prefix_ok || match.substr(0, 4) == p;
  if (!prefix_ok) return false;
  for (char c : match.substr(4)) {
    if (!is_base32_upper(c)) return false;
  }
  canonical.assign(match);
  return true;
}


// ---------------------------------------------------------------------------------------
// Validators added with the full detector library. Shared helpers first.

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_alnum(char c) { return is_digit(c) || is_upper(c) || is_lower(c); }
bool is_base64(char c) { return is_alnum(c) || c == '+' || c == '/'; }
char to_upper(char c) { return is_lower(c) ? static_cast<char>(c - 'a' + 'A') : c; }
char to_lower(char c) { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

// Copies `match` without spaces and dashes into `canonical`.
void compact(std::string_view match, std::string& canonical) {
  canonical.clear();
  for (char c : match) {
    if (c != ' ' && c != '-') canonical.push_back(c);
  }
}

struct IbanCountry {
  char code[3];
  std::uint8_t length;
};

// ISO 13616 IBAN registry (SWIFT, release of 2024): every country listed there and the
// length of its IBANs. Territories that use their parent's format (GF, GP, JE, AX, ...)
// write the parent's code and are covered by it.
constexpr IbanCountry kIbanCountries[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BG", 22}, {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22},
    {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20},
    {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22},
    {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HN", 28}, {"HR", 21},
    {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30},
    {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20},
    {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20},
    {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23},
    {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22},
    {"RU", 33}, {"SA", 24}, {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24},
    {"SM", 27}, {"SO", 23}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26},
    {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};

// ISO 3166-1 alpha-2, concatenated (two letters each), plus XK.
constexpr std::string_view kIsoCountries =
    "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZCACCCDCFCGCH"
    "CICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFOFRGAGBGDGEGFGGGHGIGLGMGN"
    "GPGQGRGSGTGUGWGYHKHMHNHRHTHUIDIEILIMINIOIQIRISITJEJMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLI"
    "LKLRLSLTLULVLYMAMCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMTMUMVMWMXMYMZNANCNENFNGNINLNONPNRNUNZOM"
    "PAPEPFPGPHPKPLPMPNPRPSPTPWPYQARERORSRURWSASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZTCTD"
    "TFTGTHTJTKTLTMTNTOTRTTTVTWTZUAUGUMUSUYUZVAVCVEVGVIVNVUWFWSXKYEYTZAZMZW";

// Verhoeff's dihedral-group tables (multiplication, permutation).
constexpr std::uint8_t kVerhoeffD[10][10] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
    {2, 3, 4, 0, 1, 7, 8, 9, 5, 6}, {3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
    {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
    {6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
    {8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}};
constexpr std::uint8_t kVerhoeffP[8][10] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
    {5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
    {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
    {2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8}};

int base64_value(char c) {
  if (is_upper(c)) return c - 'A';
  if (is_lower(c)) return c - 'a' + 26;
  if (is_digit(c)) return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Decodes the first `max_out` bytes of (url-safe or standard) base64 without padding into
// `out`; returns the number of bytes, or -1 on a bad character.
int base64_prefix(std::string_view in, char* out, int max_out) {
  int n = 0;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = base64_value(c);
    if (v < 0) return -1;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n == max_out) return n;
      out[n++] = static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return n;
}

bool days_ok(unsigned y, unsigned m, unsigned d) {
  static constexpr unsigned kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1 || d > kDays[m - 1]) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return !(m == 2 && d == 29 && !leap);
}

}  // namespace

bool iban_mod97_ok(std::string_view iban) {
  if (iban.size() < 5) return false;
  unsigned rem = 0;
  auto feed = [&rem](char c) {
    if (is_digit(c)) {
      rem = (rem * 10 + static_cast<unsigned>(c - '0')) % 97;
    } else {
      unsigned v = static_cast<unsigned>(to_upper(c) - 'A') + 10;  // A=10 .. Z=35
      rem = (rem * 100 + v) % 97;
    }
  };
  for (char c : iban.substr(4)) feed(c);
  for (char c : iban.substr(0, 4)) feed(c);
  return rem == 1;
}

unsigned iban_length(std::string_view country) {
  for (const IbanCountry& c : kIbanCountries) {
    if (country == std::string_view(c.code, 2)) return c.length;
  }
  return 0;
}

bool iso_country(std::string_view cc) {
  if (cc.size() != 2) return false;
  for (std::size_t i = 0; i + 1 < kIsoCountries.size(); i += 2) {
    if (kIsoCountries.substr(i, 2) == cc) return true;
  }
  return false;
}

bool verhoeff_ok(std::string_view digits) {
  if (digits.empty()) return false;
  unsigned c = 0;
  std::size_t i = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it, ++i) {
    if (!is_digit(*it)) return false;
    c = kVerhoeffD[c][kVerhoeffP[i % 8][*it - '0']];
  }
  return c == 0;
}

bool aba_checksum_ok(std::string_view d) {
  if (d.size() != 9) return false;
  static constexpr unsigned kWeights[] = {3, 7, 1};
  unsigned sum = 0;
  for (std::size_t i = 0; i < 9; ++i) {
    if (!is_digit(d[i])) return false;
    sum += kWeights[i % 3] * static_cast<unsigned>(d[i] - '0');
  }
  return sum % 10 == 0;
}

double shannon_entropy(std::string_view text) {
  if (text.empty()) return 0;
  std::array<unsigned, 256> counts{};
  for (char c : text) ++counts[static_cast<unsigned char>(c)];
  double h = 0;
  const double n = static_cast<double>(text.size());
  for (unsigned k : counts) {
    if (k == 0) continue;
    double p = k / n;
    h -= p * std::log2(p);
  }
  return h;
}

bool validate_us_itin(std::string_view match, std::string& canonical) {
  if (!digits_only(match, canonical) || canonical.size() != 9 || canonical[0] != '9') return false;
  // IRS: the fourth and fifth digits are 50-65, 70-88, 90-92 or 94-99.
  unsigned group = prefix_value(std::string_view(canonical).substr(3), 2);
  bool ok = (group >= 50 && group <= 65) || (group >= 70 && group <= 88) ||
            (group >= 90 && group <= 92) || group >= 94;
  return ok && prefix_value(std::string_view(canonical).substr(5), 4) != 0;
}

bool validate_track_data(std::string_view match, std::string& canonical) {
  // Track 1: [%]B<PAN>^<NAME>^<YYMM><service>...; track 2: [;]<PAN>=<YYMM><service>...
  std::size_t i = 0;
  while (i < match.size() && (match[i] == '%' || match[i] == ';' || match[i] == 'B')) ++i;
  std::size_t pan_end = match.find_first_of("^=", i);
  if (pan_end == std::string_view::npos) return false;
  std::size_t exp = match[pan_end] == '=' ? pan_end + 1 : match.find('^', pan_end + 1);
  if (exp == std::string_view::npos) return false;
  if (match[pan_end] == '^') ++exp;
  if (exp + 7 > match.size()) return false;
  for (std::size_t k = exp; k < exp + 7; ++k) {
    if (!is_digit(match[k])) return false;
  }
  unsigned month = prefix_value(match.substr(exp + 2), 2);
  if (month < 1 || month > 12) return false;
  if (!digits_only(match.substr(i, pan_end - i), canonical)) return false;
  return card_issuer_known(canonical) && luhn_checksum_ok(canonical);
}

bool validate_iban(std::string_view match, std::string& canonical) {
  canonical.clear();
  for (char c : match) {
    if (c == ' ' || c == '-') continue;
    if (!is_alnum(c)) return false;
    canonical.push_back(to_upper(c));
  }
  if (canonical.size() < 15 || !is_upper(canonical[0]) || !is_upper(canonical[1]) ||
      !is_digit(canonical[2]) || !is_digit(canonical[3])) {
    return false;
  }
  return iban_length(std::string_view(canonical).substr(0, 2)) == canonical.size() &&
         iban_mod97_ok(canonical);
}

bool validate_bic(std::string_view match, std::string& canonical) {
  canonical.assign(match);
  if (canonical.size() != 8 && canonical.size() != 11) return false;
  for (std::size_t i = 0; i < 6; ++i) {
    if (!is_upper(canonical[i])) return false;
  }
  for (std::size_t i = 6; i < canonical.size(); ++i) {
    if (!is_upper(canonical[i]) && !is_digit(canonical[i])) return false;
  }
  // ISO 9362: location code's second character '0' marks a test BIC; a branch starting
  // with 'X' is only ever "XXX" (the head office).
  if (canonical[7] == '0') return false;
  if (canonical.size() == 11 && canonical[8] == 'X' && canonical.substr(8) != "XXX") return false;
  return iso_country(std::string_view(canonical).substr(4, 2));
}

bool validate_aba(std::string_view match, std::string& canonical) {
  if (!digits_only(match, canonical) || canonical.size() != 9) return false;
  // Federal Reserve routing symbols: 00-12 (banks), 21-32 (thrifts), 61-72 (electronic),
  // 80 (traveller's cheques). 00 is only the US government's 000000518.
  unsigned p = prefix_value(canonical, 2);
  bool prefix_ok = p <= 12 || (p >= 21 && p <= 32) || (p >= 61 && p <= 72) || p == 80;
  if (!prefix_ok || canonical == "000000000") return false;
  return aba_checksum_ok(canonical);
}

bool validate_aadhaar(std::string_view match, std::string& canonical) {
  // The grouped patterns take a delimiter on each side: trim to the digits.
  while (!match.empty() && !is_digit(match.front())) match.remove_prefix(1);
  while (!match.empty() && !is_digit(match.back())) match.remove_suffix(1);
  if (!digits_only(match, canonical) || canonical.size() != 12) return false;
  // UIDAI never issues numbers starting with 0 or 1.
  if (canonical[0] < '2') return false;
  return verhoeff_ok(canonical);
}

bool validate_in_pan(std::string_view match, std::string& canonical) {
  canonical.assign(match);
  if (canonical.size() != 10) return false;
  for (std::size_t i = 0; i < 10; ++i) {
    bool digit_place = i >= 5 && i <= 8;
    if (digit_place ? !is_digit(canonical[i]) : !is_upper(canonical[i])) return false;
  }
  // Fourth letter: the holder type (Person, Company, HUF, Firm, AOP, Trust, BOI, Local
  // authority, artificial Juridical person, Government).
  static constexpr std::string_view kHolder = "PCHFATBLJG";
  if (kHolder.find(canonical[3]) == std::string_view::npos) return false;
  return canonical.substr(5, 4) != "0000";
}

bool validate_uk_nino(std::string_view match, std::string& canonical) {
  compact(match, canonical);
  if (canonical.size() != 9) return false;
  for (std::size_t i = 0; i < 9; ++i) canonical[i] = to_upper(canonical[i]);
  const char a = canonical[0], b = canonical[1];
  if (!is_upper(a) || !is_upper(b)) return false;
  for (std::size_t i = 2; i < 8; ++i) {
    if (!is_digit(canonical[i])) return false;
  }
  if (canonical[8] < 'A' || canonical[8] > 'D') return false;
  // HMRC: D, F, I, Q, U, V are never used; O not as the second letter; and the prefixes
  // BG, GB, KN, NK, NT, TN and ZZ are not allocated.
  static constexpr std::string_view kNever = "DFIQUV";
  if (kNever.find(a) != std::string_view::npos || kNever.find(b) != std::string_view::npos ||
      b == 'O') {
    return false;
  }
  static constexpr std::array<std::string_view, 7> kBad{"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"};
  for (std::string_view p : kBad) {
    if (std::string_view(canonical).substr(0, 2) == p) return false;
  }
  return true;
}

bool validate_ca_sin(std::string_view match, std::string& canonical) {
  if (!digits_only(match, canonical) || canonical.size() != 9) return false;
  // 0 is reserved for fictitious numbers and 8 is not allocated.
  if (canonical[0] == '0' || canonical[0] == '8') return false;
  return luhn_checksum_ok(canonical);
}

bool validate_us_phone(std::string_view match, std::string& canonical) {
  canonical.clear();
  for (char c : match) {
    if (is_digit(c)) {
      canonical.push_back(c);
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')' && c != '+') {
      return false;
    }
  }
  if (canonical.size() == 11 && canonical[0] == '1') canonical.erase(0, 1);
  if (canonical.size() != 10) return false;
  // NANP: area code and exchange start with 2-9 and are not N11 service codes.
  auto nxx_ok = [](std::string_view x) { return x[0] >= '2' && !(x[1] == '1' && x[2] == '1'); };
  std::string_view d = canonical;
  if (!nxx_ok(d.substr(0, 3)) || !nxx_ok(d.substr(3, 3))) return false;
  // 555-0100..0199 are reserved for fiction (films, examples).
  return !(d.substr(3, 3) == "555" && d.substr(6, 2) == "01");
}

bool validate_email(std::string_view match, std::string& canonical) {
  // The pattern takes the delimiter after the domain: trim it (and a sentence's full stop).
  while (!match.empty() && !is_alnum(match.back())) match.remove_suffix(1);
  // A local part starts with a letter or digit: "...ann@x.example" is ann's address.
  while (!match.empty() && match.front() != '@' && !is_alnum(match.front())) match.remove_prefix(1);
  std::size_t at = match.find('@');
  if (at == 0 || at == std::string_view::npos || at > 64) return false;
  std::string_view local = match.substr(0, at), domain = match.substr(at + 1);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return false;
  }
  if (domain.empty() || domain.size() > 253) return false;
  std::size_t label_start = 0;
  std::size_t labels = 0;
  for (std::size_t i = 0; i <= domain.size(); ++i) {
    if (i == domain.size() || domain[i] == '.') {
      std::string_view label = domain.substr(label_start, i - label_start);
      if (label.empty() || label.front() == '-' || label.back() == '-') return false;
      ++labels;
      label_start = i + 1;
    }
  }
  std::string_view tld = domain.substr(domain.rfind('.') + 1);
  if (labels < 2 || tld.size() < 2) return false;
  for (char c : tld) {
    if (!is_upper(c) && !is_lower(c)) return false;
  }
  canonical.clear();
  for (char c : match) canonical.push_back(to_lower(c));
  return true;
}

namespace {

// Month from its English name or abbreviation ("Mar", "March", "Sept"), case-insensitive;
// 0 when it is not one.
unsigned month_from_name(std::string_view w) {
  static constexpr std::array<std::string_view, 12> kMonths{
      "january", "february", "march", "april", "may", "june", "july", "august", "september",
      "october", "november", "december"};
  if (w.size() < 3) return 0;
  for (unsigned m = 0; m < 12; ++m) {
    const std::string_view full = kMonths[m];
    if (w.size() > full.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < w.size() && same; ++i) same = to_lower(w[i]) == full[i];
    // A prefix of the full name: "mar", "marc" is a typo we accept, "sept" is usual.
    if (same) return m + 1;
  }
  return 0;
}

// "March 14, 1987", "Mar. 14th 1987", "14 March 1987", "14th of March, 1987",
// "14-Mar-1987": one month name, a day of 1-2 digits (ordinal suffix allowed) and a
// four-digit year, in either order of day and month, the year last.
bool written_date(std::string_view match, unsigned& y, unsigned& m, unsigned& d) {
  y = m = d = 0;
  unsigned numbers[2] = {0, 0};
  std::size_t num_len[2] = {0, 0};
  std::size_t nums = 0;
  bool day_first = false;
  std::size_t i = 0;
  while (i < match.size()) {
    const char c = match[i];
    if (is_digit(c)) {
      if (nums == 2) return false;
      std::size_t j = i;
      unsigned v = 0;
      while (j < match.size() && is_digit(match[j]) && j - i < 5) v = v * 10 + static_cast<unsigned>(match[j++] - '0');
      numbers[nums] = v;
      num_len[nums] = j - i;
      if (nums == 0 && m == 0) day_first = true;
      ++nums;
      // An ordinal suffix belongs to the day.
      if (j + 1 < match.size() && (is_lower(match[j]) || is_upper(match[j])) && nums == 1) {
        const char a = to_lower(match[j]), b = to_lower(match[j + 1]);
        const bool ordinal = (a == 's' && b == 't') || (a == 'n' && b == 'd') || (a == 'r' && b == 'd') ||
                             (a == 't' && b == 'h');
        if (!ordinal) return false;
        j += 2;
      }
      i = j;
    } else if (is_lower(c) || is_upper(c)) {
      std::size_t j = i;
      while (j < match.size() && (is_lower(match[j]) || is_upper(match[j]))) ++j;
      const std::string_view word = match.substr(i, j - i);
      if (word.size() == 2 && to_lower(word[0]) == 'o' && to_lower(word[1]) == 'f') {
        // "14th of March"
      } else {
        if (m != 0) return false;
        m = month_from_name(word);
        if (m == 0) return false;
      }
      i = j;
    } else if (c == ' ' || c == ',' || c == '.' || c == '-') {
      ++i;
    } else {
      return false;
    }
  }
  (void)day_first;
  if (m == 0 || nums != 2 || num_len[0] > 2 || num_len[1] != 4) return false;
  d = numbers[0];
  y = numbers[1];
  return true;
}

}  // namespace

bool validate_date(std::string_view match, std::string& canonical) {
  bool has_letter = false;
  for (char c : match) has_letter |= is_lower(c) || is_upper(c);
  if (has_letter) {
    unsigned y, m, d;
    if (!written_date(match, y, m, d) || !days_ok(y, m, d)) return false;
    unsigned ymd = y * 10000 + m * 100 + d;
    canonical.assign(8, '0');
    for (std::size_t i = 8; i-- > 0; ymd /= 10) canonical[i] = static_cast<char>('0' + ymd % 10);
    return true;
  }
  // Three numbers with one kind of separator: Y-M-D when the first has four digits,
  // D.M.Y with dots, M/D/Y (US) otherwise.
  unsigned part[3] = {0, 0, 0};
  std::size_t len[3] = {0, 0, 0};
  char sep = 0;
  std::size_t k = 0;
  for (char c : match) {
    if (is_digit(c)) {
      if (len[k] == 4) return false;
      part[k] = part[k] * 10 + static_cast<unsigned>(c - '0');
      ++len[k];
    } else if (c == '-' || c == '/' || c == '.') {
      if ((sep && c != sep) || k == 2 || len[k] == 0) return false;
      sep = c;
      ++k;
    } else {
      return false;
    }
  }
  if (k != 2 || len[2] == 0) return false;
  unsigned y, m, d;
  if (len[0] == 4) {
    y = part[0], m = part[1], d = part[2];
  } else if (len[2] == 4 && sep == '.') {
    d = part[0], m = part[1], y = part[2];
  } else if (len[2] == 4) {
    m = part[0], d = part[1], y = part[2];
  } else {
    return false;
  }
  if (!days_ok(y, m, d)) return false;
  unsigned ymd = y * 10000 + m * 100 + d;
  canonical.assign(8, '0');
  for (std::size_t i = 8; i-- > 0; ymd /= 10) canonical[i] = static_cast<char>('0' + ymd % 10);
  return true;
}

bool validate_npi(std::string_view match, std::string& canonical) {
  if (!digits_only(match, canonical) || canonical.size() != 10) return false;
  if (canonical[0] != '1' && canonical[0] != '2') return false;
  // CMS: the check digit is Luhn over the number prefixed with 80840 (the ISO card issuer
  // prefix for US health); adding the prefix's fixed weighted sum (24) is the same thing.
  unsigned sum = 24;
  bool twice = true;  // rightmost digit of the first nine is doubled
  for (std::size_t i = 9; i-- > 0;) {
    unsigned v = static_cast<unsigned>(canonical[i] - '0');
    if (twice) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
    sum += v;
    twice = !twice;
  }
  unsigned check = (10 - sum % 10) % 10;
  return check == static_cast<unsigned>(canonical[9] - '0');
}

bool validate_dea(std::string_view match, std::string& canonical) {
  canonical.assign(match);
  if (canonical.size() != 9) return false;
  // Registrant type letter, then the registrant's last-name initial (or 9 for some
  // business registrants), then six digits and a check digit.
  static constexpr std::string_view kTypes = "ABCDEFGHJKLMPRSTUX";
  if (kTypes.find(canonical[0]) == std::string_view::npos) return false;
  if (!is_upper(canonical[1]) && canonical[1] != '9') return false;
  unsigned d[7];
  for (std::size_t i = 0; i < 7; ++i) {
    if (!is_digit(canonical[2 + i])) return false;
    d[i] = static_cast<unsigned>(canonical[2 + i] - '0');
  }
  unsigned sum = d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5]);
  return sum % 10 == d[6];
}

namespace {

// The value of a top-level string member `"name": "value"` in a flat JSON object, or an
// empty view. Enough for a JOSE header, which is a small flat object.
std::string_view json_string_member(std::string_view obj, std::string_view name) {
  for (std::size_t p = obj.find('"'); p != std::string_view::npos; p = obj.find('"', p + 1)) {
    if (obj.substr(p + 1, name.size()) != name || obj.substr(p + 1 + name.size(), 1) != "\"") continue;
    std::size_t q = p + 2 + name.size();
    while (q < obj.size() && (obj[q] == ' ' || obj[q] == '\t')) ++q;
    if (q >= obj.size() || obj[q] != ':') continue;
    ++q;
    while (q < obj.size() && (obj[q] == ' ' || obj[q] == '\t')) ++q;
    if (q >= obj.size() || obj[q] != '"') return {};
    const std::size_t end = obj.find('"', q + 1);
    if (end == std::string_view::npos) return {};
    return obj.substr(q + 1, end - q - 1);
  }
  return {};
}

// JOSE algorithm names (RFC 7518 and RFC 8037), for JWS "alg" and JWE key management.
bool jose_alg(std::string_view a) {
  static constexpr std::array<std::string_view, 27> kAlgs{
      "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512",
      "PS256", "PS384", "PS512", "EdDSA", "ES256K", "none", "RSA1_5", "RSA-OAEP",
      "RSA-OAEP-256", "A128KW", "A192KW", "A256KW", "dir", "ECDH-ES", "ECDH-ES+A128KW",
      "ECDH-ES+A256KW", "A256GCMKW", "PBES2-HS256+A128KW"};
  for (std::string_view k : kAlgs) {
    if (a == k) return true;
  }
  return false;
}

}  // namespace

bool validate_jwt(std::string_view match, std::string& canonical) {
  // Header, a dot, then the start of the payload ("eyJ" is base64url of '{"'). The
  // signature is past the 256 bytes the scanner can validate, so it is not checked.
  const std::size_t dot = match.find('.');
  if (dot == std::string_view::npos || match.substr(dot + 1, 3) != "eyJ") return false;
  const std::string_view header = match.substr(0, dot);
  // base64url without padding never leaves a single character over.
  if (header.size() % 4 == 1) return false;
  // The whole header (the pattern bounds it at 103 characters, 77 bytes decoded).
  char head[80];
  const int n = base64_prefix(header, head, sizeof head);
  if (n < 8) return false;
  std::string_view h(head, static_cast<std::size_t>(n));
  while (!h.empty() && (h.back() == ' ' || h.back() == '\n' || h.back() == '\r')) h.remove_suffix(1);
  // A complete JSON object of printable text...
  if (h.front() != '{' || h.back() != '}') return false;
  for (char c : h) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') return false;
  }
  // ...that names its algorithm, which every JWS and JWE header must (RFC 7515 4.1.1).
  if (!jose_alg(json_string_member(h, "alg"))) return false;
  // The payload's first characters decode to the start of a JSON object with a member.
  char body[12];
  const int m = base64_prefix(match.substr(dot + 1), body, sizeof body);
  if (m < 3 || body[0] != '{' || body[1] != '"') return false;
  for (int i = 2; i < m; ++i) {
    if (static_cast<unsigned char>(body[i]) < 0x20) return false;
  }
  std::fill(std::begin(head), std::end(head), 0);
  std::fill(std::begin(body), std::end(body), 0);
  canonical.assign(match);
  return true;
}

bool validate_github_token(std::string_view match, std::string& canonical) {
  // <prefix>_<30 base62 characters><CRC32 of those 30, base62, 6 characters>.
  const std::size_t us = match.find('_');
  if (us == std::string_view::npos) return false;
  if (match.starts_with("github_pat_")) {
    // Fine-grained: no published checksum; the pattern and entropy gate decide.
    canonical.assign(match);
    return true;
  }
  const std::string_view body = match.substr(us + 1);
  if (body.size() != 36) return false;
  std::uint32_t crc = 0xFFFFFFFFu;
  for (char c : body.substr(0, 30)) {
    if (!is_alnum(c)) return false;
    crc ^= static_cast<unsigned char>(c);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  crc = ~crc;
  static constexpr std::string_view kBase62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  char check[6];
  for (int i = 5; i >= 0; --i) {
    check[i] = kBase62[crc % 62];
    crc /= 62;
  }
  if (crc != 0 || body.substr(30) != std::string_view(check, 6)) return false;
  canonical.assign(match);
  return true;
}

bool validate_private_key(std::string_view match, std::string& canonical) {
  // Canonical: the key material after the BEGIN line (the same key found twice hashes the
  // same); a block whose body has not started within the match keeps the whole marker.
  std::size_t begin = match.find("-----BEGIN ");
  if (begin == std::string_view::npos) return false;
  std::size_t close = match.find("-----", begin + 11);
  if (close == std::string_view::npos) return false;
  canonical.clear();
  for (char c : match.substr(close + 5)) {
    if (is_base64(c) || c == '=') canonical.push_back(c);
  }
  if (canonical.size() < 4) canonical.assign(match.substr(begin, close + 5 - begin));
  return true;
}

bool validate_aws_secret_key(std::string_view match, std::string& canonical) {
  // The pattern includes the delimiter on either side (base64 has no word boundary).
  std::size_t b = 0, e = match.size();
  while (b < e && !is_base64(match[b])) ++b;
  while (e > b && !is_base64(match[e - 1])) --e;
  std::string_view v = match.substr(b, e - b);
  if (v.size() != 40) return false;
  bool upper = false, lower = false, digit = false;
  for (char c : v) {
    if (!is_base64(c)) return false;
    upper |= is_upper(c);
    lower |= is_lower(c);
    digit |= is_digit(c);
  }
  // 40 random base64 characters miss a class with odds below 1e-4; hex digests, words
  // and paths (the usual 40-character runs) miss one.
  if (!(upper && lower && digit)) return false;
  canonical.assign(v);
  return true;
}

bool validate_azure_storage_key(std::string_view match, std::string& canonical) {
  // "AccountKey=<key>" from a connection string, or the bare key with the delimiter the
  // pattern takes on each side.
  std::string_view key = match;
  if (key.starts_with("AccountKey=")) key.remove_prefix(11);
  if (!key.empty() && !is_base64(key.front())) key.remove_prefix(1);
  while (!key.empty() && !is_base64(key.back()) && key.back() != '=') key.remove_suffix(1);
  if (key.size() != 88 || key.substr(86) != "==") return false;
  char bytes[64];
  if (base64_prefix(key.substr(0, 86), bytes, sizeof bytes) != 64) return false;
  std::fill(std::begin(bytes), std::end(bytes), 0);
  canonical.assign(key);
  return true;
}

bool validate_assignment(std::string_view match, std::string& canonical) {
  std::string_view v;
  bool quoted = false;
  if (const std::size_t scheme = match.find("://"); scheme != std::string_view::npos) {
    // scheme://user:password@host: the value is between the user's ':' and the '@'.
    const std::size_t colon = match.find(':', scheme + 3);
    const std::size_t at = match.rfind('@');
    if (colon == std::string_view::npos || at == std::string_view::npos || at <= colon) return false;
    v = match.substr(colon + 1, at - colon - 1);
    quoted = true;  // a literal by construction
  } else {
    // name ["']? [=:] ["']? value: the value is what follows the first '=' or ':'.
    std::size_t op = match.find_first_of("=:");
    if (op == std::string_view::npos) return false;
    v = match.substr(op + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    quoted = !v.empty() && (v.front() == '"' || v.front() == '\'');
  }
  auto junk = [](char c) {
    return c == ' ' || c == '\t' || c == '"' || c == '\'' || c == '&' || c == ',' || c == ';' ||
           c == '<' || c == '>' || c == '\r' || c == '\n';
  };
  while (!v.empty() && junk(v.front())) v.remove_prefix(1);
  while (!v.empty() && junk(v.back())) v.remove_suffix(1);
  if (v.size() < 8) return false;
  // Templates, placeholders and masked values are not secrets.
  static constexpr std::array<std::string_view, 7> kPlaceholder{
      "${", "{{", "<", "xxxx", "****", "changeme", "password"};
  // printf's %s is lower case; "%S" inside a random password is just two characters.
  if (v.find("%s") != std::string_view::npos) return false;
  // Compared case-insensitively in place: no copy of the value besides `canonical`.
  auto contains = [v](std::string_view needle) {
    for (std::size_t i = 0; i + needle.size() <= v.size(); ++i) {
      std::size_t k = 0;
      while (k < needle.size() && to_lower(v[i + k]) == needle[k]) ++k;
      if (k == needle.size()) return true;
    }
    return false;
  };
  for (std::string_view p : kPlaceholder) {
    if (contains(p)) return false;
  }
  if (contains("undefined") && v.size() == 9) return false;
  if (!quoted) {
    // Unquoted, the value may be code that fetches the secret rather than the secret:
    // os.environ["X"], os.getenv("X"), config.get(...), process.env.DB_PASS,
    // settings.API_SECRET. Literal secrets in config files (.env, YAML, properties)
    // are unquoted too, so only these shapes are refused: a call or an index, or a
    // dotted name made of identifiers.
    std::size_t ident = 0;
    while (ident < v.size() && (is_alnum(v[ident]) || v[ident] == '_' || v[ident] == '.')) ++ident;
    // name( or name[ that runs to the end of the value, or to its closing bracket (the
    // pattern stops the value at a quote: os.getenv("X") gives `os.getenv(`).
    const char last = v.back();
    const bool call = ident > 0 && ident < v.size() && (v[ident] == '(' || v[ident] == '[') &&
                      (is_lower(v[0]) || is_upper(v[0]) || v[0] == '_') &&
                      (last == '(' || last == '[' || last == ')' || last == ']');
    if (call) return false;
    bool dotted_name = v.find('.') != std::string_view::npos && v.front() != '.' && v.back() != '.';
    for (char c : v) dotted_name = dotted_name && (is_alnum(c) || c == '_' || c == '.');
    if (dotted_name && !is_digit(v.front())) return false;
    // $VAR, $(command), %VAR%
    if (v.front() == '$' && v.size() > 1 && (is_upper(v[1]) || v[1] == '_' || v[1] == '{')) return false;
    if (v.front() == '%' && v.back() == '%') return false;
  }
  canonical.assign(v);
  return true;
}

}  // namespace dlp::signatures
