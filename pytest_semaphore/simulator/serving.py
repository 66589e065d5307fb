"""HTTP serving: sockets, framing, and the wire faults, for whatever application answers the requests.

Built on the standard library's threaded HTTP server with HTTP/1.1 keep-alive and ``TCP_NODELAY`` (without it Nagle's
algorithm and delayed ACKs cost about 40 ms a request). Two listening hosts (the API, and loghub2 on a second loopback
address) share one accept thread. This module knows nothing of routes: it reads a request, records it in the
request log, applies the faults ``faults.FaultInjector`` picks (refused, reset, slowed or cut answers, as the edge
produces them), and asks the application (``Request -> Response``) for the answer.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .definitions import FaultDef
from .faults import FaultInjector
from .messages import TEXT, Request, Response, json_bytes
from .requestlog import RequestLog, RequestRecord

__all__ = ["Application", "SimulatorServer"]

#: What answers requests: the ingress in front of the route table, in the simulator.
Application = Callable[[Request], Response]
#: Largest request body accepted (Plug.Parsers' default ``length``); bigger ones get 413 without being read.
MAX_BODY = 8_000_000
#: Digits of the largest ``Content-Length`` the edge reads as a number (2**64 - 1 has 20).
_MAX_LENGTH_DIGITS = 20


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "envoy"
    sys_version = ""
    timeout = 120
    server: _Server

    def version_string(self) -> str:
        return "envoy"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def finish(self) -> None:
        with contextlib.suppress(OSError):  # flushing to a client that hung up
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request log is the record."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        owner = self.server.owner
        split = urlsplit(self.path)
        pairs = parse_qsl(split.query, keep_blank_values=True)
        query_all: dict[str, list[str]] = {}
        for key, value in pairs:
            query_all.setdefault(key, []).append(value)
        headers = {k.lower(): v for k, v in self.headers.items()}
        kind = self.server.kind
        logged = {k: ("<redacted>" if k == "authorization" else v) for k, v in headers.items()}
        try:
            body = self._read_body(headers)
        except _BodyRefused as refused:
            # The edge refuses the request before any backend sees it; the connection cannot be reused because
            # the unread body (or the unparsable framing) is still on it. Recorded all the same: a test of a
            # client's framing must be able to see what the server was sent and what it answered.
            entry = RequestRecord(self.command, split.path, dict(pairs), query_all, logged, b"", owner.now(), kind)
            entry.status = refused.response.status
            owner.log.append(entry)
            self.close_connection = True
            self._send_quietly(refused.response, truncate=False, entry=entry)
            return
        address = f"{self.server.server_address[0]!s}:{self.server.server_address[1]}"
        host = headers.get("host") or address
        if ":" not in host:
            host = f"{host}:{self.server.server_address[1]!s}"
        request = Request(self.command, split.path, dict(pairs), query_all, headers, body, host, kind)
        entry = RequestRecord(self.command, split.path, dict(pairs), query_all, logged, body, owner.now(), kind)
        owner.log.append(entry)
        fired = owner.faults.pick_all(self.command, split.path) if kind == "api" else []
        fault: FaultDef | None = None
        if fired:
            entry.fault = "+".join(f.kind for f in fired)
            delay = sum(f.latency for f in fired if f.kind == "latency")
            if delay > 0:
                self.server.stopping.wait(delay)  # a real-time delay that ``close()`` cuts short
            fault = fired[-1] if fired[-1].kind != "latency" else None
            if fault is not None and self._inject_before(fault, entry):
                return
        try:
            response = owner.answer(request)
        except Exception as error:  # a simulator bug: answer as a crashed Elixir process does, keep serving
            entry.error = f"{type(error).__name__}: {error}"
            response = Response(500, b"Something went wrong")
        if fault is not None and fault.kind == "reset_after":
            self._reset()
            return
        entry.status = response.status
        self._send_quietly(response, truncate=fault is not None and fault.kind == "truncate", entry=entry)

    def _read_body(self, headers: dict[str, str]) -> bytes:
        """The request body, framed by ``Content-Length`` or ``Transfer-Encoding: chunked``, at most ``MAX_BODY``.

        A client that sends a bad length or a body too big gets an answer (400, 413) instead of a dropped
        connection, and the simulator never allocates what a header merely claims.
        """
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        raw = headers.get("content-length", "").strip()
        if not raw:
            return b""
        # ASCII digits only ("²" and "٣" pass str.isdigit()), and no more than a 64-bit length holds (Envoy parses
        # it as one; 5,000 digits would also be past int()'s limit): anything else is the edge's 400.
        if not (raw.isascii() and raw.isdigit()) or len(raw.lstrip("0")) > _MAX_LENGTH_DIGITS:
            raise _BodyRefused(Response(400, b"Bad Request", TEXT))
        length = int(raw.lstrip("0") or "0")
        if length >= 2**64:
            raise _BodyRefused(Response(400, b"Bad Request", TEXT))
        if length > MAX_BODY:
            raise _BodyRefused(_too_large())
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise _BodyRefused(Response(400, b"Bad Request", TEXT)) from None
            if size < 0:
                raise _BodyRefused(Response(400, b"Bad Request", TEXT))
            total += size
            if total > MAX_BODY:
                raise _BodyRefused(_too_large())
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers, ignored
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _send_quietly(self, response: Response, *, truncate: bool, entry: RequestRecord | None) -> None:
        """Send, accepting that the client may have gone: a disconnect is the client's business, not a crash."""
        try:
            self._send(response, truncate=truncate)
        except OSError as error:
            self.close_connection = True
            if entry is not None:
                entry.error = f"client disconnected while the answer was sent ({type(error).__name__})"

    def _inject_before(self, fault: FaultDef, entry: RequestRecord) -> bool:
        """Apply a fault that acts before the request takes effect; True when the answer has been given."""
        if fault.kind == "reset_before":
            self._reset()
            return True
        if fault.kind == "status":
            response = _fault_response(fault.status)
        elif fault.kind == "rate_limit":
            response = Response(429, b"Too Many Requests", TEXT)
            if fault.retry_after is not None:
                seconds = fault.retry_after
                shown = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
                response.headers.append(("retry-after", shown))
        else:
            return False
        entry.status = response.status
        self._send_quietly(response, truncate=False, entry=entry)
        return True

    def _reset(self) -> None:
        """Drop the connection with a TCP reset and no answer."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _send(self, response: Response, *, truncate: bool) -> None:
        self.send_response(response.status)
        if response.content_type is not None:
            self.send_header("content-type", response.content_type)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        if truncate:
            self.send_header("connection", "close")
        self.end_headers()
        body = response.body[: len(response.body) // 2] if truncate else response.body
        self.wfile.write(body)
        if truncate:
            self.close_connection = True


class _BodyRefused(Exception):
    """The request's body framing is refused before routing; ``response`` is the edge's answer."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _too_large() -> Response:
    return Response(413, b"Payload Too Large", TEXT)


def _fault_response(status: int) -> Response:
    """What the edge sends for each injected status (Envoy texts, the auth service's empty 403)."""
    if status == 403:
        return Response(403, b"")
    if status == 502:
        return Response(
            502, b"upstream connect error or disconnect/reset before headers. reset reason: connection failure", TEXT
        )
    if status == 503:
        return Response(503, b"no healthy upstream", TEXT)
    if status == 504:
        return Response(504, b"upstream request timeout", TEXT)
    return Response(status, json_bytes("Internal error"))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], owner: SimulatorServer, kind: str) -> None:
        self.owner = owner
        self.kind = kind
        self.stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Condition()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Count the connection in the accepting thread, before its handler thread exists, so that ``close()``
        can never miss one (registering in the handler's ``setup`` would race with the shutdown)."""
        with self._open_lock:
            if self.stopping.is_set():
                self.shutdown_request(request)
                return
            self._open.add(request)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._forget(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._forget(request)

    def _forget(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
            self._open_lock.notify_all()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (reset, broken pipe) is normal traffic, not a traceback on stderr."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)  # pragma: no cover - _serve answers every other error

    def close_connections(self, timeout: float = 5.0) -> bool:
        """End every connection (idle keep-alive or mid-answer) and wait for their handlers to finish.

        Returns False if some handler was still running after ``timeout`` seconds.
        """
        self.stopping.set()
        with self._open_lock:
            for connection in list(self._open):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            return self._open_lock.wait_for(lambda: not self._open, timeout)


class SimulatorServer:
    """The API server on ``host`` and the loghub2 server on ``loghub_host``, accepting on one thread.

    The sockets are bound on construction, so that :attr:`url` and :attr:`loghub_url` are known before the
    application is built (its log links point at loghub2); :meth:`start` gives it the application to serve. Every
    request is recorded in ``log`` at simulated time ``now()``; ``faults`` decides which API requests fail on the wire.
    One selector watches both listening sockets and a wake-up pipe, so that ``stop`` returns at once instead of
    waiting for ``serve_forever``'s polling interval (which would add a fraction of a second to every test).
    """

    def __init__(
        self,
        *,
        log: RequestLog,
        faults: FaultInjector,
        now: Callable[[], float],
        host: str = "127.0.0.1",
        port: int = 0,
        loghub_host: str = "127.0.0.2",
    ) -> None:
        self.log = log
        self.faults = faults
        self.now = now
        self._app: Application | None = None
        self._api_server = _Server((host, port), self, "api")
        try:
            try:
                self._loghub_server = _Server((loghub_host, 0), self, "loghub")
            except OSError:  # some systems only route 127.0.0.1; the redirect still goes to another port
                self._loghub_server = _Server((host, 0), self, "loghub")
        except BaseException:
            self._api_server.server_close()  # do not leak the socket already bound
            raise
        api_host, api_port = self._api_server.server_address[:2]
        log_host, log_port = self._loghub_server.server_address[:2]
        self.url = f"http://{api_host!s}:{api_port}"
        self.loghub_url = f"http://{log_host!s}:{log_port}"
        self._wake_read, self._wake_write = socket.socketpair()
        self._thread = threading.Thread(target=self._accept_loop, name="semaphore-simulator", daemon=True)

    @property
    def port(self) -> int:
        return int(self._api_server.server_address[1])

    def answer(self, request: Request) -> Response:
        """The application's answer (requests are accepted only after :meth:`start` gave one)."""
        assert self._app is not None, "SimulatorServer.start(app) was not called"
        return self._app(request)

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_read, selectors.EVENT_READ)
            for server in (self._api_server, self._loghub_server):
                selector.register(server, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is self._wake_read:
                        return
                    ready = key.fileobj
                    assert isinstance(ready, _Server)
                    ready.handle_request()

    def start(self, app: Application) -> None:
        """Serve ``app`` on both hosts until :meth:`stop`."""
        self._app = app
        self._thread.start()

    def _close_sockets(self) -> None:
        for server in (self._api_server, self._loghub_server):
            server.close_connections()
            server.server_close()
        self._wake_read.close()
        self._wake_write.close()

    def stop_unstarted(self) -> None:
        """Release the sockets of servers that were never started."""
        self._close_sockets()

    def stop(self) -> None:
        """Stop accepting first (so no connection arrives unseen), then end the open ones and wait for their
        handlers, then close the listening sockets: nothing of the simulator runs or holds a socket afterwards."""
        self._wake_write.send(b"x")
        self._thread.join(timeout=5)
        self._close_sockets()
