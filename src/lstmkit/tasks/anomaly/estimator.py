"""``lstmkit.AnomalyDetector``: LSTM anomaly detection on in-memory series."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..estimator import Estimator
from .config import AnomalyConfig, parse_segment
from .data import AnomalyData, from_array, from_frame
from .evaluation import Detection, decide, evaluate_detections, verdict


@dataclass
class AnomalyResult:
    """What :meth:`AnomalyDetector.analyse` found on one series (kept as ``result_`` for :meth:`~AnomalyDetector.report`)."""

    data: AnomalyData
    scored: np.ndarray  # (T,) bool: rows in the scored span, outside the warm-up
    named: dict[str, Detection]  # "LSTM" first, then the baselines
    evaluation: dict | None
    notes: list[str] = field(default_factory=list)
    span: Any = None  # the span asked for (None: the default rows)

    @property
    def lstm(self) -> Detection:
        return self.named["LSTM"]


class AnomalyDetector(Estimator):
    r"""LSTM anomaly detector: learns normal behaviour, scores every row, reports anomalies as events.

    Two detectors (``kind``): ``"prediction"`` (Malhotra et al. 2015), a
    stacked LSTM that predicts the next ``horizon`` values at every step, and
    ``"reconstruction"`` (EncDec-AD, Malhotra et al. 2016), an LSTM
    encoder-decoder that reconstructs windows. A row's score for the
    prediction detector is

    .. math::
        s_t = \min_{k=1..h} (e_{t,k} - \mu_k)^\top \Sigma_k^{-1} (e_{t,k} - \mu_k)

    where :math:`e_{t,k}` is the error of the value predicted for row
    :math:`t` at row :math:`t-k` and :math:`(\mu_k, \Sigma_k)` a Gaussian
    fitted on normal validation rows (the minimum keeps a spike from also
    flagging the rows after it). Scores are then pooled (see ``smooth``) and
    thresholded; runs of flagged rows become events.

    Choices made from the normal rows when left automatic (the defaults):
    the training ``window`` (two seasons), ``difference`` (model
    ``x[t] - x[t-1]`` when the normal rows trend), and ``smooth`` (per-row
    scores, and when the data have a season a centred mean over one season,
    each scaled to its spread on the validation rows; the larger counts). The
    choices are in :attr:`choices_`.

    Args:
        config: an :class:`~lstmkit.tasks.anomaly.config.AnomalyConfig` (or a nested dict) to start from.
        **params: any configuration field by name, e.g. ``kind="prediction"``, ``hidden_size=64``,
            ``window=0``, ``horizon=4``, ``smooth=0``, ``difference="auto"``, ``epochs=30``,
            ``false_alarm_rate=0.001``, ``method="false_alarm"``, ``seed=0``; see :meth:`get_params`.

    Rows (the ``split`` fields): ``fit(x)`` learns from every row of ``x``
    (or rows ``train="START:END"``) and holds out the last quarter of them
    to fit the model of normal errors, the pooling and the threshold
    (``validation="START:END"`` or ``fit(x, validation=array)`` to name
    them). Scoring the same series skips the rows that were fitted: only the
    other rows are scored, flagged and evaluated (``score="START:END"``
    chooses the rows; the rows before them serve as context).

    Shapes:
        - x: ``(T,)`` or ``(T, C)`` array, or a DataFrame (value columns: ``columns``, else every
          column but ``label`` and ``time``).
        - :meth:`score` returns ``(T,)`` floats, NaN on rows not scored.
        - :meth:`detect` returns a DataFrame with one event per row: ``start``, ``end``, ``peak``
          (row positions, inclusive) and ``score`` (the peak score).

    Example::

        >>> import numpy as np, lstmkit
        >>> t = np.arange(3000)
        >>> x = np.sin(2 * np.pi * t / 50) + 0.1 * np.random.default_rng(0).normal(size=3000)
        >>> x[2500:2510] += 2.0                                   # an anomaly after the normal part
        >>> det = lstmkit.AnomalyDetector(hidden_size=16, epochs=5, progress_bar=False, train="0:2000")
        >>> det = det.fit(x)                                      # rows 0:2000 are normal
        >>> det.detect(x)                                         # rows 2000: are scored
    """

    config_class = AnomalyConfig
    kinds = ("anomaly-prediction", "anomaly-reconstruction")
    task = "anomaly"

    # ------------------------------------------------------------ inputs
    def _series(self, x: Any, who: str) -> AnomalyData:
        if isinstance(x, AnomalyData):
            return x
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas is a dependency
            pd = None
        if pd is not None and isinstance(x, pd.DataFrame):
            return from_frame(x, self.config.data, source=f"{who}: DataFrame", refuse_constant=False)
        if pd is not None and isinstance(x, pd.Series):
            return from_frame(x.to_frame(name=str(x.name or "value")), self.config.data, source=f"{who}: Series",
                              refuse_constant=False)
        return from_array(x, self.config.data, source=f"{who}: array")

    # ------------------------------------------------------------ training
    def fit(self, x: Any, validation: Any = None, log_dir: str | Path | None = None, resume: bool = False) -> "AnomalyDetector":
        """Learn normal behaviour from ``x`` (every row, or rows ``split.train``); returns ``self``.

        Args:
            x: normal data: ``(T,)``/``(T, C)`` array or DataFrame.
            validation: separate normal rows for the error model, pooling and threshold
                (default: the last quarter of the training rows, or rows ``split.validation`` of ``x``).
            log_dir: keep the training log and resumable checkpoints there (default: nothing written).
            resume: continue an interrupted fit from ``log_dir``.
        """
        from .detector import LSTMDetector
        from .pooling import Pooling
        from . import choices as auto

        data = self._series(x, "AnomalyDetector.fit")
        val = self._series(validation, "AnomalyDetector.fit(validation=)").values if validation is not None else None
        det = LSTMDetector(self.config)
        self.log.info(f"fitting the {self.config.detector.kind} detector on {data.values.shape[0]} rows x "
                      f"{data.values.shape[1]} channel(s)")
        det.fit(data.values, out_dir=log_dir, resume=resume, validation=val)
        seg = det.segments
        ch = det.choices
        self.log.info(f"network trained on rows {seg.train[0]}:{seg.train[1]} ({det.fit_result.epochs} epochs); "
                      + (f"validation rows {seg.validation[0]}:{seg.validation[1]}" if seg.validation else
                         f"validation: {val.shape[0]} separate rows"))
        d = self.config.detector
        val_scores = det.validation_scores
        if d.smooth == 1:
            spans = [1]
        elif d.smooth > 1:
            spans = [d.smooth]
        else:
            span = auto.pooling_span(ch.get("season"), int(np.isfinite(val_scores).sum()))
            spans = [1] if span is None else [1, span]
        pooling = Pooling(spans).fit(val_scores, np.isfinite(val_scores))
        final = pooling.apply(val_scores)
        level = None
        if self.config.threshold.method == "false_alarm":
            from .thresholds import from_false_alarm_rate

            level = from_false_alarm_rate(final[np.isfinite(final)], self.config.threshold.false_alarm_rate)
        self.detector_ = det
        self.model_ = det.model
        self.pooling_ = pooling
        self.threshold_ = level
        self.columns_ = list(data.columns)
        self.choices_ = {**ch, "pooling": pooling.describe(), "spans": list(pooling.spans)}
        self.fit_result_ = det.fit_result
        self.result_ = None
        self.log.info(f"choices: season {ch.get('season') or 'none'}, window {ch['window']}, "
                      f"{'differences' if ch['difference'] else 'values'} modelled, score: {pooling.describe()}")
        return self

    # ------------------------------------------------------------ scoring
    def _is_fitted_series(self, values: np.ndarray) -> bool:
        """Whether ``values`` is the series ``fit`` was given (same rows, same values)."""
        from .detector import digest

        seg = self.detector_.segments
        return seg is not None and seg.n == values.shape[0] and seg.digest == digest(values)

    def _scored_rows(self, values: np.ndarray, span: Any) -> tuple[np.ndarray, list[str]]:
        """Mask of the rows to score, and a note saying which and why."""
        det = self.detector_
        n = values.shape[0]
        mask = np.ones(n, dtype=bool)
        if span is None and self.config.split.score:
            span = self.config.split.score
        if span is not None:
            s0, s1 = parse_segment(span, n, "score span") if isinstance(span, str) else (int(span[0]), int(span[1]))
            if not 0 <= s0 < s1 <= n:
                raise ValueError(f"AnomalyDetector: expected a score span 0 <= start < end <= {n}, got {s0}:{s1}")
            mask[:] = False
            mask[s0:s1] = True
            note = f"rows {s0}:{s1} scored (the span asked for)"
        elif self._is_fitted_series(values) and tuple(det.segments.normal) == (0, n):
            note = "every row scored: all of them are rows the detector was fitted on (in-sample scores)"
        elif self._is_fitted_series(values):
            seg = det.segments
            mask[seg.normal[0] : seg.normal[1]] = False
            if seg.validation:
                mask[seg.validation[0] : seg.validation[1]] = False
            note = (f"rows outside the fitted rows scored (training rows {seg.normal[0]}:{seg.normal[1]}"
                    + (f", validation rows {seg.validation[0]}:{seg.validation[1]}" if seg.validation else "") + " are not)")
        else:
            note = "every row scored"
        warm = det.warmup()
        if warm and mask[:warm].any():
            mask[:warm] = False
            note += f"; the first {warm} rows are the detector's warm-up and get no score"
        return mask, [note]

    def _check_channels(self, data: AnomalyData) -> None:
        if data.values.shape[1] != self.detector_.channels:
            raise ValueError(f"AnomalyDetector: the detector was fitted on {self.detector_.channels} channel(s) "
                             f"{self.columns_}, {data.source} has {data.values.shape[1]} ({data.columns})")

    def score(self, x: Any, span: Any = None) -> np.ndarray:
        """Final anomaly score per row of ``x`` ``(T,)``; NaN outside the scored rows and in the warm-up.

        ``span``: ``(start, end)`` or ``"START:END"`` rows to score (rows before serve as context);
        default: ``split.score``, else the rows not fitted when ``x`` is the fitted series, else all.
        """
        self._require_fitted("score")
        data = self._series(x, "AnomalyDetector.score")
        self._check_channels(data)
        mask, _ = self._scored_rows(data.values, span)
        return self._final(self.detector_.raw_score(data.values), mask, self.pooling_)

    @staticmethod
    def _final(raw: np.ndarray, mask: np.ndarray, pooling) -> np.ndarray:
        out = pooling.apply(raw)
        out[~mask] = np.nan
        return out

    def _decide(self, scores: np.ndarray, level: float | None) -> Detection:
        t = self.config.threshold
        return decide(scores, t.method, level, t.contamination, t.dynamic_window, t.min_gap, who="AnomalyDetector")

    def predict(self, x: Any, span: Any = None) -> np.ndarray:
        """Whether each row of ``x`` is anomalous, ``(T,)`` of 0/1: 1 on every row of an event of
        :meth:`detect` (runs of flagged rows merged across gaps of up to ``threshold.min_gap``);
        0 outside the scored rows. ``span`` as in :meth:`score`."""
        from .events import events_to_mask

        result = self.analyse(x, span=span, baselines=False)
        return events_to_mask(result.lstm.events, len(result.lstm.scores)).astype(np.int64)

    def detect(self, x: Any, span: Any = None):
        """Anomalous events in ``x`` as a DataFrame: ``start``, ``end``, ``peak`` (row positions, end
        inclusive), ``score`` (the peak's score), and the time of each when ``x`` has a time column."""
        result = self.analyse(x, span=span, baselines=False)
        return self._events_frame(result)

    def _events_frame(self, result: AnomalyResult):
        import pandas as pd

        evs = result.lstm.events
        frame = pd.DataFrame({"start": [e.start for e in evs], "end": [e.end for e in evs],
                              "peak": [e.peak for e in evs], "score": [e.peak_score for e in evs]})
        if self.config.data.time or result.data.time_column:
            t = result.data.time
            for col in ("start", "end", "peak"):
                frame[f"{col}_time"] = [t[i] for i in frame[col]]
        return frame

    def analyse(self, x: Any, labels: Any = None, span: Any = None, baselines: bool = True) -> AnomalyResult:
        """Scores, flags and events of the LSTM (and the baselines), with every metric when labels exist.

        The result is kept as ``result_`` for :meth:`report`.
        """
        self._require_fitted("analyse")
        data = self._series(x, "AnomalyDetector.analyse")
        self._check_channels(data)
        n = data.values.shape[0]
        if labels is not None:
            y = np.asarray(labels)
            if y.shape != (n,) or not np.isin(y, (0, 1)).all():
                raise ValueError(f"AnomalyDetector: expected labels of shape ({n},) holding 0 and 1, got shape {y.shape}")
            data = AnomalyData(data.values, y.astype(int), data.time, data.columns, data.source, data.notes,
                               time_column=data.time_column)
        mask, notes = self._scored_rows(data.values, span)
        raw = self.detector_.raw_score(data.values)
        named = {"LSTM": self._decide(self._final(raw, mask, self.pooling_), self.threshold_)}
        if baselines:
            for name, (s, level) in self._baselines(data.values, mask, notes).items():
                named[name] = self._decide(s, level)
        evaluation = None
        if data.labels is not None:
            evaluation = evaluate_detections(data.labels, named, mask)
            if baselines:
                evaluation["verdict"] = verdict(evaluation)
        result = AnomalyResult(data, mask & np.isfinite(named["LSTM"].scores), named, evaluation, notes, span)
        self.result_ = result
        return result

    def _baselines(self, values: np.ndarray, mask: np.ndarray, notes: list[str]) -> dict[str, tuple[np.ndarray, float | None]]:
        """Rolling z-score and isolation forest, pooled and thresholded like the LSTM.

        Each is fitted and calibrated on normal rows of the same series: the rows the LSTM was fitted
        on when this is the fitted series, else the rows before the scored ones (else all rows, said
        in the notes).
        """
        from . import baselines as base
        from .pooling import Pooling
        from .thresholds import from_false_alarm_rate

        det = self.detector_
        n = values.shape[0]
        seg = det.segments
        if seg is not None and seg.n == n and seg.validation is not None and not mask[seg.normal[0]:seg.normal[1]].any():
            fit_rows, cal_rows = seg.train, seg.validation
        else:
            first = int(np.flatnonzero(mask)[0]) if mask.any() else n
            if first >= 4 * det.window:
                cut = first - max(first // 4, 1)
                fit_rows, cal_rows = (0, cut), (cut, first)
            else:
                fit_rows, cal_rows = (0, n), (0, n)
                notes.append("baselines fitted and calibrated on the whole series (too few rows precede the scored ones)")
        window = int(min(det.window, n - 1))
        z = base.rolling_zscore(values, window=max(2, window))
        iso_w = int(max(2, min(32, (fit_rows[1] - fit_rows[0]) // 4)))
        iso = base.isolation_forest_scores(values, window=iso_w, seed=self.config.train.seed,
                                           fit_on=values[fit_rows[0]:fit_rows[1]])
        iso = -np.log1p(-np.minimum(iso, 1 - 1e-12))  # (0, 1] -> a distance-like spread
        out = {}
        cal = np.zeros(n, dtype=bool)
        cal[cal_rows[0]:cal_rows[1]] = True
        for name, s in (("rolling z-score", z), ("isolation forest", iso)):
            normal = cal & np.isfinite(s)
            if normal.sum() < 2:
                normal = np.isfinite(s)
            pooling = Pooling(list(self.pooling_.spans)).fit(np.where(normal, s, np.nan), normal)
            final_all = pooling.apply(s)
            level = None
            if self.config.threshold.method == "false_alarm":
                ref = final_all[normal & np.isfinite(final_all)]
                level = from_false_alarm_rate(ref if ref.size else final_all[np.isfinite(final_all)],
                                              self.config.threshold.false_alarm_rate)
            final_all[~mask] = np.nan
            out[name] = (final_all, level)
        return out

    def evaluate(self, x: Any, labels: Any = None, span: Any = None) -> dict:
        """Every metric for the LSTM and both baselines on the scored rows of ``x``.

        ``labels``: 0/1 per row (default: the ``label`` column of a DataFrame). Returns a dict:
        ``rows_scored``, ``first_row_scored``, ``last_row_scored``, ``labelled_rows``, one entry per
        detector (``pr_auc``, ``roc_auc``, ``point``, ``point_adjusted``, ``event``, ``flagged_rows``,
        ``predicted_events``, ``ucr_hit``), ``best_pr_auc``, ``baselines_ahead_of_lstm`` and
        ``verdict`` (one sentence saying whether a baseline beats the LSTM).
        """
        result = self.analyse(x, labels=labels, span=span, baselines=True)
        if result.evaluation is None:
            raise ValueError("AnomalyDetector.evaluate: no labels (pass labels=, or a DataFrame with a "
                             f"{self.config.data.label!r} column)")
        return result.evaluation

    # ------------------------------------------------------------ online
    def streaming(self):
        """A :class:`~lstmkit.tasks.anomaly.detector.StreamingDetector` that scores one observation at a
        time with the LSTM state carried (prediction detector); each score arrives ``delay`` rows late
        when the pooling is centred."""
        from .detector import StreamingDetector

        self._require_fitted("streaming")
        return StreamingDetector(self.detector_, self.pooling_)

    # ------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the model folder (weights, configuration, scaling, error model, pooling, threshold)."""
        self._require_fitted("save")
        extra = {"pooling": self.pooling_.to_dict(), "threshold": self.threshold_, "columns": self.columns_,
                 "estimator_config": _to_dict(self.config)}
        return self.detector_.save(path, extra=extra)

    @classmethod
    def load(cls, path: str | Path) -> "AnomalyDetector":
        """Open a model folder written by :meth:`save` (or ``lstmkit anomaly train``)."""
        from ...train.checkpoint import ModelFolderError
        from .detector import LSTMDetector
        from .pooling import Pooling

        det, extra = LSTMDetector.load(path, who="AnomalyDetector.load")
        try:
            est = cls(config=extra.get("estimator_config") or extra["run_config"])
            est.pooling_ = Pooling.from_dict(extra["pooling"])
            est.threshold_ = None if extra.get("threshold") is None else float(extra["threshold"])
            est.columns_ = list(extra.get("columns") or [])
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFolderError(f"AnomalyDetector.load: {Path(path) / 'config.json'}: field 'extra' lacks the "
                                   f"detector's pooling or threshold ({type(e).__name__}: {e})") from None
        est.detector_, est.model_ = det, det.model
        est.choices_ = {**det.choices, "pooling": est.pooling_.describe(), "spans": list(est.pooling_.spans)}
        est.fit_result_ = None
        est.result_ = None
        return est

    # ------------------------------------------------------------ seeing inside
    def explain_target(self):
        """What ``lstmkit explain`` traces: the network's LSTM (a reconstruction detector's encoder) on a series.

        Returns a :class:`lstmkit.explain.traces.TraceTarget` whose ``prepare(series)``
        takes numbers, rows or a CSV path, scales every row as in training
        and runs the network over all of them (one label per row).
        """
        import torch

        from ...explain.traces import TraceTarget
        from ..explain.models import read_series

        self._require_fitted("explain_target")
        det = self.detector_
        net = det.model
        layer = net.lstm if hasattr(net, "lstm") else net.encoder  # prediction: lstm; reconstruction: its encoder

        def prepare(data):
            values, labels = read_series(data)
            if values.shape[1] != det.channels:
                raise ValueError(f"AnomalyDetector.explain_target: the detector reads {det.channels} channels, "
                                 f"got {values.shape[1]}")
            x = torch.as_tensor(det.scaler.transform(values), dtype=torch.float32)[None]  # (1, T, C)
            return labels, lambda: net(x)

        return TraceTarget(net, layer, "series", prepare)

    def _export_kind(self) -> str:
        return f"anomaly-{self.detector_.kind}"

    def _export_graphs(self, steps: int | None) -> list:
        """``export``: the network on scaled rows. Prediction detector: ``(x (B, T, C), h0, c0) -> (pred (B, T,
        horizon, C), h_n, c_n)``, the state in and out for streaming (``steps``: ``T``, default the training
        window); reconstruction detector: ``x (B, T, C) -> recon (B, T, C)``. Scaling (and differencing), the
        error model, pooling and threshold stay outside; the scaling parameters, pooling and threshold are in
        the file's metadata (``lstmkit.scaler``, ``lstmkit.pooling``, ``lstmkit.threshold``)."""
        from .onnx_graphs import graphs

        return graphs(self, steps)

    # ------------------------------------------------------------ report
    def report(self, path: str | Path, x: Any = None, labels: Any = None, span: Any = None, run: dict | None = None) -> Path:
        """Write an HTML report (series, scores, events, metrics beside the baselines) and its plot.

        ``path``: an ``.html`` file, or a folder that gets ``report.html`` and ``plots/``. Reports on
        ``x`` when given, else on the last :meth:`evaluate`/:meth:`analyse`/:meth:`detect` call.
        """
        from .report import write_report

        self._require_fitted("report")
        if x is not None:
            self.analyse(x, labels=labels, span=span, baselines=True)
        if self.result_ is None:
            raise ValueError("AnomalyDetector.report: nothing to report yet; pass x= or call evaluate()/detect() first")
        if len(self.result_.named) == 1:  # detect() skipped the baselines: compute them for the report
            r = self.result_
            self.analyse(r.data, span=r.span, baselines=True)
        path = Path(path)
        html = path if path.suffix.lower() in (".html", ".htm") else path / "report.html"
        return write_report(html, self, self.result_, run or {})


def _to_dict(cfg) -> dict:
    from ...config import to_dict

    return to_dict(cfg)


__all__ = ["AnomalyDetector", "AnomalyResult"]
