// libFuzzer target for the file layer (inspectors/files/): the input is one content
// stream handed to a FileSink, so the sniffing, ZIP/tar/7z/bzip2/xz reading through
// libarchive, streaming gunzip, office XML stripping and PDF text extraction all see
// hostile bytes. The first input byte chooses tight limits (to reach the buffer, depth,
// ratio and size paths with small inputs), where the rest is cut into two writes and
// whether a gap is inserted there. The sink checks the ContentSink contract: no use of
// unknown or closed ids, every stream closed at the end.
//
// Built by CMake only with clang (tests/inspectors/fuzz/CMakeLists.txt). Seeds: run
//   DLP_FILES_SEED_DIR=<corpus dir> inspectors_files_test --gtest_filter=FileSeeds.*
#include <cstdint>
#include <cstdlib>

#include "inspectors/files/file_sink.h"
#include "tests/inspectors/recording_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dlp::inspectors;
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  const dlp::Bytes input(data + 1, size - 1);
  Limits limits;
  limits.max_decompressed_bytes = 8u << 20;  // keep runs fast; still past the 1 MiB grace
  if (control & 0x80) {
    limits.max_file_buffer = 512;
    limits.max_depth = 2;
    limits.max_decompressed_bytes = 4096;
    limits.max_decompression_ratio = 3;
  }
  const std::size_t cut = input.empty() ? 0 : (control & 0x3f) * 37 % input.size();

  testing::RecordingSink sink;
  {
    FileSink files(sink, limits);
    ContentMeta meta;
    meta.file_name = (control & 0x20) ? "upload.zip" : "";
    const auto id = files.open(meta);
    files.write(id, input.first(cut));
    if (control & 0x40) files.gap(id, 1 + (control & 0x0f));
    files.write(id, input.subspan(cut));
    files.close(id);
  }
  if (!sink.errors.empty() || !sink.all_closed()) std::abort();
  return 0;
}
