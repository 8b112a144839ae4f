// The file layer end to end: FileSink in front of a RecordingSink, fed generated files
// (tests/gen/file_gen.h) as an inspector would write them.
#include "inspectors/files/file_sink.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/gen/file_gen.h"
#include "tests/inspectors/recording_sink.h"

namespace dlp::inspectors {
namespace {

using testing::RecordedStream;
using testing::RecordingSink;
using namespace dlp::testgen;

const std::string kCard = "4111 1111 1111 1111";

ContentMeta upload_meta(std::string name) {
  ContentMeta m;
  m.app = App::http;
  m.http_method = "POST";
  m.http_host = "files.example";
  m.file_name = std::move(name);
  return m;
}

// Feeds `data` as one stream, cut at the given offsets.
void feed(FileSink& files, const ContentMeta& meta, std::string_view data,
          std::vector<std::size_t> cuts = {}) {
  const auto id = files.open(meta);
  std::size_t at = 0;
  cuts.push_back(data.size());
  for (std::size_t cut : cuts) {
    if (cut > at) files.write(id, as_bytes(data.substr(at, cut - at)));
    at = std::max(at, cut);
  }
  files.close(id);
}

std::string run_dump(std::string_view data, const std::string& name, std::vector<std::size_t> cuts,
                     const Limits& limits = {}) {
  RecordingSink sink;
  FileSink files(sink, limits);
  feed(files, upload_meta(name), data, std::move(cuts));
  EXPECT_TRUE(sink.errors.empty()) << sink.dump();
  EXPECT_TRUE(sink.all_closed());
  return sink.dump();
}

const RecordedStream* find_path(const RecordingSink& sink, std::string_view suffix) {
  for (const auto& s : sink.streams) {
    const std::string& p = s.meta.file_path;
    if (p.size() >= suffix.size() && p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return &s;
    }
  }
  return nullptr;
}

// Counts instead of recording, for bombs.
class CountingSink final : public ContentSink {
 public:
  StreamId open(const ContentMeta&) override { return ++opened; }
  void write(StreamId, Bytes data) override {
    bytes += data.size();
    max_write = std::max<std::uint64_t>(max_write, data.size());
  }
  void gap(StreamId, std::uint64_t) override {}
  void close(StreamId) override { ++closed; }
  void weird(std::string_view what) override { weirds.emplace_back(what); }
  void flow_meta(const ContentMeta&) override {}
  void report(const Report& r) override { reports.push_back(r.detector); }
  std::uint64_t now_ns() const override { return 0; }
  std::uint32_t opened = 0;
  std::uint32_t closed = 0;
  std::uint64_t bytes = 0;
  std::uint64_t max_write = 0;
  std::vector<std::string> weirds;
  std::vector<std::string> reports;
};

TEST(FileSink, PlainTextPassesThroughZeroCopy) {
  RecordingSink sink;
  FileSink files(sink, Limits{});
  const std::string a = "name=alice&card=4111111111111111\n";
  const std::string b = "more text follows here";
  const ContentMeta meta = upload_meta("");
  const auto id = files.open(meta);
  files.write(id, as_bytes(a));
  files.write(id, as_bytes(b));
  files.close(id);
  ASSERT_EQ(sink.streams.size(), 1u);
  const RecordedStream& s = sink.streams[0];
  EXPECT_EQ(s.bytes, a + b);
  ASSERT_EQ(s.write_ptrs.size(), 2u);
  EXPECT_EQ(s.write_ptrs[0], reinterpret_cast<const std::uint8_t*>(a.data()));
  EXPECT_EQ(s.write_ptrs[1], reinterpret_cast<const std::uint8_t*>(b.data()));
  EXPECT_EQ(s.meta.http_host, "files.example");
  EXPECT_EQ(s.meta.depth, 0);
  EXPECT_TRUE(s.closed);
  EXPECT_TRUE(sink.weirds.empty());
}

TEST(FileSink, EmptyStreamStillOpensAndCloses) {
  RecordingSink sink;
  FileSink files(sink, Limits{});
  files.close(files.open(upload_meta("")));
  ASSERT_EQ(sink.streams.size(), 1u);
  EXPECT_EQ(sink.streams[0].bytes, "");
  EXPECT_TRUE(sink.streams[0].closed);
}

TEST(FileSink, GapInPlainStreamIsForwarded) {
  RecordingSink sink;
  FileSink files(sink, Limits{});
  const auto id = files.open(upload_meta(""));
  files.write(id, as_bytes("abc\n"));
  files.gap(id, 10);
  files.write(id, as_bytes("def"));
  files.close(id);
  ASSERT_EQ(sink.streams.size(), 1u);
  EXPECT_EQ(sink.streams[0].bytes, "abc\ndef");
  ASSERT_EQ(sink.streams[0].gaps.size(), 1u);
  EXPECT_EQ(sink.streams[0].gaps[0], (testing::RecordedGap{4, 10}));
}

TEST(FileSink, DocxRunsAreContiguous) {
  const std::string docx = make_docx({{"Card: 4111 1111 ", "1111 1111"}, {"Second & last"}},
                                     "Q3 payroll");
  RecordingSink sink;
  FileSink files(sink, Limits{});
  feed(files, upload_meta("report.docx"), docx);
  const RecordedStream* body = find_path(sink, "report.docx/word/document.xml");
  ASSERT_NE(body, nullptr) << sink.dump();
  EXPECT_EQ(body->bytes, "Card: " + kCard + "\nSecond & last\n");
  EXPECT_EQ(body->meta.file_name, "report.docx");
  EXPECT_EQ(body->meta.file_mime,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  EXPECT_EQ(body->meta.depth, 1);
  const RecordedStream* core = find_path(sink, "report.docx/docProps/core.xml");
  ASSERT_NE(core, nullptr);
  EXPECT_EQ(core->bytes, "Q3 payroll\nTest Author\n");
  // Styles, relationships and content types are not content.
  EXPECT_EQ(sink.streams.size(), 2u) << sink.dump();
  EXPECT_EQ(files.stats().files_opened, 1u);
  EXPECT_TRUE(sink.weirds.empty());
}

TEST(FileSink, XlsxCellValuesAndSharedStrings) {
  const std::string xlsx =
      make_xlsx({{"Name", "Card"}, {"Alice", kCard}, {"Account", "123456789012345"}});
  RecordingSink sink;
  FileSink files(sink, Limits{});
  feed(files, upload_meta("cards.xlsx"), xlsx);
  const RecordedStream* sheet = find_path(sink, "cards.xlsx/xl/worksheets/sheet1.xml");
  ASSERT_NE(sheet, nullptr) << sink.dump();
  EXPECT_EQ(sheet->bytes, "0 1\n2 3\n4 123456789012345\n");
  const RecordedStream* sst = find_path(sink, "cards.xlsx/xl/sharedStrings.xml");
  ASSERT_NE(sst, nullptr);
  EXPECT_EQ(sst->bytes, "Name\nCard\nAlice\n" + kCard + "\nAccount\n");
  EXPECT_EQ(sheet->meta.file_mime,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
}

TEST(FileSink, PptxSlides) {
  const std::string pptx = make_pptx({"Slide one " + kCard, "Slide two"});
  RecordingSink sink;
  FileSink files(sink, Limits{});
  feed(files, upload_meta("deck.pptx"), pptx);
  const RecordedStream* s1 = find_path(sink, "deck.pptx/ppt/slides/slide1.xml");
  const RecordedStream* s2 = find_path(sink, "deck.pptx/ppt/slides/slide2.xml");
  ASSERT_NE(s1, nullptr) << sink.dump();
  ASSERT_NE(s2, nullptr);
  EXPECT_EQ(s1->bytes, "Slide one " + kCard + "\n");
  EXPECT_EQ(s2->bytes, "Slide two\n");
}

TEST(FileSink, OdtAndOds) {
  RecordingSink sink;
  FileSink files(sink, Limits{});
  feed(files, upload_meta("letter.odt"), make_odt({{"Card ", "4111 1111", " 1111 1111"}, {"Bye"}}));
  feed(files, upload_meta("sheet.ods"), make_ods({{"a", "b"}, {"c", "4111111111111111"}}));
  const RecordedStream* odt = find_path(sink, "letter.odt/content.xml");
  ASSERT_NE(odt, nullptr) << sink.dump();
  EXPECT_EQ(odt->bytes, "Card " + kCard + "\nBye\n");
  EXPECT_EQ(odt->meta.file_mime, "application/vnd.oasis.opendocument.text");
  const RecordedStream* meta = find_path(sink, "letter.odt/meta.xml");
  ASSERT_NE(meta, nullptr);
  EXPECT_EQ(meta->bytes, "ODF test\n");
  const RecordedStream* ods = find_path(sink, "sheet.ods/content.xml");
  ASSERT_NE(ods, nullptr);
  EXPECT_EQ(ods->bytes, "a\nb\nc\n4111111111111111\n");
  EXPECT_EQ(ods->meta.file_mime, "application/vnd.oasis.opendocument.spreadsheet");
}

TEST(FileSink, ZipEntryBoundaryDoesNotJoin) {
  const std::string zip = make_zip({{"a.txt", "first half 4111 1111"}, {"b.txt", "1111 1111 end"}});
  RecordingSink sink;
  FileSink files(sink, Limits{});
  feed(files, upload_meta("two.zip"), zip);
  ASSERT_EQ(sink.streams.size(), 2u) << sink.dump();
  EXPECT_EQ(sink.streams[0].bytes, "first half 4111 1111");
  EXPECT_EQ(sink.streams[0].meta.file_path, "two.zip/a.txt");
  EXPECT_EQ(sink.streams[0].meta.file_name, "a.txt");
  EXPECT_EQ(sink.streams[0].meta.file_mime, "text/plain");
  EXPECT_EQ(sink.streams[1].bytes, "1111 1111 end");
  EXPECT_EQ(sink.streams[1].meta.file_path, "two.zip/b.txt");
  EXPECT_EQ(sink.streams[1].meta.depth, 1);
  EXPECT_EQ(files.stats().entries, 2u);
}

TEST(FileSink, StoredZip) {
  const std::string zip = make_zip({{"dir/notes.txt", "stored " + kCard}}, /*deflate=*/false);
  RecordingSink sink;
  FileSink files(sink, Limits{});
  feed(files, upload_meta("s.zip"), zip);
  ASSERT_EQ(sink.streams.size(), 1u) << sink.dump();
  EXPECT_EQ(sink.streams[0].bytes, "stored " + kCard);
  EXPECT_EQ(sink.streams[0].meta.file_path, "s.zip/dir/notes.txt");
  EXPECT_EQ(sink.streams[0].meta.file_name, "notes.txt");
}

TEST(FileSink, FileInZipInTarGz) {
  const std::string inner = make_zip({{"secret.txt", "ssn 078-05-1120"}});
  const std::string tgz = gzip(make_tar({{"docs/in.zip", inner}, {"readme.md", "# hi"}}), "bundle.tar");
  RecordingSink sink;
  FileSink files(sink, Limits{});
  feed(files, upload_meta("bundle.tar.gz"), tgz);
  const RecordedStream* s = find_path(sink, "secret.txt");
  ASSERT_NE(s, nullptr) << sink.dump();
  EXPECT_EQ(s->bytes, "ssn 078-05-1120");
  EXPECT_EQ(s->meta.file_path, "bundle.tar.gz/bundle.tar/docs/in.zip/secret.txt");
  EXPECT_EQ(s->meta.file_name, "secret.txt");
  EXPECT_EQ(s->meta.depth, 3);
  EXPECT_EQ(s->meta.http_host, "files.example");
  const RecordedStream* readme = find_path(sink, "bundle.tar/readme.md");
  ASSERT_NE(readme, nullptr);
  EXPECT_EQ(readme->bytes, "# hi");
  EXPECT_EQ(readme->meta.depth, 2);
  EXPECT_EQ(readme->meta.file_mime, "text/markdown");
  EXPECT_EQ(sink.streams.size(), 2u) << sink.dump();
  EXPECT_TRUE(sink.weirds.empty()) << sink.dump();
}

TEST(FileSink, TarBz2TarXzAnd7z) {
  const std::vector<FileEntry> entries = {{"dir/a.txt", "alpha " + kCard}, {"b.csv", "x,y"}};
  const std::vector<std::pair<std::string, std::string>> files_in = {
      {"x.tar.bz2", make_tar_bz2(entries)},
      {"x.tar.xz", make_tar_xz(entries)},
      {"x.7z", make_7z(entries)},
  };
  for (const auto& [name, data] : files_in) {
    RecordingSink sink;
    FileSink files(sink, Limits{});
    feed(files, upload_meta(name), data);
    ASSERT_EQ(sink.streams.size(), 2u) << name << "\n" << sink.dump();
    EXPECT_EQ(sink.streams[0].bytes, "alpha " + kCard) << name;
    EXPECT_EQ(sink.streams[0].meta.file_path, name + "/dir/a.txt");
    EXPECT_EQ(sink.streams[0].meta.depth, 1);
    EXPECT_EQ(sink.streams[1].bytes, "x,y");
    EXPECT_EQ(sink.streams[1].meta.file_mime, "text/csv");
    EXPECT_TRUE(sink.weirds.empty()) << name << "\n" << sink.dump();
  }
}

TEST(FileSink, LoneBzip2IsOneFile) {
  // bzip2 of a single file (no tar inside): libarchive's raw format, named after the
  // container without its extension.
  RecordingSink sink;
  FileSink files(sink, Limits{});
  feed(files, upload_meta("notes.txt.bz2"), bzip2("card " + kCard));
  ASSERT_EQ(sink.streams.size(), 1u) << sink.dump();
  EXPECT_EQ(sink.streams[0].bytes, "card " + kCard);
  EXPECT_EQ(sink.streams[0].meta.file_path, "notes.txt.bz2/notes.txt");
  EXPECT_EQ(sink.streams[0].meta.file_name, "notes.txt");
  EXPECT_EQ(sink.streams[0].meta.file_mime, "text/plain");
}

TEST(FileSink, GzipStreamsWithoutHolding) {
  const std::string gz = gzip("card " + kCard + "\n", "notes.txt");
  RecordingSink sink;
  FileSink files(sink, Limits{});
  // Every write goes through inflate as it arrives: nothing is held to the end.
  const ContentMeta meta = upload_meta("");
  const auto id = files.open(meta);
  files.write(id, as_bytes(gz));
  ASSERT_EQ(sink.streams.size(), 1u);
  EXPECT_EQ(sink.streams[0].bytes, "card " + kCard + "\n");
  files.close(id);
  EXPECT_EQ(sink.streams[0].meta.file_name, "notes.txt");
  EXPECT_EQ(sink.streams[0].meta.file_path, "notes.txt");
  EXPECT_EQ(sink.streams[0].meta.depth, 1);
  EXPECT_TRUE(sink.streams[0].closed);
}

TEST(FileSink, PdfTjAndTjArrays) {
  for (bool compress : {true, false}) {
    const std::string pdf =
        make_pdf({{"Card " + kCard}, {"4111 11", "11 1111 ", "1111"}, {"(paren) back\\slash"}},
                 compress);
    RecordingSink sink;
    FileSink files(sink, Limits{});
    feed(files, upload_meta("statement.pdf"), pdf);
    ASSERT_EQ(sink.streams.size(), 1u) << sink.dump();
    EXPECT_EQ(sink.streams[0].bytes,
              "Card " + kCard + "\n" + kCard + "\n(paren) back\\slash\n");
    EXPECT_EQ(sink.streams[0].meta.file_mime, "application/pdf");
    EXPECT_EQ(sink.streams[0].meta.file_name, "statement.pdf");
    EXPECT_EQ(sink.streams[0].meta.depth, 1);
    EXPECT_TRUE(sink.weirds.empty()) << sink.dump();
  }
}

TEST(FileSink, DocxInsideZipInsideGzip) {
  const std::string docx = make_docx({{"Deep ", kCard}});
  const std::string gz = gzip(make_zip({{"q3/report.docx", docx}}), "upload.zip");
  RecordingSink sink;
  FileSink files(sink, Limits{});
  feed(files, upload_meta("upload.zip.gz"), gz);
  const RecordedStream* s = find_path(sink, "/word/document.xml");
  ASSERT_NE(s, nullptr) << sink.dump();
  EXPECT_EQ(s->bytes, "Deep " + kCard + "\n");
  EXPECT_EQ(s->meta.file_path, "upload.zip.gz/upload.zip/q3/report.docx/word/document.xml");
  EXPECT_EQ(s->meta.file_name, "report.docx");
  EXPECT_EQ(s->meta.depth, 3);
}

TEST(FileSink, DepthLimitPassesInnerContainerAsPlain) {
  Limits limits;
  limits.max_depth = 1;
  const std::string inner = make_zip({{"x.txt", "inner text"}}, false);
  const std::string outer = make_zip({{"inner.zip", inner}});
  RecordingSink sink;
  FileSink files(sink, limits);
  feed(files, upload_meta("outer.zip"), outer);
  ASSERT_EQ(sink.streams.size(), 1u) << sink.dump();
  EXPECT_EQ(sink.streams[0].bytes, inner);  // scanned as bytes, not opened
  EXPECT_EQ(sink.streams[0].meta.file_path, "outer.zip/inner.zip");
  EXPECT_EQ(sink.streams[0].meta.file_mime, "application/zip");
  EXPECT_EQ(sink.weird_count("limit.depth"), 1u);
  ASSERT_EQ(sink.reports.size(), 1u);
  EXPECT_EQ(sink.reports[0].detector, "limit.depth");
}

TEST(FileSink, ZipBombHitsRatioLimitWithBoundedOutput) {
  const std::string bomb = make_zero_bomb(200ull << 20);
  ASSERT_LT(bomb.size(), 1u << 20);
  CountingSink sink;
  Limits limits;
  FileSink files(sink, limits);
  feed(files, upload_meta("bomb.zip"), bomb);
  ASSERT_FALSE(sink.reports.empty());
  EXPECT_EQ(sink.reports[0], "limit.decompression_ratio");
  // Scanned up to the limit: more than the grace MiB, at most ratio x input + one block.
  EXPECT_GT(sink.bytes, 1u << 20);
  EXPECT_LE(sink.bytes, limits.max_decompression_ratio * bomb.size() + (1u << 20));
  EXPECT_EQ(sink.opened, sink.closed);
}

TEST(FileSink, ZipBombHitsDecompressedBytesLimit) {
  const std::string bomb = make_zero_bomb(40ull << 20);
  CountingSink sink;
  Limits limits;
  limits.max_decompressed_bytes = 4u << 20;
  limits.max_decompression_ratio = 100000;
  FileSink files(sink, limits);
  feed(files, upload_meta("bomb.zip"), bomb);
  ASSERT_EQ(sink.reports.size(), 1u);
  EXPECT_EQ(sink.reports[0], "limit.decompressed_bytes");
  EXPECT_EQ(sink.bytes, 4u << 20);
}

TEST(FileSink, GzipBombStopsInflatingAtTheLimit) {
  const std::string gz = gzip(std::string(10u << 20, '\0'), "zeros");
  CountingSink sink;
  Limits limits;
  limits.max_decompressed_bytes = 1u << 20;
  limits.max_decompression_ratio = 100000;
  FileSink files(sink, limits);
  const auto id = files.open(upload_meta("zeros.gz"));
  for (std::size_t at = 0; at < gz.size(); at += 100) {
    files.write(id, as_bytes(std::string_view(gz).substr(at, 100)));
  }
  files.close(id);
  ASSERT_EQ(sink.reports.size(), 1u);
  EXPECT_EQ(sink.reports[0], "limit.decompressed_bytes");
  EXPECT_EQ(sink.bytes, 1u << 20);
  EXPECT_EQ(sink.opened, sink.closed);
  EXPECT_TRUE(std::find(sink.weirds.begin(), sink.weirds.end(), "file.truncated_gzip") ==
              sink.weirds.end());
}

TEST(FileSink, NestedBombStopsTheWholeTree) {
  const std::string bomb = make_nested_bomb(3, 8, 1u << 20);  // 512 MiB of zeros
  ASSERT_LT(bomb.size(), 2u << 20);
  CountingSink sink;
  Limits limits;
  FileSink files(sink, limits);
  feed(files, upload_meta("42.zip"), bomb);
  ASSERT_FALSE(sink.reports.empty());
  EXPECT_EQ(sink.reports[0], "limit.decompression_ratio");
  EXPECT_LE(sink.bytes, limits.max_decompression_ratio * bomb.size() + (1u << 20));
  EXPECT_EQ(sink.opened, sink.closed);
}

TEST(FileSink, CorruptZipWeirdAndRawPassThrough) {
  std::string junk = "PK\x03\x04";
  junk += std::string(300, '\x7f') + "garbage that is not a zip";
  RecordingSink sink;
  FileSink files(sink, Limits{});
  feed(files, upload_meta("bad.zip"), junk);
  EXPECT_EQ(sink.weird_count("file.corrupt_zip"), 1u) << sink.dump();
  ASSERT_EQ(sink.streams.size(), 1u);
  EXPECT_EQ(sink.streams[0].bytes, junk);
  EXPECT_EQ(sink.streams[0].meta.file_mime, "application/zip");
  EXPECT_EQ(files.stats().decode_errors, 1u);
}

TEST(FileSink, TruncatedZipWeirdAndRawPassThrough) {
  std::string noise;
  std::uint32_t x = 12345;
  for (int i = 0; i < 4000; ++i) {
    x = x * 1103515245 + 12345;
    noise += static_cast<char>('a' + (x >> 16) % 26);
  }
  const std::string zip = make_zip({{"a.txt", "alpha " + kCard}, {"b.txt", noise}});
  const std::string cut = zip.substr(0, zip.size() / 2);
  RecordingSink sink;
  FileSink files(sink, Limits{});
  feed(files, upload_meta("cut.zip"), cut);
  EXPECT_EQ(sink.weird_count("file.corrupt_zip"), 1u) << sink.dump();
  // The first entry was readable; the raw bytes go on too, so nothing is lost.
  const RecordedStream* a = find_path(sink, "cut.zip/a.txt");
  ASSERT_NE(a, nullptr) << sink.dump();
  EXPECT_EQ(a->bytes, "alpha " + kCard);
  ASSERT_TRUE(sink.streams.back().bytes == cut);
  EXPECT_EQ(sink.streams.back().meta.file_name, "cut.zip");
}

TEST(FileSink, EncryptedZipWeirdAndRawPassThrough) {
  const std::string zip = make_encrypted_zip({{"a.txt", "top secret"}});
  RecordingSink sink;
  FileSink files(sink, Limits{});
  feed(files, upload_meta("locked.zip"), zip);
  EXPECT_EQ(sink.weird_count("file.encrypted"), 1u) << sink.dump();
  ASSERT_EQ(sink.streams.size(), 1u);
  EXPECT_EQ(sink.streams[0].bytes, zip);
  EXPECT_EQ(files.stats().decode_errors, 1u);
}

TEST(FileSink, FileBufferLimitDecodesHeldPartAndPassesRest) {
  Limits limits;
  limits.max_file_buffer = 4096;
  const std::string first = "early entry " + kCard;
  const std::string zip =
      make_zip({{"a.txt", first}, {"big.bin", std::string(20000, 'z')}}, /*deflate=*/false);
  RecordingSink sink;
  FileSink files(sink, limits);
  feed(files, upload_meta("big.zip"), zip);
  EXPECT_EQ(sink.weird_count("limit.file_buffer"), 1u) << sink.dump();
  const RecordedStream* a = find_path(sink, "big.zip/a.txt");
  ASSERT_NE(a, nullptr) << sink.dump();
  EXPECT_EQ(a->bytes, first);
  // The bytes past the buffer went on as plain content of the container.
  const RecordedStream& rest = sink.streams.back();
  EXPECT_EQ(rest.meta.file_name, "big.zip");
  EXPECT_EQ(rest.bytes, zip.substr(4096));
}

TEST(FileSink, FlowCallsAreForwarded) {
  RecordingSink sink;
  sink.clock_ns = 42;
  FileSink files(sink, Limits{});
  files.weird("http.something");
  ContentMeta m;
  m.tls_sni = "x.example";
  files.flow_meta(m);
  Report r;
  r.detector = "dns.exfil";
  files.report(r);
  EXPECT_EQ(files.now_ns(), 42u);
  EXPECT_EQ(sink.weird_count("http.something"), 1u);
  ASSERT_EQ(sink.flow_metas.size(), 1u);
  EXPECT_EQ(sink.flow_metas[0].tls_sni, "x.example");
  ASSERT_EQ(sink.reports.size(), 1u);
  EXPECT_EQ(sink.reports[0].detector, "dns.exfil");
}

TEST(FileSink, UnknownIdsAreIgnored) {
  RecordingSink sink;
  FileSink files(sink, Limits{});
  files.write(77, as_bytes("x"));
  files.gap(77, 1);
  files.close(77);
  EXPECT_TRUE(sink.streams.empty());
  EXPECT_TRUE(sink.errors.empty());
}

// Same bytes, same result, however the inspector cut its writes.
TEST(FileSink, EveryTwoWaySplitGivesTheSameDump) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"plain.txt", "just some text with a card " + kCard + " in it\n"},
      {"short", "a"},
      {"tarlike", std::string("name.txt") + std::string(10, '\0')},
      {"d.docx", make_docx({{"Card: 4111 1111 ", "1111 1111"}})},
      {"t.tar.gz", gzip(make_tar({{"in.zip", make_zip({{"s.txt", "secret"}})}}), "t.tar")},
      {"p.pdf", make_pdf({{"Card " + kCard}, {"41", "11"}})},
      {"bad.zip", std::string("PK\x03\x04") + std::string(100, 'x')},
      {"cut.gz", gzip(std::string(3000, 'q')).substr(0, 200)},
  };
  for (const auto& [name, data] : cases) {
    const std::string whole = run_dump(data, name, {});
    ASSERT_FALSE(whole.empty());
    for (std::size_t cut = 1; cut < data.size(); ++cut) {
      ASSERT_EQ(run_dump(data, name, {cut}), whole) << name << " cut at " << cut;
    }
    // One byte at a time, too.
    std::vector<std::size_t> all;
    for (std::size_t i = 1; i < data.size(); ++i) all.push_back(i);
    EXPECT_EQ(run_dump(data, name, all), whole) << name << " byte by byte";
  }
}

}  // namespace
}  // namespace dlp::inspectors

namespace dlp::inspectors {
namespace {

// A tool, not a test: writes the generated files as a seed corpus for files_fuzz (prefixed
// with the fuzzer's control byte). Run it by hand:
//   DLP_FILES_SEED_DIR=/tmp/seeds inspectors_files_test --gtest_also_run_disabled_tests \
//     --gtest_filter=FileSeeds.DISABLED_WriteCorpus
TEST(FileSeeds, DISABLED_WriteCorpus) {
  const char* dir = std::getenv("DLP_FILES_SEED_DIR");
  ASSERT_NE(dir, nullptr) << "set DLP_FILES_SEED_DIR";
  using namespace dlp::testgen;
  const std::vector<std::pair<std::string, std::string>> seeds = {
      {"docx", make_docx({{"Card: 4111 1111 ", "1111 1111"}})},
      {"xlsx", make_xlsx({{"a", "1"}})},
      {"pptx", make_pptx({"slide"})},
      {"odt", make_odt({{"odt text"}})},
      {"ods", make_ods({{"x"}})},
      {"zip", make_zip({{"a.txt", "aaa"}, {"b.txt", "bbb"}})},
      {"zip_stored", make_zip({{"a.txt", "aaa"}}, false)},
      {"tar", make_tar({{"a.txt", "aaa"}})},
      {"tgz", gzip(make_tar({{"in.zip", make_zip({{"s.txt", "s"}})}}), "t.tar")},
      {"gz", gzip("hello", "h.txt")},
      {"pdf", make_pdf({{"Card 4111"}, {"41", "11"}})},
      {"pdf_plain", make_pdf({{"x"}}, false)},
      {"enc", make_encrypted_zip({{"a.txt", "secret"}})},
      {"nested", make_nested_bomb(2, 2, 2000)},
  };
  for (const auto& [name, data] : seeds) {
    for (char control : {'\x00', '\x85'}) {
      const std::string path = std::string(dir) + "/" + name + (control ? "_tight" : "");
      FILE* f = std::fopen(path.c_str(), "wb");
      ASSERT_NE(f, nullptr) << path;
      ASSERT_EQ(std::fwrite(&control, 1, 1, f), 1u);
      ASSERT_EQ(std::fwrite(data.data(), 1, data.size(), f), data.size());
      std::fclose(f);
    }
  }
}

}  // namespace
}  // namespace dlp::inspectors
