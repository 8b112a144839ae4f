#include "inspectors/tls/tls_inspector.h"

#include <random>
#include <string>

#include <gtest/gtest.h>

#include "tests/gen/tls_gen.h"
#include "tests/inspectors/recording_sink.h"

namespace dlp::inspectors {
namespace {

using testing::RecordingSink;

ContentMeta run(const std::vector<std::string>& pieces, RecordingSink& sink,
                const Limits& limits = {}) {
  TlsInspectorFactory f(limits);
  auto insp = f.create(sink, FlowInfo{});
  for (const auto& p : pieces) insp->data(Dir::to_server, as_bytes(p));
  insp->close();
  return sink.merged_flow_meta();
}

ContentMeta run(const std::string& bytes, RecordingSink& sink) {
  return run(std::vector<std::string>{bytes}, sink);
}

// Everything a run shows: streams, reports, weirds and the flow metadata.
std::string observe(const std::vector<std::string>& pieces) {
  RecordingSink s;
  const ContentMeta m = run(pieces, s);
  return s.dump() + "flow " + RecordingSink::describe(m) + " metas=" +
         std::to_string(s.flow_metas.size()) + "\n";
}

ClientHello parse(const testgen::ClientHelloSpec& spec) {
  const std::string hs = testgen::client_hello_handshake(spec);
  ClientHello h;
  EXPECT_TRUE(parse_client_hello(as_bytes(hs).subspan(4), h));
  return h;
}

// The ClientHello of FoxIO's JA4 description: Chrome's 15 suites, 16 extensions in the
// published order, GREASE as Chrome sends it.
testgen::ClientHelloSpec spec_example() {
  testgen::ClientHelloSpec spec;
  spec.sni = "www.example.com";
  spec.order = testgen::kJa4SpecExtensionOrder;
  spec.grease = true;
  return spec;
}

TEST(TlsJa4, PublishedSpecExample) {
  const ClientHello h = parse(spec_example());
  EXPECT_EQ(ja4(h), "t13d1516h2_8daaf6152771_e5627efa2ab1");
  EXPECT_EQ(ja4_raw(h),
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,"
            "cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,"
            "0804,0401,0503,0805,0501,0806,0601");
  EXPECT_EQ(h.bad_extensions, 0u);
}

TEST(TlsJa4, PublishedChromeCaptureWithEch) {
  // A Chrome 143 hello as published by a fingerprinting service (JA4_ro gives the order):
  // ECH (fe0d) and the new ALPS code point (44cd).
  testgen::ClientHelloSpec spec;
  spec.sni = "tls-outer.example.com";
  spec.grease = true;
  spec.order = {0x002d, 0x0033, 0x0010, 0xfe0d, 0x0017, 0x44cd, 0x0000, 0x000b,
                0x000a, 0x002b, 0xff01, 0x0023, 0x0012, 0x0005, 0x000d, 0x001b};
  RecordingSink sink;
  const ContentMeta m = run(testgen::client_hello_records(spec), sink);
  EXPECT_EQ(m.tls_ja4, "t13d1516h2_8daaf6152771_d8a2da3f94cd");
  EXPECT_EQ(m.notes, std::vector<std::string>{
                         "tls ech: the real server name is encrypted, sni is the outer name"});
  EXPECT_TRUE(sink.weirds.empty()) << sink.dump();
}

TEST(TlsJa4, EmptyListsAndAlpnRules) {
  ClientHello h;
  h.legacy_version = 0x0303;
  // The spec's extension list without signature algorithms: no "_", a known hash.
  h.extensions = {0x0005, 0x000a, 0x000b, 0x000d, 0x0012, 0x0015, 0x0017,
                  0x001b, 0x0023, 0x002b, 0x002d, 0x0033, 0x4469, 0xff01};
  EXPECT_EQ(ja4(h), "t12i001400_000000000000_6d807ffa2a79");
  h.extensions.clear();
  EXPECT_EQ(ja4(h), "t12i000000_000000000000_000000000000");
  h.extensions = {0x0000, 0x0010, 0x0a0a};  // only SNI, ALPN and GREASE
  h.has_sni = true;
  EXPECT_EQ(ja4(h), "t12d000200_000000000000_000000000000");

  auto alpn = [](std::string first) {
    ClientHello x;
    x.alpn = {std::move(first), "h2"};
    return ja4(x).substr(8, 2);
  };
  EXPECT_EQ(alpn("h2"), "h2");
  EXPECT_EQ(alpn("http/1.1"), "h1");
  EXPECT_EQ(alpn("x"), "xx");
  EXPECT_EQ(alpn(""), "00");
  // The spec's non-alphanumeric examples: first and last hex digit of the value.
  EXPECT_EQ(alpn("\xab"), "ab");
  EXPECT_EQ(alpn("\xab\xcd"), "ad");
  EXPECT_EQ(alpn("\x30\xab"), "3b");
  EXPECT_EQ(alpn("\x30\x31\xab\xcd"), "3d");
  EXPECT_EQ(alpn("\x30\xab\xcd\x31"), "01");

  auto version = [](std::vector<std::uint16_t> sv, std::uint16_t legacy) {
    ClientHello x;
    x.supported_versions = std::move(sv);
    x.legacy_version = legacy;
    return ja4(x).substr(0, 3);
  };
  EXPECT_EQ(version({0x7a7a, 0x0304, 0x0303}, 0x0303), "t13");
  EXPECT_EQ(version({0x7a7a}, 0x0302), "t11");  // only GREASE: the hello's version
  EXPECT_EQ(version({}, 0x0301), "t10");
  EXPECT_EQ(version({}, 0x0300), "ts3");
  EXPECT_EQ(version({}, 0x0002), "ts2");
  EXPECT_EQ(version({0xfefd}, 0xfeff), "td2");
  EXPECT_EQ(version({}, 0x1234), "t00");

  ClientHello many;
  for (std::uint16_t c = 1; c <= 150; ++c) many.ciphers.push_back(c);
  for (std::uint16_t e = 0x100; e < 0x100 + 120; ++e) many.extensions.push_back(e);
  EXPECT_EQ(ja4(many).substr(4, 4), "9999");

  for (std::uint16_t g = 0x0a0a; g != 0; g = static_cast<std::uint16_t>(g + 0x1010)) {
    EXPECT_TRUE(is_grease(g)) << g;
    if (g == 0xfafa) break;
  }
  EXPECT_FALSE(is_grease(0x0a1a));
  EXPECT_FALSE(is_grease(0x1301));
}

TEST(TlsInspector, ReportsSniAlpnAndJa4AsFlowMetadata) {
  testgen::ClientHelloSpec spec = spec_example();
  spec.sni = "files.example.com";
  RecordingSink sink;
  const ContentMeta m = run(testgen::client_hello_records(spec), sink);
  ASSERT_EQ(sink.flow_metas.size(), 1u);
  EXPECT_EQ(m.app, App::tls);
  EXPECT_EQ(m.tls_sni, "files.example.com");
  EXPECT_EQ(m.tls_alpn, "h2,http/1.1");
  EXPECT_EQ(m.tls_ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
  EXPECT_TRUE(m.notes.empty());
  EXPECT_TRUE(sink.streams.empty());
  EXPECT_TRUE(sink.reports.empty());
  EXPECT_TRUE(sink.weirds.empty()) << sink.dump();
}

TEST(TlsInspector, GreaseIsIgnoredAndNoSniGivesI) {
  testgen::ClientHelloSpec spec;
  spec.sni = "a.example";
  RecordingSink plain, greased;
  const std::string base = run(testgen::client_hello_records(spec), plain).tls_ja4;
  EXPECT_EQ(base, "t13d1510h2_8daaf6152771_8bde2cd34894");
  spec.grease = true;
  EXPECT_EQ(run(testgen::client_hello_records(spec), greased).tls_ja4, base);

  spec.sni.clear();
  spec.alpn.clear();
  RecordingSink bare;
  const ContentMeta m = run(testgen::client_hello_records(spec), bare);
  EXPECT_EQ(m.tls_sni, "");
  EXPECT_EQ(m.tls_alpn, "");
  EXPECT_EQ(m.tls_ja4, "t13i150800_8daaf6152771_8bde2cd34894");
  EXPECT_TRUE(bare.weirds.empty()) << bare.dump();
}

TEST(TlsInspector, Tls12HelloWithoutSupportedVersions) {
  testgen::ClientHelloSpec spec;
  spec.sni = "old.example";
  spec.supported_versions.clear();
  RecordingSink sink;
  EXPECT_EQ(run(testgen::client_hello_records(spec), sink).tls_ja4.substr(0, 10), "t12d1509h2");
  // A hello without any extensions at all (TLS 1.0 style).
  spec = {};
  spec.alpn.clear();
  spec.signature_algorithms.clear();
  spec.supported_versions.clear();
  spec.other_extensions.clear();
  spec.legacy_version = 0x0301;
  RecordingSink old;
  EXPECT_EQ(run(testgen::client_hello_records(spec), old).tls_ja4,
            "t10i150000_8daaf6152771_000000000000");
  EXPECT_TRUE(old.weirds.empty()) << old.dump();
}

TEST(TlsInspector, SameResultAtEverySplitAcrossRecordsAndSegments) {
  testgen::ClientHelloSpec spec = spec_example();
  spec.sni = "split.example.org";
  const std::string bytes = testgen::client_hello_records(spec);
  const std::string want = observe({bytes});
  EXPECT_NE(want.find("sni=\"split.example.org\""), std::string::npos) << want;
  EXPECT_EQ(want.find("weird"), std::string::npos) << want;
  for (std::size_t i = 1; i < bytes.size(); ++i) {
    ASSERT_EQ(observe({bytes.substr(0, i), bytes.substr(i)}), want) << i;
  }
  for (std::size_t rec : {1u, 2u, 5u, 7u, 50u, 200u}) {
    const std::string recs = testgen::client_hello_records(spec, rec);
    EXPECT_EQ(observe({recs}), want) << "records of " << rec;
    // Records and segments cut at different places.
    for (std::size_t i = 1; i < recs.size(); i += 13) {
      ASSERT_EQ(observe({recs.substr(0, i), recs.substr(i)}), want) << rec << " " << i;
    }
  }
  std::vector<std::string> bytewise;
  for (char c : testgen::client_hello_records(spec, 100)) bytewise.emplace_back(1, c);
  EXPECT_EQ(observe(bytewise), want);
}

TEST(TlsInspector, EncryptedRestAndResponsesAreIgnored) {
  testgen::ClientHelloSpec spec = spec_example();
  const std::string hello = testgen::client_hello_records(spec);
  const std::string appdata = std::string("\x17\x03\x03\x00\x05", 5) + "\x01\x02\x03\x04\x05";
  const std::string ccs("\x14\x03\x03\x00\x01\x01", 6);
  RecordingSink s;
  TlsInspectorFactory f;
  auto insp = f.create(s, FlowInfo{});
  insp->data(Dir::to_client, as_bytes(std::string("\x16\x03\x03\x00\x04\x02\x00\x00\x00", 9)));
  insp->data(Dir::to_server, as_bytes(hello + ccs + appdata));
  insp->data(Dir::to_server, as_bytes(appdata + "not even TLS"));
  insp->gap(Dir::to_server, 1000);
  insp->close();
  EXPECT_EQ(s.flow_metas.size(), 1u);
  EXPECT_EQ(s.merged_flow_meta().tls_ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
  EXPECT_TRUE(s.streams.empty());
  EXPECT_TRUE(s.weirds.empty()) << s.dump();
}

// The offset of the extensions' total length in the records of a default-cipher hello.
std::size_t ext_len_offset(const testgen::ClientHelloSpec& spec) {
  return 5 + 4 + 2 + 32 + 1 + 32 + 2 + 2 * (spec.ciphers.size() + (spec.grease ? 1 : 0)) + 2;
}

TEST(TlsInspector, MalformedHellosAreWeirdsNeverCrashes) {
  testgen::ClientHelloSpec spec;
  spec.sni = "x.example";
  const std::string good = testgen::client_hello_records(spec);
  {
    RecordingSink s;
    run(good.substr(0, good.size() - 10), s);
    EXPECT_EQ(s.weirds, std::vector<std::string>{"tls.truncated_hello"});
    EXPECT_TRUE(s.flow_metas.empty());
  }
  {
    RecordingSink s;
    run(std::string("\x17\x03\x03\x00\x05hello", 10), s);
    EXPECT_EQ(s.weirds, std::vector<std::string>{"tls.not_handshake"});
  }
  {
    RecordingSink s;
    run(std::string("\x16\x03\x01\x00\x00", 5) + good, s);
    EXPECT_EQ(s.weirds, std::vector<std::string>{"tls.bad_record"});
  }
  {
    RecordingSink s;  // a ServerHello where a ClientHello belongs
    run(std::string("\x16\x03\x03\x00\x04\x02\x00\x00\x00", 9), s);
    EXPECT_EQ(s.weirds, std::vector<std::string>{"tls.not_client_hello"});
  }
  {
    // The extensions claim more bytes than the hello holds: framing broken, no meta.
    std::string bad = good;
    const std::size_t at = ext_len_offset(spec);
    bad[at] = '\x7f';
    RecordingSink s;
    run(bad, s);
    EXPECT_EQ(s.weirds, std::vector<std::string>{"tls.bad_hello"});
    EXPECT_TRUE(s.flow_metas.empty());
  }
  {
    // The SNI entry claims more bytes than its extension: that extension is bad, the rest
    // of the hello (ALPN, JA4) still counts.
    std::string bad = good;
    const auto at = bad.find("x.example");
    ASSERT_NE(at, std::string::npos);
    bad[at - 2] = '\x7f';
    RecordingSink s;
    const ContentMeta m = run(bad, s);
    EXPECT_EQ(s.weirds, std::vector<std::string>{"tls.bad_extension"});
    EXPECT_EQ(m.tls_sni, "");
    EXPECT_EQ(m.tls_alpn, "h2,http/1.1");
    EXPECT_EQ(m.tls_ja4.substr(0, 4), "t13d");
  }
  {
    // Zero-length SNI, ALPN, supported_versions and signature_algorithms bodies.
    testgen::ClientHelloSpec z;
    z.order = {};
    z.other_extensions = {};
    z.alpn.clear();
    z.signature_algorithms.clear();
    z.supported_versions.clear();
    z.raw_extensions = {{0x0000, ""}, {0x0010, ""}, {0x002b, ""}, {0x000d, ""}, {0x0010,
                        std::string("\x00\x01\x00", 3)}};
    RecordingSink s;
    const ContentMeta m = run(testgen::client_hello_records(z), s);
    EXPECT_EQ(s.weirds, std::vector<std::string>{"tls.bad_extension"});
    EXPECT_EQ(m.tls_ja4.substr(0, 10), "t12d150500");
  }
  {
    // A server name with control bytes and an ALPN with a comma: kept as '?'.
    testgen::ClientHelloSpec b;
    b.sni = std::string("evil\r\nhost\x00.example", 19);
    b.alpn = {"h2,x", "\x01"};
    RecordingSink s;
    const ContentMeta m = run(testgen::client_hello_records(b), s);
    EXPECT_EQ(m.tls_sni, "evil??host?.example");
    EXPECT_EQ(m.tls_alpn, "h2?x,?");
    EXPECT_EQ(s.weirds, (std::vector<std::string>{"tls.bad_sni", "tls.bad_alpn"}));
  }
  {
    // A handshake length of 16 MiB: refused at once, counted as a limit and reported.
    RecordingSink s;
    run(std::string("\x16\x03\x01\x00\x04\x01\xff\xff\xff", 9), s);
    EXPECT_EQ(s.weirds, std::vector<std::string>{"limit.flow_memory"});
    ASSERT_EQ(s.reports.size(), 1u);
    EXPECT_EQ(s.reports[0].category, "limit");
    EXPECT_EQ(s.reports[0].meta.app, App::tls);
  }
  {
    // A real 20 KiB hello (padding) over two records: the limit, not a parse.
    testgen::ClientHelloSpec big;
    big.raw_extensions = {{0x0015, std::string(20000, '\0')}};
    RecordingSink s;
    run(testgen::client_hello_records(big), s);
    EXPECT_EQ(s.weirds, std::vector<std::string>{"limit.flow_memory"});
    EXPECT_TRUE(s.flow_metas.empty());
  }
  {
    RecordingSink s;
    TlsInspectorFactory f;
    auto insp = f.create(s, FlowInfo{});
    insp->data(Dir::to_server, as_bytes(good.substr(0, 30)));
    insp->gap(Dir::to_server, 10);
    insp->data(Dir::to_server, as_bytes(good.substr(40)));
    insp->close();
    EXPECT_EQ(s.weirds, std::vector<std::string>{"tls.gap"});
    EXPECT_TRUE(s.flow_metas.empty());
  }
  // Random damage to a good hello: any outcome but a crash, a content stream or a
  // contract violation.
  std::mt19937_64 rng(7);
  const std::string rich = testgen::client_hello_records(spec_example(), 300);
  for (int i = 0; i < 5000; ++i) {
    std::string b = (i % 2) ? good : rich;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) b[rng() % b.size()] = static_cast<char>(rng());
    const std::size_t cut = rng() % b.size();
    RecordingSink s;
    run({b.substr(0, cut), b.substr(cut)}, s);
    ASSERT_TRUE(s.streams.empty());
    ASSERT_TRUE(s.errors.empty());
    ASSERT_LE(s.flow_metas.size(), 1u);
    ASSERT_LE(s.weirds.size(), 3u);
  }
}

TEST(TlsInspector, ProbeAndPorts) {
  TlsInspectorFactory f;
  testgen::ClientHelloSpec spec;
  const std::string hello = testgen::client_hello_records(spec);
  EXPECT_TRUE(f.probe(as_bytes(hello)));
  EXPECT_TRUE(f.probe(as_bytes(hello.substr(0, 3))));
  EXPECT_FALSE(f.probe(as_bytes(hello.substr(0, 2))));
  EXPECT_FALSE(f.probe(as_bytes("GET / HTTP/1.1\r\n")));
  EXPECT_FALSE(f.probe(as_bytes(std::string("\x16\x03\x05\x00\x10\x01", 6))));  // version
  EXPECT_FALSE(f.probe(as_bytes(std::string("\x16\x03\x01\x00\x10\x02", 6))));  // ServerHello
  for (std::uint16_t p : {443, 8443, 993, 995, 465, 853}) EXPECT_TRUE(f.wants_port(p)) << p;
  EXPECT_FALSE(f.wants_port(80));
  EXPECT_FALSE(f.wants_port(21));
}

}  // namespace
}  // namespace dlp::inspectors
