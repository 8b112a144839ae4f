#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <string>

#include "inspectors/http_inspector.h"
#include "inspectors/inspector.h"
#include "inspectors/raw_inspector.h"
#include "tests/inspectors/recording_sink.h"

namespace dlp::inspectors {
namespace {

FlowInfo flow_to(std::uint16_t server_port) {
  FlowInfo f;
  f.client_port = 50000;
  f.server_port = server_port;
  return f;
}

// A protocol that claims port 25 and nothing by content, to tell port choice from probe.
class PortOnlyFactory final : public InspectorFactory {
 public:
  App app() const override { return App::smtp; }
  std::string_view name() const override { return "port-only"; }
  bool wants_port(std::uint16_t p) const override { return p == 25; }
  bool probe(Bytes) const override { return false; }
  std::unique_ptr<Inspector> create(ContentSink& sink, const FlowInfo& flow) const override {
    return RawInspectorFactory().create(sink, flow);
  }
};

TEST(AppName, EveryApp) {
  EXPECT_EQ(app_name(App::raw), "raw");
  EXPECT_EQ(app_name(App::http), "http");
  EXPECT_EQ(app_name(App::smtp), "smtp");
  EXPECT_EQ(app_name(App::ftp), "ftp");
  EXPECT_EQ(app_name(App::dns), "dns");
  EXPECT_EQ(app_name(App::tls), "tls");
}

TEST(Registry, DefaultHasEveryInspectorWithRawLast) {
  const Registry r = default_registry();
  std::vector<std::string> names;
  for (const auto& f : r.factories()) names.emplace_back(f->name());
  EXPECT_EQ(names, (std::vector<std::string>{"http", "smtp", "tls", "ftp", "dns", "raw"}));
  EXPECT_EQ(r.factories().back()->app(), App::raw);
}

TEST(Registry, ProbeBeatsPort) {
  Registry r = default_registry();
  r.add(std::make_unique<PortOnlyFactory>());
  // HTTP on the SMTP port: content wins.
  EXPECT_EQ(r.choose(flow_to(25), as_bytes("GET / HTTP/1.1\r\n")).app(), App::http);
  // HTTP on ports nobody claims.
  EXPECT_EQ(r.choose(flow_to(9999), as_bytes("POST /x HTTP/1.1\r\n")).app(), App::http);
  EXPECT_EQ(r.choose(flow_to(8443), as_bytes("OPTIONS * HTTP/1.1\r\n")).app(), App::http);
}

TEST(Registry, PortWhenProbeFails) {
  Registry r = default_registry();
  r.add(std::make_unique<PortOnlyFactory>());
  EXPECT_EQ(r.choose(flow_to(25), as_bytes("EHLO mail.example.com\r\n")).app(), App::smtp);
  EXPECT_EQ(r.choose(flow_to(25), Bytes{}).app(), App::smtp);  // server speaks first
  EXPECT_EQ(r.choose(flow_to(8080), as_bytes("\x00\x01\x02")).app(), App::http);
  // A TLS ClientHello on the proxy port is TLS: content beats port.
  EXPECT_EQ(r.choose(flow_to(8080), as_bytes("\x16\x03\x01")).app(), App::tls);
  EXPECT_EQ(r.choose(flow_to(3128), Bytes{}).app(), App::http);
}

TEST(Registry, RawFallback) {
  const Registry r = default_registry();
  const InspectorFactory& f = r.choose(flow_to(5001), as_bytes("\x00\x01binary\xff"));
  EXPECT_EQ(f.app(), App::raw);
  EXPECT_EQ(&f, r.factories().back().get());  // the registry's own raw, not the built-in one
  EXPECT_EQ(r.choose(flow_to(5000), Bytes{}).app(), App::raw);
}

TEST(Registry, RawAvailableEvenWhenNotAdded) {
  Registry empty;
  EXPECT_EQ(empty.choose(flow_to(80), as_bytes("GET / HTTP/1.1")).app(), App::raw);

  Registry http_only;
  http_only.add(std::make_unique<HttpInspectorFactory>());
  http_only.add(nullptr);  // ignored
  EXPECT_EQ(http_only.factories().size(), 1u);
  const InspectorFactory& f = http_only.choose(flow_to(22), as_bytes("SSH-2.0-OpenSSH_9.2\r\n"));
  EXPECT_EQ(f.app(), App::raw);
  // The fallback really works: it records outbound bytes.
  testing::RecordingSink sink;
  auto insp = f.create(sink, flow_to(22));
  insp->data(Dir::to_server, as_bytes("SSH-2.0"));
  insp->close();
  ASSERT_EQ(sink.streams.size(), 1u);
  EXPECT_EQ(sink.streams[0].bytes, "SSH-2.0");
  EXPECT_TRUE(sink.streams[0].closed);
}

TEST(Registry, ConfiguredRawIsTheOneChosen) {
  Registry r;
  r.add(std::make_unique<RawInspectorFactory>(RawOptions{.inspect_responses = true}));
  const auto& f = dynamic_cast<const RawInspectorFactory&>(r.choose(flow_to(1), Bytes{}));
  EXPECT_TRUE(f.options().inspect_responses);
}

TEST(HttpProbe, MethodsAndShortPrefixes) {
  const HttpInspectorFactory http;
  for (const char* ok : {"GET / HTTP/1.1", "POST ", "PUT /a", "PATCH /", "DELETE /x", "HEAD /",
                         "OPTIONS *", "CONNECT a:443", "TRACE /"}) {
    EXPECT_TRUE(http.probe(as_bytes(ok))) << ok;
  }
  // A short first segment that is entirely a method prefix.
  for (const char* ok : {"G", "GE", "GET", "P", "PO", "OPTIONS", "CONN", "DELET"}) {
    EXPECT_TRUE(http.probe(as_bytes(ok))) << ok;
  }
  for (const char* no : {"", "GETX", "GET/", "get / HTTP/1.1", "GETS / HTTP/1.1", "X", "\x16\x03",
                         "POSTS", "EHLO x", "SSH-2.0", " GET /", "OPTIONS\t*"}) {
    EXPECT_FALSE(http.probe(as_bytes(no))) << no;
  }
}

TEST(HttpPorts, WellKnown) {
  const HttpInspectorFactory http;
  for (std::uint16_t p : {80, 8080, 8000, 3128, 8008, 8888}) EXPECT_TRUE(http.wants_port(p)) << p;
  for (std::uint16_t p : {0, 443, 25, 81, 8443, 65535}) EXPECT_FALSE(http.wants_port(p)) << p;
}

}  // namespace
}  // namespace dlp::inspectors
