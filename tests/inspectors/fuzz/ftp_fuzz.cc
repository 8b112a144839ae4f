// libFuzzer target for the FTP control parser: input bytes alternate between client and
// server by NUL separators; announcements must stay bounded and claims must not crash.
#include <cstdint>
#include <cstdlib>

#include "inspectors/ftp/ftp_inspector.h"
#include "tests/inspectors/recording_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dlp::inspectors;
  static FtpInspectorFactory factory;
  testing::RecordingSink sink;
  FlowInfo f;
  f.client_ip[10] = f.client_ip[11] = 0xff;
  f.server_port = 21;
  auto insp = factory.create(sink, f);
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
  FlowInfo d;
  d.server_port = static_cast<std::uint16_t>(size);
  if (factory.claim(d)) factory.create(sink, d)->close();
  if (factory.stats().expectations - factory.stats().evicted - factory.stats().claimed -
          factory.stats().expired > FtpInspectorFactory::kMaxExpectations) {
    std::abort();
  }
  return 0;
}
