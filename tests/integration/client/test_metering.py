"""Every HTTP attempt of a call made inside ``client.metered`` books against the caller's budget and waits its turn:
urllib3's retries (a 503, a reset) and the client's own (a body cut off), on a manual clock, against a scripted
server."""

from __future__ import annotations

import json

import pytest

from pytest_semaphore.client import SemaphoreClient, metered
from pytest_semaphore.errors import APIUnavailable
from pytest_semaphore.waiting import RequestBudget
from tests.support import api_payloads as P
from tests.support.scripted_server import Reply, Reset, ScriptedServer, Truncated

from .conftest import ClientFactory

PIPELINE = Reply(200, body=json.dumps(P.pipeline_describe()).encode())


class Clock:
    """A manual monotonic clock; each sleep moves it and is recorded under its name."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: dict[str, list[float]] = {"client": [], "budget": []}

    def __call__(self) -> float:
        return self.now

    def sleeper(self, name: str) -> SleepOn:
        return SleepOn(self, name)


class SleepOn:
    def __init__(self, clock: Clock, name: str) -> None:
        self.clock, self.name = clock, name

    def __call__(self, seconds: float) -> None:
        self.clock.slept[self.name].append(seconds)
        self.clock.now += seconds


class Booked:
    """A real :class:`RequestBudget` that records, for each reservation, when its turn comes (clock time + wait)."""

    def __init__(self, budget: RequestBudget, clock: Clock) -> None:
        self.budget, self.clock = budget, clock
        self.turns: list[float] = []

    def reserve(self, n: float = 1.0) -> float:
        assert n == 1
        wait = self.budget.reserve(n)
        self.turns.append(self.clock.now + wait)
        return wait


def client_on(make_client: ClientFactory, server: ScriptedServer, clock: Clock, **options: object) -> SemaphoreClient:
    return make_client(server.url, sleep=clock.sleeper("client"), monotonic=clock, **options)


def test_a_call_retried_three_times_books_four_units_and_its_retries_wait_their_turn(
    make_client: ClientFactory, scripted: ScriptedServer
) -> None:
    scripted.add(Reply(503, body=b"upstream connect error"))  # urllib3's status retry
    scripted.add(Reset())  # urllib3's connection retry
    scripted.add(Truncated(200, body=b'{"pipeline": {', declared=500))  # the client's own: a body cut off
    scripted.add(PIPELINE)
    clock = Clock()
    budget = Booked(RequestBudget(3, burst=1, monotonic=clock), clock)  # a turn every 20 s, more than any backoff
    client = client_on(make_client, scripted, clock)
    budget.reserve(1)  # the first attempt, booked by the caller (as the waiting engine's guard does)
    with metered(budget, sleep=clock.sleeper("budget"), prepaid=1):
        assert client.describe_pipeline(P.PPL_ID).state == "done"
    assert len(scripted.requests) == 4
    assert len(budget.turns) == 4
    assert budget.turns == pytest.approx([0.0, 20.0, 40.0, 60.0])
    assert len(clock.slept["client"]) == 3, "each retry backs off first, on the client's sleep"
    assert len(clock.slept["budget"]) == 3, "then waits for its turn, on the caller's sleep"
    assert clock.now == pytest.approx(60.0)  # the last attempt was sent at its turn, not before


def test_outside_a_metered_block_nothing_is_booked(make_client: ClientFactory, scripted: ScriptedServer) -> None:
    scripted.add(Reply(503))
    scripted.add(PIPELINE)
    clock = Clock()
    budget = Booked(RequestBudget(3, burst=1, monotonic=clock), clock)
    with metered(budget, sleep=clock.sleeper("budget")):
        pass
    client_on(make_client, scripted, clock).describe_pipeline(P.PPL_ID)
    assert len(scripted.requests) == 2
    assert budget.turns == []
    assert clock.slept["budget"] == []


def test_without_prepaid_units_the_first_attempt_is_booked_too(
    make_client: ClientFactory, scripted: ScriptedServer
) -> None:
    scripted.add(PIPELINE)
    clock = Clock()
    budget = Booked(RequestBudget(3, burst=1, monotonic=clock), clock)
    budget.reserve(1)  # someone else's request: the next turn is in 20 s
    with metered(budget, sleep=clock.sleeper("budget")):
        client_on(make_client, scripted, clock).describe_pipeline(P.PPL_ID)
    assert budget.turns == pytest.approx([0.0, 20.0])
    assert clock.slept["budget"] == pytest.approx([20.0])


def test_a_retry_whose_turn_comes_after_the_call_deadline_is_not_sent(
    make_client: ClientFactory, scripted: ScriptedServer
) -> None:
    scripted.add(Reply(503, body=b"busy"))
    scripted.add(PIPELINE)
    clock = Clock()
    budget = Booked(RequestBudget(1, burst=1, monotonic=clock), clock)  # a turn a minute
    client = client_on(make_client, scripted, clock, deadline=30.0)
    budget.reserve(1)
    with metered(budget, sleep=clock.sleeper("budget"), prepaid=1), pytest.raises(APIUnavailable, match="deadline"):
        client.describe_pipeline(P.PPL_ID)
    assert len(scripted.requests) == 1, "the retry was never sent"
    assert clock.slept["budget"] == [], "nor waited for: its turn is past the deadline"
    assert clock.now < 30.0


def test_prepaid_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="prepaid"), metered(RequestBudget(), sleep=lambda _: None, prepaid=-1):
        pass


def test_a_write_refused_with_429_whose_retry_turn_is_past_the_deadline_is_known_not_sent(
    make_client: ClientFactory, scripted: ScriptedServer
) -> None:
    scripted.add(Reply(429, body=b"slow down"))  # the ingress' answer: the backend never saw the request
    clock = Clock()
    budget = Booked(RequestBudget(1, burst=1, monotonic=clock), clock)
    client = client_on(make_client, scripted, clock, deadline=30.0)
    budget.reserve(1)
    with metered(budget, sleep=clock.sleeper("budget"), prepaid=1), pytest.raises(APIUnavailable, match="deadline"):
        client.run_workflow(P.PROJECT_ID, "refs/heads/main")  # not OutcomeUnknown: nothing may have been acted on
    assert len(scripted.requests) == 1
