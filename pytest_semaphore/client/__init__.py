"""The Semaphore API client: :class:`SemaphoreClient` and the parts it is made of (``docs/client.md``).

One job per module:

* ``semaphore.py``: :class:`SemaphoreClient`, its configuration and lifecycle, assembled from the resources below;
* ``projects.py``, ``workflows.py``, ``pipelines.py``, ``promotions.py``, ``jobs.py``: the endpoints, one class
  per resource;
* ``transport.py``: the one HTTP path (token, retry policy, transport failures as our errors);
  ``replies.py``: a read answer, carrying its own method and path, and the errors and models it gives;
* ``pagination.py``: one pager, three next-page strategies; ``redirects.py``: the log redirects, followed
  without the token; ``reconcile.py``: what to conclude after a write whose outcome is uncertain;
* ``retry.py``: the retry policies; ``baseurl.py``: the base-URL rules; ``params.py``: argument checks;
  ``logstream.py``: the streaming log parser; ``logfilter.py``: no URL query in messages or urllib3's log lines;
* ``deadline.py``: how long a call may take in all (and :func:`time_limit` for a block of calls);
  ``metering.py``: every attempt of a call booked against a caller's request budget (:func:`metered`);
  ``connections.py``: the connections that read every answer under that deadline.

Only :class:`SemaphoreClient` needs ``requests``; it is imported on first use (a module ``__getattr__``), so that
code needing a cheap part (``API_PREFIX``, the base-URL rules, the log parser) does not load ``requests``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .baseurl import API_PREFIX, is_loopback, normalise_base_url
from .deadline import time_limit
from .logfilter import strip_queries
from .logstream import LogStreamError, LogStreamParser, iter_events, iter_raw_events
from .metering import metered

if TYPE_CHECKING:
    from .semaphore import SemaphoreClient as SemaphoreClient

__all__ = [
    "API_PREFIX",
    "LogStreamError",
    "LogStreamParser",
    "SemaphoreClient",
    "is_loopback",
    "iter_events",
    "iter_raw_events",
    "metered",
    "normalise_base_url",
    "strip_queries",
    "time_limit",
]


def __getattr__(name: str) -> Any:
    if name == "SemaphoreClient":
        from .semaphore import SemaphoreClient

        return SemaphoreClient
    raise AttributeError(f"module 'pytest_semaphore.client' has no attribute {name!r}")
