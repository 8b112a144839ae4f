// Helpers shared by the HTTP inspector tests: run a byte string through a fresh inspector,
// whole or cut into pieces, and record what it emitted.
//
//   RecordingSink s = run_http("GET / HTTP/1.1\r\n\r\n");
//   RecordingSink t = run_http_pieces({"GET / HT", "TP/1.1\r\n\r\n"});
//   EXPECT_EQ(s.dump(), t.dump());
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "inspectors/http_inspector.h"
#include "tests/inspectors/recording_sink.h"

namespace dlp::inspectors::testing {

inline RecordingSink run_http_pieces(const std::vector<std::string>& pieces,
                                     const HttpLimits& limits = {}, const Limits& common = {}) {
  RecordingSink sink;
  auto insp = HttpInspectorFactory(limits, common).create(sink, FlowInfo{});
  for (const std::string& p : pieces) insp->data(Dir::to_server, as_bytes(p));
  insp->close();
  return sink;
}

inline RecordingSink run_http(std::string_view input, const HttpLimits& limits = {}) {
  return run_http_pieces({std::string(input)}, limits);
}

// "http to_server method=GET host=h url="/x" ua= mime= user=" for one stream.
inline std::string meta_of(const RecordingSink& sink, std::size_t i) {
  return RecordingSink::describe(sink.streams.at(i).meta);
}

}  // namespace dlp::inspectors::testing
