"""One pager (:func:`paginate`) for the API's three ways of saying "there is another page".

* :class:`LinkPages` (workflows, pipelines, promotions): ``link: <...>; rel="next"``, of which **only the query** is
  used: the server builds links from its own view of scheme and host (plain http behind a proxy, an internal name),
  so the next page is always requested on the configured base URL and path. Without a ``link`` header, the
  ``page-number``/``total-pages`` headers.
* :class:`HasMorePages` (projects): ``?page=N`` while ``x-has-more: true``, pages 1 to 100.
* :class:`TokenPages` (jobs): the body's ``next_page_token``, sent back as ``page_token``.

A strategy reads the items of one answer and says what to ask next, or ``None`` for "that was the last page". The
pager does the rest in one place: models, the ``limit`` (it stops as soon as ``limit`` items were read), and a hard
stop for a server that never says "last page" (a server bug must not become an endless loop). Strategies keep state
(the pages seen, to detect a loop), so each call builds a fresh one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlsplit

import requests.utils

from ..errors import APIError
from .replies import Reply, header_int
from .retry import Policy
from .transport import Transport

__all__ = ["MAX_PAGES", "HasMorePages", "LinkPages", "PageStrategy", "TokenPages", "paginate"]

T = TypeVar("T")
Query = list[tuple[str, str]]

#: Hard stop for a pager that never says "last page".
MAX_PAGES = 10_000


class PageStrategy(Protocol):
    """How one kind of endpoint pages: where its items are, and what to ask for next."""

    max_pages: int
    """How many pages at most; :meth:`exhausted` decides whether reaching it is an error."""

    def first(self, params: Query) -> Query:
        """The query of the first page."""

    def items(self, reply: Reply) -> list[Any]:
        """The raw items of one page (JSON values, before the model)."""

    def following(self, reply: Reply, query: Query, items: list[Any]) -> Query | None:
        """The query of the next page, or ``None`` when ``reply`` was the last one."""

    def exhausted(self, path: str) -> None:
        """Called after ``max_pages`` pages: raise, or return to keep what was read."""


def paginate(
    http: Transport,
    path: str,
    params: Query,
    build: Callable[[object], T],
    pages: PageStrategy,
    *,
    limit: int | None = None,
    policy: Policy = Policy.IDEMPOTENT,
) -> list[T]:
    """Every item of every page (or the first ``limit``), as models built by ``build``."""
    out: list[T] = []
    query = pages.first(params)
    for _ in range(pages.max_pages):
        reply = http.get(path, params=query, policy=policy)
        items = pages.items(reply)
        for item in items:
            out.append(reply.model(build, item))
            if limit is not None and len(out) >= limit:
                return out
        following = pages.following(reply, query, items)
        if following is None:
            return out
        query = following
    pages.exhausted(path)
    return out


class LinkPages:
    """``link: rel="next"`` (its query only), else ``page-number``/``total-pages``; a link back is an error."""

    max_pages = MAX_PAGES

    def __init__(self) -> None:
        self._seen: set[tuple[tuple[str, str], ...]] = set()

    def first(self, params: Query) -> Query:
        return list(params)

    def items(self, reply: Reply) -> list[Any]:
        return reply.json_list()

    def following(self, reply: Reply, query: Query, items: list[Any]) -> Query | None:
        if not items:
            return None
        following = _next_query(reply.headers, query)
        if following is None:
            return None
        key = tuple(sorted(following))
        if key in self._seen or key == tuple(sorted(query)):
            raise reply.unexpected("the server's next-page link points back (a pagination loop)")
        self._seen.add(tuple(sorted(query)))
        return following

    def exhausted(self, path: str) -> None:
        raise APIError("GET", path, 0, detail=f"more than {self.max_pages} pages")


class HasMorePages:
    """``?page=N`` while the answer says ``x-has-more: true``."""

    max_pages = 100

    def first(self, params: Query) -> Query:
        return [*params, ("page", "1")]

    def items(self, reply: Reply) -> list[Any]:
        return reply.json_list()

    def following(self, reply: Reply, query: Query, items: list[Any]) -> Query | None:
        if reply.headers.get("x-has-more", "").strip().lower() != "true" or not items:
            return None
        page = int(dict(query)["page"])
        return [(k, v) for k, v in query if k != "page"] + [("page", str(page + 1))]

    def exhausted(self, path: str) -> None:
        return None


class TokenPages:
    """The body is ``{"<key>": [...], "next_page_token": "..."}``; an empty token ends the list."""

    max_pages = MAX_PAGES

    def __init__(self, key: str) -> None:
        self.key = key
        self._seen: set[str] = set()
        self._token: object = ""  # the last page's next_page_token, read with its items

    def first(self, params: Query) -> Query:
        return list(params)

    def items(self, reply: Reply) -> list[Any]:
        data = reply.json_obj()
        items = data.get(self.key) or []
        if not isinstance(items, list):
            raise reply.unexpected(f"HTTP {reply.status} with '{self.key}' that is not a JSON array")
        self._token = data.get("next_page_token") or ""
        return items

    def following(self, reply: Reply, query: Query, items: list[Any]) -> Query | None:
        token = self._token
        if not isinstance(token, str):
            raise reply.unexpected(f"HTTP {reply.status} with a 'next_page_token' that is not a string")
        if not token or not items:
            return None
        if token in self._seen:
            raise reply.unexpected("the server repeated a page token (a pagination loop)")
        self._seen.add(token)
        return [(k, v) for k, v in query if k != "page_token"] + [("page_token", token)]

    def exhausted(self, path: str) -> None:
        return None


def _next_query(headers: Mapping[str, str], current: Query) -> Query | None:
    """The query of the next page: from ``link: rel="next"`` (its query only), else from the page headers."""
    link = headers.get("link")
    if link:
        for entry in requests.utils.parse_header_links(link):
            if entry.get("rel", "").strip().lower() == "next" and entry.get("url"):
                return parse_qsl(urlsplit(entry["url"]).query, keep_blank_values=True)
        return None
    number = header_int(headers, "page-number")
    total = header_int(headers, "total-pages")
    if number is None or total is None or number >= total:
        return None
    return [(k, v) for k, v in current if k != "page"] + [("page", str(number + 1))]
