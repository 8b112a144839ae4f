// Base64 (RFC 4648, standard alphabet) decoding of a complete, short value, such as the
// credentials of an HTTP Basic Authorization header. Bodies and mail parts will get a
// streaming decoder; this one is for values already bounded by a header-line limit.
//
//   std::string out;                       // reused: no allocation once it has grown
//   if (base64_decode("YWxpY2U6c2VjcmV0", out)) use(out);   // out == "alice:secret"
#pragma once

#include <string>
#include <string_view>

namespace dlp::inspectors {

// Replaces `out` with the decoded bytes. Padding is optional (clients differ) but, when
// present, must be at the end and complete the last quantum; any other byte outside the
// alphabet, or a dangling single character, makes it return false (out is then cleared).
bool base64_decode(std::string_view in, std::string& out);

}  // namespace dlp::inspectors
