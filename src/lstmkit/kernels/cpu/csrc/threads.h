// How many threads the engine's time loops use, and when to drop to one.
//
// The loops synchronise their threads at every step (a barrier in the fused
// loops, the end of a parallel region in the general ones): a step cannot
// start before the previous one is done everywhere. On a quiet machine that
// costs a microsecond a step. When another process takes one of the cores,
// the scheduler deschedules a member of the team for a whole time slice
// (milliseconds), and every step waits for it: a tagging run on 2 threads of
// 2 shared cores was measured 6x slower than on one thread. torch.nn's
// per-step products do not show it as much, because MKL runs small products
// on one thread.
//
// So every multi-threaded loop reports how long its threads stood waiting
// (the longest wait of any thread, or the region's wall time less its longest
// chunk), and the engine keeps a window of those reports: when waiting was
// more than half of the window's wall time, the loops run on one thread for a
// while (a quarter second, doubling up to 8 s while the waiting persists),
// then try their threads again. The same rule drops threads whose
// synchronisation costs more than they save on a quiet machine (steps too
// small to share). LSTMKIT_CPU_NO_BACKOFF=1 turns it off.
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <unistd.h>

namespace lstmkit_threads {

// A cache's size in bytes as sysconf reports it (name: _SC_LEVEL2_CACHE_SIZE,
// ...), else `otherwise`.
inline int64_t reported_cache_bytes(int name, int64_t otherwise) {
  const long v = sysconf(name);
  return v > 0 ? static_cast<int64_t>(v) : otherwise;
}

// The L2 cache of one core in bytes, as the system reports it (1 MB where it
// does not say): what stays near a core between the loops that use it.
inline int64_t l2_bytes() {
#ifdef _SC_LEVEL2_CACHE_SIZE
  static const int64_t bytes = reported_cache_bytes(_SC_LEVEL2_CACHE_SIZE, int64_t(1) << 20);
#else
  static const int64_t bytes = int64_t(1) << 20;
#endif
  return bytes;
}

// The last-level cache in bytes as the system reports it (the L3; 0 where it
// does not say). In a VM this is the host's, shared with other tenants.
inline int64_t l3_bytes() {
#ifdef _SC_LEVEL3_CACHE_SIZE
  static const int64_t bytes = reported_cache_bytes(_SC_LEVEL3_CACHE_SIZE, 0);
#else
  static const int64_t bytes = 0;
#endif
  return bytes;
}

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Backoff {
  static constexpr int64_t kWindowNs = 2'000'000;  // judge waiting over at least 2 ms of loop time
  static constexpr int64_t kBaseNs = 250'000'000, kMaxNs = 8'000'000'000;
  std::atomic<int64_t> until{0};  // steady-clock ns before which loops run on one thread
  std::atomic<int64_t> span{kBaseNs};
  std::atomic<int64_t> wall{0}, waited{0};  // the current window
  std::atomic<int64_t> backoffs{0};         // times the engine dropped to one thread (for tests and benchmarks)
  std::atomic<int64_t> solos{0};            // times a fused loop's team handed the rest of a call to one thread
  std::atomic<int64_t> solo_at{-1};         // tests: a fused loop's team hands over to one thread after this step
  std::atomic<bool> enabled{std::getenv("LSTMKIT_CPU_NO_BACKOFF") == nullptr};

  bool backing_off() const {
    return enabled.load(std::memory_order_relaxed) && now_ns() < until.load(std::memory_order_relaxed);
  }

  void report(int64_t wall_ns, int64_t waited_ns) {
    if (!enabled.load(std::memory_order_relaxed)) return;
    const int64_t w = wall.fetch_add(wall_ns) + wall_ns;
    const int64_t q = waited.fetch_add(waited_ns) + waited_ns;
    if (w < kWindowNs) return;
    wall.store(0);
    waited.store(0);
    if (2 * q > w) {
      const int64_t s = span.load();
      until.store(now_ns() + s);
      span.store(std::min(kMaxNs, 2 * s));
      backoffs.fetch_add(1);
    } else if (4 * q < w) {
      span.store(kBaseNs);
    }
  }
};

inline Backoff& backoff() {
  static Backoff state;
  return state;
}

// threads a loop may use now: the caller's torch thread count, or 1 inside a
// parallel region or while backing off
inline int loop_threads() {
  if (at::in_parallel_region()) return 1;
  const int n = at::get_num_threads();
  return n > 1 && backoff().backing_off() ? 1 : n;
}

// at::parallel_for over [begin, end) with grain, run on one thread while
// backing off; reports the region's waiting (wall time less its longest chunk)
template <typename F>
void guarded_for(int64_t begin, int64_t end, int64_t grain, const F& f) {
  if (end - begin <= grain || loop_threads() == 1) {
    f(begin, end);
    return;
  }
  std::atomic<int64_t> longest{0};
  const int64_t t0 = now_ns();
  at::parallel_for(begin, end, grain, [&](int64_t b0, int64_t b1) {
    const int64_t s = now_ns();
    f(b0, b1);
    const int64_t d = now_ns() - s;
    int64_t cur = longest.load(std::memory_order_relaxed);
    while (d > cur && !longest.compare_exchange_weak(cur, d)) {
    }
  });
  const int64_t wall = now_ns() - t0;
  backoff().report(wall, std::max<int64_t>(0, wall - longest.load()));
}

}  // namespace lstmkit_threads
