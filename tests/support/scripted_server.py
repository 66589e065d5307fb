"""A raw-socket HTTP server that misbehaves on cue: resets, truncated bodies, silence, arbitrary bytes.

pytest-httpserver (werkzeug) covers ordinary scripted answers; it cannot drop a connection after reading a request,
announce a ``Content-Length`` and send half of it, or never answer. Those are exactly the failures the client must
classify correctly (``OutcomeUnknown`` versus ``APIUnavailable``), so this server exists for them.

Usage::

    with ScriptedServer() as server:                       # binds 127.0.0.1, port 0 (host="127.0.0.2" also works)
        server.add(Reply(503, body=b"busy"))                # answered to the 1st request
        server.add(Reply(200, body=b'{"ok": true}', headers={"x-page": "1"}))
        server.add(Reset())                                 # 3rd request: read it, then RST the connection
        server.add(Truncated(200, body=b'{"events": [', declared=1000))
        server.add(Hang())                                  # read it, never answer (client read timeout)
        server.add(Trickle(b"HTTP/1.1 200 OK\r\n..."))       # an answer one byte at a time (server.trickled counts)
        ... client calls against server.url ...
        assert len(server.requests) == 5
        server.requests[0].headers["authorization"]

Each request consumes the next step; once the script is exhausted every request gets ``fallback`` (a 599 saying
"unscripted request" by default, so a test notices). Every answer carries ``Connection: close`` so each request
is a new connection and steps map one-to-one to requests; the one exception, ``Reply(keep_alive=True)``, is for the
last request of a test that checks the client releases its pooled connection. ``stop()`` (or leaving the
``with``) releases hanging handlers and closes every socket, so no test leaks one.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "Action",
    "Hang",
    "Raw",
    "RecordedRequest",
    "Reply",
    "Reset",
    "ScriptedServer",
    "Step",
    "Trickle",
    "Truncated",
]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server read it. ``headers`` keys are lowercase."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.target).query, keep_blank_values=True)


@dataclass(frozen=True)
class Reply:
    """An ordinary answer (``Content-Length`` is computed unless given in ``headers``).

    ``keep_alive=True`` leaves the connection open after the answer (no ``Connection: close``) and records in
    :attr:`ScriptedServer.client_closed` when the client closes it: how a test sees a pooled connection released.
    """

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    reason: str = "Scripted"
    keep_alive: bool = False


@dataclass(frozen=True)
class Truncated:
    """Headers announcing ``declared`` bytes, then only ``body``, then a clean close (the client sees a short read)."""

    status: int = 200
    body: bytes = b""
    declared: int = 1 << 20
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reset:
    """Read the request, then reset the connection (RST) without answering; ``after`` bytes may be sent first."""

    after: bytes = b""


@dataclass(frozen=True)
class Hang:
    """Read the request and send nothing until the server stops: the client's read timeout must fire."""


@dataclass(frozen=True)
class Raw:
    """Send these exact bytes, then close."""

    data: bytes


@dataclass(frozen=True)
class Trickle:
    """Send ``data`` (a whole answer, status line and headers included) one byte every ``every`` seconds, until it
    is all sent, the client hangs up or the server stops: a server staying just under the client's read timeout.
    :attr:`ScriptedServer.trickled` counts the bytes sent."""

    data: bytes
    every: float = 0.001


Action: TypeAlias = Reply | Truncated | Reset | Hang | Raw | Trickle
#: A scripted step: an action, or a function of the request returning one (to answer by what was asked).
Step: TypeAlias = Action | Callable[[RecordedRequest], Action]


class ScriptedServer:
    """A threaded loopback server answering each request with the next scripted :data:`Step`."""

    def __init__(self, host: str = "127.0.0.1", *, fallback: Step | None = None) -> None:
        self.host = host
        self.fallback: Step = fallback or Reply(599, b"unscripted request")
        self.requests: list[RecordedRequest] = []
        self.client_closed = threading.Event()
        """Set when the client closed a connection that a ``Reply(keep_alive=True)`` left open."""
        self.trickled = 0
        """Bytes sent by ``Trickle`` steps (each one a ``send``: the client hanging up ends the count)."""
        self._script: list[Step] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self.port: int = self._sock.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._acceptor = threading.Thread(target=self._accept_loop, name="scripted-server", daemon=True)

    # ------------------------------------------------------------------------------------------------ API

    @property
    def url(self) -> str:
        """``http://host:port`` (no trailing slash): the base URL to give a client."""
        return f"http://{self.host}:{self.port}"

    def add(self, *steps: Step) -> ScriptedServer:
        """Append steps to the script (each answers one request, in order)."""
        with self._lock:
            self._script.extend(steps)
        return self

    def start(self) -> ScriptedServer:
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Release hanging handlers, close every socket and wait for the threads."""
        self._stopping.set()
        self._acceptor.join(timeout=5)
        with self._lock:
            conns = list(self._conns)
            threads = list(self._threads)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)  # wakes a handler blocked in recv (close alone may not)
            _close_quietly(conn)
        for thread in threads:
            thread.join(timeout=5)
        self._sock.close()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pending(self) -> int:
        """Steps not consumed yet."""
        with self._lock:
            return len(self._script)

    # ------------------------------------------------------------------------------------------------ machinery

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self._conns.append(conn)
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            request = _read_request(conn)
            if request is None:
                return
            with self._lock:
                self.requests.append(request)
                step = self._script.pop(0) if self._script else self.fallback
            if callable(step) and not isinstance(step, (Reply, Truncated, Reset, Hang, Raw, Trickle)):
                step = step(request)
            self._act(conn, step)
        except OSError:
            pass
        finally:
            _close_quietly(conn)

    def _act(self, conn: socket.socket, step: Step) -> None:
        if isinstance(step, Reply):
            headers = {"Content-Length": str(len(step.body)), **step.headers}
            headers["Connection"] = "keep-alive" if step.keep_alive else "close"
            conn.sendall(_head(step.status, step.reason, headers) + step.body)
            if step.keep_alive:
                conn.settimeout(None)  # stop() closes the socket, which ends this wait
                if conn.recv(1) == b"":
                    self.client_closed.set()
        elif isinstance(step, Truncated):
            headers = {**step.headers, "Content-Length": str(step.declared), "Connection": "close"}
            conn.sendall(_head(step.status, "Truncated", headers) + step.body)
            conn.shutdown(socket.SHUT_WR)
        elif isinstance(step, Reset):
            if step.after:
                conn.sendall(step.after)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif isinstance(step, Hang):
            self._stopping.wait()
        elif isinstance(step, Raw):
            conn.sendall(step.data)
        elif isinstance(step, Trickle):
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for index in range(len(step.data)):
                if self._stopping.wait(step.every):
                    return
                conn.sendall(step.data[index : index + 1])
                with self._lock:
                    self.trickled += 1


def _head(status: int, reason: str, headers: Mapping[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _read_request(conn: socket.socket) -> RecordedRequest | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return RecordedRequest(method=method, target=target, headers=headers, body=rest[:length])


def _close_quietly(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.close()
