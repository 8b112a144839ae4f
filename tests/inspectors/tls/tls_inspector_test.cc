#include "inspectors/tls/tls_inspector.h"

#include <random>
#include <string>

#include <gtest/gtest.h>

#include "tests/gen/tls_gen.h"
#include "tests/inspectors/recording_sink.h"

namespace dlp::inspectors {
namespace {

using testing::RecordingSink;

ContentMeta run(const std::vector<std::string>& pieces, RecordingSink& sink) {
  TlsInspectorFactory f;
  auto insp = f.create(sink, FlowInfo{});
  for (const auto& p : pieces) insp->data(Dir::to_server, as_bytes(p));
  insp->close();
  return sink.merged_flow_meta();
}

ContentMeta run(const std::string& bytes, RecordingSink& sink) {
  return run(std::vector<std::string>{bytes}, sink);
}

TEST(TlsInspector, ReportsSniAlpnAndJa4AsFlowMetadata) {
  testgen::ClientHelloSpec spec;
  spec.sni = "files.example.com";
  RecordingSink sink;
  const ContentMeta m = run(testgen::client_hello_records(spec), sink);
  ASSERT_EQ(sink.flow_metas.size(), 1u);
  EXPECT_EQ(m.app, App::tls);
  EXPECT_EQ(m.tls_sni, "files.example.com");
  EXPECT_EQ(m.tls_alpn, "h2,http/1.1");
  // The cipher part is the one FoxIO publishes for Chrome's 15 suites (8daaf6152771);
  // the extension part was computed with sha256sum over the sorted list and the
  // signature algorithms.
  EXPECT_EQ(m.tls_ja4, "t13d1510h2_8daaf6152771_8bde2cd34894");
  EXPECT_TRUE(sink.streams.empty());
  EXPECT_TRUE(sink.weirds.empty()) << sink.dump();
}

TEST(TlsInspector, GreaseIsIgnoredAndNoSniGivesI) {
  testgen::ClientHelloSpec spec;
  spec.sni = "a.example";
  RecordingSink plain, greased;
  const std::string base = run(testgen::client_hello_records(spec), plain).tls_ja4;
  spec.grease = true;
  EXPECT_EQ(run(testgen::client_hello_records(spec), greased).tls_ja4, base);

  spec.sni.clear();
  spec.alpn.clear();
  RecordingSink bare;
  const ContentMeta m = run(testgen::client_hello_records(spec), bare);
  EXPECT_EQ(m.tls_sni, "");
  EXPECT_EQ(m.tls_alpn, "");
  EXPECT_EQ(m.tls_ja4.substr(0, 10), "t13i150800");
}

TEST(TlsInspector, Tls12HelloWithoutSupportedVersions) {
  testgen::ClientHelloSpec spec;
  spec.sni = "old.example";
  spec.supported_versions.clear();
  RecordingSink sink;
  EXPECT_EQ(run(testgen::client_hello_records(spec), sink).tls_ja4.substr(0, 4), "t12d");
}

TEST(TlsInspector, SameResultAtEverySplitAndAcrossRecords) {
  testgen::ClientHelloSpec spec;
  spec.sni = "split.example.org";
  spec.grease = true;
  RecordingSink whole_sink;
  const std::string bytes = testgen::client_hello_records(spec);
  const std::string want = RecordingSink::describe(run(bytes, whole_sink));
  for (std::size_t i = 1; i < bytes.size(); ++i) {
    RecordingSink s;
    EXPECT_EQ(RecordingSink::describe(run({bytes.substr(0, i), bytes.substr(i)}, s)), want) << i;
    EXPECT_TRUE(s.weirds.empty());
  }
  for (std::size_t rec : {1u, 7u, 50u, 200u}) {
    RecordingSink s;
    EXPECT_EQ(RecordingSink::describe(run(testgen::client_hello_records(spec, rec), s)), want)
        << "records of " << rec;
  }
  // Byte by byte.
  std::vector<std::string> bytewise;
  for (char c : bytes) bytewise.emplace_back(1, c);
  RecordingSink s;
  EXPECT_EQ(RecordingSink::describe(run(bytewise, s)), want);
}

TEST(TlsInspector, MalformedHellosAreWeirdsNeverCrashes) {
  testgen::ClientHelloSpec spec;
  spec.sni = "x.example";
  const std::string good = testgen::client_hello_records(spec);
  {
    RecordingSink s;
    run(good.substr(0, good.size() - 10), s);
    EXPECT_EQ(s.weird_count("tls.truncated_hello"), 1u);
    EXPECT_TRUE(s.flow_metas.empty());
  }
  {
    RecordingSink s;
    run(std::string("\x17\x03\x03\x00\x05hello", 10), s);
    EXPECT_EQ(s.weird_count("tls.not_handshake"), 1u);
  }
  {
    // The SNI list claims more bytes than its extension holds.
    std::string bad = good;
    const auto at = bad.find("x.example");
    ASSERT_NE(at, std::string::npos);
    bad[at - 2] = '\x7f';
    RecordingSink s;
    run(bad, s);
    EXPECT_EQ(s.weird_count("tls.bad_hello"), 1u);
    EXPECT_TRUE(s.flow_metas.empty());
  }
  {
    // A handshake length of 16 MiB: refused at once, counted as a limit and reported.
    RecordingSink s;
    run(std::string("\x16\x03\x01\x00\x04\x01\xff\xff\xff", 9), s);
    EXPECT_EQ(s.weird_count("limit.flow_memory"), 1u);
    ASSERT_EQ(s.reports.size(), 1u);
    EXPECT_EQ(s.reports[0].category, "limit");
  }
  // Random damage to a good hello: any outcome but a crash or a content stream.
  std::mt19937_64 rng(7);
  for (int i = 0; i < 3000; ++i) {
    std::string b = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) b[rng() % b.size()] = static_cast<char>(rng());
    RecordingSink s;
    run({b.substr(0, rng() % b.size()), b.substr(b.size() / 2)}, s);
    ASSERT_TRUE(s.streams.empty());
    ASSERT_LE(s.flow_metas.size(), 1u);
  }
}

TEST(TlsInspector, ProbeAndPorts) {
  TlsInspectorFactory f;
  testgen::ClientHelloSpec spec;
  const std::string hello = testgen::client_hello_records(spec);
  EXPECT_TRUE(f.probe(as_bytes(hello)));
  EXPECT_TRUE(f.probe(as_bytes(hello.substr(0, 3))));
  EXPECT_FALSE(f.probe(as_bytes("GET / HTTP/1.1\r\n")));
  EXPECT_FALSE(f.probe(as_bytes(std::string("\x16\x03\x01\x00\x10\x02", 6))));  // ServerHello
  EXPECT_TRUE(f.wants_port(443));
  EXPECT_TRUE(f.wants_port(993));
  EXPECT_FALSE(f.wants_port(80));
}

}  // namespace
}  // namespace dlp::inspectors
