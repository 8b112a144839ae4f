// libFuzzer target for the TLS inspector. Byte 0 chooses where the rest is cut into two
// data() calls and whether a gap or server bytes come between; with its top bit set the
// rest is instead taken as a bare ClientHello body for parse_client_hello() and ja4(), so
// mutations reach the extension parser without having to keep the record framing intact.
// Checks: TLS never opens a content stream, reports flow metadata at most once, keeps the
// sink contract, and JA4 always has its fixed shape.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "inspectors/tls/tls_inspector.h"
#include "tests/inspectors/recording_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dlp::inspectors;
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  const dlp::Bytes input(data + 1, size - 1);
  if (control & 0x80) {
    ClientHello h;
    if (parse_client_hello(input, h)) {
      const std::string j = ja4(h);
      if (j.size() != 36 || j[10] != '_' || j[23] != '_') std::abort();
      (void)ja4_raw(h);
    }
    return 0;
  }
  const std::size_t cut = input.empty() ? 0 : (control & 0x3f) % input.size();
  testing::RecordingSink sink;
  TlsInspectorFactory f;
  auto insp = f.create(sink, FlowInfo{});
  insp->data(Dir::to_server, input.first(cut));
  if (control & 0x40) insp->data(Dir::to_client, input.first(cut));
  insp->data(Dir::to_server, input.subspan(cut));
  insp->data(Dir::to_server, input);
  insp->close();
  if (!sink.streams.empty() || sink.flow_metas.size() > 1 || !sink.errors.empty()) std::abort();
  for (const auto& m : sink.flow_metas) {
    if (m.tls_ja4.size() != 36 || m.tls_sni.size() > 255) std::abort();
  }
  return 0;
}
