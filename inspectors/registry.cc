// App names, the Registry's choice rule and the built-in set of inspectors.
#include <algorithm>
#include <iterator>

#include "inspectors/inspector.h"
#include "inspectors/raw_inspector.h"

namespace dlp::inspectors {

std::string_view app_name(App app) {
  switch (app) {
    case App::raw: return "raw";
    case App::http: return "http";
    case App::smtp: return "smtp";
    case App::ftp: return "ftp";
    case App::dns: return "dns";
    case App::tls: return "tls";
  }
  return "unknown";
}

void merge_meta(ContentMeta& into, const ContentMeta& from) {
  auto fill = [](std::string& a, const std::string& b) {
    if (a.empty()) a = b;
  };
  fill(into.http_method, from.http_method);
  fill(into.http_host, from.http_host);
  fill(into.http_url, from.http_url);
  fill(into.http_user_agent, from.http_user_agent);
  fill(into.form_field, from.form_field);
  fill(into.file_name, from.file_name);
  fill(into.file_mime, from.file_mime);
  fill(into.file_path, from.file_path);
  fill(into.smtp_helo, from.smtp_helo);
  fill(into.smtp_mail_from, from.smtp_mail_from);
  if (into.smtp_rcpt_to.empty()) into.smtp_rcpt_to = from.smtp_rcpt_to;
  fill(into.smtp_subject, from.smtp_subject);
  fill(into.ftp_command, from.ftp_command);
  fill(into.dns_domain, from.dns_domain);
  fill(into.tls_sni, from.tls_sni);
  fill(into.tls_alpn, from.tls_alpn);
  fill(into.tls_ja4, from.tls_ja4);
  fill(into.user_hint, from.user_hint);
  for (const std::string& n : from.notes) {
    if (std::find(into.notes.begin(), into.notes.end(), n) == into.notes.end()) {
      into.notes.push_back(n);
    }
  }
}

void limit_hit(ContentSink& sink, const Limits& limits, std::string_view what,
               const ContentMeta& meta, std::string reason) {
  // The weird name must outlive the call (counters keep the view): callers pass literals,
  // and "limit." is prefixed from a fixed table so the view stays a literal too.
  static constexpr std::string_view kNames[] = {
      "limit.stream_bytes",      "limit.decompressed_bytes", "limit.decompression_ratio",
      "limit.file_buffer",       "limit.depth",              "limit.flow_memory",
      "limit.header_bytes",      "limit.chunks",             "limit.mime_parts",
      "limit.archive_entries",   "limit.other"};
  std::string_view name = kNames[std::size(kNames) - 1];
  for (std::string_view n : kNames) {
    if (n.substr(6) == what) name = n;
  }
  sink.weird(name);
  if (!limits.limits_are_findings) return;
  Report r;
  r.detector = std::string(name);
  r.category = "limit";
  r.severity = "medium";
  r.high_confidence = true;
  r.meta = meta;
  r.name = "Inspection limit reached (" + std::string(what) + ")";
  r.reasons.push_back(std::move(reason));
  r.reasons.push_back("content past the limit was not inspected");
  sink.report(r);
}

void Registry::add(std::unique_ptr<InspectorFactory> factory) {
  if (factory) factories_.push_back(std::move(factory));
}

const InspectorFactory& Registry::choose(const FlowInfo& flow, Bytes first_client_bytes) const {
  for (const auto& f : factories_) {
    if (f->claim(flow)) return *f;
  }
  // Content first: a protocol on a non-standard port is still recognised, and a
  // well-known port carrying something else does not get a parser that would only resync.
  if (!first_client_bytes.empty()) {
    for (const auto& f : factories_) {
      if (f->probe(first_client_bytes)) return *f;
    }
  }
  for (const auto& f : factories_) {
    if (f->wants_port(flow.server_port)) return *f;
  }
  for (const auto& f : factories_) {
    if (f->app() == App::raw) return *f;  // a configured raw (e.g. inspecting responses)
  }
  // Never null, even for an empty Registry: every flow's outbound bytes get scanned.
  static const RawInspectorFactory fallback;
  return fallback;
}


}  // namespace dlp::inspectors
