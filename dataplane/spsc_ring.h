// Single-producer single-consumer ring: how findings leave a worker for the mgmt thread
// without a lock. Capacity is a power of two fixed at construction.
//
//   SpscRing<Finding> ring(4096);
//   worker:  if (!ring.try_push(std::move(f))) { /* full: keep it, retry later */ }
//   mgmt:    while (auto f = ring.try_pop()) handle(*f);
//
// Why it is safe: head_ is written only by the consumer and tail_ only by the producer.
// The producer writes the slot, then publishes it with a release store of tail_; the
// consumer's acquire load of tail_ therefore sees the slot's contents. Symmetrically the
// consumer moves the value out, then releases the slot with a release store of head_,
// which the producer acquires before reusing it. Indices grow without wrapping (64-bit)
// and are masked on access, so full (tail - head == capacity) and empty (tail == head)
// are never confused. The two indices sit on separate cache lines to avoid false sharing.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

namespace dlp::dataplane {

template <class T>
class SpscRing {
 public:
  explicit SpscRing(std::size_t capacity_pow2)
      : mask_(capacity_pow2 - 1), slots_(std::make_unique<std::optional<T>[]>(capacity_pow2)) {}

  std::size_t capacity() const { return mask_ + 1; }

  bool try_push(T&& value) {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_.load(std::memory_order_acquire) > mask_) return false;
    slots_[tail & mask_].emplace(std::move(value));
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  std::optional<T> try_pop() {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_.load(std::memory_order_acquire)) return std::nullopt;
    std::optional<T> out = std::move(slots_[head & mask_]);
    slots_[head & mask_].reset();
    head_.store(head + 1, std::memory_order_release);
    return out;
  }

  bool empty() const {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }

 private:
  const std::size_t mask_;
  std::unique_ptr<std::optional<T>[]> slots_;
  alignas(64) std::atomic<std::uint64_t> head_{0};
  alignas(64) std::atomic<std::uint64_t> tail_{0};
};

}  // namespace dlp::dataplane
