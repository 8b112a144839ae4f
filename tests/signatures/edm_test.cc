// Exact data match: a generated 100,000-row customer table is indexed, saved and loaded;
// rows are found when enough of their fields appear together, in any split and in other
// formats; near misses give nothing; the index file holds no cleartext and refuses damage.
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "signatures/edm.h"
#include "tests/gen/customers.h"

namespace dlp::signatures {
namespace {

using testgen::Customer;
using testgen::make_customers;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return s;
}
std::string only_digits(const std::string& s) {
  std::string d;
  for (char c : s)
    if (c >= '0' && c <= '9') d.push_back(c);
  return d;
}
std::string masked(const std::string& normalised) {
  std::string m(normalised.size(), '*');
  if (m.size() > 4) m.replace(m.size() - 4, 4, normalised.substr(normalised.size() - 4));
  return m;
}

std::string temp_path(const std::string& name) {
  return testing::TempDir() + "edm_" + std::to_string(::getpid()) + "_" + name;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}
std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

constexpr std::size_t kRows = 100000;
constexpr std::uint32_t kRow = 4711;

class EdmTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    customers_ = new std::vector<Customer>(make_customers(kRows));
    const std::string csv = testgen::customers_csv(*customers_);
    csv_path_ = new std::string(temp_path("customers.csv"));
    index_path_ = new std::string(temp_path("customers.edm"));
    write_file(*csv_path_, csv);

    const auto t0 = std::chrono::steady_clock::now();
    auto built = EdmIndex::build_from_csv(*csv_path_, EdmBuildOptions{});
    const auto t1 = std::chrono::steady_clock::now();
    ASSERT_TRUE(built.ok()) << built.error().message;
    built_info_ = new EdmIndexInfo(built->info());
    auto saved = built->save(*index_path_);
    ASSERT_TRUE(saved.ok()) << saved.error().message;
    const auto t2 = std::chrono::steady_clock::now();
    auto loaded = EdmIndex::load(*index_path_);
    const auto t3 = std::chrono::steady_clock::now();
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    index_ = new std::shared_ptr<const EdmIndex>(*loaded);
    auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    std::cout << "[ edm      ] 100k rows: build " << ms(t1 - t0) << " ms, load " << ms(t3 - t2)
              << " ms, file " << read_file(*index_path_).size() << " bytes, memory "
              << (*index_)->memory_bytes() << " bytes\n";
  }
  static void TearDownTestSuite() {
    std::remove(csv_path_->c_str());
    std::remove(index_path_->c_str());
    delete customers_;
    delete index_;
    delete built_info_;
    delete csv_path_;
    delete index_path_;
  }

  static const Customer& row(std::size_t i) { return (*customers_)[i]; }
  static const EdmIndex& index() { return **index_; }

  // One stream, the pieces written in order, closed.
  static std::vector<EdmHit> scan(const std::vector<std::string>& pieces, EdmConfig cfg = {}) {
    EdmMatcher m(index(), cfg);
    for (const auto& p : pieces) m.write(as_bytes(p));
    m.close();
    return m.hits();
  }

  static std::vector<Customer>* customers_;
  static std::shared_ptr<const EdmIndex>* index_;
  static EdmIndexInfo* built_info_;
  static std::string* csv_path_;
  static std::string* index_path_;
};
std::vector<Customer>* EdmTest::customers_ = nullptr;
std::shared_ptr<const EdmIndex>* EdmTest::index_ = nullptr;
EdmIndexInfo* EdmTest::built_info_ = nullptr;
std::string* EdmTest::csv_path_ = nullptr;
std::string* EdmTest::index_path_ = nullptr;

TEST_F(EdmTest, BuildSaveLoadRoundTrip) {
  const EdmIndexInfo& b = *built_info_;
  const EdmIndexInfo& l = index().info();
  EXPECT_EQ(b.rows, kRows);
  EXPECT_EQ(b.columns, (std::vector<std::string>{"full_name", "email", "phone", "ssn", "account",
                                                 "address", "city"}));
  EXPECT_EQ(b.cells, kRows * 7);
  EXPECT_EQ(b.skipped_common, kRows);  // ten cities: every city is in ~10,000 rows
  EXPECT_EQ(b.skipped_empty, 0u);
  EXPECT_EQ(b.skipped_short, 0u);
  EXPECT_EQ(b.skipped_long, 0u);
  EXPECT_EQ(b.indexed_cells, kRows * 6);
  EXPECT_EQ(b.max_words, 3u);  // "4711 Oak St"
  EXPECT_EQ(b.source_digest.size(), 64u);
  EXPECT_EQ(l.rows, b.rows);
  EXPECT_EQ(l.columns, b.columns);
  EXPECT_EQ(l.source_digest, b.source_digest);
  EXPECT_EQ(l.cells, b.cells);
  EXPECT_EQ(l.indexed_cells, b.indexed_cells);
  EXPECT_EQ(l.skipped_common, b.skipped_common);
  EXPECT_EQ(l.distinct_values, b.distinct_values);
  EXPECT_EQ(l.max_words, b.max_words);
  EXPECT_EQ(l.min_length, 4u);
  EXPECT_EQ(l.max_rows_per_value, 50u);
  // Every indexed value of the row can be looked up in the loaded index.
  const Customer& c = row(kRow);
  for (const std::string& v : {lower(c.email), only_digits(c.phone), only_digits(c.ssn),
                               c.account, lower(c.address), lower(c.full_name)}) {
    EXPECT_TRUE(index().maybe_contains(v.data(), v.size())) << v;
    const auto* slot = index().find(index().hash(v.data(), v.size()));
    ASSERT_NE(slot, nullptr) << v;
  }
  const std::string city = lower(c.city);
  EXPECT_EQ(index().find(index().hash(city.data(), city.size())), nullptr);
}

TEST_F(EdmTest, ThreeFieldsOfOneRowGiveOneHit) {
  const Customer& c = row(kRow);
  const std::string head = "Hi team,\nplease update the record for ";
  const std::string text = head + c.email + " -- phone " + c.phone + ", SSN " + c.ssn +
                           ". Thanks!\n";
  const auto hits = scan({text});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].row, kRow);
  EXPECT_EQ(hits[0].fields, 3u);
  EXPECT_EQ(hits[0].columns, (std::vector<std::string>{"email", "phone", "ssn"}));
  EXPECT_EQ(hits[0].masked, (std::vector<std::string>{masked(lower(c.email)),
                                                      masked(only_digits(c.phone)),
                                                      masked(only_digits(c.ssn))}));
  EXPECT_EQ(hits[0].first_offset, head.size());
  EXPECT_EQ(hits[0].row_hash_id, index().row_hash_id(kRow));
  EXPECT_NE(hits[0].row_hash_id, index().row_hash_id(kRow + 1));
}

TEST_F(EdmTest, TwoFieldsAreNotEnough) {
  const Customer& c = row(kRow);
  EXPECT_TRUE(scan({"contact " + c.email + " or " + c.phone + "\n"}).empty());
  // ... unless the policy asks for two.
  EdmConfig two;
  two.min_fields = 2;
  const auto hits = scan({"contact " + c.email + " or " + c.phone + "\n"}, two);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].row, kRow);
}

TEST_F(EdmTest, FieldsWiderThanTheWindowAreNotARecord) {
  const Customer& c = row(kRow);
  const std::string filler(300, ' ');
  // email ... 300+ ... phone ... 300+ ... ssn: neighbours within 512, all three not.
  const std::string wide = c.email + filler + c.phone + filler + c.ssn;
  EXPECT_TRUE(scan({wide}).empty());
  EdmConfig big;
  big.window = 1024;
  ASSERT_EQ(scan({wide}, big).size(), 1u);
  const std::string near = c.email + std::string(100, ' ') + c.phone + std::string(100, ' ') + c.ssn;
  ASSERT_EQ(scan({near}).size(), 1u);
}

TEST_F(EdmTest, FieldsSplitAcrossWritesAtEveryPosition) {
  const Customer& c = row(kRow);
  const std::string text = "name: " + c.full_name + "\naddr: " + c.address + "\nphone: " +
                           c.phone + "\nacct " + c.account + "\n";
  const std::vector<std::string> want{"full_name", "phone", "account", "address"};
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    const auto hits = scan({text.substr(0, cut), text.substr(cut)});
    ASSERT_EQ(hits.size(), 1u) << "cut at " << cut;
    EXPECT_EQ(hits[0].row, kRow);
    EXPECT_EQ(hits[0].columns, want) << "cut at " << cut;
  }
  // One byte per write.
  std::vector<std::string> bytes;
  for (char ch : text) bytes.emplace_back(1, ch);
  const auto hits = scan(bytes);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].columns, want);
}

TEST_F(EdmTest, FieldsOfThreeDifferentRowsAreNotARecord) {
  const std::string text = row(10).email + " " + row(20).phone + " " + row(30).ssn + " " +
                           row(40).account;
  EXPECT_TRUE(scan({text}).empty());
}

TEST_F(EdmTest, SameRowTwiceIsOneHit) {
  const Customer& c = row(kRow);
  const std::string rec = c.email + "," + c.phone + "," + c.ssn + "\n";
  const auto hits = scan({rec + std::string(2000, '.') + rec, rec});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].row, kRow);
}

TEST_F(EdmTest, ManyRowsInOneStreamAreEachReportedOnce) {
  std::string dump = "full_name,email,phone,ssn,account,address,city\n";
  for (std::size_t i = 1000; i < 1200; ++i) {
    const Customer& c = row(i);
    dump += c.full_name + "," + c.email + "," + c.phone + "," + c.ssn + "," + c.account + "," +
            c.address + "," + c.city + "\n";
  }
  const auto hits = scan({dump});
  ASSERT_EQ(hits.size(), 200u);
  for (std::size_t i = 0; i < hits.size(); ++i) {
    EXPECT_EQ(hits[i].row, 1000 + i);
    // Every indexed column of the line (the city is too common to be indexed).
    EXPECT_EQ(hits[i].fields, 6u);
    EXPECT_EQ(hits[i].columns, (std::vector<std::string>{"full_name", "email", "phone", "ssn",
                                                         "account", "address"}));
  }
}

TEST_F(EdmTest, OtherFormatsAreNormalisedToTheSameValue) {
  const Customer& c = row(kRow);
  const std::string d = only_digits(c.phone);  // (ddd) ddd-dddd in the table
  const std::string s = only_digits(c.ssn);    // ddd-dd-dddd in the table
  const std::string upper_email = [&] {
    std::string e = c.email;
    for (char& ch : e) ch = static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
    return e;
  }();
  const std::vector<std::string> phones = {d, d.substr(0, 3) + "-" + d.substr(3, 3) + "-" + d.substr(6),
                                           d.substr(0, 3) + "." + d.substr(3, 3) + "." + d.substr(6),
                                           "+1 " + d.substr(0, 3) + " " + d.substr(3, 3) + " " + d.substr(6)};
  for (const auto& phone : phones) {
    const auto hits = scan({"mail <" + upper_email + ">; tel " + phone + "; ssn " + s + "\n"});
    ASSERT_EQ(hits.size(), 1u) << phone;
    EXPECT_EQ(hits[0].row, kRow);
    EXPECT_EQ(hits[0].columns, (std::vector<std::string>{"email", "phone", "ssn"})) << phone;
    EXPECT_EQ(hits[0].masked[1], masked(d));
  }
  // Multi-word values in other case and spacing: "JOHN  SMITH", "4711 OAK ST."
  std::string name = c.full_name, addr = c.address;
  for (char& ch : name) ch = static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
  name.replace(name.find(' '), 1, "  ");
  const auto hits = scan({"Customer: " + name + "\nShip to: " + addr + ".\nAccount no. " +
                          c.account.substr(0, 4) + " " + c.account.substr(4) + "\n"});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].row, kRow);
  EXPECT_EQ(hits[0].columns, (std::vector<std::string>{"full_name", "account", "address"}));
  EXPECT_EQ(hits[0].masked[0], masked(lower(c.full_name)));
  EXPECT_EQ(hits[0].masked[2], masked(lower(c.address)));
}

TEST_F(EdmTest, BenignTextGivesNothingAndHashesLittle) {
  std::string text;
  for (int i = 0; i < 200; ++i)
    text += "On 2024-03-" + std::to_string(10 + i % 18) + " the quarterly review of order #" +
            std::to_string(100000 + i * 37) + " was shipped to Springfield by John with tracking "
            "1Z999AA" + std::to_string(1000000 + i) + ". Call (555) 010-0000 for help.\n";
  EdmMatcher m(index(), EdmConfig{});
  m.write(as_bytes(text));
  m.close();
  EXPECT_TRUE(m.hits().empty());
  EXPECT_EQ(m.stats().bytes, text.size());
  EXPECT_GT(m.stats().candidates, 1000u);
  // The Bloom filter lets few candidates through to the HMAC.
  EXPECT_LT(m.stats().hashed * 20, m.stats().candidates);
}

TEST_F(EdmTest, GapBreaksTokensButNotTheWindow) {
  const Customer& c = row(kRow);
  EdmMatcher m(index(), EdmConfig{});
  const std::string e = c.email + " ";
  m.write(as_bytes(e));
  m.write(as_bytes(c.phone.substr(0, 5)));
  m.gap(10);  // the phone is cut: not evidence
  m.write(as_bytes(" " + c.ssn + " " + c.account + "\n"));
  m.close();
  ASSERT_EQ(m.hits().size(), 1u);
  EXPECT_EQ(m.hits()[0].columns, (std::vector<std::string>{"email", "ssn", "account"}));
  EXPECT_EQ(m.offset(), e.size() + 5 + 10 + 1 + c.ssn.size() + 1 + c.account.size() + 1);
}

TEST_F(EdmTest, OverlongTokensAreDroppedAndCloseIsFinal) {
  const Customer& c = row(kRow);
  EdmMatcher m(index(), EdmConfig{});
  // An e-mail glued into a 100-character token is not the e-mail.
  m.write(as_bytes(std::string(80, 'x') + c.email + " " + c.phone + " " + c.ssn + "\n"));
  EXPECT_EQ(m.stats().truncated_tokens, 1u);
  EXPECT_TRUE(m.hits().empty());
  m.write(as_bytes(c.email + " "));
  m.close();
  ASSERT_EQ(m.hits().size(), 1u);
  m.write(as_bytes(row(1).email + " " + row(1).phone + " " + row(1).ssn + "\n"));
  m.close();
  EXPECT_EQ(m.hits().size(), 1u);  // nothing after close
}

TEST_F(EdmTest, IndexFileHoldsNoCleartext) {
  const std::string bytes = read_file(*index_path_);
  for (std::size_t i : {std::size_t{0}, std::size_t{kRow}, kRows - 1}) {
    const Customer& c = row(i);
    for (const std::string& v :
         {c.full_name, lower(c.full_name), c.email, lower(c.email), c.phone, only_digits(c.phone),
          c.ssn, only_digits(c.ssn), c.account, c.address, lower(c.address), c.city}) {
      EXPECT_EQ(bytes.find(v), std::string::npos) << "index contains '" << v << "'";
    }
  }
}

TEST_F(EdmTest, DamagedIndexFilesAreRefusedWithAClearError) {
  const std::string good = read_file(*index_path_);
  const std::string path = temp_path("damaged.edm");
  auto load_error = [&](const std::string& content) {
    write_file(path, content);
    auto r = EdmIndex::load(path);
    return r.ok() ? std::string("loaded") : r.error().message;
  };
  EXPECT_EQ(load_error(good.substr(0, good.size() / 2)).rfind(path + ": truncated EDM index (", 0), 0u);
  EXPECT_EQ(load_error(good.substr(0, good.size() - 1)).rfind(path + ": truncated EDM index (", 0), 0u);
  EXPECT_EQ(load_error(good.substr(0, 30)), path + ": truncated EDM index (30 bytes, header incomplete)");
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x40;
  EXPECT_EQ(load_error(flipped), path + ": corrupt EDM index (checksum mismatch)");
  EXPECT_EQ(load_error("name,email\nAlice,alice@example.com\n"), path + ": not an EDM index (bad magic)");
  std::string future = good;
  future[8] = 9;
  EXPECT_EQ(load_error(future), path + ": unsupported EDM index version 9 (expected 1)");
  std::remove(path.c_str());
  auto missing = EdmIndex::load(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message.rfind(path + ": cannot open", 0), 0u);
}

// ---- small tables: CSV handling and the skip rules ----

TEST(EdmBuild, CsvErrorsNameFileAndLine) {
  const std::string path = temp_path("bad.csv");
  write_file(path, "name,email,phone\nAlice Smith,alice@example.com,555-0100\nBob,bob@example.com\n");
  auto r = EdmIndex::build_from_csv(path, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, path + ":3: row has 2 fields, the header has 3");
  write_file(path, "name,email\n\"Alice,alice@example.com\n");
  r = EdmIndex::build_from_csv(path, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, path + ":2: unterminated quoted field");
  write_file(path, "name,,phone\n");
  r = EdmIndex::build_from_csv(path, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, path + ":1: empty column name in the header row");
  write_file(path, "");
  r = EdmIndex::build_from_csv(path, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, path + ": empty file, expected a header row");
  std::remove(path.c_str());
  r = EdmIndex::build_from_csv(path, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind(path + ": cannot open", 0), 0u);
}

TEST(EdmBuild, QuotedFieldsSkipRulesAndCounts) {
  const std::string path = temp_path("small.csv");
  // Row 2's address has a comma and a doubled quote; "NY" is too short; "" is empty;
  // "Acme" appears in 3 rows, more than max_rows_per_value = 2.
  write_file(path,
             "\xEF\xBB\xBFname,address,state,company\r\n"
             "Alice Smith,\"12 Oak St, Apt \"\"B\"\"\",NY,Acme\r\n"
             "Bob Jones,9 Elm Road,,Acme\r\n"
             "\r\n"
             "Carol White,77 Pine Ave,CA,Acme\r\n");
  EdmBuildOptions opts;
  opts.max_rows_per_value = 2;
  auto r = EdmIndex::build_from_csv(path, opts);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& info = r->info();
  EXPECT_EQ(info.rows, 3u);
  EXPECT_EQ(info.columns, (std::vector<std::string>{"name", "address", "state", "company"}));
  EXPECT_EQ(info.cells, 12u);
  EXPECT_EQ(info.skipped_empty, 1u);
  EXPECT_EQ(info.skipped_short, 2u);   // NY, CA
  EXPECT_EQ(info.skipped_common, 3u);  // Acme x3
  EXPECT_EQ(info.indexed_cells, 6u);
  EXPECT_EQ(info.max_words, 5u);       // "12 oak st apt b"
  EdmConfig cfg;
  cfg.min_fields = 2;
  EdmMatcher m(*r, cfg);
  m.write(as_bytes("To: ALICE SMITH, 12 Oak St Apt \"B\" (Acme)"));
  m.close();
  ASSERT_EQ(m.hits().size(), 1u);
  EXPECT_EQ(m.hits()[0].row, 0u);
  EXPECT_EQ(m.hits()[0].columns, (std::vector<std::string>{"name", "address"}));
  EXPECT_EQ(m.hits()[0].masked, (std::vector<std::string>{"*******mith", "***********pt b"}));
  std::remove(path.c_str());
}

// A file damaged and then given a valid checksum (a hostile file, not a torn write) is
// still either refused with a message or loaded consistently: never a crash (run under
// ASan/UBSan in the sanitizer build).
TEST(EdmBuild, ReChecksummedDamageIsRefusedOrHarmless) {
  const std::string csv = temp_path("fuzz.csv"), path = temp_path("fuzz.edm");
  write_file(csv, "name,email,phone\nAlice Smith,alice@example.com,555-0100\n"
                  "Bob Jones,bob@example.com,555-0199\n");
  auto built = EdmIndex::build_from_csv(csv, {});
  ASSERT_TRUE(built.ok());
  ASSERT_TRUE(built->save(path).ok());
  const std::string good = read_file(path);
  int refused = 0, loaded = 0;
  for (std::size_t i = 0; i + 32 < good.size(); ++i) {
    for (unsigned char x : {0x01, 0x80, 0xff}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ x);
      SHA256(reinterpret_cast<const unsigned char*>(bad.data()), bad.size() - 32,
             reinterpret_cast<unsigned char*>(bad.data() + bad.size() - 32));
      write_file(path, bad);
      auto r = EdmIndex::load(path);
      if (!r.ok()) {
        ++refused;
        EXPECT_EQ(r.error().message.rfind(path + ": ", 0), 0u);
        continue;
      }
      ++loaded;  // e.g. a changed key or filter bit: a different but valid index
      EdmMatcher m(**r, EdmConfig{});
      m.write(as_bytes("Alice Smith alice@example.com 555-0100 Bob Jones bob@example.com"));
      m.close();
      EXPECT_LE(m.hits().size(), 2u);
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(loaded, 0);
  std::remove(csv.c_str());
  std::remove(path.c_str());
}

TEST(EdmBuild, MinLengthIsConfigurable) {
  const std::string path = temp_path("minlen.csv");
  write_file(path, "id,code\n12345,ab12\n67890,cd34\n");
  EdmBuildOptions opts;
  opts.min_length = 5;
  auto r = EdmIndex::build_from_csv(path, opts);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->info().skipped_short, 2u);
  EXPECT_EQ(r->info().indexed_cells, 2u);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace dlp::signatures
