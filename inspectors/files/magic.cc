#include "inspectors/files/magic.h"

#include <algorithm>
#include <cstring>

namespace dlp::inspectors::files {
namespace {

struct Magic {
  std::string_view bytes;
  Sniff kind;
};

using namespace std::string_view_literals;

constexpr Magic kMagics[] = {
    {"PK\x03\x04"sv, Sniff::zip},
    {"PK\x05\x06"sv, Sniff::zip},
    {"PK\x07\x08PK\x03\x04"sv, Sniff::zip},
    {"\x1f\x8b\x08"sv, Sniff::gzip},
    {"%PDF-"sv, Sniff::pdf},
    {"\xfd" "7zXZ\x00"sv, Sniff::xz},
    {"7z\xbc\xaf\x27\x1c"sv, Sniff::sevenzip},
};

enum class Match { no, maybe, yes };

Match match(Bytes head, std::string_view magic) {
  const std::size_t n = std::min(head.size(), magic.size());
  if (std::memcmp(head.data(), magic.data(), n) != 0) return Match::no;
  return n == magic.size() ? Match::yes : Match::maybe;
}

// "BZh" + block size digit + the magic of the first block or of the end of stream.
Match match_bzip2(Bytes head) {
  const Match m = match(head, "BZh");
  if (m != Match::yes) return m;
  if (head.size() < 4) return Match::maybe;
  if (head[3] < '1' || head[3] > '9') return Match::no;
  const Bytes rest = head.subspan(4);
  const Match block = match(rest, "1AY&SY");
  const Match end = match(rest, "\x17rE8P\x90");
  if (block == Match::yes || end == Match::yes) return Match::yes;
  if (block == Match::maybe || end == Match::maybe) return Match::maybe;
  return Match::no;
}

// Could `head` be the start of a POSIX/GNU tar header? Checks the name field (printable
// characters, then NUL padding up to byte 100) and the mode field (octal digits), then
// the magic at 257. Text almost always has a line break or runs past 100 bytes with no
// NUL, so it is let go early.
Match match_tar(Bytes head) {
  const std::size_t n = head.size();
  if (n == 0) return Match::maybe;
  if (head[0] < 0x20 || head[0] == 0x7f) return Match::no;
  bool nul_seen = false;
  for (std::size_t i = 0; i < std::min<std::size_t>(n, 100); ++i) {
    const std::uint8_t c = head[i];
    if (nul_seen) {
      if (c != 0) return Match::no;
    } else if (c == 0) {
      nul_seen = true;
    } else if (c < 0x20 || c == 0x7f) {
      return Match::no;
    }
  }
  if (n >= 100 && !nul_seen) return Match::no;
  for (std::size_t i = 100; i < std::min<std::size_t>(n, 108); ++i) {
    const std::uint8_t c = head[i];
    if (!((c >= '0' && c <= '7') || c == ' ' || c == 0)) return Match::no;
  }
  if (n < 262) return Match::maybe;
  return std::memcmp(head.data() + 257, "ustar", 5) == 0 ? Match::yes : Match::no;
}

bool iequals_suffix(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  const std::string_view tail = s.substr(s.size() - suffix.size());
  for (std::size_t i = 0; i < tail.size(); ++i) {
    char c = tail[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != suffix[i]) return false;
  }
  return true;
}

}  // namespace

Sniff sniff(Bytes head, bool final) {
  bool possible = false;
  for (const Magic& m : kMagics) {
    const Match r = match(head, m.bytes);
    if (r == Match::yes) return m.kind;
    possible |= r == Match::maybe;
  }
  const Match bz = match_bzip2(head);
  if (bz == Match::yes) return Sniff::bzip2;
  possible |= bz == Match::maybe;
  const Match tar = match_tar(head);
  if (tar == Match::yes) return Sniff::tar;
  possible |= tar == Match::maybe;
  return possible && !final ? Sniff::need_more : Sniff::plain;
}

std::string_view sniff_mime(Sniff s) {
  switch (s) {
    case Sniff::zip: return "application/zip";
    case Sniff::gzip: return "application/gzip";
    case Sniff::tar: return "application/x-tar";
    case Sniff::pdf: return "application/pdf";
    case Sniff::bzip2: return "application/x-bzip2";
    case Sniff::xz: return "application/x-xz";
    case Sniff::sevenzip: return "application/x-7z-compressed";
    case Sniff::need_more:
    case Sniff::plain: break;
  }
  return {};
}

std::string_view mime_by_extension(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kTable[] = {
      {".txt", "text/plain"},       {".csv", "text/csv"},
      {".tsv", "text/tab-separated-values"},
      {".log", "text/plain"},       {".md", "text/markdown"},
      {".json", "application/json"}, {".xml", "application/xml"},
      {".html", "text/html"},       {".htm", "text/html"},
      {".eml", "message/rfc822"},   {".rtf", "application/rtf"},
      {".sql", "application/sql"},  {".yaml", "application/yaml"},
      {".yml", "application/yaml"}, {".pem", "application/x-pem-file"},
      {".key", "application/x-pem-file"},
      {".doc", "application/msword"}, {".xls", "application/vnd.ms-excel"},
      {".ppt", "application/vnd.ms-powerpoint"},
      {".png", "image/png"},        {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},      {".gif", "image/gif"},
  };
  for (const auto& [ext, mime] : kTable) {
    if (iequals_suffix(name, ext)) return mime;
  }
  return {};
}

}  // namespace dlp::inspectors::files
