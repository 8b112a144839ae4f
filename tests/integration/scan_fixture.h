// The in-process `dlpgate scan` fixture the integration suites share: a temporary
// directory per test, captures written with our generator, run_scan() with the findings
// read back as JSON, and checks that no planted value is ever written in clear.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mgmt/scan.h"
#include "tests/gen/payloads.h"
#include "tests/gen/pcap_writer.h"
#include "tests/gen/tcp_conversation.h"

namespace dlp::itest {

namespace fs = std::filesystem;
using nlohmann::json;
using testgen::Side;

struct ScanRun {
  int rc = -1;
  std::vector<json> findings;
  std::string raw;      // the findings file as written
  std::string summary;  // standard output
  std::string errors;   // standard error
};

class ScanFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dlpgate-scan-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::string write(const std::string& name, const std::vector<testgen::Packet>& pkts,
                    testgen::Format format = testgen::Format::kPcap) {
    const std::string p = path(name);
    auto w = testgen::CaptureWriter::open(p, format);
    w->write_all(pkts);
    w->close();
    return p;
  }

  ScanRun scan(const std::vector<std::string>& captures, mgmt::ScanOptions o = {}) {
    o.captures = captures;
    o.out_path = path("findings.jsonl");
    o.progress = 0;
    std::ostringstream out, err;
    ScanRun r;
    r.rc = mgmt::run_scan(o, out, err);
    r.summary = out.str();
    r.errors = err.str();
    std::ifstream in(o.out_path);
    std::string line;
    while (std::getline(in, line)) {
      r.raw += line + "\n";
      r.findings.push_back(json::parse(line));
    }
    return r;
  }

  fs::path dir_;
};

inline std::string digits_of(const std::string& s) {
  std::string d;
  for (char c : s)
    if (c >= '0' && c <= '9') d += c;
  return d;
}

inline std::string masked_card(const std::string& value) {
  const std::string d = digits_of(value);
  return d.substr(0, 6) + std::string(d.size() - 10, '*') + d.substr(d.size() - 4);
}

// No planted value may appear in clear anywhere we write: findings, summary, errors.
inline void expect_never_in_clear(const ScanRun& r, const std::string& value) {
  const std::string d = digits_of(value);
  for (const std::string* text : {&r.raw, &r.summary, &r.errors}) {
    EXPECT_EQ(text->find(value), std::string::npos) << "cleartext value in output";
    if (d.size() >= 9) {
      EXPECT_EQ(text->find(d), std::string::npos) << "cleartext digits in output";
    }
  }
}

inline testgen::TcpConfig client(const std::string& src, std::uint16_t port,
                          const std::string& dst = "198.51.100.20") {
  testgen::TcpConfig c;
  c.ip = {.src = src, .dst = dst};
  c.client_port = port;
  c.server_port = 80;
  return c;
}

inline std::vector<testgen::Packet> upload(testgen::TcpConfig cfg, const std::string& request,
                                    std::size_t segment = 1460) {
  testgen::TcpConversation c(std::move(cfg));
  c.handshake();
  c.send(Side::kClient, request, segment);
  c.send(Side::kServer, testgen::http_response(200, "ok"));
  c.fin();
  return c.take_packets();
}

}  // namespace dlp::itest
