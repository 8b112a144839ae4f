// Issue 4's bar, end to end: one capture the scanner has never seen, carrying planted
// items in every way data leaves a building this milestone decodes (documents and
// archives in HTTP uploads, a DNS tunnel, ...), each found with the right protocol
// metadata; and hostile inputs (a zip bomb) that end in counted limits, never a crash.
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "common/dlp/bytes.h"
#include "tests/gen/dns_gen.h"
#include "tests/gen/file_gen.h"
#include "tests/gen/frames.h"
#include "tests/gen/ftp_gen.h"
#include "tests/gen/http_bodies.h"
#include "tests/gen/smtp_gen.h"
#include "tests/integration/scan_fixture.h"

namespace dlp {
namespace {

using namespace itest;  // NOLINT: the shared fixture
using nlohmann::json;

class ProtocolsTest : public ScanFixture {};

// One planted item: the flow that carries it and what its finding must say.
struct Plant {
  std::string what;       // for failure messages
  std::string category;   // the finding's category
  std::string src_ip;
  std::vector<std::pair<std::string, std::string>> fields;  // JSON key -> expected value
  std::string value;      // the sensitive value, never to be written in clear
};

std::string http_upload(const std::string& host, const std::string& url,
                        const std::string& body, const std::string& type) {
  return testgen::http_post(host, url, body, type);
}

const json* find(const std::vector<json>& fs, const Plant& p) {
  for (const json& f : fs) {
    if (f.value("category", "") == p.category && f.value("src_ip", "") == p.src_ip) return &f;
  }
  return nullptr;
}

TEST_F(ProtocolsTest, EveryPlantedItemIsFoundWithItsMetadata) {
  std::mt19937_64 rng(20261124);
  std::vector<testgen::Packet> all;
  std::vector<Plant> plants;
  std::uint64_t t0 = 1'709'542'800'000'000'000ull;
  int n = 0;
  auto add_http = [&](const std::string& what, const std::string& body, const std::string& type,
                      const std::string& category, const std::string& value,
                      std::vector<std::pair<std::string, std::string>> fields) {
    const std::string src = "10.7.0." + std::to_string(10 + n);
    testgen::TcpConfig cfg = client(src, static_cast<std::uint16_t>(41000 + n));
    cfg.start_ns = t0 + static_cast<std::uint64_t>(n) * 1'000'000'000ull;
    ++n;
    const std::string host = "upload" + std::to_string(n) + ".example.net";
    for (auto& p : upload(cfg, http_upload(host, "/in", body, type))) all.push_back(std::move(p));
    fields.emplace_back("http.host", host);
    fields.emplace_back("app", "http");
    plants.push_back({what, category, src, std::move(fields), value});
  };

  // A card number split across two runs of a Word paragraph.
  const std::string card1 = testgen::make_card(rng, testgen::CardBrand::kVisa);
  add_http("docx", testgen::make_docx({{"Card on file: ", card1.substr(0, 7), card1.substr(7)}}),
           "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
           "credit_card", card1, {});
  // SSNs in spreadsheet cells, under an SSN column.
  const std::string ssn = testgen::make_ssn(rng);
  add_http("xlsx", testgen::make_xlsx({{"name", "SSN"}, {"Pat Doe", ssn}}),
           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "us_ssn", ssn, {});
  // A card in a PDF's compressed content stream.
  const std::string card2 = testgen::make_card(rng, testgen::CardBrand::kMastercard);
  add_http("pdf", testgen::make_pdf({{"Payment card ", testgen::format_card(card2)}}),
           "application/pdf", "credit_card", card2, {});
  // An AWS key in a text file inside a zip inside a tar.gz.
  const std::string key = testgen::make_aws_key_id(rng);
  const std::string zip = testgen::make_zip({{"notes/creds.txt", "aws_access_key_id = " + key + "\n"}});
  add_http("tar.gz/zip/txt",
           testgen::gzip(testgen::make_tar({{"backup/in.zip", zip}}), "backup.tar"),
           "application/gzip", "aws_access_key", key, {{"file.name", "creds.txt"}});

  // A card hidden as \u escapes in a JSON body, gzip'd and sent in 64-byte chunks.
  const std::string card3 = testgen::make_card(rng, testgen::CardBrand::kAmex);
  std::string escaped;
  for (char c : card3) escaped += "\\u003" + std::string(1, c);
  {
    const std::string src = "10.7.0." + std::to_string(10 + n);
    testgen::TcpConfig cfg = client(src, static_cast<std::uint16_t>(41000 + n));
    cfg.start_ns = t0 + static_cast<std::uint64_t>(n) * 1'000'000'000ull;
    ++n;
    const std::string json = R"({"order":{"id":"A-1","payment":{"card":")" + escaped + R"("}}})";
    const std::string req = testgen::http_request_with(
        "POST", "api.shop.example", "/v2/orders", testgen::gzip(json),
        {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}}, 64);
    for (auto& p : upload(cfg, req)) all.push_back(std::move(p));
    plants.push_back({"chunked gzip json", "credit_card", src,
                      {{"app", "http"}, {"http.host", "api.shop.example"}, {"http.url", "/v2/orders"}},
                      card3});
  }

  // A multipart form upload of a docx and an xlsx (the browser's way).
  {
    const std::string card4 = testgen::make_card(rng, testgen::CardBrand::kDiscover);
    const std::string ssn2 = testgen::make_ssn(rng);
    const std::string src = "10.7.0." + std::to_string(10 + n);
    testgen::TcpConfig cfg = client(src, static_cast<std::uint16_t>(41000 + n));
    cfg.start_ns = t0 + static_cast<std::uint64_t>(n) * 1'000'000'000ull;
    ++n;
    const std::string form = testgen::multipart_form(
        {{"title", "", "", "quarterly numbers"},
         {"doc", "plan.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
          testgen::make_docx({{"Corporate card ", testgen::format_card(card4)}})},
         {"sheet", "staff.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
          testgen::make_xlsx({{"employee", "SSN"}, {"Lee", ssn2}})}},
        "----formboundary7MA4YWxk");
    const std::string req = testgen::http_request_with(
        "POST", "share.example.io", "/api/upload", form,
        {{"Content-Type", "multipart/form-data; boundary=----formboundary7MA4YWxk"}});
    for (auto& p : upload(cfg, req)) all.push_back(std::move(p));
    plants.push_back({"multipart docx", "credit_card", src,
                      {{"app", "http"}, {"http.host", "share.example.io"}, {"file.name", "plan.docx"},
                       {"form.field", "doc"}},
                      card4});
    plants.push_back({"multipart xlsx", "us_ssn", src,
                      {{"app", "http"}, {"file.name", "staff.xlsx"}, {"form.field", "sheet"}}, ssn2});
  }

  // Mail: a docx attached in base64 and a CSV in quoted-printable, submitted with AUTH.
  {
    const std::string card5 = testgen::make_card(rng, testgen::CardBrand::kMastercard2);
    const std::string ssn3 = testgen::make_ssn(rng);
    testgen::SmtpSpec m;
    m.user = "dana";
    m.from = "dana@corp.example";
    m.to = {"dana.private@gmail.example"};
    m.subject = "for home";
    m.attachments.push_back({"cards.docx",
                             "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                             testgen::make_docx({{"Card: ", card5}}), testgen::MailEncoding::kBase64});
    m.attachments.push_back({"staff.csv", "text/csv", "name,ssn\r\nLee," + ssn3 + "\r\n",
                             testgen::MailEncoding::kQuotedPrintable});
    const std::string src = "10.7.4." + std::to_string(10 + n);
    testgen::TcpConfig cfg = client(src, static_cast<std::uint16_t>(41000 + n), "198.51.100.25");
    cfg.server_port = 587;
    cfg.start_ns = t0 + static_cast<std::uint64_t>(n) * 1'000'000'000ull;
    ++n;
    for (auto& p : testgen::smtp_packets(m, cfg)) all.push_back(std::move(p));
    plants.push_back({"smtp base64 docx", "credit_card", src,
                      {{"app", "smtp"}, {"file.name", "cards.docx"}, {"smtp.mail_from", "dana@corp.example"},
                       {"smtp.subject", "for home"}, {"user", "dana"}},
                      card5});
    plants.push_back({"smtp qp csv", "us_ssn", src,
                      {{"app", "smtp"}, {"file.name", "staff.csv"}, {"user", "dana"}}, ssn3});
  }

  // FTP uploads, passive and active: the file travels on a connection the control
  // channel announced, and the finding names the file and the FTP user.
  for (testgen::FtpMode mode : {testgen::FtpMode::kPassive, testgen::FtpMode::kActive}) {
    testgen::FtpSessionSpec spec;
    spec.client_ip = "10.7.3." + std::to_string(10 + n);
    spec.user = "ftpuser" + std::to_string(n);
    spec.mode = mode;
    spec.file_name = "exports/customers-" + std::to_string(n) + ".csv";
    spec.start_ns = t0 + static_cast<std::uint64_t>(n) * 1'000'000'000ull;
    spec.data_port = static_cast<std::uint16_t>(50000 + n);
    spec.control_port = static_cast<std::uint16_t>(43000 + 2 * n);
    const std::string ssn = testgen::make_ssn(rng);
    spec.data = "name,ssn\nPat Doe," + ssn + "\n";
    for (auto& p : testgen::ftp_upload_packets(spec)) all.push_back(std::move(p));
    plants.push_back({mode == testgen::FtpMode::kPassive ? "ftp passive" : "ftp active", "us_ssn",
                      spec.client_ip,
                      {{"app", "ftp"}, {"file.name", "customers-" + std::to_string(n) + ".csv"},
                       {"ftp.command", "STOR"}, {"user", spec.user}},
                      ssn});
    ++n;
  }

  // A DNS tunnel (base32 labels, TXT) hidden among ordinary look-ups from the same client.
  std::string secret(12000, '\0');
  for (char& c : secret) c = static_cast<char>('a' + rng() % 26);
  testgen::TunnelConfig tc;
  tc.domain = "cdn-sync.example.org";
  tc.start_ns = t0 + 100'000'000'000ull;
  const auto tunnel = testgen::tunnel_queries(dlp::as_bytes(std::string_view(secret)), tc);
  const auto browsing = testgen::browsing_queries(rng, 300, tc.start_ns, 120'000'000'000ull);
  for (auto& p : testgen::dns_udp_packets(testgen::merge_by_time(tunnel, browsing),
                                          {.src = "10.7.1.50", .dst = "10.0.0.53"})) {
    all.push_back(std::move(p));
  }
  plants.push_back({"dns tunnel", "dns_exfil", "10.7.1.50",
                    {{"app", "dns"}, {"dns.domain", "example.org"}}, ""});

  std::stable_sort(all.begin(), all.end(), [](const testgen::Packet& a, const testgen::Packet& b) {
    return a.ts_ns < b.ts_ns;
  });
  ScanRun r = scan({write("protocols.pcap", all)});
  ASSERT_EQ(r.rc, 0) << r.errors;
  for (const Plant& p : plants) {
    const json* f = find(r.findings, p);
    ASSERT_NE(f, nullptr) << p.what << ": no " << p.category << " finding from " << p.src_ip
                          << "\n" << r.raw;
    for (const auto& [k, v] : p.fields) {
      EXPECT_EQ(f->value(k, std::string("<missing>")), v) << p.what << ": " << k << "\n" << f->dump();
    }
    if (!p.value.empty()) expect_never_in_clear(r, p.value);
  }
  // Nothing else: one finding per plant, no limit hit, no tunnel from the browsing.
  EXPECT_EQ(r.findings.size(), plants.size()) << r.raw;
}

TEST_F(ProtocolsTest, ZipBombEndsInACountedLimitFinding) {
  testgen::TcpConfig cfg = client("10.7.2.10", 42000);
  const std::string bomb = testgen::make_zero_bomb(300ull << 20);
  ScanRun r = scan({write("bomb.pcap", upload(cfg, testgen::http_post("files.example.net", "/up",
                                                                      bomb, "application/zip")))});
  ASSERT_EQ(r.rc, 0) << r.errors;
  ASSERT_EQ(r.findings.size(), 1u) << r.raw;
  EXPECT_EQ(r.findings[0]["category"], "limit");
  EXPECT_EQ(r.findings[0]["detector"], "limit.decompression_ratio");
  EXPECT_EQ(r.findings[0]["http.host"], "files.example.net");
  EXPECT_NE(r.summary.find("limit.decompression_ratio=1"), std::string::npos) << r.summary;
}

}  // namespace
}  // namespace dlp
