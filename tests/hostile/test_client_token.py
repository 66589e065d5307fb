"""The API token never reaches a host other than the configured one, whatever a redirect's ``Location`` says.

The decision is taken on the URL exactly as requests will send it, and only when ``urllib.parse`` and urllib3 read
the same scheme, host and port in it (``baseurl.connection_origin``): a ``Location`` that the two parsers read
differently (``http://other:port\\@base-host/``: ``urllib.parse`` sees ``base-host`` after the ``@``, urllib3 stops
the host at the backslash and connects to ``other``) is refused, and even a caller that asked for the token gets
none sent unless the prepared URL is the base URL's origin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.client.baseurl import connection_origin, same_origin
from pytest_semaphore.errors import APIError
from tests.support.scripted_server import Reply, ScriptedServer

TOKEN = "canary-TOKEN-hostile-0b5e"


@pytest.fixture
def servers() -> Iterator[tuple[ScriptedServer, ScriptedServer]]:
    with ScriptedServer("127.0.0.1") as base, ScriptedServer("127.0.0.2") as other:
        yield base, other


def _confusing_locations(base: ScriptedServer, other: ScriptedServer) -> list[str]:
    here, there = f"127.0.0.1:{base.port}", f"127.0.0.2:{other.port}"
    return [
        f"http://{there}\\@{here}/logs/x?jwt=J",  # urllib3 stops the host at "\", urllib.parse after "@"
        f"http://{there}\\\\@{here}/logs/x",
        f"http://{there}\t@{here}/logs/x",  # urljoin drops the tab silently
        f"http://{here}@{there}/logs/x",  # user info: the host is the part after "@"
        f"http:\\\\{there}/logs/x",
        f"http://{there}%5C@{here}/logs/x",
        f"http://{there}\x7f@{here}/logs/x",
    ]


def test_a_location_read_differently_by_two_parsers_is_never_followed_with_the_token(
    servers: tuple[ScriptedServer, ScriptedServer],
) -> None:
    base, other = servers
    locations = _confusing_locations(base, other)
    base.add(*(Reply(302, b"", {"Location": location}) for location in locations))
    other.fallback = Reply(200, b'{"events": []}')
    with SemaphoreClient(base.url, TOKEN, sleep=lambda _: None, retries=0) as client:
        outcomes = [_outcome(lambda: list(client.job_log("job-1"))) for _ in locations]
    leaked = [r.target for r in other.requests if TOKEN in str(dict(r.headers))]
    assert leaked == []
    assert outcomes == ["APIError"] * len(locations)
    assert len(base.requests) == len(locations)  # each refused at once, none followed back to the base


def _outcome(action: Callable[[], object]) -> str:
    try:
        action()
    except APIError as exc:
        return type(exc).__name__
    return "followed"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.2:9\\@127.0.0.1:8/x",
        "http://127.0.0.1:8@127.0.0.2:9/x",
        "http://u:p@127.0.0.1:8/x",
        "http://127.0.0.1:8\t/x",
        "http://127.0.0.1:99999/x",
        "http://127.0.0.1:8 /x",
        "ftp://127.0.0.1:8/x",
        "//127.0.0.1:8/x",
        "http://[::1/x",
    ],
)
def test_connection_origin_doubts(url: str) -> None:
    assert connection_origin(url) is None
    assert not same_origin(url, "http://127.0.0.1:8")


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://H.example/x?y=1", ("https", "h.example", 443)),
        ("https://h.example:443/x", ("https", "h.example", 443)),
        ("http://127.0.0.1:8/x%5C@y", ("http", "127.0.0.1", 8)),
        ("http://[::1]:80/", ("http", "::1", 80)),
    ],
)
def test_connection_origin_of_plain_urls(url: str, origin: tuple[str, str, int]) -> None:
    assert connection_origin(url) == origin


def test_the_transport_attaches_the_token_only_on_the_prepared_url(
    servers: tuple[ScriptedServer, ScriptedServer],
) -> None:
    """Below the redirect rules: even a caller asking for the token gets it sent only to the base origin."""
    base, other = servers
    base.add(Reply(200, b"{}"))
    other.add(Reply(200, b"{}"), Reply(200, b"{}"))
    with SemaphoreClient(base.url, TOKEN, sleep=lambda _: None, retries=0) as client:
        http = client._http
        http.send("GET", "/a", send_token=True).close()
        http.send("GET", "/b", url=f"{other.url}/b", send_token=True).close()
        # Read by urllib.parse as the base host; requests prepares (and connects) it to 127.0.0.2.
        http.send("GET", "/c", url=f"http://127.0.0.2:{other.port}\\@127.0.0.1:{base.port}/c", send_token=True).close()
    assert base.requests[0].headers.get("authorization") == f"Token {TOKEN}"
    assert [r.headers.get("authorization") for r in other.requests] == [None, None]
