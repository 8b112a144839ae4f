// Detector definitions: what sensitive data looks like. Detectors are data (YAML packs in
// signatures/packs/), never code; a validator is a pure function found by name.
//
//   auto set = dlp::signatures::load_pack_file("signatures/packs/starter.yaml");
//   if (!set) { report(set.error().message); }          // "file:line: reason"
//   auto builtin = dlp::signatures::builtin_detectors(); // the packs compiled in
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/dlp/result.h"

namespace dlp::signatures {

enum class Confidence : std::uint8_t { low = 0, medium = 1, high = 2 };
std::string_view confidence_name(Confidence c);

// How a value is shown in any output. The cleartext never leaves the scanner.
enum class MaskRule : std::uint8_t {
  first6_last4,  // payment cards: 411111******1111
  last4,         // everything else: *****6789
};

// Words near a match that make it likely to be what the detector is after ("card number"
// before a 16-digit run, "passport" before A1234567). Keywords are compiled into the same
// Hyperscan database as the patterns, so context costs no second pass over the bytes.
struct ContextRule {
  std::vector<std::string> keywords;   // case-insensitive, word-bounded literals
  std::vector<std::string> detectors;  // ids whose validated matches count as context
                                       // (an AWS secret near an AWS access key id)
  std::uint32_t window = 64;           // bytes between the match and the keyword, either side
  bool empty() const { return keywords.empty() && detectors.empty(); }
};

// Where a value starts before its pattern's match. Hyperscan finds an email address
// thousands of times faster from its '@' than from the first letter of a local part that
// could be any word of the text, so the pattern starts one byte before the '@' and the
// scanner walks left over the local part's bytes. A walk longer than `max` means the
// value is wider than the detector allows: the match is dropped.
struct LeftExtension {
  std::bitset<256> bytes;  // the class walked over
  std::uint32_t max = 0;   // bytes at most; 0 = no extension
  std::string spec;        // as written in the pack ("A-Za-z0-9._%+-"), for listings
};

// Move `from` left over bytes of the class, at most e.max of them, never before `lo` (the
// first byte still available). False when the class goes on past e.max.
template <class ByteAt>
bool extend_left(const LeftExtension& e, std::uint64_t& from, std::uint64_t lo, ByteAt&& byte_at) {
  std::uint32_t n = 0;
  while (from > lo && n < e.max && e.bytes.test(static_cast<unsigned char>(byte_at(from - 1)))) {
    --from;
    ++n;
  }
  return !(n == e.max && from > lo && e.bytes.test(static_cast<unsigned char>(byte_at(from - 1))));
}

struct Detector {
  std::string id;        // stable, dotted: "pci.credit_card"
  std::string name;      // human: "Payment card number"
  std::string category;  // Finding.category: "credit_card", "us_ssn", "aws_access_key"
  std::string severity;  // low | medium | high | critical
  std::vector<std::string> patterns;  // Hyperscan expressions, bounded width
  std::string validator;              // registered validator name, or "" for none
  MaskRule mask = MaskRule::last4;
  Confidence confidence = Confidence::medium;  // reported when the match validates
  std::uint32_t min_count = 1;  // matches needed in one content stream to report
  std::string source;           // "file:line" where it was defined, for errors
  ContextRule context;          // raises a validated match to `high`
  bool require_context = false; // report only matches with context inside the window
  double entropy_min = 0;       // bits per character the canonical value needs; 0 = any
  std::string dictionary;       // file the dictionary pattern came from, "" for none
  LeftExtension extend_left;    // the value starts before the match (email local parts)
};

struct DetectorSet {
  std::vector<Detector> detectors;
  std::string digest;  // SHA-256 over the pack texts: a key for the compiled-db cache
};

// Parse one pack. `origin` names the text in errors ("pci.yaml"); a `dictionary:` file is
// read relative to the directory part of `origin`.
Result<DetectorSet> parse_pack(std::string_view yaml_text, std::string_view origin);
Result<DetectorSet> load_pack_file(const std::string& path);
// Merge packs; duplicate ids are an error naming both places. The merged digest is the
// SHA-256 of the member digests in order; a single set keeps its own digest.
Result<DetectorSet> merge(std::vector<DetectorSet> sets);
// A case-insensitive, word-bounded alternation of literal terms (one Hyperscan pattern per
// chunk of terms): what a `dictionary:` file becomes. Terms are escaped, never regexes.
std::vector<std::string> dictionary_patterns(const std::vector<std::string>& terms);
// "A-Za-z0-9._%+-": ASCII bytes and ranges, a '-' first or last meaning itself.
Result<std::bitset<256>> parse_byte_class(std::string_view spec);
// The packs embedded in the binary at build time.
const DetectorSet& builtin_detectors();

}  // namespace dlp::signatures
