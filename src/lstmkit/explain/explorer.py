"""The gate explorer: a local web page that colours text by one unit's gate and plots the gates over time.

A :class:`http.server.ThreadingHTTPServer` serves one static page (plain
HTML + JS, inline SVG, no build step, :mod:`.explorer_page`) and a JSON
endpoint. The model is not known here: the server gets a ``trace`` function
(input -> :class:`~lstmkit.explain.traces.Traces`) from the caller
(``lstmkit explain serve`` passes the task model's), so this module stays
below ``tasks/``.

Endpoints:

=====================  ===================================================
``GET /``              the page; ``?text=...&layer=0&unit=3&gate=f`` pre-fills it and runs on load
``GET /api/info``      ``{kind, input, layers, directions, hidden_sizes, gates}``
``POST /api/trace``    ``{"text": str}`` or ``{"series": [numbers]}`` plus ``layer``, ``unit``,
                       ``direction`` -> ``{labels, gates: {name: [per step]}, ...}`` for that unit
=====================  ===================================================
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from .traces import GATE_TITLES, Traces

MAX_BODY = 2_000_000


class ExplorerServer(ThreadingHTTPServer):
    """``ExplorerServer(trace, info, port=0)``; ``.url`` is where it listens; ``serve_forever()`` runs it.

    Args:
        trace: input (a string, or a list of numbers for series models) -> :class:`Traces`.
        info: what the page shows about the model: ``kind``, ``input`` (``text`` or ``series``),
            ``layers``, ``directions``, ``hidden_sizes``, ``gates``.
        host: interface to bind (default ``127.0.0.1``: this machine only).
        port: ``0`` picks a free port.
        max_steps: longest input accepted (steps), default 5000.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, trace: Callable[[object], Traces], info: dict, host: str = "127.0.0.1", port: int = 0,
                 max_steps: int = 5000) -> None:
        super().__init__((host, port), _Handler)
        self.trace, self.info, self.max_steps = trace, dict(info), max_steps
        self.lock = threading.Lock()  # one model call at a time

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def start_background(self) -> threading.Thread:
        """Serve from a daemon thread (tests, notebooks); stop with ``shutdown()``."""
        t = threading.Thread(target=self.serve_forever, daemon=True)
        t.start()
        return t

    def answer(self, request: dict) -> dict:
        """The JSON reply to a trace request (``ValueError`` for a bad one)."""
        if not isinstance(request, dict):
            raise ValueError(f"explorer: expected a JSON object, got {type(request).__name__}")
        if self.info.get("input") == "series":
            data = request.get("series")
            if not isinstance(data, list) or not data:
                raise ValueError("explorer: expected 'series': a non-empty list of numbers")
            try:
                data = [float(v) for v in data]
            except (TypeError, ValueError):
                raise ValueError("explorer: expected 'series' to hold numbers only") from None
            n = len(data)
        else:
            data = request.get("text")
            if not isinstance(data, str) or not data.strip():
                raise ValueError("explorer: expected 'text': a non-empty string")
            n = len(data)
        if n > self.max_steps:
            raise ValueError(f"explorer: expected at most {self.max_steps} steps of input, got {n}")
        layer, unit, direction = (int(request.get(k, 0)) for k in ("layer", "unit", "direction"))
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


class _Handler(BaseHTTPRequestHandler):
    server: ExplorerServer

    def log_message(self, fmt, *args):  # quiet: the command prints the URL once
        pass

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    def do_GET(self):  # noqa: N802 (http.server's name)
        from .explorer_page import PAGE

        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, PAGE.encode(), "text/html; charset=utf-8")
        elif path == "/api/info":
            self._json(HTTPStatus.OK, self.server.info)
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no page {path}"})

    def do_POST(self):  # noqa: N802
        if self.path.split("?", 1)[0] != "/api/trace":
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no endpoint {self.path}"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"explorer: expected at most {MAX_BODY} bytes, got {length}"})
            return
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
            self._json(HTTPStatus.OK, self.server.answer(request))
        except (ValueError, json.JSONDecodeError) as e:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(e)})
        except Exception as e:  # the page shows it; the server keeps running
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(e).__name__}: {e}"})


def traces_info(tr: Traces, kind: str, input_kind: str) -> dict:
    """The ``/api/info`` object from one trace of the model."""
    return {"kind": kind, "input": input_kind, "layers": tr.num_layers, "directions": tr.num_directions,
            "hidden_sizes": [tr.hidden_size(l) for l in range(tr.num_layers)], "gates": list(tr.names),
            "titles": {k: GATE_TITLES.get(k, k) for k in tr.names}}
