"""A fully read answer (:class:`Reply`) and what may be concluded from it: the error its status means, its JSON body,
the model built from that body.

Why the reply carries its own request line (method, path, URL) and retry policy: every error raised about an answer
names the request it answers, and every endpoint used to pass the method and path along again at each step. Why it
carries a redaction function: a server may echo what it was sent (the token, a signed URL), and every text quoted
from a body goes through the same rule (``docs/client.md``, "Secrets") without the reply holding the token itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from requests.structures import CaseInsensitiveDict

from ..errors import APIError, APIUnavailable, AuthenticationError, NotFoundError
from ..models import ModelError
from .baseurl import parse_location
from .logstream import JSON_ERRORS
from .retry import RETRYABLE_STATUSES, Policy, parse_retry_after

__all__ = ["Reply", "header_int", "html_title", "looks_like_html", "server_message"]

T = TypeVar("T")

_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
#: A count in a header (a page number, a number of pages): ASCII digits only (``str.isdigit()`` also accepts "²",
#: which ``int()`` refuses), and few enough of them that ``int()`` is cheap and the number means something.
_HEADER_INT = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class Reply:
    """A fully read response: what the parsing helpers need, and nothing that holds a connection or the token."""

    method: str
    path: str
    url: str
    """The URL the request went to (never shown: only its path is, as ``path``)."""
    policy: Policy
    status: int
    headers: CaseInsensitiveDict[str]
    body: bytes
    retries: int
    """How many times the request was retried before this answer."""
    redact: Callable[[str], str] = field(repr=False)

    # ---------------------------------------------------------------------------------------------- status

    def check(self) -> None:
        """Raise the error class that an error status means (the retries are already spent)."""
        status = self.status
        if 200 <= status < 300:
            return
        method, path = self.method, self.path
        said = self.redact(server_message(self.body))
        tries = f" after {self.retries} retries" if self.retries else ""
        if 300 <= status < 400:
            parsed = parse_location(self.url, self.headers.get("location", ""))
            target = self.redact(f"{parsed[1].hostname or ''}{parsed[1].path}") if parsed else "a malformed location"
            raise APIError(method, path, status, said, detail=f"unexpected redirect to {target}")
        if status == 401:
            raise AuthenticationError(
                method, path, status, said, detail="the API token was refused (wrong, revoked, or lacking permission)"
            )
        if status == 403:
            raise AuthenticationError(
                method,
                path,
                status,
                said,
                detail=f"forbidden{tries}: the token lacks a permission, or the auth service kept failing",
            )
        if status == 404:
            raise NotFoundError(
                method, path, status, said, detail="not found, or not visible to this token (the server hides which)"
            )
        retried = self.policy is not Policy.NOT_IDEMPOTENT and status in RETRYABLE_STATUSES
        if self.policy is Policy.PROMOTIONS_LIST and status == 500:
            retried = False
        if retried or status == 429:
            wait = parse_retry_after(self.headers.get("retry-after"))
            reason = f"HTTP {status}{tries}" + (f" (server said: {said!r})" if said else "")
            raise APIUnavailable(method, path, reason, last_status=status, retry_after=wait)
        raise APIError(method, path, status, said)

    def said(self) -> str:
        """`` (server said: '...')`` for a message, or nothing when the body says nothing."""
        said = self.redact(server_message(self.body))
        return f" (server said: {said[:200]!r})" if said else ""

    # ---------------------------------------------------------------------------------------------- body

    def json(self) -> Any:
        """The JSON body, or an ``APIError`` saying what came instead (nothing, an HTML page, broken JSON)."""
        if self.body[:1] == b"{":  # the usual answer, read as it is; anything odd about it is told below
            try:
                return json.loads(self.body.decode("utf-8"))
            except JSON_ERRORS:
                pass
        text = self.body.decode("utf-8", errors="replace")
        stripped = text.strip().lstrip("\ufeff")  # a byte-order mark (some proxies add one) is not an error
        where = f"HTTP {self.status} with "
        if not stripped:
            raise self.unexpected(where + "an empty body where JSON was expected")
        if looks_like_html(stripped):
            raise APIError(
                self.method,
                self.path,
                0,
                self.redact(html_title(stripped)),
                detail=where + "an HTML page instead of JSON (a proxy or login page? check the Semaphore URL)",
            )
        try:
            return json.loads(stripped)
        except JSON_ERRORS:
            pass
        raise APIError(
            self.method,
            self.path,
            0,
            self.redact(stripped),
            detail=where + "a body that is not valid JSON (cut off?)",
        )

    def json_obj(self) -> dict[str, Any]:
        data: dict[str, Any] = self._json_typed(dict)
        return data

    def json_list(self) -> list[Any]:
        data: list[Any] = self._json_typed(list)
        return data

    def _json_typed(self, kind: type[T]) -> T:
        """The JSON body if it is of ``kind`` (an object or an array), else an ``APIError`` saying what it was."""
        data = self.json()
        if isinstance(data, kind):
            return data
        wrong = f"expected {_json_type(kind())}, got {_json_type(data)}"
        raise self.unexpected(f"HTTP {self.status} with a JSON value of the wrong type: {wrong}")

    def decode(self, build: Callable[[object], T]) -> T:
        """The model of a JSON-object answer, or an ``APIError`` naming the request and what was wrong with it."""
        return self.model(build, self.json_obj())

    def model(self, build: Callable[[object], T], data: object) -> T:
        """The model of one item of this answer (an element of a list, say)."""
        try:
            return build(data)
        except ModelError as exc:
            message = self.redact(str(exc))
        # Raised outside the except block: the ModelError (which may quote the body) is not chained.
        raise self.unexpected(f"HTTP {self.status} with an unexpected answer: {message}")

    def unexpected(self, detail: str) -> APIError:
        """An ``APIError`` about this request that is not about its status (``status == 0``): a malformed answer."""
        return APIError(self.method, self.path, 0, detail=detail)


def looks_like_html(text: str) -> bool:
    # Only the start counts: a log may well print HTML somewhere in its first lines.
    return text.lstrip()[:20].lower().startswith(("<!doctype html", "<html", "<head", "<body"))


def html_title(text: str) -> str:
    match = _HTML_TITLE.search(text[:4096])
    return " ".join(match.group(1).split()) if match else "an HTML page"


def server_message(body: bytes) -> str:
    """The server's own words: a JSON string, a JSON object's ``message``/``error``, or the plain text."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return ""
    if looks_like_html(text):
        return html_title(text)
    try:
        data = json.loads(text)
    except JSON_ERRORS:
        return text
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        for key in ("message", "error", "detail"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value
    return text


def header_int(headers: Mapping[str, str], name: str) -> int | None:
    """The header ``name`` as a non-negative integer, or ``None`` when absent or not a plain count."""
    value = headers.get(name, "").strip()
    return int(value) if _HEADER_INT.fullmatch(value) else None


def _json_type(data: object) -> str:
    if isinstance(data, list):
        return "a JSON array"
    if isinstance(data, dict):
        return "a JSON object"
    if isinstance(data, str):
        return "a string"
    if data is None:
        return "null"
    return type(data).__name__
