"""The one poll loop (``waiting.loop.run``): deadline, pauses, ``Retry-After``, the schedule's reset, interrupts.

A scripted poller stands for a kind of wait; the clock is a manual one handed over in a ``Pacing``, so every pause
the loop takes is recorded exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from pytest_semaphore.errors import APIUnavailable, WaitTimeout
from pytest_semaphore.waiting import Pacing
from pytest_semaphore.waiting.loop import OutageGuard, Poller, Round, run


@dataclass
class _Clock:
    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now

    def pacing(self, **fields: Any) -> Pacing:
        return Pacing(sleep=self.sleep, monotonic=self.monotonic, jitter=0.0, **fields)


@dataclass(eq=False)
class _Scripted(Poller[str]):
    """Round ``i`` returns ``rounds[i]``; past the script, "not yet". Each round makes one guarded request."""

    guard: OutageGuard
    rounds: list[Round[str]]
    request: Callable[[], object] = lambda: None
    bound: float | None = None
    polls: int = 0
    interrupted_calls: int = 0

    def poll(self) -> Round[str]:
        self.guard.call(self.request)
        self.polls += 1
        return self.rounds[self.polls - 1] if self.polls <= len(self.rounds) else Round()

    def timed_out(self) -> BaseException:
        return WaitTimeout(f"timed out after {self.polls} polls")

    def interrupted(self) -> None:
        self.interrupted_calls += 1

    def pause_at_most(self, now: float) -> float | None:
        return self.bound


def _run(poller: _Scripted, deadline: float, pacing: Pacing) -> str:
    return run(poller, pacing.schedule(), deadline)


def test_the_result_ends_the_wait_and_each_pause_follows_the_schedule() -> None:
    clock = _Clock()
    pacing = clock.pacing()
    poller = _Scripted(OutageGuard("thing", pacing), [Round(), Round(), Round("done")])
    assert _run(poller, 3600.0, pacing) == "done"
    assert clock.slept == [2.0, 3.0]


def test_a_change_sends_the_schedule_back_to_its_start() -> None:
    clock = _Clock()
    pacing = clock.pacing()
    rounds: list[Round[str]] = [Round(), Round(), Round(changed=True), Round(), Round("done")]
    poller = _Scripted(OutageGuard("thing", pacing), rounds)
    _run(poller, 3600.0, pacing)
    assert clock.slept == [2.0, 3.0, 2.0, 3.0]


def test_the_last_poll_is_at_the_deadline_and_a_zero_deadline_still_looks_once() -> None:
    clock = _Clock()
    pacing = clock.pacing()
    poller = _Scripted(OutageGuard("thing", pacing), [])
    with pytest.raises(WaitTimeout, match="after 5 polls"):
        _run(poller, 10.0, pacing)
    assert clock.slept == [2.0, 3.0, 4.5, 0.5]  # the 6.75 s pause cut to the 0.5 s left
    assert clock.now == 10.0
    once = _Scripted(OutageGuard("thing", pacing), [])
    with pytest.raises(WaitTimeout, match="after 1 polls"):
        _run(once, clock.now, pacing)


def test_retry_after_is_a_floor_and_a_grace_period_a_ceiling() -> None:
    clock = _Clock()
    pacing = clock.pacing()

    def busy() -> None:
        raise APIUnavailable("GET", "/api/v1alpha/pipelines", "slow down", last_status=429, retry_after=40.0)

    throttled = _Scripted(OutageGuard("thing", pacing), [Round(), Round("done")], request=busy)
    _run(throttled, 3600.0, pacing)
    assert clock.slept == [40.0]
    clock.slept.clear()
    graced = _Scripted(OutageGuard("thing", pacing), [Round(), Round(), Round("done")], bound=0.5)
    _run(graced, 3600.0, pacing)
    assert clock.slept == [0.5, 0.5]


def test_an_interrupt_reaches_the_poller_and_goes_on() -> None:
    clock = _Clock()
    pacing = clock.pacing()

    def interrupt() -> None:
        raise KeyboardInterrupt

    poller = _Scripted(OutageGuard("thing", pacing), [], request=interrupt)
    with pytest.raises(KeyboardInterrupt):
        _run(poller, 3600.0, pacing)
    assert poller.interrupted_calls == 1


def test_the_pacing_numbers_are_the_pauses() -> None:
    clock = _Clock()
    pacing = clock.pacing(start=5.0, growth=1.0, cap=5.0)
    poller = _Scripted(OutageGuard("thing", pacing), [Round(), Round(), Round("done")])
    assert _run(poller, 3600.0, pacing) == "done"
    assert clock.slept == [5.0, 5.0]
