"""A small HTTP/1.1 server for pages meant for this machine's browser, strict about what it accepts.

:class:`LocalHTTPServer` is what the gate explorer (:mod:`.explorer`) runs
on. One event loop reads every request (so a slow or silent client costs a
few bytes of buffer, not a thread) and hands complete requests to a small
pool of worker threads. Everything is bounded:

- time: the whole request (head and body) must arrive within
  ``request_timeout`` seconds (408 otherwise), and the answer must be taken
  within as long;
- size: the head at most ``MAX_HEAD`` bytes and ``MAX_HEADERS`` lines (431),
  a body at most ``max_body`` bytes (413), bodies waiting for a worker at most
  ``max_buffered`` bytes in all (503);
- numbers: at most ``max_connections`` open connections and ``max_pending``
  requests waiting for a worker (503 beyond), ``workers`` threads, a listen
  backlog of ``backlog`` connections.

It refuses what a browser page on another site could send (cross-site form
posts, DNS rebinding): the ``Host`` header must name this server
(``localhost``, ``127.0.0.1`` or ``[::1]`` with its port, or the address it
is bound to) or the request gets 403; a ``POST`` must be
``Content-Type: application/json`` (415), which browsers never send across
sites without asking first (a CORS preflight this server does not grant),
and a present ``Origin`` must be this server (403). ``Content-Length`` is
required on ``POST`` (411) and must be a plain number (400); chunked bodies
are refused (411). Every refusal is a JSON ``{"error": message}`` with a 4xx
status; 5xx is kept for the server's own faults. Each connection carries one
request (``Connection: close``).

Subclasses implement :meth:`LocalHTTPServer.respond`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus

log = logging.getLogger(__name__)

MAX_HEAD = 16 * 1024  # request line and headers, bytes
MAX_HEADERS = 100
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
_WILDCARDS = ("", "0.0.0.0", "::")
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 token: methods and header names
_DIGITS = re.compile(r"^[0-9]{1,15}$")


class HTTPError(Exception):
    """A request this server refuses: ``status`` (4xx) and a one-line message for the client."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = int(status), message, dict(headers or {})


@dataclass
class Request:
    """One parsed request: header names in lower case, each with its list of values."""

    method: str
    target: str
    version: str
    headers: dict[str, list[str]]
    body: bytes = b""

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, obj) -> "Response":
        return cls(status, json.dumps(obj).encode(), "application/json")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    r = Response.json(status, {"error": message})
    r.headers.update(headers or {})
    return r


class LocalHTTPServer:
    """Serve :meth:`respond` on ``host:port`` with the limits and checks of the module docstring.

    Args:
        host: interface to bind (default ``127.0.0.1``: this machine only).
        port: ``0`` picks a free port.
        allowed_hosts: more ``Host`` names to accept besides the loopback names and the bound address.
        workers: threads that run :meth:`respond` for ``POST`` requests. Default ``4``.
        max_connections: open connections at once; more are answered 503 and closed. Default ``512``.
        max_pending: ``POST`` requests waiting for a worker; more are answered 503. Default ``256``.
        request_timeout: seconds to receive a whole request, and to send the answer. Default ``10``.
        backlog: the listen backlog (connections the kernel queues before they are accepted). Default ``1024``.
        max_body: the largest ``POST`` body, bytes. Default ``2_000_000``.
        max_buffered: bytes of bodies held while they wait for a worker. Default ``64 MiB``.

    ``url`` is where it listens; ``serve_forever()`` runs it (until
    ``shutdown()`` from another thread, or Ctrl-C); ``start_background()``
    runs it in a daemon thread.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, allowed_hosts: tuple[str, ...] = (),
                 workers: int = 4, max_connections: int = 512, max_pending: int = 256, request_timeout: float = 10.0,
                 backlog: int = 1024, max_body: int = 2_000_000, max_buffered: int = 64 * 2**20) -> None:
        if min(workers, max_connections, max_pending, backlog, max_body, max_buffered) < 1 or not request_timeout > 0:
            raise ValueError(f"{type(self).__name__}: expected positive limits, got workers={workers}, "
                             f"max_connections={max_connections}, max_pending={max_pending}, backlog={backlog}, "
                             f"max_body={max_body}, max_buffered={max_buffered}, request_timeout={request_timeout}")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.create_server((host, port), family=family, backlog=backlog)
        self.server_address = self.socket.getsockname()
        self.workers, self.max_connections, self.max_pending = workers, max_connections, max_pending
        self.request_timeout, self.backlog, self.max_body, self.max_buffered = request_timeout, backlog, max_body, max_buffered
        bound = self.server_address[0]
        names = [*LOOPBACK_NAMES, *allowed_hosts]
        if host not in _WILDCARDS:
            names.append(f"[{bound}]" if ":" in bound else bound)
        port = self.server_address[1]
        self.allowed_hosts = sorted({n.lower() for n in names})
        self._host_values = {f"{n}:{port}" for n in self.allowed_hosts} | (set(self.allowed_hosts) if port == 80 else set())
        self._origins = {f"http://{h}" for h in self._host_values}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"{type(self).__name__}-worker")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._done = threading.Event()
        self._done.set()
        self.open_connections = 0
        self.pending = 0
        self._buffered = 0

    # ------------------------------------------------------------------ running
    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown` (or Ctrl-C, which raises ``KeyboardInterrupt`` here)."""
        self._done.clear()
        try:
            asyncio.run(self._serve())
        finally:
            self._done.set()

    def start_background(self) -> threading.Thread:
        """Serve from a daemon thread (tests, notebooks); stop with ``shutdown()``."""
        t = threading.Thread(target=self.serve_forever, daemon=True, name=f"{type(self).__name__}-loop")
        t.start()
        self._ready.wait(timeout=30)
        return t

    def shutdown(self) -> None:
        """Stop :meth:`serve_forever` and wait until it has returned."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not self._done.is_set():
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop is already closed
                pass
            self._done.wait(timeout=30)

    def server_close(self) -> None:
        """Close the listening socket and the worker pool."""
        self.socket.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._connection, sock=self.socket, limit=MAX_HEAD, backlog=self.backlog)
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            self._ready.clear()

    # ------------------------------------------------------------------ one connection
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.open_connections >= self.max_connections:  # answered at once; lingers a second at most
            try:
                writer.write(_encode(_error(503, f"busy: {self.max_connections} connections are open; try again"), "GET"))
                writer.write_eof()
                await asyncio.wait_for(_discard(reader, 4 * MAX_HEAD), 1.0)
            except (asyncio.TimeoutError, ConnectionError, OSError):
                pass
            finally:
                writer.close()
            return
        self.open_connections += 1
        counted = True
        method, unread = "GET", False
        try:
            try:
                request = await asyncio.wait_for(self._read(reader), self.request_timeout)
                method = request.method
                response = await self._dispatch(request)
            except HTTPError as e:
                response, unread = _error(e.status, e.message, e.headers), True
            except asyncio.TimeoutError:
                response, unread = _error(408, f"the request did not arrive within {self.request_timeout:g} s"), True
            await asyncio.wait_for(self._write(writer, _encode(response, method)), self.request_timeout)
            self.open_connections -= 1  # answered: what follows is bounded by a second and holds no slot
            counted = False
            if unread:  # refused before its body was read: let the client see the answer, not a reset
                writer.write_eof()
                await asyncio.wait_for(_discard(reader, 4 * MAX_HEAD), 1.0)
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError, OSError):
            pass  # the client went away or does not read: nobody to answer
        except Exception:  # noqa: BLE001 - a bug here must not end the server
            log.exception("%s: unexpected error while answering a request", type(self).__name__)
        finally:
            if counted:
                self.open_connections -= 1
            try:
                writer.close()
            except Exception:  # noqa: BLE001
                pass

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()

    async def _read(self, reader: asyncio.StreamReader) -> Request:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise HTTPError(431, f"the request head is larger than {MAX_HEAD} bytes") from None
        except asyncio.IncompleteReadError as e:
            if e.partial.strip():
                raise HTTPError(400, "the request head ended before its blank line") from None
            raise
        request = self._parse_head(head[:-4])
        self._check(request)
        if request.method == "POST":
            n = self._content_length(request)
            if self._buffered + n > self.max_buffered:
                raise HTTPError(503, "busy: too many request bodies waiting; try again")
            self._buffered += n
            try:
                request.body = await reader.readexactly(n)
            finally:
                self._buffered -= n
        return request

    def _parse_head(self, head: bytes) -> Request:
        lines = head.split(b"\r\n")
        if len(lines) - 1 > MAX_HEADERS:
            raise HTTPError(431, f"expected at most {MAX_HEADERS} header lines, got {len(lines) - 1}")
        try:
            text = [line.decode("ascii") for line in lines]
        except UnicodeDecodeError:
            raise HTTPError(400, "the request head holds bytes that are not ASCII") from None
        parts = text[0].split(" ")
        if len(parts) != 3 or not _TOKEN.match(parts[0]) or not parts[1]:
            raise HTTPError(400, f"malformed request line {text[0][:80]!r}; expected 'METHOD /path HTTP/1.1'")
        method, target, version = parts
        if version not in ("HTTP/1.0", "HTTP/1.1"):
            raise HTTPError(505, f"expected HTTP/1.0 or HTTP/1.1, got {version[:20]!r}")
        if not target.startswith("/"):
            raise HTTPError(400, f"expected a path starting with '/', got {target[:80]!r}")
        headers: dict[str, list[str]] = {}
        for line in text[1:]:
            name, sep, value = line.partition(":")
            if not sep or not _TOKEN.match(name):  # also refuses folded lines (leading whitespace)
                raise HTTPError(400, f"malformed header line {line[:80]!r}; expected 'Name: value'")
            headers.setdefault(name.lower(), []).append(value.strip(" \t"))
        return Request(method, target, version, headers)

    def _check(self, request: Request) -> None:
        hosts = request.headers.get("host", [])
        if len(hosts) != 1:
            raise HTTPError(400, "expected one Host header, got " + (str(len(hosts)) if hosts else "none"))
        if hosts[0].lower() not in self._host_values:
            raise HTTPError(403, f"Host {hosts[0][:80]!r} is not this server; expected one of "
                                 f"{', '.join(sorted(self._host_values))}")
        if request.method not in ("GET", "HEAD", "POST"):
            raise HTTPError(405, f"method {request.method} is not allowed; expected GET, HEAD or POST",
                            {"Allow": "GET, HEAD, POST"})
        if request.method != "POST":
            return
        origin = request.header("origin")
        if origin is not None and origin.lower() not in self._origins:
            raise HTTPError(403, f"Origin {origin[:80]!r} is not this server; cross-site requests are refused")
        ctype = (request.header("content-type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise HTTPError(415, f"expected Content-Type: application/json, got {ctype[:60] or 'none'!r}")

    def _content_length(self, request: Request) -> int:
        if "transfer-encoding" in request.headers:
            raise HTTPError(411, "Transfer-Encoding is not accepted; send the body with a Content-Length")
        values = request.headers.get("content-length")
        if not values:
            raise HTTPError(411, "expected a Content-Length header on POST")
        if len(set(values)) != 1 or not _DIGITS.match(values[0]):
            shown = values[0] if len(set(values)) == 1 else ", ".join(values)
            raise HTTPError(400, f"Content-Length: expected a whole number of bytes, got {shown[:40]!r}")
        n = int(values[0])
        if n > self.max_body:
            raise HTTPError(413, f"expected a body of at most {self.max_body} bytes, got Content-Length {n}")
        return n

    async def _dispatch(self, request: Request) -> Response:
        if request.method != "POST":
            return self._respond_safely(request)  # pages and small JSON: cheap, answered at once
        if self.pending >= self.max_pending:
            raise HTTPError(503, f"busy: {self.max_pending} requests are waiting; try again")
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, self._respond_safely, request)
        finally:
            self.pending -= 1

    def _respond_safely(self, request: Request) -> Response:
        try:
            return self.respond(request)
        except HTTPError as e:
            return _error(e.status, e.message, e.headers)
        except Exception as e:  # noqa: BLE001 - the server's own fault: say so, keep serving
            log.exception("%s: error while answering %s %s", type(self).__name__, request.method, request.path)
            return _error(500, f"internal error: {type(e).__name__}: {e}")

    def respond(self, request: Request) -> Response:
        """The answer to a request that passed the checks; raise :class:`HTTPError` to refuse it."""
        raise HTTPError(404, f"no page {request.path}")


async def _discard(reader: asyncio.StreamReader, limit: int) -> None:
    """Read and drop what the client still sends, up to ``limit`` bytes or its end."""
    while limit > 0:
        chunk = await reader.read(min(limit, 65536))
        if not chunk:
            return
        limit -= len(chunk)


def _encode(response: Response, method: str) -> bytes:
    try:
        phrase = HTTPStatus(response.status).phrase
    except ValueError:
        phrase = "Unknown"
    headers = {"Content-Type": response.content_type, "Content-Length": str(len(response.body)),
               "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "frame-ancestors 'none'", "Connection": "close", **response.headers}
    head = f"HTTP/1.1 {response.status} {phrase}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode("latin-1") + (b"" if method == "HEAD" else response.body)
