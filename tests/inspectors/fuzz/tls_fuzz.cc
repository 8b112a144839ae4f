// libFuzzer target for the TLS ClientHello parser: the first byte chooses where the input
// is cut into two data() calls; the sink checks that TLS never opens a content stream.
#include <cstdint>
#include <cstdlib>

#include "inspectors/tls/tls_inspector.h"
#include "tests/inspectors/recording_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dlp::inspectors;
  if (size == 0) return 0;
  const dlp::Bytes input(data + 1, size - 1);
  const std::size_t cut = input.empty() ? 0 : data[0] % input.size();
  testing::RecordingSink sink;
  TlsInspectorFactory f;
  auto insp = f.create(sink, FlowInfo{});
  insp->data(Dir::to_server, input.subspan(0, cut));
  insp->data(Dir::to_server, input.subspan(cut));
  insp->close();
  if (!sink.streams.empty() || sink.flow_metas.size() > 1 || !sink.errors.empty()) std::abort();
  return 0;
}
