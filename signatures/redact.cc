#include "signatures/redact.h"

#include <hs/hs.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <vector>

#include "signatures/mask.h"
#include "signatures/validators.h"

namespace dlp::signatures {
namespace {

struct Span {
  unsigned long long from, to;
  std::uint32_t detector;
};

int collect(unsigned id, unsigned long long from, unsigned long long to, unsigned, void* ctx) {
  auto* c = static_cast<std::pair<const Database*, std::vector<Span>*>*>(ctx);
  // A context keyword is not a value; nor is a match its detector reports only with
  // context, which a lone URL or file name does not carry.
  if (!c->first->is_detector_pattern(id) ||
      c->first->detectors()[c->first->detector_of(id)].require_context) {
    return 0;
  }
  c->second->push_back({c->first->match_start(id, from, to), to, c->first->detector_of(id)});
  return 0;
}

// The whole text is at hand: a value that starts before its match is widened here.
bool widen(const Detector& d, std::string_view text, unsigned long long& from) {
  if (d.extend_left.max == 0) return true;
  std::uint64_t f = from;
  if (!extend_left(d.extend_left, f, 0, [&](std::uint64_t pos) { return text[pos]; })) return false;
  from = f;
  return true;
}

}  // namespace

Redactor::Redactor(std::shared_ptr<const Database> db) : db_(std::move(db)) {
  hs_alloc_scratch(db_->raw(), &scratch_);
}

Redactor::~Redactor() { hs_free_scratch(scratch_); }

std::string Redactor::redact(std::string_view text) {
  if (text.empty() || scratch_ == nullptr) return std::string(text);
  std::vector<Span> spans;
  std::pair<const Database*, std::vector<Span>*> ctx{db_.get(), &spans};
  const auto* data = text.data();
  const auto len = static_cast<unsigned>(text.size());
  if (db_->mode() == DbMode::block) {
    hs_scan(db_->raw(), data, len, 0, scratch_, collect, &ctx);
  } else {
    hs_stream_t* stream = nullptr;
    if (hs_open_stream(db_->raw(), 0, &stream) != HS_SUCCESS) return std::string(text);
    hs_scan_stream(stream, data, len, 0, scratch_, collect, &ctx);
    hs_close_stream(stream, scratch_, collect, &ctx);
  }
  std::erase_if(spans, [&](Span& s) {
    return s.to > text.size() || !widen(db_->detectors()[s.detector], text, s.from);
  });
  // Leftmost first, longest first at the same start; overlapping spans are skipped.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.from != b.from ? a.from < b.from : a.to > b.to;
  });
  std::string out;
  out.reserve(text.size());
  unsigned long long pos = 0;
  std::string canonical;
  for (const Span& s : spans) {
    const Detector& d = db_->detectors()[s.detector];
    if (s.from < pos || s.to > text.size()) continue;
    const std::string_view match = text.substr(s.from, s.to - s.from);
    if (!d.validator.empty()) {
      ValidatorFn fn = find_validator(d.validator);
      if (fn == nullptr || !fn(match, canonical)) continue;
    } else {
      canonical.assign(match);
    }
    out.append(text.substr(pos, s.from - pos));
    out += mask_value(d.mask, canonical);
    OPENSSL_cleanse(canonical.data(), canonical.size());
    pos = s.to;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace dlp::signatures
