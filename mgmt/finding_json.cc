#include "mgmt/finding_json.h"

#include <cstdio>
#include <ctime>

namespace dlp::mgmt {

std::string iso8601_utc(std::uint64_t ts_ns) {
  const std::time_t secs = static_cast<std::time_t>(ts_ns / 1'000'000'000ull);
  const unsigned micros = static_cast<unsigned>((ts_ns / 1000) % 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
  return buf;
}

namespace {

std::string transport_name(std::uint8_t proto) {
  switch (proto) {
    case 6: return "tcp";
    case 17: return "udp";
    default: return std::to_string(proto);
  }
}

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::string attributed_user(const dataplane::Finding& f, const Identity* who) {
  if (who) return who->user;
  return f.meta.user_hint.empty() ? "unknown" : f.meta.user_hint;
}

nlohmann::ordered_json finding_to_json(const dataplane::Finding& f, const Identity* who,
                               const Decision& decision) {
  using json = nlohmann::ordered_json;
  json j;
  j["time"] = iso8601_utc(f.ts_ns);
  j["finding_id"] = hex64(f.finding_id);
  j["detector"] = f.detector;
  j["detector_name"] = f.detector_name;
  j["category"] = f.category;
  j["severity"] = f.severity;
  j["confidence"] = std::string(signatures::confidence_name(f.confidence));
  j["count"] = f.count;
  j["masked"] = f.masked;
  json hashes = json::array();
  for (auto h : f.hashes) hashes.push_back(hex64(h));
  j["value_hashes"] = std::move(hashes);
  j["src_ip"] = f.src_ip.str();
  j["src_port"] = f.src_port;
  j["dst_ip"] = f.dst_ip.str();
  j["dst_port"] = f.dst_port;
  j["transport"] = transport_name(f.transport);
  j["app"] = std::string(inspectors::app_name(f.meta.app));
  if (f.meta.app == inspectors::App::http) {
    j["http.method"] = f.meta.http_method;
    j["http.host"] = f.meta.http_host;
    j["http.url"] = f.meta.http_url;
    if (!f.meta.http_user_agent.empty()) j["http.user_agent"] = f.meta.http_user_agent;
  }
  auto put = [&j](const char* key, const std::string& v) {
    if (!v.empty()) j[key] = v;
  };
  put("form.field", f.meta.form_field);
  put("smtp.helo", f.meta.smtp_helo);
  put("smtp.mail_from", f.meta.smtp_mail_from);
  if (!f.meta.smtp_rcpt_to.empty()) j["smtp.rcpt_to"] = f.meta.smtp_rcpt_to;
  put("smtp.subject", f.meta.smtp_subject);
  put("ftp.command", f.meta.ftp_command);
  put("dns.domain", f.meta.dns_domain);
  put("tls.sni", f.meta.tls_sni);
  put("tls.alpn", f.meta.tls_alpn);
  put("tls.ja4", f.meta.tls_ja4);
  put("file.name", f.meta.file_name);
  put("file.mime", f.meta.file_mime);
  put("file.path", f.meta.file_path);
  if (f.meta.depth != 0) j["file.depth"] = f.meta.depth;
  if (!f.meta.notes.empty()) j["notes"] = f.meta.notes;
  j["user"] = attributed_user(f, who);
  j["department"] = who ? who->department : "";
  if (!f.meta.user_hint.empty()) j["user_hint"] = f.meta.user_hint;
  j["action"] = decision.action;
  j["risk_score"] = decision.risk_score;
  j["reasons"] = f.reasons;
  return j;
}

void redact_metadata(signatures::Redactor& r, inspectors::ContentMeta& m) {
  for (std::string* field : {&m.http_url, &m.http_host, &m.http_user_agent, &m.form_field,
                             &m.file_name, &m.file_mime, &m.file_path, &m.smtp_subject}) {
    if (!field->empty()) *field = r.redact(*field);
  }
  for (std::string& note : m.notes) note = r.redact(note);
}

}  // namespace dlp::mgmt
