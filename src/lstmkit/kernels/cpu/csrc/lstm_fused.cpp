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
// The peephole LSTM runs the same loop with its three weight vectors on the
// cell (i and f add p_i c_{t-1}, p_f c_{t-1}; o adds p_o c_t): three
// multiply-adds a unit and step in the same registers, and in the backward
// two more terms of dc_{t-1}, one of dc_t, and the weights' gradient summed
// in per-item slots as the bias gradient is. Until 2026-12-05 it ran the
// generic loop (recurrence.cpp): 1.4x (1 thread) to 2-2.7x (2 threads) the
// plain LSTM's time at T48 B32 H64 on a Zen 4, where it is now 1.04-1.08x.
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
// in its own cache), and the team meets at one barrier per step; or, when the
// weight panels fit in half the L2, split by batch rows with no barrier at all
// (tile::split_by_rows).

#include "lstm_fused.h"

#include <ATen/Dispatch.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>

#include "fused_tile.h"

namespace lstmkit_fused {
namespace {

using namespace tile;

// ------------------------------------------------------------------ forward
template <typename S>
struct Fwd {
  using v = typename Vec<S>::v;
  static constexpr int L = Vec<S>::L;
  int64_t T, B, H, Hp, U;
  const S* X;    // (T, B, U, 4, L): the input projection, or null when the tile computes it
  const S* Wf;   // (U, H, 4, L)
  const S* Vm;   // (T, B) or null
  const S* H0;   // (B, Hp): h_0
  S* HS;         // (T, B, Hp): h_1 .. h_T
  S* CS;         // (T+1 or 2, B, Hp)
  S* GA;         // (T, B, U, 4, L) or null
  bool save;
  // GA written past the caches: where it outgrows the last-level cache
  // (stream_saved, fused_tile.h)
  bool stream = false;
  // the input side when X is null: x (T, B, I), W_ih packed (U, I, 4, L),
  // the bias (U, 4, L) or null
  int64_t I = 0;
  const S* XI = nullptr;
  const S* WI = nullptr;
  const S* BI = nullptr;
  // the peephole LSTM's weights (3, Hp): p_i, p_f on c_{t-1}, p_o on c_t; null for the plain LSTM
  const S* P = nullptr;

  // one step, one unit block: the accumulators start from the input projection
  struct Step {
    const Fwd& f;
    int64_t t, u;
    template <int MR>
    void init(int64_t r0, v (&acc)[MR][4]) const {
      if (!f.X) {  // the tile adds x_t W_ih^T itself: start from the bias
        if (!f.BI) return zero_tile(acc);
        const S* b = f.BI + u * 4 * L;
        for (int r = 0; r < MR; ++r)
          for (int j = 0; j < 4; ++j) acc[r][j] = vload<v>(b + j * L);
        return;
      }
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
        const v cp = vload<v>(cprev + off);
        v i, fg, o, c;
        const v g = tanh_v(acc[r][2]);
        if (f.P) {  // the peepholes: i and f see c_{t-1}, o sees c_t
          const S* p = f.P + u * L;
          i = sigm_v(fmadd(vload<v>(p), cp, acc[r][0]));
          fg = sigm_v(fmadd(vload<v>(p + Hp), cp, acc[r][1]));
          c = fg * cp + i * g;
          o = sigm_v(fmadd(vload<v>(p + 2 * Hp), c, acc[r][3]));
        } else {
          i = sigm_v(acc[r][0]);
          fg = sigm_v(acc[r][1]);
          o = sigm_v(acc[r][3]);
          c = fg * cp + i * g;
        }
        if (f.GA) {
          S* ga = f.GA + ((t * B + b) * f.U + u) * 4 * L;
          const v act[4] = {i, fg, g, o};
          for (int j = 0; j < 4; ++j) {  // read by the backward only
            if (f.stream)
              vstream(ga + j * L, act[j]);
            else
              vstore(ga + j * L, act[j]);
          }
        }
        const S m = f.Vm ? f.Vm[t * B + b] : S(1);
        if (m == S(0)) {  // padding: the state is kept
          vstore(cnext + off, cp);
          vstore(hnext + off, vload<v>(hprev + off));
          continue;
        }
        vstore(cnext + off, c);
        vstore(hnext + off, o * tanh_v(c));
      }
    }
  };
};

// the peephole weights as the loops read them: contiguous (3, Hp), or
// undefined for the plain LSTM
inline at::Tensor peep_weights(const at::Tensor& peep, int64_t Hp) {
  if (!peep.defined()) return at::Tensor();
  TORCH_CHECK(peep.dim() == 2 && peep.size(0) == 3 && peep.size(1) == Hp,
              "lstm_fused: peep must be (3, Hp) with Hp=", Hp, ", got ", peep.sizes());
  return peep.contiguous();
}

inline at::Tensor defined_or_none(const std::optional<at::Tensor>& t) {
  return t.has_value() && t->defined() ? *t : at::Tensor();
}

// xp (T, B, 4Hp) interleaved; or, with wih (4Hp, I) interleaved, x (T, B, I)
// and the bias (4Hp) interleaved or undefined
template <typename S>
std::vector<at::Tensor> forward_impl(const at::Tensor& xin, const at::Tensor& h0, const at::Tensor& c0,
                                     const at::Tensor& whh, const std::optional<at::Tensor>& valid, bool save,
                                     const at::Tensor& wih, const at::Tensor& bias, const at::Tensor& peep) {
  using v = typename Vec<S>::v;
  constexpr int L = Vec<S>::L;
  const bool tile_x = wih.defined();
  const int64_t T = xin.size(0), B = xin.size(1), H = whh.size(1), Hp = (H + L - 1) / L * L, U = Hp / L;
  const int64_t width = tile_x ? wih.size(0) : xin.size(2);
  TORCH_CHECK(width == 4 * Hp, "lstm_fused_forward: expected ", tile_x ? "w_ih of height" : "xp of width",
              " 4*Hp=", 4 * Hp, ", got ", width);
  auto opt = xin.options();
  at::Tensor wf = pack_forward(whh, L);
  at::Tensor wi = tile_x ? pack_input(wih, L) : at::Tensor();
  at::Tensor bi = tile_x && bias.defined() ? bias.contiguous() : at::Tensor();
  // every step writes all Hp lanes of h_t and c_t (padding units compute
  // exact zeros), so only c_0's padding lanes need zeros
  at::Tensor hseq = at::empty({T, B, Hp}, opt);
  at::Tensor cseq = at::empty({save ? T + 1 : 2, B, Hp}, opt);
  if (Hp != H) cseq[0].narrow(1, H, Hp - H).zero_();
  at::Tensor h0p = Hp == H ? h0.contiguous() : at::constant_pad_nd(h0, {0, Hp - H}).contiguous();
  cseq[0].narrow(1, 0, H).copy_(c0);
  at::Tensor gates = save ? at::empty({T, B, 4 * Hp}, opt) : at::Tensor();
  at::Tensor vmask = (valid.has_value() && valid->defined()) ? valid->contiguous() : at::Tensor();
  at::Tensor pp = peep_weights(peep, Hp);
  Fwd<S> k{T, B, H, Hp, U, tile_x ? nullptr : xin.data_ptr<S>(), wf.data_ptr<S>(),
           vmask.defined() ? vmask.data_ptr<S>() : nullptr, h0p.data_ptr<S>(), hseq.data_ptr<S>(), cseq.data_ptr<S>(),
           save ? gates.data_ptr<S>() : nullptr, save};
  k.P = pp.defined() ? pp.data_ptr<S>() : nullptr;
  if (tile_x) {
    k.I = xin.size(2);
    k.XI = xin.data_ptr<S>();
    k.WI = wi.data_ptr<S>();
    k.BI = bi.defined() ? bi.data_ptr<S>() : nullptr;
  }
  const RowBlocks rb(B);
  const int want = requested_threads();
  const Work work(U, rb, want);
  const bool by_rows = split_by_rows(want, rb, (wf.numel() + (tile_x ? wi.numel() : 0)) * int64_t(sizeof(S)));
  const int nt = by_rows ? want : work.nt;
  k.stream = save && stream_saved(gates.numel() * int64_t(sizeof(S)), nt);
  at::Tensor part = at::empty({nt, B * 4 * L}, opt);
  Meeting meet(nt);
  team(nt, [&](int tid, int n) {
    v* pt = reinterpret_cast<v*>(part.data_ptr<S>() + tid * B * 4 * L);
    auto run = [&](int64_t t, int64_t u, int64_t r0, int64_t r1) {
      const typename Fwd<S>::Step step{k, t, u};
      const S* hprev = t == 0 ? k.H0 : k.HS + (t - 1) * B * Hp;
      const Panel<S, typename Fwd<S>::Step> p{step, rb, H, hprev, Hp, k.Wf + u * H * 4 * L, pt,
                                              k.I, k.XI + t * B * k.I, k.I, k.WI + u * k.I * 4 * L};
      p.run(r0, r1);
    };
    if (by_rows) {  // no meetings: nothing to wait for, nothing to hand over
      int64_t r0, r1;
      row_share(rb, tid, n, r0, r1);
      for (int64_t t = 0; t < T; ++t)
        for (int64_t u = 0; u < U; ++u) run(t, u, r0, r1);
    } else {
      int64_t i0, i1;
      work.range(tid, i0, i1);
      bool alone = false;
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t i = i0; i < i1; ++i) {
          int64_t u, r0, r1;
          work.item(i, u, r0, r1);
          run(t, u, r0, r1);
        }
        if (!meet.end_step(t, tid, alone)) break;
        if (alone) work.all(i0, i1);
      }
    }
    stream_fence();  // the activations were streamed past the caches
  });
  // the final states at the layer's width, copies (never views of hseq/cseq):
  // narrowing them outside the operator cost two more autograd nodes per call
  // (T10 B10 H40 training 0.64 -> 0.58 ms on 1 thread)
  at::Tensor hT = (T > 0 ? hseq[T - 1] : h0p).narrow(1, 0, H).clone(at::MemoryFormat::Contiguous);
  at::Tensor cT = cseq[save ? T : (T & 1)].narrow(1, 0, H).clone(at::MemoryFormat::Contiguous);
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
  // (groups, U, 4, L) or null: dA summed over steps and rows, per group of row
  // blocks (a work item's own slot, so the sums do not depend on which thread
  // ran the item): the bias gradient
  S* DB = nullptr;
  // the peephole weights (3, Hp), or null for the plain LSTM
  const S* P = nullptr;

  // the pointwise backward of step t for row b, unit block u, given the
  // product's share prod = (dA_{t+1} W_hh)[b, block u]; db: the item's slot
  // of DB; dp: its slot (3, Hp) of the peephole weights' gradient, or null
  inline void point(int64_t t, int64_t b, int64_t u, const v& prod, S* db, S* dp) const {
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
    const v dout = tot * th * o * (one - o);
    v dc = vload<v>(GC + off) + tot * o * (one - th * th);
    if (P) dc = fmadd(dout, vload<v>(P + 2 * Hp + u * L), dc);  // o's peephole on c_t
    const v di = dc * g * i * (one - i), df = dc * cp * f * (one - f), dg = dc * i * (one - g * g);
    vstore(da, di);
    vstore(da + L, df);
    vstore(da + 2 * L, dg);
    vstore(da + 3 * L, dout);
    if (db) {
      S* d = db + u * 4 * L;
      vstore(d, vload<v>(d) + di);
      vstore(d + L, vload<v>(d + L) + df);
      vstore(d + 2 * L, vload<v>(d + 2 * L) + dg);
      vstore(d + 3 * L, vload<v>(d + 3 * L) + dout);
    }
    if (P) {  // c_{t-1} reaches i and f through their peepholes too
      const S* p = P + u * L;
      vstore(GC + off, fmadd(df, vload<v>(p + Hp), fmadd(di, vload<v>(p), dc * f)));
      if (dp) {
        S* d = dp + u * L;
        vstore(d, fmadd(di, cp, vload<v>(d)));
        vstore(d + Hp, fmadd(df, cp, vload<v>(d + Hp)));
        vstore(d + 2 * Hp, fmadd(dout, cn, vload<v>(d + 2 * Hp)));
      }
    } else {
      vstore(GC + off, dc * f);
    }
    vstore(GH + off, v{});
  }

  // step t's pointwise for unit blocks 4q..4q+3 after the product with
  // dA_{t+1} (none at t = T-1); t = -1 writes dh_0
  struct Step {
    const Bwd& w;
    int64_t t, q;
    S* db;  // the item's slot of DB, or null
    S* dp;  // the item's slot of the peephole gradient, or null
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
          const int64_t b = r0 + r;
          if (t >= 0) {
            w.point(t, b, u, acc[r][j], db, dp);
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
                                      const std::optional<at::Tensor>& valid, bool need_dh0, bool need_db,
                                      const at::Tensor& peep) {
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
  at::Tensor pp = peep_weights(peep, Hp);
  const Bwd<S> k{T, B, H, Hp, U, dh.data_ptr<S>(), gates.data_ptr<S>(), cseq.data_ptr<S>(), wb.data_ptr<S>(),
                 vmask.defined() ? vmask.data_ptr<S>() : nullptr, dA.data_ptr<S>(), gH.data_ptr<S>(),
                 gC.data_ptr<S>(), dh0.data_ptr<S>(), nullptr, pp.defined() ? pp.data_ptr<S>() : nullptr};
  const RowBlocks rb(B);
  const int want = requested_threads();
  const Work work(NQ, rb, want);
  // Shared by panels, every thread reads every row of dA_{t+1} (4Hp wide,
  // four times h's width), half of it just written by the other core, and
  // the team meets at every step; shared by rows (split_by_rows), neither.
  const bool by_rows = split_by_rows(want, rb, wb.numel() * int64_t(sizeof(S)));
  const int nt = by_rows ? want : work.nt;
  at::Tensor part = at::empty({nt, B * 4 * L}, opt);
  // the bias gradient's slots: one per row group (panel split) or thread (row split)
  at::Tensor dbg = need_db ? at::zeros({by_rows ? nt : work.groups, 4 * Hp}, opt) : at::Tensor();
  // the peephole weights' gradient: slots as the bias gradient's, (3, Hp) each
  at::Tensor dpg = pp.defined() ? at::zeros({by_rows ? nt : work.groups, 3 * Hp}, opt) : at::Tensor();
  const int64_t tlast = need_dh0 ? -1 : 0;
  Meeting meet(nt);
  team(nt, [&](int tid, int n) {
    v* pt = reinterpret_cast<v*>(part.data_ptr<S>() + tid * B * 4 * L);
    auto run = [&](int64_t t, int64_t q, int64_t r0, int64_t r1, int64_t slot) {
      const typename Bwd<S>::Step step{k, t, q, need_db ? dbg.data_ptr<S>() + slot * 4 * Hp : nullptr,
                                       pp.defined() ? dpg.data_ptr<S>() + slot * 3 * Hp : nullptr};
      Panel<S, typename Bwd<S>::Step> p{step, rb, t < T - 1 ? K : 0, k.DA + (t + 1) * B * K, K,
                                        k.Wb + q * K * 4 * L, pt};
      p.nj = panel_columns(U, q);
      p.run(r0, r1);
    };
    if (by_rows) {  // no meetings: nothing to wait for, nothing to hand over
      int64_t r0, r1;
      row_share(rb, tid, n, r0, r1);
      for (int64_t t = T - 1; t >= tlast; --t)
        for (int64_t q = 0; q < NQ; ++q) run(t, q, r0, r1, tid);
      return;
    }
    int64_t i0, i1;
    work.range(tid, i0, i1);
    bool alone = false;
    for (int64_t t = T - 1; t >= tlast; --t) {
      for (int64_t i = i0; i < i1; ++i) {
        int64_t q, r0, r1;
        work.item(i, q, r0, r1);
        run(t, q, r0, r1, i % work.groups);
      }
      if (!meet.end_step(T - 1 - t, tid, alone)) return;
      if (alone) work.all(i0, i1);
    }
  });
  return {dA, dh0, gC, need_db ? dbg.sum(0) : at::zeros({0}, opt),
          pp.defined() ? dpg.sum(0).view({3, Hp}) : at::zeros({0}, opt)};
}

}  // namespace

int64_t lane_width(at::ScalarType dtype) {
  return dtype == at::kDouble ? Vec<double>::L : Vec<float>::L;
}

int64_t tile_rows() { return kRows; }
int64_t stream_saved_above(int nt) { return tile::stream_saved_above(nt); }
int64_t force_stream_saved(int64_t bytes) { return tile::stream_saved_forced.exchange(bytes); }

// The packs below are copies, written as loops: torch's permute + contiguous
// (and the zero padding before it) moved these layouts at 2-3 GB/s, 3.7 ms
// of a 1-thread training call at T256 B32 H512, about 1 %, and a larger
// share of short calls at large H (the packs do not depend on T).

namespace {
// Parallel over [0, n) in chunks of at least `grain`, on torch's pool (the
// packs run before the loop's own team starts).
template <typename F>
void pack_for(int64_t n, int64_t grain, const F& f) {
  at::parallel_for(0, n, std::max<int64_t>(1, grain), f);
}

// out (U, K, 4, L): out[u][k][q][l] = src[row(u, q, l)][k], zero where row()
// is negative: each unit block's 4L rows turned into lane order, in blocks of
// KB columns so that a block's source and destination lines stay in L1.
template <typename S, typename Row>
void lanes_transposed(const S* src, int64_t K, int64_t U, int64_t L, S* out, const Row& row) {
  constexpr int64_t KB = 16;
  pack_for(U, 32768 / std::max<int64_t>(1, 4 * L * K), [&](int64_t u0, int64_t u1) {
    for (int64_t u = u0; u < u1; ++u)
      for (int64_t k0 = 0; k0 < K; k0 += KB) {
        const int64_t k1 = std::min(K, k0 + KB);
        for (int q = 0; q < 4; ++q)
          for (int64_t l = 0; l < L; ++l) {
            const int64_t r = row(u, q, l);
            S* o = out + ((u * K + k0) * 4 + q) * L + l;
            const S* sr = r < 0 ? nullptr : src + r * K;
            for (int64_t k = k0; k < k1; ++k) o[(k - k0) * 4 * L] = sr ? sr[k] : S(0);
          }
      }
  });
}
}  // namespace

at::Tensor pack_forward(const at::Tensor& whh_, int64_t L) {
  // (4H, H) -> (U, H, 4, L): Wf[u][k][gate][l] = W[gate*H + u*L + l, k] (zero for padding units)
  const at::Tensor whh = whh_.contiguous();
  const int64_t H = whh.size(1), Hp = (H + L - 1) / L * L, U = Hp / L;
  at::Tensor out = at::empty({U, H, 4, L}, whh.options());
  AT_DISPATCH_FLOATING_TYPES(whh.scalar_type(), "pack_forward", [&] {
    lanes_transposed<scalar_t>(whh.data_ptr<scalar_t>(), H, U, L, out.data_ptr<scalar_t>(),
                               [&](int64_t u, int q, int64_t l) { return u * L + l < H ? q * H + u * L + l : -1; });
  });
  return out;
}

at::Tensor pack_input(const at::Tensor& wih_, int64_t L) {
  // (4Hp, I) interleaved -> (U, I, 4, L): Wi[u][i][gate][l] = W_ih[(4u + gate)*L + l, i]
  const at::Tensor wih = wih_.contiguous();
  const int64_t I = wih.size(1), U = wih.size(0) / (4 * L);
  at::Tensor out = at::empty({U, I, 4, L}, wih.options());
  AT_DISPATCH_FLOATING_TYPES(wih.scalar_type(), "pack_input", [&] {
    lanes_transposed<scalar_t>(wih.data_ptr<scalar_t>(), I, U, L, out.data_ptr<scalar_t>(),
                               [&](int64_t u, int q, int64_t l) { return (4 * u + q) * L + l; });
  });
  return out;
}

at::Tensor pack_backward(const at::Tensor& whh_, int64_t L) {
  // (4H, H) -> (NQ, 4Hp, 4, L): Wb[q][k][j][l] = W[row(k), (4q + j)*L + l], k interleaved (u, gate, lane),
  // zero for padding units and columns: per (q, k) a copy of up to 4L contiguous floats of one row
  const at::Tensor whh = whh_.contiguous();
  const int64_t H = whh.size(1), Hp = (H + L - 1) / L * L, NQ = (Hp / L + 3) / 4, W = 4 * L;
  at::Tensor out = at::empty({NQ, 4 * Hp, 4, L}, whh.options());
  AT_DISPATCH_FLOATING_TYPES(whh.scalar_type(), "pack_backward", [&] {
    const scalar_t* src = whh.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    pack_for(NQ * 4 * Hp, 32768 / W, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t q = i / (4 * Hp), k = i % (4 * Hp);
        const int64_t unit = (k / W) * L + k % L, gate = (k / L) % 4, c0 = q * W;
        const int64_t n = unit < H ? std::max<int64_t>(0, std::min(W, H - c0)) : 0;
        scalar_t* o = dst + i * W;
        if (n > 0) std::memcpy(o, src + (gate * H + unit) * H + c0, n * sizeof(scalar_t));
        std::fill(o + n, o + W, scalar_t(0));
      }
    });
  });
  return out;
}

at::Tensor transposed(const at::Tensor& a_) {
  // a (R, C) -> a.T contiguous (C, R), in 16 x 16 blocks (both sides' lines in L1)
  const at::Tensor a = a_.contiguous();
  const int64_t R = a.size(0), C = a.size(1);
  at::Tensor out = at::empty({C, R}, a.options());
  constexpr int64_t BS = 16;
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "transposed", [&] {
    const scalar_t* src = a.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    pack_for((C + BS - 1) / BS, 32768 / std::max<int64_t>(1, BS * R), [&](int64_t b0, int64_t b1) {
      for (int64_t cb = b0 * BS; cb < std::min(C, b1 * BS); cb += BS)
        for (int64_t rb = 0; rb < R; rb += BS) {
          if (cb + BS <= C && rb + BS <= R) {  // a whole block: fixed trip counts the compiler unrolls
            scalar_t blk[BS][BS];
            for (int64_t r = 0; r < BS; ++r)
              for (int64_t c = 0; c < BS; ++c) blk[c][r] = src[(rb + r) * C + cb + c];
            for (int64_t c = 0; c < BS; ++c)
              for (int64_t r = 0; r < BS; ++r) dst[(cb + c) * R + rb + r] = blk[c][r];
          } else {
            for (int64_t c = cb; c < std::min(C, cb + BS); ++c)
              for (int64_t r = rb; r < std::min(R, rb + BS); ++r) dst[c * R + r] = src[r * C + c];
          }
        }
    });
  });
  return out;
}

std::vector<at::Tensor> forward(const at::Tensor& xp, const at::Tensor& h0, const at::Tensor& c0,
                                const at::Tensor& whh, const std::optional<at::Tensor>& valid, bool save,
                                const std::optional<at::Tensor>& peep) {
  TORCH_CHECK(xp.is_contiguous() && xp.dim() == 3, "lstm_fused_forward: xp must be a contiguous (T, B, 4Hp) tensor");
  return AT_DISPATCH_FLOATING_TYPES(xp.scalar_type(), "lstm_fused_forward", [&] {
    return forward_impl<scalar_t>(xp, h0, c0, whh, valid, save, at::Tensor(), at::Tensor(), defined_or_none(peep));
  });
}

std::vector<at::Tensor> forward_x(const at::Tensor& x, const at::Tensor& wih, const std::optional<at::Tensor>& bias,
                                  const at::Tensor& h0, const at::Tensor& c0, const at::Tensor& whh,
                                  const std::optional<at::Tensor>& valid, bool save,
                                  const std::optional<at::Tensor>& peep) {
  TORCH_CHECK(x.is_contiguous() && x.dim() == 3, "lstm_fused_forward_x: x must be a contiguous (T, B, I) tensor");
  TORCH_CHECK(wih.dim() == 2 && wih.size(1) == x.size(2), "lstm_fused_forward_x: w_ih must be (4Hp, I) for I=",
              x.size(2));
  return AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "lstm_fused_forward_x", [&] {
    return forward_impl<scalar_t>(x, h0, c0, whh, valid, save, wih, defined_or_none(bias), defined_or_none(peep));
  });
}

std::vector<at::Tensor> backward(const at::Tensor& dout, const at::Tensor& dhT, const at::Tensor& dcT,
                                 const at::Tensor& gates, const at::Tensor& cseq, const at::Tensor& whh,
                                 const std::optional<at::Tensor>& valid, bool need_dh0, bool need_db,
                                 const std::optional<at::Tensor>& peep) {
  TORCH_CHECK(gates.is_contiguous() && cseq.is_contiguous(), "lstm_fused_backward: saved tensors must be contiguous");
  return AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "lstm_fused_backward", [&] {
    return backward_impl<scalar_t>(dout, dhT, dcT, gates, cseq, whh, valid, need_dh0, need_db, defined_or_none(peep));
  });
}

}  // namespace lstmkit_fused
