// RecordingSink: a ContentSink for tests that keeps every content stream (meta, exact
// bytes, gap markers, open/closed), every weird, and every misuse of the sink contract
// (write after close, unknown id, double close), so tests can assert exact results.
//
//   RecordingSink sink;
//   auto insp = HttpInspectorFactory().create(sink, FlowInfo{});
//   insp->data(Dir::to_server, as_bytes("GET /a?b HTTP/1.1\r\n\r\n"));
//   insp->close();
//   ASSERT_EQ(sink.streams.size(), 1u);
//   EXPECT_EQ(sink.streams[0].bytes, "/a?b");
//   EXPECT_TRUE(sink.errors.empty());
//   EXPECT_EQ(sink.dump(), other.dump());   // whole-run comparison with a readable diff
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/dlp/bytes.h"
#include "inspectors/inspector.h"

namespace dlp::inspectors::testing {

struct RecordedGap {
  std::uint64_t offset = 0;  // position in `bytes` where the hole is
  std::uint64_t len = 0;
  bool operator==(const RecordedGap&) const = default;
};

struct RecordedStream {
  ContentMeta meta;
  std::string bytes;
  std::vector<RecordedGap> gaps;
  std::vector<const std::uint8_t*> write_ptrs;  // to check zero-copy pass-through
  bool closed = false;
};

class RecordingSink final : public ContentSink {
 public:
  StreamId open(const ContentMeta& meta) override {
    streams.push_back(RecordedStream{meta, {}, {}, {}, false});
    return static_cast<StreamId>(streams.size() - 1 + kIdBase);
  }

  void write(StreamId id, Bytes data) override {
    RecordedStream* s = find(id, "write");
    if (s == nullptr) return;
    if (data.empty()) errors.push_back("empty write");
    s->bytes.append(as_chars(data));
    s->write_ptrs.push_back(data.data());
  }

  void gap(StreamId id, std::uint64_t len) override {
    RecordedStream* s = find(id, "gap");
    if (s != nullptr) s->gaps.push_back({s->bytes.size(), len});
  }

  void close(StreamId id) override {
    RecordedStream* s = find(id, "close");
    if (s != nullptr) s->closed = true;
  }

  void weird(std::string_view what) override { weirds.emplace_back(what); }

  void flow_meta(const ContentMeta& meta) override { flow_metas.push_back(meta); }

  void report(const Report& r) override { reports.push_back(r); }

  std::uint64_t now_ns() const override { return clock_ns; }

  // The flow metadata as the worker would hold it after every flow_meta() call so far.
  ContentMeta merged_flow_meta() const {
    ContentMeta m;
    for (const ContentMeta& f : flow_metas) {
      ContentMeta next = f;
      merge_meta(next, m);
      m = std::move(next);
    }
    return m;
  }

  std::size_t weird_count(std::string_view what) const {
    std::size_t n = 0;
    for (const auto& w : weirds) n += (w == what) ? 1 : 0;
    return n;
  }

  bool all_closed() const {
    for (const auto& s : streams) {
      if (!s.closed) return false;
    }
    return true;
  }

  std::uint64_t total_bytes() const {
    std::uint64_t n = 0;
    for (const auto& s : streams) n += s.bytes.size();
    return n;
  }

  // Everything observable except how the bytes were cut into write() calls.
  std::string dump() const {
    std::string out;
    for (std::size_t i = 0; i < streams.size(); ++i) {
      const RecordedStream& s = streams[i];
      out += "stream " + std::to_string(i) + " " + describe(s.meta) + "\n  bytes=" +
             escape(s.bytes) + "\n";
      for (const RecordedGap& g : s.gaps) {
        out += "  gap@" + std::to_string(g.offset) + "+" + std::to_string(g.len) + "\n";
      }
      out += s.closed ? "  closed\n" : "  open\n";
    }
    for (const auto& r : reports) {
      out += "report " + r.detector + " " + r.category + " count=" + std::to_string(r.count) +
             " " + describe(r.meta) + "\n";
    }
    for (const auto& w : weirds) out += "weird " + w + "\n";
    for (const auto& e : errors) out += "error " + e + "\n";
    return out;
  }

  static std::string describe(const ContentMeta& m) {
    std::string out(app_name(m.app));
    out += m.dir == Dir::to_server ? " to_server" : " to_client";
    out += " method=" + m.http_method + " host=" + m.http_host + " url=" + escape(m.http_url) +
           " ua=" + m.http_user_agent + " mime=" + m.file_mime + " user=" + m.user_hint;
    auto add = [&out](const char* k, const std::string& v) {
      if (!v.empty()) out += std::string(" ") + k + "=" + escape(v);
    };
    add("field", m.form_field);
    add("file", m.file_name);
    add("path", m.file_path);
    if (m.depth != 0) out += " depth=" + std::to_string(m.depth);
    add("helo", m.smtp_helo);
    add("from", m.smtp_mail_from);
    for (const auto& r : m.smtp_rcpt_to) add("rcpt", r);
    add("subject", m.smtp_subject);
    add("ftp", m.ftp_command);
    add("domain", m.dns_domain);
    add("sni", m.tls_sni);
    add("alpn", m.tls_alpn);
    add("ja4", m.tls_ja4);
    for (const auto& n : m.notes) add("note", n);
    return out;
  }

  static std::string escape(std::string_view s) {
    static const char kHex[] = "0123456789abcdef";
    std::string out = "\"";
    for (char c : s) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '\r') {
        out += "\\r";
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (u < 0x20 || u >= 0x7f) {
        out += "\\x";
        out += kHex[u >> 4];
        out += kHex[u & 15];
      } else {
        out += c;
      }
    }
    return out + "\"";
  }

  std::vector<RecordedStream> streams;
  std::vector<std::string> weirds;
  std::vector<ContentMeta> flow_metas;
  std::vector<Report> reports;
  std::uint64_t clock_ns = 0;  // what now_ns() answers; tests move it
  std::vector<std::string> errors;  // contract violations by the inspector

 private:
  // Ids that are not indexes, so an inspector that confuses the two fails loudly.
  static constexpr StreamId kIdBase = 1000;

  RecordedStream* find(StreamId id, const char* op) {
    if (id < kIdBase || id - kIdBase >= streams.size()) {
      errors.push_back(std::string(op) + " on unknown id " + std::to_string(id));
      return nullptr;
    }
    RecordedStream& s = streams[id - kIdBase];
    if (s.closed) {
      errors.push_back(std::string(op) + " after close on stream " + std::to_string(id - kIdBase));
      return nullptr;
    }
    return &s;
  }
};

}  // namespace dlp::inspectors::testing
