// Reading a whole (small) file: configurations, policies, secrets files, CSVs.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace dlp {

// False when the file cannot be opened; `text` is then left empty.
inline bool read_file(const std::string& path, std::string& text) {
  text.clear();
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  text = ss.str();
  return true;
}

}  // namespace dlp
