#include "mgmt/finding_json.h"

#include <gtest/gtest.h>

namespace dlp::mgmt {
namespace {

TEST(FindingJsonTest, Iso8601IsUtcWithMicroseconds) {
  EXPECT_EQ(iso8601_utc(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(iso8601_utc(1'795'000'000'123'456'789ull), "2026-11-18T11:06:40.123456Z");
}

TEST(FindingJsonTest, CarriesTheContractFields) {
  dataplane::Finding f;
  f.ts_ns = 1'795'000'000'000'000'000ull;
  f.finding_id = 0x0001000000000007ull;
  f.detector = "pci.credit_card";
  f.detector_name = "Payment card number";
  f.category = "credit_card";
  f.severity = "high";
  f.confidence = signatures::Confidence::medium;
  f.count = 3;
  f.masked = {"411111******1111"};
  f.hashes = {0xabcdefull};
  f.src_ip = dataplane::IpAddr::v4(0x0a010005);
  f.dst_ip = dataplane::IpAddr::v4(0xc6336407);
  f.src_port = 51000;
  f.dst_port = 80;
  f.transport = 6;
  f.meta.app = inspectors::App::http;
  f.meta.http_method = "POST";
  f.meta.http_host = "upload.example.net";
  f.meta.http_url = "/submit";
  f.reasons = {"validator luhn passed"};
  Identity alice{"alice", "finance"};
  auto j = finding_to_json(f, &alice, Decision{"alert", 0});
  EXPECT_EQ(j["time"], "2026-11-18T11:06:40.000000Z");
  EXPECT_EQ(j["finding_id"], "0001000000000007");
  EXPECT_EQ(j["detector"], "pci.credit_card");
  EXPECT_EQ(j["category"], "credit_card");
  EXPECT_EQ(j["confidence"], "medium");
  EXPECT_EQ(j["count"], 3);
  EXPECT_EQ(j["masked"], nlohmann::json::array({"411111******1111"}));
  EXPECT_EQ(j["value_hashes"], nlohmann::json::array({"0000000000abcdef"}));
  EXPECT_EQ(j["src_ip"], "10.1.0.5");
  EXPECT_EQ(j["src_port"], 51000);
  EXPECT_EQ(j["dst_ip"], "198.51.100.7");
  EXPECT_EQ(j["dst_port"], 80);
  EXPECT_EQ(j["transport"], "tcp");
  EXPECT_EQ(j["app"], "http");
  EXPECT_EQ(j["http.method"], "POST");
  EXPECT_EQ(j["http.host"], "upload.example.net");
  EXPECT_EQ(j["http.url"], "/submit");
  EXPECT_EQ(j["user"], "alice");
  EXPECT_EQ(j["department"], "finance");
  EXPECT_EQ(j["action"], "alert");
  EXPECT_EQ(j["reasons"], nlohmann::json::array({"validator luhn passed"}));
}

TEST(FindingJsonTest, UnknownUserFallsBackToInBandHint) {
  dataplane::Finding f;
  f.src_ip = dataplane::IpAddr::v4(0x0a000001);
  f.dst_ip = dataplane::IpAddr::v4(0x0a000002);
  auto j = finding_to_json(f, nullptr, Decision{});
  EXPECT_EQ(j["user"], "unknown");
  EXPECT_EQ(j["department"], "");
  EXPECT_FALSE(j.contains("http.host")) << "raw content carries no HTTP fields";
  f.meta.user_hint = "mallory";
  j = finding_to_json(f, nullptr, Decision{});
  EXPECT_EQ(j["user"], "mallory");
}

}  // namespace
}  // namespace dlp::mgmt
