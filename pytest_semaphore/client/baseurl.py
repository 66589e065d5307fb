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
  network in clear text;
* the host must be one that requests and urllib3 will connect to exactly as written: DNS labels of letters, digits,
  ``-`` and ``_`` (a non-ASCII name is turned into its ``xn--`` form), an IPv4 or a bracketed IPv6 address; no
  whitespace or control character anywhere (``urllib.parse`` silently drops a tab, so ``my<TAB>org`` would become
  another host), no backslash, no ``%``, no ``*``, no empty label. Otherwise the error would come at the first
  request, from inside requests, as an exception that is not ours.

Where the token may go is decided by :func:`connection_origin`, on the URL exactly as it will be sent: two URL
parsers (``urllib.parse`` and urllib3's) must agree on its scheme, host and port, or it is nobody's origin.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urljoin, urlsplit

from ..errors import ConfigurationError

__all__ = [
    "API_PREFIX",
    "Origin",
    "connection_origin",
    "is_loopback",
    "normalise_base_url",
    "parse_location",
    "same_origin",
]

API_PREFIX = "/api/v1alpha"
_ORG_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)
_HOST_LIKE = re.compile(r"^[a-z0-9.\-\[\]:]+$", re.IGNORECASE)
_SAAS_DOMAIN = "semaphoreci.com"
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$", re.IGNORECASE)
#: Characters that one URL parser drops, or reads as a separator, where another keeps them: never in a URL we use.
_CONFUSING = re.compile(r"[\x00-\x20\x7f\\]")
_DEFAULT_PORTS = {"http": 80, "https": 443}

#: ``(scheme, host, port)``: where a connection goes, as both URL parsers read it.
Origin = tuple[str, str, int]


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
    if _CONFUSING.search(text):
        raise ConfigurationError(
            "the Semaphore URL contains a space, a tab, a control character or a backslash: "
            "use just https://myorg.semaphoreci.com"
        )
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
    shown_host = f"[{host}]" if ":" in host else _checked_host(host)
    default_port = 443 if scheme == "https" else 80
    netloc = shown_host if port in (None, default_port) else f"{shown_host}:{port}"
    return f"{scheme}://{netloc}"


def _checked_host(host: str) -> str:
    """``host`` as requests will send it, or a ``ConfigurationError`` for a name requests or urllib3 would refuse at
    the first request (``%zz``, ``*``, an empty or too long label)."""
    name = host_name(host)
    if name is None:
        raise ConfigurationError(
            "the Semaphore URL's host name is not valid (only letters, digits, '-' and '.' between non-empty "
            "labels): use https://myorg.semaphoreci.com"
        )
    return name


def host_name(host: str) -> str | None:
    """A DNS name as requests sends it (lowercase, IDNA for a non-ASCII name), or ``None`` for one that requests
    or urllib3 would refuse: ``%``, ``*``, an empty label, a label over 63 characters, a name over 253."""
    name = host.lower()
    if not name.isascii():
        try:
            import idna  # requests' own dependency, used the way requests uses it

            name = idna.encode(name, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            return None
    labels = name[:-1].split(".") if name.endswith(".") else name.split(".")
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        return None
    return name


def connection_origin(url: str) -> Origin | None:
    """Where a request for ``url`` connects, as ``(scheme, host, port)``; ``None`` when in any doubt.

    Doubt is: ``urllib.parse`` (which requests uses to pick the connection pool) and urllib3's ``parse_url`` (which
    requests uses to prepare the URL, and a proxy manager to connect) disagree on scheme, host or port
    (``http://other:1\\@base/`` is ``base`` to one and ``other`` to the other); the URL has user info, whitespace,
    a control character or a backslash; a scheme other than http(s); a port that is not a number. The API token is
    sent only where this gives the configured base URL's origin.
    """
    if _CONFUSING.search(url):
        return None
    from urllib3.util import parse_url  # urllib3 is loaded with the client; this module stays cheap to import

    try:
        ours = urlsplit(url)
        our_port = ours.port
        theirs = parse_url(url)
    except ValueError:  # urllib3's LocationParseError is a ValueError too
        return None
    scheme = ours.scheme.lower()
    default = _DEFAULT_PORTS.get(scheme)
    host = (ours.hostname or "").lower()
    if ":" not in host:  # an IPv6 literal was checked by urlsplit already; a name is compared in its IDNA form
        host = host_name(host) or ""
    their_host = (theirs.host or "").lower().strip("[]")
    if (
        default is None
        or not host
        or ours.username is not None
        or theirs.auth is not None
        or (theirs.scheme or "").lower() != scheme
        or their_host != host
        or (theirs.port or default) != (our_port or default)
    ):
        return None
    return scheme, host, our_port or default


def parse_location(current: str, location: str) -> tuple[str, SplitResult] | None:
    """A ``Location`` resolved against the URL that answered, or ``None`` if malformed (``http://[x``, a port that
    is not a number): urllib raises a ValueError quoting the URL for those, which must not reach the user. A
    location with whitespace, a control character or a backslash is malformed too: ``urljoin`` would silently drop
    a tab, and the URL followed would not be the one the server wrote."""
    if _CONFUSING.search(location.strip()):
        return None
    try:
        target = urljoin(current, location)
        parts = urlsplit(target)
        _ = parts.port  # validates the port
    except ValueError:
        return None
    return target, parts


def same_origin(url: str, base: str) -> bool:
    """Same scheme, host and port as both URL parsers read them (:func:`connection_origin`): the only URLs the API
    token may be sent to. A URL in any doubt is nobody's origin."""
    origin = connection_origin(url)
    return origin is not None and origin == connection_origin(base)
