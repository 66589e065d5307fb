"""What travels between the serving layer and the routes: a request as it arrived, and the answer to send.

Kept apart from both sides so that the socket code knows nothing of routes and the routes nothing of sockets; the
serving layer builds a :class:`Request`, an application turns it into a :class:`Response`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["API", "HTML", "JSON", "PLUG_JSON", "TEXT", "Received", "Request", "Response", "json_bytes"]

#: The public API's path prefix on the API host.
API = "/api/v1alpha"
JSON = "application/json"
#: Plug's ``put_resp_content_type/2`` (and Phoenix's ``json/2``) append the default charset.
PLUG_JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"


def json_bytes(value: object) -> bytes:
    """Compact JSON as the Elixir and Go servers write it (no spaces, UTF-8 as is)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass
class Response:
    """What to send: ``content_type=None`` sends no Content-Type at all, as plumber-public does."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Received:
    """What arrived on the wire, shared by the routed request and its request-log entry."""

    method: str
    path: str
    query: dict[str, str]
    """The last value of each query key, as Plug keeps it; ``query_all`` has every value (``states=A&states=B``)."""
    query_all: dict[str, list[str]]
    headers: dict[str, str]
    """Lowercase names."""
    body: bytes


@dataclass
class Request(Received):
    """A request being answered: what arrived, plus what the ingress and routing work out."""

    host: str
    """The ``Host`` the client addressed (with a port), from which pagination links are built."""
    server: str = "api"
    """Which listening host received it: ``"api"`` or ``"loghub"``."""
    params: dict[str, Any] = field(default_factory=dict)
    """Query and body parameters merged, for the backends that parse them (see ``routing.parse_params``)."""
    visible: frozenset[str] | None = None
    """Project ids the request's token may see; ``None`` for all (the main token)."""
