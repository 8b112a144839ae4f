#include "tests/gen/customers.h"

namespace dlp::testgen {
namespace {

const char* const kFirst[] = {
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Charles", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty",
    "Mark", "Margaret", "Donald", "Sandra", "Steven", "Ashley", "Paul", "Kimberly", "Andrew",
    "Emily", "Joshua", "Donna", "Kenneth", "Michelle", "Kevin", "Carol", "Brian", "Amanda",
    "George", "Melissa", "Timothy", "Deborah", "Ronald", "Stephanie", "Edward", "Rebecca",
    "Jason", "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia", "Jacob", "Kathleen"};
const char* const kLast[] = {
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans",
    "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes"};
const char* const kStreet[] = {"Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake",
                               "Hill", "Park", "Main", "Church", "River", "Sunset", "Highland",
                               "Forest", "Meadow", "Willow", "Spring", "Valley", "Ridge",
                               "Lincoln", "Jefferson", "Madison", "Franklin", "Chestnut",
                               "Walnut", "Birch", "Aspen", "Harbor", "Mill"};
const char* const kSuffix[] = {"St", "Ave", "Road", "Lane", "Blvd"};
const char* const kCity[] = {"Springfield", "Riverside", "Fairview", "Franklin", "Greenville",
                             "Bristol", "Clinton", "Georgetown", "Salem", "Madison"};
const char* const kDomain[] = {"Example.com", "mail.example.org", "corp.example.net",
                               "Inbox.example.io"};

struct Rng {  // splitmix64: deterministic across platforms
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }
};

template <std::size_t N>
const char* pick(Rng& r, const char* const (&list)[N]) {
  return list[r.below(N)];
}

std::string digits(Rng& r, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + r.below(10)));
  return s;
}

}  // namespace

std::vector<Customer> make_customers(std::size_t n, std::uint64_t seed) {
  Rng r{seed};
  std::vector<Customer> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    Customer c;
    const std::string first = pick(r, kFirst), last = pick(r, kLast);
    c.full_name = first + " " + last;
    c.email = first + "." + last + std::to_string(i) + "@" + pick(r, kDomain);
    c.phone = "(" + std::to_string(200 + r.below(800)) + ") " + digits(r, 3) + "-" + digits(r, 4);
    c.ssn = std::to_string(100 + r.below(800)) + "-" + digits(r, 2) + "-" + digits(r, 4);
    c.account = std::to_string(1 + r.below(9)) + digits(r, 9);
    c.address = std::to_string(1 + r.below(9999)) + " " + pick(r, kStreet) + " " + pick(r, kSuffix);
    c.city = pick(r, kCity);
    out.push_back(std::move(c));
  }
  return out;
}

std::string customers_csv(const std::vector<Customer>& rows) {
  std::string csv = "full_name,email,phone,ssn,account,address,city\n";
  for (const auto& c : rows) {
    csv += c.full_name + "," + c.email + "," + c.phone + "," + c.ssn + "," + c.account + "," +
           c.address + "," + c.city + "\n";
  }
  return csv;
}

}  // namespace dlp::testgen
