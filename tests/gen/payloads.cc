// Payload builders: see payloads.h. Card prefixes from the brands' published IIN ranges
// (Visa 4; Mastercard 51-55, 2221-2720; Amex 34, 37; Discover 6011, 644-649, 65); SSN
// rules from the SSA (area 001-899 except 666, group 01-99, serial 0001-9999).
#include "tests/gen/payloads.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <stdexcept>

namespace dlp::testgen {
namespace {

constexpr std::string_view kUserAgent =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36";
constexpr std::string_view kBase32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int uniform(std::mt19937_64& rng, int lo, int hi) {  // inclusive
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}
char digit(std::mt19937_64& rng) { return static_cast<char>('0' + uniform(rng, 0, 9)); }
std::string digits(std::mt19937_64& rng, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += digit(rng);
  return s;
}
std::string pad_num(int v, int width) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%0*d", width, v);
  return buf;
}
template <class T, std::size_t N>
const T& pick(std::mt19937_64& rng, const std::array<T, N>& items) {
  return items[static_cast<std::size_t>(uniform(rng, 0, static_cast<int>(N) - 1))];
}

std::string card_prefix(std::mt19937_64& rng, CardBrand brand) {
  switch (brand) {
    case CardBrand::kVisa: return "4";
    case CardBrand::kMastercard: return "5" + std::to_string(uniform(rng, 1, 5));
    case CardBrand::kMastercard2: return std::to_string(uniform(rng, 2221, 2720));
    case CardBrand::kAmex: return uniform(rng, 0, 1) ? "34" : "37";
    case CardBrand::kDiscover:
      switch (uniform(rng, 0, 2)) {
        case 0: return "6011";
        case 1: return std::to_string(uniform(rng, 644, 649));
        default: return "65";
      }
  }
  throw std::invalid_argument("testgen: unknown card brand");
}
std::size_t card_length(CardBrand brand) { return brand == CardBrand::kAmex ? 15 : 16; }

constexpr std::array<std::string_view, 48> kWords = {
    "lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do",
    "eiusmod", "tempor", "incididunt", "labore", "dolore", "magna", "aliqua", "enim", "minim",
    "veniam", "quis", "nostrud", "exercitation", "ullamco", "laboris", "nisi", "aliquip",
    "commodo", "consequat", "the", "shipment", "invoice", "quarterly", "report", "meeting",
    "customer", "delivery", "schedule", "review", "draft", "project", "budget", "approved",
    "pending", "warehouse", "team", "update", "notes"};
constexpr std::array<std::string_view, 10> kFirst = {"olivia", "liam", "emma", "noah", "ava",
                                                     "mason", "sophia", "lucas", "mia", "ethan"};
constexpr std::array<std::string_view, 8> kLast = {"smith", "jones", "garcia", "miller",
                                                   "davis", "wilson", "moore", "taylor"};
constexpr std::array<std::string_view, 6> kDomains = {"example.com", "example.org", "mail.example",
                                                      "corp.example", "shop.example", "test.example"};

std::string timestamp(std::mt19937_64& rng) {
  return "2024-" + pad_num(uniform(rng, 1, 12), 2) + "-" + pad_num(uniform(rng, 1, 28), 2) + "T" +
         pad_num(uniform(rng, 0, 23), 2) + ":" + pad_num(uniform(rng, 0, 59), 2) + ":" +
         pad_num(uniform(rng, 0, 59), 2) + "Z";
}
std::string order_id(std::mt19937_64& rng) { return std::to_string(uniform(rng, 10'000'000, 99'999'999)); }
std::string phone(std::mt19937_64& rng) {
  return "+1 (" + std::to_string(uniform(rng, 201, 989)) + ") 555-" + pad_num(uniform(rng, 100, 199), 4);
}
// A 16-digit tracking number no scanner should take for a card: Luhn-invalid, and no
// 13-15 digit window of it is Luhn-valid either.
std::string tracking_number(std::mt19937_64& rng) {
  for (;;) {
    std::string s = "9" + digits(rng, 15);
    if (!contains_sensitive(s)) return s;
  }
}
std::string word(std::mt19937_64& rng) { return std::string(pick(rng, kWords)); }
std::string person(std::mt19937_64& rng) {
  return std::string(pick(rng, kFirst)) + "." + std::string(pick(rng, kLast));
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_sep(char c) { return c == ' ' || c == '-'; }

// Digit runs, joining groups separated by one space or dash; any 13-19 digit window that
// is Luhn-valid counts.
bool has_luhn_run(std::string_view t) {
  std::size_t i = 0;
  while (i < t.size()) {
    if (!is_digit(t[i])) { ++i; continue; }
    std::string run;
    while (i < t.size()) {
      if (is_digit(t[i])) { run += t[i++]; continue; }
      if (is_sep(t[i]) && i + 1 < t.size() && is_digit(t[i + 1])) { ++i; continue; }
      break;
    }
    for (std::size_t len = 13; len <= 19 && len <= run.size(); ++len)
      for (std::size_t s = 0; s + len <= run.size(); ++s)
        if (luhn_valid(std::string_view(run).substr(s, len))) return true;
  }
  return false;
}

// ddd-dd-dddd, ddd dd dddd or a bare 9-digit run, bounded by non-digits, SSA-valid.
bool has_ssn(std::string_view t) {
  auto bounded = [&](std::size_t s, std::size_t len) {
    return (s == 0 || !is_digit(t[s - 1])) && (s + len == t.size() || !is_digit(t[s + len]));
  };
  for (std::size_t s = 0; s < t.size(); ++s) {
    if (!is_digit(t[s])) continue;
    if (s + 11 <= t.size() && bounded(s, 11)) {
      const std::string_view w = t.substr(s, 11);
      const char sep = w[3];
      if ((sep == '-' || sep == ' ') && w[6] == sep) {
        std::string dashed(w);
        dashed[3] = dashed[6] = '-';
        if (ssn_valid(dashed)) return true;
      }
    }
    if (s + 9 <= t.size() && bounded(s, 9)) {
      const std::string_view w = t.substr(s, 9);
      bool all = true;
      for (char c : w) all = all && is_digit(c);
      if (all) {
        const std::string dashed =
            std::string(w.substr(0, 3)) + "-" + std::string(w.substr(3, 2)) + "-" + std::string(w.substr(5));
        if (ssn_valid(dashed)) return true;
      }
    }
  }
  return false;
}

}  // namespace

// ---------------- HTTP ----------------

std::string chunked_encode(std::string_view body, std::size_t chunk_size) {
  if (chunk_size == 0) throw std::invalid_argument("testgen: chunk_size must be >= 1");
  std::string out;
  out.reserve(body.size() + body.size() / chunk_size * 8 + 16);
  char buf[32];
  for (std::size_t off = 0; off < body.size(); off += chunk_size) {
    const std::size_t n = std::min(chunk_size, body.size() - off);
    std::snprintf(buf, sizeof(buf), "%zx\r\n", n);
    out += buf;
    out.append(body.substr(off, n));
    out += "\r\n";
  }
  out += "0\r\n\r\n";
  return out;
}

std::string http_post(std::string_view host, std::string_view url, std::string_view body,
                      std::string_view content_type, bool chunked, std::size_t chunk_size) {
  std::string r;
  r.reserve(body.size() + 512);
  r.append("POST ").append(url).append(" HTTP/1.1\r\n");
  r.append("Host: ").append(host).append("\r\n");
  r.append("User-Agent: ").append(kUserAgent).append("\r\n");
  r.append("Accept: */*\r\n");
  r.append("Accept-Language: en-US,en;q=0.9\r\n");
  r.append("Content-Type: ").append(content_type).append("\r\n");
  if (chunked) {
    r.append("Transfer-Encoding: chunked\r\n");
  } else {
    r.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  r.append("Origin: https://").append(host).append("\r\n");
  r.append("Connection: keep-alive\r\n\r\n");
  if (chunked) {
    r += chunked_encode(body, chunk_size);
  } else {
    r.append(body);
  }
  return r;
}

std::string http_get(std::string_view host, std::string_view url) {
  std::string r;
  r.append("GET ").append(url).append(" HTTP/1.1\r\n");
  r.append("Host: ").append(host).append("\r\n");
  r.append("User-Agent: ").append(kUserAgent).append("\r\n");
  r.append("Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n");
  r.append("Accept-Language: en-US,en;q=0.9\r\n");
  r.append("Accept-Encoding: identity\r\n");
  r.append("Connection: keep-alive\r\n\r\n");
  return r;
}

std::string http_response(int status, std::string_view body, std::string_view content_type) {
  const char* reason = "OK";
  switch (status) {
    case 200: reason = "OK"; break;
    case 201: reason = "Created"; break;
    case 204: reason = "No Content"; break;
    case 301: reason = "Moved Permanently"; break;
    case 302: reason = "Found"; break;
    case 304: reason = "Not Modified"; break;
    case 400: reason = "Bad Request"; break;
    case 403: reason = "Forbidden"; break;
    case 404: reason = "Not Found"; break;
    case 500: reason = "Internal Server Error"; break;
    default: reason = "Unknown"; break;
  }
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  r += "Date: Mon, 04 Mar 2024 09:00:00 GMT\r\n";
  r += "Server: nginx/1.24.0\r\n";
  r.append("Content-Type: ").append(content_type).append("\r\n");
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += "Connection: keep-alive\r\n\r\n";
  r.append(body);
  return r;
}

std::string form_urlencode(const std::vector<std::pair<std::string, std::string>>& fields) {
  auto enc = [](std::string& out, std::string_view s) {
    static const char* kHex = "0123456789ABCDEF";
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
        out += static_cast<char>(c);
      } else if (c == ' ') {
        out += '+';
      } else {
        out += '%';
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
    }
  };
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out += '&';
    enc(out, fields[i].first);
    out += '=';
    enc(out, fields[i].second);
  }
  return out;
}

// ---------------- cards ----------------

const char* card_brand_name(CardBrand brand) {
  switch (brand) {
    case CardBrand::kVisa: return "visa";
    case CardBrand::kMastercard: return "mastercard";
    case CardBrand::kMastercard2: return "mastercard";
    case CardBrand::kAmex: return "amex";
    case CardBrand::kDiscover: return "discover";
  }
  return "unknown";
}

char luhn_check_digit(std::string_view d) {
  int sum = 0;
  bool dbl = true;  // the digit left of the check digit is doubled
  for (auto it = d.rbegin(); it != d.rend(); ++it) {
    int v = *it - '0';
    if (dbl) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
    dbl = !dbl;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

bool luhn_valid(std::string_view number) {
  std::string d;
  for (char c : number) {
    if (is_digit(c)) d += c;
    else if (!is_sep(c)) return false;
  }
  if (d.size() < 2) return false;
  return luhn_check_digit(std::string_view(d).substr(0, d.size() - 1)) == d.back();
}

std::string make_card(std::mt19937_64& rng, CardBrand brand) {
  std::string s = card_prefix(rng, brand);
  s += digits(rng, card_length(brand) - 1 - s.size());
  s += luhn_check_digit(s);
  return s;
}

std::string make_luhn_invalid_card(std::mt19937_64& rng, CardBrand brand) {
  std::string s = make_card(rng, brand);
  const int good = s.back() - '0';
  s.back() = static_cast<char>('0' + (good + uniform(rng, 1, 9)) % 10);
  return s;
}

std::string format_card(std::string_view d, char sep) {
  std::string out;
  const std::vector<std::size_t> groups =
      d.size() == 15 ? std::vector<std::size_t>{4, 6, 5} : std::vector<std::size_t>{4, 4, 4, 4};
  std::size_t off = 0;
  for (std::size_t g : groups) {
    if (off >= d.size()) break;
    if (off) out += sep;
    out.append(d.substr(off, g));
    off += g;
  }
  if (off < d.size()) out.append(d.substr(off));
  return out;
}

bool card_matches_brand(std::string_view d, CardBrand brand) {
  for (char c : d)
    if (!is_digit(c)) return false;
  auto pre = [&](std::size_t n) { return std::stoi(std::string(d.substr(0, n))); };
  if (d.size() != card_length(brand) || d.size() < 4) return false;
  switch (brand) {
    case CardBrand::kVisa: return d[0] == '4';
    case CardBrand::kMastercard: return pre(2) >= 51 && pre(2) <= 55;
    case CardBrand::kMastercard2: return pre(4) >= 2221 && pre(4) <= 2720;
    case CardBrand::kAmex: return pre(2) == 34 || pre(2) == 37;
    case CardBrand::kDiscover:
      return pre(4) == 6011 || (pre(3) >= 644 && pre(3) <= 649) || pre(2) == 65;
  }
  return false;
}

// ---------------- SSN ----------------

std::string make_ssn(std::mt19937_64& rng) {
  for (;;) {
    int area = uniform(rng, 1, 899);
    if (area == 666) continue;
    const std::string s = pad_num(area, 3) + "-" + pad_num(uniform(rng, 1, 99), 2) + "-" +
                          pad_num(uniform(rng, 1, 9999), 4);
    // Skip the famous specimen numbers that validators often blacklist.
    if (s == "078-05-1120" || s == "219-09-9999") continue;
    return s;
  }
}

std::string make_invalid_ssn(std::mt19937_64& rng, SsnDefect defect) {
  std::string s = make_ssn(rng);
  switch (defect) {
    case SsnDefect::kArea000: s.replace(0, 3, "000"); break;
    case SsnDefect::kArea666: s.replace(0, 3, "666"); break;
    case SsnDefect::kArea9xx: s.replace(0, 3, std::to_string(uniform(rng, 900, 999))); break;
    case SsnDefect::kGroup00: s.replace(4, 2, "00"); break;
    case SsnDefect::kSerial0000: s.replace(7, 4, "0000"); break;
  }
  return s;
}

bool ssn_valid(std::string_view s) {
  if (s.size() != 11 || s[3] != '-' || s[6] != '-') return false;
  for (std::size_t i : {0, 1, 2, 4, 5, 7, 8, 9, 10})
    if (!is_digit(s[i])) return false;
  const int area = std::stoi(std::string(s.substr(0, 3)));
  const int group = std::stoi(std::string(s.substr(4, 2)));
  const int serial = std::stoi(std::string(s.substr(7, 4)));
  return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

// ---------------- AWS ----------------

std::string make_aws_key_id(std::mt19937_64& rng) {
  std::string s = "AKIA";
  for (int i = 0; i < 16; ++i) s += kBase32[static_cast<std::size_t>(uniform(rng, 0, 31))];
  return s;
}

bool aws_key_id_valid(std::string_view k) {
  if (k.size() != 20 || k.substr(0, 4) != "AKIA") return false;
  for (char c : k.substr(4))
    if (kBase32.find(c) == std::string_view::npos) return false;
  return true;
}

// ---------------- benign filler ----------------

bool contains_sensitive(std::string_view text) {
  return text.find("AKIA") != std::string_view::npos || has_luhn_run(text) || has_ssn(text);
}

std::string benign_text(std::mt19937_64& rng, std::size_t approx_bytes) {
  std::string out;
  out.reserve(approx_bytes + 64);
  bool sentence_start = true;
  while (out.size() < approx_bytes) {
    std::string tok;
    const int r = uniform(rng, 0, 99);
    if (r < 4) tok = "order #" + order_id(rng);
    else if (r < 7) tok = "at " + timestamp(rng);
    else if (r < 9) tok = "call " + phone(rng);
    else if (r < 10) tok = "tracking " + tracking_number(rng);
    else if (r < 12) tok = "qty " + std::to_string(uniform(rng, 1, 500));
    else tok = word(rng);
    if (sentence_start) tok[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(tok[0])));
    out += tok;
    // Numbers are always followed by a word so digit groups never join into long runs.
    if (r < 12) out += " " + word(rng);
    sentence_start = uniform(rng, 0, 11) == 0;
    out += sentence_start ? ". " : " ";
  }
  out += "\n";
  return out;
}

std::string benign_form(std::mt19937_64& rng, std::size_t fields) {
  std::vector<std::pair<std::string, std::string>> f;
  const std::string who = person(rng);
  for (std::size_t i = 0; i < fields; ++i) {
    switch (i % 8) {
      case 0: f.emplace_back("name", who); break;
      case 1: f.emplace_back("email", who + "@" + std::string(pick(rng, kDomains))); break;
      case 2: f.emplace_back("order_id", order_id(rng)); break;
      case 3: f.emplace_back("quantity", std::to_string(uniform(rng, 1, 20))); break;
      case 4: f.emplace_back("comment", benign_text(rng, static_cast<std::size_t>(uniform(rng, 30, 120)))); break;
      case 5: f.emplace_back("phone", phone(rng)); break;
      case 6: f.emplace_back("delivery", timestamp(rng)); break;
      default: f.emplace_back("field" + std::to_string(i), word(rng)); break;
    }
  }
  return form_urlencode(f);
}

std::string benign_json(std::mt19937_64& rng, std::size_t approx_bytes) {
  static constexpr std::array<std::string_view, 5> kTypes = {"page_view", "click", "scroll",
                                                            "search", "add_to_cart"};
  std::string out = "{\"batch_id\":\"b-" + order_id(rng) + "\",\"source\":\"web-agent-" +
                    std::to_string(uniform(rng, 1, 9)) + "\",\"events\":[";
  bool first = true;
  while (out.size() + 4 < approx_bytes || first) {
    if (!first) out += ",";
    first = false;
    out += "{\"id\":" + order_id(rng) + ",\"ts\":\"" + timestamp(rng) + "\",\"type\":\"" +
           std::string(pick(rng, kTypes)) + "\",\"path\":\"/products/" +
           std::to_string(uniform(rng, 1, 9999)) + "\",\"duration_ms\":" +
           std::to_string(uniform(rng, 5, 9000)) + ",\"note\":\"" + word(rng) + " " + word(rng) +
           "\"}";
  }
  out += "]}";
  return out;
}

// ---------------- any Luhn number ----------------

std::string make_luhn_number(std::mt19937_64& rng, std::string_view prefix, std::size_t length) {
  if (prefix.size() >= length) throw std::invalid_argument("testgen: prefix longer than the number");
  std::string s(prefix);
  s += digits(rng, length - 1 - s.size());
  s += luhn_check_digit(s);
  return s;
}

}  // namespace dlp::testgen
