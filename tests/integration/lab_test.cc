// The namespace lab of deploy/lab.sh as a test: real curl uploads through `dlpgate run` on
// net_af_packet ports between two network namespaces. The script does the checking (a
// benign upload arrives byte for byte, a card upload is reset and its numbers never reach
// the server, the finding says reset) and prints what it measured; this test runs it and
// shows its report. Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN); the script exits 77 where
// namespaces cannot be made, and the test is then skipped with its reason.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

TEST(NamespaceLab, CurlUploadWithCardsIsResetAndBenignUploadPassesIntact) {
  const char* src = std::getenv("DLP_SOURCE_DIR");
  const char* env_bin = std::getenv("DLP_BINARY_DIR");
  const char* bin = env_bin ? env_bin : ".";  // ctest runs the suites in the build directory
  ASSERT_NE(src, nullptr) << "run through ctest (it sets DLP_SOURCE_DIR)";
  if (::geteuid() != 0) GTEST_SKIP() << "the namespace lab needs root (ip netns, veth)";
  const std::string dir = "/tmp/dlpgate-lab-test-" + std::to_string(::getpid());
  const std::string cmd = "DLP_LAB_DIR=" + dir + " bash " + std::string(src) +
                          "/deploy/lab.sh test --dlpgate " + std::string(bin) + "/mgmt/dlpgate 2>&1";
  std::string output;
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) output.append(buf, n);
  const int st = ::pclose(p);
  const int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::system(("rm -rf " + dir).c_str());
  if (rc == 77) GTEST_SKIP() << output;
  EXPECT_EQ(rc, 0) << output;
  EXPECT_NE(output.find("PASS: benign upload"), std::string::npos) << output;
  EXPECT_NE(output.find("PASS: card upload reset"), std::string::npos) << output;
  std::printf("%s", output.c_str());
}

}  // namespace
