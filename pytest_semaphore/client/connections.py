"""requests' ``HTTPAdapter`` whose connections read every response under the call's deadline (``deadline.py``).

Why a module of its own: this is the one place that reaches into urllib3's connection classes, so that the
transport keeps to sending requests. Only the response class changes: connecting, TLS and proxies are urllib3's.
A SOCKS proxy manager has pool classes of its own and is left as it is (its calls keep the retry waits' deadline,
not the per-read one).
"""

from __future__ import annotations

import http.client
import io
import re
import socket
import weakref
from collections.abc import Mapping
from typing import Any

from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from requests.exceptions import InvalidURL
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager, ProxyManager

from .deadline import Deadline, DeadlineExceeded, current

__all__ = ["DeadlineAdapter", "DeadlineReader", "DeadlineResponse"]


class DeadlineReader(io.RawIOBase):
    """A socket's reading side that keeps a deadline: each read waits at most what is left of it."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        super().__init__()
        self._raw = sock.makefile("rb", buffering=0)
        self._sock = sock
        self._timeout = sock.gettimeout()  # the read timeout urllib3 set for this response
        self._applied = self._timeout
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int | None:  # type: ignore[override]
        left = self._deadline.left()
        if left <= 0:
            raise DeadlineExceeded(self._deadline.seconds)
        timeout = left if self._timeout is None or left < self._timeout else self._timeout
        if timeout != self._applied:  # usually the read timeout stays: no system call on the common path
            self._sock.settimeout(timeout)
            self._applied = timeout
        try:
            return self._raw.readinto(buffer)
        except TimeoutError:
            if self._deadline.left() > 0:
                raise  # the read timeout itself: urllib3 reports it as usual
        raise DeadlineExceeded(self._deadline.seconds)

    def close(self) -> None:
        self._raw.close()
        super().close()


class DeadlineResponse(http.client.HTTPResponse):
    """``http.client``'s response, reading its status line, headers and body through a :class:`DeadlineReader`
    when a call's deadline applies (always, for requests the transport sends)."""

    def __init__(self, sock: socket.socket, debuglevel: int = 0, method: str | None = None, url: str | None = None):
        deadline = current()
        source: Any = sock if deadline is None else _DeadlineSource(sock, deadline)
        super().__init__(source, debuglevel, method=method, url=url)


class _DeadlineSource:
    """What ``http.client.HTTPResponse`` is given instead of the socket: it only calls ``makefile("rb")``, and gets
    the deadline-keeping reader (one reader made, instead of the default one made and replaced)."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(DeadlineReader(self._sock, self._deadline))


class _HTTPConnection(HTTPConnection):
    response_class = DeadlineResponse


class _HTTPSConnection(HTTPSConnection):
    response_class = DeadlineResponse


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _HTTPPool, "https": _HTTPSPool}


def _use_deadline_pools(manager: PoolManager) -> PoolManager:
    manager.pool_classes_by_scheme = _POOLS
    return manager


#: ``scheme://host[:port]`` followed by the path, in characters no parser reads differently.
_PLAIN_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?=/)")


class DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose pools (direct, or through an HTTP(S) proxy) make deadline-keeping connections.

    Per-request work nothing here needs is trimmed (``docs/client.md``, the client's overhead): the ``Set-Cookie``
    headers are not copied into the response's cookie jar (nothing sent through this adapter has a session, so no
    jar ever reads them), a request sent without a proxy is not parsed again to find that it has none, and its pool
    is found again by its origin instead of rebuilding urllib3's pool key.
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        # Weak: a pool the manager drops (evicted, or cleared by close()) is closed by being collected, so holding
        # it here would keep its connections open.
        self._pools: weakref.WeakValueDictionary[tuple[str, object, object], HTTPConnectionPool]
        self._pools = weakref.WeakValueDictionary()
        super().init_poolmanager(*args, **kwargs)
        _use_deadline_pools(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        return _use_deadline_pools(manager) if isinstance(manager, ProxyManager) else manager

    def build_response(self, req: PreparedRequest, resp: Any) -> Response:
        """requests' own response, as ``HTTPAdapter.build_response`` makes it, without the cookie extraction."""
        response = Response()
        response.status_code = resp.status
        response.headers = CaseInsensitiveDict(resp.headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = resp
        response.reason = resp.reason
        response.url = req.url.decode("utf-8") if isinstance(req.url, bytes) else (req.url or "")
        response.request = req
        response.connection = self
        return response

    def get_connection_with_tls_context(
        self, request: PreparedRequest, verify: Any, proxies: Mapping[str, str] | None = None, cert: Any = None
    ) -> HTTPConnectionPool:
        """Without a proxy, the pool ``HTTPAdapter.get_connection_with_tls_context`` gives, less the proxy lookup,
        and found again without parsing the URL and building urllib3's pool key while it is open (an origin of
        plain characters only, whose scheme, host and port every URL parser reads alike)."""
        if proxies:
            return super().get_connection_with_tls_context(request, verify, proxies, cert)  # type: ignore[return-value]
        origin = _PLAIN_ORIGIN.match(request.url or "")
        key = (origin.group(), verify, cert) if origin and isinstance(cert, (str, tuple, type(None))) else None
        pool = self._pools.get(key) if key is not None else None
        if pool is not None and pool.pool is not None:  # still open (urllib3 1.26 closes a pool it drops)
            return pool
        try:
            host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        except ValueError as exc:
            raise InvalidURL(exc, request=request) from exc
        fresh: HTTPConnectionPool = self.poolmanager.connection_from_host(**host_params, pool_kwargs=pool_kwargs)
        if key is not None:
            self._pools[key] = fresh
        return fresh

    def request_url(self, request: PreparedRequest, proxies: Mapping[str, str] | None) -> str:
        """Without a proxy, the path (what ``HTTPAdapter.request_url`` answers then, after parsing the URL twice)."""
        return super().request_url(request, proxies) if proxies else request.path_url
