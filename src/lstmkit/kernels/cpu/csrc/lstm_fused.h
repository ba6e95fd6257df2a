// The plain LSTM's fused time loop (lstm_fused.cpp): declarations shared with
// the bindings in recurrence.cpp.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <vector>

namespace lstmkit_fused {

// lanes per vector for this dtype in the build's instruction set (the L of
// the interleaved gate layout)
int64_t lane_width(at::ScalarType dtype);
// the most batch rows one register tile takes (6 with AVX-512, 3 with AVX2):
// a batch of more rows has more than one row block
int64_t tile_rows();
// the bytes of saved values above which a forward streams them past the caches, for nt threads
// (tile::stream_saved); force_stream_saved(bytes) forces that threshold (tests), -1 restores the
// rule, and returns the threshold forced before (-1: none)
int64_t stream_saved_above(int nt);
int64_t force_stream_saved(int64_t bytes);

// W_hh (4H, H) re-laid-out into the panels of the forward / backward tiles
at::Tensor pack_forward(const at::Tensor& whh, int64_t L);
at::Tensor pack_backward(const at::Tensor& whh, int64_t L);
// W_ih (4Hp, I), rows interleaved, into the forward tile's input panels (U, I, 4, L)
at::Tensor pack_input(const at::Tensor& wih, int64_t L);
// a (R, C) transposed into a contiguous (C, R)
at::Tensor transposed(const at::Tensor& a);

// xp (T, B, 4Hp) interleaved, biases included; h0, c0 (B, H); w_hh (4H, H);
// valid (T, B) 1/0 or none; peep (3, Hp) or none: the peephole LSTM's
// weights on the cell (i and f see c_{t-1}, o sees c_t; zero past H).
// Returns out (T, B, Hp) (h_1 .. h_T; padded steps keep the state), h_T and
// c_T (B, Hp), and with save the activations (T, B, 4Hp) and the c states
// (T+1, B, Hp).
std::vector<at::Tensor> forward(const at::Tensor& xp, const at::Tensor& h0, const at::Tensor& c0,
                                const at::Tensor& whh, const std::optional<at::Tensor>& valid, bool save,
                                const std::optional<at::Tensor>& peep);

// The same loop with the input projection computed in the tile: x (T, B, I),
// w_ih (4Hp, I) and the bias (4Hp, b_ih + b_hh) in the interleaved order.
// Nothing of (T, B, 4Hp) is written or read; the same outputs.
std::vector<at::Tensor> forward_x(const at::Tensor& x, const at::Tensor& wih, const std::optional<at::Tensor>& bias,
                                  const at::Tensor& h0, const at::Tensor& c0, const at::Tensor& whh,
                                  const std::optional<at::Tensor>& valid, bool save,
                                  const std::optional<at::Tensor>& peep);

// dout (T, B, Hp): the gradient reaching h_1 .. h_T from the outputs; dhT,
// dcT (B, Hp). Returns dA (T, B, 4Hp) interleaved (the gradient of the
// pre-activations, hence of xp), dh_0 (zeros unless need_dh0: it costs one
// more product), dc_0 and, with need_db, dA summed over steps and rows (4Hp)
// interleaved: the bias gradient (else an empty tensor); with peep (3, Hp),
// the forward's, the peephole weights' gradient (3, Hp), summed in the loop
// (else an empty tensor).
std::vector<at::Tensor> backward(const at::Tensor& dout, const at::Tensor& dhT, const at::Tensor& dcT,
                                 const at::Tensor& gates, const at::Tensor& cseq, const at::Tensor& whh,
                                 const std::optional<at::Tensor>& valid, bool need_dh0, bool need_db,
                                 const std::optional<at::Tensor>& peep);

}  // namespace lstmkit_fused
