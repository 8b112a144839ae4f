// Interim pass-through until the file layer lands (same session): every stream goes to
// `next` unchanged.
#include "inspectors/files/file_sink.h"

namespace dlp::inspectors {

struct FileSink::Impl {
  ContentSink& next;
  Limits limits;
  FileStats stats;
};

FileSink::FileSink(ContentSink& next, const Limits& limits)
    : impl_(std::make_unique<Impl>(Impl{next, limits, {}})) {}
FileSink::~FileSink() = default;
ContentSink::StreamId FileSink::open(const ContentMeta& meta) { return impl_->next.open(meta); }
void FileSink::write(StreamId id, Bytes data) { impl_->next.write(id, data); }
void FileSink::gap(StreamId id, std::uint64_t len) { impl_->next.gap(id, len); }
void FileSink::close(StreamId id) { impl_->next.close(id); }
void FileSink::weird(std::string_view what) { impl_->next.weird(what); }
void FileSink::flow_meta(const ContentMeta& meta) { impl_->next.flow_meta(meta); }
void FileSink::report(const Report& r) { impl_->next.report(r); }
std::uint64_t FileSink::now_ns() const { return impl_->next.now_ns(); }
const FileStats& FileSink::stats() const { return impl_->stats; }

}  // namespace dlp::inspectors
