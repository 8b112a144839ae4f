// libFuzzer target for the MIME decoder: the first byte picks message or form-data mode,
// tight limits, and where the input is cut in two; the sink checks the stream contract.
#include <cstdint>
#include <cstdlib>

#include "inspectors/mime.h"
#include "tests/inspectors/recording_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dlp::inspectors;
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  const dlp::Bytes input(data + 1, size - 1);
  const std::size_t cut = input.empty() ? 0 : (control >> 2) % input.size();
  Limits limits;
  if (control & 2) {
    limits.max_depth = 2;
    limits.max_header_bytes = 200;
    limits.max_stream_bytes = 300;
  }
  testing::RecordingSink sink;
  {
    MimeDecoder m(sink, ContentMeta{}, limits);
    if (control & 1) {
      m.start_body("multipart/form-data; boundary=b");
    } else {
      m.start_message();
    }
    m.data(input.subspan(0, cut));
    m.data(input.subspan(cut));
    m.finish();
  }
  if (!sink.errors.empty() || !sink.all_closed()) std::abort();
  // Decoding never grows the data beyond what uudecode/QP/base64 allow (at most the input).
  if (sink.total_bytes() > input.size() + 2) std::abort();
  return 0;
}
