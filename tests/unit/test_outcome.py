"""``outcome``: one mapping from (state, result, result_reason) to a verdict, and the exit codes derived from it."""

from __future__ import annotations

import pytest

from pytest_semaphore.models import Pipeline
from pytest_semaphore.waiting.outcomes import Outcome, outcome, outcome_of


def _pipeline(state: str | None, result: str | None, reason: str | None) -> Pipeline:
    return Pipeline.from_api(
        {
            "pipeline": {
                "ppl_id": "p1",
                "wf_id": "w1",
                "state": state,
                "result": result,
                "result_reason": reason,
            },
            "blocks": [],
        }
    )


TABLE = [
    ("passed", "test", Outcome.PASSED, 0),
    ("passed", None, Outcome.PASSED, 0),
    ("failed", "test", Outcome.FAILED, 1),
    ("failed", None, Outcome.FAILED, 1),
    ("failed", "malformed", Outcome.ERROR, 4),
    ("failed", "stuck", Outcome.ERROR, 4),
    ("failed", "something_new", Outcome.ERROR, 4),
    ("stopped", "user", Outcome.STOPPED, 3),
    ("stopped", "strategy", Outcome.STOPPED, 3),
    ("stopped", "fast_failing", Outcome.STOPPED, 3),
    ("stopped", "deleted", Outcome.STOPPED, 3),
    ("stopped", "internal", Outcome.ERROR, 4),
    ("stopped", "timeout", Outcome.ERROR, 4),
    ("canceled", "user", Outcome.CANCELED, 3),
    ("canceled", "strategy", Outcome.CANCELED, 3),
    ("canceled", "internal", Outcome.ERROR, 4),
    ("canceled", "timeout", Outcome.ERROR, 4),
    (None, None, Outcome.ERROR, 4),
    ("exploded", "test", Outcome.ERROR, 4),
]


@pytest.mark.parametrize(("result", "reason", "expected", "code"), TABLE)
def test_the_table(result: str | None, reason: str | None, expected: Outcome, code: int) -> None:
    verdict = outcome(_pipeline("done", result, reason))
    assert verdict is expected
    assert verdict.exit_code == code
    assert verdict.ok is (expected is Outcome.PASSED)


@pytest.mark.parametrize(("result", "reason", "expected", "code"), TABLE)
def test_uppercase_as_the_list_endpoint_sends_maps_the_same(
    result: str | None, reason: str | None, expected: Outcome, code: int
) -> None:
    assert outcome_of("DONE", result.upper() if result else None, reason.upper() if reason else None) is expected


@pytest.mark.parametrize("state", ["initializing", "pending", "queuing", "running", "stopping", None])
def test_a_pipeline_that_is_not_done_has_no_outcome(state: str | None) -> None:
    with pytest.raises(ValueError, match="no outcome yet"):
        outcome(_pipeline(state, None, None))


def test_outcome_reads_as_its_value() -> None:
    assert str(Outcome.FAILED) == "failed"
    assert f"{Outcome.CANCELED}" == "canceled"
    assert Outcome("stopped") is Outcome.STOPPED
