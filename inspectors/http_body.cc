#include "inspectors/http_body.h"

#include "inspectors/ascii.h"

#include <algorithm>
#include <cctype>

#include "inspectors/mime.h"

namespace dlp::inspectors {
HttpBody::HttpBody(ContentSink& sink, const Limits& limits) : sink_(sink), limits_(limits) {
  out_.body = this;
}

HttpBody::~HttpBody() = default;

void HttpBody::begin(const ContentMeta& meta, std::string_view content_encoding,
                     std::string_view content_type, bool raw) {
  if (active_) end();
  active_ = true;
  meta_ = meta;
  content_type_.assign(content_type);
  open_ = cut_ = false;
  written_ = 0;
  stages_.clear();
  url_ = UrlDecoder();
  json_ = JsonUnescaper();
  kind_ = Kind::plain;
  if (raw) return;

  // Codings were applied in the order listed: undo them from the last one back.
  std::vector<Coding> codings;
  std::string_view rest = content_encoding;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view tok = trim_blank(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const Coding c = parse_coding(tok);
    if (c == Coding::unknown) {
      sink_.weird("http.unknown_content_encoding");
      codings.clear();  // cannot undo the chain: scan the bytes as they are
      break;
    }
    if (c != Coding::identity) codings.push_back(c);
  }
  for (auto it = codings.rbegin(); it != codings.rend(); ++it) {
    auto s = std::make_unique<Stage>();
    s->body = this;
    s->index = stages_.size();
    s->dec = std::make_unique<Decompressor>(*it, limits_);
    stages_.push_back(std::move(s));
  }

  const std::string type = ascii_lower(content_type);
  if (type.rfind("multipart/", 0) == 0) {
    kind_ = Kind::multipart;
    mime_ = std::make_unique<MimeDecoder>(sink_, meta_, limits_);
    mime_->start_body(content_type);
  } else if (type.rfind("application/x-www-form-urlencoded", 0) == 0) {
    kind_ = Kind::urlencoded;
    meta_.form_field = "form";
  } else if (type.find("json") != std::string::npos) {
    kind_ = Kind::json;
  } else if (type.empty() || type.rfind("text/plain", 0) == 0) {
    kind_ = Kind::sniff;  // JSON sent without its type is common: decide on the first byte
  }
}

void HttpBody::write(Bytes b) {
  if (!active_ || b.empty()) return;
  push(0, b);
}

void HttpBody::push(std::size_t i, Bytes b) {
  if (i == stages_.size()) {
    text(b);
    return;
  }
  Stage& s = *stages_[i];
  switch (s.state) {
    case StageState::stopped:
      return;
    case StageState::passthrough:
      push(i + 1, b);
      return;
    case StageState::decoding:
      break;
  }
  const std::uint64_t out_before = s.dec->bytes_out();
  switch (s.dec->feed(b, s)) {
    case Decompressor::Status::ok:
      return;
    case Decompressor::Status::done:
      // Bytes after the end of the coded stream: not ours to decode, still scanned.
      s.state = StageState::passthrough;
      return;
    case Decompressor::Status::corrupt:
      sink_.weird("http.bad_content_encoding");
      s.state = StageState::passthrough;
      // Never lose bytes to a lying header: what did not decode goes on as it is.
      if (s.dec->bytes_out() == out_before) push(i + 1, b);
      return;
    case Decompressor::Status::limit: {
      s.state = StageState::stopped;
      const std::string_view what = s.dec->limit_what();
      limit_hit(sink_, limits_, what, meta_,
                std::string(coding_name(s.dec->coding())) + " body decompressed to " +
                    std::to_string(s.dec->bytes_out()) + " bytes from " +
                    std::to_string(s.dec->bytes_in()));
      return;
    }
  }
}

void HttpBody::text(Bytes b) {
  switch (kind_) {
    case Kind::plain: emit(b); return;
    case Kind::urlencoded: url_.feed(b, out_); return;
    case Kind::json: json_.feed(b, out_); return;
    case Kind::multipart:
      mime_->data(b);
      return;
    case Kind::sniff: {
      std::size_t i = 0;
      while (i < b.size() && std::isspace(b[i])) ++i;
      if (i == b.size()) {
        emit(b);
        return;
      }
      kind_ = (b[i] == '{' || b[i] == '[') ? Kind::json : Kind::plain;
      text(b);
      return;
    }
  }
}

void HttpBody::open_stream() {
  if (open_) return;
  id_ = sink_.open(meta_);
  open_ = true;
}

void HttpBody::emit(Bytes b) {
  if (b.empty() || cut_) return;
  open_stream();
  if (written_ + b.size() > limits_.max_stream_bytes) {
    const auto room = static_cast<std::size_t>(limits_.max_stream_bytes - written_);
    if (room > 0) sink_.write(id_, b.first(room));
    written_ += room;
    cut_ = true;
    limit_hit(sink_, limits_, "stream_bytes", meta_,
              "request body longer than " + std::to_string(limits_.max_stream_bytes) + " bytes");
    return;
  }
  sink_.write(id_, b);
  written_ += b.size();
}

void HttpBody::gap(std::uint64_t len) {
  if (!active_) return;
  if (!stages_.empty()) {
    // A hole in a compressed stream makes the rest undecodable.
    for (auto& s : stages_) {
      if (s->state == StageState::decoding) {
        sink_.weird("http.gap_in_coded_body");
        s->state = StageState::stopped;
        break;
      }
    }
  }
  if (kind_ == Kind::multipart) {
    mime_->gap(len);
    return;
  }
  open_stream();
  sink_.gap(id_, len);
}

void HttpBody::end() {
  if (!active_) return;
  if (kind_ == Kind::urlencoded) url_.finish(out_);
  if (kind_ == Kind::json) json_.finish(out_);
  if (kind_ == Kind::multipart && mime_) {
    mime_->finish();
    mime_.reset();
  }
  if (open_) sink_.close(id_);
  open_ = false;
  active_ = false;
  stages_.clear();
}

}  // namespace dlp::inspectors
