"""The world's timeline: actions run in time order, each at its own instant, ties in the order scheduled."""

from __future__ import annotations

from pytest_semaphore.simulator.timeline import Timeline


def test_actions_run_in_time_order_each_at_its_instant_and_ties_in_scheduling_order() -> None:
    timeline = Timeline(10.0)
    seen: list[tuple[str, float]] = []
    timeline.at(2.0, lambda: seen.append(("late", timeline.now)))
    timeline.at(1.0, lambda: seen.append(("first tie", timeline.now)))
    timeline.at(1.0, lambda: seen.append(("second tie", timeline.now)))
    timeline.run_until(11.5)
    assert seen == [("first tie", 11.0), ("second tie", 11.0)]
    assert timeline.now == 11.5
    assert len(timeline) == 1
    timeline.run_until(12.0)
    assert seen[-1] == ("late", 12.0)
    assert len(timeline) == 0


def test_an_action_scheduling_another_within_reach_sees_it_run_in_the_same_call() -> None:
    timeline = Timeline(0.0)
    seen: list[float] = []

    def step() -> None:
        seen.append(timeline.now)
        if len(seen) < 3:
            timeline.at(1.0, step)

    timeline.at(1.0, step)
    timeline.run_until(10.0)
    assert seen == [1.0, 2.0, 3.0]
    assert timeline.now == 10.0


def test_time_never_goes_back_when_asked_to_run_until_an_earlier_instant() -> None:
    timeline = Timeline(5.0)
    timeline.run_until(3.0)
    assert timeline.now == 5.0
