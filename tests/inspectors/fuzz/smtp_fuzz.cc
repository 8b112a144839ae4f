// libFuzzer target for the SMTP inspector: NUL bytes switch between client and server, so
// replies (354, 334, 220 after STARTTLS) interleave with commands and message data.
#include <cstdint>
#include <cstdlib>

#include "inspectors/smtp/smtp_inspector.h"
#include "tests/inspectors/recording_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dlp::inspectors;
  testing::RecordingSink sink;
  {
    SmtpInspectorFactory f;
    auto insp = f.create(sink, FlowInfo{});
    Dir dir = Dir::to_server;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= size; ++i) {
      if (i == size || data[i] == 0) {
        insp->data(dir, dlp::Bytes(data + start, i - start));
        dir = dir == Dir::to_server ? Dir::to_client : Dir::to_server;
        start = i + 1;
      }
    }
    insp->close();
  }
  if (!sink.errors.empty() || !sink.all_closed()) std::abort();
  return 0;
}
