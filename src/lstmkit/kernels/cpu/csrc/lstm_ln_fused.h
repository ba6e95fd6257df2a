// The layer-norm LSTM's fused time loop (lstm_ln_fused.cpp): declarations
// shared with the bindings in recurrence.cpp.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <vector>

namespace lstmkit_ln_fused {

// xn (T, B, 4H) interleaved: the input side already normalised,
// LN_ih(W_ih x) + beta_ih + b_ih + b_hh; h0, c0 (B, H); w_hh (4H, H) in
// torch's order; ghh, bhh (4H) interleaved (LN_hh's gain and bias); gc, bc
// (H) (LN_c's); valid (T, B) 1/0 or none. H must be a multiple of the lane
// width. Returns out (T, B, H) (h_1 .. h_T; padded steps keep the state), h_T
// and c_T (B, H), and with save the activations (T, B, 4H), the c states
// (T+1, B, H), the normalised recurrent products rn (T, B, 4H) and per row
// the statistics (T, B, 3): 1/std of the product, mean and 1/std of c_t.
std::vector<at::Tensor> forward(const at::Tensor& xn, const at::Tensor& h0, const at::Tensor& c0,
                                const at::Tensor& whh, const at::Tensor& ghh, const at::Tensor& bhh,
                                const at::Tensor& gc, const at::Tensor& bc, const std::optional<at::Tensor>& valid,
                                double eps, bool save);

// dout (T, B, H): the gradient reaching h_1 .. h_T from the outputs; dhT,
// dcT (B, H). Returns dA (T, B, 4H) interleaved (the gradient of xn), dR
// (T, B, 4H) interleaved (of the raw recurrent product, for dW_hh), dh_0
// (zeros unless need_dh0: it costs one more product), dc_0, and the
// gradients of ghh, bhh (4H, interleaved), gc and bc (H).
std::vector<at::Tensor> backward(const at::Tensor& dout, const at::Tensor& dhT, const at::Tensor& dcT,
                                 const at::Tensor& gates, const at::Tensor& cseq, const at::Tensor& rn,
                                 const at::Tensor& stats, const at::Tensor& whh, const at::Tensor& ghh,
                                 const at::Tensor& gc, const at::Tensor& bc, const std::optional<at::Tensor>& valid,
                                 bool need_dh0);

}  // namespace lstmkit_ln_fused
