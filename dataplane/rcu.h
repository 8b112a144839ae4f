// A read-mostly cell the control plane publishes into and workers read without a lock
// (quiescent-state-based RCU, as DPDK's rte_rcu_qsbr): the enforcement snapshot and the
// compiled detector database travel to the workers this way.
//
//   RcuCell<Enforcement> cell(std::make_shared<const Enforcement>(), workers);
//   worker i, between bursts:   cell.quiescent(i);  const Enforcement* e = cell.get();
//   mgmt:                       cell.publish(std::make_shared<const Enforcement>(next));
//                               cell.reclaim();     // frees what no worker can still hold
//
// Why it is safe: publish() swaps the pointer, then bumps the epoch (seq_cst). A worker's
// quiescent(i) records the epoch it sees at a point where it holds no pointer from the
// cell; every get() after that returns a value at least as new as that epoch. An old value
// retired at epoch R is released once every worker has recorded an epoch >= R. A worker
// that stops calls offline(i) so it never holds reclamation back.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace dlp::dataplane {

template <class T>
class RcuCell {
 public:
  RcuCell(std::shared_ptr<const T> initial, std::size_t readers)
      : seen_(readers == 0 ? 1 : readers) {
    owned_ = std::move(initial);
    cur_.store(owned_.get(), std::memory_order_release);
    for (auto& s : seen_) s.epoch.store(0, std::memory_order_relaxed);
  }
  RcuCell(const RcuCell&) = delete;
  RcuCell& operator=(const RcuCell&) = delete;

  // Reader side (one reader index per worker thread).
  const T* get() const { return cur_.load(std::memory_order_acquire); }
  void quiescent(std::size_t reader) {
    seen_[reader].epoch.store(epoch_.load(std::memory_order_seq_cst), std::memory_order_release);
  }
  void offline(std::size_t reader) {
    seen_[reader].epoch.store(UINT64_MAX, std::memory_order_release);
  }
  void online(std::size_t reader) { quiescent(reader); }
  std::uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }

  // Writer side (any thread; writers serialise on a mutex, readers never touch it).
  void publish(std::shared_ptr<const T> next) {
    std::lock_guard<std::mutex> lk(mu_);
    cur_.store(next.get(), std::memory_order_seq_cst);
    const std::uint64_t retired_at = epoch_.fetch_add(1, std::memory_order_seq_cst) + 1;
    retired_.push_back({std::move(owned_), retired_at});
    owned_ = std::move(next);
    reclaim_locked();
  }
  // The value most recently published (for the writer side, e.g. `dlpctl status`).
  std::shared_ptr<const T> current() const {
    std::lock_guard<std::mutex> lk(mu_);
    return owned_;
  }
  // Frees retired values no reader can hold any more; returns how many remain.
  std::size_t reclaim() {
    std::lock_guard<std::mutex> lk(mu_);
    return reclaim_locked();
  }

 private:
  struct alignas(64) Seen {
    std::atomic<std::uint64_t> epoch{0};
  };
  struct Retired {
    std::shared_ptr<const T> value;
    std::uint64_t epoch;
  };
  std::size_t reclaim_locked() {
    std::uint64_t min_seen = UINT64_MAX;
    for (const auto& s : seen_) min_seen = std::min(min_seen, s.epoch.load(std::memory_order_acquire));
    std::size_t keep = 0;
    for (auto& r : retired_) {
      if (r.epoch > min_seen) retired_[keep++] = std::move(r);
    }
    retired_.resize(keep);
    return keep;
  }

  std::atomic<const T*> cur_{nullptr};
  std::atomic<std::uint64_t> epoch_{0};
  std::vector<Seen> seen_;
  mutable std::mutex mu_;
  std::shared_ptr<const T> owned_;
  std::vector<Retired> retired_;
};

}  // namespace dlp::dataplane
