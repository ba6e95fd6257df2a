// The time loops of lstmkit's CPU engine: one layer, one direction, forward and backward.
//
// Python does the large products (the input projection of all steps before
// the loop, the weight gradients after it); these loops do what must happen
// step by step: the recurrent product h_{t-1} W_hh^T (oneDNN for float32,
// at::mm otherwise) and all of a step's pointwise work in one fused pass over
// each batch row. Equations and symbols follow lstmkit/cells/*.py; the
// notation of the backward passes is written out in kernels/cpu/functions.py.
//
// (Compiled with -fopenmp so that at::parallel_for splits rows over threads.)
//
// Conventions shared by every loop:
//   xp     (T, B, G)   input projection incl. biases (G = 4H, 3H or H)
//   valid  (T, B)      1 where step t is inside sequence b, 0 at padding (optional)
//   hmask  (B, P)      variational dropout mask on h_{t-1} in the product (optional)
//   zh/zc  (T, B, n)   zoneout weight of the previous value (optional); or a
//                      constant zh_p/zc_p >= 0 (evaluation); < 0 means none
//   padded steps keep the state, emit zeros and pass gradients straight through.

#include <torch/extension.h>

#include "exp_poly.h"
#include "lstm_fused.h"
#include "lstm_ln_fused.h"
#include "threads.h"

#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <malloc.h>
#include <unistd.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>  // _mm_getcsr / _mm_setcsr (flush_denormals)
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

using at::Tensor;
using OptT = std::optional<Tensor>;

namespace {

// ------------------------------------------------------------------ products
// a (M, K) @ w^T with w (N, K): oneDNN when w is a packed oneDNN weight (large
// float32 products), at::mm otherwise (float64, and small products, where
// oneDNN's per-call overhead outweighs its faster kernel).
Tensor wlinear(const Tensor& a, const Tensor& w) {
  if (w.is_mkldnn()) {
    static const c10::OperatorHandle op =
        c10::Dispatcher::singleton().findSchemaOrThrow("mkldnn::_linear_pointwise", "");
    std::vector<c10::IValue> stack;
    stack.reserve(6);
    stack.emplace_back(a);
    stack.emplace_back(w);
    stack.emplace_back(c10::IValue());
    stack.emplace_back(std::string("none"));
    stack.emplace_back(c10::List<std::optional<at::Scalar>>());
    stack.emplace_back(std::string(""));
    op.callBoxed(&stack);
    return stack[0].toTensor();
  }
  return at::mm(a, w.t());
}

// float32: branch-free exp/tanh (Cephes' polynomial, exp_poly.h, relative error ~1e-7)
// that the compiler vectorises; libm's scalar calls made the loops 5x slower.
// float64 keeps libm (it is the dtype the tests hold to 1e-10).
inline float exp_f(float x) {
  // clamp without dropping NaN (a comparison with NaN is false, so it passes through)
  x = x > 88.3762626647949f ? 88.3762626647949f : x;
  x = x < -88.3762626647949f ? -88.3762626647949f : x;
  const float fx = std::floor(x * 1.44269504088896341f + 0.5f);
  const float y = lstmkit_exp::exp_reduced(x, fx);
  const int32_t n = static_cast<int32_t>(fx) + 127;
  const uint32_t bits = static_cast<uint32_t>(n) << 23;
  float pow2n;
  std::memcpy(&pow2n, &bits, sizeof(float));
  return y * pow2n;
}

// tanh(x) = 2 sigma(2x) - 1: one exp and one division; absolute error ~1e-7
// (relative error grows only where |tanh x| < 1e-3, where it is still ~1e-7 absolute)
inline float tanh_f(float x) { return 2.0f / (1.0f + exp_f(-2.0f * x)) - 1.0f; }

template <typename scalar_t>
inline scalar_t sigm(scalar_t x) {
  return scalar_t(1) / (scalar_t(1) + std::exp(-x));
}
template <>
inline float sigm<float>(float x) {
  return 1.0f / (1.0f + exp_f(-x));
}

template <typename scalar_t>
inline scalar_t tanh_(scalar_t x) {
  return std::tanh(x);
}
template <>
inline float tanh_<float>(float x) {
  return tanh_f(x);
}

// Zoneout weight of the previous value: per element (training), constant
// (evaluation) or absent (0).
template <typename scalar_t>
struct Keep {
  const scalar_t* p = nullptr;
  scalar_t c = 0;
  int64_t step = 0;  // elements per step (B * n)
  Keep(const OptT& t, double prob, int64_t step_elems) : step(step_elems) {
    if (t.has_value() && t->defined()) {
      p = t->data_ptr<scalar_t>();
    } else if (prob > 0) {
      c = scalar_t(prob);
    }
  }
  inline const scalar_t* row(int64_t t, int64_t offset) const { return p ? p + t * step + offset : nullptr; }
};

template <typename scalar_t>
const scalar_t* ptr_or_null(const OptT& t) {
  return (t.has_value() && t->defined()) ? t->data_ptr<scalar_t>() : nullptr;
}

bool has(const OptT& t) { return t.has_value() && t->defined(); }

// rows b in [0, B) in parallel when a step's pointwise work is large enough
template <typename F>
void over_rows(int64_t B, int64_t width, const F& f) {
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, width));
  lstmkit_threads::guarded_for(0, B, grain, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) f(b);
  });
}

// sums over a row with 16 independent partial sums, which the compiler can
// vectorise (a single running sum is a dependency chain it must keep scalar)
template <typename S>
inline S sum16(const S* __restrict x, int64_t n) {
  S acc[16] = {};
  int64_t k = 0;
  for (; k + 16 <= n; k += 16)
    for (int l = 0; l < 16; ++l) acc[l] += x[k + l];
  S tot = 0;
  for (int l = 0; l < 16; ++l) tot += acc[l];
  for (; k < n; ++k) tot += x[k];
  return tot;
}

template <typename S>
inline S dot16(const S* __restrict x, const S* __restrict y, int64_t n) {
  S acc[16] = {};
  int64_t k = 0;
  for (; k + 16 <= n; k += 16)
    for (int l = 0; l < 16; ++l) acc[l] += x[k + l] * y[k + l];
  S tot = 0;
  for (int l = 0; l < 16; ++l) tot += acc[l];
  for (; k < n; ++k) tot += x[k] * y[k];
  return tot;
}

template <typename S>
inline S sqdev16(const S* __restrict x, S mean, int64_t n) {
  S acc[16] = {};
  int64_t k = 0;
  for (; k + 16 <= n; k += 16)
    for (int l = 0; l < 16; ++l) {
      const S d = x[k + l] - mean;
      acc[l] += d * d;
    }
  S tot = 0;
  for (int l = 0; l < 16; ++l) tot += acc[l];
  for (; k < n; ++k) tot += (x[k] - mean) * (x[k] - mean);
  return tot;
}

// mean and 1/std over n values (biased variance, as F.layer_norm)
template <typename scalar_t>
inline void row_stats(const scalar_t* x, int64_t n, double eps, scalar_t& mean, scalar_t& rstd) {
  mean = sum16(x, n) / scalar_t(n);
  const scalar_t var = sqdev16(x, mean, n) / scalar_t(n);
  rstd = scalar_t(1.0 / std::sqrt(double(var) + eps));
}

// the gradient through xhat = (x - mean) * rstd given d(xhat)
template <typename scalar_t>
inline void ln_backward_row(const scalar_t* dxhat, const scalar_t* xhat, scalar_t rstd, int64_t n, scalar_t* dx,
                            bool accumulate) {
  const scalar_t a = sum16(dxhat, n) / scalar_t(n), b = dot16(dxhat, xhat, n) / scalar_t(n);
  for (int64_t j = 0; j < n; ++j) {
    scalar_t v = rstd * (dxhat[j] - a - xhat[j] * b);
    dx[j] = accumulate ? dx[j] + v : v;
  }
}

// ---------------------------------------------------------------- row kernels
// One batch row of a step's pointwise work. Separate functions with
// __restrict pointers so that the compiler vectorises them (inside the
// lambdas, possible aliasing between the many buffers stopped it).
#define RS __restrict
#define NOINLINE __attribute__((noinline))

// new state of one row: zoneout towards the previous value, then the mask
template <typename S>
NOINLINE void mix_row(int64_t n, const S* RS hnew, const S* RS kz, S kzc, S m, S* RS h, S* RS out) {
  for (int64_t j = 0; j < n; ++j) {
    const S k = kz ? kz[j] : kzc;
    const S hz = k * h[j] + (S(1) - k) * hnew[j];
    const S v = m * hz + (S(1) - m) * h[j];
    h[j] = v;
    out[j] = m * v;
  }
}

template <typename S>
NOINLINE void lstm_gates_row(int64_t H, const S* RS x, const S* RS r, const S* RS cp, const S* RS pi,
                             const S* RS pf, const S* RS po, const S* RS kc, S kcc, S m, S* RS g4, S* RS cnb,
                             S* RS cnx) {
  for (int64_t j = 0; j < H; ++j) {
    const S c_ = cp[j];
    const S i = sigm(x[j] + r[j] + pi[j] * c_);
    const S f = sigm(x[H + j] + r[H + j] + pf[j] * c_);
    const S g = tanh_(x[2 * H + j] + r[2 * H + j]);
    const S cnew = f * c_ + i * g;
    const S o = sigm(x[3 * H + j] + r[3 * H + j] + po[j] * cnew);
    g4[j] = i;
    g4[H + j] = f;
    g4[2 * H + j] = g;
    g4[3 * H + j] = o;
    cnb[j] = cnew;
    const S k = kc ? kc[j] : kcc;
    const S cz = k * c_ + (S(1) - k) * cnew;
    cnx[j] = m * cz + (S(1) - m) * c_;
  }
}

// th = tanh(c) (or tanh of the normalised c), hf = o * th
template <typename S>
NOINLINE void lstm_out_row(int64_t H, const S* RS cnb, const S* RS o, const S* RS yh, const S* RS gc,
                           const S* RS bc, S* RS th, S* RS hf) {
  if (yh) {
    for (int64_t j = 0; j < H; ++j) {
      const S v = tanh_(gc[j] * yh[j] + bc[j]);
      th[j] = v;
      hf[j] = o[j] * v;
    }
  } else {
    for (int64_t j = 0; j < H; ++j) {
      const S v = tanh_(cnb[j]);
      th[j] = v;
      hf[j] = o[j] * v;
    }
  }
}

template <typename S>
NOINLINE void normalise_row(int64_t n, const S* RS x, S mean, S rstd, S* RS xhat) {
  for (int64_t j = 0; j < n; ++j) xhat[j] = (x[j] - mean) * rstd;
}

template <typename S>
NOINLINE void affine2_row(int64_t n, const S* RS xhat, const S* RS g, const S* RS b, const S* RS b2, S* RS y) {
  for (int64_t j = 0; j < n; ++j) y[j] = g[j] * xhat[j] + b[j] + b2[j];
}

template <typename S>
NOINLINE void affine_row(int64_t n, const S* RS xhat, const S* RS g, const S* RS b, S* RS y) {
  for (int64_t j = 0; j < n; ++j) y[j] = g[j] * xhat[j] + b[j];
}

// d(y) through tanh and the output gate: dy = dhf * o * (1 - th^2)
template <typename S>
NOINLINE void lstm_dy_row(int64_t H, const S* RS dhf, const S* RS o, const S* RS th, S* RS dy) {
  for (int64_t j = 0; j < H; ++j) dy[j] = dhf[j] * o[j] * (S(1) - th[j] * th[j]);
}

template <typename S>
NOINLINE void mul_row(int64_t n, const S* RS a, const S* RS b, S* RS y) {
  for (int64_t j = 0; j < n; ++j) y[j] = a[j] * b[j];
}

template <typename S>
NOINLINE void lstm_back_row(int64_t H, const S* RS dcn_in, const S* RS g4, const S* RS cp, const S* RS th,
                            const S* RS dhf, const S* RS pi, const S* RS pf, const S* RS po, const S* RS kc, S kcc,
                            S m, S* RS gc, S* RS da) {
  for (int64_t j = 0; j < H; ++j) {
    const S i = g4[j], f = g4[H + j], g = g4[2 * H + j], o = g4[3 * H + j];
    const S k = kc ? kc[j] : kcc;
    const S dc1 = m * gc[j];
    S dc = dcn_in[j] + (S(1) - k) * dc1;
    const S dao = dhf[j] * th[j] * o * (S(1) - o);
    dc += dao * po[j];
    const S dai = dc * g * i * (S(1) - i);
    const S daf = dc * cp[j] * f * (S(1) - f);
    const S dag = dc * i * (S(1) - g * g);
    gc[j] = (S(1) - m) * gc[j] + k * dc1 + dc * f + dai * pi[j] + daf * pf[j];
    da[j] = dai;
    da[H + j] = daf;
    da[2 * H + j] = dag;
    da[3 * H + j] = dao;
  }
}

// through the output, the mask and zoneout of h: d(hnew) and the part of
// dh_{t-1} that skips the cell (written back into gh)
template <typename S>
NOINLINE void h_back_row(int64_t n, const S* RS dout, const S* RS kz, S kzc, S m, S* RS gh, S* RS dhnew) {
  for (int64_t j = 0; j < n; ++j) {
    const S g = gh[j] + (dout ? m * dout[j] : S(0));
    const S k = kz ? kz[j] : kzc;
    const S dh1 = m * g;
    dhnew[j] = (S(1) - k) * dh1;
    gh[j] = (S(1) - m) * g + k * dh1;
  }
}

// gh += dhin (* hmask) (+ direct, the GRU's z * h_in path)
template <typename S>
NOINLINE void add_dhin(int64_t n, const S* RS dhin, const S* RS direct, const S* RS mask, S* RS gh) {
  for (int64_t q = 0; q < n; ++q) {
    S v = dhin[q] + (direct ? direct[q] : S(0));
    gh[q] += mask ? v * mask[q] : v;
  }
}

template <typename S>
NOINLINE void copy_masked(int64_t n, const S* RS h, const S* RS mask, S* RS out) {
  for (int64_t q = 0; q < n; ++q) out[q] = mask ? h[q] * mask[q] : h[q];
}

template <typename S>
NOINLINE void gru_fwd_row(int64_t H, const S* RS x, const S* RS r_, const S* RS bn, const S* RS hi, S* RS g3,
                          S* RS rnb, S* RS hnew) {
  for (int64_t j = 0; j < H; ++j) {
    const S r = sigm(x[j] + r_[j]);
    const S z = sigm(x[H + j] + r_[H + j]);
    const S hn_ = r_[2 * H + j] + (bn ? bn[j] : S(0));
    const S n = tanh_(x[2 * H + j] + r * hn_);
    g3[j] = r;
    g3[H + j] = z;
    g3[2 * H + j] = n;
    rnb[j] = hn_;
    hnew[j] = (S(1) - z) * n + z * hi[j];
  }
}

template <typename S>
NOINLINE void gru_back_row(int64_t H, const S* RS dhn, const S* RS g3, const S* RS rnb, const S* RS hi, S* RS dx,
                           S* RS dr, S* RS direct) {
  for (int64_t j = 0; j < H; ++j) {
    const S r = g3[j], z = g3[H + j], n = g3[2 * H + j];
    const S dan = dhn[j] * (S(1) - z) * (S(1) - n * n);
    const S daz = dhn[j] * (hi[j] - n) * z * (S(1) - z);
    const S dar = dan * rnb[j] * r * (S(1) - r);
    dx[j] = dar;
    dx[H + j] = daz;
    dx[2 * H + j] = dan;
    dr[j] = dar;
    dr[H + j] = daz;
    dr[2 * H + j] = dan * r;
    direct[j] = dhn[j] * z;
  }
}

template <typename S>
NOINLINE void rnn_fwd_row(int64_t H, bool relu, const S* RS x, const S* RS r, S* RS v) {
  if (relu) {
    for (int64_t j = 0; j < H; ++j) {
      const S a = x[j] + r[j];
      v[j] = a > S(0) ? a : S(0);
    }
  } else {
    for (int64_t j = 0; j < H; ++j) v[j] = tanh_(x[j] + r[j]);
  }
}

template <typename S>
NOINLINE void rnn_back_row(int64_t H, bool relu, const S* RS dv, const S* RS v, S* RS da) {
  if (relu) {
    for (int64_t j = 0; j < H; ++j) da[j] = v[j] > S(0) ? dv[j] : S(0);
  } else {
    for (int64_t j = 0; j < H; ++j) da[j] = dv[j] * (S(1) - v[j] * v[j]);
  }
}

// =================================================================== LSTM family
// lstm, peephole (peep = (3, H): p_i, p_f, p_o), layernorm (ln_hh_*, ln_c_*),
// with an optional projection weight_hr (whr).
template <typename scalar_t>
std::vector<Tensor> lstm_forward_impl(const Tensor& xp, const Tensor& h0, const Tensor& c0, const Tensor& whh,
                                      const OptT& whr, const OptT& valid, const OptT& hmask, const OptT& zh,
                                      double zh_p, const OptT& zc, double zc_p, const OptT& peep,
                                      const OptT& lnhh_w, const OptT& lnhh_b, const OptT& lnc_w, const OptT& lnc_b,
                                      const OptT& lnih, double eps, bool save) {
  using S = scalar_t;
  const int64_t T = xp.size(0), B = xp.size(1), G = xp.size(2), H = G / 4, P = h0.size(1);
  const bool proj = has(whr), lnhh = has(lnhh_w), lnc = has(lnc_w), lnx = has(lnih);
  auto opt = xp.options();
  const int64_t TS = save ? T : 1;  // saved sequences have T steps, else one reused slot
  // layer norm of the input projection (layernorm cell): xp is then the raw
  // projection and lnih = (gain, bias, b_ih + b_hh), each (G,)
  Tensor xhat = lnx ? at::empty({TS, B, G}, opt) : Tensor();
  Tensor rstd_ih = lnx ? at::empty({TS, B}, opt) : Tensor();
  Tensor xa = lnx ? at::empty({B, G}, opt) : Tensor();
  const S* LX = lnx ? lnih->data_ptr<S>() : nullptr;
  Tensor out = at::empty({T, B, P}, opt);
  Tensor h = h0.clone();
  Tensor cseq = at::empty({save ? T + 1 : 2, B, H}, opt);
  cseq[0].copy_(c0);
  Tensor gates = at::empty({TS, B, G}, opt);
  Tensor cn = at::empty({TS, B, H}, opt);
  Tensor th = at::empty({TS, B, H}, opt);
  Tensor hin = at::empty({TS, B, P}, opt);
  Tensor hf = at::empty({TS, B, H}, opt);  // o * th: h_t before projection, zoneout and mask
  Tensor rhat = lnhh ? at::empty({TS, B, G}, opt) : Tensor();
  Tensor rstd_hh = lnhh ? at::empty({TS, B}, opt) : Tensor();
  Tensor yhat = lnc ? at::empty({TS, B, H}, opt) : Tensor();
  Tensor rstd_c = lnc ? at::empty({TS, B}, opt) : Tensor();
  Tensor zeros = at::zeros({3, H}, opt);

  const S* X = xp.data_ptr<S>();
  const S* V = ptr_or_null<S>(valid);
  const S* M = ptr_or_null<S>(hmask);
  const S* PP = has(peep) ? peep->data_ptr<S>() : zeros.data_ptr<S>();
  const S *pi = PP, *pf = PP + H, *po = PP + 2 * H;
  const S* ghh = ptr_or_null<S>(lnhh_w);
  const S* bhh = ptr_or_null<S>(lnhh_b);
  const S* gc = ptr_or_null<S>(lnc_w);
  const S* bc = ptr_or_null<S>(lnc_b);
  Keep<S> KH(zh, zh_p, B * P), KC(zc, zc_p, B * H);
  S* Hc = h.data_ptr<S>();
  S* O = out.data_ptr<S>();
  S* CS = cseq.data_ptr<S>();

  for (int64_t t = 0; t < T; ++t) {
    const int64_t s = save ? t : 0;
    S* hin_t = hin.data_ptr<S>() + s * B * P;
    copy_masked<S>(B * P, Hc, M, hin_t);
    Tensor R = wlinear(hin[s], whh);  // (B, G)
    S* Rp = R.data_ptr<S>();
    const S* cprev = CS + (save ? t : (t & 1)) * B * H;
    S* cnext = CS + (save ? t + 1 : ((t + 1) & 1)) * B * H;
    S* gt = gates.data_ptr<S>() + s * B * G;
    S* cnt = cn.data_ptr<S>() + s * B * H;
    S* tht = th.data_ptr<S>() + s * B * H;
    S* hft = hf.data_ptr<S>() + s * B * H;
    S* rht = lnhh ? rhat.data_ptr<S>() + s * B * G : nullptr;
    S* rst = lnhh ? rstd_hh.data_ptr<S>() + s * B : nullptr;
    S* yht = lnc ? yhat.data_ptr<S>() + s * B * H : nullptr;
    S* rsc = lnc ? rstd_c.data_ptr<S>() + s * B : nullptr;
    S* Ot = O + t * B * P;

    S* xht = lnx ? xhat.data_ptr<S>() + s * B * G : nullptr;
    S* rsx = lnx ? rstd_ih.data_ptr<S>() + s * B : nullptr;
    over_rows(B, G, [&](int64_t b) {
      const S* x = X + (t * B + b) * G;
      if (lnx) {  // x := LN_ih(x) + b_ih + b_hh
        S mean, rstd;
        row_stats(x, G, eps, mean, rstd);
        rsx[b] = rstd;
        normalise_row<S>(G, x, mean, rstd, xht + b * G);
        S* xab = xa.data_ptr<S>() + b * G;
        affine2_row<S>(G, xht + b * G, LX, LX + G, LX + 2 * G, xab);
        x = xab;
      }
      S* r = Rp + b * G;
      if (lnhh) {  // r := LN_hh(r) = g * rhat + b
        S mean, rstd;
        row_stats(r, G, eps, mean, rstd);
        rst[b] = rstd;
        normalise_row<S>(G, r, mean, rstd, rht + b * G);
        affine_row<S>(G, rht + b * G, ghh, bhh, r);
      }
      const S m = V ? V[t * B + b] : S(1);
      S* g4 = gt + b * G;
      S* cnb = cnt + b * H;
      lstm_gates_row<S>(H, x, r, cprev + b * H, pi, pf, po, KC.row(t, b * H), KC.c, m, g4, cnb, cnext + b * H);
      S* yh = nullptr;
      if (lnc) {
        S mean, rstd;
        row_stats(cnb, H, eps, mean, rstd);
        rsc[b] = rstd;
        yh = yht + b * H;
        normalise_row<S>(H, cnb, mean, rstd, yh);
      }
      lstm_out_row<S>(H, cnb, g4 + 3 * H, yh, gc, bc, tht + b * H, hft + b * H);
      if (!proj) mix_row<S>(H, hft + b * H, KH.row(t, b * P), KH.c, m, Hc + b * P, Ot + b * P);
    });
    if (proj) {
      Tensor hn = wlinear(hf[s], *whr);  // (B, P)
      const S* hnp = hn.data_ptr<S>();
      for (int64_t b = 0; b < B; ++b) {
        const S m = V ? V[t * B + b] : S(1);
        mix_row<S>(P, hnp + b * P, KH.row(t, b * P), KH.c, m, Hc + b * P, Ot + b * P);
      }
    }
  }
  Tensor cT = cseq[save ? T : (T & 1)].clone();
  return {out, h, cT, gates, cseq, cn, th, hin, proj ? hf : Tensor(), rhat, rstd_hh, yhat, rstd_c, xhat, rstd_ih};
}

template <typename scalar_t>
std::vector<Tensor> lstm_backward_impl(const OptT& dout, const Tensor& dhT, const Tensor& dcT, const Tensor& gates,
                                       const Tensor& cseq, const Tensor& cn, const Tensor& th, const Tensor& whhT,
                                       const OptT& whrT, const OptT& valid, const OptT& hmask, const OptT& zh,
                                       double zh_p, const OptT& zc, double zc_p, const OptT& peep,
                                       const OptT& lnhh_w, const OptT& rhat, const OptT& rstd_hh, const OptT& lnc_w,
                                       const OptT& yhat, const OptT& rstd_c, const OptT& lnih, const OptT& xhat,
                                       const OptT& rstd_ih) {
  using S = scalar_t;
  const int64_t T = gates.size(0), B = gates.size(1), G = gates.size(2), H = G / 4, P = dhT.size(1);
  const bool proj = has(whrT), lnhh = has(lnhh_w), lnc = has(lnc_w), lnx = has(lnih);
  auto opt = gates.options();
  Tensor dA = at::empty({T, B, G}, opt);
  Tensor dX = lnx ? at::empty({T, B, G}, opt) : Tensor();  // d(raw input projection)
  const S* GIH = lnx ? lnih->data_ptr<S>() : nullptr;
  const S* XH = ptr_or_null<S>(xhat);
  const S* XS = ptr_or_null<S>(rstd_ih);
  Tensor dR = lnhh ? at::empty({T, B, G}, opt) : dA;
  Tensor dhn = proj ? at::empty({T, B, P}, opt) : Tensor();
  Tensor dy = lnc ? at::empty({T, B, H}, opt) : Tensor();
  Tensor gH = dhT.clone();
  Tensor gC = dcT.clone();
  Tensor dhf_buf = proj ? Tensor() : at::empty({B, H}, opt);
  Tensor dcn_buf = at::empty({B, H}, opt);
  Tensor scratch = (lnc || lnhh || lnx) ? at::empty({B, G}, opt) : Tensor();
  Tensor zeros = at::zeros({3, H}, opt);

  const S* DO = ptr_or_null<S>(dout);
  const S* V = ptr_or_null<S>(valid);
  const S* M = ptr_or_null<S>(hmask);
  const S* PP = has(peep) ? peep->data_ptr<S>() : zeros.data_ptr<S>();
  const S *pi = PP, *pf = PP + H, *po = PP + 2 * H;
  const S* ghh = ptr_or_null<S>(lnhh_w);
  const S* gc = ptr_or_null<S>(lnc_w);
  const S* RH = ptr_or_null<S>(rhat);
  const S* RSD = ptr_or_null<S>(rstd_hh);
  const S* YH = ptr_or_null<S>(yhat);
  const S* YS = ptr_or_null<S>(rstd_c);
  Keep<S> KH(zh, zh_p, B * P), KC(zc, zc_p, B * H);
  const S* GA = gates.data_ptr<S>();
  const S* CSQ = cseq.data_ptr<S>();
  const S* TH = th.data_ptr<S>();
  S* gh = gH.data_ptr<S>();
  S* gcp = gC.data_ptr<S>();
  S* dcnp = dcn_buf.data_ptr<S>();
  S* scr = scratch.defined() ? scratch.data_ptr<S>() : nullptr;

  for (int64_t t = T - 1; t >= 0; --t) {
    S* dhn_t = proj ? dhn.data_ptr<S>() + t * B * P : dhf_buf.data_ptr<S>();
    for (int64_t b = 0; b < B; ++b) {
      const S m = V ? V[t * B + b] : S(1);
      h_back_row<S>(P, DO ? DO + (t * B + b) * P : nullptr, KH.row(t, b * P), KH.c, m, gh + b * P, dhn_t + b * P);
    }
    Tensor dhf_t = proj ? wlinear(dhn[t], *whrT) : dhf_buf;  // (B, H)
    const S* DHF = dhf_t.data_ptr<S>();
    S* dAt = dA.data_ptr<S>() + t * B * G;
    S* dRt = dR.data_ptr<S>() + t * B * G;
    over_rows(B, G, [&](int64_t b) {
      const int64_t row = t * B + b;
      const S m = V ? V[row] : S(1);
      const S* g4 = GA + row * G;
      const S* thb = TH + row * H;
      const S* dhf = DHF + b * H;
      S* dcn = dcnp + b * H;
      if (lnc) {
        S* dyb = dy.data_ptr<S>() + row * H;
        S* dyh = scr + b * G;
        lstm_dy_row<S>(H, dhf, g4 + 3 * H, thb, dyb);
        mul_row<S>(H, dyb, gc, dyh);
        ln_backward_row(dyh, YH + row * H, YS[row], H, dcn, false);
      } else {
        lstm_dy_row<S>(H, dhf, g4 + 3 * H, thb, dcn);
      }
      S* da = dAt + b * G;
      lstm_back_row<S>(H, dcn, g4, CSQ + row * H, thb, dhf, pi, pf, po, KC.row(t, b * H), KC.c, m, gcp + b * H, da);
      if (lnhh) {
        S* tmp = scr + b * G;
        mul_row<S>(G, da, ghh, tmp);
        ln_backward_row(tmp, RH + row * G, RSD[row], G, dRt + b * G, false);
      }
      if (lnx) {
        S* tmp = scr + b * G;
        mul_row<S>(G, da, GIH, tmp);
        ln_backward_row(tmp, XH + row * G, XS[row], G, dX.data_ptr<S>() + row * G, false);
      }
    });
    Tensor dhin = wlinear(dR[t], whhT);  // (B, P)
    add_dhin<S>(B * P, dhin.data_ptr<S>(), nullptr, M, gh);
  }
  return {dA, lnhh ? dR : Tensor(), dhn, dy, gH, gC, dX};
}

// ======================================================================== GRU
// xp includes b_ih and the r, z slices of b_hh; bhn is the n slice of b_hh
// (inside the reset gate's product).
template <typename scalar_t>
std::vector<Tensor> gru_forward_impl(const Tensor& xp, const Tensor& h0, const Tensor& whh, const OptT& bhn,
                                     const OptT& valid, const OptT& hmask, const OptT& zh, double zh_p, bool save) {
  using S = scalar_t;
  const int64_t T = xp.size(0), B = xp.size(1), G = xp.size(2), H = G / 3;
  auto opt = xp.options();
  const int64_t TS = save ? T : 1;
  Tensor out = at::empty({T, B, H}, opt);
  Tensor h = h0.clone();
  Tensor gates = at::empty({TS, B, G}, opt);  // r, z, n
  Tensor rn = at::empty({TS, B, H}, opt);     // W_hn h + b_hn
  Tensor hin = at::empty({TS, B, H}, opt);
  Tensor hnew = at::empty({B, H}, opt);
  const S* X = xp.data_ptr<S>();
  const S* V = ptr_or_null<S>(valid);
  const S* M = ptr_or_null<S>(hmask);
  const S* BN = ptr_or_null<S>(bhn);
  Keep<S> KH(zh, zh_p, B * H);
  S* Hc = h.data_ptr<S>();
  S* O = out.data_ptr<S>();
  S* HN = hnew.data_ptr<S>();
  for (int64_t t = 0; t < T; ++t) {
    const int64_t s = save ? t : 0;
    S* hin_t = hin.data_ptr<S>() + s * B * H;
    copy_masked<S>(B * H, Hc, M, hin_t);
    Tensor R = wlinear(hin[s], whh);  // (B, 3H)
    const S* Rp = R.data_ptr<S>();
    S* gt = gates.data_ptr<S>() + s * B * G;
    S* rnt = rn.data_ptr<S>() + s * B * H;
    over_rows(B, G, [&](int64_t b) {
      const S m = V ? V[t * B + b] : S(1);
      gru_fwd_row<S>(H, X + (t * B + b) * G, Rp + b * G, BN, hin_t + b * H, gt + b * G, rnt + b * H, HN + b * H);
      mix_row<S>(H, HN + b * H, KH.row(t, b * H), KH.c, m, Hc + b * H, O + (t * B + b) * H);
    });
  }
  return {out, h, gates, rn, hin};
}

template <typename scalar_t>
std::vector<Tensor> gru_backward_impl(const OptT& dout, const Tensor& dhT, const Tensor& gates, const Tensor& rn,
                                      const Tensor& hin, const Tensor& whhT, const OptT& valid, const OptT& hmask,
                                      const OptT& zh, double zh_p) {
  using S = scalar_t;
  const int64_t T = gates.size(0), B = gates.size(1), G = gates.size(2), H = G / 3;
  auto opt = gates.options();
  Tensor dxp = at::empty({T, B, G}, opt);
  Tensor dR = at::empty({T, B, G}, opt);
  Tensor gH = dhT.clone();
  Tensor direct = at::empty({B, H}, opt);  // dh_in through z * h_in
  Tensor dhn = at::empty({B, H}, opt);
  const S* DO = ptr_or_null<S>(dout);
  const S* V = ptr_or_null<S>(valid);
  const S* M = ptr_or_null<S>(hmask);
  Keep<S> KH(zh, zh_p, B * H);
  const S* GA = gates.data_ptr<S>();
  const S* RN = rn.data_ptr<S>();
  const S* HI = hin.data_ptr<S>();
  S* gh = gH.data_ptr<S>();
  S* dir = direct.data_ptr<S>();
  S* DHN = dhn.data_ptr<S>();
  S* DX = dxp.data_ptr<S>();
  S* DR = dR.data_ptr<S>();
  for (int64_t t = T - 1; t >= 0; --t) {
    over_rows(B, G, [&](int64_t b) {
      const int64_t row = t * B + b;
      const S m = V ? V[row] : S(1);
      h_back_row<S>(H, DO ? DO + row * H : nullptr, KH.row(t, b * H), KH.c, m, gh + b * H, DHN + b * H);
      gru_back_row<S>(H, DHN + b * H, GA + row * G, RN + row * H, HI + row * H, DX + row * G, DR + row * G,
                      dir + b * H);
    });
    Tensor dhin = wlinear(dR[t], whhT);  // (B, H)
    add_dhin<S>(B * H, dhin.data_ptr<S>(), dir, M, gh);
  }
  return {dxp, dR, gH};
}

// ======================================================================== RNN
template <typename scalar_t>
std::vector<Tensor> rnn_forward_impl(const Tensor& xp, const Tensor& h0, const Tensor& whh, bool relu,
                                     const OptT& valid, const OptT& hmask, const OptT& zh, double zh_p, bool save) {
  using S = scalar_t;
  const int64_t T = xp.size(0), B = xp.size(1), H = xp.size(2);
  auto opt = xp.options();
  const int64_t TS = save ? T : 1;
  Tensor out = at::empty({T, B, H}, opt);
  Tensor h = h0.clone();
  Tensor hn = at::empty({TS, B, H}, opt);  // the new h before zoneout and masking
  Tensor hin = at::empty({TS, B, H}, opt);
  const S* X = xp.data_ptr<S>();
  const S* V = ptr_or_null<S>(valid);
  const S* M = ptr_or_null<S>(hmask);
  Keep<S> KH(zh, zh_p, B * H);
  S* Hc = h.data_ptr<S>();
  S* O = out.data_ptr<S>();
  for (int64_t t = 0; t < T; ++t) {
    const int64_t s = save ? t : 0;
    S* hin_t = hin.data_ptr<S>() + s * B * H;
    copy_masked<S>(B * H, Hc, M, hin_t);
    Tensor R = wlinear(hin[s], whh);
    const S* Rp = R.data_ptr<S>();
    S* hnt = hn.data_ptr<S>() + s * B * H;
    over_rows(B, H, [&](int64_t b) {
      const S m = V ? V[t * B + b] : S(1);
      rnn_fwd_row<S>(H, relu, X + (t * B + b) * H, Rp + b * H, hnt + b * H);
      mix_row<S>(H, hnt + b * H, KH.row(t, b * H), KH.c, m, Hc + b * H, O + (t * B + b) * H);
    });
  }
  return {out, h, hn, hin};
}

template <typename scalar_t>
std::vector<Tensor> rnn_backward_impl(const OptT& dout, const Tensor& dhT, const Tensor& hn, const Tensor& whhT,
                                      bool relu, const OptT& valid, const OptT& hmask, const OptT& zh, double zh_p) {
  using S = scalar_t;
  const int64_t T = hn.size(0), B = hn.size(1), H = hn.size(2);
  Tensor dA = at::empty({T, B, H}, hn.options());
  Tensor gH = dhT.clone();
  Tensor dv = at::empty({B, H}, hn.options());
  const S* DO = ptr_or_null<S>(dout);
  const S* V = ptr_or_null<S>(valid);
  const S* M = ptr_or_null<S>(hmask);
  Keep<S> KH(zh, zh_p, B * H);
  const S* HN = hn.data_ptr<S>();
  S* gh = gH.data_ptr<S>();
  S* DV = dv.data_ptr<S>();
  S* DA = dA.data_ptr<S>();
  for (int64_t t = T - 1; t >= 0; --t) {
    over_rows(B, H, [&](int64_t b) {
      const int64_t row = t * B + b;
      const S m = V ? V[row] : S(1);
      h_back_row<S>(H, DO ? DO + row * H : nullptr, KH.row(t, b * H), KH.c, m, gh + b * H, DV + b * H);
      rnn_back_row<S>(H, relu, DV + b * H, HN + row * H, DA + row * H);
    });
    Tensor dhin = wlinear(dA[t], whhT);
    add_dhin<S>(B * H, dhin.data_ptr<S>(), nullptr, M, gh);
  }
  return {dA, gH};
}

// ================================================================= streaming
// One step of a whole unidirectional stack for a few rows (batch 1 in
// streaming): no autograd, no saved activations, no packed copy of the
// weights. The hidden units of a layer are split over threads; for each unit
// a thread computes its gate rows of W_ih x_t and W_hh h_{t-1} as independent
// dot products straight from the weights in their own layout (four rows at a
// time: independent accumulators instead of one long dependency chain), then
// the unit's state update, so a layer is one pass over its weights and one
// parallel region. The split is the same at every step, so each thread's rows
// stay in its own core's cache when they fit.

template <typename S>
struct SVec {
  typedef S v __attribute__((vector_size(64)));
  static constexpr int L = 64 / static_cast<int>(sizeof(S));
};

template <typename V, typename S>
inline V vld(const S* p) {
  V x;
  std::memcpy(&x, p, sizeof x);
  return x;
}

// Four dot products at once: acc[r] accumulates w[r] . v over one or more
// (w, v) segments (a gate's row of W_ih against x, then of W_hh against h),
// two vectors per row in flight, and is reduced to a number only at the end.
// How many rows ahead Dot4 fetches its weight rows into L1: the rows of a
// unit's four gates are eight streams at once (input and recurrent side),
// more than the hardware prefetcher follows into L1. Two rows ahead (the unit
// after next), measured on the batch-1 step, alternating builds: H=256, one
// layer (weights in L2) 36-38 -> 32-34 us; no change where they come from L3
// (two layers) or sit in L1 (H=64). Past a matrix's end it fetches nothing
// useful: a prefetch never faults.
constexpr int64_t kRowsAhead = 2;

template <typename S>
struct Dot4 {
  using V = typename SVec<S>::v;
  static constexpr int L = SVec<S>::L;
  V a[4], b[4];
  S tail[4];
  Dot4() {
    for (int r = 0; r < 4; ++r) {
      a[r] = b[r] = V{};
      tail[r] = S(0);
    }
  }
  // rows whose bit is set in MASK take part (w[r] unused otherwise)
  template <unsigned MASK>
  inline void add(const S* const (&w)[4], const S* RS v, int64_t K) {
    int64_t k = 0;
    for (; k + 2 * L <= K; k += 2 * L) {
      const V x0 = vld<V>(v + k), x1 = vld<V>(v + k + L);
      for (int r = 0; r < 4; ++r) {
        if (!(MASK & (1u << r))) continue;
#if defined(__AVX512F__)
        if constexpr (kRowsAhead > 0) {
          _mm_prefetch(reinterpret_cast<const char*>(w[r] + k + kRowsAhead * K), _MM_HINT_T0);
          _mm_prefetch(reinterpret_cast<const char*>(w[r] + k + kRowsAhead * K + L), _MM_HINT_T0);
        }
#endif
        a[r] += vld<V>(w[r] + k) * x0;
        b[r] += vld<V>(w[r] + k + L) * x1;
      }
    }
    if (k + L <= K) {
      const V x0 = vld<V>(v + k);
      for (int r = 0; r < 4; ++r)
        if (MASK & (1u << r)) a[r] += vld<V>(w[r] + k) * x0;
      k += L;
    }
    for (; k < K; ++k)
      for (int r = 0; r < 4; ++r)
        if (MASK & (1u << r)) tail[r] += w[r][k] * v[k];
  }
  inline void sums(S* out) const;
};

template <typename S>
inline void Dot4<S>::sums(S* out) const {
  for (int r = 0; r < 4; ++r) {
    const V s = a[r] + b[r];
    S t = s[0];
    for (int l = 1; l < L; ++l) t += s[l];
    out[r] = t + tail[r];
  }
}

#if defined(__AVX512F__) && defined(__AVX512DQ__)
// float: the four 16-lane sums by halving and pairwise adds (a dozen
// instructions, where lane-by-lane sums take sixty dependent ones)
template <>
inline void Dot4<float>::sums(float* out) const {
  __m256 y[4];
  for (int r = 0; r < 4; ++r) {
    const V s = a[r] + b[r];
    __m512 z;
    std::memcpy(&z, &s, sizeof z);
    y[r] = _mm256_add_ps(_mm512_castps512_ps256(z), _mm512_extractf32x8_ps(z, 1));
  }
  const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(y[0], y[1]), _mm256_hadd_ps(y[2], y[3]));
  const __m128 q = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
  float f[4];
  _mm_storeu_ps(f, q);
  for (int r = 0; r < 4; ++r) out[r] = f[r] + tail[r];
}
#endif

template <typename S>
inline S at_or0(const S* p, int64_t i) {
  return p ? p[i] : S(0);
}

// The parameters of one layer, as raw pointers (biases, projection and
// peepholes may be null).
template <typename S>
struct StepLayer {
  const S *wih, *whh, *bih, *bhh, *whr, *ci, *cf, *co;
  int64_t I;
};

// Which products a pass of step_units takes (see StreamStep::run for why a
// layer is split in two passes).
enum StepPart : int { kBoth = 0, kInputOnly, kStateOnly, kInputFinish, kStateFinish };

// Units [j0, j1) of one layer for all B rows. kind: 0 lstm/peephole, 1 gru,
// 2 rnn_tanh, 3 rnn_relu. x (B, I), h (B, P), c (B, H) the previous state;
// writes hout (B, P) (after zoneout) or, with a projection, hfull (B, H)
// before it; cout (B, H) for LSTMs. part: kBoth takes both products and
// finishes the units; kInputOnly / kStateOnly take one product and store its
// four sums per unit in buf (B, 4, H) without finishing; kInputFinish /
// kStateFinish take the other product, add buf's sums and finish. rev walks
// the blocks of units from the last to the first.
template <typename S>
void step_units(int64_t kind, const StepLayer<S>& w, int64_t j0, int64_t j1, int64_t B, int64_t H, int64_t P,
                const S* RS x, const S* RS h, const S* RS c, S kh, S kc, S* RS hout, S* RS cout, S* RS hfull,
                int part = kBoth, S* RS buf = nullptr, bool rev = false) {
  constexpr int JB = 16;
  const int64_t I = w.I;
  const bool use_x = part == kBoth || part == kInputOnly || part == kInputFinish;
  const bool use_h = part == kBoth || part == kStateOnly || part == kStateFinish;
  const bool store = part == kInputOnly || part == kStateOnly;
  const bool add_buf = part == kInputFinish || part == kStateFinish;
  // the four sums of unit slot q (the gates of unit j, or units j..j+3 for
  // the plain RNNs) go to / come from buf[(b * 4 + q) * H + j]
  auto split = [&](S* a, int64_t b, int64_t j, int q_end, bool per_unit) {
    for (int q = 0; q < q_end; ++q) {
      S* slot = buf + (per_unit ? (b * 4) * H + j + q : (b * 4 + q) * H + j);
      if (store)
        *slot = a[q];
      else if (add_buf)
        a[q] += *slot;
    }
  };
  S pre[4][JB];
  const int64_t nblk = (j1 - j0 + JB - 1) / JB;
  for (int64_t k = 0; k < nblk; ++k) {
    const int64_t jb = j0 + (rev ? nblk - 1 - k : k) * JB;
    const int64_t n = std::min<int64_t>(JB, j1 - jb);
    for (int64_t b = 0; b < B; ++b) {
      const S* xb = x + b * I;
      const S* hb = h + b * P;
      if (kind == 0) {
        for (int64_t u = 0; u < n; ++u) {
          const int64_t j = jb + u;
          const S* wi[4] = {w.wih + j * I, w.wih + (H + j) * I, w.wih + (2 * H + j) * I, w.wih + (3 * H + j) * I};
          const S* wh[4] = {w.whh + j * P, w.whh + (H + j) * P, w.whh + (2 * H + j) * P, w.whh + (3 * H + j) * P};
          Dot4<S> d;
          if (use_x) d.template add<0xF>(wi, xb, I);
          if (use_h) d.template add<0xF>(wh, hb, P);
          S a[4];
          d.sums(a);
          split(a, b, j, 4, false);
          if (store) continue;
          for (int q = 0; q < 4; ++q) pre[q][u] = a[q] + at_or0(w.bih, q * H + j) + at_or0(w.bhh, q * H + j);
        }
        if (store) continue;
        const S* cb = c + b * H;
        for (int64_t u = 0; u < n; ++u) {
          const int64_t j = jb + u;
          const S c_ = cb[j];
          const S i = sigm(pre[0][u] + (w.ci ? w.ci[j] * c_ : S(0)));
          const S f = sigm(pre[1][u] + (w.cf ? w.cf[j] * c_ : S(0)));
          const S g = tanh_(pre[2][u]);
          const S cnew = f * c_ + i * g;
          const S o = sigm(pre[3][u] + (w.co ? w.co[j] * cnew : S(0)));
          const S hnew = o * tanh_(cnew);
          cout[b * H + j] = kc * c_ + (S(1) - kc) * cnew;
          if (hfull)
            hfull[b * H + j] = hnew;
          else
            hout[b * P + j] = kh * hb[j] + (S(1) - kh) * hnew;
        }
      } else if (kind == 1) {
        for (int64_t u = 0; u < n; ++u) {
          const int64_t j = jb + u;
          // accumulators: r and z (both products), n's input part, n's recurrent part
          const S* wi[4] = {w.wih + j * I, w.wih + (H + j) * I, w.wih + (2 * H + j) * I, nullptr};
          const S* wh[4] = {w.whh + j * P, w.whh + (H + j) * P, nullptr, w.whh + (2 * H + j) * P};
          Dot4<S> d;
          if (use_x) d.template add<0x7>(wi, xb, I);
          if (use_h) d.template add<0xB>(wh, hb, P);
          S a[4];
          d.sums(a);
          split(a, b, j, 4, false);
          if (store) continue;
          pre[0][u] = a[0] + at_or0(w.bih, j) + at_or0(w.bhh, j);
          pre[1][u] = a[1] + at_or0(w.bih, H + j) + at_or0(w.bhh, H + j);
          pre[2][u] = a[2] + at_or0(w.bih, 2 * H + j);
          pre[3][u] = a[3] + at_or0(w.bhh, 2 * H + j);
        }
        if (store) continue;
        for (int64_t u = 0; u < n; ++u) {
          const int64_t j = jb + u;
          const S rr = sigm(pre[0][u]);
          const S z = sigm(pre[1][u]);
          const S nn = tanh_(pre[2][u] + rr * pre[3][u]);
          const S hnew = (S(1) - z) * nn + z * hb[j];
          hout[b * P + j] = kh * hb[j] + (S(1) - kh) * hnew;
        }
      } else {
        for (int64_t u = 0; u < n; u += 4) {  // four units at a time (the last rows repeated past the end)
          const int64_t j = jb + u;
          const int64_t j1 = std::min(j + 1, jb + n - 1), j2 = std::min(j + 2, jb + n - 1),
                        j3 = std::min(j + 3, jb + n - 1);
          const S* wi[4] = {w.wih + j * I, w.wih + j1 * I, w.wih + j2 * I, w.wih + j3 * I};
          const S* wh[4] = {w.whh + j * P, w.whh + j1 * P, w.whh + j2 * P, w.whh + j3 * P};
          Dot4<S> d;
          if (use_x) d.template add<0xF>(wi, xb, I);
          if (use_h) d.template add<0xF>(wh, hb, P);
          S a[4];
          d.sums(a);
          split(a, b, j, static_cast<int>(std::min<int64_t>(4, n - u)), true);
          if (store) continue;
          for (int q = 0; q < 4 && u + q < n; ++q) pre[0][u + q] = a[q] + at_or0(w.bih, j + q) + at_or0(w.bhh, j + q);
        }
        if (store) continue;
        for (int64_t u = 0; u < n; ++u) {
          const int64_t j = jb + u;
          const S v = pre[0][u];
          const S hnew = kind == 3 ? (v > S(0) ? v : S(0)) : tanh_(v);
          hout[b * P + j] = kh * hb[j] + (S(1) - kh) * hnew;
        }
      }
    }
  }
}

// Rows [p0, p1) of the LSTM projection h = W_hr hfull, then zoneout.
template <typename S>
void step_projection(const S* RS whr, int64_t p0, int64_t p1, int64_t B, int64_t H, int64_t P, const S* RS hfull,
                     const S* RS h, S kh, S* RS hout) {
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t p = p0; p < p1; p += 4) {  // (the last row repeated past the end)
      const S* wr[4] = {whr + p * H, whr + std::min(p + 1, p1 - 1) * H, whr + std::min(p + 2, p1 - 1) * H,
                        whr + std::min(p + 3, p1 - 1) * H};
      Dot4<S> d;
      d.template add<0xF>(wr, hfull + b * H, H);
      S y[4];
      d.sums(y);
      for (int q = 0; q < 4 && p + q < p1; ++q) hout[b * P + p + q] = kh * h[b * P + p + q] + (S(1) - kh) * y[q];
    }
  }
}

// Each parallel chunk gets at least this many multiply-adds: below it a
// thread's wake-up costs more than the work it takes over.
constexpr int64_t kStepGrainMacs = 32768;

// The parameters of a stack, held for the steps of one stream: the very
// tensors of the module (in-place updates are seen; Python rebuilds the object
// when a parameter is replaced). kind as in step_units.
struct StreamStep {
  int64_t kind;
  std::vector<Tensor> w_ih, w_hh;
  std::vector<OptT> b_ih, b_hh, w_hr, w_ci, w_cf, w_co;
  double zh, zc;
  int64_t L = 0, H = 0, P = 0, I0 = 0;
  int64_t weight_bytes = 0;  // every layer's W_ih, W_hh and W_hr
  // the walk's direction, turned at every call (see run); mutable: a call
  // is otherwise const, and a stream's steps are sequential
  mutable bool backwards = false;
  int64_t split_layers = -1;  // -1: by the rule in run; 0: never; 1: always (tests)
  // what try_call compares: where every parameter kept its data when the
  // stream began, and the thread count then
  std::vector<const void*> data_at_start;
  int threads_at_start = 0;

  StreamStep(int64_t kind_, std::vector<Tensor> w_ih_, std::vector<Tensor> w_hh_, std::vector<OptT> b_ih_,
             std::vector<OptT> b_hh_, std::vector<OptT> w_hr_, std::vector<OptT> w_ci_, std::vector<OptT> w_cf_,
             std::vector<OptT> w_co_, double zh_, double zc_)
      : kind(kind_), w_ih(std::move(w_ih_)), w_hh(std::move(w_hh_)), b_ih(std::move(b_ih_)), b_hh(std::move(b_hh_)),
        w_hr(std::move(w_hr_)), w_ci(std::move(w_ci_)), w_cf(std::move(w_cf_)), w_co(std::move(w_co_)), zh(zh_),
        zc(zc_) {
    TORCH_CHECK(kind >= 0 && kind <= 3, "StreamStep: expected kind 0-3, got ", kind);
    L = static_cast<int64_t>(w_ih.size());
    TORCH_CHECK(L > 0 && w_hh.size() == w_ih.size() && b_ih.size() == w_ih.size() && b_hh.size() == w_ih.size() &&
                    w_hr.size() == w_ih.size() && w_ci.size() == w_ih.size() && w_cf.size() == w_ih.size() &&
                    w_co.size() == w_ih.size(),
                "StreamStep: expected one entry per layer in every parameter list");
    const int64_t gates = kind == 0 ? 4 : (kind == 1 ? 3 : 1);
    H = w_hh[0].size(0) / gates;
    P = w_hh[0].size(1);
    I0 = w_ih[0].size(1);
    check_parameters();
    for_each_parameter([&](const Tensor& t) { data_at_start.push_back(t.data_ptr()); });
    threads_at_start = at::get_num_threads();
    for (int64_t l = 0; l < L; ++l)
      weight_bytes += (w_ih[l].numel() + w_hh[l].numel() + (has(w_hr[l]) ? w_hr[l]->numel() : 0)) *
                      static_cast<int64_t>(w_ih[l].element_size());
  }

  template <typename F>
  void for_each_parameter(const F& f) const {
    for (int64_t l = 0; l < L; ++l) {
      f(w_ih[l]);
      f(w_hh[l]);
      for (const auto* o : {&b_ih[l], &b_hh[l], &w_hr[l], &w_ci[l], &w_cf[l], &w_co[l]})
        if (has(*o)) f(**o);
    }
  }

  // the shapes, dtype and layout the loops rely on (cheap: run on every call,
  // since a parameter's .data may have been replaced in place)
  void check_parameters() const {
    const auto dtype = w_ih[0].scalar_type();
    const int64_t gates = kind == 0 ? 4 : (kind == 1 ? 3 : 1);
    auto ok = [&](const Tensor& t, std::initializer_list<int64_t> shape) {
      return t.scalar_type() == dtype && t.device().is_cpu() && t.is_contiguous() && t.sizes().equals(shape);
    };
    auto ok_opt = [&](const OptT& t, std::initializer_list<int64_t> shape) { return !has(t) || ok(*t, shape); };
    for (int64_t l = 0; l < L; ++l) {
      const int64_t I = l == 0 ? I0 : P;
      TORCH_CHECK(ok(w_ih[l], {gates * H, I}) && ok(w_hh[l], {gates * H, P}) && ok_opt(b_ih[l], {gates * H}) &&
                      ok_opt(b_hh[l], {gates * H}) && ok_opt(w_ci[l], {H}) && ok_opt(w_cf[l], {H}) &&
                      ok_opt(w_co[l], {H}),
                  "StreamStep: layer ", l, " parameters changed shape, dtype or layout since the stream began");
      TORCH_CHECK(has(w_hr[l]) ? (kind == 0 && ok(*w_hr[l], {P, H})) : P == H,
                  "StreamStep: layer ", l, " projection does not match the state sizes");
    }
  }

  template <typename S>
  std::vector<Tensor> run(const Tensor& x, const Tensor& h, const Tensor& c) const {
    const int64_t B = x.size(0);
    auto opt = x.options();
    Tensor hn = at::empty({L, B, P}, opt);
    Tensor cn = kind == 0 ? at::empty({L, B, H}, opt) : Tensor();
    Tensor hfull;
    const S kh = S(zh), kc = S(zc);
    const int64_t rows = kind == 0 ? 4 : (kind == 1 ? 3 : 1);
    // A stream reads all its weights at every step. Where they do not fit in
    // the L2 of the cores that share them, the usual walk (first row to last,
    // every step) is the worst case for a cache that keeps what was used
    // last: each row is evicted before it comes round again. So the walk
    // turns at every call, starting where the last one ended; and the layers
    // above the first take their two products in separate passes, so that
    // the recurrent product (which does not wait for the layer below) can
    // come first, right after the previous step's last reads. Measured at
    // B=1 H=256 2 layers (3.5 MB), 1 thread: 141 -> 114 us per step.
    const bool odd = (backwards = !backwards);
    const bool split = L > 1 && (split_layers < 0 ? 4 * weight_bytes > 3 * lstmkit_threads::l2_bytes() * lstmkit_threads::loop_threads()
                                                  : split_layers > 0);
    Tensor bufs = split ? at::empty({L, B, 4, H}, opt) : Tensor();
    auto pass = [&](int64_t l, int part, bool rev) {
      StepLayer<S> w{w_ih[l].data_ptr<S>(), w_hh[l].data_ptr<S>(), ptr_or_null<S>(b_ih[l]), ptr_or_null<S>(b_hh[l]),
                     ptr_or_null<S>(w_hr[l]), ptr_or_null<S>(w_ci[l]), ptr_or_null<S>(w_cf[l]),
                     ptr_or_null<S>(w_co[l]), w_ih[l].size(1)};
      const S* xin = l == 0 ? x.data_ptr<S>() : hn.data_ptr<S>() + (l - 1) * B * P;
      const S* hl = h.data_ptr<S>() + l * B * P;
      const S* cl = kind == 0 ? c.data_ptr<S>() + l * B * H : nullptr;
      S* ho = hn.data_ptr<S>() + l * B * P;
      S* co = kind == 0 ? cn.data_ptr<S>() + l * B * H : nullptr;
      S* buf = split ? bufs.data_ptr<S>() + l * B * 4 * H : nullptr;
      S* hf = nullptr;
      if (w.whr) {
        if (!hfull.defined()) hfull = at::empty({B, H}, opt);
        hf = hfull.data_ptr<S>();
      }
      const int64_t macs = std::max<int64_t>(1, rows * (w.I + P) * B);
      lstmkit_threads::guarded_for(0, H, std::max<int64_t>(16, kStepGrainMacs / macs), [&](int64_t j0, int64_t j1) {
        step_units<S>(kind, w, j0, j1, B, H, P, xin, hl, cl, kh, kc, ho, co, hf, part, buf, rev);
      });
      if (w.whr && part != kInputOnly && part != kStateOnly) {
        lstmkit_threads::guarded_for(0, P, std::max<int64_t>(4, kStepGrainMacs / std::max<int64_t>(1, H * B)),
                         [&](int64_t p0, int64_t p1) { step_projection<S>(w.whr, p0, p1, B, H, P, hf, hl, kh, ho); });
      }
    };
    if (!split) {
      for (int64_t l = 0; l < L; ++l) pass(l, kBoth, odd);
    } else if (!odd) {
      pass(0, kBoth, false);
      for (int64_t l = 1; l < L; ++l) {
        pass(l, kInputOnly, false);
        pass(l, kStateFinish, false);
      }
    } else {
      for (int64_t l = L - 1; l >= 1; --l) pass(l, kStateOnly, true);
      pass(0, kBoth, true);
      for (int64_t l = 1; l < L; ++l) pass(l, kInputFinish, true);
    }
    return {hn.select(0, L - 1), hn, cn};
  }

  // (h_top (B, P), h (L, B, P), c (L, B, H) or undefined) after one step from
  // x (B, I) and the state (h, c); an undefined state part means zeros.
  std::vector<Tensor> call(const Tensor& x_, const OptT& h_, const OptT& c_) const {
    check_parameters();
    const auto dtype = w_ih[0].scalar_type();
    TORCH_CHECK(x_.dim() == 2 && x_.size(1) == I0 && x_.scalar_type() == dtype && x_.device().is_cpu(),
                "StreamStep: expected x of shape (B, ", I0, ") and the parameters' dtype, got ", x_.sizes(), " ",
                x_.scalar_type());
    const int64_t B = x_.size(0);
    auto state = [&](const OptT& s, int64_t n, const char* name) {
      if (!has(s)) return at::zeros({L, B, n}, x_.options());
      TORCH_CHECK(s->sizes().equals({L, B, n}) && s->scalar_type() == dtype && s->device().is_cpu(), "StreamStep: expected ",
                  name, " of shape (", L, ", ", B, ", ", n, ") and the parameters' dtype, got ", s->sizes(), " ",
                  s->scalar_type());
      return s->contiguous();
    };
    const Tensor x = x_.contiguous(), h = state(h_, P, "h");
    const Tensor c = kind == 0 ? state(c_, H, "c") : Tensor();
    return AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "stream_step", [&] { return run<scalar_t>(x, h, c); });
  }

  // call() for a stream's later steps, or nothing where the step is not one
  // the stream began with: x not (rows, I) in the parameters' dtype on the
  // CPU, a state part missing or of another shape, dtype or layout, another
  // thread count, a parameter's data moved (replaced in place), or anything
  // that needs autograd. The caller then takes its checked path, which says
  // what is wrong or plans the stream again. For Recurrent.step: each of
  // these checks is a field read here, where the same checks in Python are
  // calls through torch's bindings, and at B=1 H=256 two layers those cost
  // the step more in the weight lines they evict from L2 than in their own
  // time (measured: 30-50 us a step against a 120-140 us step).
  std::optional<std::vector<Tensor>> try_call(const Tensor& x, const OptT& h, const OptT& c, int64_t rows) const {
    const auto dtype = w_ih[0].scalar_type();
    if (x.dim() != 2 || x.size(0) != rows || x.size(1) != I0 || x.scalar_type() != dtype || !x.device().is_cpu() ||
        !x.is_contiguous() || at::get_num_threads() != threads_at_start)
      return std::nullopt;
    auto fits = [&](const OptT& s, int64_t n) {
      return has(s) && s->sizes().equals({L, rows, n}) && s->scalar_type() == dtype && s->device().is_cpu() &&
             s->is_contiguous();
    };
    if (!fits(h, P) || (kind == 0 ? !fits(c, H) : has(c))) return std::nullopt;
    bool moved = false, grads = false;
    size_t i = 0;
    for_each_parameter([&](const Tensor& t) {
      moved = moved || i >= data_at_start.size() || t.data_ptr() != data_at_start[i];
      grads = grads || t.requires_grad();
      ++i;
    });
    if (moved || i != data_at_start.size()) return std::nullopt;
    if (at::GradMode::is_enabled() &&
        (grads || x.requires_grad() || h->requires_grad() || (has(c) && c->requires_grad())))
      return std::nullopt;
    return call(x, h, c);
  }
};

}  // namespace

// ---------------------------------------------------------------- bindings
#define DISPATCH(T_, NAME, ...) AT_DISPATCH_FLOATING_TYPES((T_).scalar_type(), NAME, [&] { return __VA_ARGS__; })

std::vector<Tensor> lstm_forward(Tensor xp, Tensor h0, Tensor c0, Tensor whh, OptT whr, OptT valid, OptT hmask,
                                 OptT zh, double zh_p, OptT zc, double zc_p, OptT peep, OptT lnhh_w, OptT lnhh_b,
                                 OptT lnc_w, OptT lnc_b, OptT lnih, double eps, bool save) {
  return DISPATCH(xp, "lstm_forward",
                  lstm_forward_impl<scalar_t>(xp, h0, c0, whh, whr, valid, hmask, zh, zh_p, zc, zc_p, peep, lnhh_w,
                                              lnhh_b, lnc_w, lnc_b, lnih, eps, save));
}

std::vector<Tensor> lstm_backward(OptT dout, Tensor dhT, Tensor dcT, Tensor gates, Tensor cseq, Tensor cn, Tensor th,
                                  Tensor whhT, OptT whrT, OptT valid, OptT hmask, OptT zh, double zh_p, OptT zc,
                                  double zc_p, OptT peep, OptT lnhh_w, OptT rhat, OptT rstd_hh, OptT lnc_w, OptT yhat,
                                  OptT rstd_c, OptT lnih, OptT xhat, OptT rstd_ih) {
  return DISPATCH(gates, "lstm_backward",
                  lstm_backward_impl<scalar_t>(dout, dhT, dcT, gates, cseq, cn, th, whhT, whrT, valid, hmask, zh,
                                               zh_p, zc, zc_p, peep, lnhh_w, rhat, rstd_hh, lnc_w, yhat, rstd_c,
                                               lnih, xhat, rstd_ih));
}

std::vector<Tensor> gru_forward(Tensor xp, Tensor h0, Tensor whh, OptT bhn, OptT valid, OptT hmask, OptT zh,
                                double zh_p, bool save) {
  return DISPATCH(xp, "gru_forward", gru_forward_impl<scalar_t>(xp, h0, whh, bhn, valid, hmask, zh, zh_p, save));
}

std::vector<Tensor> gru_backward(OptT dout, Tensor dhT, Tensor gates, Tensor rn, Tensor hin, Tensor whhT, OptT valid,
                                 OptT hmask, OptT zh, double zh_p) {
  return DISPATCH(gates, "gru_backward",
                  gru_backward_impl<scalar_t>(dout, dhT, gates, rn, hin, whhT, valid, hmask, zh, zh_p));
}

std::vector<Tensor> rnn_forward(Tensor xp, Tensor h0, Tensor whh, bool relu, OptT valid, OptT hmask, OptT zh,
                                double zh_p, bool save) {
  return DISPATCH(xp, "rnn_forward", rnn_forward_impl<scalar_t>(xp, h0, whh, relu, valid, hmask, zh, zh_p, save));
}

std::vector<Tensor> rnn_backward(OptT dout, Tensor dhT, Tensor hn, Tensor whhT, bool relu, OptT valid, OptT hmask,
                                 OptT zh, double zh_p) {
  return DISPATCH(hn, "rnn_backward", rnn_backward_impl<scalar_t>(dout, dhT, hn, whhT, relu, valid, hmask, zh, zh_p));
}

// Keep freed blocks of up to `mmap_bytes` in the heap instead of returning
// them to the kernel. glibc's default hands large blocks back with munmap, so
// every training step page-faults its activations in again (measured: a third
// of an LSTM step at T=100, B=64, H=256, for torch.nn.LSTM as much as for us).
bool tune_malloc(int64_t mmap_bytes, int64_t trim_bytes) {
#ifdef M_MMAP_THRESHOLD
  return mallopt(M_MMAP_THRESHOLD, static_cast<int>(mmap_bytes)) == 1 &&
         mallopt(M_TRIM_THRESHOLD, static_cast<int>(trim_bytes)) == 1;
#else
  return false;
#endif
}

// Flush-to-zero and denormals-are-zero (MXCSR bits 15 and 6) on or off, on
// the calling thread and on every thread of the OpenMP team torch runs its
// parallel work on (torch.set_flush_denormal sets the calling thread's alone,
// so with 2 threads half of a parallel product still ran on denormals).
// Threads created later inherit the setting of the thread that creates them.
// Returns whether the calling thread had both bits set before. Elsewhere than
// on x86 (no MXCSR) it changes nothing and returns false.
bool flush_denormals(bool on) {
#if defined(__x86_64__) || defined(__i386__)
  constexpr unsigned kBits = 0x8040u;
  const bool before = (_mm_getcsr() & kBits) == kBits;
  auto apply = [on] {
    const unsigned csr = _mm_getcsr();
    _mm_setcsr(on ? (csr | kBits) : (csr & ~kBits));
  };
  apply();
#ifdef _OPENMP
  const int n = at::get_num_threads();
  if (n > 1) {
#pragma omp parallel num_threads(n)
    apply();
  }
#endif
  return before;
#else
  (void)on;
  return false;
#endif
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  py::class_<StreamStep>(m, "StreamStep")
      .def(py::init<int64_t, std::vector<Tensor>, std::vector<Tensor>, std::vector<OptT>, std::vector<OptT>,
                    std::vector<OptT>, std::vector<OptT>, std::vector<OptT>, std::vector<OptT>, double, double>())
      .def("__call__", &StreamStep::call)
      .def("try_call", &StreamStep::try_call)
      .def_readwrite("split_layers", &StreamStep::split_layers);
  m.def("tune_malloc", &tune_malloc);
  m.def("flush_denormals", &flush_denormals);
  m.def("lstm_forward", &lstm_forward);
  m.def("lstm_backward", &lstm_backward);
  m.def("gru_forward", &gru_forward);
  m.def("gru_backward", &gru_backward);
  m.def("rnn_forward", &rnn_forward);
  m.def("rnn_backward", &rnn_backward);
  m.def("lstm_fused_forward", &lstmkit_fused::forward);
  m.def("lstm_fused_forward_x", &lstmkit_fused::forward_x);
  m.def("lstm_fused_backward", &lstmkit_fused::backward);
  m.def("lstm_ln_fused_forward", &lstmkit_ln_fused::forward);
  m.def("lstm_ln_fused_forward_x", &lstmkit_ln_fused::forward_x);
  m.def("lstm_ln_fused_backward", &lstmkit_ln_fused::backward);
  m.def("lane_width", [](bool float64) { return lstmkit_fused::lane_width(float64 ? at::kDouble : at::kFloat); });
  m.def("tile_rows", &lstmkit_fused::tile_rows);
  m.def("stream_saved_above", &lstmkit_fused::stream_saved_above);
  m.def("force_stream_saved", &lstmkit_fused::force_stream_saved);
  m.def("pack_forward", &lstmkit_fused::pack_forward);
  m.def("pack_backward", &lstmkit_fused::pack_backward);
  m.def("pack_input", &lstmkit_fused::pack_input);
  m.def("transposed", &lstmkit_fused::transposed);
  // the thread back-off of threads.h: (times it dropped to one thread, whether it is dropped now, threads a loop gets)
  m.def("thread_backoff_state", []() {
    auto& b = lstmkit_threads::backoff();
    return py::make_tuple(b.backoffs.load(), b.backing_off(), lstmkit_threads::loop_threads());
  });
  m.def("thread_backoff_reset", []() {
    auto& b = lstmkit_threads::backoff();
    b.until.store(0);
    b.span.store(lstmkit_threads::Backoff::kBaseNs);
    b.wall.store(0);
    b.waited.store(0);
  });
  // turn the rule on or off for this process (benchmarks: the same loops with and without it); returns the old setting
  m.def("thread_backoff_enable", [](bool on) { return lstmkit_threads::backoff().enabled.exchange(on); });
  // tests: the fused loops' teams hand over to thread 0 after this step (-1: only when they mostly wait)
  m.def("thread_solo_at", [](int64_t step) { lstmkit_threads::backoff().solo_at.store(step); });
  m.def("thread_solo_count", []() { return lstmkit_threads::backoff().solos.load(); });
  // feed the rule a measurement (tests: a window of waiting without a loaded machine)
  m.def("thread_backoff_report", [](int64_t wall_ns, int64_t waited_ns) { lstmkit_threads::backoff().report(wall_ns, waited_ns); });
}
