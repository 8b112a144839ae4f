#include "tests/gen/file_gen.h"

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include <cstdio>
#include <memory>

namespace dlp::testgen {
namespace {

constexpr std::int64_t kMtime = 1700000000;  // fixed, so the bytes are reproducible

la_ssize_t append_cb(archive*, void* client, const void* buf, std::size_t n) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

struct WriterFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

enum class Fmt { zip_deflate, zip_store, zip_encrypted, tar, tar_bz2, tar_xz, sevenzip, raw_bz2 };

// Writes entries; each entry's data comes from `chunk` called until it returns false, so
// a 200 MB entry never exists in memory.
template <typename Source>
std::string write_archive(Fmt fmt, std::size_t count, Source&& source) {
  std::string out;
  std::unique_ptr<archive, WriterFree> a(archive_write_new());
  if (fmt == Fmt::tar || fmt == Fmt::tar_bz2 || fmt == Fmt::tar_xz) {
    archive_write_set_format_pax_restricted(a.get());
    if (fmt == Fmt::tar_bz2) archive_write_add_filter_bzip2(a.get());
    if (fmt == Fmt::tar_xz) archive_write_add_filter_xz(a.get());
    archive_write_set_bytes_in_last_block(a.get(), 1);  // no padding to 10 KiB
  } else if (fmt == Fmt::raw_bz2) {
    archive_write_set_format_raw(a.get());
    archive_write_add_filter_bzip2(a.get());
    archive_write_set_bytes_in_last_block(a.get(), 1);
  } else if (fmt == Fmt::sevenzip) {
    archive_write_set_format_7zip(a.get());
  } else {
    archive_write_set_format_zip(a.get());
    archive_write_set_bytes_in_last_block(a.get(), 1);
    if (fmt == Fmt::zip_store) {
      archive_write_zip_set_compression_store(a.get());
    } else if (fmt == Fmt::zip_encrypted) {
      archive_write_zip_set_compression_deflate(a.get());
      archive_write_set_options(a.get(), "zip:encryption=zipcrypt");
      archive_write_set_passphrase(a.get(), "secret");
    } else {
      archive_write_zip_set_compression_deflate(a.get());
    }
  }
  archive_write_open2(a.get(), &out, nullptr, append_cb, nullptr, nullptr);
  for (std::size_t i = 0; i < count; ++i) {
    std::string name;
    std::uint64_t size = 0;
    source.header(i, name, size);
    std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_mtime(e.get(), kMtime, 0);
    archive_write_header(a.get(), e.get());
    std::string_view piece;
    while (source.data(i, piece)) {
      archive_write_data(a.get(), piece.data(), piece.size());
    }
  }
  archive_write_close(a.get());
  return out;
}

struct ListSource {
  const std::vector<FileEntry>& entries;
  bool done = false;
  void header(std::size_t i, std::string& name, std::uint64_t& size) {
    name = entries[i].name;
    size = entries[i].data.size();
    done = false;
  }
  bool data(std::size_t i, std::string_view& piece) {
    if (done || entries[i].data.empty()) return false;
    piece = entries[i].data;
    done = true;
    return true;
  }
};

std::string archive_of(Fmt fmt, const std::vector<FileEntry>& entries) {
  return write_archive(fmt, entries.size(), ListSource{entries});
}

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string pdf_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '(' || c == ')' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 15) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string column_name(std::size_t col) {
  std::string name;
  ++col;
  while (col > 0) {
    name.insert(name.begin(), static_cast<char>('A' + (col - 1) % 26));
    col = (col - 1) / 26;
  }
  return name;
}

constexpr std::string_view kXmlDecl = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";

std::string core_xml(std::string_view title) {
  return std::string(kXmlDecl) +
         "<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/"
         "metadata/core-properties\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
         "<dc:title>" + xml_escape(title) + "</dc:title><dc:creator>Test Author</dc:creator>"
         "</cp:coreProperties>";
}

std::string content_types(std::string_view main_part, std::string_view main_type) {
  return std::string(kXmlDecl) +
         "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
         "<Default Extension=\"rels\" ContentType=\"application/"
         "vnd.openxmlformats-package.relationships+xml\"/>"
         "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
         "<Override PartName=\"/" + std::string(main_part) + "\" ContentType=\"" +
         std::string(main_type) + "\"/>"
         "<Override PartName=\"/docProps/core.xml\" ContentType=\"application/"
         "vnd.openxmlformats-package.core-properties+xml\"/></Types>";
}

std::string root_rels(std::string_view main_part) {
  return std::string(kXmlDecl) +
         "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/"
         "relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/"
         "officeDocument/2006/relationships/officeDocument\" Target=\"" +
         std::string(main_part) + "\"/></Relationships>";
}

std::string odf_package(std::string_view mime, const std::string& content) {
  const std::string manifest =
      std::string(kXmlDecl) +
      "<manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\">"
      "<manifest:file-entry manifest:full-path=\"/\" manifest:media-type=\"" +
      std::string(mime) +
      "\"/><manifest:file-entry manifest:full-path=\"content.xml\" "
      "manifest:media-type=\"text/xml\"/></manifest:manifest>";
  const std::string meta =
      std::string(kXmlDecl) +
      "<office:document-meta xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" "
      "xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><office:meta><dc:title>ODF "
      "test</dc:title></office:meta></office:document-meta>";
  // mimetype first, as ODF requires (libarchive uses one compression per archive, so
  // it is deflated here rather than stored; readers, ours included, accept that).
  return make_zip({{"mimetype", std::string(mime)},
                   {"content.xml", content},
                   {"meta.xml", meta},
                   {"META-INF/manifest.xml", manifest}});
}

constexpr std::string_view kOdfNs =
    "xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" "
    "xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" "
    "xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\"";

struct ZeroSource {
  std::uint64_t bytes;
  std::string name;
  std::uint64_t left = 0;
  std::string zeros = std::string(1 << 20, '\0');
  void header(std::size_t, std::string& n, std::uint64_t& size) {
    n = name;
    size = bytes;
    left = bytes;
  }
  bool data(std::size_t, std::string_view& piece) {
    if (left == 0) return false;
    const std::size_t n = left < zeros.size() ? static_cast<std::size_t>(left) : zeros.size();
    piece = std::string_view(zeros.data(), n);
    left -= n;
    return true;
  }
};

}  // namespace

std::string make_zip(const std::vector<FileEntry>& entries, bool deflate) {
  return archive_of(deflate ? Fmt::zip_deflate : Fmt::zip_store, entries);
}

std::string make_encrypted_zip(const std::vector<FileEntry>& entries) {
  return archive_of(Fmt::zip_encrypted, entries);
}

std::string make_tar(const std::vector<FileEntry>& entries) {
  return archive_of(Fmt::tar, entries);
}

std::string make_tar_bz2(const std::vector<FileEntry>& entries) {
  return archive_of(Fmt::tar_bz2, entries);
}

std::string make_tar_xz(const std::vector<FileEntry>& entries) {
  return archive_of(Fmt::tar_xz, entries);
}

std::string bzip2(std::string_view data) {
  return archive_of(Fmt::raw_bz2, {{"data", std::string(data)}});
}

std::string make_7z(const std::vector<FileEntry>& entries) {
  return archive_of(Fmt::sevenzip, entries);
}

std::string gzip(std::string_view data, std::string_view name) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY);
  std::string fname(name);
  gz_header h{};
  h.time = static_cast<uLong>(kMtime);
  h.os = 3;
  if (!fname.empty()) h.name = reinterpret_cast<Bytef*>(fname.data());
  deflateSetHeader(&zs, &h);
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 64 + fname.size(), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string zlib_compress(std::string_view data) {
  uLongf len = compressBound(static_cast<uLong>(data.size()));
  std::string out(len, '\0');
  compress2(reinterpret_cast<Bytef*>(out.data()), &len,
            reinterpret_cast<const Bytef*>(data.data()), static_cast<uLong>(data.size()), 6);
  out.resize(len);
  return out;
}

std::string make_docx(const std::vector<Paragraph>& paragraphs, std::string_view title) {
  std::string body;
  for (const Paragraph& p : paragraphs) {
    body += "<w:p><w:pPr><w:pStyle w:val=\"Normal\"/></w:pPr>";
    for (const std::string& run : p) {
      body += "<w:r><w:rPr><w:b/></w:rPr><w:t xml:space=\"preserve\">" + xml_escape(run) +
              "</w:t></w:r>";
    }
    body += "</w:p>";
  }
  const std::string document =
      std::string(kXmlDecl) +
      "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">"
      "<w:body>" + body + "<w:sectPr/></w:body></w:document>";
  const std::string styles =
      std::string(kXmlDecl) +
      "<w:styles xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">"
      "<w:style w:styleId=\"Normal\"><w:name w:val=\"Normal\"/></w:style></w:styles>";
  return make_zip({
      {"[Content_Types].xml",
       content_types("word/document.xml",
                     "application/vnd.openxmlformats-officedocument.wordprocessingml."
                     "document.main+xml")},
      {"_rels/.rels", root_rels("word/document.xml")},
      {"word/document.xml", document},
      {"word/styles.xml", styles},
      {"docProps/core.xml", core_xml(title.empty() ? "Report" : title)},
  });
}

std::string make_xlsx(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::string> strings;
  std::string sheet_rows;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    sheet_rows += "<row r=\"" + std::to_string(r + 1) + "\">";
    for (std::size_t c = 0; c < rows[r].size(); ++c) {
      const std::string ref = column_name(c) + std::to_string(r + 1);
      const std::string& cell = rows[r][c];
      if (all_digits(cell)) {
        sheet_rows += "<c r=\"" + ref + "\"><v>" + cell + "</v></c>";
      } else {
        sheet_rows += "<c r=\"" + ref + "\" t=\"s\"><v>" + std::to_string(strings.size()) +
                      "</v></c>";
        strings.push_back(cell);
      }
    }
    sheet_rows += "</row>";
  }
  std::string sst = std::string(kXmlDecl) +
                    "<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
                    "count=\"" + std::to_string(strings.size()) + "\">";
  for (const std::string& s : strings) sst += "<si><t>" + xml_escape(s) + "</t></si>";
  sst += "</sst>";
  const std::string ns = "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"";
  return make_zip({
      {"[Content_Types].xml",
       content_types("xl/workbook.xml",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml")},
      {"_rels/.rels", root_rels("xl/workbook.xml")},
      {"xl/workbook.xml", std::string(kXmlDecl) + "<workbook " + ns +
                              "><sheets><sheet name=\"Sheet1\" sheetId=\"1\"/></sheets></workbook>"},
      {"xl/styles.xml", std::string(kXmlDecl) + "<styleSheet " + ns + "><numFmts count=\"0\"/></styleSheet>"},
      {"xl/sharedStrings.xml", sst},
      {"xl/worksheets/sheet1.xml",
       std::string(kXmlDecl) + "<worksheet " + ns + "><sheetData>" + sheet_rows +
           "</sheetData></worksheet>"},
      {"docProps/core.xml", core_xml("Workbook")},
  });
}

std::string make_pptx(const std::vector<std::string>& slides) {
  std::vector<FileEntry> entries = {
      {"[Content_Types].xml",
       content_types("ppt/presentation.xml",
                     "application/vnd.openxmlformats-officedocument.presentationml."
                     "presentation.main+xml")},
      {"_rels/.rels", root_rels("ppt/presentation.xml")},
      {"ppt/presentation.xml",
       std::string(kXmlDecl) +
           "<p:presentation xmlns:p=\"http://schemas.openxmlformats.org/presentationml/2006/"
           "main\"/>"},
  };
  for (std::size_t i = 0; i < slides.size(); ++i) {
    entries.push_back(
        {"ppt/slides/slide" + std::to_string(i + 1) + ".xml",
         std::string(kXmlDecl) +
             "<p:sld xmlns:p=\"http://schemas.openxmlformats.org/presentationml/2006/main\" "
             "xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\"><p:cSld>"
             "<p:spTree><p:sp><p:txBody><a:p><a:r><a:rPr lang=\"en-US\"/><a:t>" +
             xml_escape(slides[i]) + "</a:t></a:r></a:p></p:txBody></p:sp></p:spTree>"
             "</p:cSld></p:sld>"});
  }
  entries.push_back({"docProps/core.xml", core_xml("Slides")});
  return make_zip(entries);
}

std::string make_odt(const std::vector<Paragraph>& paragraphs) {
  std::string body;
  for (const Paragraph& p : paragraphs) {
    body += "<text:p text:style-name=\"P1\">";
    for (const std::string& run : p) {
      body += "<text:span text:style-name=\"T1\">" + xml_escape(run) + "</text:span>";
    }
    body += "</text:p>";
  }
  return odf_package("application/vnd.oasis.opendocument.text",
                     std::string(kXmlDecl) + "<office:document-content " +
                         std::string(kOdfNs) + "><office:body><office:text>" + body +
                         "</office:text></office:body></office:document-content>");
}

std::string make_ods(const std::vector<std::vector<std::string>>& rows) {
  std::string body;
  for (const auto& row : rows) {
    body += "<table:table-row>";
    for (const std::string& cell : row) {
      body += "<table:table-cell office:value-type=\"string\"><text:p>" + xml_escape(cell) +
              "</text:p></table:table-cell>";
    }
    body += "</table:table-row>";
  }
  return odf_package("application/vnd.oasis.opendocument.spreadsheet",
                     std::string(kXmlDecl) + "<office:document-content " +
                         std::string(kOdfNs) +
                         "><office:body><office:spreadsheet><table:table table:name=\"S1\">" +
                         body +
                         "</table:table></office:spreadsheet></office:body>"
                         "</office:document-content>");
}

std::string make_pdf(const std::vector<Paragraph>& lines, bool compress) {
  std::string content = "BT\n/F1 12 Tf\n72 720 Td\n";
  bool first = true;
  for (const Paragraph& line : lines) {
    if (!first) content += "0 -14 Td\n";
    first = false;
    if (line.size() == 1) {
      content += "(" + pdf_escape(line[0]) + ") Tj\n";
    } else {
      content += "[";
      for (std::size_t i = 0; i < line.size(); ++i) {
        if (i > 0) content += " -12 ";
        content += "(" + pdf_escape(line[i]) + ")";
      }
      content += "] TJ\n";
    }
  }
  content += "ET\n";
  const std::string stream = compress ? zlib_compress(content) : content;
  std::vector<std::string> objects = {
      "<< /Type /Catalog /Pages 2 0 R >>",
      "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
      "/Resources << /Font << /F1 5 0 R >> >> >>",
      "<< /Length " + std::to_string(stream.size()) +
          (compress ? " /Filter /FlateDecode" : "") + " >>\nstream\n" + stream +
          "\nendstream",
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  };
  std::string pdf = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n";
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const std::size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (std::size_t off : offsets) {
    char line[32];
    std::snprintf(line, sizeof(line), "%010zu 00000 n \n", off);
    pdf += line;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) +
         " /Root 1 0 R >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
  return pdf;
}

std::string make_zero_bomb(std::uint64_t zero_bytes, std::string_view name) {
  return write_archive(Fmt::zip_deflate, 1, ZeroSource{zero_bytes, std::string(name)});
}

std::string make_nested_bomb(int levels, int copies, std::uint64_t leaf_bytes) {
  std::string inner;
  {
    // The innermost level: `copies` entries of zeros, streamed.
    struct Multi {
      ZeroSource z;
      void header(std::size_t i, std::string& n, std::uint64_t& size) {
        z.header(i, n, size);
        n = std::to_string(i) + ".bin";
      }
      bool data(std::size_t i, std::string_view& piece) { return z.data(i, piece); }
    };
    inner = write_archive(Fmt::zip_deflate, static_cast<std::size_t>(copies),
                          Multi{ZeroSource{leaf_bytes, "x"}});
  }
  for (int level = 1; level < levels; ++level) {
    std::vector<FileEntry> entries;
    for (int i = 0; i < copies; ++i) {
      entries.push_back({"l" + std::to_string(level) + "_" + std::to_string(i) + ".zip", inner});
    }
    inner = make_zip(entries);
  }
  return inner;
}

}  // namespace dlp::testgen
