// The register tile shared by the fused loops (lstm_fused.cpp, the plain
// LSTM; lstm_ln_fused.cpp, the layer-norm LSTM): vector types of the build's
// width, the float32 exp/sigmoid/tanh in vector lanes, the MR x 4-vector
// panel product, the OpenMP team (with the back-off of threads.h) and the
// way a step's tiles are shared by it. See lstm_fused.cpp for the layout the
// panels hold.
#pragma once

#include <ATen/Parallel.h>
#include <omp.h>
#if defined(__AVX512F__) || defined(__FMA__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "exp_poly.h"
#include "threads.h"

namespace lstmkit_fused {
namespace tile {
#if defined(__AVX512F__)
constexpr int kVecBytes = 64;
constexpr int kRows = 6;  // 6 rows x 4 panels = 24 accumulators of 32 registers
#elif defined(__AVX__)
constexpr int kVecBytes = 32;
constexpr int kRows = 3;  // 12 accumulators, 3 broadcasts and 1 weight vector: the 16 registers
#else
constexpr int kVecBytes = 16;
constexpr int kRows = 2;
#endif

template <typename S>
struct Vec;
template <>
struct Vec<float> {
  typedef float v __attribute__((vector_size(kVecBytes)));
  typedef int32_t vi __attribute__((vector_size(kVecBytes)));
  static constexpr int L = kVecBytes / 4;
};
template <>
struct Vec<double> {
  typedef double v __attribute__((vector_size(kVecBytes)));
  typedef int64_t vi __attribute__((vector_size(kVecBytes)));
  static constexpr int L = kVecBytes / 8;
};

// a * b + c rounded once (a fused multiply-add instruction where the build
// has one), whatever the compiler would contract at the call site: code
// whose bits must not depend on where it is inlined uses it (with
// -ffp-contract=fast, the same a * b + c can be fused in one caller and not in
// another; seen in the layer-norm loop's row statistics with AVX2 in float64)
template <typename v>
inline v fmadd(const v& a, const v& b, const v& c) {
#if defined(__AVX512F__)
  if constexpr (sizeof(v) == 64 && sizeof(a[0]) == 4)
    return (v)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
  else if constexpr (sizeof(v) == 64)
    return (v)_mm512_fmadd_pd((__m512d)a, (__m512d)b, (__m512d)c);
#endif
#if defined(__FMA__)
  if constexpr (sizeof(v) == 32 && sizeof(a[0]) == 4)
    return (v)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
  else if constexpr (sizeof(v) == 32)
    return (v)_mm256_fmadd_pd((__m256d)a, (__m256d)b, (__m256d)c);
#endif
  v out;
  for (int l = 0; l < int(sizeof(v) / sizeof(a[0])); ++l) out[l] = std::fma(a[l], b[l], c[l]);
  return out;
}

template <typename v, typename S>
inline v vload(const S* p) {
  v x;
  std::memcpy(&x, p, sizeof x);
  return x;
}
template <typename v, typename S>
inline void vstore(S* p, const v& x) {
  std::memcpy(p, &x, sizeof x);
}
// a store that bypasses the caches, for data read again only after the whole
// sequence (the activations the backward takes): no read for ownership, no
// cache lines evicted. p must be aligned to a vector. A thread that used it
// calls stream_fence() before another thread reads its data.
template <typename v, typename S>
inline void vstream(S* p, const v& x) {
#if defined(__AVX512F__)
  if constexpr (sizeof(S) == 4) {
    __m512 m;
    std::memcpy(&m, &x, sizeof m);
    _mm512_stream_ps(p, m);
  } else {
    __m512d m;
    std::memcpy(&m, &x, sizeof m);
    _mm512_stream_pd(p, m);
  }
#else
  vstore(p, x);
#endif
}
inline void stream_fence() {
#if defined(__AVX512F__)
  _mm_sfence();
#endif
}

// Whether a forward writes what it saves for the backward (bytes in all)
// past the caches (vstream). Only the backward reads those values, at once:
// where they fit the last-level cache they come back from there, where they
// outgrow it streaming spares the caches and the reads for ownership. So the
// saved values stream above half the L3 the system reports, and above 24 MB
// whatever it reports: a VM guest reports its host's L3 (480 MB on the Intel
// Xeon VM) but keeps only its share. Where no L3 is reported, above the L2 of
// the nt threads. Measured on that Xeon, a training call, 1 thread, in one
// process (streamed and stored calls interleaved), stored / streamed time:
// the plain loop 3.1-13 MB saved 0.98-0.99, 26 MB 1.02-1.03 (2 threads too);
// the layer-norm loop (rn, the input projection and the activations) 4.7 MB
// 0.85 (T48 B32 I8 H64 two layers, item 3's small shape), 19 MB 0.96, 38 MB
// 1.07, 78 MB 1.01, 200 MB 1.02. The rule before (above the L2 of the nt
// threads) had been set on calls of 0.1-0.4 MB on the EPYC Zen 5, which
// both rules store; benchmarks/RESULTS.md.
inline constexpr int64_t kStreamSavedCap = int64_t(24) << 20;
// stream_saved_above: the threshold forced (tests: 0 streams every saved
// value), -1 for the rule.
inline std::atomic<int64_t> stream_saved_forced{-1};
inline int64_t stream_saved_above(int nt) {
  const int64_t forced = stream_saved_forced.load(std::memory_order_relaxed);
  if (forced >= 0) return forced;
  const int64_t l3 = lstmkit_threads::l3_bytes();
  return l3 > 0 ? std::min(l3 / 2, kStreamSavedCap) : lstmkit_threads::l2_bytes() * nt;
}
inline bool stream_saved(int64_t bytes, int nt) { return bytes > stream_saved_above(nt); }

template <typename v, typename S>
inline v splat(S s) {  // s - 0 is s for every s (0 + s is not, for s = -0: that would cost an add)
  return s - v{};
}

// float: exp by Cephes' polynomial (exp_poly.h) and an exponent built from
// the rounded multiple of ln 2 (relative error ~1e-7), in vector lanes.
// The clamp keeps the exponent in the normal range (exp(-87) ~ 1.6e-38,
// exp(88) ~ 1.65e38), so sigmoid and tanh saturate cleanly; NaN passes.
using vf = Vec<float>::v;
using vfi = Vec<float>::vi;
__attribute__((always_inline)) inline vf exp_v(vf x) {
  const vf hi = splat<vf>(88.0f), lo = splat<vf>(-87.0f);
  x = x > hi ? hi : x;
  x = x < lo ? lo : x;
  const vf magic = splat<vf>(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  const vf fx = (x * 1.44269504088896341f + magic) - magic;
  const vf y = lstmkit_exp::exp_reduced(x, fx);
  const vfi n = __builtin_convertvector(fx, vfi) + 127;
  const vfi bits = n << 23;
  vf p2;
  std::memcpy(&p2, &bits, sizeof p2);
  return y * p2;
}
// 1 / d for d >= 1 (the denominators below): with AVX-512 the 14-bit
// hardware estimate refined by one Newton step (relative error ~1e-8, well
// inside the exp's), a quarter of a division's cost; else a division
__attribute__((always_inline)) inline vf recip_v(vf d) {
#if defined(__AVX512F__)
  __m512 dm;
  std::memcpy(&dm, &d, sizeof dm);
  const __m512 r0m = _mm512_rcp14_ps(dm);
  vf r;
  std::memcpy(&r, &r0m, sizeof r);
  return r * (2.0f - d * r);
#else
  return 1.0f / d;
#endif
}
__attribute__((always_inline)) inline vf sigm_v(vf x) { return recip_v(1.0f + exp_v(-x)); }
__attribute__((always_inline)) inline vf tanh_v(vf x) { return 2.0f * recip_v(1.0f + exp_v(-2.0f * x)) - 1.0f; }

// float64: libm per lane (the dtype the tests hold to 1e-10)
using vd = Vec<double>::v;
inline vd sigm_v(vd x) {
  for (int l = 0; l < Vec<double>::L; ++l) x[l] = 1.0 / (1.0 + std::exp(-x[l]));
  return x;
}
inline vd tanh_v(vd x) {
  for (int l = 0; l < Vec<double>::L; ++l) x[l] = std::tanh(x[l]);
  return x;
}

// acc[r][j] += sum_{k < K} A[r, k] * P[k][j][:]: MR rows of A (row stride lda)
// against one packed panel of 4 lane vectors per k, of which the first NJ
// are computed (a panel whose last columns are padding: acc[r][j >= NJ] is
// left as it was; each computed column sums in the same order whatever NJ).
// With pf, one cache line of pf per k is fetched into L2 on the way (the
// panel's next chunk, while this one is in L1).
template <typename S, int MR, int NJ = 4>
inline void panel_mm(int64_t K, const S* __restrict A, int64_t lda, const S* __restrict P,
                     typename Vec<S>::v (&acc)[MR][4], const char* pf = nullptr) {
  using v = typename Vec<S>::v;
  constexpr int L = Vec<S>::L;
  static_assert(NJ >= 1 && NJ <= 4, "a panel has 1 to 4 columns");
  for (int64_t k = 0; k < K; ++k) {
#if defined(__AVX512F__)
    if (pf) _mm_prefetch(pf + k * 64, _MM_HINT_T1);
#endif
    const S* w = P + k * 4 * L;
#if defined(__AVX512F__)
    v wj[NJ];
#pragma GCC unroll 4
    for (int j = 0; j < NJ; ++j) wj[j] = vload<v>(w + j * L);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const v a = splat<v>(A[r * lda + k]);
#pragma GCC unroll 4
      for (int j = 0; j < NJ; ++j) acc[r][j] += a * wj[j];
    }
#else
    // 16 registers: the rows' broadcasts stay, one weight vector at a time
    v a[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) a[r] = splat<v>(A[r * lda + k]);
#pragma GCC unroll 4
    for (int j = 0; j < NJ; ++j) {
      const v wj = vload<v>(w + j * L);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) acc[r][j] += a[r] * wj;
    }
#endif
  }
}

// the time this thread has stood at barriers in the current team
inline thread_local int64_t tl_waited = 0;

// a team of nt threads (or the caller alone) runs body(tid, nt); the longest
// time any member stood at the barriers goes to the engine's back-off rule
// (threads.h)
template <typename F>
void team(int nt, const F& body) {
  if (nt <= 1) {
    body(0, 1);
    return;
  }
  const int64_t t0 = lstmkit_threads::now_ns();
  int64_t most = 0;
#pragma omp parallel num_threads(nt)
  {
    tl_waited = 0;
    body(omp_get_thread_num(), omp_get_num_threads());
#pragma omp critical(lstmkit_team_wait)
    most = std::max(most, tl_waited);
  }
  lstmkit_threads::backoff().report(lstmkit_threads::now_ns() - t0, most);
}

inline void barrier(int nt) {
  if (nt > 1) {
    const int64_t t = lstmkit_threads::now_ns();
#pragma omp barrier
    tl_waited += lstmkit_threads::now_ns() - t;
  }
}

// The per-step meeting of a sequence loop's team. A member that has stood
// waiting for more than half of the team's time so far (after at least 2 ms)
// asks for the rest of the sequence to run on one thread; after the barrier
// every member reads the requests for that step: thread 0 then carries on
// alone with every item and the others leave. Without this a call's first
// multi-threaded run on a loaded machine pays a time slice at every one of
// its steps before the back-off rule hears of it. Requests sit in two slots
// by step parity: no member can be more than one meeting ahead of another,
// so a request for the next step never lands in the slot being read.
struct Meeting {
  int nt;
  int64_t start = lstmkit_threads::now_ns();
  std::atomic<bool> solo[2] = {false, false};
  const bool may = lstmkit_threads::backoff().enabled.load();

  explicit Meeting(int nt_) : nt(nt_) {}

  // the end of the step counted s (0, 1, ...); false: the calling thread leaves
  bool end_step(int64_t s, int tid, bool& alone) {
    if (nt <= 1 || alone) return true;
    const int64_t elapsed = lstmkit_threads::now_ns() - start;
    if ((may && elapsed > 2'000'000 && 2 * tl_waited > elapsed) || s == lstmkit_threads::backoff().solo_at.load())
      solo[s & 1].store(true, std::memory_order_relaxed);
    barrier(nt);
    if (!solo[s & 1].load(std::memory_order_relaxed)) return true;
    alone = true;
    if (tid == 0) lstmkit_threads::backoff().solos.fetch_add(1);
    return tid == 0;
  }
};

// the batch rows in n blocks of at most kRows, sizes as equal as possible
// (32 rows: 6,6,5,5,5,5, not 6,6,6,6,6,2: a thin tile streams the same panel
// for a third of the work)
struct RowBlocks {
  int64_t n, base, extra;
  explicit RowBlocks(int64_t B)
      : n((B + kRows - 1) / kRows), base(n > 0 ? B / n : 0), extra(n > 0 ? B % n : 0) {}  // B = 0: no blocks
  int64_t start(int64_t r) const { return r * base + std::min(r, extra); }
  int64_t size(int64_t r) const { return base + (r < extra ? 1 : 0); }
};

// How a sequence's steps are shared by a team: items are (panel, group of
// row blocks) in panel-major order, each thread takes a contiguous range, so
// a thread keeps reading the same weight panels step after step. Rows are
// grouped only when there are fewer panels than threads.
struct Work {
  int64_t panels, groups, rbn;
  int nt;
  Work(int64_t panels_, const RowBlocks& rb, int want) : panels(panels_), rbn(rb.n) {
    const int64_t cap = std::max<int64_t>(1, std::min<int64_t>(want, panels * rb.n));
    nt = static_cast<int>(cap);
    groups = std::min<int64_t>(rb.n, (nt + panels - 1) / panels);
  }
  // every item (one thread carrying on alone)
  void all(int64_t& i0, int64_t& i1) const {
    i0 = 0;
    i1 = panels * groups;
  }
  // thread tid's items [i0, i1); item i is panel i / groups, row blocks [r0, r1)
  void range(int tid, int64_t& i0, int64_t& i1) const {
    const int64_t items = panels * groups;
    i0 = items * tid / nt;
    i1 = items * (tid + 1) / nt;
  }
  void item(int64_t i, int64_t& panel, int64_t& r0, int64_t& r1) const {
    panel = i / groups;
    const int64_t g = i % groups;
    r0 = rbn * g / groups;
    r1 = rbn * (g + 1) / groups;
  }
};

inline int requested_threads() { return lstmkit_threads::loop_threads(); }

// Batch rows are independent in the plain loops, forward and backward: row
// b's step needs only row b of the previous step. Shared by rows, a thread
// never waits for another and reads only rows it wrote itself, but streams
// every weight panel at every step; so the plain loops split by rows when
// their panels (bytes) fit in half the L2 and every thread gets a row block.
// Measured on 2 threads: T48 B32 H64 forward 0.51 -> 0.38 ms, backward of
// T100 B64 H256 (1 MB of panels) 17.7 -> 15.5 ms; a tie at 1.5 MB, and the
// split by panels ahead with 4 MB (H=512).
inline bool split_by_rows(int want, const RowBlocks& rb, int64_t bytes) {
  return want > 1 && rb.n >= want && bytes <= (int64_t(1) << 20);
}
// thread tid's row blocks in a split by rows
inline void row_share(const RowBlocks& rb, int tid, int nt, int64_t& r0, int64_t& r1) {
  r0 = rb.n * tid / nt;
  r1 = rb.n * (tid + 1) / nt;
}

// K is walked in chunks whose slice of the panel (kc x 4 vectors) stays in L1
// while every row block of the item uses it: the panel then comes from L2 (or
// L3) once per step, not once per row block: 32 KB of the AVX-512 parts'
// 48 KB L1; 16 KB of an AVX2 part's 32 KB, which a 32 KB slice filled
// (EPYC Zen 3, with the 3-row tile: benchmarks/RESULTS.md, 2026-12-02).
#if defined(__AVX512F__)
constexpr int64_t kChunk = 32768 / (4 * kVecBytes);
#else
constexpr int64_t kChunk = 16384 / (4 * kVecBytes);
#endif

// the columns of panel q that hold some of U unit blocks: 4 but in a last
// panel whose unit blocks run out (Panel::nj)
inline int panel_columns(int64_t U, int64_t q) { return static_cast<int>(std::min<int64_t>(4, U - 4 * q)); }

// the init of a tile kernel whose product starts from zero
template <typename v, int MR>
inline void zero_tile(v (&acc)[MR][4]) {
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < 4; ++j) acc[r][j] = v{};
}

// The product acc[r][j] = init + A0[rows] P0 + A[rows] P over K0 + K, then
// kern.finish, for row blocks [rb0, rb1). The leading product (A0, P0 over
// K0) is optional: the plain loop's input side, x_t W_ih^T, when the input
// projection is computed in the tile rather than as one product beforehand.
// kern provides
//   template <int MR> void init(int64_t r0, v (&acc)[MR][4]) const
//   template <int MR> void finish(int64_t r0, v (&acc)[MR][4]) const
// part holds the partial sums between chunks (B x 4 vectors).
template <typename S, typename Kern>
struct Panel {
  using v = typename Vec<S>::v;
  static constexpr int L = Vec<S>::L;
  const Kern& kern;
  const RowBlocks& rb;
  int64_t K;
  const S* A;
  int64_t lda;
  const S* P;
  v* part;
  int64_t K0 = 0;
  const S* A0 = nullptr;
  int64_t lda0 = 0;
  const S* P0 = nullptr;
  // the panel's columns that are not padding (1-4; panel_columns): the
  // backward loops' last panel when the unit blocks are not a multiple of 4
  // (H = 32 with AVX-512 floats: 2 of its 4 columns), whose padding the
  // product skips
  int nj = 4;

  // a: the block's first row at the chunk's first k; p: the chunk's panel slice
  template <int MR, int NJ>
  void block(int64_t r0, const S* a, int64_t ld, const S* p, int64_t kn, bool first, bool last,
             const char* pf) const {
    v acc[MR][4];
    if (first) {
      kern.template init<MR>(r0, acc);
    } else {
      for (int r = 0; r < MR; ++r)
        for (int j = 0; j < 4; ++j) acc[r][j] = part[(r0 + r) * 4 + j];
    }
    if (kn > 0) panel_mm<S, MR, NJ>(kn, a, ld, p, acc, pf);
    if (last) {
      kern.template finish<MR>(r0, acc);
    } else {
      for (int r = 0; r < MR; ++r)
        for (int j = 0; j < 4; ++j) part[(r0 + r) * 4 + j] = acc[r][j];
    }
  }

  template <int NJ>
  void rows(int64_t r0, int64_t n, const S* a, int64_t ld, const S* p, int64_t kn, bool first, bool last,
            const char* pf) const {
    switch (n) {
      case 1: return block<1, NJ>(r0, a, ld, p, kn, first, last, pf);
      case 2: return block<2, NJ>(r0, a, ld, p, kn, first, last, pf);
      default: break;
    }
    if constexpr (kRows >= 3) {
      if (n == 3) return block<3, NJ>(r0, a, ld, p, kn, first, last, pf);
    }
    if constexpr (kRows >= 6) {
      switch (n) {
        case 4: return block<4, NJ>(r0, a, ld, p, kn, first, last, pf);
        case 5: return block<5, NJ>(r0, a, ld, p, kn, first, last, pf);
        case 6: return block<6, NJ>(r0, a, ld, p, kn, first, last, pf);
        default: break;
      }
    }
  }

  void dispatch(int64_t r0, int64_t n, const S* a, int64_t ld, const S* p, int64_t kn, bool first, bool last,
                const char* pf) const {
    switch (nj) {
      case 1: return rows<1>(r0, n, a, ld, p, kn, first, last, pf);
      case 2: return rows<2>(r0, n, a, ld, p, kn, first, last, pf);
      case 3: return rows<3>(r0, n, a, ld, p, kn, first, last, pf);
      default: return rows<4>(r0, n, a, ld, p, kn, first, last, pf);
    }
  }

  void run(int64_t rb0, int64_t rb1) const {
    const int64_t total = K0 + K;
    int64_t k0 = 0;
    do {
      const bool lead = k0 < K0;  // a chunk never straddles the two products
      const int64_t kn = std::min(kChunk, (lead ? K0 : total) - k0);
      const bool first = k0 == 0, last = k0 + kn >= total;
      const S* a = lead ? A0 + k0 : A + (k0 - K0);
      const int64_t ld = lead ? lda0 : lda;
      const S* p = (lead ? P0 + k0 * 4 * L : P + (k0 - K0) * 4 * L);
      // the chunk's row blocks fetch the next chunk into L2, a line per k
      // each, in turn: kn * 4 * L elements = kn * 4 lines of 64 bytes
      const char* next = reinterpret_cast<const char*>(p + kn * 4 * L);
      const int64_t lines = kn * 4 * L * int64_t(sizeof(S)) / 64;
      for (int64_t r = rb0; r < rb1; ++r) {
        const int64_t s = rb.start(r), j = r - rb0;
        const char* pf = j * kn < lines ? next + j * kn * 64 : nullptr;
        dispatch(s, rb.size(r), a + s * ld, ld, p, kn, first, last, pf);
      }
      k0 += kn;
    } while (k0 < total);
  }
};

}  // namespace tile
}  // namespace lstmkit_fused
