// libFuzzer target for the FTP inspectors. Input: byte 0 chooses how pieces are cut and
// whether gaps are inserted; the rest is split at NUL bytes into pieces that go to the
// control flow alternately from the client and the server. The last two bytes name a
// passive data port: if the control flow announced it, the data flow is claimed and the
// remaining piece is uploaded on it. A fresh factory per input keeps runs reproducible.
// Checks: the ContentSink contract (no unknown or closed ids, everything closed), the
// expectation table's bounds, and that the control flow never opens a content stream.
#include <cstdint>
#include <cstdlib>

#include "inspectors/ftp/ftp_inspector.h"
#include "tests/inspectors/recording_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dlp::inspectors;
  if (size < 3) return 0;
  const std::uint8_t control = data[0];
  const std::uint16_t port = static_cast<std::uint16_t>((data[size - 2] << 8) | data[size - 1]);
  const dlp::Bytes input(data + 1, size - 3);

  Limits limits;
  limits.max_stream_bytes = 64;  // reach the stream limit with short inputs
  FtpInspectorFactory factory(limits);
  testing::RecordingSink cs;
  FlowInfo f;
  f.client_ip = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 0, 30};
  f.server_ip = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 21};
  f.client_port = 40021;
  f.server_port = 21;
  auto insp = factory.create(cs, f);
  Dir dir = Dir::to_server;
  std::size_t start = 0;
  std::size_t pieces = 0;
  for (std::size_t i = 0; i <= input.size(); ++i) {
    if (i < input.size() && input[i] != 0) continue;
    const dlp::Bytes piece = input.subspan(start, i - start);
    if ((control & 1) && piece.size() > 1) {  // each piece in two calls
      const std::size_t cut = (control >> 1) % piece.size();
      insp->data(dir, piece.first(cut));
      insp->data(dir, piece.subspan(cut));
    } else {
      insp->data(dir, piece);
    }
    if ((control & 0x80) && (++pieces % 5) == 0) insp->gap(dir, 7);
    cs.clock_ns += 1'000'000'000;
    dir = dir == Dir::to_server ? Dir::to_client : Dir::to_server;
    start = i + 1;
  }
  insp->close();

  FlowInfo passive = f;
  passive.client_port = 40022;
  passive.server_port = port;
  passive.start_ns = cs.clock_ns;
  FlowInfo active;
  active.client_ip = f.server_ip;
  active.server_ip = f.client_ip;
  active.client_port = 20;
  active.server_port = port;
  active.start_ns = cs.clock_ns;
  for (const FlowInfo& d : {passive, active}) {
    if (!factory.claim(d)) continue;
    testing::RecordingSink ds;
    auto di = factory.create(ds, d);
    di->data(Dir::to_server, input);
    if (control & 0x40) di->gap(Dir::to_server, 3);
    di->data(Dir::to_client, input);
    di->close();
    if (!ds.errors.empty() || !ds.all_closed() || ds.streams.size() > 1 ||
        ds.total_bytes() > limits.max_stream_bytes) {
      std::abort();
    }
  }
  const FtpStats st = factory.stats();
  if (!cs.errors.empty() || !cs.streams.empty() || st.pending > 1 ||
      st.pending > FtpInspectorFactory::kMaxExpectations) {
    std::abort();
  }
  return 0;
}
