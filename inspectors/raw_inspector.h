// The raw inspector: the fallback for flows no protocol parser claims. It forwards the
// bytes of a direction, as they arrive, to one content stream (app=raw), so a card number
// in an unknown protocol is still found.
//
//   RawInspectorFactory factory;                          // outbound only (the default)
//   RawInspectorFactory both({.inspect_responses = true});
//   auto insp = factory.create(sink, flow);
//   insp->data(Dir::to_server, bytes);   // opens the to_server stream at the first bytes
//   insp->close();
//
// Why outbound only by default: the product is about data *leaving* the building; on an
// outbound flow the to_client direction is what the outside sends in (downloads, pages),
// which is most of the bytes and none of the leaks. Scanning it doubles the cost and
// floods the SIEM with findings about public data. A deployment that also wants inbound
// content (e.g. to see what an insider pulls from a partner) turns it on in config.
#pragma once

#include <memory>
#include <string_view>

#include "inspectors/inspector.h"

namespace dlp::inspectors {

struct RawOptions {
  bool inspect_responses = false;  // also scan Dir::to_client
};

class RawInspectorFactory final : public InspectorFactory {
 public:
  explicit RawInspectorFactory(RawOptions options = {}) : options_(options) {}
  App app() const override { return App::raw; }
  std::string_view name() const override { return "raw"; }
  // The fallback claims nothing: it is chosen when nobody else is.
  bool wants_port(std::uint16_t /*server_port*/) const override { return false; }
  bool probe(Bytes /*first_client_bytes*/) const override { return false; }
  std::unique_ptr<Inspector> create(ContentSink& sink, const FlowInfo& flow) const override;

  const RawOptions& options() const { return options_; }

 private:
  RawOptions options_;
};

}  // namespace dlp::inspectors
