"""The ingress: what answers before any backend sees a request, and the signed links to loghub2.

On the API host the auth service (Plug: no content type, Plug's default ``cache-control``) refuses ``x-semaphore*``
headers and outdated CLIs, then checks the token, and only then passes the request on, with the projects the token may
see. The loghub2 host has no token check: its links carry a short-lived signed JWT, which :class:`LogLinks` signs for
the routes that redirect there and checks for loghub2 itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from typing import Any

from .messages import Request, Response, json_bytes

__all__ = ["Ingress", "LogLinks"]

_AUTH_HEADERS = [("cache-control", "max-age=0, private, must-revalidate")]
_LEADING_INT = re.compile(r"[+-]?\d+")
_OUTDATED_CLI = (
    b'{"message": "Call rejected because the client is outdated. To continue, upgrade Semaphore CLI with '
    b"'curl https://storage.googleapis.com/sem-cli-releases/get.sh | bash'.\"}"
)
#: How long a signed loghub2 link stays valid, in seconds.
LINK_LIFETIME = 300


class Ingress:
    """Header refusals and token checks in front of ``app``; requests to the loghub2 host go straight through."""

    def __init__(self, app: Callable[[Request], Response], token: str) -> None:
        self._app = app
        self._tokens: dict[str, frozenset[str] | None] = {token: None}

    def add_token(self, token: str, projects: frozenset[str] | None) -> None:
        """Accept another token, seeing only ``projects`` (ids) or everything (``None``)."""
        self._tokens[token] = projects

    def access(self, headers: dict[str, str]) -> tuple[bool, frozenset[str] | None]:
        """(authenticated, visible project ids or ``None`` for all) for the request's ``Authorization``."""
        # The auth service splits on the first space and knows exactly "Token" and "Bearer" (case matters).
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme not in ("Token", "Bearer") or not given:
            return False, None
        presented = given.encode("utf-8", "replace")
        for token, projects in tuple(self._tokens.items()):
            if hmac.compare_digest(presented, token.encode("utf-8")):
                return True, projects
        return False, None

    def __call__(self, request: Request) -> Response:
        if request.server == "loghub":
            return self._app(request)
        # Auth.RefuseXSemaphoreHeaders refuses every header that merely starts with "x-semaphore".
        if any(name.startswith("x-semaphore") for name in request.headers):
            return Response(404, b"Not Found", None, list(_AUTH_HEADERS))
        if request.path.startswith("/api") and deprecated_cli(request.headers.get("user-agent", "")):
            return Response(400, _OUTDATED_CLI, None, list(_AUTH_HEADERS))
        authenticated, request.visible = self.access(request.headers)
        if not authenticated:
            return Response(401, b"Unauthorized", None, list(_AUTH_HEADERS))
        return self._app(request)


def deprecated_cli(user_agent: str) -> bool:
    """Auth.Cli: a ``SemaphoreCLI/vX.Y.Z (...)`` agent below 0.30.0 is refused, comparing each part on its own
    (so v1.0.0 counts as outdated too: ``minor < 30``), exactly as the auth service does."""
    agent = re.match(r"SemaphoreCLI/(.*) \(.*\)", user_agent)
    if agent is None or agent.group(1) == "dev":
        return False
    version = re.match(r"v(.*)\.(.*)\.(.*)", agent.group(1))
    if version is None:
        return False
    parts = [_LEADING_INT.match(part) for part in version.groups()]
    if any(part is None for part in parts):
        return False
    major, minor, patch = (int(part.group(0)) for part in parts if part is not None)
    return major < 0 or minor < 30 or patch < 0


class LogLinks:
    """Signed, expiring loghub2 links for one job's log (an HS256 JWT with ``sub`` and ``exp``), as the API's log
    redirects hand them out; the secret lives only in this process."""

    def __init__(self, loghub_url: str, secret: bytes | None = None) -> None:
        self.loghub_url = loghub_url
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    def location(self, job_id: str, now: float, *, raw: bool = False) -> str:
        """The link for ``job_id``, valid for ``LINK_LIFETIME`` seconds from ``now`` (Unix time)."""
        token = sign(self._secret, {"sub": job_id, "exp": int(now + LINK_LIFETIME)})
        suffix = "&raw=true" if raw else ""
        return f"{self.loghub_url}/api/v1/logs/{job_id}?jwt={token}{suffix}"

    def admits(self, token: str, job_id: str, now: float) -> bool:
        """True when ``token`` was signed here, names ``job_id`` and has not expired at ``now`` (Unix time)."""
        claims = verify(self._secret, token)
        return claims is not None and claims.get("sub") == job_id and float(claims.get("exp", 0)) >= now


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign(secret: bytes, claims: dict[str, Any]) -> str:
    """An HS256 JWT carrying ``claims``."""
    header = _b64(json_bytes({"alg": "HS256", "typ": "JWT"}))
    payload = _b64(json_bytes(claims))
    signature = hmac.new(secret, f"{header}.{payload}".encode("ascii"), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def verify(secret: bytes, token: str) -> dict[str, Any] | None:
    """The claims of a JWT signed with ``secret``, or ``None`` for anything else (forged, altered, malformed)."""
    try:
        header, payload, signature = token.split(".")
        expected = sign(secret, {}).split(".")[0]
        if header != expected:
            return None
        mac = hmac.new(secret, f"{header}.{payload}".encode("ascii"), hashlib.sha256).digest()
        given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        if not hmac.compare_digest(mac, given):
            return None
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, TypeError):
        return None
    return claims if isinstance(claims, dict) else None
