// Redaction of metadata: the URL, host, file name or user agent that travels with a
// finding is written to the SIEM, so any sensitive value inside it (a card number in a
// query string) must be masked there exactly as in the finding itself.
//
//   Redactor redactor(db);                        // control plane: one per output thread
//   std::string safe = redactor.redact(meta.http_url);
//
// Control plane only (it allocates, and owns a Hyperscan scratch of its own).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "signatures/scanner.h"

namespace dlp::signatures {

class Redactor {
 public:
  explicit Redactor(std::shared_ptr<const Database> db);
  ~Redactor();
  Redactor(const Redactor&) = delete;
  Redactor& operator=(const Redactor&) = delete;

  // `text` with every match that passes its detector's validator replaced by the
  // detector's masked form; everything else unchanged.
  std::string redact(std::string_view text);

 private:
  std::shared_ptr<const Database> db_;
  hs_scratch* scratch_ = nullptr;
};

}  // namespace dlp::signatures
