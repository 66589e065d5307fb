"""Load through ``semaphore-gate wait`` with 200 pipeline ids (the fast version: pipelines of 1-5 minutes, without and
with 25% of the requests answered 503; the bench runs 1-30 minutes, and ``pytest -n 4``)."""

from __future__ import annotations

from pytest_semaphore.waiting import RequestBudget

from .load import wait_on_many


def test_two_hundred_pipelines_at_once_within_the_budget_and_every_verdict_right() -> None:
    figures = wait_on_many(200, minutes=5, trace_memory=False)
    budget = RequestBudget()
    assert figures.right == 200, figures
    assert figures.code == 1, "one in five fails: the worst verdict"
    assert figures.per_minute_peak <= budget.per_minute + budget.burst, figures
    assert figures.peak_threads <= 4, "the gate adds no thread per pipeline (the simulator's own are counted)"
    assert figures.simulated < 5 * 60 + 120, "the last pipeline's end is seen within two minutes"


def test_at_25_percent_503s_the_client_retries_keep_within_the_budget_every_minute() -> None:
    figures = wait_on_many(200, minutes=5, error_rate=0.25, trace_memory=False)
    budget = RequestBudget()
    assert figures.right == 200, figures
    # the client's retries of the 503s book against the wait's budget too: the busiest simulated minute (the
    # simulator's request log, the failed jobs' excerpts after the wait apart) stays within it
    assert figures.per_minute_peak <= budget.per_minute + budget.burst, figures
