#include "signatures/mask.h"

#include <cstring>

namespace dlp::signatures {

std::string mask_value(MaskRule rule, const std::string& canonical) {
  // Built from the canonical value without ever copying the hidden characters.
  std::string out(canonical.size(), '*');
  const std::size_t n = canonical.size();
  if (rule == MaskRule::first6_last4 && n > 10) std::memcpy(out.data(), canonical.data(), 6);
  const std::size_t keep = n > 4 ? 4 : 0;
  std::memcpy(out.data() + n - keep, canonical.data() + n - keep, keep);
  return out;
}

}  // namespace dlp::signatures
