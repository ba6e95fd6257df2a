"""The gate explorer: a local web page that colours text by one unit's gate and plots the gates over time.

:class:`ExplorerServer` serves one static page (plain HTML + JS, inline SVG,
no build step, :mod:`.explorer_page`) and a JSON endpoint on a
:class:`~.local_http.LocalHTTPServer` (bounded connections, workers and
time; only requests addressed to this machine, JSON posts only; see there).
The model is not known here: the server gets a ``trace`` function (input ->
:class:`~lstmkit.explain.traces.Traces`) from the caller (``lstmkit explain
serve`` passes the task model's), so this module stays below ``tasks/``.
It reads no file: the page is a string in the code.

Endpoints:

=====================  ===================================================
``GET /``              the page; ``?text=...&layer=0&unit=3&gate=f`` pre-fills it and runs on load
``GET /api/info``      ``{kind, input, layers, directions, hidden_sizes, gates}``
``POST /api/trace``    ``{"text": str}`` or ``{"series": [numbers]}`` plus ``layer``, ``unit``,
                       ``direction`` (integers, default 0) -> ``{labels, gates: {name: [per step]}, ...}``
                       for that unit; any other request body is answered 400 with a message
=====================  ===================================================
"""

from __future__ import annotations

import json
import math
import threading
from typing import Callable

from .local_http import HTTPError, LocalHTTPServer, Request, Response
from .traces import GATE_TITLES, Traces

MAX_BODY = 2_000_000
FIELDS = ("text", "series", "layer", "unit", "direction")


class ExplorerServer(LocalHTTPServer):
    """``ExplorerServer(trace, info, port=0)``; ``.url`` is where it listens; ``serve_forever()`` runs it.

    Args:
        trace: input (a string, or a list of numbers for series models) -> :class:`Traces`.
        info: what the page shows about the model: ``kind``, ``input`` (``text`` or ``series``),
            ``layers``, ``directions``, ``hidden_sizes``, ``gates``.
        host: interface to bind (default ``127.0.0.1``: this machine only).
        port: ``0`` picks a free port.
        max_steps: longest input accepted (steps), default 5000.
        **limits: the server's limits (``workers``, ``max_connections``, ``request_timeout``, ...,
            see :class:`~.local_http.LocalHTTPServer`).

    Example::

        server = ExplorerServer(explainable.trace, traces_info(probe, "lm-lstm", "text"), port=0)
        server.start_background()   # server.url -> http://127.0.0.1:PORT/
        ...
        server.shutdown(); server.server_close()
    """

    def __init__(self, trace: Callable[[object], Traces], info: dict, host: str = "127.0.0.1", port: int = 0,
                 max_steps: int = 5000, **limits) -> None:
        limits.setdefault("max_body", MAX_BODY)
        super().__init__(host, port, **limits)
        self.trace, self.info, self.max_steps = trace, dict(info), max_steps
        self.lock = threading.Lock()  # one model call at a time

    def respond(self, request: Request) -> Response:
        from .explorer_page import PAGE

        path = request.path
        if request.method in ("GET", "HEAD"):
            if path in ("/", "/index.html"):
                return Response(200, PAGE.encode(), "text/html; charset=utf-8")
            if path == "/api/info":
                return Response.json(200, self.info)
            raise HTTPError(404, f"no page {path[:80]}")
        if path != "/api/trace":
            raise HTTPError(404, f"no endpoint {path[:80]} for POST; expected /api/trace")
        try:
            return Response.json(200, self.answer(_parse_json(request.body)))
        except ValueError as e:
            raise HTTPError(400, str(e)) from None

    def answer(self, request: dict) -> dict:
        """The JSON reply to a trace request (``ValueError`` with a one-line message for a bad one)."""
        if not isinstance(request, dict):
            raise ValueError(f"explorer: expected a JSON object, got {_json_type(request)}")
        unknown = sorted(set(request) - set(FIELDS))
        if unknown:
            raise ValueError(f"explorer: unknown field(s) {unknown}; expected {', '.join(FIELDS)}")
        if self.info.get("input") == "series":
            data = request.get("series")
            if not isinstance(data, list) or not data:
                raise ValueError("explorer: expected 'series': a non-empty list of numbers")
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in data):
                raise ValueError("explorer: expected 'series' to hold numbers only")
            data = [float(v) for v in data]
            if not all(math.isfinite(v) for v in data):
                raise ValueError("explorer: expected 'series' to hold finite numbers only")
            n = len(data)
        else:
            data = request.get("text")
            if not isinstance(data, str) or not data.strip():
                raise ValueError("explorer: expected 'text': a non-empty string")
            n = len(data)
        if n > self.max_steps:
            raise ValueError(f"explorer: expected at most {self.max_steps} steps of input, got {n}")
        layer, unit, direction = (_int_field(request, k) for k in ("layer", "unit", "direction"))
        layers, sizes, directions = self.info.get("layers"), self.info.get("hidden_sizes"), self.info.get("directions")
        known = isinstance(layers, int) and isinstance(sizes, list) and len(sizes) == layers
        if known and (not 0 <= layer < layers or not 0 <= unit < sizes[layer]):
            raise ValueError(f"explorer: expected layer in [0, {layers}) and unit in "
                             f"[0, {sizes[layer] if 0 <= layer < layers else max(sizes)}), got {layer}, {unit}")
        if isinstance(directions, int) and not 0 <= direction < directions:
            raise ValueError(f"explorer: expected direction in [0, {directions}), got {direction}")
        with self.lock:
            tr = self.trace(data)
        H = tr.hidden_size(layer) if 0 <= layer < tr.num_layers else 0
        if not 0 <= unit < max(H, 1) or H == 0:
            raise ValueError(f"explorer: expected layer in [0, {tr.num_layers}) and unit in [0, {H}), got {layer}, {unit}")
        gates = {name: [round(float(v), 5) for v in tr.values(layer, name, direction)[:, unit]] for name in tr.names}
        out = {"labels": tr.labels, "layer": layer, "unit": unit, "direction": direction, "gates": gates,
               "titles": {k: GATE_TITLES.get(k, k) for k in tr.names}}
        if isinstance(data, list):  # series: the values the steps read (a forecaster reads only the last window)
            out["values"] = data[-len(tr.labels):]
        return out


def _reject_constant(name: str):
    raise ValueError(f"explorer: {name} is not JSON; expected finite numbers")


def _parse_json(body: bytes):
    """The request body as JSON: UTF-8, no NaN/Infinity, not nested deeper than Python can parse."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"explorer: the request body is not UTF-8 (byte {e.start})") from None
    if not text.strip():
        raise ValueError("explorer: expected a JSON object in the request body, got nothing")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise ValueError(f"explorer: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise ValueError("explorer: the JSON is nested too deeply") from None


def _int_field(request: dict, key: str) -> int:
    value = request.get(key, 0)
    if isinstance(value, float):
        raise ValueError(f"explorer: field {key!r}: expected an integer, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"explorer: field {key!r}: expected an integer, got {_json_type(value)}")
    return value


def _json_type(value) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null",
             float: "a number", int: "an integer"}
    return names.get(type(value), type(value).__name__)


def traces_info(tr: Traces, kind: str, input_kind: str) -> dict:
    """The ``/api/info`` object from one trace of the model."""
    return {"kind": kind, "input": input_kind, "layers": tr.num_layers, "directions": tr.num_directions,
            "hidden_sizes": [tr.hidden_size(l) for l in range(tr.num_layers)], "gates": list(tr.names),
            "titles": {k: GATE_TITLES.get(k, k) for k in tr.names}}
