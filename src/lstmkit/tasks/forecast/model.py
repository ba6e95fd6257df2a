"""The forecaster: an LSTM encoder over the input window and a multi-horizon head.

.. math::
    \\tilde y_{t-L:t} = (y_{t-L:t} - \\mu) / \\sigma \\quad \\text{(instance normalisation, optional)} \\\\
    h = \\mathrm{LSTM}([\\tilde y, x^{past}, x^{future}]_{t-L:t}) \\\\
    \\hat y_{t:t+H} = \\mu + \\sigma \\cdot (a_{t:t+H} + \\mathrm{Head}([h_T, x^{future}_{t:t+H}]))

The direct head emits all ``H`` steps at once; the autoregressive option
instead feeds each one-step prediction back into the same LSTM (``step()``)
for the next. Outputs per step: 1 value (point), mean and scale (Gaussian), or
one value per quantile level (kept ordered by a cumulative-softplus form).

The anchor ``a`` is what the head corrects: ``0`` (``anchor="level"``: the
forecast is the window level plus the head) or the last season of the
normalised window repeated (``anchor="seasonal"``: the head learns a
correction to the seasonal-naive forecast; with ``season=1`` the last value).
A head that outputs zero is then exactly the seasonal-naive forecast, which is
where training starts (the head's weights start at zero).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...nn import LSTM
from ...train.checkpoint import register_model

KIND = "forecast-lstm"


class ForecastNet(nn.Module):
    """One LSTM forecaster.

    Args:
        horizon: steps predicted from each origin (``H``).
        input_size: steps in the input window (``L``).
        n_past: past-covariate features.
        n_future: known-future features (calendar ones included).
        hidden_size, num_layers, dropout, cell: the LSTM encoder (see :class:`lstmkit.nn.LSTM`).
        output: ``"point"``, ``"gaussian"`` or ``"quantile"``.
        quantiles: levels for ``output="quantile"``.
        instance_norm: ``"none"``, ``"mean"`` (subtract the window mean) or
            ``"meanstd"`` (also divide by the window std): reversible instance
            normalisation (RevIN, Kim et al. 2022) without the affine part.
        decoder: ``"direct"`` (multi-horizon head) or ``"autoregressive"``.
        norm_window: statistics of the instance normalisation over the last
            ``norm_window`` steps (``0``: the whole window). Default ``0``.
        backend: recurrence engine (see :func:`lstmkit.kernels.recurrence`). Default ``"auto"``.
        anchor: ``"level"`` or ``"seasonal"`` (see the module doc). Default ``"level"``.
        season: season length for the seasonal anchor and the level (the mean of
            the last ``min(season, L)`` steps when ``norm_window`` is 0 and ``season > 1``). Default ``1``.

    Shapes: ``y (B, L)``, ``past (B, L, P)``, ``future (B, L+H, K)`` ->
    ``(B, H, Q)`` with ``Q`` = 1, 2 (mean, std) or the number of quantiles.

    Example::

        >>> net = ForecastNet(horizon=3, input_size=8, hidden_size=4, anchor="seasonal", season=4)
        >>> net(torch.randn(2, 8), torch.zeros(2, 8, 0), torch.zeros(2, 11, 0)).shape
        torch.Size([2, 3, 1])
    """

    def __init__(self, horizon: int, input_size: int, n_past: int = 0, n_future: int = 0, hidden_size: int = 32,
                 num_layers: int = 1, dropout: float = 0.0, cell: str = "lstm", output: str = "point",
                 quantiles: list[float] | None = None, instance_norm: str = "mean", decoder: str = "direct",
                 backend: str = "auto", norm_window: int = 0, anchor: str = "level", season: int = 1):
        super().__init__()
        if anchor not in ("level", "seasonal"):
            raise ValueError(f"ForecastNet: expected anchor 'level' or 'seasonal', got {anchor!r}")
        if season < 1 or season > input_size:
            raise ValueError(f"ForecastNet: expected 1 <= season <= input_size={input_size}, got {season}")
        self.anchor, self.season = anchor, int(season)
        if output not in ("point", "gaussian", "quantile"):
            raise ValueError(f"ForecastNet: expected output 'point', 'gaussian' or 'quantile', got {output!r}")
        if instance_norm not in ("none", "mean", "meanstd"):
            raise ValueError(f"ForecastNet: expected instance_norm 'none', 'mean' or 'meanstd', got {instance_norm!r}")
        if decoder not in ("direct", "autoregressive"):
            raise ValueError(f"ForecastNet: expected decoder 'direct' or 'autoregressive', got {decoder!r}")
        self.horizon, self.input_size = horizon, input_size
        self.n_past, self.n_future = n_past, n_future
        self.output, self.instance_norm, self.decoder = output, instance_norm, decoder
        self.quantiles = list(quantiles or [])
        if not 0 <= norm_window <= input_size:
            raise ValueError(f"ForecastNet: expected 0 <= norm_window <= input_size={input_size}, got {norm_window}")
        self.norm_window = norm_window
        self.n_out = {"point": 1, "gaussian": 2, "quantile": len(self.quantiles)}[output]
        self.encoder = LSTM(1 + n_past + n_future, hidden_size, num_layers=num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0, cell=cell, backend=backend)
        self.drop = nn.Dropout(dropout)
        if decoder == "direct":
            self.head = nn.Linear(hidden_size + horizon * n_future, horizon * self.n_out)
        else:
            self.head = nn.Linear(hidden_size, self.n_out)
        if anchor == "seasonal":  # start exactly at the seasonal-naive forecast
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def _norm(self, y: Tensor) -> tuple[Tensor, Tensor]:
        if self.instance_norm == "none":
            return torch.zeros_like(y[:, :1]), torch.ones_like(y[:, :1])
        n = self.norm_window or (min(self.season, self.input_size) if self.season > 1 else 0)
        w = y[:, -n:] if n else y
        loc = w.mean(dim=1, keepdim=True)  # (B, 1)
        if self.instance_norm == "mean":
            return loc, torch.ones_like(loc)
        return loc, w.std(dim=1, keepdim=True, unbiased=False).clamp_min(1e-5)

    def _anchor(self, z: Tensor) -> Tensor:
        """(B, L) normalised window -> (B, H) anchor: zeros, or the last season repeated."""
        B, L = z.shape
        if self.anchor == "level":
            return z.new_zeros(B, self.horizon)
        m = self.season
        idx = torch.arange(self.horizon, device=z.device) % m + (L - m)  # (H,)
        return z[:, idx]

    def _shape(self, raw: Tensor, loc: Tensor, scale: Tensor, base: Tensor | None = None) -> Tensor:
        """(B, H, Q) raw head outputs -> outputs in the input's units (``base`` (B, H): the anchor)."""
        if base is not None:  # the anchor moves the point (point), the mean (gaussian) or the lowest quantile
            raw = raw + base.unsqueeze(-1) if self.output == "point" else torch.cat(
                [raw[..., :1] + base.unsqueeze(-1), raw[..., 1:]], dim=-1)
        loc, scale = loc.unsqueeze(-1), scale.unsqueeze(-1)  # (B, 1, 1)
        if self.output == "point":
            return loc + scale * raw
        if self.output == "gaussian":
            mean = loc + scale * raw[..., :1]
            std = scale * (F.softplus(raw[..., 1:]) + 1e-4)
            return torch.cat([mean, std], dim=-1)
        # ordered quantiles: the first is free, each next adds a positive gap
        first = raw[..., :1]
        gaps = F.softplus(raw[..., 1:]) + 1e-6
        q = torch.cat([first, first + torch.cumsum(gaps, dim=-1)], dim=-1)
        return loc + scale * q

    def forward(self, y: Tensor, past: Tensor, future: Tensor) -> Tensor:
        B, L = y.shape
        H = self.horizon
        if L != self.input_size or future.shape[1] != L + H:
            raise ValueError(f"ForecastNet: expected y of shape (B, {self.input_size}) and future of shape "
                             f"(B, {self.input_size + H}, {self.n_future}), got {tuple(y.shape)} and {tuple(future.shape)}")
        loc, scale = self._norm(y)
        z = (y - loc) / scale  # (B, L)
        x = torch.cat([z.unsqueeze(-1), past, future[:, :L]], dim=-1)  # (B, L, 1+P+K)
        out, state = self.encoder(x)  # (B, L, Hd)
        h = self.drop(out[:, -1])  # (B, Hd)
        base = self._anchor(z) if self.anchor == "seasonal" else None  # (B, H)
        if self.decoder == "direct":
            feats = torch.cat([h, future[:, L:].reshape(B, -1)], dim=-1)
            raw = self.head(feats).view(B, H, self.n_out)
            return self._shape(raw, loc, scale, base)
        # autoregressive: feed the point prediction back, carry past covariates forward
        raws = []
        last_past = past[:, -1] if self.n_past else past[:, 0, :0].new_zeros(B, 0)
        raw = self.head(h)  # prediction for step t
        raws.append(raw)
        for k in range(1, H):
            prev = self._feedback(raw, None if base is None else base[:, k - 1])  # (B, 1), normalised units like z
            x_t = torch.cat([prev, last_past, future[:, L + k - 1]], dim=-1)  # (B, 1+P+K)
            h_t, state = self.encoder.step(x_t, state)
            raw = self.head(self.drop(h_t))
            raws.append(raw)
        return self._shape(torch.stack(raws, dim=1), loc, scale, base)

    def _feedback(self, raw: Tensor, base: Tensor | None = None) -> Tensor:
        """One step's raw head output (B, Q) -> its point value (B, 1) in normalised units."""
        zeros = raw.new_zeros(raw.shape[0], 1)
        b = None if base is None else base.unsqueeze(1)  # (B, 1)
        return self.point(self._shape(raw.unsqueeze(1), zeros, torch.ones_like(zeros), b))

    def point(self, out: Tensor) -> Tensor:
        """(B, H, Q) outputs -> (B, H) point forecast (mean or median)."""
        if self.output == "quantile":
            levels = torch.tensor(self.quantiles)
            return out[..., int(torch.argmin((levels - 0.5).abs()))]
        return out[..., 0]


class ForecastEnsemble(nn.Module):
    """Several :class:`ForecastNet` trained from different seeds; forecasts are combined.

    Points and quantiles are averaged; Gaussian members combine as an equal
    mixture (mean of means, variance by the law of total variance).
    """

    def __init__(self, members: list[ForecastNet]):
        super().__init__()
        self.members = nn.ModuleList(members)

    @property
    def first(self) -> ForecastNet:
        return self.members[0]  # type: ignore[return-value]

    def forward(self, y: Tensor, past: Tensor, future: Tensor) -> Tensor:
        outs = torch.stack([m(y, past, future) for m in self.members])  # (M, B, H, Q)
        if self.first.output != "gaussian":
            return outs.mean(0)
        mean = outs[..., 0].mean(0)
        var = (outs[..., 1] ** 2 + outs[..., 0] ** 2).mean(0) - mean ** 2
        return torch.stack([mean, var.clamp_min(1e-12).sqrt()], dim=-1)

    def point(self, out: Tensor) -> Tensor:
        return self.first.point(out)


def net_kwargs(config: dict) -> dict:
    keys = ("horizon", "input_size", "n_past", "n_future", "hidden_size", "num_layers", "dropout", "cell", "output",
            "quantiles", "instance_norm", "decoder")
    out = {k: config[k] for k in keys}
    out["backend"] = config.get("backend", "auto")
    out["norm_window"] = int(config.get("norm_window", 0))
    out["anchor"] = config.get("anchor", "level")
    out["season"] = int(config.get("season", 1))
    return out


@register_model(KIND)
def build(config: dict) -> ForecastEnsemble:
    """Builder for saved forecasters: ``config`` = :func:`net_kwargs` fields plus ``ensemble``."""
    return ForecastEnsemble([ForecastNet(**net_kwargs(config)) for _ in range(int(config.get("ensemble", 1)))])


# ---- losses on (B, H, Q) outputs against (B, H) targets -------------------------------------------------

def point_loss(out: Tensor, target: Tensor, kind: str) -> Tensor:
    err = out[..., 0] - target
    return err.abs().mean() if kind == "mae" else (err ** 2).mean()


def gaussian_nll(out: Tensor, target: Tensor) -> Tensor:
    mean, std = out[..., 0], out[..., 1]
    return (torch.log(std) + 0.5 * ((target - mean) / std) ** 2 + 0.5 * math.log(2 * math.pi)).mean()


def pinball_loss(out: Tensor, target: Tensor, quantiles: list[float]) -> Tensor:
    q = torch.tensor(quantiles, dtype=out.dtype, device=out.device)  # (Q,)
    diff = target.unsqueeze(-1) - out  # (B, H, Q)
    return torch.maximum(q * diff, (q - 1) * diff).mean()
