"""The one HTTP path every request takes: token, retry policy, transport failures turned into our errors.

Why it looks the way it does (``docs/client.md`` is the user-facing version):

* **Retry policies per kind of request** (``retry.py``): requests' ``HTTPAdapter`` applies one ``Retry`` object to
  everything it sends, so the transport keeps one adapter per policy over one shared connection pool and sends
  through the adapter directly. That also means requests' ``Session`` is not used at all: no cookie jar shared
  between threads, no automatic redirects that could carry the token to another host, no environment surprises
  beyond the proxy and CA-bundle variables that are read explicitly.
* **Nothing secret in an error**: transport failures become :mod:`~pytest_semaphore.errors` without a URL query or
  the token in the message *or in a chained exception* (requests' exceptions carry the request, headers included,
  so they are never chained).
* **One budget of retries per call**: urllib3 retries statuses and connection failures; a body cut off after the
  headers is past urllib3, so :meth:`Transport.exchange` repeats the request itself, counting what urllib3 spent.
  Every attempt, urllib3's retries included, books against the caller's request budget when one is installed
  (``metering.py``).
* **Bounded work per call** (:class:`Limits`): a deadline for the whole call (``deadline.py`` keeps it down to each
  read from the socket), a cap on the bytes read, and no compressed answers (``Accept-Encoding: identity``; a
  server compressing anyway is refused, since a few kilobytes of gzip can decode to gigabytes).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
import requests.utils
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.util import Timeout

from ..errors import APIError, APIUnavailable, ConfigurationError, OutcomeUnknown, SemaphoreError
from .baseurl import connection_origin
from .connections import DeadlineAdapter
from .deadline import Deadline, DeadlineExceeded, applying
from .logfilter import install as _install_log_filter
from .logfilter import strip_queries
from .metering import admit
from .replies import Reply, header_int
from .retry import Backoff, Policy, policy_for

__all__ = ["BODY_CHUNK", "Limits", "Transport", "retries_used"]

#: How much of a body is read at a time.
BODY_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Limits:
    """What one call may spend, whatever the server sends (``docs/client.md``, "Limits").

    ``deadline``: seconds for one call in all (attempts, waits between them, the whole answer); ``log_deadline``
    the same for a streamed log, body included. ``max_answer_bytes``: the largest API answer read;
    ``max_log_bytes``: the largest log body streamed (a log is never held whole, so it has a cap of its own).
    """

    deadline: float = 120.0
    log_deadline: float = 900.0
    max_answer_bytes: int = 16 * 1024 * 1024
    max_log_bytes: int = 1024 * 1024 * 1024
    monotonic: Callable[[], float] = time.monotonic


_install_log_filter()  # urllib3 logs request lines, queries (loghub's ?jwt=) included, at DEBUG level

#: A path that requests would send exactly as given (nothing to percent-encode, no ``%`` to re-quote, no ``.`` or
#: ``..`` segment to resolve): such a request is prepared directly (:meth:`Transport.prepare`).
_PLAIN_PATH = re.compile(r"(?!.*/\.\.?(?:/|\Z))/[A-Za-z0-9._~!$&'()*+,;=:@/-]*\Z")


class Transport:
    """Sends requests to one base URL with one token; safe to share between threads (it keeps no per-call state)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float,
        retries: int,
        backoff: Backoff,
        user_agent: str,
        max_retry_after: float | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.base_url = base_url
        origin = connection_origin(base_url)
        if origin is None:  # normalise_base_url refuses such URLs; this guards the token against any other caller
            raise ConfigurationError("the Semaphore URL is not a plain scheme://host[:port]")
        self._origin = origin
        self._prefix = base_url + "/"
        self.timeout = timeout
        self._timeouts = Timeout(connect=min(timeout, 10.0), read=timeout)  # urllib3 copies it for each request
        self.limits = limits if limits is not None else Limits()
        self.retries = retries
        self.backoff = backoff
        self._auth = f"Token {token}"
        self._token = token
        self._user_agent = user_agent
        self._verify = _ca_bundle(os.environ)
        self._base, self._headers = _prepared_once(base_url, user_agent, self._auth)
        options: dict[str, Any] = {"backoff_base": backoff.base}
        if max_retry_after is not None:
            options["max_retry_after"] = max_retry_after
        self._adapters: dict[Policy, HTTPAdapter] = {}
        shared: HTTPAdapter | None = None
        for policy in Policy:
            adapter = DeadlineAdapter(
                pool_connections=4,
                pool_maxsize=16,
                max_retries=policy_for(policy, retries=retries, sleep=backoff.sleep, rng=backoff.rng, **options),
            )
            if shared is None:
                shared = adapter
            else:  # one pool of connections for every policy
                adapter.poolmanager.clear()
                adapter.poolmanager = shared.poolmanager
            self._adapters[policy] = adapter
        self._closed = False

    def close(self) -> None:
        """Close every pooled connection; later requests raise ``SemaphoreError``."""
        self._closed = True
        for adapter in self._adapters.values():
            adapter.close()

    def redact(self, text: str) -> str:
        """The server may echo what it was sent (a token, a signed URL): drop URL queries and the token."""
        if not text:
            return text
        text = strip_queries(text)
        return text.replace(self._token, "***") if self._token else text

    def carries_token(self, url: str) -> bool:
        """Whether a request to ``url`` (as prepared, exactly as it will be sent) may carry the token: only to the
        base URL's origin, as both URL parsers read it (``baseurl.connection_origin``); any doubt means no."""
        # Fast path, the same decision: after the base URL's own "scheme://host[:port]" (checked at construction:
        # no user info, whitespace or backslash), a "/" ends the authority for both parsers.
        return url.startswith(self._prefix) or connection_origin(url) == self._origin

    def describe(self, exc: BaseException) -> str:
        """Words for a transport failure, without any URL query and without the token."""
        return self.redact(_transport_words(exc))

    # ---------------------------------------------------------------------------------------------- requests

    def get(
        self, path: str, *, params: Sequence[tuple[str, str]] | None = None, policy: Policy = Policy.IDEMPOTENT
    ) -> Reply:
        """A GET whose answer is a success (any error status is raised)."""
        return self.call("GET", path, params=params, policy=policy)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        body: object = None,
        policy: Policy = Policy.IDEMPOTENT,
    ) -> Reply:
        """A request whose answer is a success (any error status is raised); by default one harmless to repeat."""
        reply = self.exchange(method, path, params=params, body=body, policy=policy)
        reply.check()
        return reply

    def exchange(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        body: object = None,
        policy: Policy = Policy.IDEMPOTENT,
    ) -> Reply:
        """Send and read the whole body, whatever its status. A body cut off mid-way is retried for requests that
        may be repeated; both kinds of retry draw on one budget of ``retries`` per call (what urllib3 used is
        counted too), so the documented bound holds: not ``retries`` cut-offs times ``retries`` 503s each."""
        spent = 0
        with self.deadline() as deadline:
            while True:
                response = self.send(method, path, params=params, body=body, policy=policy)
                spent += retries_used(response)
                try:
                    return self.drain(response, method, path, policy, spent)
                except (APIUnavailable, APIError) as unreadable:  # cut off; or too large, or compressed
                    if policy is Policy.NOT_IDEMPOTENT:  # whatever its status, it may have been acted on
                        words = getattr(unreadable, "reason", None) or getattr(unreadable, "detail", None)
                        raise OutcomeUnknown(method, path, str(words or unreadable)) from None
                    if not isinstance(unreadable, APIUnavailable) or spent >= self.retries or deadline.left() <= 0:
                        raise
                spent += 1
                self._before_attempt(method, path, functools.partial(self.backoff.pause, spent))

    def deadline(self, seconds: float | None = None) -> contextlib.AbstractContextManager[Deadline]:
        """The deadline the requests inside share: the current call's, else a new one (``limits.deadline``)."""
        return applying(self.limits.deadline if seconds is None else seconds, self.limits.monotonic)

    def _before_attempt(self, method: str, path: str, wait: Callable[[], None]) -> None:
        """A wait before an attempt (a backoff, the caller's request budget); one past the call's deadline is
        ``APIUnavailable`` (nothing was sent, so never ``OutcomeUnknown``)."""
        try:
            wait()
        except DeadlineExceeded as exc:
            reason = str(exc)
        else:
            return
        raise APIUnavailable(method, path, reason)

    def send(
        self,
        method: str,
        path: str,
        *,
        url: str | None = None,
        params: Sequence[tuple[str, str]] | None = None,
        body: object = None,
        policy: Policy = Policy.IDEMPOTENT,
        stream: bool = False,
        send_token: bool = True,
        accept: str | None = None,
    ) -> requests.Response:
        """One request (retried by urllib3 per ``policy``); transport failures become our errors, never chained.

        ``url`` replaces ``base_url + path`` for a followed redirect; ``path`` still names the request in errors.
        """
        if self._closed:
            raise SemaphoreError("this SemaphoreClient was closed")
        target = url or self.base_url + path
        prepared = self.prepare(method, path, url=url, params=params, body=body, send_token=send_token, accept=accept)
        # Plain http is only ever loopback (baseurl.py, redirects.py): never through a proxy, which would carry the
        # token in clear text over the network to wherever HTTP_PROXY points.
        plain = target.startswith("http://")
        proxies = {} if plain else requests.utils.get_environ_proxies(target)
        reason: str | None = None
        not_sent = unsendable = False
        local: str | None = None
        try:
            with self.deadline():
                self._before_attempt(method, path, admit)  # the caller's request budget, if any (metering.py)
                return self._adapters[policy].send(
                    prepared,
                    stream=stream,
                    timeout=self._timeouts,  # type: ignore[arg-type]  # documented: "float or tuple or urllib3 Timeout"
                    verify=True if plain else self._verify,  # no TLS: the CA bundle's path is not looked up
                    proxies=proxies,
                )
        except DeadlineExceeded as exc:
            reason = str(exc)
            not_sent = exc.before_sending  # in a wait before a retry (of a write: one provably not sent)
        except requests.RequestException as exc:
            reason = self.describe(exc)
            not_sent = _not_sent(exc)
        except OSError as exc:  # not a RequestException: local TLS setup (a CA bundle that vanished), nothing sent
            local = self.redact(str(exc))
        except ValueError:  # urllib3 refusing a host that requests let through: nothing was sent
            unsendable = True
        # Raised outside the except block: requests' exception (which holds the request and its headers) must not
        # become the __context__ of ours.
        if unsendable:
            raise APIError(method, path, 0, detail="the request's URL cannot be sent (a malformed host name)")
        if local is not None:
            raise ConfigurationError(f"cannot set up the connection to {self.base_url}: {local}")
        if policy is Policy.NOT_IDEMPOTENT and not not_sent:
            raise OutcomeUnknown(method, path, reason or "transport failure")
        raise APIUnavailable(method, path, reason or "transport failure")

    def prepare(
        self,
        method: str,
        path: str,
        *,
        url: str | None = None,
        params: Sequence[tuple[str, str]] | None = None,
        body: object = None,
        send_token: bool = True,
        accept: str | None = None,
    ) -> requests.PreparedRequest:
        """The request as requests would prepare it, built directly for the common case.

        Why: ``requests.Request(...).prepare()`` re-parses and re-quotes the same base URL, re-validates the same
        headers and re-encodes the query on every call, a fifth of the client's CPU per request. What never changes
        (the base URL as requests would send it, the validated headers with the token) is prepared once in
        ``__init__``; a path of plain characters (every API path the client builds) is appended as is and the query
        encoded as requests encodes it (``urlencode``). Anything else (a followed redirect's URL, a path requests
        would quote, a header requests would refuse) goes through requests' own ``prepare()``, unchanged.
        """
        default_accept = accept is None or accept == "application/json"
        if url is None and send_token and default_accept and self._headers is not None and _PLAIN_PATH.match(path):
            prepared = requests.PreparedRequest()
            prepared.method = method.upper()
            prepared.url = self._base + path + ("?" + urlencode(params) if params else "")
            headers = self._headers.copy()
            if body is not None:
                prepared.body = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
                headers["Content-Length"] = str(len(prepared.body))
            elif prepared.method not in ("GET", "HEAD"):
                headers["Content-Length"] = "0"
            prepared.headers = headers
            return prepared
        given = {"User-Agent": self._user_agent, "Accept": accept or "application/json", "Accept-Encoding": "identity"}
        data: bytes | None = None
        if body is not None:
            data = json.dumps(body).encode()
            given["Content-Type"] = "application/json"
        prepared = _prepare(method, path, url or self.base_url + path, params, data, given)
        # The token is attached on the URL exactly as it will be sent, only to the base URL's origin.
        if send_token and self.carries_token(prepared.url or ""):
            prepared.headers["Authorization"] = self._auth
        return prepared

    def drain(
        self, response: requests.Response, method: str, path: str, policy: Policy = Policy.IDEMPOTENT, retried: int = 0
    ) -> Reply:
        """Read the whole body; ``retried`` is how many retries the call has used, reported in error messages.

        An answer announcing more than ``limits.max_answer_bytes`` is refused before any of it is read.
        """
        limit = self.limits.max_answer_bytes
        declared = header_int(response.headers, "content-length")
        if declared is not None and declared > limit:
            response.close()
            raise _too_large(method, path, response.status_code, f"announced {declared}", limit)
        body = b"".join(self.body(response, method, path, limit, whole=True))
        return Reply(
            method=method,
            path=path,
            url=self.base_url + path,
            policy=policy,
            status=response.status_code,
            headers=response.headers,
            body=body,
            retries=retried,
            redact=self.redact,
        )

    def body(
        self, response: requests.Response, method: str, path: str, limit: int, *, whole: bool = False
    ) -> Iterator[bytes]:
        """The body's bytes as they arrive, as sent (never decompressed), closing the response at the end;
        ``whole``: in one piece when its length is announced (the caller checked it against ``limit``).

        More than ``limit`` bytes is an ``APIError`` (raised once the bytes within it were yielded), a compressed
        body too (``identity`` was
        asked for); a body cut off, or still arriving at the call's deadline, is ``APIUnavailable``.
        """
        failure: SemaphoreError | None = None
        try:
            encoding = response.headers.get("content-encoding", "identity").strip().lower()
            if encoding not in ("", "identity"):
                failure = APIError(
                    method,
                    path,
                    0,
                    detail=f"HTTP {response.status_code} with a compressed answer "
                    f"({encoding[:20]!r}) although none was asked for",
                )
            elif whole and not response.raw.chunked and header_int(response.headers, "content-length") is not None:
                # A length announced and already checked against the cap (``drain``): http.client reads exactly
                # that many bytes (or reports the body cut off), in one call instead of a loop of chunks.
                yield response.raw.read(decode_content=False)
            else:
                read = 0
                for chunk in response.raw.stream(BODY_CHUNK, decode_content=False):
                    read += len(chunk)
                    if read > limit:
                        failure = _too_large(method, path, response.status_code, "more than that", limit)
                        break
                    yield chunk
        except DeadlineExceeded as exc:
            failure = APIUnavailable(method, path, f"the answer was cut off: {exc}", last_status=response.status_code)
        except (requests.RequestException, HTTPError, OSError) as exc:
            reason = self.describe(exc)
            failure = APIUnavailable(
                method, path, f"the answer was cut off: {reason}", last_status=response.status_code
            )
        finally:
            response.close()
        if failure is not None:
            raise failure


def _prepare(
    method: str,
    path: str,
    url: str,
    params: Sequence[tuple[str, str]] | None,
    data: bytes | None,
    headers: dict[str, str],
) -> requests.PreparedRequest:
    """The request as requests will send it; a URL it refuses (``%zz``, an empty label: only a redirect's Location
    can hold one, the base URL is checked at construction) is an ``APIError`` that quotes nothing of the URL."""
    try:
        return requests.Request(method, url, params=list(params or ()), data=data, headers=headers).prepare()
    except requests.exceptions.InvalidHeader:
        raise  # a header of ours (a user agent with a line break): the caller's configuration, not the URL
    except (requests.RequestException, ValueError, UnicodeError):
        pass
    raise APIError(method, path, 0, detail="the request's URL cannot be sent (a malformed redirect location?)")


def _too_large(method: str, path: str, status: int, size: str, limit: int) -> APIError:
    return APIError(
        method, path, 0, detail=f"HTTP {status} with an answer too large ({size} bytes; the limit is {limit})"
    )


def _prepared_once(base_url: str, user_agent: str, auth: str) -> tuple[str, CaseInsensitiveDict[str] | None]:
    """The base URL as requests sends it (its host IDNA-encoded, its path quoted) and the default headers as
    requests prepares them, computed once; headers ``None`` when requests would refuse them (each request then goes
    through ``prepare()``, which raises as it always did)."""
    headers = {
        "User-Agent": user_agent,
        "Accept": "application/json",
        "Accept-Encoding": "identity",
        "Authorization": auth,
    }
    try:
        prepared = requests.Request("GET", base_url + "/", headers=headers).prepare()
    except (requests.RequestException, ValueError):
        return base_url, None
    return (prepared.url or "")[:-1], prepared.headers


def retries_used(response: requests.Response) -> int:
    """How many times urllib3 retried before this response (its ``Retry.history``)."""
    retries = getattr(response.raw, "retries", None)
    return len(getattr(retries, "history", ()) or ())


def _ca_bundle(environ: Mapping[str, str]) -> bool | str:
    """``verify`` for requests: the CA bundle named by ``REQUESTS_CA_BUNDLE`` (or ``CURL_CA_BUNDLE``), else True.

    A bundle that does not exist is refused here, naming the variable: requests would raise a bare ``OSError`` at
    the first request, far from the cause.
    """
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        path = environ.get(name, "").strip()
        if path:
            if not os.path.exists(path):
                raise ConfigurationError(f"{name} is {path!r}, which does not exist: fix or unset it")
            return path
    return True


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps, outermost first: requests and urllib3 nest the real failure in ``MaxRetryError
    .reason``, in ``args`` or in ``__cause__``, depending on where it happened."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if isinstance(current, MaxRetryError) and current.reason is not None:
            current = current.reason
            continue
        nested = next((a for a in getattr(current, "args", ()) if isinstance(a, BaseException)), None)
        current = nested if nested is not None else current.__cause__


def _not_sent(exc: BaseException) -> bool:
    """True only when the request provably never left: no connection could be made."""
    for cause in _causes(exc):
        if isinstance(cause, (NewConnectionError, requests.exceptions.ConnectTimeout)):
            return True
        if isinstance(cause, ConnectTimeoutError) and not isinstance(cause, ReadTimeoutError):
            return True
    return False


def _transport_words(exc: BaseException) -> str:
    """A short description of what went wrong on the wire, from the innermost cause."""
    if isinstance(exc, DeadlineExceeded):
        return str(exc)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "no answer within the read timeout"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "could not connect within the connect timeout"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS failure (certificate not trusted? set REQUESTS_CA_BUNDLE for a private CA)"
    if isinstance(exc, requests.exceptions.ProxyError):
        return "the proxy refused or failed the connection"
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, NewConnectionError):
            return "could not connect (connection refused or host unreachable)"
        if isinstance(cause, ReadTimeoutError):
            return "no answer within the read timeout"
        if isinstance(cause, ConnectionResetError):
            return "the connection was reset by the server"
        if type(cause).__name__ in ("RemoteDisconnected", "IncompleteRead", "InvalidChunkLength"):
            return f"the server closed the connection early ({type(cause).__name__})"
    if any(isinstance(cause, ProtocolError) for cause in causes):
        return f"the server closed the connection early ({type(causes[-1]).__name__})"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the server closed the connection before the answer was complete"
    return f"{type(exc).__name__}: {causes[-1]}"
