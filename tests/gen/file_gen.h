// Files built in memory for the file layer's tests and benchmarks: ZIP (stored and
// deflated, nested), tar, tar.gz and gzip through libarchive's writer and zlib; office
// documents (docx, xlsx, pptx, odt, ods) as the minimal ZIP packages the readers accept;
// PDF with a FlateDecode content stream showing text with Tj and TJ; and decompression
// bombs (one huge entry; a small 42.zip-style nest). Deterministic: same input, same bytes.
//
//   using namespace dlp::testgen;
//   std::string docx = make_docx({{"Card: 4111 1111 ", "1111 1111"}});   // one paragraph, two runs
//   std::string zip = make_zip({{"a.txt", "hello"}, {"in.docx", docx}});
//   std::string tgz = gzip(make_tar({{"in.zip", zip}}), "x.tar");
//
// Needs libarchive and zlib (dlp_testgen links PkgConfig::LIBARCHIVE and ZLIB::ZLIB).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dlp::testgen {

struct FileEntry {
  std::string name;  // path inside the archive ("q3/report.docx")
  std::string data;
};

// ZIP; `deflate` false stores entries uncompressed. Entry order is kept.
std::string make_zip(const std::vector<FileEntry>& entries, bool deflate = true);
// ZIP with traditional PKWARE encryption (passphrase "secret").
std::string make_encrypted_zip(const std::vector<FileEntry>& entries);
// POSIX (pax-restricted: ustar headers) tar.
std::string make_tar(const std::vector<FileEntry>& entries);
// tar compressed with bzip2 / xz (libarchive's filters), and 7-Zip (LZMA).
std::string make_tar_bz2(const std::vector<FileEntry>& entries);
std::string make_tar_xz(const std::vector<FileEntry>& entries);
std::string make_7z(const std::vector<FileEntry>& entries);
// bzip2 of one file (no tar inside).
std::string bzip2(std::string_view data);
// gzip (RFC 1952) with the original file name in the header when `name` is not empty.
std::string gzip(std::string_view data, std::string_view name = {});
// zlib (RFC 1950) stream, as PDF FlateDecode uses.
std::string zlib_compress(std::string_view data);

// Office documents. Text is XML-escaped. A paragraph is a list of runs: the runs of one
// paragraph read as one text without separators.
using Paragraph = std::vector<std::string>;
std::string make_docx(const std::vector<Paragraph>& paragraphs, std::string_view title = {});
// Cells that are all digits (up to 15) are numbers (<v>), the rest shared strings.
std::string make_xlsx(const std::vector<std::vector<std::string>>& rows);
std::string make_pptx(const std::vector<std::string>& slides);
std::string make_odt(const std::vector<Paragraph>& paragraphs);
std::string make_ods(const std::vector<std::vector<std::string>>& rows);

// PDF 1.4, one page. Each line is shown with Tj when it has one piece and with TJ (small
// kerning between the pieces) when it has several; lines are separated by Td moves.
// `compress`: the content stream is FlateDecode, else unfiltered.
std::string make_pdf(const std::vector<Paragraph>& lines, bool compress = true);

// A ZIP whose one deflated entry `name` is `zero_bytes` zeros (a zip bomb: 200 MB
// compress to ~200 KB).
std::string make_zero_bomb(std::uint64_t zero_bytes, std::string_view name = "zeros.bin");
// 42.zip in small: `levels` of ZIPs, each holding `copies` of the level below; the
// innermost holds `copies` entries of `leaf_bytes` zeros.
std::string make_nested_bomb(int levels, int copies, std::uint64_t leaf_bytes);

}  // namespace dlp::testgen
