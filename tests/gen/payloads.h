// Application payloads for the generator: HTTP/1.1 requests and responses with realistic
// headers, and planted values from a seeded std::mt19937_64 so every run is identical:
// payment card numbers per brand with a correct Luhn digit (and Luhn-invalid decoys), US
// SSNs that follow the SSA rules (and SSA-invalid decoys), AWS access key ids, and benign
// filler (forms, JSON, prose with order ids, timestamps and phone numbers) that contains
// none of those.
//
//   std::mt19937_64 rng(42);
//   std::string card = make_card(rng, CardBrand::kVisa);          // 16 digits, Luhn-valid
//   std::string body = "name=alice&card=" + card + "&" + benign_form(rng, 5);
//   std::string req = http_post("shop.example", "/checkout", body,
//                               "application/x-www-form-urlencoded", /*chunked=*/true, 256);
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dlp::testgen {

// ---- HTTP/1.1 ----
// POST with Host, User-Agent, Accept, Content-Type and either Content-Length or
// Transfer-Encoding: chunked (body split into chunk_size-byte chunks, hex sizes).
std::string http_post(std::string_view host, std::string_view url, std::string_view body,
                      std::string_view content_type = "application/x-www-form-urlencoded",
                      bool chunked = false, std::size_t chunk_size = 1024);
std::string http_get(std::string_view host, std::string_view url);
// A response with Date, Server, Content-Type, Content-Length.
std::string http_response(int status, std::string_view body,
                          std::string_view content_type = "text/html; charset=utf-8");
// RFC 9112 chunked transfer coding of `body` (last-chunk "0\r\n\r\n", no trailers).
std::string chunked_encode(std::string_view body, std::size_t chunk_size);
// application/x-www-form-urlencoded (RFC 3986 unreserved characters kept, space as '+').
std::string form_urlencode(const std::vector<std::pair<std::string, std::string>>& fields);

// ---- payment cards ----
enum class CardBrand {
  kVisa,          // 4, 16 digits
  kMastercard,    // 51-55, 16 digits
  kMastercard2,   // 2221-2720, 16 digits
  kAmex,          // 34/37, 15 digits
  kDiscover,      // 6011 / 644-649 / 65, 16 digits
};
inline constexpr CardBrand kAllCardBrands[] = {CardBrand::kVisa, CardBrand::kMastercard,
                                               CardBrand::kMastercard2, CardBrand::kAmex,
                                               CardBrand::kDiscover};
const char* card_brand_name(CardBrand brand);
// Digits only, brand prefix and length, Luhn-valid.
std::string make_card(std::mt19937_64& rng, CardBrand brand);
// Same prefix and length but the check digit is wrong (Luhn-invalid).
std::string make_luhn_invalid_card(std::mt19937_64& rng, CardBrand brand);
// Groups digits with `sep`: 4-4-4-4 (16 digits) or 4-6-5 (15 digits, Amex).
std::string format_card(std::string_view digits, char sep = ' ');
// Luhn check over the digits of `number`; spaces and dashes are skipped, any other
// non-digit makes it false; fewer than 2 digits is false.
bool luhn_valid(std::string_view number);
// The digit that makes `digits_without_check` + digit Luhn-valid.
char luhn_check_digit(std::string_view digits_without_check);
// Which brand the prefix/length match, if any (digits only).
bool card_matches_brand(std::string_view digits, CardBrand brand);

// ---- US SSN (formatted ddd-dd-dddd) ----
std::string make_ssn(std::mt19937_64& rng);
enum class SsnDefect { kArea000, kArea666, kArea9xx, kGroup00, kSerial0000 };
inline constexpr SsnDefect kAllSsnDefects[] = {SsnDefect::kArea000, SsnDefect::kArea666,
                                               SsnDefect::kArea9xx, SsnDefect::kGroup00,
                                               SsnDefect::kSerial0000};
std::string make_invalid_ssn(std::mt19937_64& rng, SsnDefect defect);
// ddd-dd-dddd with area not 000/666/900-999, group not 00, serial not 0000.
bool ssn_valid(std::string_view ssn);

// ---- AWS access key id: "AKIA" + 16 characters of [A-Z2-7] ----
std::string make_aws_key_id(std::mt19937_64& rng);
bool aws_key_id_valid(std::string_view key);

// ---- benign filler (no Luhn-valid 13-19 digit run, no ddd-dd-dddd, no "AKIA") ----
// Lorem-like prose of about `approx_bytes`, sprinkled with order ids, ISO timestamps,
// phone numbers and Luhn-invalid 16-digit tracking numbers.
std::string benign_text(std::mt19937_64& rng, std::size_t approx_bytes);
// `fields` urlencoded form fields (name, email, comment, order id, quantity, ...).
std::string benign_form(std::mt19937_64& rng, std::size_t fields);
// A JSON object of about `approx_bytes` (an event/telemetry batch).
std::string benign_json(std::mt19937_64& rng, std::size_t approx_bytes);
// True when `text` contains anything a DLP detector for cards, SSNs or AWS keys could
// fire on: a Luhn-valid run of 13-19 digits (separated by nothing, single spaces or
// dashes), an SSA-valid ddd-dd-dddd, or "AKIA" + 16 [A-Z2-7]. Used to keep filler clean.
bool contains_sensitive(std::string_view text);

// ---- any Luhn-checked number (JCB, Diners, UnionPay, NPI bodies, ...) ----
// `prefix` followed by random digits up to `length` digits, the last one the Luhn check
// digit. Throws std::invalid_argument when prefix.size() >= length.
std::string make_luhn_number(std::mt19937_64& rng, std::string_view prefix, std::size_t length);

}  // namespace dlp::testgen
