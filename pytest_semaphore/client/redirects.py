"""The two redirects the client follows, and how: a job log on loghub2, and the plain log's 307.

Every other redirect is an error (:meth:`Reply.check`). These two are followed by hand, because where the token may
go is the point: a self-hosted job's log answers with a redirect to loghub2 carrying a signed ``?jwt=``, a credential
of its own, so the token goes **only** to the configured base URL (scheme, host and port compared), never to the host
a redirect names. Plain http to a non-loopback host, a login page (a UI path refusing API tokens) and a malformed
``Location`` are errors, with messages that never quote a query.
"""

from __future__ import annotations

import requests

from ..errors import APIError, AuthenticationError
from .baseurl import connection_origin, is_loopback, parse_location
from .replies import server_message
from .retry import Policy
from .transport import Transport, retries_used

__all__ = ["MAX_LOG_REDIRECTS", "open_following"]

#: How many redirects a log request follows (API -> loghub2 is one).
MAX_LOG_REDIRECTS = 3

_LOGIN_HINTS = ("/login", "/signin", "/sign_in", "/sessions", "/auth", "id.semaphoreci.com")


def open_following(
    http: Transport, path: str, *, policy: Policy, what: str, accept: str | None = None
) -> requests.Response:
    """A streamed GET of ``path`` whose success may be some redirects away; ``what`` ("log") names it in errors.

    The caller reads the body and closes the response.
    """
    url = http.base_url + path
    send_token = True
    for _hop in range(MAX_LOG_REDIRECTS + 1):
        response = http.send("GET", path, url=url, policy=policy, stream=True, send_token=send_token, accept=accept)
        if response.status_code in (301, 302, 303, 307, 308):
            location = response.headers.get("location", "")
            response.close()
            url = _redirect_target(http, path, response.status_code, url, location, what)
            # The token goes only to the configured base URL; a signed URL elsewhere carries its own credential.
            send_token = http.carries_token(url)
            continue
        if response.status_code >= 300:
            reply = http.drain(response, "GET", path, policy, retries_used(response))
            if not send_token and reply.status in (401, 403):
                # Our token was not sent there: blaming it would send the user after the wrong problem.
                raise AuthenticationError(
                    "GET",
                    path,
                    reply.status,
                    http.redact(server_message(reply.body)),
                    detail=f"the signed {what} URL the server redirected to was refused (it is valid for a few "
                    "minutes only; ask again)",
                )
            reply.check()
        return response
    raise APIError("GET", path, 0, detail=f"more than {MAX_LOG_REDIRECTS} redirects for the {what}")


def _redirect_target(http: Transport, path: str, status: int, current: str, location: str, what: str) -> str:
    """Where a redirect leads, or the error that following it would be."""
    if not location:
        raise APIError("GET", path, status, detail="a redirect without a Location header")
    parsed = parse_location(current, location)
    if parsed is None:
        raise APIError("GET", path, status, detail=f"a redirect to a malformed location instead of the {what}")
    target, parts = parsed
    lowered = (parts.netloc + parts.path).lower()
    if any(hint in lowered for hint in _LOGIN_HINTS):
        login = http.redact((parts.hostname or "") + parts.path)
        raise AuthenticationError(
            "GET",
            path,
            status,
            detail=f"redirected to a login page ({login}) instead of the {what}: "
            "UI paths refuse API tokens unless the organisation allows them; use job_log()/job_log_text()",
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise APIError("GET", path, status, detail=f"a redirect to an unusable location ({parts.scheme}:)")
    origin = connection_origin(target)
    if origin is None:  # the parsers disagree on where it leads (http://a:1\\@b/): follow it nowhere
        raise APIError("GET", path, status, detail=f"a redirect to an ambiguous location instead of the {what}")
    if origin[0] == "http" and not is_loopback(origin[1]):
        raise APIError("GET", path, status, detail=f"refusing a redirect to plain http://{origin[1]}")
    return target
