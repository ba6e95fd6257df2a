"""What ``SequenceClassifier.export`` writes: the network (or the ensemble) on padded, encoded sequences."""

from __future__ import annotations

import torch

from ..export import ExportGraph, device_of


def graphs(est, steps: int | None) -> list[ExportGraph]:
    if est.encoder_ is None:
        raise ValueError(f"SequenceClassifier.export: the fitted model is {est.model_name}, a nearest-neighbour "
                         "classifier with no network to export (it compares series with the training set)")
    enc, net = est.encoder_, est.model_
    T = steps or int(est.fit_info_.get("max_steps") or 0) or enc.max_length
    if not T:
        raise ValueError("SequenceClassifier.export: the sequence length of the graph is not known (data.max_length "
                         "is 0); give steps=")
    dev = device_of(net)
    B = 2
    lengths = torch.full((B,), T, dtype=torch.int64, device=dev)
    if enc.kind == "text":
        x = torch.ones(B, T, dtype=torch.int64, device=dev)
        what = f"x int64 (B, {T}) word ids padded with 0"
        outside = "tokenising (lstmkit.encoder holds the vocabulary)"
    else:
        x = torch.zeros(B, T, enc.input_size, device=dev)
        what = f"x (B, {T}, {enc.input_size}) encoded series steps padded with zeros"
        outside = ("the series encoding (differences, scaling, framing: lstmkit.encoder holds its parameters); "
                   f"cut longer sequences to {T} steps")
    ensemble = hasattr(net, "members")
    out = "log of the members' mean class probabilities" if ensemble else "class logits"
    computes = (f"The classifier's network on encoded sequences: ({what}, lengths int64 (B,) valid steps, 1..{T}) -> "
                f"scores (B, {len(est.classes_)}), the {out}, columns in the order of lstmkit.classes; softmax gives "
                f"the probabilities. Outside the graph: {outside}.")
    if getattr(est, "blend_", None):
        computes += (" Note: the estimator blends these probabilities with a 1-NN classifier's "
                     f"(weight {est.blend_['weight']}); that part is not in the graph.")
    meta = {"encoder": enc.to_dict(), "classes": [str(c) for c in est.classes_], "steps": T,
            "blend": getattr(est, "blend_", None)}
    return [ExportGraph(net, (x, lengths), ["x", "lengths"], ["scores"], {"x": 0, "lengths": 0}, computes,
                        metadata=meta)]
