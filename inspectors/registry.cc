// App names, the Registry's choice rule and the built-in set of inspectors.
#include "inspectors/http_inspector.h"
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

void Registry::add(std::unique_ptr<InspectorFactory> factory) {
  if (factory) factories_.push_back(std::move(factory));
}

const InspectorFactory& Registry::choose(const FlowInfo& flow, Bytes first_client_bytes) const {
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

Registry default_registry() {
  Registry r;
  r.add(std::make_unique<HttpInspectorFactory>());
  r.add(std::make_unique<RawInspectorFactory>());
  return r;
}

}  // namespace dlp::inspectors
