// The layer-norm LSTM's fused time loop (lstm_ln_fused.cpp): declarations
// shared with the bindings in recurrence.cpp.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <vector>

namespace lstmkit_ln_fused {

// xp (T, B, 4H) interleaved: the raw input projection; h0, c0 (B, H); w_hh
// (4H, H) in torch's order; gih, ghh (4H) interleaved: LN_ih's and LN_hh's
// gains; beta (4H) interleaved: both norms' biases and b_ih + b_hh summed;
// gc, bc (H): LN_c's gain and bias; valid (T, B) 1/0 or none. H must be a
// multiple of the lane width. Returns out (T, B, H) (h_1 .. h_T; padded
// steps keep the state), h_T and c_T (B, H), and with save the activations
// (T, B, 4H), the c states (T+1, B, H), the normalised recurrent products rn
// (T, B, 4H) and per row the statistics (T, B, 5): 1/std of the product,
// mean and 1/std of c_t, mean and 1/std of xp_t (and an undefined eighth
// tensor, where forward_x returns the input projection).
std::vector<at::Tensor> forward(const at::Tensor& xp, const at::Tensor& h0, const at::Tensor& c0,
                                const at::Tensor& whh, const at::Tensor& gih, const at::Tensor& ghh,
                                const at::Tensor& beta, const at::Tensor& gc, const at::Tensor& bc,
                                const std::optional<at::Tensor>& valid, double eps, bool save);

// The same loop with the input projection computed in the tile: x (T, B, I),
// w_ih (4H, I) in the interleaved order. The same outputs and, with save, the
// raw input projection (T, B, 4H) the backward reads as xp.
std::vector<at::Tensor> forward_x(const at::Tensor& x, const at::Tensor& wih, const at::Tensor& h0,
                                  const at::Tensor& c0, const at::Tensor& whh, const at::Tensor& gih,
                                  const at::Tensor& ghh, const at::Tensor& beta, const at::Tensor& gc,
                                  const at::Tensor& bc, const std::optional<at::Tensor>& valid, double eps, bool save);

// dout (T, B, H): the gradient reaching h_1 .. h_T from the outputs; dhT,
// dcT (B, H). Returns dX (T, B, 4H) interleaved (the gradient of xp), dR
// (T, B, 4H) interleaved (of the raw recurrent product, for dW_hh), dh_0
// (zeros unless need_dh0: it costs one more product), dc_0, and the
// gradients of gih, ghh, beta (4H, interleaved), gc and bc (H).
std::vector<at::Tensor> backward(const at::Tensor& dout, const at::Tensor& dhT, const at::Tensor& dcT,
                                 const at::Tensor& xp, const at::Tensor& gates, const at::Tensor& cseq,
                                 const at::Tensor& rn, const at::Tensor& stats, const at::Tensor& whh,
                                 const at::Tensor& gih, const at::Tensor& ghh, const at::Tensor& gc,
                                 const at::Tensor& bc, const std::optional<at::Tensor>& valid, bool need_dh0);

}  // namespace lstmkit_ln_fused
