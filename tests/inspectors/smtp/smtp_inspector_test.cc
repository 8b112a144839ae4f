#include "inspectors/smtp/smtp_inspector.h"

#include <string>

#include <gtest/gtest.h>

#include "tests/gen/smtp_gen.h"
#include "tests/inspectors/recording_sink.h"

namespace dlp::inspectors {
namespace {

using testgen::Side;
using testing::RecordingSink;

RecordingSink run(const std::vector<std::pair<Side, std::string>>& session, std::size_t cut = 0) {
  RecordingSink sink;
  SmtpInspectorFactory f;
  auto insp = f.create(sink, FlowInfo{});
  for (const auto& [side, bytes] : session) {
    const Dir d = side == Side::kClient ? Dir::to_server : Dir::to_client;
    if (cut > 0 && cut < bytes.size()) {
      insp->data(d, as_bytes(std::string_view(bytes).substr(0, cut)));
      insp->data(d, as_bytes(std::string_view(bytes).substr(cut)));
    } else {
      insp->data(d, as_bytes(bytes));
    }
  }
  insp->close();
  return sink;
}

const std::string kCard = "4111111111111111";
const std::string kCsv = "name,card\r\nPat," + kCard + "\r\n" + std::string(200, 'x') + "\r\n";

testgen::SmtpSpec spec_with_attachments() {
  testgen::SmtpSpec s;
  s.to = {"bob@partner.example", "carol@gmail.example"};
  s.body += "card " + kCard + " inline and a long line " + std::string(100, 'y') + "\r\n";
  s.attachments.push_back({"cards.csv", "text/csv", kCsv, testgen::MailEncoding::kBase64});
  s.attachments.push_back({"notes.txt", "text/plain", "qp " + kCard + "\r\n", testgen::MailEncoding::kQuotedPrintable});
  s.attachments.push_back({"old.txt", "", "uu " + kCard, testgen::MailEncoding::kUuencode});
  return s;
}

TEST(Smtp, MessageWithAttachmentsBecomesStreamsWithEnvelopeMetadata) {
  const RecordingSink s = run(testgen::smtp_session(spec_with_attachments()));
  ASSERT_EQ(s.streams.size(), 5u) << s.dump();  // preamble, text, uu file, csv, notes
  const ContentMeta& csv = s.streams[3].meta;
  EXPECT_EQ(csv.app, App::smtp);
  EXPECT_EQ(csv.file_name, "cards.csv");
  EXPECT_EQ(csv.smtp_mail_from, "alice@corp.example");
  EXPECT_EQ(csv.smtp_rcpt_to, (std::vector<std::string>{"bob@partner.example", "carol@gmail.example"}));
  EXPECT_EQ(csv.smtp_helo, "pc42.corp.example");
  EXPECT_EQ(csv.smtp_subject, "Quarterly report");
  EXPECT_EQ(csv.user_hint, "alice");
  EXPECT_EQ(s.streams[3].bytes, kCsv);
  EXPECT_NE(s.streams[1].bytes.find("card " + kCard + " inline"), std::string::npos);
  // The dot-stuffed line came back with one dot.
  EXPECT_NE(s.streams[1].bytes.find("\r\n.leading dot line"), std::string::npos);
  EXPECT_EQ(s.streams[2].meta.file_name, "old.txt");
  EXPECT_EQ(s.streams[2].bytes, "uu " + kCard);
  EXPECT_EQ(s.streams[4].bytes, "qp " + kCard + "\r\n");
  EXPECT_EQ(s.merged_flow_meta().user_hint, "alice");
  EXPECT_TRUE(s.weirds.empty()) << s.dump();
  EXPECT_TRUE(s.all_closed());
  EXPECT_EQ(s.dump().find("Spring2024!"), std::string::npos);
}

TEST(Smtp, EverySplitOfEverySegmentGivesTheSameResult) {
  const auto session = testgen::smtp_session(spec_with_attachments());
  const std::string want = run(session).dump();
  std::size_t longest = 0;
  for (const auto& [side, b] : session) longest = std::max(longest, b.size());
  for (std::size_t cut = 1; cut < longest; ++cut) {
    ASSERT_EQ(run(session, cut).dump(), want) << "cut at " << cut;
  }
}

TEST(Smtp, AuthLoginAndBdatChunks) {
  testgen::SmtpSpec s = spec_with_attachments();
  s.auth = "LOGIN";
  s.user = "bob.smith";
  s.bdat = true;
  const RecordingSink bdat = run(testgen::smtp_session(s));
  s.bdat = false;
  const RecordingSink data = run(testgen::smtp_session(s));
  EXPECT_EQ(bdat.merged_flow_meta().user_hint, "bob.smith");
  ASSERT_EQ(bdat.streams.size(), data.streams.size());
  for (std::size_t i = 0; i < bdat.streams.size(); ++i) {
    EXPECT_EQ(bdat.streams[i].bytes, data.streams[i].bytes) << i;
    EXPECT_EQ(RecordingSink::describe(bdat.streams[i].meta), RecordingSink::describe(data.streams[i].meta));
  }
  EXPECT_EQ(bdat.dump().find("Spring2024!"), std::string::npos);
}

TEST(Smtp, StartTlsIsNotedAndNothingAfterIsParsed) {
  testgen::SmtpSpec s;
  s.starttls = true;
  const RecordingSink r = run(testgen::smtp_session(s));
  EXPECT_TRUE(r.streams.empty());
  EXPECT_EQ(r.merged_flow_meta().notes,
            std::vector<std::string>{"starttls: rest of session encrypted, not inspectable"});
}

TEST(Smtp, RefusedDataAndHostileInput) {
  RecordingSink sink;
  SmtpInspectorFactory f;
  auto insp = f.create(sink, FlowInfo{});
  insp->data(Dir::to_server, as_bytes("EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"));
  insp->data(Dir::to_client, as_bytes("220 hi\r\n250 ehlo\r\n250 ok\r\n250 ok\r\n554 no valid recipients\r\n"));
  // Refused: this is a command again, not a message.
  insp->data(Dir::to_server, as_bytes("RSET\r\n" + std::string(10000, 'A') + "\r\nBDAT x\r\nQUIT\r\n"));
  insp->close();
  EXPECT_TRUE(sink.streams.empty()) << sink.dump();
  EXPECT_EQ(sink.weird_count("smtp.line_too_long"), 1u);
  EXPECT_EQ(sink.weird_count("smtp.bad_bdat"), 1u);

  // A message the connection cuts short is still scanned, and counted.
  RecordingSink cut;
  auto i2 = f.create(cut, FlowInfo{});
  i2->data(Dir::to_server, as_bytes("EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: s\r\n\r\ncard " + kCard));
  i2->close();
  ASSERT_EQ(cut.streams.size(), 1u);
  EXPECT_EQ(cut.streams[0].bytes, "card " + kCard);
  EXPECT_EQ(cut.weird_count("smtp.truncated_message"), 1u);
  // Found by smtp_fuzz: BDAT without LAST, then DATA: the first message is closed, not left open.
  RecordingSink mixed;
  auto i3 = f.create(mixed, FlowInfo{});
  i3->data(Dir::to_server, as_bytes("BDAT 9\r\n\r\nhello\r\nDATA\r\n\r\nworld\r\n.\r\n"));
  i3->close();
  EXPECT_TRUE(mixed.all_closed()) << mixed.dump();
  EXPECT_EQ(mixed.weird_count("smtp.unfinished_message"), 1u);
  ASSERT_EQ(mixed.streams.size(), 2u);
  EXPECT_EQ(mixed.streams[0].bytes, "hello");
  EXPECT_EQ(mixed.streams[1].bytes, "world");
  EXPECT_TRUE(f.probe(as_bytes("ehlo mail.example\r\n")));
  EXPECT_FALSE(f.probe(as_bytes("GET / HTTP/1.1\r\n")));
}

}  // namespace
}  // namespace dlp::inspectors
