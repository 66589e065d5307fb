"""Fixtures for the client's integration tests: a client factory with recorded sleeps, and the token canary.

Every client made here uses :data:`TOKEN`, a string that must never show up in any error message, repr or chained
exception (``test_secrets.py`` checks every error path for it), and a ``sleep`` that records instead of sleeping,
so retry backoff is observed, never waited for.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from pytest_semaphore.client import SemaphoreClient
from tests.support.scripted_server import ScriptedServer

TOKEN = "canary-7f3a9c1e-TOKEN-d00d"
"""The API token every test client uses: a canary that must appear nowhere but in Authorization headers."""

ClientFactory = Callable[..., SemaphoreClient]


class RecordedSleeps(list[float]):
    """A ``sleep`` that records the requested delays and returns at once."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture
def base_url(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


@pytest.fixture
def make_client(sleeps: RecordedSleeps) -> Iterator[ClientFactory]:
    """``make_client(url, **options)``: a client whose sleeps are recorded; closed at teardown."""
    made: list[SemaphoreClient] = []

    def factory(url: str, **options: Any) -> SemaphoreClient:
        options.setdefault("sleep", sleeps)
        options.setdefault("timeout", 5.0)
        options.setdefault("rng", random.Random(1))
        client = SemaphoreClient(url, options.pop("token", TOKEN), **options)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: ClientFactory, base_url: str) -> SemaphoreClient:
    """A client of the pytest-httpserver server."""
    return make_client(base_url)


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server
