"""requests' ``HTTPAdapter`` whose connections read every response through the deadline reader (``deadline.py``).

Why a module of its own: this is the one place that reaches into urllib3's connection classes, so that the
transport keeps to sending requests. Only the response class changes: connecting, TLS and proxies are urllib3's.
A SOCKS proxy manager has pool classes of its own and is left as it is (its calls keep the retry waits' deadline,
not the per-read one).
"""

from __future__ import annotations

from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager, ProxyManager

from .deadline import DeadlineResponse

__all__ = ["DeadlineAdapter"]


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


class DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose pools (direct, or through an HTTP(S) proxy) make deadline-keeping connections."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _use_deadline_pools(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        return _use_deadline_pools(manager) if isinstance(manager, ProxyManager) else manager
