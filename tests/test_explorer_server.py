"""The gate explorer's server under hostile and heavy traffic, on loopback only.

Every malformed request gets a 4xx status with a JSON message (never a 500,
never a dropped connection), only requests addressed to this machine and JSON
posts are served, slow clients are timed out without holding a thread each,
and a burst of concurrent requests is answered in full. A few seconds in all.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import torch

from lstmkit.explain.explorer import ExplorerServer, traces_info
from lstmkit.explain.traces import layer_traces
from lstmkit.nn import LSTM

torch.manual_seed(0)
_LAYER = LSTM(1, 4, batch_first=True)


def _trace_text(text: str):
    x = torch.tensor([float(ord(c) % 7) for c in text]).view(1, -1, 1)
    return layer_traces(_LAYER, x, labels=list(text))


def _server(**limits) -> ExplorerServer:
    srv = ExplorerServer(_trace_text, traces_info(_trace_text("Hi"), "test", "text"), port=0, **limits)
    srv.start_background()
    return srv


@pytest.fixture
def server():
    srv = _server(request_timeout=2.0)
    yield srv
    srv.shutdown()
    srv.server_close()


def _exchange(srv, data: bytes, timeout: float = 10.0) -> tuple[int | None, dict | str]:
    """Send raw bytes, read until the server closes; ``(status, parsed JSON body or text)``."""
    with socket.create_connection(srv.server_address[:2], timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    if not out:
        return None, ""
    head, _, body = out.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode(errors="replace")


def _host(srv) -> str:
    return f"127.0.0.1:{srv.server_address[1]}"


def _post(srv, body: bytes, *, host: str | None = None, ctype: str | None = "application/json",
          length: str | None = "auto", extra: str = "") -> bytes:
    lines = [f"POST /api/trace HTTP/1.1", f"Host: {host or _host(srv)}"]
    if ctype is not None:
        lines.append(f"Content-Type: {ctype}")
    if length == "auto":
        lines.append(f"Content-Length: {len(body)}")
    elif length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode() + body


GOOD = json.dumps({"text": "Hello", "unit": 1}).encode()

# name -> (request bytes built from the server, expected status, part of the message)
BAD = {
    "Content-Length abc": (lambda s: _post(s, GOOD, length="abc"), 400, "Content-Length: expected a whole number"),
    "Content-Length -1": (lambda s: _post(s, GOOD, length="-1"), 400, "got '-1'"),
    "Content-Length twice, differing": (lambda s: _post(s, GOOD, extra="Content-Length: 3\r\n"), 400, "Content-Length"),
    "Content-Length missing": (lambda s: _post(s, GOOD, length=None), 411, "expected a Content-Length"),
    "Content-Length too large": (lambda s: _post(s, GOOD, length=str(10**9)), 413, "at most 2000000 bytes"),
    "chunked body": (lambda s: _post(s, b"", length=None, extra="Transfer-Encoding: chunked\r\n"), 411, "Transfer-Encoding"),
    '"layer": []': (lambda s: _post(s, b'{"text": "Hi", "layer": []}'), 400, "field 'layer': expected an integer, got an array"),
    '"unit": "3"': (lambda s: _post(s, b'{"text": "Hi", "unit": "3"}'), 400, "field 'unit': expected an integer, got a string"),
    '"unit": 1.5': (lambda s: _post(s, b'{"text": "Hi", "unit": 1.5}'), 400, "expected an integer, got 1.5"),
    '"unit": true': (lambda s: _post(s, b'{"text": "Hi", "unit": true}'), 400, "got a boolean"),
    '"unit": Infinity': (lambda s: _post(s, b'{"text": "Hi", "unit": Infinity}'), 400, "Infinity is not JSON"),
    '"layer": NaN': (lambda s: _post(s, b'{"text": "Hi", "layer": NaN}'), 400, "NaN is not JSON"),
    '"unit": 1e400': (lambda s: _post(s, b'{"text": "Hi", "unit": 1e400}'), 400, "expected an integer, got inf"),
    "unit out of range": (lambda s: _post(s, b'{"text": "Hi", "unit": 4}'), 400, "unit in [0, 4)"),
    "direction out of range": (lambda s: _post(s, b'{"text": "Hi", "direction": 1}'), 400, "direction in [0, 1)"),
    "deep nesting": (lambda s: _post(s, b"[" * 100_000 + b"]" * 100_000), 400, "nested too deeply"),
    "not UTF-8": (lambda s: _post(s, b'{"text": "\xff\xfe"}'), 400, "not UTF-8"),
    "invalid JSON": (lambda s: _post(s, b'{"text": '), 400, "invalid JSON at line 1"),
    "an array": (lambda s: _post(s, b"[1, 2]"), 400, "expected a JSON object, got an array"),
    "empty body": (lambda s: _post(s, b""), 400, "got nothing"),
    "unknown field": (lambda s: _post(s, b'{"text": "Hi", "path": "/etc/passwd"}'), 400, "unknown field(s) ['path']"),
    "empty text": (lambda s: _post(s, b'{"text": "   "}'), 400, "non-empty string"),
    "text too long": (lambda s: _post(s, json.dumps({"text": "a" * 5001}).encode()), 400, "at most 5000 steps"),
    "series to a text model": (lambda s: _post(s, b'{"series": [1, 2]}'), 400, "expected 'text': a non-empty string"),
    "Host of another site": (lambda s: _post(s, GOOD, host="evil.example"), 403, "Host 'evil.example' is not this server"),
    "Host with another port": (lambda s: _post(s, GOOD, host="127.0.0.1:1"), 403, "is not this server"),
    "Host missing": (lambda s: GOOD.join([b"POST /api/trace HTTP/1.1\r\nContent-Type: application/json\r\n"
                                          b"Content-Length: %d\r\n\r\n" % len(GOOD), b""]), 400, "one Host header"),
    "text/plain post": (lambda s: _post(s, GOOD, ctype="text/plain"), 415, "expected Content-Type: application/json"),
    "form post": (lambda s: _post(s, b"text=Hi", ctype="application/x-www-form-urlencoded"), 415, "x-www-form-urlencoded"),
    "no Content-Type": (lambda s: _post(s, GOOD, ctype=None), 415, "got 'none'"),
    "Origin of another site": (lambda s: _post(s, GOOD, extra="Origin: http://evil.example\r\n"), 403, "Origin"),
    "page with another Host": (lambda s: b"GET / HTTP/1.1\r\nHost: evil.example:80\r\n\r\n", 403, "not this server"),
    "garbage request line": (lambda s: b"HELLO\r\n\r\n", 400, "malformed request line"),
    "DELETE": (lambda s: f"DELETE / HTTP/1.1\r\nHost: {_host(s)}\r\n\r\n".encode(), 405, "DELETE is not allowed"),
    "HTTP/2.0": (lambda s: f"GET / HTTP/2.0\r\nHost: {_host(s)}\r\n\r\n".encode(), 505, "expected HTTP/1.0 or HTTP/1.1"),
    "header without a colon": (lambda s: f"GET / HTTP/1.1\r\nHost: {_host(s)}\r\nbroken\r\n\r\n".encode(), 400, "malformed header"),
    "folded header": (lambda s: f"GET / HTTP/1.1\r\nHost: {_host(s)}\r\n x\r\n\r\n".encode(), 400, "malformed header"),
    "100 KiB header": (lambda s: f"GET / HTTP/1.1\r\nHost: {_host(s)}\r\nX-A: {'a' * 100_000}\r\n\r\n".encode(), 431, "larger than"),
    "non-ASCII head": (lambda s: f"GET /\u00e9 HTTP/1.1\r\nHost: {_host(s)}\r\n\r\n".encode(), 400, "not ASCII"),
    "file path": (lambda s: f"GET /../../etc/passwd HTTP/1.1\r\nHost: {_host(s)}\r\n\r\n".encode(), 404, "no page"),
    "encoded file path": (lambda s: f"GET /..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: {_host(s)}\r\n\r\n".encode(), 404, "no page"),
    "absolute URI": (lambda s: f"GET http://evil.example/ HTTP/1.1\r\nHost: {_host(s)}\r\n\r\n".encode(), 400, "starting with '/'"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_malformed_or_foreign_requests_get_a_4xx_message(server, name):
    build, status, message = BAD[name]
    got, body = _exchange(server, build(server))
    assert got == status, (name, got, body)
    assert isinstance(body, dict) and message in body["error"], (name, body)
    assert "root:" not in json.dumps(body)  # no file content, ever


def test_good_requests_from_this_machine_are_served(server):
    port = server.server_address[1]
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", f"LOCALHOST:{port}"):
        status, body = _exchange(server, _post(server, GOOD, host=host, ctype="application/json; charset=utf-8",
                                               extra=f"Origin: http://{host.lower()}\r\n"))
        assert status == 200 and body["labels"] == list("Hello") and len(body["gates"]["f"]) == 5, (host, body)
    status, page = _exchange(server, f"GET /?text=Hi HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
    assert status == 200 and "lstmkit gate explorer" in page
    status, info = _exchange(server, f"GET /api/info HTTP/1.0\r\nHost: localhost:{port}\r\n\r\n".encode())
    assert status == 200 and info["hidden_sizes"] == [4]
    with socket.create_connection(server.server_address[:2], timeout=10) as s:
        s.sendall(f"HEAD / HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
        head = s.recv(65536)
    assert head.startswith(b"HTTP/1.1 200 OK") and head.endswith(b"\r\n\r\n")  # headers only


def test_half_sent_requests_time_out_with_408():
    srv = _server(request_timeout=0.5)
    try:
        for partial in (b"GET / HTTP/1.1\r\nHost: x", _post(srv, b'{"text": "Hi"}', length="100")):
            t0 = time.monotonic()
            with socket.create_connection(srv.server_address[:2], timeout=10) as s:
                s.sendall(partial)
                answer = s.recv(65536)
            assert answer.startswith(b"HTTP/1.1 408 ") and b"within 0.5 s" in answer
            assert time.monotonic() - t0 < 5
    finally:
        srv.shutdown()
        srv.server_close()


def test_200_concurrent_requests_are_all_answered(server):
    barrier = threading.Barrier(200)
    results: list = []

    def one():
        barrier.wait()
        try:
            results.append(_exchange(server, _post(server, GOOD), timeout=60)[0])
        except OSError as e:  # a reset or refused connection: what a small backlog gave
            results.append(type(e).__name__)

    threads = [threading.Thread(target=one) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert results.count(200) == 200, {r: results.count(r) for r in set(results)}


def test_300_slow_clients_neither_starve_a_request_nor_hold_threads():
    srv = _server(request_timeout=3.0)
    slow: list[socket.socket] = []
    try:
        threads_before = threading.active_count()
        for _ in range(300):
            s = socket.create_connection(srv.server_address[:2], timeout=10)
            s.sendall(f"POST /api/trace HTTP/1.1\r\nHost: {_host(srv)}\r\n".encode())  # and then nothing
            slow.append(s)
        deadline = time.monotonic() + 10
        while srv.open_connections < 300 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert srv.open_connections >= 300
        t0 = time.monotonic()
        status, body = _exchange(srv, _post(srv, GOOD))
        assert status == 200 and body["labels"] == list("Hello")
        assert time.monotonic() - t0 < 3.0  # answered before the slow ones were even timed out
        assert threading.active_count() - threads_before <= srv.workers  # no thread per connection
        # the slow ones are answered 408 and closed once their time is up
        for s in slow:
            s.settimeout(10)
            assert s.recv(65536).startswith(b"HTTP/1.1 408 ")
        deadline = time.monotonic() + 10
        while srv.open_connections and time.monotonic() < deadline:  # each lingers a second for the client's end
            time.sleep(0.05)
        assert srv.open_connections == 0
    finally:
        for s in slow:
            s.close()
        srv.shutdown()
        srv.server_close()


def test_connections_beyond_the_limit_are_refused_with_503_and_the_server_recovers():
    srv = _server(request_timeout=1.0, max_connections=5)
    held = []
    try:
        for _ in range(5):
            s = socket.create_connection(srv.server_address[:2], timeout=10)
            s.sendall(b"GET / HTTP/1.1\r\n")
            held.append(s)
        deadline = time.monotonic() + 10
        while srv.open_connections < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        status, body = _exchange(srv, _post(srv, GOOD))
        assert status == 503 and "5 connections are open" in body["error"]
        for s in held:
            assert s.recv(65536).startswith(b"HTTP/1.1 408 ")
        assert _exchange(srv, _post(srv, GOOD))[0] == 200
    finally:
        for s in held:
            s.close()
        srv.shutdown()
        srv.server_close()


def test_a_model_error_is_a_500_with_a_message_and_the_server_stays_up():
    calls = {"n": 0}

    def flaky(text):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("model exploded")
        return _trace_text(text)

    srv = ExplorerServer(flaky, traces_info(_trace_text("Hi"), "test", "text"), port=0)
    srv.start_background()
    try:
        status, body = _exchange(srv, _post(srv, GOOD))
        assert status == 500 and body["error"] == "internal error: RuntimeError: model exploded"
        assert _exchange(srv, _post(srv, GOOD))[0] == 200
    finally:
        srv.shutdown()
        srv.server_close()


def test_limits_are_checked():
    with pytest.raises(ValueError, match="expected positive limits"):
        ExplorerServer(_trace_text, {}, port=0, workers=0)
