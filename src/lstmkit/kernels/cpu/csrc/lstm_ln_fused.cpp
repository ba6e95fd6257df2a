// The layer-norm LSTM's time loop on the register tile of the plain fused
// loop (fused_tile.h): forward and backward, float32 and float64, one or more
// threads.
//
//   A_t = gamma_ih * xn_t + gamma_hh * rn_t + beta,  xn_t = LN(xp_t), rn_t = LN(h_{t-1} W_hh^T)
//   i, f, o = sigmoid, g = tanh;  c_t = f c_{t-1} + i g
//   h_t = o * tanh(gamma_c * yn_t + beta_c),  yn_t = LN(c_t)
//
// with LN the normalisation without affine and beta = beta_ih + beta_hh +
// b_ih + b_hh (one vector: its gradient is each part's). The layer norms of
// a step need a whole batch row (all 4H products, all H cells), so a step is
// two phases (a thread runs both for its own rows when there are enough rows,
// else the phases are shared differently with a barrier after each; Share):
//
//   1. the raw recurrent product r = h_{t-1} W_hh^T in the plain loop's tiles
//      (panels packed once per call, MR rows x 4 lane vectors, K chunked for
//      L1), stored to a (B, 4H) step buffer in the interleaved gate order;
//   2. per batch row (rows split over the team): the statistics of xp_t and
//      r, the gates, c_t, the statistics of c_t and h_t, in vector lanes;
//      with save the normalised r (rn) and, where the tile computed it, the
//      raw input projection are kept for the backward with the activations,
//      c_t and five row statistics: written here, from the step buffers,
//      past the caches where they outgrow the L3 (stream_saved), since only
//      the backward reads them.
//
// The backward mirrors it: (1) dh_t = dR_{t+1} W_hh with the backward panels
// (added to the gradient carried into h_t), then (2) per row the LN_c
// backward, the gate derivatives dA, and both projections' norm backwards
// (dR for the recurrent product, dX for the input projection); the gains'
// and biases' gradients are summed per thread in the same pass. The input
// side's norm runs here rather than as an F.layer_norm over all steps
// because its backward then costs a few operations on a row already in
// cache; torch's layer_norm backward was as slow as the whole loop at small
// hidden sizes. dW_hh = sum_t dR_t^T h_{t-1} is one product afterwards
// (kernels/cpu/ops.py).
//
// Layout: interleaved as in lstm_fused.cpp (unit block u, gate, lane), with
// H a multiple of the lane width L, so there are no padding units and the
// row statistics over the interleaved 4H equal those in torch's order. The
// states (., B, H) keep torch's unit order.

#include "lstm_ln_fused.h"

#include <ATen/Dispatch.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>

#include <type_traits>

#include "fused_tile.h"
#include "lstm_fused.h"

namespace lstmkit_ln_fused {
namespace {

using namespace lstmkit_fused::tile;

// the sum of a vector's lanes (a shuffle tree with AVX-512, not L dependent adds)
template <typename S>
inline S hsum(const typename Vec<S>::v& x) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<S, float>) {
    __m512 m;
    std::memcpy(&m, &x, sizeof m);
    return _mm512_reduce_add_ps(m);
  } else {
    __m512d m;
    std::memcpy(&m, &x, sizeof m);
    return _mm512_reduce_add_pd(m);
  }
#else
  S s = 0;
  for (int l = 0; l < Vec<S>::L; ++l) s += x[l];
  return s;
#endif
}

// 1 / sqrt(var + eps) in the data's precision (as F.layer_norm)
template <typename S>
inline S inv_std(S var, double eps) {
  return S(1) / std::sqrt(var + S(eps));
}

// How the team shares a step. Batch rows are independent (row b's step
// needs only row b of the previous one), so when every thread can have a row
// block of its own, each thread runs the product for all panels and the row
// phase on its own rows: no barrier at all, and a busy machine that
// deschedules one thread does not stall the other at every step. With fewer
// row blocks than threads the product is shared by panels as in the plain
// loop (Work), the row phase by rows, with a barrier after each phase.
struct Share {
  const RowBlocks& rb;
  Work work;
  bool by_rows;
  int nt;
  Share(int64_t panels, const RowBlocks& rb_, int want)
      : rb(rb_), work(panels, rb_, want), by_rows(want > 1 && rb_.n >= want), nt(by_rows ? want : work.nt) {}

  // thread tid's rows [b0, b1) in the row phase
  void rows(int tid, int n, int64_t& b0, int64_t& b1) const {
    if (by_rows) {
      int64_t q0, q1;
      row_share(rb, tid, n, q0, q1);
      b0 = rb.start(q0);
      b1 = rb.start(q1);
    } else {  // on even rows, so that thread 0 carrying on alone pairs rows as the team did
      const int64_t B = rb.start(rb.n);
      b0 = (B * tid / n) & ~int64_t(1);
      b1 = tid + 1 == n ? B : (B * (tid + 1) / n) & ~int64_t(1);
    }
  }
  // thread tid's share of the product: run(panel, first row block, end row
  // block); all of it for a thread carrying on alone (Meeting)
  template <typename F>
  void product(int tid, int n, bool alone, const F& run) const {
    if (alone) {
      for (int64_t p = 0; p < work.panels; ++p) run(p, 0, rb.n);
      return;
    }
    if (by_rows) {
      int64_t q0, q1;
      row_share(rb, tid, n, q0, q1);
      for (int64_t p = 0; p < work.panels; ++p) run(p, q0, q1);
      return;
    }
    int64_t i0, i1;
    work.range(tid, i0, i1);
    for (int64_t i = i0; i < i1; ++i) {
      int64_t p, r0, r1;
      work.item(i, p, r0, r1);
      run(p, r0, r1);
    }
  }
  // the barrier between the phases (none by rows, nor for a thread alone)
  void sync(int n, bool alone) const {
    if (!by_rows && !alone) barrier(n);
  }
  // the end of step s (counted from 0): with barriers, the team's meeting,
  // which may hand the rest of the call to thread 0 (then its rows are all
  // rows); false: the calling thread leaves
  bool end_step(Meeting& meet, int64_t s, int tid, bool& alone, int64_t& b0, int64_t& b1) const {
    if (by_rows) return true;
    if (!meet.end_step(s, tid, alone)) return false;
    if (alone) {
      b0 = 0;
      b1 = rb.start(rb.n);
    }
    return true;
  }
};

// ------------------------------------------------------------------ forward
template <typename S>
struct Fwd {
  using v = typename Vec<S>::v;
  static constexpr int L = Vec<S>::L;
  int64_t T, B, H, U;
  S* X;          // (T, B, U, 4, L): the raw input projection; where the tile computes it (XI),
                 // the copy saved for the backward (null without save)
  const S* Wf;   // (U, H, 4, L)
  const S* Vm;   // (T, B) or null
  const S* H0;   // (B, H)
  S* HS;         // (T, B, H): h_1 .. h_T
  S* CS;         // (T+1 or 2, B, H)
  S* R;          // (T, B, U, 4, L): r normalised, saved for the backward (null without save)
  S* RT;         // (B, U, 4, L): the step's raw r, as the tile stores it
  S* XT;         // (B, U, 4, L): the step's raw input projection, as the tile stores it (XI only)
  S* GA;         // (T, B, U, 4, L) or null
  S* ST;         // (T, B, 5) or null
  const S *gih, *ghh, *beta, *gc, *bc;
  double eps;
  bool save;
  // whether the saved values go past the caches (stream_saved)
  bool stream = false;
  // the input side computed in the tile: x (T, B, I), W_ih packed (U, I, 4, L); else null
  int64_t I = 0;
  const S* XI = nullptr;
  const S* WI = nullptr;
  // (B, 2, 3, L): per row, the running sums of the current step's recurrent
  // product (side 0) and input projection (side 1), gathered as the tiles
  // store them (Prod::sums): shift, sum and sum of squares per lane
  S* RS = nullptr;

  // row b of the step's raw r and of step t's raw input projection (the step's buffer where the
  // tile computes it); and where phase 2 saves them (rn, and x where the tile computed it), else null
  S* rrow(int64_t, int64_t b) const { return RT + b * 4 * H; }
  S* xrow(int64_t t, int64_t b) const { return XI ? XT + b * 4 * H : X + (t * B + b) * 4 * H; }
  S* rkeep(int64_t t, int64_t b) const { return save ? R + (t * B + b) * 4 * H : nullptr; }
  S* xkeep(int64_t t, int64_t b) const { return save && XI ? X + (t * B + b) * 4 * H : nullptr; }
  // a saved vector: past the caches where the saved values outgrow them
  void keep(S* p, const v& x) const {
    if (stream)
      vstream(p, x);
    else
      vstore(p, x);
  }
  // row b of h_{t-1} (h_0 at t = 0) and of h_t
  const S* h_in(int64_t t, int64_t b) const { return (t == 0 ? H0 : HS + (t - 1) * B * H) + b * H; }
  S* h_out(int64_t t, int64_t b) const { return HS + (t * B + b) * H; }
  // row b of c_s: every step kept with save, else two alternating slots
  S* cell(int64_t s, int64_t b) const { return CS + ((save ? s : (s & 1)) * B + b) * H; }

  // phase 1: r = h_{t-1} W_hh^T for unit block u
  // (input: x_t W_ih^T into the input projection's row instead)
  struct Prod {
    const Fwd& f;
    int64_t t, u;
    bool input = false;
    // whether the tile also gathers its rows' statistics (sums): only where
    // one thread stores every unit block of a row, in order (Fwd::gathers)
    bool sums = false;
    template <int MR>
    void init(int64_t, v (&acc)[MR][4]) const {
      zero_tile(acc);
    }
    template <int MR>
    void finish(int64_t r0, v (&acc)[MR][4]) const {
      for (int r = 0; r < MR; ++r) {
        S* p = (input ? f.xrow(t, r0 + r) : f.rrow(t, r0 + r)) + u * 4 * L;
        for (int j = 0; j < 4; ++j) vstore(p + j * L, acc[r][j]);
        if (sums) f.gather(r0 + r, input, u, acc[r]);
      }
    }
  };

  // The row's statistics as its unit blocks are stored, u = 0, 1, ... in
  // turn: the same values, shift and order as stats() reading the stored
  // row afterwards (lane l of the shift is the row's first value of lane
  // l), so the same sums and bits; a pass over the row less per side and
  // step. Training T100 B64 H256: 123-129 -> 117 ms on 1 thread, 61-64 ->
  // 59 ms on 2; at H = 64 (rows of 16 vectors) 1-3 %: there the rows'
  // moments (horizontal sums, the square root) cost more than the pass
  // (benchmarks/RESULTS.md).
  void gather(int64_t b, bool input, int64_t u, const v (&vals)[4]) const {
    S* st = RS + (b * 2 + (input ? 1 : 0)) * 3 * L;
    v k0, s1{}, s2{};
    if (u == 0) {
      k0 = vals[0];
      vstore(st, k0);
    } else {
      k0 = vload<v>(st);
      s1 = vload<v>(st + L);
      s2 = vload<v>(st + 2 * L);
    }
    for (int j = 0; j < 4; ++j) add_shifted(vals[j], k0, s1, s2);
    vstore(st + L, s1);
    vstore(st + 2 * L, s2);
  }

  // one vector of a row into its shifted sums: the step stats() and gather()
  // share, so that both give the same bits
  static void add_shifted(const v& x, const v& k0, v& s1, v& s2) {
    const v d = x - k0;
    s1 += d;
    s2 = fmadd(d, d, s2);  // one rounding in every caller (fmadd)
  }

  // whether a thread's product this step stores every unit block of its
  // rows in order (one thread, or the team split by rows): then the tiles
  // gather the rows' statistics (gather), else the row phase reads them
  bool gathers(const Share& share, int nt, bool alone) const { return RS && (share.by_rows || nt == 1 || alone); }

  // mean and 1/std of n values (biased variance, as F.layer_norm) of each
  // of NR rows p[0..NR) in one pass over the values shifted by each row's
  // first lanes: with the shift inside the values' range the sum of squares
  // does not cancel. The rows' chains are independent, so one loop over them
  // all keeps the vector units busy where one row's adds wait on each other.
  template <int NR>
  void stats(const S* const (&p)[NR], int64_t n, S (&mean)[NR], S (&rstd)[NR]) const {
    v k0[NR], s1[NR], s2[NR];
    for (int q = 0; q < NR; ++q) {
      k0[q] = vload<v>(p[q]);
      s1[q] = s2[q] = v{};
    }
    for (int64_t k = 0; k < n; k += L) {
#pragma GCC unroll 4
      for (int q = 0; q < NR; ++q) add_shifted(vload<v>(p[q] + k), k0[q], s1[q], s2[q]);
    }
    for (int q = 0; q < NR; ++q) moments(k0[q], s1[q], s2[q], n, mean[q], rstd[q]);
  }

  // mean and 1/std from a row's shift k0 and its per-lane sums of (x - k0)
  // and (x - k0)^2 over the n/L values of each lane
  void moments(const v& k0, const v& s1, const v& s2, int64_t n, S& mean, S& rstd) const {
    const S m = S(n / L);
    v lm = s1 / m;                  // lane means minus the shift
    const v lq = s2 - s1 * lm;      // lane sums of squared deviations
    lm += k0;                       // lane means
    mean = hsum<S>(lm) / S(L);
    const v dm = lm - mean;
    rstd = inv_std<S>((hsum<S>(lq) + m * hsum<S>(dm * dm)) / S(n), eps);
  }

  // NR rows' statistics of one side gathered by the tiles (gather)
  template <int NR>
  void gathered(int64_t b, bool input, S (&mean)[NR], S (&rstd)[NR]) const {
    for (int q = 0; q < NR; ++q) {
      const S* st = RS + ((b + q) * 2 + (input ? 1 : 0)) * 3 * L;
      moments(vload<v>(st), vload<v>(st + L), vload<v>(st + 2 * L), 4 * H, mean[q], rstd[q]);
    }
  }

  // phase 2: the rest of step t for NR rows from b, none of them padding
  // (each row's arithmetic is written the same whatever NR: NR > 1 only
  // interleaves the rows' dependency chains; the compiled code may still
  // round differently, see row_range)
  template <int NR>
  void rows(int64_t t, int64_t b, bool rsums, bool xsums) const {
    const int64_t G = 4 * H;
    const S* hprev[NR];
    S* hnext[NR];
    const S* cprev[NR];
    S* cnext[NR];
    const S* r[NR];
    S* rk[NR];
    const S* x[NR];
    S* xk[NR];
    S* ga[NR];
    for (int q = 0; q < NR; ++q) {
      hprev[q] = h_in(t, b + q);
      hnext[q] = h_out(t, b + q);
      cprev[q] = cell(t, b + q);
      cnext[q] = cell(t + 1, b + q);
      r[q] = rrow(t, b + q);
      rk[q] = rkeep(t, b + q);
      x[q] = xrow(t, b + q);
      xk[q] = xkeep(t, b + q);
      ga[q] = GA ? GA + (t * B + b + q) * G : nullptr;
    }
    S mean[NR], rstd[NR], xmean[NR], xrstd[NR];
    if (rsums)
      gathered<NR>(b, false, mean, rstd);
    else
      stats<NR>(r, G, mean, rstd);
    if (xsums)
      gathered<NR>(b, true, xmean, xrstd);
    else
      stats<NR>(x, G, xmean, xrstd);
    v csum[NR];
    for (int q = 0; q < NR; ++q) csum[q] = v{};
    for (int64_t u = 0; u < U; ++u) {
      const int64_t k = u * 4 * L;
#pragma GCC unroll 4
      for (int q = 0; q < NR; ++q) {
        v a[4];
        for (int j = 0; j < 4; ++j) {
          const int64_t kj = k + j * L;
          const v rn = (vload<v>(r[q] + kj) - mean[q]) * rstd[q];
          if (save) keep(rk[q] + kj, rn);
          const v xv = vload<v>(x[q] + kj);
          if (xk[q]) keep(xk[q] + kj, xv);
          const v xn = (xv - xmean[q]) * xrstd[q];
          a[j] = vload<v>(gih + kj) * xn + vload<v>(ghh + kj) * rn + vload<v>(beta + kj);
        }
        const v i = sigm_v(a[0]), fg = sigm_v(a[1]), g = tanh_v(a[2]), o = sigm_v(a[3]);
        if (ga[q]) {
          keep(ga[q] + k, i);
          keep(ga[q] + k + L, fg);
          keep(ga[q] + k + 2 * L, g);
          keep(ga[q] + k + 3 * L, o);
        }
        const v c = fg * vload<v>(cprev[q] + u * L) + i * g;
        vstore(cnext[q] + u * L, c);
        vstore(hnext[q] + u * L, o);  // o until the cell's statistics are known
        csum[q] += c;
      }
    }
    S cmean[NR], crstd[NR];
    v acc[NR];
    for (int q = 0; q < NR; ++q) {
      cmean[q] = hsum<S>(csum[q]) / S(H);
      acc[q] = v{};
    }
    for (int64_t k = 0; k < H; k += L) {
#pragma GCC unroll 4
      for (int q = 0; q < NR; ++q) {
        const v d = vload<v>(cnext[q] + k) - cmean[q];
        acc[q] += d * d;
      }
    }
    for (int q = 0; q < NR; ++q) crstd[q] = inv_std<S>(hsum<S>(acc[q]) / S(H), eps);
    for (int64_t k = 0; k < H; k += L) {
#pragma GCC unroll 4
      for (int q = 0; q < NR; ++q) {
        const v y = (vload<v>(cnext[q] + k) - cmean[q]) * crstd[q];
        vstore(hnext[q] + k, vload<v>(hnext[q] + k) * tanh_v(vload<v>(gc + k) * y + vload<v>(bc + k)));
      }
    }
    if (ST) {
      for (int q = 0; q < NR; ++q) {
        S* st = ST + (t * B + b + q) * 5;
        st[0] = rstd[q];
        st[1] = cmean[q];
        st[2] = crstd[q];
        st[3] = xmean[q];
        st[4] = xrstd[q];
      }
    }
  }

  bool padding(int64_t t, int64_t b) const { return Vm && Vm[t * B + b] == S(0); }

  // phase 2 for rows [b0, b1): two at a time where neither is padding.
  // Pairs are rows 2j and 2j + 1 only: the compiler may contract the two
  // instantiations' arithmetic differently (seen with AVX2 in float64, 1e-15
  // apart), so a row's bits must not depend on where a thread's range starts
  // (Share::rows keeps the team's ranges on even rows).
  // (rsums, xsums: the recurrent / input side's statistics were gathered by the tiles)
  void row_range(int64_t t, int64_t b0, int64_t b1, bool rsums, bool xsums) const {
    int64_t b = b0;
    for (; b < b1; ++b) {
      if (padding(t, b)) {  // the state is kept
        std::memcpy(cell(t + 1, b), cell(t, b), H * sizeof(S));
        std::memcpy(h_out(t, b), h_in(t, b), H * sizeof(S));
      } else if ((b & 1) == 0 && b + 1 < b1 && !padding(t, b + 1)) {
        rows<2>(t, b, rsums, xsums);
        ++b;
      } else {
        rows<1>(t, b, rsums, xsums);
      }
    }
  }
};

template <typename S>
std::vector<at::Tensor> forward_impl(const at::Tensor& xin, const at::Tensor& h0, const at::Tensor& c0,
                                     const at::Tensor& whh, const at::Tensor& gih, const at::Tensor& ghh,
                                     const at::Tensor& beta, const at::Tensor& gc, const at::Tensor& bc,
                                     const std::optional<at::Tensor>& valid, double eps, bool save,
                                     const at::Tensor& wih) {
  using v = typename Vec<S>::v;
  constexpr int L = Vec<S>::L;
  const bool tile_x = wih.defined();
  const int64_t T = xin.size(0), B = xin.size(1), H = whh.size(1), U = H / L, G = 4 * H;
  TORCH_CHECK(H % L == 0, "lstm_ln_fused_forward: hidden size ", H, " is not a multiple of the lane width ", L);
  const int64_t width = tile_x ? wih.size(0) : xin.size(2);
  TORCH_CHECK(width == G, "lstm_ln_fused_forward: expected ", tile_x ? "w_ih of height" : "xp of width", " 4H=", G,
              ", got ", width);
  auto opt = xin.options();
  const int64_t I = tile_x ? xin.size(2) : 0;
  at::Tensor wi = tile_x ? lstmkit_fused::pack_input(wih, L) : at::Tensor();
  at::Tensor xp = tile_x ? (save ? at::empty({T, B, G}, opt) : at::Tensor()) : xin;
  at::Tensor xstep = tile_x ? at::empty({B, G}, opt) : at::Tensor();
  at::Tensor wf = lstmkit_fused::pack_forward(whh, L);
  at::Tensor hseq = at::empty({T, B, H}, opt);
  at::Tensor cseq = at::empty({save ? T + 1 : 2, B, H}, opt);
  cseq[0].copy_(c0);
  at::Tensor h0c = h0.contiguous();
  at::Tensor rn = save ? at::empty({T, B, G}, opt) : at::Tensor();
  at::Tensor rstep = at::empty({B, G}, opt);
  at::Tensor gates = save ? at::empty({T, B, G}, opt) : at::Tensor();
  at::Tensor stats = save ? at::empty({T, B, 5}, opt) : at::Tensor();
  at::Tensor vmask = (valid.has_value() && valid->defined()) ? valid->contiguous() : at::Tensor();
  at::Tensor p1 = gih.contiguous(), p2 = ghh.contiguous(), p3 = beta.contiguous(), p4 = gc.contiguous(),
             p5 = bc.contiguous();
  auto ptr = [](const at::Tensor& t) { return t.defined() ? t.data_ptr<S>() : nullptr; };
  Fwd<S> k{T, B, H, U, ptr(xp), wf.data_ptr<S>(), ptr(vmask), h0c.data_ptr<S>(), hseq.data_ptr<S>(),
           cseq.data_ptr<S>(), ptr(rn), rstep.data_ptr<S>(), ptr(xstep), ptr(gates), ptr(stats),
           p1.data_ptr<S>(), p2.data_ptr<S>(), p3.data_ptr<S>(), p4.data_ptr<S>(), p5.data_ptr<S>(), eps, save};
  if (tile_x) {
    k.I = I;
    k.XI = xin.data_ptr<S>();
    k.WI = wi.data_ptr<S>();
  }
  const RowBlocks rb(B);
  const Share share(U, rb, requested_threads());
  k.stream = save && stream_saved((rn.numel() + gates.numel() + (tile_x ? xp.numel() : 0)) * int64_t(sizeof(S)),
                                  share.nt);
  at::Tensor part = at::empty({share.nt, B * 4 * L}, opt);
  at::Tensor sums = at::empty({B, 2, 3, L}, opt);
  k.RS = sums.data_ptr<S>();
  Meeting meet(share.nt);
  team(share.nt, [&](int tid, int nt) {
    int64_t b0, b1;
    share.rows(tid, nt, b0, b1);
    bool alone = false;
    v* pt = reinterpret_cast<v*>(part.data_ptr<S>() + tid * B * 4 * L);
    for (int64_t t = 0; t < T; ++t) {
      const S* hprev = k.h_in(t, 0);
      const bool gather = k.gathers(share, nt, alone);
      share.product(tid, nt, alone, [&](int64_t u, int64_t r0, int64_t r1) {
        if (k.XI) {  // x_t W_ih^T for the unit block, into the step's input-projection rows
          const typename Fwd<S>::Prod xs{k, t, u, true, gather};
          const Panel<S, typename Fwd<S>::Prod> px{xs, rb, I, k.XI + t * B * I, I, k.WI + u * I * 4 * L, pt};
          px.run(r0, r1);
        }
        const typename Fwd<S>::Prod step{k, t, u, false, gather};
        const Panel<S, typename Fwd<S>::Prod> p{step, rb, H, hprev, H, k.Wf + u * H * 4 * L, pt};
        p.run(r0, r1);
      });
      share.sync(nt, alone);
      k.row_range(t, b0, b1, gather, gather && k.XI);
      if (!share.end_step(meet, t, tid, alone, b0, b1)) break;
    }
    stream_fence();  // the saved values were streamed past the caches
  });
  at::Tensor hT = T > 0 ? hseq[T - 1].clone() : h0c.clone();
  at::Tensor cT = cseq[save ? T : (T & 1)].clone();
  if (!save) return {hseq, hT, cT, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  return {hseq, hT, cT, gates, cseq, rn, stats, tile_x ? xp : at::Tensor()};
}

// ----------------------------------------------------------------- backward
template <typename S>
struct Bwd {
  using v = typename Vec<S>::v;
  static constexpr int L = Vec<S>::L;
  int64_t T, B, H, U;
  const S* DO;   // (T, B, H)
  const S* X;    // (T, B, U, 4, L): the raw input projection
  const S* GA;   // (T, B, U, 4, L)
  const S* CS;   // (T+1, B, H)
  const S* RN;   // (T, B, U, 4, L)
  const S* ST;   // (T, B, 5)
  const S* Wb;   // (NQ, 4H, 4, L)
  const S* Vm;   // (T, B) or null
  const S *gih, *ghh, *gc, *bc;
  S* DX;         // (T, B, U, 4, L): gradient of the raw input projection
  S* DR;         // (T, B, U, 4, L): gradient of the raw recurrent product
  S* GH;         // (B, H): the gradient reaching h_t (from step t+1's product, the output, dh_T)
  S* GC;         // (B, H): the gradient reaching c_t from step t+1
  S* DH0;        // (B, H)

  // phase 1: GH[:, block] += dR_{t+1} W_hh + dout_t (t = -1: dh_0)
  struct Prod {
    const Bwd& w;
    int64_t t, q;
    template <int MR>
    void init(int64_t, v (&acc)[MR][4]) const {
      zero_tile(acc);
    }
    template <int MR>
    void finish(int64_t r0, v (&acc)[MR][4]) const {
      for (int r = 0; r < MR; ++r) {
        for (int j = 0; j < 4; ++j) {
          const int64_t u = 4 * q + j;
          if (u >= w.U) break;
          const int64_t off = (r0 + r) * w.H + u * L;
          if (t >= 0) {
            vstore(w.GH + off, acc[r][j] + vload<v>(w.GH + off) + vload<v>(w.DO + t * w.B * w.H + off));
          } else {
            vstore(w.DH0 + off, acc[r][j] + vload<v>(w.GH + off));
          }
        }
      }
    }
  };

  // one thread's parameter sums: the gains of LN_ih and LN_hh (4H each),
  // dA summed (4H: the gradient of beta), LN_c's gain and bias (H each)
  static int64_t sums_width(int64_t H) { return 3 * 4 * H + 2 * H; }

  // phase 2 for row b of step t; acc: this thread's sums; da (4H), dyh (H): scratch
  void row(int64_t t, int64_t b, S* acc, S* da, S* dyh) const {
    const int64_t G = 4 * H, row = t * B + b;
    S* dx = DX + row * G;
    S* dr = DR + row * G;
    if (Vm && Vm[row] == S(0)) {  // padding: dh and dc pass to the previous state untouched
      std::memset(dx, 0, G * sizeof(S));
      std::memset(dr, 0, G * sizeof(S));
      return;
    }
    S* gh = GH + b * H;
    S* gcr = GC + b * H;
    const S* ga = GA + row * G;
    const S* rn = RN + row * G;
    const S* x = X + row * G;
    const S* c = CS + (t + 1) * B * H + b * H;
    const S* cp = CS + t * B * H + b * H;
    const S* st = ST + row * 5;
    const S rstd = st[0], cmean = st[1], crstd = st[2], xmean = st[3], xrstd = st[4];
    S* agih = acc;
    S* aghh = acc + G;
    S* asum = acc + 2 * G;
    S* agc = acc + 3 * G;
    S* abc = acc + 3 * G + H;
    const v one = splat<v>(S(1));
    // LN_c backward, first pass: dyh = d(yn) and its two row sums; dA_o
    v s1{}, s2{};
    for (int64_t u = 0; u < U; ++u) {
      const int64_t k = u * L;
      const v y = (vload<v>(c + k) - cmean) * crstd;
      const v th = tanh_v(vload<v>(gc + k) * y + vload<v>(bc + k));
      const v dh = vload<v>(gh + k);
      const v o = vload<v>(ga + u * 4 * L + 3 * L);
      const v dz = dh * o * (one - th * th);
      vstore(agc + k, vload<v>(agc + k) + dz * y);
      vstore(abc + k, vload<v>(abc + k) + dz);
      const v d = dz * vload<v>(gc + k);
      vstore(dyh + k, d);
      s1 += d;
      s2 += d * y;
      vstore(da + u * 4 * L + 3 * L, dh * th * o * (one - o));
    }
    const S m1 = hsum<S>(s1) / S(H), m2 = hsum<S>(s2) / S(H);
    // second pass: dc, the gate derivatives dA, the parameter sums and the
    // row sums of both projections' norms
    v t1{}, t2{}, x1{}, x2{};
    for (int64_t u = 0; u < U; ++u) {
      const int64_t k = u * L, kg = u * 4 * L;
      const v y = (vload<v>(c + k) - cmean) * crstd;
      const v dc = vload<v>(gcr + k) + crstd * (vload<v>(dyh + k) - m1 - y * m2);
      const v i = vload<v>(ga + kg), f = vload<v>(ga + kg + L), g = vload<v>(ga + kg + 2 * L);
      v d[4];
      d[0] = dc * g * i * (one - i);
      d[1] = dc * vload<v>(cp + k) * f * (one - f);
      d[2] = dc * i * (one - g * g);
      d[3] = vload<v>(da + kg + 3 * L);
      vstore(gcr + k, dc * f);
      vstore(gh + k, v{});
      for (int j = 0; j < 4; ++j) {
        const int64_t kj = kg + j * L;
        if (j < 3) vstore(da + kj, d[j]);
        const v r = vload<v>(rn + kj);
        const v xn = (vload<v>(x + kj) - xmean) * xrstd;
        vstore(aghh + kj, vload<v>(aghh + kj) + d[j] * r);
        vstore(agih + kj, vload<v>(agih + kj) + d[j] * xn);
        vstore(asum + kj, vload<v>(asum + kj) + d[j]);
        const v dn = d[j] * vload<v>(ghh + kj);
        t1 += dn;
        t2 += dn * r;
        const v dxn = d[j] * vload<v>(gih + kj);
        x1 += dxn;
        x2 += dxn * xn;
      }
    }
    const S n1 = hsum<S>(t1) / S(G), n2 = hsum<S>(t2) / S(G);
    const S q1 = hsum<S>(x1) / S(G), q2 = hsum<S>(x2) / S(G);
    // both norms' backward: d(raw) = rstd (dn - mean(dn) - n mean(dn n))
    for (int64_t k = 0; k < G; k += L) {
      const v d = vload<v>(da + k);
      vstore(dr + k, rstd * (d * vload<v>(ghh + k) - n1 - vload<v>(rn + k) * n2));
      const v xn = (vload<v>(x + k) - xmean) * xrstd;
      vstore(dx + k, xrstd * (d * vload<v>(gih + k) - q1 - xn * q2));
    }
  }
};

template <typename S>
std::vector<at::Tensor> backward_impl(const at::Tensor& dout, const at::Tensor& dhT, const at::Tensor& dcT,
                                      const at::Tensor& xp, const at::Tensor& gates, const at::Tensor& cseq,
                                      const at::Tensor& rn, const at::Tensor& stats, const at::Tensor& whh,
                                      const at::Tensor& gih, const at::Tensor& ghh, const at::Tensor& gc,
                                      const at::Tensor& bc, const std::optional<at::Tensor>& valid, bool need_dh0) {
  using v = typename Vec<S>::v;
  constexpr int L = Vec<S>::L;
  const int64_t T = gates.size(0), B = gates.size(1), H = whh.size(1), U = H / L, G = 4 * H;
  const int64_t NQ = (U + 3) / 4;
  TORCH_CHECK(H % L == 0, "lstm_ln_fused_backward: hidden size ", H, " is not a multiple of the lane width ", L);
  auto opt = gates.options();
  at::Tensor wb = lstmkit_fused::pack_backward(whh, L);
  at::Tensor dX = at::empty({T, B, G}, opt);
  at::Tensor dR = at::empty({T, B, G}, opt);
  at::Tensor gH = dhT.contiguous().clone();
  at::Tensor gC = dcT.contiguous().clone();
  at::Tensor dh0 = at::zeros({B, H}, opt);
  at::Tensor dh = dout.contiguous();
  at::Tensor xc = xp.contiguous();
  at::Tensor vmask = (valid.has_value() && valid->defined()) ? valid->contiguous() : at::Tensor();
  at::Tensor p1 = gih.contiguous(), p2 = ghh.contiguous(), p3 = gc.contiguous(), p4 = bc.contiguous();
  const Bwd<S> k{T, B, H, U, dh.data_ptr<S>(), xc.data_ptr<S>(), gates.data_ptr<S>(), cseq.data_ptr<S>(),
                 rn.data_ptr<S>(), stats.data_ptr<S>(), wb.data_ptr<S>(),
                 vmask.defined() ? vmask.data_ptr<S>() : nullptr, p1.data_ptr<S>(), p2.data_ptr<S>(),
                 p3.data_ptr<S>(), p4.data_ptr<S>(), dX.data_ptr<S>(), dR.data_ptr<S>(), gH.data_ptr<S>(),
                 gC.data_ptr<S>(), dh0.data_ptr<S>()};
  const RowBlocks rb(B);
  const Share share(NQ, rb, requested_threads());
  at::Tensor part = at::empty({share.nt, B * 4 * L}, opt);
  const int64_t W = Bwd<S>::sums_width(H);
  at::Tensor sums = at::zeros({share.nt, W}, opt);
  at::Tensor scratch = at::empty({share.nt, G + H}, opt);
  const int64_t tlast = need_dh0 ? -1 : 0;
  Meeting meet(share.nt);
  team(share.nt, [&](int tid, int nt) {
    int64_t b0, b1;
    share.rows(tid, nt, b0, b1);
    bool alone = false;
    v* pt = reinterpret_cast<v*>(part.data_ptr<S>() + tid * B * 4 * L);
    S* acc = sums.data_ptr<S>() + tid * W;
    S* da = scratch.data_ptr<S>() + tid * (G + H);
    S* dyh = da + G;
    for (int64_t t = T - 1; t >= tlast; --t) {
      const bool product = t < T - 1;
      share.product(tid, nt, alone, [&](int64_t q, int64_t r0, int64_t r1) {
        const typename Bwd<S>::Prod step{k, t, q};
        Panel<S, typename Bwd<S>::Prod> p{step, rb, product ? G : 0, k.DR + (t + 1) * B * G, G,
                                          k.Wb + q * G * 4 * L, pt};
        p.nj = panel_columns(U, q);
        p.run(r0, r1);
      });
      if (t < 0) break;
      share.sync(nt, alone);
      for (int64_t b = b0; b < b1; ++b) k.row(t, b, acc, da, dyh);
      if (!share.end_step(meet, T - 1 - t, tid, alone, b0, b1)) return;
    }
  });
  // separate tensors (operator outputs may not alias each other)
  auto total = [&](int64_t at_, int64_t n) { return sums.narrow(1, at_, n).sum(0); };
  return {dX, dR, dh0, gC, total(0, G), total(G, G), total(2 * G, G), total(3 * G, H), total(3 * G + H, H)};
}

}  // namespace

std::vector<at::Tensor> forward(const at::Tensor& xp, const at::Tensor& h0, const at::Tensor& c0,
                                const at::Tensor& whh, const at::Tensor& gih, const at::Tensor& ghh,
                                const at::Tensor& beta, const at::Tensor& gc, const at::Tensor& bc,
                                const std::optional<at::Tensor>& valid, double eps, bool save) {
  TORCH_CHECK(xp.is_contiguous() && xp.dim() == 3,
              "lstm_ln_fused_forward: xp must be a contiguous (T, B, 4H) tensor");
  return AT_DISPATCH_FLOATING_TYPES(xp.scalar_type(), "lstm_ln_fused_forward", [&] {
    return forward_impl<scalar_t>(xp, h0, c0, whh, gih, ghh, beta, gc, bc, valid, eps, save, at::Tensor());
  });
}

std::vector<at::Tensor> forward_x(const at::Tensor& x, const at::Tensor& wih, const at::Tensor& h0,
                                  const at::Tensor& c0, const at::Tensor& whh, const at::Tensor& gih,
                                  const at::Tensor& ghh, const at::Tensor& beta, const at::Tensor& gc,
                                  const at::Tensor& bc, const std::optional<at::Tensor>& valid, double eps, bool save) {
  TORCH_CHECK(x.is_contiguous() && x.dim() == 3, "lstm_ln_fused_forward_x: x must be a contiguous (T, B, I) tensor");
  TORCH_CHECK(wih.dim() == 2 && wih.size(1) == x.size(2), "lstm_ln_fused_forward_x: w_ih must be (4H, I) for I=",
              x.size(2));
  return AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "lstm_ln_fused_forward_x", [&] {
    return forward_impl<scalar_t>(x, h0, c0, whh, gih, ghh, beta, gc, bc, valid, eps, save, wih);
  });
}

std::vector<at::Tensor> backward(const at::Tensor& dout, const at::Tensor& dhT, const at::Tensor& dcT,
                                 const at::Tensor& xp, const at::Tensor& gates, const at::Tensor& cseq,
                                 const at::Tensor& rn, const at::Tensor& stats, const at::Tensor& whh,
                                 const at::Tensor& gih, const at::Tensor& ghh, const at::Tensor& gc,
                                 const at::Tensor& bc, const std::optional<at::Tensor>& valid, bool need_dh0) {
  TORCH_CHECK(gates.is_contiguous() && cseq.is_contiguous() && rn.is_contiguous() && stats.is_contiguous(),
              "lstm_ln_fused_backward: saved tensors must be contiguous");
  return AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "lstm_ln_fused_backward", [&] {
    return backward_impl<scalar_t>(dout, dhT, dcT, xp, gates, cseq, rn, stats, whh, gih, ghh, gc, bc, valid,
                                   need_dh0);
  });
}

}  // namespace lstmkit_ln_fused
