// Validators and their registry. Each function is pure and allocation-free apart from
// writing `canonical`, whose capacity the scanner reserves once per worker.
#include "signatures/validators.h"

#include <array>
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

constexpr std::array<ValidatorEntry, 3> kRegistry{{
    {"luhn", &validate_luhn, "payment card: Luhn checksum and a known issuer prefix/length"},
    {"us_ssn", &validate_us_ssn, "US SSN: SSA area/group/serial rules, advertising numbers"},
    {"aws_key_id", &validate_aws_key_id, "AWS access key id: known prefix, 20 chars A-Z2-7"},
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

}  // namespace dlp::signatures
