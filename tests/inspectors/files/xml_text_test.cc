// The document XML text extractor and the PDF content-stream lexer on their own.
#include "inspectors/files/xml_text.h"

#include <gtest/gtest.h>

#include <string>

#include "inspectors/files/magic.h"
#include "inspectors/files/pdf_text.h"

namespace dlp::inspectors::files {
namespace {

std::string strip(std::string_view xml, XmlText::Mode mode, std::size_t cut = 0) {
  XmlText x(mode);
  std::string out;
  if (cut > 0 && cut < xml.size()) {
    x.feed(as_bytes(xml.substr(0, cut)), out);
    x.feed(as_bytes(xml.substr(cut)), out);
  } else {
    x.feed(as_bytes(xml), out);
  }
  x.finish(out);
  return out;
}

TEST(XmlText, RunsJoinParagraphsSeparate) {
  const std::string xml =
      "<?xml version=\"1.0\"?>\n<w:document><w:body>"
      "<w:p><w:r><w:t>4111 11</w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>11 1111</w:t></w:r>"
      "<w:r><w:tab/><w:t>x</w:t></w:r></w:p>\n  <w:p><w:r><w:t xml:space=\"preserve\"> y </w:t>"
      "</w:r><w:r><w:br/><w:t>z</w:t></w:r></w:p></w:body></w:document>";
  EXPECT_EQ(strip(xml, XmlText::Mode::ooxml), "4111 1111 1111 x\n y \nz\n");
}

TEST(XmlText, EntitiesAreDecoded) {
  const std::string xml =
      "<r><w:t>&amp;&lt;&gt;&quot;&apos; &#52;&#x31;&#X31; &#xFF14; &bogus; &#0; a&b</w:t></r>";
  EXPECT_EQ(strip(xml, XmlText::Mode::ooxml),
            "&<>\"' 411 \xef\xbc\x94 &bogus; &#0; a&b");
}

TEST(XmlText, CommentsCdataAndAttributesWithBrackets) {
  const std::string xml =
      "<r><!-- <w:t>hidden</w:t> --><w:t a=\"x>y\" b='/>'>vis</w:t>"
      "<w:t><![CDATA[<raw> & ]]]]></w:t><!DOCTYPE x></r>";
  EXPECT_EQ(strip(xml, XmlText::Mode::ooxml), "vis<raw> & ]]");
}

TEST(XmlText, OdfSpacesAndCells) {
  const std::string xml =
      "<office:text><text:p>a<text:s/>b<text:tab/>c</text:p><table:table-row>"
      "<table:table-cell><text:p>1</text:p></table:table-cell>"
      "<table:table-cell><text:p>2</text:p></table:table-cell></table:table-row></office:text>";
  EXPECT_EQ(strip(xml, XmlText::Mode::odf), "a b c\n1\n2\n");
}

TEST(XmlText, MetaModeBreaksEveryElement) {
  const std::string xml =
      "<cp:coreProperties><dc:title>Secret plan</dc:title><dc:creator>Bob</dc:creator>"
      "<cp:keywords>merger</cp:keywords></cp:coreProperties>";
  EXPECT_EQ(strip(xml, XmlText::Mode::meta), "Secret plan\nBob\nmerger\n");
}

TEST(XmlText, EveryCutGivesTheSameText) {
  const std::string xml =
      "<?xml version=\"1.0\"?><w:document><w:p><w:r><w:t>4111 &amp; 11</w:t></w:r>"
      "<w:r><w:t>&#x31;1 1111</w:t></w:r></w:p><!-- c --><w:p><w:r><w:t><![CDATA[a]]b]]>"
      "</w:t></w:r></w:p><x a='>'/></w:document>";
  for (XmlText::Mode mode : {XmlText::Mode::ooxml, XmlText::Mode::odf, XmlText::Mode::meta}) {
    const std::string whole = strip(xml, mode);
    EXPECT_FALSE(whole.empty());
    for (std::size_t cut = 1; cut < xml.size(); ++cut) {
      ASSERT_EQ(strip(xml, mode, cut), whole) << "cut at " << cut;
    }
  }
}

TEST(XmlText, HostileInputStaysBounded) {
  std::string xml = "<w:t>";
  xml += std::string(1000, '<') + std::string(1000, '&') + "&#x110000;&#xD800;" +
         std::string(100, '"') + std::string(5000, 'a');
  const std::string out = strip(xml, XmlText::Mode::odf);
  EXPECT_LE(out.size(), xml.size());
}

struct TextCollector final : PdfTextOut {
  void text(std::string_view s) override { out.append(s); }
  bool inflated(std::uint64_t n) override {
    total += n;
    return total <= budget;
  }
  std::string out;
  std::uint64_t total = 0;
  std::uint64_t budget = ~0ull;
};

std::string pdf_content(std::string_view content, std::size_t cut = 0) {
  TextCollector c;
  PdfContentText lexer(c);
  if (cut > 0 && cut < content.size()) {
    lexer.feed(as_bytes(content.substr(0, cut)));
    lexer.feed(as_bytes(content.substr(cut)));
  } else {
    lexer.feed(as_bytes(content));
  }
  lexer.finish();
  return c.out;
}

TEST(PdfContentText, StringsEscapesAndOperators) {
  const std::string content =
      "BT /F1 12 Tf 72 700 Td (Hello \\(World\\) \\\\ \\101\\102C \\0614) Tj\n"
      "0 -14 Td [(41)-20(11)-300(x)] TJ\n"
      "T* <34313131> Tj (a\\\nb) ' 1 2 (q) \" ET\n"
      "BT 1 0 0 1 72 600 Tm (one) Tj 1 0 0 1 90 600 Tm (two) Tj 1 0 0 1 72 580 Tm (three) Tj ET";
  EXPECT_EQ(pdf_content(content),
            "Hello (World) \\ ABC 14\n4111 x\n4111\nab\nq\nonetwo\nthree\n");
  const std::string whole = pdf_content(content);
  for (std::size_t cut = 1; cut < content.size(); ++cut) {
    ASSERT_EQ(pdf_content(content, cut), whole) << "cut at " << cut;
  }
}

TEST(PdfContentText, NonTextOperandsAreDropped) {
  EXPECT_EQ(pdf_content("(not shown) Do /Name (x) gs % (comment) Tj\n(shown) Tj"), "shown\n");
  EXPECT_EQ(pdf_content("<00410042> Tj"), "AB\n");  // two-byte codes: NULs dropped
}

TEST(PdfText, GarbageNeverCrashes) {
  TextCollector c;
  const std::string junk = "%PDF-1.7\nstream\nendstream stream\r\n(x) Tj";
  const PdfResult r = extract_pdf_text(as_bytes(junk), c);
  EXPECT_EQ(r.streams, 2u);
  EXPECT_EQ(c.out, "x\n");
}

TEST(PdfText, EncryptedIsNotRead) {
  TextCollector c;
  const std::string pdf =
      "%PDF-1.4\n1 0 obj\n<<>>\nstream\n(x) Tj\nendstream\ntrailer << /Encrypt 5 0 R >>";
  const PdfResult r = extract_pdf_text(as_bytes(pdf), c);
  EXPECT_TRUE(r.encrypted);
  EXPECT_EQ(c.out, "");
}

TEST(PdfText, ImageAndFontStreamsAreSkipped) {
  TextCollector c;
  const std::string pdf =
      "%PDF-1.4\n1 0 obj\n<< /Subtype /Image /Length 9 >>\nstream\n(img) Tj\nendstream\nendobj\n"
      "2 0 obj\n<< /Length1 9 >>\nstream\n(font) Tj\nendstream\nendobj\n"
      "3 0 obj\n<< /Length 9 >>\nstream\n(page) Tj\nendstream\nendobj\n";
  const PdfResult r = extract_pdf_text(as_bytes(pdf), c);
  EXPECT_EQ(r.streams, 1u);
  EXPECT_EQ(c.out, "page\n");
}

TEST(Magic, SniffDecidesEarlyAndConsistently) {
  EXPECT_EQ(sniff(as_bytes("PK\x03\x04rest"), false), Sniff::zip);
  EXPECT_EQ(sniff(as_bytes("PK"), false), Sniff::need_more);
  EXPECT_EQ(sniff(as_bytes("PK"), true), Sniff::plain);
  EXPECT_EQ(sniff(as_bytes("%PDF-1.7"), false), Sniff::pdf);
  EXPECT_EQ(sniff(as_bytes("\x1f\x8b\x08"), false), Sniff::gzip);
  EXPECT_EQ(sniff(as_bytes("BZh91AY&SY"), false), Sniff::bzip2);
  EXPECT_EQ(sniff(as_bytes("BZh is not bzip2\n"), false), Sniff::plain);
  EXPECT_EQ(sniff(as_bytes("GET / HTTP/1.1\r\n"), false), Sniff::plain);
  EXPECT_EQ(sniff(as_bytes("hello world\n"), false), Sniff::plain);
  // Could still be a tar header name: held (at most 100 bytes of text).
  EXPECT_EQ(sniff(as_bytes("name=alice&card=4111"), false), Sniff::need_more);
  EXPECT_EQ(sniff(as_bytes(std::string(100, 'a')), false), Sniff::plain);
  std::string tar(262, '\0');
  tar.replace(0, 5, "a.txt");
  tar.replace(100, 7, "0000644");
  tar.replace(257, 5, "ustar");
  EXPECT_EQ(sniff(as_bytes(tar), false), Sniff::tar);
  EXPECT_EQ(sniff(as_bytes(tar.substr(0, 200)), false), Sniff::need_more);
  EXPECT_EQ(sniff(as_bytes(tar.substr(0, 200)), true), Sniff::plain);
  EXPECT_EQ(mime_by_extension("Report.CSV"), "text/csv");
  EXPECT_EQ(mime_by_extension("noext"), "");
}

}  // namespace
}  // namespace dlp::inspectors::files
