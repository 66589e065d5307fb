"""What every group of endpoints (``projects.py``, ``workflows.py``...) is built on.

``SemaphoreClient`` keeps one flat method per endpoint (its public contract, ``docs/client.md``) and is assembled
from one class per resource, each holding that resource's endpoints; a resource that needs another (workflows
resolve project names) says so by deriving from it. All of them send through the client's one :class:`Transport`.
"""

from __future__ import annotations

from .transport import Transport

__all__ = ["Resource"]


class Resource:
    """A group of endpoints: ``self._http`` is the transport, set by the client's constructor."""

    _http: Transport
