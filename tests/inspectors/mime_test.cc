#include "inspectors/mime.h"

#include <string>

#include <gtest/gtest.h>

#include "tests/inspectors/recording_sink.h"

namespace dlp::inspectors::testing {
namespace {

RecordingSink run_message(const std::vector<std::string>& pieces, const Limits& limits = {}) {
  RecordingSink sink;
  ContentMeta base;
  base.app = App::smtp;
  base.smtp_mail_from = "alice@corp.example";
  MimeDecoder m(sink, base, limits);
  m.start_message();
  for (const auto& p : pieces) m.data(as_bytes(p));
  m.finish();
  return sink;
}

RecordingSink run_message(const std::string& msg, const Limits& limits = {}) {
  return run_message(std::vector<std::string>{msg}, limits);
}

const std::string kCard = "4111111111111111";

std::string mixed_message() {
  // The card in the attachment is split across a base64 line break; the QP body splits
  // another across a soft line break.
  return "From: alice@corp.example\r\n"
         "Subject: =?UTF-8?B?UTMgcmVwb3J0?= =?ISO-8859-1?Q?f=FCr_you?=\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed;\r\n boundary=\"outer\"\r\n"
         "\r\n"
         "preamble is ignored only if blank\r\n"
         "--outer\r\n"
         "Content-Type: multipart/alternative; boundary=inner\r\n"
         "\r\n"
         "--inner\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n"
         "Content-Transfer-Encoding: quoted-printable\r\n"
         "\r\n"
         "card 41111111=\r\n11111111 caf=C3=A9\r\n"
         "--inner--\r\n"
         "--outer\r\n"
         "Content-Type: text/csv; name=\"ignored.csv\"\r\n"
         "Content-Disposition: attachment;\r\n filename*0*=UTF-8''cust%C3%B6mers;\r\n filename*1=\".csv\"\r\n"
         "Content-Transfer-Encoding: base64\r\n"
         "\r\n"
         "bmFtZSxjYXJkClBhdCw0MTEx\r\n"   // name,card\nPat,4111
         "MTExMTExMTExMTExCg==\r\n"       // 111111111111\n
         "--outer--\r\n"
         "epilogue\r\n";
}

TEST(Mime, NestedMultipartWithBase64AndQuotedPrintable) {
  const RecordingSink s = run_message(mixed_message());
  ASSERT_EQ(s.streams.size(), 4u) << s.dump();
  EXPECT_EQ(s.streams[0].bytes, "preamble is ignored only if blank");
  EXPECT_EQ(s.streams[1].bytes, "card " + kCard + " caf\xc3\xa9");
  EXPECT_EQ(s.streams[1].meta.file_mime, "text/plain");
  EXPECT_EQ(s.streams[2].bytes, "name,card\nPat," + kCard + "\n");
  EXPECT_EQ(s.streams[2].meta.file_name, "cust\xc3\xb6mers.csv");
  EXPECT_EQ(s.streams[2].meta.file_mime, "text/csv");
  EXPECT_EQ(s.streams[2].meta.smtp_subject, "Q3 reportf\xc3\xbcr you");
  EXPECT_EQ(s.streams[2].meta.smtp_mail_from, "alice@corp.example");
  EXPECT_EQ(s.streams[3].bytes, "epilogue");
  EXPECT_TRUE(s.all_closed());
  EXPECT_TRUE(s.weirds.empty()) << s.dump();
}

TEST(Mime, EverySplitGivesTheSameResult) {
  const std::string msg = mixed_message();
  const std::string want = run_message(msg).dump();
  for (std::size_t i = 1; i < msg.size(); ++i) {
    ASSERT_EQ(run_message({msg.substr(0, i), msg.substr(i)}).dump(), want) << "cut at " << i;
  }
}

TEST(Mime, FormDataPartsCarryFieldAndFileNames) {
  RecordingSink sink;
  ContentMeta base;
  base.app = App::http;
  base.http_host = "upload.example";
  MimeDecoder m(sink, base, Limits{});
  m.start_body("multipart/form-data; boundary=----WebKitFormBoundaryX");
  m.data(as_bytes("------WebKitFormBoundaryX\r\n"
                  "Content-Disposition: form-data; name=\"comment\"\r\n\r\n"
                  "hello\r\n"
                  "------WebKitFormBoundaryX\r\n"
                  "Content-Disposition: form-data; name=\"file\"; filename=\"C:\\\\Users\\\\a\\\\q3.xlsx\"\r\n"
                  "Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
                  "PK\x03\x04" "binary\r\nwith lines\r\n"
                  "------WebKitFormBoundaryX--\r\n"));
  m.finish();
  ASSERT_EQ(sink.streams.size(), 2u) << sink.dump();
  EXPECT_EQ(sink.streams[0].meta.form_field, "comment");
  EXPECT_EQ(sink.streams[0].bytes, "hello");
  EXPECT_EQ(sink.streams[1].meta.form_field, "file");
  EXPECT_EQ(sink.streams[1].meta.file_name, "q3.xlsx");
  EXPECT_EQ(sink.streams[1].meta.http_host, "upload.example");
  EXPECT_EQ(sink.streams[1].bytes, "PK\x03\x04" "binary\r\nwith lines");
}

TEST(Mime, UuencodedBlockInATextPart) {
  // "Cat" uuencoded.
  const RecordingSink s = run_message(
      "Subject: old school\r\n\r\nsee attached\r\nbegin 644 cat.txt\r\n#0V%T\r\n`\r\nend\r\nbye\r\n");
  ASSERT_EQ(s.streams.size(), 2u) << s.dump();
  EXPECT_EQ(s.streams[0].bytes, "see attached\r\nbye");
  EXPECT_EQ(s.streams[1].meta.file_name, "cat.txt");
  EXPECT_EQ(s.streams[1].bytes, "Cat");
}

TEST(Mime, HostileMimeEndsInCountedLimitsNotLoss) {
  // No closing boundary.
  RecordingSink s = run_message("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nsecret tail");
  ASSERT_EQ(s.streams.size(), 1u);
  EXPECT_EQ(s.streams[0].bytes, "secret tail");
  EXPECT_EQ(s.weird_count("mime.missing_close_boundary"), 1u);

  // 10,000 nested multiparts: the depth limit stops the nesting, the rest is text.
  std::string deep;
  for (int i = 0; i < 10000; ++i) deep += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" + std::to_string(i) + "\r\n";
  deep += "\r\nthe payload\r\n";
  s = run_message(deep);
  EXPECT_EQ(s.weird_count("limit.depth"), 1u);
  ASSERT_EQ(s.reports.size(), 1u);
  ASSERT_FALSE(s.streams.empty());
  EXPECT_NE(s.streams.back().bytes.find("the payload"), std::string::npos);

  // An endless header: the header limit, then the bytes are scanned as text.
  Limits small;
  small.max_header_bytes = 1000;
  s = run_message("Subject: x\r\nX-Junk: " + std::string(5000, 'a') + " card " + kCard, small);
  EXPECT_EQ(s.weird_count("limit.header_bytes"), 1u);
  ASSERT_FALSE(s.streams.empty());
  EXPECT_NE(s.streams[0].bytes.find(kCard), std::string::npos);

  // Garbage in base64 is counted; what decodes still comes out.
  s = run_message("Content-Transfer-Encoding: base64\r\n\r\nQ2F0!!\r\n");
  EXPECT_EQ(s.weird_count("mime.bad_base64"), 1u);
  ASSERT_EQ(s.streams.size(), 1u);
  EXPECT_EQ(s.streams[0].bytes, "Cat");
}

}  // namespace
}  // namespace dlp::inspectors::testing
