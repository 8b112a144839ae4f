// default_registry(): every built-in inspector, in the order the Registry asks them.
// Claims first (FTP data connections), then content probes, then ports; raw last. Every
// factory shares the same Limits.
#include "inspectors/dns/dns_inspector.h"
#include "inspectors/ftp/ftp_inspector.h"
#include "inspectors/http_inspector.h"
#include "inspectors/inspector.h"
#include "inspectors/raw_inspector.h"
#include "inspectors/smtp/smtp_inspector.h"
#include "inspectors/tls/tls_inspector.h"

namespace dlp::inspectors {

Registry default_registry(const Limits& limits) {
  Registry r;
  r.add(std::make_unique<HttpInspectorFactory>(HttpLimits{}, limits));
  r.add(std::make_unique<SmtpInspectorFactory>(limits));
  r.add(std::make_unique<TlsInspectorFactory>(limits));
  r.add(std::make_unique<FtpInspectorFactory>(limits));
  r.add(std::make_unique<DnsInspectorFactory>(DnsExfilConfig{}, limits));
  r.add(std::make_unique<RawInspectorFactory>());
  return r;
}

}  // namespace dlp::inspectors
