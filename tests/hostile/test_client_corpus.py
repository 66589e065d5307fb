"""The client's hostile corpus (``client_corpus.py``): only documented errors escape, in a bounded number of requests,
and none of them quotes the token."""

from __future__ import annotations

import random

import pytest

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.errors import SemaphoreError
from tests.support.scripted_server import ScriptedServer

from .client_corpus import CASES, ClientCase

TOKEN = "canary-TOKEN-corpus-77c1"


def outcome(case: ClientCase, server: ScriptedServer) -> SemaphoreError | None:
    options = {"retries": 2, "sleep": lambda _: None, "rng": random.Random(0), "timeout": 5.0, **case.options}
    with SemaphoreClient(server.url, TOKEN, **options) as client:  # type: ignore[arg-type]
        try:
            case.call(client)
        except SemaphoreError as exc:
            return exc
    return None


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_only_documented_errors_escape(case: ClientCase) -> None:
    with ScriptedServer() as server:
        server.add(*case.steps)
        error = outcome(case, server)
    if case.raises is None:
        assert error is None, f"{case.name}: {error!r}"
    else:
        assert isinstance(error, case.raises), f"{case.name}: {error!r}"
        assert TOKEN not in str(error)
        assert TOKEN not in repr(error)
    assert 1 <= len(server.requests) <= case.max_requests
