#include "inspectors/raw_inspector.h"

namespace dlp::inspectors {
namespace {

class RawInspector final : public Inspector {
 public:
  RawInspector(ContentSink& sink, bool inspect_responses)
      : sink_(sink), inspect_responses_(inspect_responses) {}

  void data(Dir dir, Bytes bytes) override {
    if (closed_ || bytes.empty() || !inspects(dir)) return;
    sink_.write(stream(dir), bytes);
  }

  void gap(Dir dir, std::uint64_t len) override {
    if (closed_ || len == 0 || !inspects(dir)) return;
    // Opened even before any data, so stream offsets keep matching flow offsets.
    sink_.gap(stream(dir), len);
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    for (Side& s : sides_) {
      if (s.open) sink_.close(s.id);
      s.open = false;
    }
  }

 private:
  struct Side {
    ContentSink::StreamId id = 0;
    bool open = false;
  };

  bool inspects(Dir dir) const { return dir == Dir::to_server || inspect_responses_; }

  ContentSink::StreamId stream(Dir dir) {
    Side& s = sides_[static_cast<unsigned>(dir)];
    if (!s.open) {
      ContentMeta meta;
      meta.app = App::raw;
      meta.dir = dir;
      s.id = sink_.open(meta);
      s.open = true;
    }
    return s.id;
  }

  ContentSink& sink_;
  bool inspect_responses_;
  bool closed_ = false;
  Side sides_[2];
};

}  // namespace

std::unique_ptr<Inspector> RawInspectorFactory::create(ContentSink& sink,
                                                       const FlowInfo& /*flow*/) const {
  return std::make_unique<RawInspector>(sink, options_.inspect_responses);
}

}  // namespace dlp::inspectors
