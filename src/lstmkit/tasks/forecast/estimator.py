"""``lstmkit.Forecaster``: LSTM forecasting on in-memory data, with the classical peers beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...data.series import OutputForm, SeriesSet, future_index
from ..estimator import Estimator
from .config import DataConfig, ForecastConfig
from .model import KIND

#: the series fitted when neither data nor ``data.path`` is given
BUILTIN_DATA = {"path": "airline.csv", "target": "Passengers", "time": "Date", "name": "airline"}

_COLUMNS = ("target", "time", "id", "past_covariates", "future_covariates", "layout", "freq")


class Forecaster(Estimator):
    r"""Forecast one or many time series with an LSTM, chosen against classical forecasters on your own data.

    ``fit`` derives what the data imply (season, input window, transform,
    validation windows), then runs an *inner rolling-origin validation* on the
    end of the training data: two LSTM set-ups (``lstm``: a correction to
    the seasonal-naive forecast; ``lstm-level``: a correction to the window's
    level, reading each series with its own seasonal indices taken out; both
    in logs when the values are positive, else standard-scaled),
    the classical forecasters (AutoETS, AutoARIMA and AutoTheta from
    statsforecast, seasonal naive, naive) and their ``combination`` (the mean
    of the best LSTM and the statistical models) are each fitted before
    the last validation origins and scored on them (MASE). The best one is refitted on
    all the data; ``select__model="lstm"`` (or any candidate) forces one.

    With many series (``id=``), one *global* LSTM is trained across all of
    them: each series is scaled on its own, each window is normalised by its
    own level, and batches are drawn from all series on the fly (memory grows
    with the data, not the number of windows). Series too short for the input
    window are forecast by the best classical candidate and listed.

    .. math::
        \hat y_{t:t+H} = \mu_t + \mathrm{Head}(\mathrm{LSTM}(y_{t-L:t} - \mu_t))
        + \text{(the last season of the window, for the seasonal anchor)}

    Args:
        config: a :class:`ForecastConfig` (or nested dict) to start from.
        **params: any configuration field by name, flat where unique
            (``horizon=12``, ``season=7``, ``hidden_size=64``, ``epochs=20``,
            ``candidates=["lstm", "ets"]``, ``model="lstm"``) or
            ``section__field`` (``train__seed=1``).

    Attributes (after ``fit``):
        choice_: the chosen candidate, the runner-up, every validation score
            and the derived settings (with their reasons).
        model_: the LSTM networks (an empty ensemble when a classical model won).

    Data: a long DataFrame (``id``, ``time``, ``target``, covariate columns),
    a wide one (``layout="wide"``: one column per series), a pandas Series or
    a 1-D array (one series). Forecasts come back as a DataFrame with columns
    ``id, time, step, forecast`` and one ``q<level>`` column per quantile.

    Example::

        >>> import numpy as np, pandas as pd, lstmkit
        >>> t = pd.date_range("2000-01", periods=96, freq="MS")
        >>> y = 100 + 10 * np.sin(2 * np.pi * np.arange(96) / 12)
        >>> f = lstmkit.Forecaster(horizon=6, candidates=["seasonal_naive", "naive"])
        >>> f.fit(pd.DataFrame({"month": t, "sales": y}), time="month", target="sales").choice_["chosen"]
        'seasonal_naive'
        >>> f.predict().shape[0]
        6
    """

    config_class = ForecastConfig
    kinds = (KIND,)
    task = "forecast"

    def __init__(self, config: Any = None, **params: Any) -> None:
        if isinstance(params.get("id"), (list, tuple)):  # id=['store', 'item'] as the option's 'store,item'
            params["id"] = ",".join(map(str, params["id"]))
        super().__init__(config, **params)

    # ------------------------------------------------------------------ data
    def _columns(self, overrides: dict[str, Any]) -> dict[str, Any]:
        base = dict(getattr(self, "columns_", None) or {})
        d = self.config.data
        for key in _COLUMNS:
            base.setdefault(key, getattr(d, key))
        for k, v in overrides.items():
            if v is not None:
                base[k] = v
        return base

    def read(self, data=None, new_data: bool = False, min_length: int = 1, **columns) -> SeriesSet:
        """The series in ``data`` (a DataFrame, Series, array or file path; ``None``: ``data.path`` or the built-in airline series).

        Column names default to those given to :meth:`fit` (or the ``data``
        section of the configuration); keyword arguments override them.
        ``new_data``: data for a fitted model (predict, evaluate), read with no time column where the model
        was fitted on the row order. ``min_length``: a lone series with fewer observed values is an error; one
        of many is left out with a note. One value is enough: a product sold once is forecast by the fallback
        (the naive forecast at least), as the other too-short series are, not dropped from the forecasts.
        """
        from ...data import builtin_path
        from ...data.series import load_series

        import pandas as pd

        cols = self._columns(columns)
        if isinstance(cols.get("id"), (list, tuple)):  # id=['store', 'item']: the columns that together name a series
            cols["id"] = ",".join(map(str, cols["id"]))
        if data is not None and not isinstance(data, (pd.DataFrame, str, Path)):
            # a Series or an array holds one series: no id or covariate columns, time only from a Series' index
            cols.update(id=None, past_covariates=[], future_covariates=[], layout="long",
                        time=columns.get("time"))
        source = None
        if data is None:
            if self.config.data.path:
                data = self.config.data.path
            else:
                data = builtin_path(BUILTIN_DATA["path"])
                source = "builtin:airline"
                cols.update(target=cols["target"] or BUILTIN_DATA["target"], time=cols["time"] or BUILTIN_DATA["time"])
        target = cols["target"]
        if cols["layout"] == "wide" and isinstance(target, str) and target:
            target = [t.strip() for t in target.split(",") if t.strip()]
        freq = cols["freq"] or None
        if isinstance(freq, str) and freq.lstrip("-").isdigit():
            freq = int(freq)
        d = self.config.data
        self._read_columns = dict(cols, target=target if not isinstance(target, list) else ",".join(target))
        # a model fitted on the row order (no column of dates was there, or it was saved before they were
        # looked for) reads new data the same way
        row_order = new_data and self._row_order(cols)
        out = load_series(data, target=target or None, time=cols["time"] or None, id=cols["id"] or None,
                          layout=cols["layout"], past_covariates=list(cols["past_covariates"] or []),
                          future_covariates=list(cols["future_covariates"] or []), freq=freq, missing=d.missing,
                          max_gap=d.max_gap, source=source, find_time=not row_order, aggregate=d.aggregate,
                          min_length=min_length, anchor=getattr(self, "anchor_", None) if new_data else None)
        if not new_data and not cols["time"] and isinstance(out.freq, int) and out.time_column:
            # steps or years found in a column: new data are read by that column, not by their row order
            self._read_columns["time"] = out.time_column
        return out

    def _row_order(self, cols: dict) -> bool:
        """Whether new data read with the columns ``cols`` go by their row order: the model was fitted on the row
        order (no column of dates was there) and no time column is named."""
        return isinstance(getattr(self, "freq_", None), int) and not cols.get("time")

    def _with(self, horizon: int | None = None, **dotted) -> ForecastConfig:
        from ...config import replace

        over = {k: v for k, v in dotted.items() if v is not None}
        if horizon is not None:
            over["horizon"] = horizon
        return replace(self.config, **over) if over else self.config

    # ------------------------------------------------------------------ fit / predict
    def fit(self, df=None, time: str | None = None, target: str | list[str] | None = None, id: str | None = None,
            past_covariates: list[str] | None = None, future_covariates: list[str] | None = None,
            layout: str | None = None, freq: str | int | None = None, log_dir: str | Path | None = None,
            resume: bool = False) -> "Forecaster":
        """Choose and train the forecaster on all of ``df`` (see the class doc); returns ``self``.

        Args:
            df: long or wide DataFrame, Series, 1-D array or file path (``None``: see :meth:`read`).
            time, target, id, past_covariates, future_covariates, layout, freq:
                column names and layout (default: the ``data`` section of the configuration).
            log_dir: keep the trainer's checkpoints and CSV logs here (default: nothing is written).
            resume: continue interrupted trainings from the checkpoints in ``log_dir``.
        """
        from .selection import fit_core

        cols = dict(time=time, target=target, id=id, past_covariates=past_covariates,
                    future_covariates=future_covariates, layout=layout, freq=freq)
        data = self.read(df, **cols)
        self.columns_ = self._read_columns
        self.log.info(f"data: {data.source}: {len(data)} series, {sum(len(s) for s in data.series)} values, "
                      f"frequency {data.freq}")
        for note in data.notes:
            self.log.info(f"  note: {note}")
        core = fit_core(self.config, data, progress=self.log.info,
                        log_dir=None if log_dir is None else Path(log_dir) / "fit", resume=resume)
        self._set_core(core, data)
        self.log.info(f"chosen: {self.choice_text()}")
        return self

    def _set_core(self, core, data: SeriesSet) -> None:
        from .model import ForecastEnsemble

        self.core_ = core
        self.data_ = data
        # an earlier fit's peers and evaluation are not this one's (a second fit's evaluate read the peers, stale)
        self.peer_forecasts_ = self.evaluation_ = self.evaluation_frame_ = None
        self.freq_ = data.freq
        self.anchor_ = _grid_anchor(data)
        self.form_ = data.form
        self.model_ = core.lstm.model if core.lstm is not None else ForecastEnsemble([])
        self.forecast_ = self._future(data, core, len_origin=None)
        self.choice_ = core.summary()  # after the forecast, whose notes (series held, fallbacks) are the fit's too

    def choice_text(self) -> str:
        """One line: the chosen model, its validation score and the runner-up's."""
        self._require_fitted("choice_text")
        return self.core_.choice_text()

    def _future(self, data: SeriesSet, core, len_origin=None):
        """Forecasts after the end of every series of ``data`` as a DataFrame (see :meth:`predict`)."""
        import pandas as pd

        H = core.plan.horizon
        keep, missing = [], []
        for k, s in enumerate(data.series):
            if data.future_names and len(s.future) < len(s) + H:
                missing.append(s.id)
            else:
                keep.append(k)
        if missing:
            note = (f"no forecast after the end of series {missing[:5]}: the known-future covariates "
                    f"{data.future_names} need {H} rows after the last target value; add them (with an empty "
                    "target) and predict with history= (--data on the command line)")
            if note not in data.notes:
                data.notes.append(note)
            self.log.info(f"  note: {note}")
        if not keep:
            return pd.DataFrame(columns=["id", "time", "step", "forecast"])
        from .selection import subset

        sub = subset(data, keep)
        origins = [np.array([len(s)]) for s in sub.series]
        ends = [len(s) for s in sub.series]
        fc = core.forecast(sub, origins, self.config.select.jobs, ends=ends)
        parts = []
        for j, s in enumerate(sub.series):
            part = {"id": [s.id] * H, "time": list(future_index(s, data.freq, H)), "step": np.arange(1, H + 1),
                    "forecast": fc.point[j][0]}
            for q in sorted(fc.quantiles):
                part[f"q{q:g}"] = fc.quantiles[q][j][0]
            if not fc.quantiles:  # none measured (see the notes): the columns are there, empty
                for q in sorted(set(self.config.model.quantiles) - {0.5}):
                    part[f"q{q:g}"] = np.full(H, np.nan)
            parts.append(pd.DataFrame(part))
        return pd.concat(parts, ignore_index=True)

    def predict(self, horizon: int | None = None, history=None, **columns):
        """Forecasts after the end of each series: of the training data, or of ``history``.

        Args:
            horizon: steps (at most the fitted ``horizon``; default all of them).
            history: new data (same layout and column names as in ``fit``, or
                give ``time=``, ``target=``, ... here); each of its series is
                forecast from its own last value.

        Returns a DataFrame ``id, time, step, forecast, q<level>...``.
        """
        frame, names = self._forecast_table(horizon, history, **columns)
        if frame.empty and names:  # no series has its future covariates for the horizon: nothing to forecast from
            raise ValueError(f"Forecaster.predict: the model reads the known-future covariates {names}, so it needs "
                             f"their values for the {_steps(self.core_.plan.horizon)} after each series' end: pass "
                             "history= (--data on the command line) with those rows added (the target empty "
                             "there)")
        return frame

    def _forecast_table(self, horizon: int | None = None, history=None, **columns):
        """:meth:`predict`'s table, and the known-future covariates' names; empty where no series has those
        covariates' values over the horizon (the command line writes it so, beside its notes)."""
        self._require_fitted("predict")
        H = self.core_.plan.horizon
        horizon = H if horizon is None else int(horizon)
        if not 1 <= horizon <= H:
            raise ValueError(f"Forecaster.predict: expected 1 <= horizon <= {H} (the fitted horizon), got {horizon}")
        if history is None:
            frame, form = self.forecast_, self.form_
            names = list(getattr(self, "columns_", {}).get("future_covariates") or [])
        else:
            data = self._read_new(history, "predict", **columns)
            frame, form, names = self._future(data, self.core_), data.form, data.future_names
        # ids and times as the user gave them (inside: string ids, naive times)
        return form.frame(frame[frame["step"] <= horizon].reset_index(drop=True)), names

    def _read_new(self, df, verb: str, **columns) -> SeriesSet:
        """New data for ``verb`` (predict, evaluate) in the fitted model's frequency: a history or a few actuals
        too short or gappy to show their own step take the model's."""
        from ...data import sessions

        if sessions.parse(self.freq_) is not None and columns.get("freq") is None:
            columns = dict(columns, freq=self.freq_)  # opening hours: a short history need not show them again
        try:
            data = self.read(df, new_data=True, **columns)
        except ValueError as e:  # too few or gappy dates to show their step: the model's step is theirs
            if "could not infer a regular step" not in str(e) or columns.get("freq") is not None \
                    or not isinstance(self.freq_, str):
                raise
            data = self.read(df, new_data=True, **dict(columns, freq=self.freq_))
        if verb == "predict" and str(data.freq) != str(self.freq_):  # (evaluate matches actuals by their times)
            raise ValueError(f"Forecaster.{verb}: {data.source}: expected data of frequency {self.freq_!r} (as "
                             f"in training), got {data.freq!r}; is the time column (time=, --time) the right one?")
        return data

    # ------------------------------------------------------------------ backtest / evaluate
    def backtest(self, df=None, *, time: str | None = None, target: str | list[str] | None = None,
                 id: str | None = None, start: str | int | None = None, horizon: int | None = None,
                 stride: int | None = None, refit: int | None = None, log_dir: str | Path | None = None,
                 resume: bool = False, **columns):
        """Forecasts from rolling origins (like Darts' ``historical_forecasts``), beside the peers.

        The forecaster (model choice included) is fitted afresh on the data
        before each series' first origin (and again every ``refit`` origins),
        then forecasts ``horizon`` steps from every ``stride``-th origin,
        reading the actual history up to it. Naive, seasonal naive and the
        statsforecast peers (``select.peers``) forecast the same windows.
        The fitted model of :meth:`fit` is not changed.

        Args:
            df: the data (default: the data given to :meth:`fit`, else ``data.path``).
            start: first origin: a date, a time value, ``-N`` (the last N steps), a fraction
                (``0.8``: after the first 80 % of each series, as Darts reads it) or ``"auto"``.
            horizon, stride, refit: as in the configuration's ``horizon`` and ``backtest`` section.

        Returns a DataFrame ``id, origin, step, time, actual, forecast, q<level>..., naive, seasonal_naive,
        ets, arima, theta``; :meth:`evaluate` (no arguments) gives its metrics.
        """
        from .backtest import run_backtest

        cfg = self._with(horizon, **{"backtest.start": None if start is None else str(start),
                                     "backtest.stride": stride, "backtest.refit": refit})
        if df is None and getattr(self, "data_", None) is not None and not any(
                v is not None for v in (time, target, id, *columns.values())):
            data = self.data_
        else:
            cols = dict(time=time, target=target, id=id, **columns)
            if df is None and getattr(self, "core_", None) is not None and self.data_ is None \
                    and self.training_file() is None:
                # a loaded model (which keeps no training data) would otherwise read the built-in airline series
                raise ValueError("Forecaster.backtest: a model opened with load() keeps no training data; pass the "
                                 "data to backtest: backtest(df)")
            data = self.read(df, **cols)
            if not hasattr(self, "columns_"):
                self.columns_ = self._read_columns
        res = run_backtest(cfg, data, progress=self.log.info,
                           log_dir=None if log_dir is None else Path(log_dir) / "backtest", resume=resume)
        self.backtest_ = res
        self.backtest_config_ = cfg
        self.backtest_data_ = data
        m = res.metrics
        self.log.info(f"backtest ({m['origins']} origins from {m['first_origin']}, horizon {cfg.horizon}): "
                      f"{backtest_line(m)}")
        self.log.info(f"  {m['verdict']['text']}")
        return data.form.frame(res.frame)

    def evaluate(self, df=None, history=None, **columns) -> dict:
        """Metrics: of the last :meth:`backtest` (no arguments), or of the forecasts against actuals in ``df``.

        With ``df`` (the values that followed the training data: same ids,
        the timestamps after each series' end; where the model reads known-future covariates, their values over
        the horizon are taken from the same rows), the forecasts of :meth:`fit`
        and those of the peers fitted on the same training data are scored on
        them: ``{"model": {...}, "naive": ..., "seasonal_naive": ..., "ets": ..., "verdict": ...,
        "per_series": [...], "per_step": [...]}`` with MAE, RMSE, MAPE, sMAPE and MASE each.
        ``history``: the forecasts (as :meth:`predict` makes them from it), the peers and the MASE scale start from
        these data instead of the training data; a model opened with :meth:`load`, which keeps no training data,
        needs it.
        """
        if df is None:
            if getattr(self, "backtest_", None) is None:
                raise ValueError("Forecaster.evaluate: no backtest to report; call backtest() first or pass the "
                                 "actual values that followed the training data")
            return self.backtest_.metrics
        self._require_fitted("evaluate")
        return self._evaluate_future(df, history, **columns)

    def _peer_forecasts(self, data: SeriesSet) -> tuple[dict[str, list[np.ndarray]], list[str]]:
        """The peers' forecasts after the end of ``data`` (fitted on it) and their notes; those after the training
        data are kept (``peer_forecasts_``, cleared by a new fit)."""
        from .backtest import peer_names

        own = data is self.data_
        cached = getattr(self, "peer_forecasts_", None)
        if own and cached is not None:
            return cached
        core = self.core_
        notes: list[str] = []
        out = {}
        ends = [len(s) for s in data.series]
        origins = [np.array([e]) for e in ends]
        for p in peer_names(self.config, len(data.series), notes):
            self.log.info(f"peer {p}")  # made once: the chosen model's or a combination member's are reused
            point, pnotes = core.classical(p, data, ends, origins, self.config.select.jobs)
            out[p] = [a[0] for a in point]
            notes.extend(pnotes)
        if own:
            self.peer_forecasts_ = (out, notes)
        return out, notes

    def _forecast_with_known_future(self, data: SeriesSet, actual: SeriesSet):
        """The forecasts after ``data`` (the training data or a history) where the model reads known-future
        covariates: their values over the horizon are those ``data`` gave after its last target value, then those of
        the actuals' rows (a series whose actuals miss a step still without them is not forecast)."""
        import dataclasses

        import pandas as pd

        H = self.core_.plan.horizon
        by_id = {a.id: a for a in actual.series}
        series = []
        for s in data.series:
            a = by_id.get(s.id)
            known = len(s.future) - len(s)  # rows after the last target value that ``data`` gave already
            pos = None
            if a is not None:  # the times of the actuals' covariate rows: theirs, then any after their last value
                at = pd.Index(list(a.time) + list(future_index(a, data.freq, len(a.future) - len(a))))
                pos = at.get_indexer(future_index(s, data.freq, H)[known:])
            if known >= H or pos is None or (pos < 0).any():
                series.append(s)
                continue
            series.append(dataclasses.replace(s, future=np.concatenate([s.future, a.future[pos]])))
        return self._future(dataclasses.replace(data, series=series, notes=list(data.notes)), self.core_)

    def _evaluate_future(self, df, history=None, **columns) -> dict:
        import pandas as pd

        from .backtest import summarise, verdict
        from .selection import scale_basis, scale_note

        # the actuals' past covariates are not read (the forecasts were made without them; after the end they are
        # often empty), their known-future ones are (_forecast_with_known_future)
        if history is None and self.data_ is None:
            raise ValueError("Forecaster.evaluate: a model opened with load() keeps no training data, which the "
                             "forecasts, the peers and the MASE scale start from; pass it (or the history the "
                             "actuals follow) as evaluate(actuals, history=...)")
        data = self.data_ if history is None else self._read_new(history, "predict", **columns)
        actual = self._read_new(df, "evaluate", **{"past_covariates": [], **columns})
        if actual.time_column is None and self._row_order(self._columns(columns)):
            actual = _following(actual, data)
        by_id = {s.id: s for s in actual.series}
        H, season = self.core_.plan.horizon, self.core_.plan.season
        peers, peer_notes = self._peer_forecasts(data)
        if data.future_names:
            fc = self._forecast_with_known_future(data, actual)
        else:
            fc = self.forecast_ if history is None else self._future(data, self.core_)
        parts = []
        bases = {}  # what each scored series' MASE scale rests on
        known = {s.id for s in data.series}
        strangers = [a.id for a in actual.series if a.id not in known]
        elsewhere = []  # series whose actuals hold none of the horizon's times
        for k, s in enumerate(data.series):
            a = by_id.get(s.id)
            if a is None:
                continue
            times = future_index(s, data.freq, H)
            pos = pd.Index(a.time).get_indexer(times)
            ok = pos >= 0
            if not ok.any():
                elsewhere.append(s.id)
                continue
            f = fc[fc["id"] == s.id]
            if len(f) != H:
                continue
            part = {"id": [s.id] * int(ok.sum()), "step": np.arange(1, H + 1)[ok], "time": np.asarray(times)[ok],
                    "actual": a.values[pos[ok]], "forecast": f["forecast"].to_numpy()[ok]}
            for p, arrs in peers.items():
                part[p] = arrs[k][ok]
            scale, bases[s.id] = scale_basis(s.values, season)
            part["_scale"] = np.full(int(ok.sum()), scale)
            parts.append(pd.DataFrame(part))
        if not parts and data.future_names and len(fc) == 0:
            raise ValueError(f"Forecaster.evaluate: the model reads the known-future covariates {data.future_names}, "
                             f"so its forecasts need their values for the {_steps(H)} after each series' end; "
                             f"{actual.source} (or the history) does not give them for any series: add those rows "
                             "(the target empty where it is not known)")
        if not parts:
            raise ValueError(f"Forecaster.evaluate: {actual.source}: no actual value at the {H} timestamps after "
                             f"the end of any {'training' if history is None else 'history'} series (same ids, the "
                             "times that follow)")
        frame = pd.concat(parts, ignore_index=True)
        notes = list(peer_notes)  # (a copy: the peers' notes are kept with their forecasts)
        odd_scale = scale_note(bases)
        if odd_scale:
            notes.append(odd_scale)
        for why, ids in (("not among the series forecast", strangers),
                         (f"none at the {_steps(H)} after the series' end", elsewhere)):
            if ids:
                notes.append(f"actual values of {len(ids)} series not scored ({why}): "
                             + ", ".join(map(repr, ids[:10])) + (" ..." if len(ids) > 10 else ""))
        names = ["forecast", *peers]
        summary = summarise(frame, names, season)
        fm = summary["forecasters"]
        out = {"model": fm["forecast"], **{p: fm[p] for p in peers}, "verdict": verdict(fm, self.core_.chosen, title=self.core_.title()),
               "series": int(frame["id"].nunique()), "points": int(len(frame)), "horizon": H, "season": season,
               "peers": list(peers), "per_series": summary["per_series"], "per_step": summary["per_step"],
               "notes": notes, "after": "the training data" if history is None else "the history given"}
        self.evaluation_ = out
        self.evaluation_frame_ = frame.drop(columns="_scale")
        return out

    # ------------------------------------------------------------------ report / save / load
    def report(self, path: str | Path, title: str = "Forecast report") -> Path:
        """Write ``path/report.html`` (plots embedded, PNGs under ``path/plots``); returns the report's path."""
        from .report import write_report

        if not self.is_fitted and getattr(self, "backtest_", None) is None:
            raise ValueError("Forecaster.report: nothing to report yet; call fit() or backtest() first")
        return write_report(Path(path), self, title)

    def save(self, path: str | Path) -> Path:
        """Write a model folder (weights, config, the chosen model and the forecasts) to ``path``."""
        from ...config import to_dict
        from ...train.checkpoint import save_model

        self._require_fitted("save")
        core = self.core_
        if core.lstm is not None:
            net = core.lstm.net_config()
            transform = core.lstm.transform.to_dict()
        else:
            net = {"ensemble": 0}
            transform = None
        fc = self.forecast_.copy()
        fc["time"] = fc["time"].astype(str)
        extra = {
            "forecast_config": to_dict(self.config), "columns": self.columns_,
            "core": {"chosen": core.chosen, "runner_up": core.runner_up, "scores": core.scores,
                     "metric": core.metric, "relative": core.relative, "fallback": core.fallback,
                     "residuals": core.residuals,
                     "interval_log": core.interval_log, "intervals": core.intervals, "notes": core.notes,
                     "ends": core.ends,
                     "members": core.members, "clean_season": core.clean_season,
                     "plan": core.plan.to_dict(),
                     "lstm": None if core.lstm is None else {"setup": _setup_dict(core.lstm.setup),
                                                             "epochs": core.lstm.epochs,
                                                             "batches": core.lstm.batches,
                                                             "batch_size": core.lstm.batch_size,
                                                             "windows": core.lstm.windows}},
            "transform": transform, "forecast": fc.to_dict(orient="list"),
            "time_is_datetime": bool(self.data_.datetime), "freq": self.data_.freq, "output_form": self.form_.to_dict(),
            "anchor": _anchor_text(self.anchor_),
        }
        return save_model(path, self.model_, KIND, net, extra=extra)

    def _export_graphs(self, steps: int | None) -> list:
        """``export``: the LSTM network(s) on one scaled window per series, ``(y (B, L)[, past][, future]) ->
        forecast (B, H, Q)`` in the model's scaled units (the window's own level normalisation and the seasonal
        anchor are inside). The per-series scaling (log, loc/scale, seasonal indices) and its inverse stay
        outside; their parameters are in the file's metadata (``lstmkit.transform``). ``steps`` is not used:
        the window is the fitted ``input_size``. A classical model has no network: a ``ValueError``."""
        from .onnx_graphs import graphs

        if steps is not None:
            raise ValueError(f"Forecaster.export: the graph reads the fitted window of {self.input_size} steps; "
                             f"expected steps=None, got {steps}")
        return graphs(self)

    @classmethod
    def load(cls, path: str | Path) -> "Forecaster":
        """Open a model folder written by :meth:`save` (or ``lstmkit forecast train``)."""
        import pandas as pd

        from ...train.checkpoint import ModelFolderError, load_model
        from .dataset import Transform
        from .lstm_fit import FittedLSTM, LSTMSetup
        from .plan import Plan
        from .selection import CoreFit

        model, meta = load_model(path, kinds=cls.kinds, who=f"{cls.__name__}.load")
        extra = meta["extra"]
        try:
            f = cls(config=extra["forecast_config"])
            c = extra["core"]
            p = c["plan"]
            plan = Plan(horizon=p["horizon"], season=p["season"], season_reason=p["season_reason"],
                        input_size=p["input_size"], val_windows=p["val_windows"], ensemble=p["ensemble"],
                        log=p["log"], candidates=list(p["candidates"]), short=list(p["short_series"]),
                        reasons=list(p["reasons"]), val_stride=int(p.get("val_stride", 1)))
            lstm = None
            if c["lstm"] is not None:
                setup = LSTMSetup(**c["lstm"]["setup"])
                plan.lstm_setups = {setup.name: setup}
                lstm = FittedLSTM(setup, model, Transform.from_dict(extra["transform"]), plan.horizon,
                                  epochs=c["lstm"]["epochs"], batches=c["lstm"]["batches"],
                                  batch_size=c["lstm"].get("batch_size", 0), windows=c["lstm"].get("windows", 0))
            core = CoreFit(plan=plan, ends=list(c["ends"]), chosen=c["chosen"], runner_up=c["runner_up"],
                           scores=dict(c["scores"]), metric=c["metric"], lstm=lstm, fallback=c["fallback"],
                           relative=bool(c.get("relative", False)),  # folders from before: plain scores
                           residuals=dict(c["residuals"]), interval_log=bool(c["interval_log"]),
                           intervals=str(c.get("intervals", "validation")),  # folders from before the option
                           notes=list(c["notes"]), members=list(c.get("members", [])),
                           clean_season=int(c.get("clean_season", 0)))  # folders from before: values as given
            fc = pd.DataFrame(extra["forecast"])
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFolderError(f"{cls.__name__}.load: {Path(path) / 'config.json'}: field 'extra' is not a "
                                   f"forecaster's ({type(e).__name__}: {e})") from None
        if extra.get("time_is_datetime"):
            fc["time"] = pd.to_datetime(fc["time"])
        elif len(fc):
            fc["time"] = fc["time"].astype("int64")
        f.columns_ = dict(extra["columns"])
        f.freq_ = extra["freq"]
        f.anchor_ = _anchor_value(extra.get("anchor"))  # (older folders: none)
        f.core_ = core
        f.data_ = None
        f.form_ = OutputForm.from_dict(extra.get("output_form"))
        f.model_ = model
        f.choice_ = core.summary()
        f.forecast_ = fc
        return f

    # ------------------------------------------------------------------ helpers for callers
    @property
    def horizon(self) -> int:
        return self.core_.plan.horizon if getattr(self, "core_", None) is not None else self.config.horizon

    @property
    def input_size(self) -> int:
        """The LSTM's input window (after ``fit``)."""
        self._require_fitted("input_size")
        return self.core_.plan.input_size

    @property
    def lstm_(self):
        """The fitted LSTM (networks and the transform they read), or ``None`` when a classical model was chosen."""
        return getattr(self, "core_", None) and self.core_.lstm

    def training_file(self) -> str | None:
        """The file the model was fitted on where the configuration names it (``data.path``, or the built-in
        airline series for a model fitted on it), else ``None`` (data given in memory)."""
        from ...data import builtin_path

        if self.config.data.path:
            return str(self.config.data.path)
        fitted_on = (getattr(self, "columns_", None) or {}).get("target")
        return str(builtin_path(BUILTIN_DATA["path"])) if fitted_on in (None, "", BUILTIN_DATA["target"]) else None

    def explain_target(self):
        """What ``lstmkit explain`` traces: the LSTM (the first ensemble member's encoder) and its input window.

        Returns a :class:`lstmkit.explain.traces.TraceTarget` whose ``prepare(series)``
        takes a CSV path (read like the training data) or numbers (read as
        the first series the model was trained on) and forecasts from its
        end; the labels are the times of the last ``input_size`` values, the
        window the network reads. A forecaster that chose a classical model
        has no gates: ``ValueError``.
        """
        from ...explain.traces import TraceTarget
        from ..explain.models import is_file, read_series
        from .lstm_fit import predict_windows

        self._require_fitted("explain_target")
        lstm = self.lstm_
        if lstm is None:
            raise ValueError(f"Forecaster.explain_target: this forecaster chose {self.core_.title()}, not an "
                             "LSTM; there are no gates to show (force one with --select.model lstm)")
        n = lstm.setup.input_size

        def prepare(data):
            import pandas as pd

            if is_file(data):
                ss = self.read(str(data), new_data=True)
            else:
                values, _ = read_series(data)
                name = min(lstm.transform.scaler.loc)  # numbers are read as the (first) series it was trained on
                ss = self.read(pd.DataFrame({name: values[:, 0]}), target=name, time="", id="", layout="long",
                               past_covariates=[], future_covariates=[], freq="")
            s = ss.series[0]
            if len(s) < n:
                raise ValueError(f"Forecaster.explain_target: the forecaster reads {n} values, got a series of {len(s)}")
            times = [str(t) for t in s.time][-n:]
            one = SeriesSet([s], ss.source, ss.target, ss.freq, ss.past_names, ss.future_names)
            return times, lambda: predict_windows(lstm.model, lstm.transform, one, [np.array([len(s)])], lstm.horizon, n)

        return TraceTarget(lstm.model, lstm.model.first.encoder, "series", prepare)

    def data_config(self) -> DataConfig:
        """The data section with the column names of the training data (for reading new files)."""
        from ...config import from_dict, to_dict

        d = to_dict(self.config.data)
        for k, v in (getattr(self, "columns_", None) or {}).items():
            d[k] = v if not isinstance(v, list) else list(v)
        if isinstance(d.get("target"), list):
            d["target"] = ",".join(d["target"])
        d["freq"] = "" if d.get("freq") is None else str(d["freq"])
        return from_dict(DataConfig, d)


def backtest_line(m: dict) -> str:
    """One line of backtest results: sMAPE and MASE of the model and every peer (MAPE only where defined)."""
    from .selection import label

    names = ["model", *m.get("peers", [])]
    parts = []
    for key in names:
        v = m[key]
        lab = "model" if key == "model" else label(key)
        txt = f"{lab} sMAPE {v['smape']:.2f}% MASE {v['mase']:.3f}"
        parts.append(txt)
    mape = m["model"].get("mape")
    tail = (f"; model MAPE {mape:.2f}%" if mape is not None and np.isfinite(mape)
            else "; MAPE undefined (an actual value is 0): sMAPE and MASE shown")
    return " | ".join(parts) + tail


def _setup_dict(setup) -> dict:
    from dataclasses import asdict

    return asdict(setup)


def _grid_anchor(data: SeriesSet):
    """Where the fitted data's grid of fixed steps lies, for new data given in the model's step
    (:func:`~lstmkit.data.series.load_series`'s ``anchor``): the last time of the first series (as held inside:
    naive, local or UTC), or, where series lie at different offsets of the step (3-hourly at 01:00 and at 02:00),
    a dict of each series' last time by id (``""``: the first's, for new ids). ``None`` for integer steps,
    calendar frequencies and opening hours, whose grids do not need one."""
    import pandas as pd

    if not data.datetime or not data.series:
        return None
    try:
        step = pd.tseries.frequencies.to_offset(data.freq).nanos
    except ValueError:  # months, quarters, weeks (the calendar's grid), opening hours (the session's)
        return None
    last = {s.id: pd.Timestamp(s.time[-1]) for s in data.series}
    first = next(iter(last.values()))
    if all((t.value - first.value) % step == 0 for t in last.values()):
        return first
    return {"": first, **last}


def _anchor_text(anchor):
    """``anchor_`` as JSON holds it (times as text)."""
    if isinstance(anchor, dict):
        return {k: str(v) for k, v in anchor.items()}
    return None if anchor is None else str(anchor)


def _anchor_value(saved):
    """``anchor_`` from its JSON form (:func:`_anchor_text`)."""
    import pandas as pd

    if isinstance(saved, dict):
        return {k: pd.Timestamp(v) for k, v in saved.items()}
    return None if saved is None else pd.Timestamp(saved)


def _following(actual: SeriesSet, data: SeriesSet) -> SeriesSet:
    """Actuals read on their row order (a model fitted on the row order: an array, a frame without dates) as the
    values that followed each series of ``data``: their steps count on from its last row, not from 0 (rows of
    known-future covariates after the last target value included: the actuals are the rows after those)."""
    import dataclasses

    import pandas as pd

    step = int(data.freq)
    ends = {s.id: int(s.time[-1]) + step * (len(s.future) - len(s)) for s in data.series}
    series = [dataclasses.replace(a, time=pd.Index(ends[a.id] + step * np.arange(1, len(a) + 1)))
              if a.id in ends else a for a in actual.series]
    return dataclasses.replace(actual, series=series)


def _steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"
