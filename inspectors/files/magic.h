// What a content stream carries, recognised by its first bytes (magic), and MIME names by
// file extension for the files that have no magic. Internal to the file layer.
//
//   Sniff s = sniff(first_bytes, /*final=*/false);
//   if (s == Sniff::need_more) hold the bytes (at most kSniffMax) and ask again;
#pragma once

#include <cstddef>
#include <string_view>

#include "common/dlp/bytes.h"

namespace dlp::inspectors::files {

enum class Sniff : unsigned char {
  need_more,  // a prefix of some magic: hold the bytes and ask again with more
  plain,      // anything we do not open: passed through untouched
  zip,        // PK\3\4 (also docx/xlsx/pptx/odt/...), PK\5\6 (empty), PK\7\8 (spanned)
  gzip,       // 1f 8b 08
  tar,        // "ustar" at offset 257 (POSIX and GNU)
  pdf,        // "%PDF-"
  bzip2,      // "BZh[1-9]" + block or end-of-stream magic
  xz,         // fd "7zXZ" 00
  sevenzip,   // "7z" bc af 27 1c
};

// The longest prefix sniff() ever needs (a tar header up to the end of its magic).
inline constexpr std::size_t kSniffMax = 262;

// Decides from the first bytes of a stream. With final=true (the stream ended or has a
// gap) it never answers need_more. The answer for a prefix that is decisive is the same
// for every longer prefix, so the decision does not depend on how writes were cut.
// Plain text decides at once unless it could be the name field of a tar header (no line
// break and no control byte in the first 100 bytes): then at most 100 bytes are held.
Sniff sniff(Bytes head, bool final);

// MIME type of a recognised container ("application/zip"); empty for plain.
std::string_view sniff_mime(Sniff s);

// MIME type by the file name's extension ("report.csv" → "text/csv"); empty if unknown.
std::string_view mime_by_extension(std::string_view name);

}  // namespace dlp::inspectors::files
