"""The transport prepares the common request directly; what it prepares must be exactly what requests' own
``prepare()`` makes of the same request, whatever the path, query, body or base URL."""

from __future__ import annotations

import json
import random

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from pytest_semaphore.client.retry import Backoff
from pytest_semaphore.client.transport import Transport

TOKEN = "s3cr3t-token"


def _transport(base_url: str, user_agent: str = "pytest-semaphore/test") -> Transport:
    backoff = Backoff(sleep=lambda _: None, rng=random.Random(0))
    return Transport(base_url, TOKEN, timeout=5.0, retries=0, backoff=backoff, user_agent=user_agent)


def _by_requests(
    transport: Transport, method: str, path: str, params: list[tuple[str, str]], body: object
) -> requests.PreparedRequest:
    headers = {
        "User-Agent": transport._user_agent,
        "Accept": "application/json",
        "Accept-Encoding": "identity",
        "Authorization": f"Token {TOKEN}",
    }
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    return requests.Request(method, transport.base_url + path, params=params, data=data, headers=headers).prepare()


def _same(ours: requests.PreparedRequest, theirs: requests.PreparedRequest) -> None:
    assert (ours.method, ours.url, ours.body) == (theirs.method, theirs.url, theirs.body)
    assert dict(ours.headers) == dict(theirs.headers)


segments = st.text(st.characters(codec="utf-8", exclude_characters="/?#"), min_size=1, max_size=12)
values = st.text(st.characters(codec="utf-8"), max_size=12)


@given(
    method=st.sampled_from(["GET", "POST", "PATCH", "DELETE"]),
    parts=st.lists(segments, min_size=1, max_size=4),
    params=st.lists(st.tuples(values, values), max_size=4),
    body=st.none() | st.dictionaries(values, values, max_size=3),
)
def test_the_direct_preparation_equals_requests_own(
    method: str, parts: list[str], params: list[tuple[str, str]], body: object
) -> None:
    transport = _transport("https://myorg.semaphoreci.com")
    path = "/api/v1alpha/" + "/".join(parts)
    _same(
        transport.prepare(method, path, params=params, body=body), _by_requests(transport, method, path, params, body)
    )


@pytest.mark.parametrize(
    "base_url",
    ["http://127.0.0.1:8000", "https://myorg.semaphoreci.com", "https://bücher.example", "https://host:8443"],
)
def test_base_urls_are_prepared_once_as_requests_would(base_url: str) -> None:
    transport = _transport(base_url)
    path = "/api/v1alpha/pipelines/abc"
    params = [("detailed", "true"), ("q", "a b")]
    _same(transport.prepare("GET", path, params=params), _by_requests(transport, "GET", path, params, None))


@pytest.mark.parametrize(
    "path",
    ["/a/../b", "/a/./b", "/a/b/.", "/a/..", "/a/.hidden/..x", "//x/y", "/a b", "/é", "/a%2Fb", "/a;b=c@d:e~f"],
)
def test_paths_requests_would_change_are_prepared_as_requests_does(path: str) -> None:
    transport = _transport("https://myorg.semaphoreci.com")
    _same(transport.prepare("GET", path), _by_requests(transport, "GET", path, [], None))


def test_headers_requests_would_refuse_are_still_refused_by_requests() -> None:
    transport = _transport("https://myorg.semaphoreci.com", user_agent="agent\r\nX-Injected: 1")
    with pytest.raises(requests.exceptions.InvalidHeader):
        transport.prepare("GET", "/api/v1alpha/projects")


def test_each_request_gets_its_own_headers() -> None:
    transport = _transport("https://myorg.semaphoreci.com")
    first = transport.prepare("GET", "/api/v1alpha/projects")
    first.headers["X-Changed"] = "by a hook"
    assert "X-Changed" not in transport.prepare("GET", "/api/v1alpha/projects").headers
