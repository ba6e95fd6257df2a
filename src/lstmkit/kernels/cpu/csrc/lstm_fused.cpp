// The plain LSTM's time loop with the recurrent product and the gates fused:
// forward and backward, float32 and float64, one or more threads.
//
// Why a kernel of our own: oneDNN's RNN primitive (torch.nn.LSTM on CPU) runs
// each step's product near the GEMM ceiling and its gate math right after; a
// loop that calls a GEMM per step and then makes a separate pointwise pass
// over the (B, 4H) result pays a call and a round trip through memory per
// step on top. Here one register tile computes, for MR batch rows and the
// L hidden units of one lane block, all four gates' pre-activations
//
//     acc[r][gate] = xp[t, r, block, gate] + sum_k h_{t-1}[r, k] W_hh[gate*H + unit, k]
//
// (the accumulators start from the input projection), and the cell update
// runs on those registers before they are stored: no (B, 4H) intermediate
// exists. The backward pass is the same shape: a tile computes
// dh_{t-1}[rows, units] = dA_t W_hh for four lane blocks and runs the step's
// pointwise derivatives on it, producing dA_{t-1} for those units.
//
// Layout ("interleaved"): the gate axis of xp, of the saved activations and
// of dA is (U, 4, L): unit block, gate (i, f, g, o), lane, with U = Hp / L
// and Hp = H rounded up to the lane count L (16 floats with AVX-512, 8 with
// AVX2). Python permutes W_ih and the bias into that order once per call, so
// the input projection (one large product over all T*B rows) lands there;
// the states are stored (., B, Hp) with zero padding lanes. Padding units
// have zero weights, so their states stay exactly zero.
//
// Weights are re-laid-out once per call into panels the tiles stream:
//   forward  Wf[u][k][gate][l] = W_hh[gate*H + u*L + l, k]            (U, H, 4, L)
//   backward Wb[q][k][j][l]    = W_hh[row(k), (4q + j)*L + l]          (ceil(U/4), 4Hp, 4, L)
// with k the interleaved gate index in the backward panel.
//
// Threads: one OpenMP team for the whole sequence; each step's tiles are
// split in unit-block-major order (each thread keeps its slice of the weights
// in its own cache), and the team meets at one barrier per step.

#include "lstm_fused.h"
#include "threads.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <omp.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace lstmkit_fused {
namespace {

#if defined(__AVX512F__)
constexpr int kVecBytes = 64;
constexpr int kRows = 6;  // 6 rows x 4 panels = 24 accumulators of 32 registers
#elif defined(__AVX__)
constexpr int kVecBytes = 32;
constexpr int kRows = 2;  // 8 accumulators of 16 registers
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
template <typename v, typename S>
inline v splat(S s) {  // s - 0 is s for every s (0 + s is not, for s = -0: that would cost an add)
  return s - v{};
}

// float: exp by Cephes' polynomial on [-ln2/2, ln2/2] and an exponent built
// from the rounded multiple of ln 2 (relative error ~1e-7), in vector lanes.
// The clamp keeps the exponent in the normal range (exp(-87) ~ 1.6e-38,
// exp(88) ~ 1.65e38), so sigmoid and tanh saturate cleanly; NaN passes.
using vf = Vec<float>::v;
using vfi = Vec<float>::vi;
__attribute__((always_inline)) inline vf exp_v(vf x) {
  const vf hi = splat<vf>(88.0f), lo = splat<vf>(-87.0f);
  x = x > hi ? hi : x;
  x = x < lo ? lo : x;
  const vf magic = splat<vf>(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  vf fx = (x * 1.44269504088896341f + magic) - magic;
  x = x - fx * 0.693359375f + fx * 2.12194440e-4f;
  const vf z = x * x;
  vf y = splat<vf>(1.9875691500E-4f);
  y = y * x + 1.3981999507E-3f;
  y = y * x + 8.3334519073E-3f;
  y = y * x + 4.1665795894E-2f;
  y = y * x + 1.6666665459E-1f;
  y = y * x + 5.0000001201E-1f;
  y = y * z + x + 1.0f;
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
// against one packed panel of 4 lane vectors per k.
template <typename S, int MR>
inline void panel_mm(int64_t K, const S* __restrict A, int64_t lda, const S* __restrict P,
                     typename Vec<S>::v (&acc)[MR][4]) {
  using v = typename Vec<S>::v;
  constexpr int L = Vec<S>::L;
  for (int64_t k = 0; k < K; ++k) {
    const S* w = P + k * 4 * L;
    const v w0 = vload<v>(w), w1 = vload<v>(w + L), w2 = vload<v>(w + 2 * L), w3 = vload<v>(w + 3 * L);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const v a = splat<v>(A[r * lda + k]);
      acc[r][0] += a * w0;
      acc[r][1] += a * w1;
      acc[r][2] += a * w2;
      acc[r][3] += a * w3;
    }
  }
}

// the time this thread has stood at barriers in the current team
thread_local int64_t tl_waited = 0;

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
  explicit RowBlocks(int64_t B) : n((B + kRows - 1) / kRows), base(B / n), extra(B % n) {}
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

int requested_threads() { return lstmkit_threads::loop_threads(); }

// K is walked in chunks whose slice of the panel (kc x 4 vectors) stays in L1
// while every row block of the item uses it: the panel then comes from L2 (or
// L3) once per step, not once per row block.
constexpr int64_t kChunk = 16384 / (4 * kVecBytes);

// The product acc[r][j] = init + A[rows] P over K for row blocks [rb0, rb1),
// then kern.finish on each block. kern provides
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

  template <int MR>
  void block(int64_t r0, int64_t k0, int64_t kn, bool first, bool last) const {
    v acc[MR][4];
    if (first) {
      kern.template init<MR>(r0, acc);
    } else {
      for (int r = 0; r < MR; ++r)
        for (int j = 0; j < 4; ++j) acc[r][j] = part[(r0 + r) * 4 + j];
    }
    if (kn > 0) panel_mm<S, MR>(kn, A + r0 * lda + k0, lda, P + k0 * 4 * L, acc);
    if (last) {
      kern.template finish<MR>(r0, acc);
    } else {
      for (int r = 0; r < MR; ++r)
        for (int j = 0; j < 4; ++j) part[(r0 + r) * 4 + j] = acc[r][j];
    }
  }

  void dispatch(int64_t r0, int64_t n, int64_t k0, int64_t kn, bool first, bool last) const {
    switch (n) {
      case 1: return block<1>(r0, k0, kn, first, last);
      case 2: return block<2>(r0, k0, kn, first, last);
      default: break;
    }
    if constexpr (kRows >= 6) {
      switch (n) {
        case 3: return block<3>(r0, k0, kn, first, last);
        case 4: return block<4>(r0, k0, kn, first, last);
        case 5: return block<5>(r0, k0, kn, first, last);
        case 6: return block<6>(r0, k0, kn, first, last);
        default: break;
      }
    }
  }

  void run(int64_t rb0, int64_t rb1) const {
    int64_t k0 = 0;
    do {
      const int64_t kn = std::min(kChunk, K - k0);
      const bool first = k0 == 0, last = k0 + kn >= K;
      for (int64_t r = rb0; r < rb1; ++r) dispatch(rb.start(r), rb.size(r), k0, kn, first, last);
      k0 += kn;
    } while (k0 < K);
  }
};

// ------------------------------------------------------------------ forward
template <typename S>
struct Fwd {
  using v = typename Vec<S>::v;
  static constexpr int L = Vec<S>::L;
  int64_t T, B, H, Hp, U;
  const S* X;    // (T, B, U, 4, L)
  const S* Wf;   // (U, H, 4, L)
  const S* Vm;   // (T, B) or null
  const S* H0;   // (B, Hp): h_0
  S* HS;         // (T, B, Hp): h_1 .. h_T
  S* CS;         // (T+1 or 2, B, Hp)
  S* GA;         // (T, B, U, 4, L) or null
  bool save;

  // one step, one unit block: the accumulators start from the input projection
  struct Step {
    const Fwd& f;
    int64_t t, u;
    template <int MR>
    void init(int64_t r0, v (&acc)[MR][4]) const {
      for (int r = 0; r < MR; ++r) {
        const S* x = f.X + ((t * f.B + r0 + r) * f.U + u) * 4 * L;
        for (int j = 0; j < 4; ++j) acc[r][j] = vload<v>(x + j * L);
      }
    }
    template <int MR>
    void finish(int64_t r0, v (&acc)[MR][4]) const {
      const int64_t B = f.B, Hp = f.Hp;
      const S* hprev = t == 0 ? f.H0 : f.HS + (t - 1) * B * Hp;
      S* hnext = f.HS + t * B * Hp;
      const S* cprev = f.CS + (f.save ? t : (t & 1)) * B * Hp;
      S* cnext = f.CS + (f.save ? t + 1 : ((t + 1) & 1)) * B * Hp;
      for (int r = 0; r < MR; ++r) {
        const int64_t b = r0 + r;
        const int64_t off = b * Hp + u * L;
        const v i = sigm_v(acc[r][0]), fg = sigm_v(acc[r][1]), g = tanh_v(acc[r][2]), o = sigm_v(acc[r][3]);
        if (f.GA) {
          S* ga = f.GA + ((t * B + b) * f.U + u) * 4 * L;
          vstore(ga, i);
          vstore(ga + L, fg);
          vstore(ga + 2 * L, g);
          vstore(ga + 3 * L, o);
        }
        const v cp = vload<v>(cprev + off);
        const S m = f.Vm ? f.Vm[t * B + b] : S(1);
        if (m == S(0)) {  // padding: the state is kept
          vstore(cnext + off, cp);
          vstore(hnext + off, vload<v>(hprev + off));
          continue;
        }
        const v c = fg * cp + i * g;
        vstore(cnext + off, c);
        vstore(hnext + off, o * tanh_v(c));
      }
    }
  };
};

template <typename S>
std::vector<at::Tensor> forward_impl(const at::Tensor& xp, const at::Tensor& h0, const at::Tensor& c0,
                                     const at::Tensor& whh, const std::optional<at::Tensor>& valid, bool save) {
  using v = typename Vec<S>::v;
  constexpr int L = Vec<S>::L;
  const int64_t T = xp.size(0), B = xp.size(1), H = whh.size(1), Hp = (H + L - 1) / L * L, U = Hp / L;
  TORCH_CHECK(xp.size(2) == 4 * Hp, "lstm_fused_forward: expected xp of width 4*Hp=", 4 * Hp, ", got ",
              xp.size(2));
  auto opt = xp.options();
  at::Tensor wf = pack_forward(whh, L);
  at::Tensor hseq = Hp == H ? at::empty({T, B, Hp}, opt) : at::zeros({T, B, Hp}, opt);
  at::Tensor cseq = Hp == H ? at::empty({save ? T + 1 : 2, B, Hp}, opt) : at::zeros({save ? T + 1 : 2, B, Hp}, opt);
  at::Tensor h0p = Hp == H ? h0.contiguous() : at::constant_pad_nd(h0, {0, Hp - H}).contiguous();
  cseq[0].narrow(1, 0, H).copy_(c0);
  at::Tensor gates = save ? at::empty({T, B, 4 * Hp}, opt) : at::Tensor();
  at::Tensor vmask = (valid.has_value() && valid->defined()) ? valid->contiguous() : at::Tensor();
  const Fwd<S> k{T, B, H, Hp, U, xp.data_ptr<S>(), wf.data_ptr<S>(),
                 vmask.defined() ? vmask.data_ptr<S>() : nullptr, h0p.data_ptr<S>(), hseq.data_ptr<S>(), cseq.data_ptr<S>(),
                 save ? gates.data_ptr<S>() : nullptr, save};
  const RowBlocks rb(B);
  const Work work(U, rb, requested_threads());
  at::Tensor part = at::empty({work.nt, B * 4 * L}, opt);
  Meeting meet(work.nt);
  team(work.nt, [&](int tid, int nt) {
    int64_t i0, i1;
    work.range(tid, i0, i1);
    bool alone = false;
    v* pt = reinterpret_cast<v*>(part.data_ptr<S>() + tid * B * 4 * L);
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t i = i0; i < i1; ++i) {
        int64_t u, r0, r1;
        work.item(i, u, r0, r1);
        const typename Fwd<S>::Step step{k, t, u};
        const S* hprev = t == 0 ? k.H0 : k.HS + (t - 1) * B * Hp;
        const Panel<S, typename Fwd<S>::Step> p{step, rb, H, hprev, Hp, k.Wf + u * H * 4 * L, pt};
        p.run(r0, r1);
      }
      if (!meet.end_step(t, tid, alone)) return;
      if (alone) work.all(i0, i1);
    }
  });
  at::Tensor hT = T > 0 ? hseq[T - 1].clone() : h0p.clone();
  at::Tensor cT = cseq[save ? T : (T & 1)].clone();
  return {hseq, hT, cT, save ? gates : at::Tensor(), save ? cseq : at::Tensor()};
}

// ----------------------------------------------------------------- backward
template <typename S>
struct Bwd {
  using v = typename Vec<S>::v;
  static constexpr int L = Vec<S>::L;
  int64_t T, B, H, Hp, U;
  const S* DO;   // (T, B, Hp): gradient reaching h_1 .. h_T from the outputs (h_T's own is in GH at the start)
  const S* GA;   // (T, B, U, 4, L) activations
  const S* CS;   // (T+1, B, Hp)
  const S* Wb;   // (NQ, 4Hp, 4, L)
  const S* Vm;   // (T, B) or null
  S* DA;         // (T, B, U, 4, L)
  S* GH;         // (B, Hp): gradient carried to h_{t-1} past the product (padding keeps h)
  S* GC;         // (B, Hp): gradient reaching c_t from step t+1
  S* DH0;        // (B, Hp)

  // the pointwise backward of step t for row b, unit block u, given the
  // product's share prod = (dA_{t+1} W_hh)[b, block u]
  inline void point(int64_t t, int64_t b, int64_t u, const v& prod) const {
    const int64_t off = b * Hp + u * L;
    const v tot = prod + vload<v>(GH + off) + vload<v>(DO + t * B * Hp + off);
    S* da = DA + ((t * B + b) * U + u) * 4 * L;
    const S m = Vm ? Vm[t * B + b] : S(1);
    if (m == S(0)) {  // padding: both gradients pass to the previous state untouched
      vstore(GH + off, tot);
      const v z = v{};
      vstore(da, z);
      vstore(da + L, z);
      vstore(da + 2 * L, z);
      vstore(da + 3 * L, z);
      return;
    }
    const S* ga = GA + ((t * B + b) * U + u) * 4 * L;
    const v i = vload<v>(ga), f = vload<v>(ga + L), g = vload<v>(ga + 2 * L), o = vload<v>(ga + 3 * L);
    const v cn = vload<v>(CS + (t + 1) * B * Hp + off), cp = vload<v>(CS + t * B * Hp + off);
    const v th = tanh_v(cn);
    const v one = splat<v>(S(1));
    const v dc = vload<v>(GC + off) + tot * o * (one - th * th);
    vstore(da, dc * g * i * (one - i));
    vstore(da + L, dc * cp * f * (one - f));
    vstore(da + 2 * L, dc * i * (one - g * g));
    vstore(da + 3 * L, tot * th * o * (one - o));
    vstore(GC + off, dc * f);
    vstore(GH + off, v{});
  }

  // step t's pointwise for unit blocks 4q..4q+3 after the product with
  // dA_{t+1} (none at t = T-1); t = -1 writes dh_0
  struct Step {
    const Bwd& w;
    int64_t t, q;
    template <int MR>
    void init(int64_t, v (&acc)[MR][4]) const {
      for (int r = 0; r < MR; ++r)
        for (int j = 0; j < 4; ++j) acc[r][j] = v{};
    }
    template <int MR>
    void finish(int64_t r0, v (&acc)[MR][4]) const {
      for (int r = 0; r < MR; ++r) {
        for (int j = 0; j < 4; ++j) {
          const int64_t u = 4 * q + j;
          if (u >= w.U) break;
          const int64_t b = r0 + r;
          if (t >= 0) {
            w.point(t, b, u, acc[r][j]);
          } else {
            const int64_t off = b * w.Hp + u * L;
            vstore(w.DH0 + off, acc[r][j] + vload<v>(w.GH + off));
          }
        }
      }
    }
  };
};

template <typename S>
std::vector<at::Tensor> backward_impl(const at::Tensor& dout, const at::Tensor& dhT, const at::Tensor& dcT,
                                      const at::Tensor& gates,
                                      const at::Tensor& cseq, const at::Tensor& whh,
                                      const std::optional<at::Tensor>& valid, bool need_dh0) {
  using v = typename Vec<S>::v;
  constexpr int L = Vec<S>::L;
  const int64_t T = gates.size(0), B = gates.size(1), H = whh.size(1), Hp = (H + L - 1) / L * L, U = Hp / L;
  const int64_t NQ = (U + 3) / 4, K = 4 * Hp;
  auto opt = gates.options();
  at::Tensor wb = pack_backward(whh, L);
  at::Tensor dA = at::empty({T, B, 4 * Hp}, opt);
  at::Tensor gH = dhT.contiguous().clone();
  at::Tensor gC = dcT.contiguous().clone();
  at::Tensor dh0 = at::zeros({B, Hp}, opt);
  at::Tensor dh = dout.contiguous();
  at::Tensor vmask = (valid.has_value() && valid->defined()) ? valid->contiguous() : at::Tensor();
  const Bwd<S> k{T, B, H, Hp, U, dh.data_ptr<S>(), gates.data_ptr<S>(), cseq.data_ptr<S>(), wb.data_ptr<S>(),
                 vmask.defined() ? vmask.data_ptr<S>() : nullptr, dA.data_ptr<S>(), gH.data_ptr<S>(),
                 gC.data_ptr<S>(), dh0.data_ptr<S>()};
  const RowBlocks rb(B);
  const Work work(NQ, rb, requested_threads());
  at::Tensor part = at::empty({work.nt, B * 4 * L}, opt);
  const int64_t tlast = need_dh0 ? -1 : 0;
  Meeting meet(work.nt);
  team(work.nt, [&](int tid, int nt) {
    int64_t i0, i1;
    work.range(tid, i0, i1);
    bool alone = false;
    v* pt = reinterpret_cast<v*>(part.data_ptr<S>() + tid * B * 4 * L);
    for (int64_t t = T - 1; t >= tlast; --t) {
      const bool product = t < T - 1;
      for (int64_t i = i0; i < i1; ++i) {
        int64_t q, r0, r1;
        work.item(i, q, r0, r1);
        const typename Bwd<S>::Step step{k, t, q};
        const Panel<S, typename Bwd<S>::Step> p{step, rb, product ? K : 0, k.DA + (t + 1) * B * K, K,
                                                k.Wb + q * K * 4 * L, pt};
        p.run(r0, r1);
      }
      if (!meet.end_step(T - 1 - t, tid, alone)) return;
      if (alone) work.all(i0, i1);
    }
  });
  return {dA, dh0, gC};
}

}  // namespace

int64_t lane_width(at::ScalarType dtype) {
  return dtype == at::kDouble ? Vec<double>::L : Vec<float>::L;
}

at::Tensor pack_forward(const at::Tensor& whh, int64_t L) {
  // (4H, H) -> (U, H, 4, L): Wf[u][k][gate][l] = W[gate*H + u*L + l, k]
  const int64_t H = whh.size(1), Hp = (H + L - 1) / L * L, U = Hp / L;
  at::Tensor w = whh.contiguous().view({4, H, H});
  if (Hp != H) w = at::constant_pad_nd(w, {0, 0, 0, Hp - H});  // (4, Hp, H)
  return w.view({4, U, L, H}).permute({1, 3, 0, 2}).contiguous();
}

at::Tensor pack_backward(const at::Tensor& whh, int64_t L) {
  // (4H, H) -> (NQ, 4Hp, 4, L): Wb[q][k][j][l] = W[row(k), (4q + j)*L + l], k interleaved (u, gate, lane)
  const int64_t H = whh.size(1), Hp = (H + L - 1) / L * L, U = Hp / L, NQ = (U + 3) / 4;
  at::Tensor w = whh.contiguous().view({4, H, H});
  w = at::constant_pad_nd(w, {0, NQ * 4 * L - H, 0, Hp - H});           // (4, Hp, 4*NQ*L)
  w = w.view({4, U, L, NQ, 4, L}).permute({3, 1, 0, 2, 4, 5});           // (NQ, U, gate, lane, j, l)
  return w.contiguous().view({NQ, 4 * Hp, 4, L});
}

std::vector<at::Tensor> forward(const at::Tensor& xp, const at::Tensor& h0, const at::Tensor& c0,
                                const at::Tensor& whh, const std::optional<at::Tensor>& valid, bool save) {
  TORCH_CHECK(xp.is_contiguous() && xp.dim() == 3, "lstm_fused_forward: xp must be a contiguous (T, B, 4Hp) tensor");
  return AT_DISPATCH_FLOATING_TYPES(xp.scalar_type(), "lstm_fused_forward",
                                    [&] { return forward_impl<scalar_t>(xp, h0, c0, whh, valid, save); });
}

std::vector<at::Tensor> backward(const at::Tensor& dout, const at::Tensor& dhT, const at::Tensor& dcT,
                                 const at::Tensor& gates, const at::Tensor& cseq, const at::Tensor& whh,
                                 const std::optional<at::Tensor>& valid, bool need_dh0) {
  TORCH_CHECK(gates.is_contiguous() && cseq.is_contiguous(), "lstm_fused_backward: saved tensors must be contiguous");
  return AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "lstm_fused_backward", [&] {
    return backward_impl<scalar_t>(dout, dhT, dcT, gates, cseq, whh, valid, need_dh0);
  });
}

}  // namespace lstmkit_fused
