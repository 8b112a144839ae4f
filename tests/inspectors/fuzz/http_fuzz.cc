// libFuzzer target for the HTTP/1.x inspector. The first input byte chooses where the
// rest is cut into two data() calls and whether a gap is inserted there, so framing across
// call boundaries and gap recovery are fuzzed too; the sink checks the ContentSink contract
// (no use of unknown or closed ids, everything closed at the end, no byte invented).
//
//   clang++ -std=c++20 -fsanitize=fuzzer,address,undefined -I<repo> \
//     tests/inspectors/fuzz/http_fuzz.cc inspectors/*.cc -o http_fuzz && ./http_fuzz
//
// Built by CMake only with clang (tests/inspectors/fuzz/CMakeLists.txt).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "inspectors/http_inspector.h"
#include "tests/inspectors/recording_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dlp::inspectors;
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  const dlp::Bytes input(data + 1, size - 1);
  HttpLimits limits;
  if (control & 0x80) {  // tight limits reach the overflow paths with short inputs
    limits.max_line = 40;
    limits.max_header_bytes = 100;
    limits.max_headers = 4;
    limits.max_chunk_line = 8;
  }
  const std::size_t cut = input.empty() ? 0 : (control & 0x3f) % input.size();

  testing::RecordingSink sink;
  auto insp = HttpInspectorFactory(limits).create(sink, FlowInfo{});
  insp->data(Dir::to_server, input.first(cut));
  if (control & 0x40) insp->gap(Dir::to_server, 1 + (control & 0x0f));
  insp->data(Dir::to_server, input.subspan(cut));
  insp->close();

  if (!sink.errors.empty() || !sink.all_closed() || sink.total_bytes() > input.size()) {
    std::abort();
  }
  return 0;
}
