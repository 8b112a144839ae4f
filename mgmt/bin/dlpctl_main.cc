// dlpctl: the configuration CLI. Detector and EDM tuning tools, and the management verbs
// (mgmt/dlpctl.h) that go to the running daemon or straight to the store.
#include <boost/program_options.hpp>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "common/dlp/file.h"
#include "mgmt/detector_tools.h"
#include "mgmt/dlpctl.h"
#include "mgmt/edm_tools.h"

namespace po = boost::program_options;

namespace {

constexpr const char* kUsage =
    "usage: dlpctl <noun> <verb> [options]\n"
    "\n"
    "  detectors list [--pack P] [--json]            the detectors in force\n"
    "  detectors test (--text T | FILE) [--json]     run the detectors on a text or file\n"
    "  detectors check PACK.yaml                     validate and compile a pack\n"
    "  edm index CSV --out INDEX [--min-length N] [--max-rows-per-value N] [--json]\n"
    "                                                exact-data-match index of a customer table\n"
    "  edm info INDEX [--json]                       describe an index file\n"
    "  edm test INDEX (--text T | FILE) [--min-fields N] [--window BYTES] [--json]\n"
    "                                                find indexed rows in a text or file\n"
    "  version\n";

void usage(std::ostream& o) { o << kUsage << dlp::mgmt::kDlpctlUsage; }

// Parses `args` against `desc` plus positional FILE arguments into `files`. Returns -1 to
// go on, or the exit status (0 after --help, 2 after an error, both already printed).
int parse_verb(const std::string& what, const po::options_description& desc,
               const std::vector<std::string>& args, std::vector<std::string>& files,
               po::variables_map& vm) {
  po::options_description hidden;
  hidden.add_options()("file", po::value(&files)->composing());
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("file", -1);
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << what << ": " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  return -1;
}

int cmd_detectors(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string verb = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  std::vector<std::string> packs, files;
  std::string text;
  bool json = false;
  po::options_description desc("dlpctl detectors " + verb);
  desc.add_options()("help,h", "show this help")(
      "pack", po::value(&packs)->composing(), "additional detector pack (YAML); repeatable")(
      "json", po::bool_switch(&json), "JSON output")("text", po::value(&text),
                                                      "text to test (detectors test)");
  po::variables_map vm;
  if (int rc = parse_verb("dlpctl detectors " + verb, desc, rest, files, vm); rc >= 0) return rc;
  if (verb == "list") return dlp::mgmt::detectors_list(packs, json, std::cout, std::cerr);
  if (verb == "check") {
    if (files.size() != 1) {
      std::cerr << "dlpctl detectors check: give exactly one PACK.yaml\n";
      return 2;
    }
    return dlp::mgmt::detectors_check(files[0], std::cout, std::cerr);
  }
  if (verb == "test") {
    if (vm.count("text") && !files.empty()) {
      std::cerr << "dlpctl detectors test: give --text or one FILE\n";
      return 2;
    }
    if (!vm.count("text")) {
      if (files.size() != 1) {
        std::cerr << "dlpctl detectors test: give --text or one FILE\n";
        return 2;
      }
      std::ifstream in(files[0], std::ios::binary);
      if (!in) {
        std::cerr << "dlpctl detectors test: cannot read " << files[0] << "\n";
        return 2;
      }
      std::stringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    }
    return dlp::mgmt::detectors_test(packs, text, json, std::cout, std::cerr);
  }
  std::cerr << "dlpctl detectors: unknown verb '" << verb << "'\n\n" << kUsage;
  return 2;
}



int cmd_edm(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string verb = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  std::vector<std::string> files;
  std::string out_path, text;
  bool json = false;
  dlp::signatures::EdmBuildOptions build;
  dlp::signatures::EdmConfig match;
  po::options_description desc("dlpctl edm " + verb);
  desc.add_options()("help,h", "show this help")("json", po::bool_switch(&json), "JSON output")(
      "out,o", po::value(&out_path), "index file to write (edm index)")(
      "min-length", po::value(&build.min_length)->default_value(build.min_length),
      "skip normalised cells shorter than this (edm index)")(
      "max-rows-per-value",
      po::value(&build.max_rows_per_value)->default_value(build.max_rows_per_value),
      "skip values found in more rows than this (edm index)")(
      "text", po::value(&text), "text to test (edm test)")(
      "min-fields", po::value(&match.min_fields)->default_value(match.min_fields),
      "distinct columns of one row needed (edm test)")(
      "window", po::value(&match.window)->default_value(match.window),
      "bytes within which they must appear (edm test)");
  po::variables_map vm;
  if (int rc = parse_verb("dlpctl edm " + verb, desc, rest, files, vm); rc >= 0) return rc;
  if (verb == "index") {
    if (files.size() != 1 || out_path.empty()) {
      std::cerr << "dlpctl edm index: give one CSV file and --out INDEX\n";
      return 2;
    }
    return dlp::mgmt::edm_index(files[0], out_path, build, json, std::cout, std::cerr);
  }
  if (verb == "info") {
    if (files.size() != 1) {
      std::cerr << "dlpctl edm info: give exactly one INDEX\n";
      return 2;
    }
    return dlp::mgmt::edm_info(files[0], json, std::cout, std::cerr);
  }
  if (verb == "test") {
    const bool have_text = vm.count("text") > 0;
    if (files.empty() || files.size() != (have_text ? 1u : 2u)) {
      std::cerr << "dlpctl edm test: give INDEX and --text or one FILE\n";
      return 2;
    }
    if (!have_text && !dlp::read_file(files[1], text)) {
      std::cerr << "dlpctl edm test: cannot read " << files[1] << "\n";
      return 2;
    }
    return dlp::mgmt::edm_test(files[0], text, match, json, std::cout, std::cerr);
  }
  std::cerr << "dlpctl edm: unknown verb '" << verb << "'\n\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(std::cerr);
    return 2;
  }
  const std::string noun = argv[1];
  std::vector<std::string> rest(argv + 2, argv + argc);
  if (noun == "detectors") return cmd_detectors(rest);
  if (noun == "edm") return cmd_edm(rest);
  if (dlp::mgmt::is_dlpctl_noun(noun)) return dlp::mgmt::run_dlpctl(noun, rest, std::cout, std::cerr);
  if (noun == "version" || noun == "--version") {
    std::cout << "dlpctl " << DLPGATE_VERSION << "\n";
    return 0;
  }
  if (noun == "help" || noun == "--help" || noun == "-h") {
    usage(std::cout);
    return 0;
  }
  std::cerr << "dlpctl: unknown command '" << noun << "'\n\n";
  usage(std::cerr);
  return 2;
}
