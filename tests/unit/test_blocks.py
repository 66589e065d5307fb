"""The block-level model (``waiting.blocks``): what it predicts from a history and the blocks seen done, and when it
gives up for the ordinary schedule. Pure: pipelines are built as the describe would parse them."""

from __future__ import annotations

import pytest

from pytest_semaphore.models import Block, Pipeline
from pytest_semaphore.waiting.blocks import (
    BLOCK_DENSE,
    BLOCK_SPARSE_CAP,
    BlockHistory,
    BlockStats,
    BlockTracker,
)
from pytest_semaphore.waiting.schedule import PollSchedule, Prediction

NAMES = ("A", "B", "C")


def _history(durations: tuple[float, ...] = (560.0, 600.0, 640.0)) -> BlockHistory:
    """Three blocks in a chain, each with the same past durations."""
    return BlockHistory(
        dependencies={"A": (), "B": ("A",), "C": ("B",)},
        stats={name: BlockStats(durations) for name in NAMES},
        runs=len(durations),
    )


def _run(done: int, *, last: tuple[str, str | None] = ("running", None), reason: str | None = "test") -> Pipeline:
    """A running pipeline whose first ``done`` blocks passed; the next one is in state ``last``."""
    blocks = []
    for index, name in enumerate(NAMES):
        if index < done:
            blocks.append(Block(name, f"b{index}", "done", "passed", "test"))
        elif index == done:
            state, result = last
            blocks.append(Block(name, f"b{index}", state, result, reason if state == "done" else None))
        else:
            blocks.append(Block(name, "", "waiting", None, None))
    return Pipeline("p", "w", "Pipeline", "proj", "main", "sha", "running", None, None, blocks=tuple(blocks))


def test_stats_widen_the_samples_by_the_unbiased_estimate_of_a_uniform_spread() -> None:
    stats = BlockStats((560.0, 600.0, 640.0))
    assert stats.margin == pytest.approx(40.0)  # range 80 over n - 1 = 2 gaps
    assert (stats.low, stats.high) == pytest.approx((520.0, 680.0))
    assert stats.mean == pytest.approx(600.0)


def test_a_fresh_run_is_predicted_around_the_sum_of_its_blocks_and_probed_before_the_window() -> None:
    prediction = BlockTracker(_history()).observe(_run(0), age=0.0)
    assert prediction is not None
    assert prediction.window_start < 1800 < prediction.window_end
    assert prediction.probe is not None
    assert 0 < prediction.probe < prediction.window_start
    assert prediction.dense_interval == BLOCK_DENSE
    assert prediction.sparse_cap == BLOCK_SPARSE_CAP


def test_seeing_the_block_before_the_last_end_narrows_the_window_to_the_last_blocks_spread() -> None:
    tracker = BlockTracker(_history())
    first = tracker.observe(_run(0), age=0.0)
    tracker.observe(_run(1), age=1190.0)  # B running just before it ends
    narrow = tracker.observe(_run(2), age=1200.0)  # B seen done 10 s later: C starts within those 10 s
    assert first is not None
    assert narrow is not None
    assert narrow.probe is None  # nothing left to learn before the end
    assert narrow.window_start >= 1190 + 520 - 1
    assert narrow.window_end <= 1200 + 680 + 1
    width = narrow.window_end - narrow.window_start
    assert width <= (680 - 520) + 10  # C's own spread plus the 10 s in which it started
    assert width < first.window_end - first.window_start  # three blocks' spreads, before


def test_a_probe_that_finds_the_block_still_running_moves_the_next_probe_later() -> None:
    tracker = BlockTracker(_history())
    first = tracker.observe(_run(0), age=0.0)
    assert first is not None
    assert first.probe is not None
    again = tracker.observe(_run(1), age=first.probe)
    assert again is not None
    assert again.probe is not None
    assert again.probe > first.probe


@pytest.mark.parametrize(
    ("seen", "why"),
    [
        (_run(1, last=("done", "failed")), "a failed block"),
        (_run(1, last=("done", "stopped")), "a stopped block"),
        (_run(1, last=("done", "passed"), reason="skipped"), "a skipped block"),
    ],
)
def test_a_run_that_takes_another_path_drops_the_model_for_good(seen: Pipeline, why: str) -> None:
    tracker = BlockTracker(_history())
    assert tracker.observe(_run(0), age=0.0) is not None
    assert tracker.observe(seen, age=700.0) is None, why
    assert tracker.observe(_run(2), age=1300.0) is None  # for good, even if the next answer looks normal


def test_blocks_the_history_does_not_know_drop_the_model() -> None:
    renamed = _run(0)
    renamed = Pipeline(**{**renamed.__dict__, "blocks": (*renamed.blocks[:2], Block("D", "", "waiting", None, None))})
    assert BlockTracker(_history()).observe(renamed, age=0.0) is None


def test_a_block_running_longer_than_its_history_allows_drops_the_model() -> None:
    tracker = BlockTracker(_history())
    assert tracker.observe(_run(0), age=680.0) is not None  # A still within its longest likely duration
    assert tracker.observe(_run(0), age=1000.0) is None  # twice as slow: the history is wrong


def test_a_block_done_before_its_history_allows_drops_the_model() -> None:
    tracker = BlockTracker(_history())
    assert tracker.observe(_run(0), age=0.0) is not None
    assert tracker.observe(_run(2), age=700.0) is None  # two blocks of about 600 s each, both done after 700 s


def test_the_schedule_lands_on_the_probe_within_the_sparse_cap() -> None:
    prediction = Prediction(
        expected=3600, window_start=3500, window_end=3700, dense_interval=10, sparse_cap=900, sparse_fraction=1.0
    )
    probing = Prediction(**{**prediction.__dict__, "probe": 3000.0})
    schedule = PollSchedule(jitter=0.0, prediction=probing)
    assert schedule.next_delay(elapsed=0.0) == 900  # capped: a run off its path is noticed within the cap
    assert schedule.next_delay(elapsed=2700.0) == 300  # exactly on the probe
    schedule.prediction = prediction  # no probe left: straight to the window, then dense
    assert schedule.next_delay(elapsed=3000.0) == 500
    assert schedule.next_delay(elapsed=3500.0) == 10


def test_a_block_seen_running_after_it_was_seen_done_drops_the_model() -> None:
    tracker = BlockTracker(_history())
    assert tracker.observe(_run(1), age=650.0) is not None  # A done
    assert tracker.observe(_run(0), age=660.0) is None  # A running again: a replica out of step
