"""``Pacing``: the one frozen object for a wait's schedule, budget, clocks, rng and patience."""

from __future__ import annotations

import dataclasses
import random
import time
from typing import Any

import pytest

from pytest_semaphore.waiting import Pacing
from pytest_semaphore.waiting.schedule import RequestBudget


def test_the_default_is_the_documented_schedule_on_the_real_clock() -> None:
    pacing = Pacing()
    assert (pacing.start, pacing.growth, pacing.cap, pacing.jitter, pacing.patience) == (2.0, 1.5, 30.0, 0.2, 300.0)
    assert pacing.sleep is time.sleep
    assert pacing.monotonic is time.monotonic
    assert pacing.request_budget() is RequestBudget.for_process()


def test_each_wait_gets_a_fresh_schedule_drawing_from_the_shared_rng() -> None:
    pacing = Pacing(start=3.0, growth=2.0, cap=10.0, jitter=0.0, rng=random.Random(1))
    first = pacing.schedule()
    assert [first.next_delay() for _ in range(4)] == [3.0, 6.0, 10.0, 10.0]
    second = pacing.schedule()
    assert second is not first
    assert second.next_delay() == 3.0  # the first wait's growth is not carried over
    assert second.rng is pacing.rng


def test_a_pacing_is_immutable() -> None:
    pacing = Pacing()
    with pytest.raises(dataclasses.FrozenInstanceError):
        pacing.start = 5.0  # type: ignore[misc]


def test_a_given_budget_is_shared_and_an_injected_clock_gets_a_budget_per_wait() -> None:
    shared = RequestBudget(60)
    assert Pacing(budget=shared).request_budget() is shared
    clock = [0.0]
    manual = Pacing(monotonic=lambda: clock[0])
    one, two = manual.request_budget(), manual.request_budget()
    assert one is not two
    assert one is not RequestBudget.for_process()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"start": 0}, "start must be a positive number"),
        ({"cap": 1.0}, "cap"),
        ({"growth": 0.5}, "growth must be at least 1"),
        ({"jitter": 1.0}, "jitter must be a fraction"),
        ({"patience": -1}, "patience must be a number of seconds >= 0"),
        ({"patience": float("nan")}, "patience must be a number of seconds >= 0"),
        ({"patience": "300"}, "patience must be a number of seconds >= 0"),
    ],
)
def test_unusable_numbers_are_refused_when_the_pacing_is_made(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Pacing(**fields)


def test_at_speed_reads_and_sleeps_simulated_seconds() -> None:
    pacing = Pacing.at_speed(1000.0, patience=60.0)
    assert pacing.patience == 60.0
    before_real = time.monotonic()
    before = pacing.monotonic()
    pacing.sleep(20.0)  # 20 simulated seconds: 20 ms of real time
    slept = pacing.monotonic() - before
    assert slept >= 20.0
    assert time.monotonic() - before_real < slept / 1000.0 + 5.0  # not 20 real seconds
    assert abs(before / 1000.0 - time.monotonic()) < 5.0  # simulated seconds are real ones times the speed


def test_at_speed_one_is_the_real_clock_and_a_bad_speed_is_refused() -> None:
    real = Pacing.at_speed(1)
    assert real.sleep is time.sleep
    assert real.monotonic is time.monotonic
    for bad in (0, -2.0, float("inf"), float("nan"), True, "60"):
        with pytest.raises(ValueError, match="speed must be a positive number"):
            Pacing.at_speed(bad)  # type: ignore[arg-type]
