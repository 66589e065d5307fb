"""Turn what a user typed as "the Semaphore URL" into the one base URL the client talks to, or refuse it clearly.

Why a module of its own: the base URL decides where the API token is sent, so its rules are security rules, and
they are easier to read (and to test exhaustively) apart from the HTTP code. The rules:

* ``myorg`` (an organisation name alone) means ``https://myorg.semaphoreci.com``; ``myorg.semaphoreci.com`` (a host
  without a scheme) means ``https://myorg.semaphoreci.com``;
* the result is ``scheme://host[:port]``: a trailing ``/api/v1alpha`` (how ``SEMAPHORE_ORGANIZATION_URL`` is
  sometimes extended by hand) and trailing slashes are dropped; any other path is refused, because a proxy prefix
  would silently change every request's path;
* userinfo (``https://user:secret@host``), a query and a fragment are refused, and never echoed in the message
  (they may hold a secret);
* plain ``http`` is allowed only to loopback (``127.0.0.0/8``, ``::1``, ``localhost``): the token must never cross a
  network in clear text.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urljoin, urlsplit

from ..errors import ConfigurationError

__all__ = ["API_PREFIX", "is_loopback", "normalise_base_url", "parse_location", "same_origin"]

API_PREFIX = "/api/v1alpha"
_ORG_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)
_HOST_LIKE = re.compile(r"^[a-z0-9.\-\[\]:]+$", re.IGNORECASE)
_SAAS_DOMAIN = "semaphoreci.com"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` (and ``*.localhost``), any ``127.0.0.0/8`` address and ``::1``."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _split(text: str) -> SplitResult:
    """``urlsplit``, with its ValueError (an unbalanced ``[``) turned into our error and not chained: the
    ValueError quotes the URL, which may hold a secret."""
    try:
        return urlsplit(text)
    except ValueError:
        pass
    raise ConfigurationError("the Semaphore URL is malformed (an unbalanced '[' or ']'?): use https://host[:port]")


def _host_and_port(parts: SplitResult) -> tuple[str | None, int | None]:
    """Host and port; an invalid port is our error, raised outside the ``except`` so the ValueError (which
    quotes the port text) is not chained."""
    try:
        return parts.hostname, parts.port
    except ValueError:
        pass
    raise ConfigurationError("the Semaphore URL has an invalid port: use https://host or https://host:PORT")


def normalise_base_url(value: str) -> str:
    """Return ``scheme://host[:port]`` for ``value`` or raise :class:`ConfigurationError` saying what to change."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(
            "the Semaphore URL is empty: set SEMAPHORE_ORGANIZATION_URL (e.g. https://myorg.semaphoreci.com) "
            "or pass the organisation name"
        )
    text = value.strip()
    if "://" not in text:
        if _ORG_NAME.match(text):
            return f"https://{text.lower()}.{_SAAS_DOMAIN}"
        if "@" in text or "?" in text or "#" in text or not _HOST_LIKE.match(text.split("/", 1)[0]):
            raise ConfigurationError(
                "the Semaphore URL is not a URL, a host name or an organisation name: "
                "use https://myorg.semaphoreci.com or just myorg"
            )
        text = "https://" + text
    parts = _split(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ConfigurationError(
            f"the Semaphore URL must start with https:// (got the scheme {scheme!r}): e.g. https://myorg.semaphoreci.com"
        )
    if "@" in parts.netloc:
        raise ConfigurationError(
            "the Semaphore URL must not contain a user name or password (the part before '@'); "
            "pass the API token separately (SEMAPHORE_API_TOKEN)"
        )
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ConfigurationError(
            "the Semaphore URL must not contain a query string or a fragment ('?...' or '#...'): "
            "use just https://myorg.semaphoreci.com"
        )
    host, port = _host_and_port(parts)
    if not host:
        raise ConfigurationError("the Semaphore URL has no host name: use https://myorg.semaphoreci.com")
    path = parts.path.rstrip("/")
    if path.endswith(API_PREFIX):
        path = path[: -len(API_PREFIX)].rstrip("/")
    if path:
        raise ConfigurationError(
            f"the Semaphore URL must be just scheme://host[:port], without the path {path!r}: "
            "e.g. https://myorg.semaphoreci.com (a trailing /api/v1alpha is accepted and dropped)"
        )
    if scheme == "http" and not is_loopback(host):
        raise ConfigurationError(
            f"refusing plain http:// to {host}: the API token would cross the network unencrypted. "
            "Use https:// (plain http is allowed only for loopback: 127.0.0.1, ::1, localhost)"
        )
    shown_host = f"[{host}]" if ":" in host else host.lower()
    default_port = 443 if scheme == "https" else 80
    netloc = shown_host if port in (None, default_port) else f"{shown_host}:{port}"
    return f"{scheme}://{netloc}"


def parse_location(current: str, location: str) -> tuple[str, SplitResult] | None:
    """A ``Location`` resolved against the URL that answered, or ``None`` if malformed (``http://[x``, a port that
    is not a number): urllib raises a ValueError quoting the URL for those, which must not reach the user."""
    try:
        target = urljoin(current, location)
        parts = urlsplit(target)
        _ = parts.port  # validates the port
    except ValueError:
        return None
    return target, parts


def same_origin(url: str, base: str) -> bool:
    """Same scheme, host and port: the only URLs the API token may be sent to."""
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)
