// The time loops of lstmkit's CPU engine: one layer, one direction, forward and backward.
//
// Python does the large products (the input projection of all steps before
// the loop, the weight gradients after it); these loops do what must happen
// step by step: the recurrent product h_{t-1} W_hh^T (oneDNN for float32,
// at::mm otherwise) and all of a step's pointwise work in one fused pass over
// each batch row. Equations and symbols follow lstmkit/cells/*.py; the
// notation of the backward passes is written out in kernels/cpu/functions.py.
//
// Conventions shared by every loop:
//   xp     (T, B, G)   input projection incl. biases (G = 4H, 3H or H)
//   valid  (T, B)      1 where step t is inside sequence b, 0 at padding (optional)
//   hmask  (B, P)      variational dropout mask on h_{t-1} in the product (optional)
//   zh/zc  (T, B, n)   zoneout weight of the previous value (optional); or a
//                      constant zh_p/zc_p >= 0 (evaluation); < 0 means none
//   padded steps keep the state, emit zeros and pass gradients straight through.

#include <torch/extension.h>

#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <cmath>
#include <vector>

using at::Tensor;
using OptT = std::optional<Tensor>;

namespace {

// ------------------------------------------------------------------ products
// a (M, K) @ w^T with w (N, K): oneDNN for float32 (w may be a packed oneDNN
// weight), at::mm for other dtypes.
Tensor wlinear(const Tensor& a, const Tensor& w) {
  if (a.scalar_type() == at::kFloat) {
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

template <typename scalar_t>
inline scalar_t sigm(scalar_t x) {
  return scalar_t(1) / (scalar_t(1) + std::exp(-x));
}

template <typename scalar_t>
inline scalar_t tanh_(scalar_t x) {
  return std::tanh(x);
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
  at::parallel_for(0, B, grain, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) f(b);
  });
}

// mean and 1/std over n values (biased variance, as F.layer_norm)
template <typename scalar_t>
inline void row_stats(const scalar_t* x, int64_t n, double eps, scalar_t& mean, scalar_t& rstd) {
  double s = 0, s2 = 0;
  for (int64_t j = 0; j < n; ++j) s += x[j];
  double mu = s / n;
  for (int64_t j = 0; j < n; ++j) {
    double d = x[j] - mu;
    s2 += d * d;
  }
  mean = scalar_t(mu);
  rstd = scalar_t(1.0 / std::sqrt(s2 / n + eps));
}

// the gradient through xhat = (x - mean) * rstd given d(xhat)
template <typename scalar_t>
inline void ln_backward_row(const scalar_t* dxhat, const scalar_t* xhat, scalar_t rstd, int64_t n, scalar_t* dx,
                            bool accumulate) {
  double m1 = 0, m2 = 0;
  for (int64_t j = 0; j < n; ++j) {
    m1 += dxhat[j];
    m2 += double(dxhat[j]) * xhat[j];
  }
  const scalar_t a = scalar_t(m1 / n), b = scalar_t(m2 / n);
  for (int64_t j = 0; j < n; ++j) {
    scalar_t v = rstd * (dxhat[j] - a - xhat[j] * b);
    dx[j] = accumulate ? dx[j] + v : v;
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
                                      double eps, bool save) {
  const int64_t T = xp.size(0), B = xp.size(1), G = xp.size(2), H = G / 4, P = h0.size(1);
  const bool proj = has(whr), lnhh = has(lnhh_w), lnc = has(lnc_w);
  auto opt = xp.options();
  const int64_t TS = save ? T : 1;  // saved sequences have T steps, else one reused slot
  Tensor out = at::empty({T, B, P}, opt);
  Tensor h = h0.clone();
  Tensor cseq = at::empty({save ? T + 1 : 2, B, H}, opt);
  cseq[0].copy_(c0);
  Tensor gates = at::empty({TS, B, G}, opt);
  Tensor cn = at::empty({TS, B, H}, opt);
  Tensor th = at::empty({TS, B, H}, opt);
  Tensor hin = at::empty({TS, B, P}, opt);
  Tensor hf = proj ? at::empty({TS, B, H}, opt) : Tensor();
  Tensor rhat = lnhh ? at::empty({TS, B, G}, opt) : Tensor();
  Tensor rstd_hh = lnhh ? at::empty({TS, B}, opt) : Tensor();
  Tensor yhat = lnc ? at::empty({TS, B, H}, opt) : Tensor();
  Tensor rstd_c = lnc ? at::empty({TS, B}, opt) : Tensor();
  Tensor zeros = at::zeros({3, H}, opt);

  const scalar_t* X = xp.data_ptr<scalar_t>();
  const scalar_t* V = ptr_or_null<scalar_t>(valid);
  const scalar_t* M = ptr_or_null<scalar_t>(hmask);
  const scalar_t* PP = has(peep) ? peep->data_ptr<scalar_t>() : zeros.data_ptr<scalar_t>();
  const scalar_t *pi = PP, *pf = PP + H, *po = PP + 2 * H;
  const scalar_t* ghh = ptr_or_null<scalar_t>(lnhh_w);
  const scalar_t* bhh = ptr_or_null<scalar_t>(lnhh_b);
  const scalar_t* gc = ptr_or_null<scalar_t>(lnc_w);
  const scalar_t* bc = ptr_or_null<scalar_t>(lnc_b);
  Keep<scalar_t> KH(zh, zh_p, B * P), KC(zc, zc_p, B * H);
  scalar_t* Hc = h.data_ptr<scalar_t>();
  scalar_t* O = out.data_ptr<scalar_t>();

  for (int64_t t = 0; t < T; ++t) {
    const int64_t s = save ? t : 0;
    scalar_t* hin_t = hin.data_ptr<scalar_t>() + s * B * P;
    if (M) {
      for (int64_t k = 0; k < B * P; ++k) hin_t[k] = Hc[k] * M[k];
    } else {
      std::copy(Hc, Hc + B * P, hin_t);
    }
    Tensor R = wlinear(hin[s], whh);  // (B, G)
    scalar_t* Rp = R.data_ptr<scalar_t>();
    const scalar_t* cprev = cseq.data_ptr<scalar_t>() + (save ? t : (t & 1)) * B * H;
    scalar_t* cnext = cseq.data_ptr<scalar_t>() + (save ? t + 1 : ((t + 1) & 1)) * B * H;
    scalar_t* gt = gates.data_ptr<scalar_t>() + s * B * G;
    scalar_t* cnt = cn.data_ptr<scalar_t>() + s * B * H;
    scalar_t* tht = th.data_ptr<scalar_t>() + s * B * H;
    scalar_t* hft = proj ? hf.data_ptr<scalar_t>() + s * B * H : nullptr;
    scalar_t* rht = lnhh ? rhat.data_ptr<scalar_t>() + s * B * G : nullptr;
    scalar_t* rst = lnhh ? rstd_hh.data_ptr<scalar_t>() + s * B : nullptr;
    scalar_t* yht = lnc ? yhat.data_ptr<scalar_t>() + s * B * H : nullptr;
    scalar_t* rsc = lnc ? rstd_c.data_ptr<scalar_t>() + s * B : nullptr;
    scalar_t* Ot = O + t * B * P;

    over_rows(B, G, [&](int64_t b) {
      const scalar_t* x = X + (t * B + b) * G;
      scalar_t* r = Rp + b * G;
      if (lnhh) {  // r := LN_hh(r) = g * rhat + b
        scalar_t mean, rstd;
        row_stats(r, G, eps, mean, rstd);
        rst[b] = rstd;
        scalar_t* rh = rht + b * G;
        for (int64_t j = 0; j < G; ++j) {
          rh[j] = (r[j] - mean) * rstd;
          r[j] = ghh[j] * rh[j] + bhh[j];
        }
      }
      const scalar_t* cp = cprev + b * H;
      scalar_t* g4 = gt + b * G;
      scalar_t* cnb = cnt + b * H;
      scalar_t* cnx = cnext + b * H;
      const scalar_t m = V ? V[t * B + b] : scalar_t(1);
      const scalar_t* kc = KC.row(t, b * H);
      for (int64_t j = 0; j < H; ++j) {
        const scalar_t c_ = cp[j];
        const scalar_t i = sigm(x[j] + r[j] + pi[j] * c_);
        const scalar_t f = sigm(x[H + j] + r[H + j] + pf[j] * c_);
        const scalar_t g = tanh_(x[2 * H + j] + r[2 * H + j]);
        const scalar_t cnew = f * c_ + i * g;
        const scalar_t o = sigm(x[3 * H + j] + r[3 * H + j] + po[j] * cnew);
        g4[j] = i;
        g4[H + j] = f;
        g4[2 * H + j] = g;
        g4[3 * H + j] = o;
        cnb[j] = cnew;
        const scalar_t k = kc ? kc[j] : KC.c;
        const scalar_t cz = k * c_ + (scalar_t(1) - k) * cnew;
        cnx[j] = m * cz + (scalar_t(1) - m) * c_;
      }
      scalar_t* thb = tht + b * H;
      if (lnc) {
        scalar_t mean, rstd;
        row_stats(cnb, H, eps, mean, rstd);
        rsc[b] = rstd;
        scalar_t* yh = yht + b * H;
        for (int64_t j = 0; j < H; ++j) {
          yh[j] = (cnb[j] - mean) * rstd;
          thb[j] = tanh_(gc[j] * yh[j] + bc[j]);
        }
      } else {
        for (int64_t j = 0; j < H; ++j) thb[j] = tanh_(cnb[j]);
      }
      if (proj) {
        scalar_t* hfb = hft + b * H;
        for (int64_t j = 0; j < H; ++j) hfb[j] = g4[3 * H + j] * thb[j];
      } else {  // h_t directly (P == H)
        scalar_t* hb = Hc + b * P;
        scalar_t* ob = Ot + b * P;
        const scalar_t* kh = KH.row(t, b * P);
        for (int64_t j = 0; j < H; ++j) {
          const scalar_t hn = g4[3 * H + j] * thb[j];
          const scalar_t k = kh ? kh[j] : KH.c;
          const scalar_t hz = k * hb[j] + (scalar_t(1) - k) * hn;
          hb[j] = m * hz + (scalar_t(1) - m) * hb[j];
          ob[j] = m * hb[j];
        }
      }
    });
    if (proj) {
      Tensor hn = wlinear(proj ? hf[s] : Tensor(), *whr);  // (B, P)
      const scalar_t* hnp = hn.data_ptr<scalar_t>();
      for (int64_t b = 0; b < B; ++b) {
        const scalar_t m = V ? V[t * B + b] : scalar_t(1);
        const scalar_t* kh = KH.row(t, b * P);
        for (int64_t j = 0; j < P; ++j) {
          const int64_t q = b * P + j;
          const scalar_t k = kh ? kh[j] : KH.c;
          const scalar_t hz = k * Hc[q] + (scalar_t(1) - k) * hnp[q];
          Hc[q] = m * hz + (scalar_t(1) - m) * Hc[q];
          Ot[q] = m * Hc[q];
        }
      }
    }
  }
  Tensor cT = cseq[save ? T : (T & 1)].clone();
  return {out, h, cT, gates, cseq, cn, th, hin, hf, rhat, rstd_hh, yhat, rstd_c};
}

template <typename scalar_t>
std::vector<Tensor> lstm_backward_impl(const OptT& dout, const Tensor& dhT, const Tensor& dcT, const Tensor& gates,
                                       const Tensor& cseq, const Tensor& cn, const Tensor& th, const Tensor& whhT,
                                       const OptT& whrT, const OptT& valid, const OptT& hmask, const OptT& zh,
                                       double zh_p, const OptT& zc, double zc_p, const OptT& peep,
                                       const OptT& lnhh_w, const OptT& rhat, const OptT& rstd_hh, const OptT& lnc_w,
                                       const OptT& yhat, const OptT& rstd_c) {
  const int64_t T = gates.size(0), B = gates.size(1), G = gates.size(2), H = G / 4, P = dhT.size(1);
  const bool proj = has(whrT), lnhh = has(lnhh_w), lnc = has(lnc_w);
  auto opt = gates.options();
  Tensor dA = at::empty({T, B, G}, opt);
  Tensor dR = lnhh ? at::empty({T, B, G}, opt) : dA;
  Tensor dhn = proj ? at::empty({T, B, P}, opt) : Tensor();
  Tensor dy = lnc ? at::empty({T, B, H}, opt) : Tensor();
  Tensor gH = dhT.clone();
  Tensor gC = dcT.clone();
  Tensor dhf_buf = proj ? Tensor() : at::empty({B, H}, opt);
  Tensor zeros = at::zeros({3, H}, opt);

  const scalar_t* DO = ptr_or_null<scalar_t>(dout);
  const scalar_t* V = ptr_or_null<scalar_t>(valid);
  const scalar_t* M = ptr_or_null<scalar_t>(hmask);
  const scalar_t* PP = has(peep) ? peep->data_ptr<scalar_t>() : zeros.data_ptr<scalar_t>();
  const scalar_t *pi = PP, *pf = PP + H, *po = PP + 2 * H;
  const scalar_t* ghh = ptr_or_null<scalar_t>(lnhh_w);
  const scalar_t* gc = ptr_or_null<scalar_t>(lnc_w);
  const scalar_t* RH = ptr_or_null<scalar_t>(rhat);
  const scalar_t* RS = ptr_or_null<scalar_t>(rstd_hh);
  const scalar_t* YH = ptr_or_null<scalar_t>(yhat);
  const scalar_t* YS = ptr_or_null<scalar_t>(rstd_c);
  Keep<scalar_t> KH(zh, zh_p, B * P), KC(zc, zc_p, B * H);
  const scalar_t* GA = gates.data_ptr<scalar_t>();
  const scalar_t* CS = cseq.data_ptr<scalar_t>();
  const scalar_t* CN = cn.data_ptr<scalar_t>();
  const scalar_t* TH = th.data_ptr<scalar_t>();
  scalar_t* gh = gH.data_ptr<scalar_t>();
  scalar_t* gcp = gC.data_ptr<scalar_t>();

  for (int64_t t = T - 1; t >= 0; --t) {
    // through the output, the mask and zoneout of h: d(hn) and the part of dh_{t-1} that skips the cell
    scalar_t* dhn_t = proj ? dhn.data_ptr<scalar_t>() + t * B * P : dhf_buf.data_ptr<scalar_t>();
    for (int64_t b = 0; b < B; ++b) {
      const scalar_t m = V ? V[t * B + b] : scalar_t(1);
      const scalar_t* kh = KH.row(t, b * P);
      for (int64_t j = 0; j < P; ++j) {
        const int64_t q = b * P + j;
        const scalar_t g = gh[q] + (DO ? m * DO[t * B * P + q] : scalar_t(0));
        const scalar_t k = kh ? kh[j] : KH.c;
        const scalar_t dh1 = m * g;
        dhn_t[q] = (scalar_t(1) - k) * dh1;
        gh[q] = (scalar_t(1) - m) * g + k * dh1;
      }
    }
    Tensor dhf_t = proj ? wlinear(dhn[t], *whrT) : dhf_buf;  // (B, H)
    const scalar_t* DHF = dhf_t.data_ptr<scalar_t>();
    scalar_t* dAt = dA.data_ptr<scalar_t>() + t * B * G;
    scalar_t* dRt = dR.data_ptr<scalar_t>() + t * B * G;
    over_rows(B, G, [&](int64_t b) {
      const int64_t row = t * B + b;
      const scalar_t m = V ? V[row] : scalar_t(1);
      const scalar_t* kc = KC.row(t, b * H);
      const scalar_t* g4 = GA + row * G;
      const scalar_t* cp = CS + row * H;  // c_{t-1}
      const scalar_t* cnb = CN + row * H;
      const scalar_t* thb = TH + row * H;
      const scalar_t* dhf = DHF + b * H;
      scalar_t* gcb = gcp + b * H;
      scalar_t* da = dAt + b * G;
      // da[0:H] holds d(cn) while it is being summed
      scalar_t* dcn = da;
      if (lnc) {
        scalar_t* dyb = dy.data_ptr<scalar_t>() + row * H;
        scalar_t* dyh = da + H;  // scratch: d(yhat)
        for (int64_t j = 0; j < H; ++j) {
          const scalar_t d = dhf[j] * g4[3 * H + j] * (scalar_t(1) - thb[j] * thb[j]);
          dyb[j] = d;
          dyh[j] = d * gc[j];
        }
        ln_backward_row(dyh, YH + row * H, YS[row], H, dcn, false);
      } else {
        for (int64_t j = 0; j < H; ++j) dcn[j] = dhf[j] * g4[3 * H + j] * (scalar_t(1) - thb[j] * thb[j]);
      }
      for (int64_t j = 0; j < H; ++j) {
        const scalar_t i = g4[j], f = g4[H + j], g = g4[2 * H + j], o = g4[3 * H + j];
        const scalar_t k = kc ? kc[j] : KC.c;
        const scalar_t dc1 = m * gcb[j];
        scalar_t dc = dcn[j] + (scalar_t(1) - k) * dc1;
        const scalar_t dao = dhf[j] * thb[j] * o * (scalar_t(1) - o);
        dc += dao * po[j];
        const scalar_t dai = dc * g * i * (scalar_t(1) - i);
        const scalar_t daf = dc * cp[j] * f * (scalar_t(1) - f);
        const scalar_t dag = dc * i * (scalar_t(1) - g * g);
        gcb[j] = (scalar_t(1) - m) * gcb[j] + k * dc1 + dc * f + dai * pi[j] + daf * pf[j];
        da[j] = dai;
        da[H + j] = daf;
        da[2 * H + j] = dag;
        da[3 * H + j] = dao;
      }
      (void)cnb;
      if (lnhh) {
        scalar_t* dr = dRt + b * G;
        for (int64_t j = 0; j < G; ++j) dr[j] = da[j] * ghh[j];
        ln_backward_row(dr, RH + row * G, RS[row], G, dr, false);
      }
    });
    Tensor dhin = wlinear(dR[t], whhT);  // (B, P)
    const scalar_t* DH = dhin.data_ptr<scalar_t>();
    for (int64_t q = 0; q < B * P; ++q) gh[q] += M ? DH[q] * M[q] : DH[q];
  }
  return {dA, lnhh ? dR : Tensor(), dhn, dy, gH, gC};
}

// ======================================================================== GRU
// xp includes b_ih and the r, z slices of b_hh; bhn is the n slice of b_hh
// (inside the reset gate's product).
template <typename scalar_t>
std::vector<Tensor> gru_forward_impl(const Tensor& xp, const Tensor& h0, const Tensor& whh, const OptT& bhn,
                                     const OptT& valid, const OptT& hmask, const OptT& zh, double zh_p, bool save) {
  const int64_t T = xp.size(0), B = xp.size(1), G = xp.size(2), H = G / 3;
  auto opt = xp.options();
  const int64_t TS = save ? T : 1;
  Tensor out = at::empty({T, B, H}, opt);
  Tensor h = h0.clone();
  Tensor gates = at::empty({TS, B, G}, opt);  // r, z, n
  Tensor rn = at::empty({TS, B, H}, opt);     // W_hn h + b_hn
  Tensor hin = at::empty({TS, B, H}, opt);
  const scalar_t* X = xp.data_ptr<scalar_t>();
  const scalar_t* V = ptr_or_null<scalar_t>(valid);
  const scalar_t* M = ptr_or_null<scalar_t>(hmask);
  const scalar_t* BN = ptr_or_null<scalar_t>(bhn);
  Keep<scalar_t> KH(zh, zh_p, B * H);
  scalar_t* Hc = h.data_ptr<scalar_t>();
  scalar_t* O = out.data_ptr<scalar_t>();
  for (int64_t t = 0; t < T; ++t) {
    const int64_t s = save ? t : 0;
    scalar_t* hin_t = hin.data_ptr<scalar_t>() + s * B * H;
    if (M) {
      for (int64_t k = 0; k < B * H; ++k) hin_t[k] = Hc[k] * M[k];
    } else {
      std::copy(Hc, Hc + B * H, hin_t);
    }
    Tensor R = wlinear(hin[s], whh);  // (B, 3H)
    const scalar_t* Rp = R.data_ptr<scalar_t>();
    scalar_t* gt = gates.data_ptr<scalar_t>() + s * B * G;
    scalar_t* rnt = rn.data_ptr<scalar_t>() + s * B * H;
    over_rows(B, G, [&](int64_t b) {
      const scalar_t* x = X + (t * B + b) * G;
      const scalar_t* r_ = Rp + b * G;
      scalar_t* g3 = gt + b * G;
      scalar_t* rnb = rnt + b * H;
      const scalar_t* hi = hin_t + b * H;
      scalar_t* hb = Hc + b * H;
      scalar_t* ob = O + (t * B + b) * H;
      const scalar_t m = V ? V[t * B + b] : scalar_t(1);
      const scalar_t* kh = KH.row(t, b * H);
      for (int64_t j = 0; j < H; ++j) {
        const scalar_t r = sigm(x[j] + r_[j]);
        const scalar_t z = sigm(x[H + j] + r_[H + j]);
        const scalar_t hn_ = r_[2 * H + j] + (BN ? BN[j] : scalar_t(0));
        const scalar_t n = tanh_(x[2 * H + j] + r * hn_);
        const scalar_t hnew = (scalar_t(1) - z) * n + z * hi[j];
        g3[j] = r;
        g3[H + j] = z;
        g3[2 * H + j] = n;
        rnb[j] = hn_;
        const scalar_t k = kh ? kh[j] : KH.c;
        const scalar_t hz = k * hb[j] + (scalar_t(1) - k) * hnew;
        hb[j] = m * hz + (scalar_t(1) - m) * hb[j];
        ob[j] = m * hb[j];
      }
    });
  }
  return {out, h, gates, rn, hin};
}

template <typename scalar_t>
std::vector<Tensor> gru_backward_impl(const OptT& dout, const Tensor& dhT, const Tensor& gates, const Tensor& rn,
                                      const Tensor& hin, const Tensor& whhT, const OptT& valid, const OptT& hmask,
                                      const OptT& zh, double zh_p) {
  const int64_t T = gates.size(0), B = gates.size(1), G = gates.size(2), H = G / 3;
  auto opt = gates.options();
  Tensor dxp = at::empty({T, B, G}, opt);
  Tensor dR = at::empty({T, B, G}, opt);
  Tensor gH = dhT.clone();
  Tensor direct = at::empty({B, H}, opt);  // dh_in through z * h_in
  const scalar_t* DO = ptr_or_null<scalar_t>(dout);
  const scalar_t* V = ptr_or_null<scalar_t>(valid);
  const scalar_t* M = ptr_or_null<scalar_t>(hmask);
  Keep<scalar_t> KH(zh, zh_p, B * H);
  const scalar_t* GA = gates.data_ptr<scalar_t>();
  const scalar_t* RN = rn.data_ptr<scalar_t>();
  const scalar_t* HI = hin.data_ptr<scalar_t>();
  scalar_t* gh = gH.data_ptr<scalar_t>();
  scalar_t* dir = direct.data_ptr<scalar_t>();
  for (int64_t t = T - 1; t >= 0; --t) {
    over_rows(B, G, [&](int64_t b) {
      const int64_t row = t * B + b;
      const scalar_t m = V ? V[row] : scalar_t(1);
      const scalar_t* kh = KH.row(t, b * H);
      const scalar_t* g3 = GA + row * G;
      const scalar_t* rnb = RN + row * H;
      const scalar_t* hi = HI + row * H;
      scalar_t* ghb = gh + b * H;
      scalar_t* dx = dxp.data_ptr<scalar_t>() + row * G;
      scalar_t* dr = dR.data_ptr<scalar_t>() + row * G;
      scalar_t* db = dir + b * H;
      const scalar_t* dob = DO ? DO + row * H : nullptr;
      for (int64_t j = 0; j < H; ++j) {
        const scalar_t g = ghb[j] + (dob ? m * dob[j] : scalar_t(0));
        const scalar_t k = kh ? kh[j] : KH.c;
        const scalar_t dh1 = m * g;
        const scalar_t dhn = (scalar_t(1) - k) * dh1;
        ghb[j] = (scalar_t(1) - m) * g + k * dh1;
        const scalar_t r = g3[j], z = g3[H + j], n = g3[2 * H + j];
        const scalar_t dan = dhn * (scalar_t(1) - z) * (scalar_t(1) - n * n);
        const scalar_t daz = dhn * (hi[j] - n) * z * (scalar_t(1) - z);
        const scalar_t dar = dan * rnb[j] * r * (scalar_t(1) - r);
        dx[j] = dar;
        dx[H + j] = daz;
        dx[2 * H + j] = dan;
        dr[j] = dar;
        dr[H + j] = daz;
        dr[2 * H + j] = dan * r;
        db[j] = dhn * z;
      }
    });
    Tensor dhin = wlinear(dR[t], whhT);  // (B, H)
    const scalar_t* DH = dhin.data_ptr<scalar_t>();
    for (int64_t q = 0; q < B * H; ++q) gh[q] += M ? (DH[q] + dir[q]) * M[q] : DH[q] + dir[q];
  }
  return {dxp, dR, gH};
}

// ======================================================================== RNN
template <typename scalar_t>
std::vector<Tensor> rnn_forward_impl(const Tensor& xp, const Tensor& h0, const Tensor& whh, bool relu,
                                     const OptT& valid, const OptT& hmask, const OptT& zh, double zh_p, bool save) {
  const int64_t T = xp.size(0), B = xp.size(1), H = xp.size(2);
  auto opt = xp.options();
  const int64_t TS = save ? T : 1;
  Tensor out = at::empty({T, B, H}, opt);
  Tensor h = h0.clone();
  Tensor hn = at::empty({TS, B, H}, opt);  // the new h before zoneout and masking
  Tensor hin = at::empty({TS, B, H}, opt);
  const scalar_t* X = xp.data_ptr<scalar_t>();
  const scalar_t* V = ptr_or_null<scalar_t>(valid);
  const scalar_t* M = ptr_or_null<scalar_t>(hmask);
  Keep<scalar_t> KH(zh, zh_p, B * H);
  scalar_t* Hc = h.data_ptr<scalar_t>();
  scalar_t* O = out.data_ptr<scalar_t>();
  for (int64_t t = 0; t < T; ++t) {
    const int64_t s = save ? t : 0;
    scalar_t* hin_t = hin.data_ptr<scalar_t>() + s * B * H;
    if (M) {
      for (int64_t k = 0; k < B * H; ++k) hin_t[k] = Hc[k] * M[k];
    } else {
      std::copy(Hc, Hc + B * H, hin_t);
    }
    Tensor R = wlinear(hin[s], whh);
    const scalar_t* Rp = R.data_ptr<scalar_t>();
    scalar_t* hnt = hn.data_ptr<scalar_t>() + s * B * H;
    over_rows(B, H, [&](int64_t b) {
      const scalar_t* x = X + (t * B + b) * H;
      const scalar_t* r = Rp + b * H;
      scalar_t* hnb = hnt + b * H;
      scalar_t* hb = Hc + b * H;
      scalar_t* ob = O + (t * B + b) * H;
      const scalar_t m = V ? V[t * B + b] : scalar_t(1);
      const scalar_t* kh = KH.row(t, b * H);
      for (int64_t j = 0; j < H; ++j) {
        const scalar_t a = x[j] + r[j];
        const scalar_t v = relu ? (a > scalar_t(0) ? a : scalar_t(0)) : tanh_(a);
        hnb[j] = v;
        const scalar_t k = kh ? kh[j] : KH.c;
        const scalar_t hz = k * hb[j] + (scalar_t(1) - k) * v;
        hb[j] = m * hz + (scalar_t(1) - m) * hb[j];
        ob[j] = m * hb[j];
      }
    });
  }
  return {out, h, hn, hin};
}

template <typename scalar_t>
std::vector<Tensor> rnn_backward_impl(const OptT& dout, const Tensor& dhT, const Tensor& hn, const Tensor& whhT,
                                      bool relu, const OptT& valid, const OptT& hmask, const OptT& zh, double zh_p) {
  const int64_t T = hn.size(0), B = hn.size(1), H = hn.size(2);
  Tensor dA = at::empty({T, B, H}, hn.options());
  Tensor gH = dhT.clone();
  const scalar_t* DO = ptr_or_null<scalar_t>(dout);
  const scalar_t* V = ptr_or_null<scalar_t>(valid);
  const scalar_t* M = ptr_or_null<scalar_t>(hmask);
  Keep<scalar_t> KH(zh, zh_p, B * H);
  const scalar_t* HN = hn.data_ptr<scalar_t>();
  scalar_t* gh = gH.data_ptr<scalar_t>();
  for (int64_t t = T - 1; t >= 0; --t) {
    over_rows(B, H, [&](int64_t b) {
      const int64_t row = t * B + b;
      const scalar_t m = V ? V[row] : scalar_t(1);
      const scalar_t* kh = KH.row(t, b * H);
      const scalar_t* v = HN + row * H;
      const scalar_t* dob = DO ? DO + row * H : nullptr;
      scalar_t* ghb = gh + b * H;
      scalar_t* da = dA.data_ptr<scalar_t>() + row * H;
      for (int64_t j = 0; j < H; ++j) {
        const scalar_t g = ghb[j] + (dob ? m * dob[j] : scalar_t(0));
        const scalar_t k = kh ? kh[j] : KH.c;
        const scalar_t dh1 = m * g;
        const scalar_t dv = (scalar_t(1) - k) * dh1;
        ghb[j] = (scalar_t(1) - m) * g + k * dh1;
        da[j] = relu ? (v[j] > scalar_t(0) ? dv : scalar_t(0)) : dv * (scalar_t(1) - v[j] * v[j]);
      }
    });
    Tensor dhin = wlinear(dA[t], whhT);
    const scalar_t* DH = dhin.data_ptr<scalar_t>();
    for (int64_t q = 0; q < B * H; ++q) gh[q] += M ? DH[q] * M[q] : DH[q];
  }
  return {dA, gH};
}

}  // namespace

// ---------------------------------------------------------------- bindings
#define DISPATCH(T_, NAME, ...) AT_DISPATCH_FLOATING_TYPES((T_).scalar_type(), NAME, [&] { return __VA_ARGS__; })

std::vector<Tensor> lstm_forward(Tensor xp, Tensor h0, Tensor c0, Tensor whh, OptT whr, OptT valid, OptT hmask,
                                 OptT zh, double zh_p, OptT zc, double zc_p, OptT peep, OptT lnhh_w, OptT lnhh_b,
                                 OptT lnc_w, OptT lnc_b, double eps, bool save) {
  return DISPATCH(xp, "lstm_forward",
                  lstm_forward_impl<scalar_t>(xp, h0, c0, whh, whr, valid, hmask, zh, zh_p, zc, zc_p, peep, lnhh_w,
                                              lnhh_b, lnc_w, lnc_b, eps, save));
}

std::vector<Tensor> lstm_backward(OptT dout, Tensor dhT, Tensor dcT, Tensor gates, Tensor cseq, Tensor cn, Tensor th,
                                  Tensor whhT, OptT whrT, OptT valid, OptT hmask, OptT zh, double zh_p, OptT zc,
                                  double zc_p, OptT peep, OptT lnhh_w, OptT rhat, OptT rstd_hh, OptT lnc_w, OptT yhat,
                                  OptT rstd_c) {
  return DISPATCH(gates, "lstm_backward",
                  lstm_backward_impl<scalar_t>(dout, dhT, dcT, gates, cseq, cn, th, whhT, whrT, valid, hmask, zh,
                                               zh_p, zc, zc_p, peep, lnhh_w, rhat, rstd_hh, lnc_w, yhat, rstd_c));
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

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("lstm_forward", &lstm_forward);
  m.def("lstm_backward", &lstm_backward);
  m.def("gru_forward", &gru_forward);
  m.def("gru_backward", &gru_backward);
  m.def("rnn_forward", &rnn_forward);
  m.def("rnn_backward", &rnn_backward);
}
