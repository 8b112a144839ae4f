// A generated customer table for exact-data-match tests and benchmarks: names, e-mail,
// phone, SSN-shaped id, account number, street address and city, deterministic for a seed
// (splitmix64, so the same on every platform). Never real people.
//
//   auto rows = make_customers(100000);             // seed 4711
//   write_file("customers.csv", customers_csv(rows));
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dlp::testgen {

struct Customer {
  std::string full_name, email, phone, ssn, account, address, city;
};

std::vector<Customer> make_customers(std::size_t n, std::uint64_t seed = 4711);
// Header "full_name,email,phone,ssn,account,address,city", then one line per customer.
std::string customers_csv(const std::vector<Customer>& rows);

}  // namespace dlp::testgen
