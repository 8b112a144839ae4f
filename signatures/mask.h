// How a sensitive value is shown anywhere outside the scanner (DESIGN.md): payment cards
// keep the first 6 and last 4 characters, everything else the last 4; a value of four
// characters or fewer is all stars.
#pragma once

#include <string>

#include "signatures/detector.h"

namespace dlp::signatures {

// `canonical` is the validator's normalised value (digits only for cards and SSNs).
std::string mask_value(MaskRule rule, const std::string& canonical);

}  // namespace dlp::signatures
