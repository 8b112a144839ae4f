// Validators: pure functions, found by name, that decide whether a raw Hyperscan match is
// really the thing its detector is after (a Luhn-valid card of a known issuer, an SSN the
// SSA could have issued, ...). A detector names its validator in its pack; adding one is a
// function in validators.cc plus one line in its registry table.
//
//   ValidatorFn v = find_validator("luhn");
//   std::string canonical;
//   if (v && v("4111 1111 1111 1111", canonical)) { /* canonical == "4111111111111111" */ }
//
// Contract: a validator reads only `match`, writes the normalised value (digits only for
// cards and SSNs) into `canonical`, and returns whether the match is accepted. It must not
// keep the value anywhere else: the caller wipes `canonical` right after using it.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace dlp::signatures {

using ValidatorFn = bool (*)(std::string_view match, std::string& canonical);

struct ValidatorEntry {
  std::string_view name;
  ValidatorFn fn;
  std::string_view summary;  // one line, for `dlpctl detectors` and the README
};

// Every registered validator, in registry order.
std::span<const ValidatorEntry> validators();
// nullptr when no validator has that name.
ValidatorFn find_validator(std::string_view name);

// The building blocks, exposed for tests and for future validators that reuse them.
bool luhn_checksum_ok(std::string_view digits);
// Whether a digits-only card number has a prefix and length some issuer uses.
bool card_issuer_known(std::string_view digits);

// ISO 7064 MOD 97-10 over an IBAN (country and check digits moved to the end).
bool iban_mod97_ok(std::string_view compact_iban);
// Length the ISO 13616 IBAN registry gives a country's IBAN; 0 for a country not in it.
unsigned iban_length(std::string_view country);
// ISO 3166-1 alpha-2 country code (plus XK, which SWIFT uses for Kosovo).
bool iso_country(std::string_view two_letters);
// Verhoeff check over a digits-only string including its check digit.
bool verhoeff_ok(std::string_view digits);
// ABA routing number checksum: 3-7-1 weights, sum divisible by 10.
bool aba_checksum_ok(std::string_view nine_digits);
// Shannon entropy in bits per character.
double shannon_entropy(std::string_view text);

// Registered validators.
bool validate_luhn(std::string_view match, std::string& canonical);
bool validate_us_ssn(std::string_view match, std::string& canonical);
bool validate_aws_key_id(std::string_view match, std::string& canonical);
bool validate_us_itin(std::string_view match, std::string& canonical);
bool validate_track_data(std::string_view match, std::string& canonical);
bool validate_iban(std::string_view match, std::string& canonical);
bool validate_bic(std::string_view match, std::string& canonical);
bool validate_aba(std::string_view match, std::string& canonical);
bool validate_aadhaar(std::string_view match, std::string& canonical);
bool validate_in_pan(std::string_view match, std::string& canonical);
bool validate_uk_nino(std::string_view match, std::string& canonical);
bool validate_ca_sin(std::string_view match, std::string& canonical);
bool validate_us_phone(std::string_view match, std::string& canonical);
bool validate_email(std::string_view match, std::string& canonical);
bool validate_date(std::string_view match, std::string& canonical);
bool validate_npi(std::string_view match, std::string& canonical);
bool validate_dea(std::string_view match, std::string& canonical);
bool validate_jwt(std::string_view match, std::string& canonical);
bool validate_private_key(std::string_view match, std::string& canonical);
bool validate_aws_secret_key(std::string_view match, std::string& canonical);
bool validate_azure_storage_key(std::string_view match, std::string& canonical);
bool validate_assignment(std::string_view match, std::string& canonical);
bool validate_github_token(std::string_view match, std::string& canonical);

}  // namespace dlp::signatures
