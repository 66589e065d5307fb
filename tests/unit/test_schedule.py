"""The poll schedule, the expected-duration prediction and the request budget, in pure simulated time."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from pytest_semaphore.waiting.schedule import DENSE_MAX, SPARSE_CAP, PollSchedule, Prediction, RequestBudget


def _delays(schedule: PollSchedule, n: int) -> list[float]:
    return [schedule.next_delay() for _ in range(n)]


def test_without_jitter_it_starts_at_2s_grows_by_half_and_caps_at_30s() -> None:
    delays = _delays(PollSchedule(jitter=0.0), 12)
    assert delays[:5] == pytest.approx([2.0, 3.0, 4.5, 6.75, 10.125])
    assert max(delays) == 30.0
    assert delays[-4:] == [30.0] * 4
    assert all(b >= a for a, b in itertools.pairwise(delays))


def test_jitter_only_shortens_so_the_cap_bounds_detection_latency() -> None:
    schedule = PollSchedule(jitter=0.2, rng=random.Random(7))
    delays = _delays(schedule, 500)
    assert max(delays) <= 30.0
    assert min(delays[20:]) >= 30.0 * 0.8
    assert len({round(d, 6) for d in delays[20:]}) > 100  # really jittered, not a constant


def test_same_seed_same_delays_and_different_seeds_differ() -> None:
    a = _delays(PollSchedule(rng=random.Random(1)), 30)
    b = _delays(PollSchedule(rng=random.Random(1)), 30)
    c = _delays(PollSchedule(rng=random.Random(2)), 30)
    assert a == b
    assert a != c


def test_a_change_resets_to_the_start_interval() -> None:
    schedule = PollSchedule(jitter=0.0)
    _delays(schedule, 10)
    assert schedule.base == 30.0
    schedule.changed()
    assert schedule.next_delay() == 2.0
    assert schedule.next_delay() == 3.0


def test_retry_after_is_a_floor_even_above_the_cap() -> None:
    schedule = PollSchedule(jitter=0.0)
    assert schedule.next_delay(retry_after=7.0) == 7.0
    assert schedule.next_delay(retry_after=1.0) == 3.0  # the schedule's own delay when it is longer
    assert schedule.next_delay(retry_after=120.0) == 120.0


def test_fixed_schedule_is_the_anchors_way() -> None:
    assert _delays(PollSchedule.fixed(3.0), 5) == [3.0] * 5


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"start": 0}, "start"),
        ({"start": 10, "cap": 5}, "cap"),
        ({"growth": 0.5}, "growth"),
        ({"jitter": 1.0}, "jitter"),
        ({"start": float("nan")}, "start"),
    ],
)
def test_bad_parameters_are_refused_with_a_message_naming_them(kwargs: dict[str, Any], word: str) -> None:
    with pytest.raises(ValueError, match=word):
        PollSchedule(**kwargs)


def test_an_hour_costs_far_fewer_polls_than_fixed_3s() -> None:
    schedule = PollSchedule(rng=random.Random(0))
    t, polls = 0.0, 0
    while t < 3600:
        t += schedule.next_delay()
        polls += 1
    assert polls <= 180  # 15% of the 1,200 polls of a fixed 3 s interval


# ------------------------------------------------------------------------------------------------ prediction


def test_too_short_a_history_gives_no_prediction() -> None:
    assert Prediction.from_durations([]) is None
    assert Prediction.from_durations([100.0, 110.0]) is None
    assert Prediction.from_durations([100.0, -1.0, float("nan"), 0.0]) is None


def test_prediction_window_covers_the_history() -> None:
    history = [3600 * f for f in (0.9, 0.95, 1.0, 1.02, 1.05, 1.1)]
    prediction = Prediction.from_durations(history)
    assert prediction is not None
    assert prediction.window_start < min(history)
    assert prediction.window_end > max(history)
    assert prediction.expected == pytest.approx(3600 * 1.01)
    assert 2.0 <= prediction.dense_interval <= DENSE_MAX


def test_a_narrow_history_polls_every_start_interval_around_the_end() -> None:
    prediction = Prediction.from_durations([60.0, 60.5, 61.0])
    assert prediction is not None
    assert prediction.dense_interval == 2.0
    assert prediction.window_end - prediction.window_start >= 4.0


def _walk(schedule: PollSchedule, until: float) -> list[float]:
    """Poll times from 0 until ``until`` (elapsed seconds), as a wait would."""
    t, times = 0.0, []
    while t < until:
        t += schedule.next_delay(elapsed=t)
        times.append(t)
    return times


def test_prediction_is_sparse_before_dense_inside_and_ordinary_after_the_window() -> None:
    prediction = Prediction(expected=3600, window_start=3300, window_end=3900, dense_interval=10.0)
    times = _walk(PollSchedule(jitter=0.0, prediction=prediction), 5000)
    before = [t for t in times if t < 3300]
    inside = [t for t in times if 3300 <= t <= 3900]
    after = [t for t in times if t > 3900]
    assert 3300.0 in times  # it lands on the window's start
    assert len(before) < 30  # far fewer than the ~115 of the ordinary schedule
    gaps_before = [b - a for a, b in itertools.pairwise(before)]
    assert max(gaps_before) <= 300.0
    gaps_inside = [b - a for a, b in itertools.pairwise(inside)]
    assert gaps_inside
    assert max(gaps_inside) <= 10.0
    gaps_after = [b - a for a, b in itertools.pairwise(after)]
    assert gaps_after
    assert max(gaps_after) <= 30.0


@pytest.mark.parametrize("expected", [60.0, 600.0, 3600.0])
@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_a_wrong_history_costs_no_more_than_the_ordinary_schedule_plus_5(expected: float, factor: float) -> None:
    rng = random.Random(3)
    history = [expected * rng.uniform(0.9, 1.1) for _ in range(20)]
    prediction = Prediction.from_durations(history)
    assert prediction is not None
    with_prediction = _walk(PollSchedule(rng=random.Random(4), prediction=prediction), expected * factor)
    ordinary = _walk(PollSchedule(rng=random.Random(4)), expected * factor)
    assert len(with_prediction) <= len(ordinary) + 5


# ------------------------------------------------------------------------------------------------ budget


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_budget_allows_a_burst_then_paces_requests() -> None:
    clock = _Clock()
    budget = RequestBudget(60, burst=5, monotonic=clock)
    assert [budget.reserve() for _ in range(5)] == [0.0] * 5
    assert budget.reserve() == pytest.approx(1.0)  # one request per second at 60 per minute
    assert budget.reserve() == pytest.approx(2.0)


def test_budget_refills_with_time() -> None:
    clock = _Clock()
    budget = RequestBudget(120, burst=2, monotonic=clock)
    budget.reserve(2)
    assert budget.reserve() == pytest.approx(0.5)
    clock.now += 10
    assert budget.reserve() == 0.0


def test_budget_over_an_hour_never_exceeds_its_rate() -> None:
    clock = _Clock()
    budget = RequestBudget(30, burst=1, monotonic=clock)
    sent = 0
    while clock.now < 3600:
        clock.now += budget.reserve()
        sent += 1
    assert sent <= 30 * 60 + 1


def test_budget_refuses_a_nonsense_rate() -> None:
    with pytest.raises(ValueError, match="per_minute"):
        RequestBudget(0)


def test_the_process_budget_is_shared() -> None:
    assert RequestBudget.for_process() is RequestBudget.for_process()


@pytest.mark.parametrize("seed", range(20))
def test_a_prediction_never_gives_a_near_zero_delay(seed: int) -> None:
    # regression: floating-point error left a pipeline a hair before the window, and the schedule slept ~0 s again
    # and again (27 requests in a burst)
    rng = random.Random(seed)
    expected = rng.choice([60.0, 600.0, 3600.0])
    prediction = Prediction.from_durations([expected * rng.uniform(0.9, 1.1) + 3 for _ in range(20)])
    assert prediction is not None
    schedule = PollSchedule(rng=random.Random(seed), prediction=prediction)
    t = rng.uniform(0, 1) * 1e-9
    floor = 0.8 * min(schedule.start, prediction.dense_interval) / 2
    while t < expected * 2:
        delay = schedule.next_delay(elapsed=t)
        assert delay >= floor
        t += delay


def test_an_early_end_before_the_window_is_noticed_within_the_sparse_cap() -> None:
    # the history says an hour; a run that fails after 30 minutes must not be noticed 5 minutes late
    prediction = Prediction.from_durations([3600 * f for f in (0.9, 0.95, 1.0, 1.05, 1.1)])
    assert prediction is not None
    times = _walk(PollSchedule(rng=random.Random(3), prediction=prediction), prediction.window_start)
    gaps = [b - a for a, b in zip([0.0, *times[:-1]], times, strict=True)]
    assert max(gaps) <= SPARSE_CAP
    assert max(gaps) > 60  # still sparse: that is where the requests are saved


def test_a_clock_that_steps_back_does_not_drain_the_budget() -> None:
    now = [1000.0]
    budget = RequestBudget(60, burst=2, monotonic=lambda: now[0])
    assert budget.reserve() == 0.0
    now[0] = 0.0  # an injected clock stepped back by 1000 s
    assert budget.reserve() == 0.0  # the second token of the burst, not a 1000 s debt
    assert budget.reserve() == pytest.approx(1.0)
