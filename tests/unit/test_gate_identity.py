"""The running job's identity read from the environment, and ``PromoteResult``'s verdict and JSON form."""

from __future__ import annotations

import json

import pytest

from pytest_semaphore.errors import ConfigurationError
from pytest_semaphore.models import Promotion
from pytest_semaphore.waiting import Blocker, JobIdentity, Outcome, PromoteAction, PromoteResult

JOB = "6c1b0d6e-2f3a-4a51-9f6e-0f0c7c1d2e3f"


def test_outside_a_semaphore_job_there_is_no_identity() -> None:
    assert JobIdentity.from_env({}) is None
    assert JobIdentity.from_env({"SEMAPHORE_JOB_ID": "  ", "SEMAPHORE_JOB_INDEX": "2"}) is None


def test_a_job_without_parallelism_is_shard_one_of_one() -> None:
    found = JobIdentity.from_env({"SEMAPHORE_JOB_ID": JOB})
    assert found == JobIdentity(JOB, 1, 1)
    assert found.last_shard


@pytest.mark.parametrize(("index", "last"), [("1", False), ("2", False), (" 3 ", True)])
def test_only_the_last_shard_is_the_last(index: str, last: bool) -> None:
    found = JobIdentity.from_env({"SEMAPHORE_JOB_ID": JOB, "SEMAPHORE_JOB_INDEX": index, "SEMAPHORE_JOB_COUNT": "3"})
    assert found is not None
    assert found.count == 3
    assert found.last_shard is last


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"SEMAPHORE_JOB_INDEX": "x", "SEMAPHORE_JOB_COUNT": "3"},
            "SEMAPHORE_JOB_INDEX must be a whole number, got 'x",
        ),
        ({"SEMAPHORE_JOB_INDEX": "1", "SEMAPHORE_JOB_COUNT": "2.5"}, "SEMAPHORE_JOB_COUNT must be a whole number"),
        ({"SEMAPHORE_JOB_INDEX": "2"}, "SEMAPHORE_JOB_INDEX is set but SEMAPHORE_JOB_COUNT is not"),
        ({"SEMAPHORE_JOB_COUNT": "2"}, "SEMAPHORE_JOB_COUNT is set but SEMAPHORE_JOB_INDEX is not"),
        ({"SEMAPHORE_JOB_INDEX": "4", "SEMAPHORE_JOB_COUNT": "3"}, "shard 4 of 3 is not a shard"),
        ({"SEMAPHORE_JOB_INDEX": "0", "SEMAPHORE_JOB_COUNT": "3"}, "shard 0 of 3 is not a shard"),
    ],
)
def test_a_malformed_shard_is_a_configuration_error_naming_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        JobIdentity.from_env({"SEMAPHORE_JOB_ID": JOB, **environ})
    assert message in str(error.value)


def _result(
    action: PromoteAction,
    outcome: Outcome | None,
    *,
    promotion: Promotion | None = None,
    blockers: tuple[Blocker, ...] = (),
    notes: tuple[str, ...] = (),
) -> PromoteResult:
    return PromoteResult(
        action=action,
        ppl_id="ppl",
        name="production",
        parameters={"REGION": "eu"},
        override=True,
        own_pipeline=True,
        outcome=outcome,
        promotion=promotion,
        blockers=blockers,
        notes=notes,
    )


@pytest.mark.parametrize(
    ("action", "outcome", "ok", "code"),
    [
        (PromoteAction.TRIGGERED, None, True, 0),
        (PromoteAction.SKIPPED_SHARD, None, True, 0),
        (PromoteAction.REUSED, Outcome.PASSED, True, 0),
        (PromoteAction.TRIGGERED, Outcome.FAILED, False, 1),
        (PromoteAction.TRIGGERED, Outcome.STOPPED, False, 3),
        (PromoteAction.NOT_PROMOTED, Outcome.FAILED, False, 1),
        (PromoteAction.NOT_PROMOTED, Outcome.ERROR, False, 4),
    ],
)
def test_ok_and_exit_code_follow_the_action_and_outcome(
    action: PromoteAction, outcome: Outcome | None, ok: bool, code: int
) -> None:
    result = _result(action, outcome)
    assert result.ok is ok
    assert result.exit_code == code


def test_to_dict_is_json_with_the_record_blockers_and_notes() -> None:
    record = Promotion.from_api(
        {
            "name": "production",
            "triggered_by": "user-1",
            "override": True,
            "status": "processing",
            "triggered_at": {"seconds": 1767225620, "nanos": 0},
            "scheduled_at": {"seconds": 0, "nanos": 0},
            "scheduled_pipeline_id": "",
        }
    )
    blockers = (Blocker("Tests", "unit", "job-1", "failed"), Blocker("Deploy", None, None, "canceled"))
    result = _result(PromoteAction.NOT_PROMOTED, Outcome.FAILED, promotion=record, blockers=blockers, notes=("why",))
    document = json.loads(json.dumps(result.to_dict()))
    assert document == {
        "action": "not-promoted",
        "ppl_id": "ppl",
        "name": "production",
        "parameters": {"REGION": "eu"},
        "override": True,
        "own_pipeline": True,
        "outcome": "failed",
        "ok": False,
        "promotion": {
            "status": "processing",
            "triggered_by": "user-1",
            "override": True,
            "triggered_at": "2026-01-01T00:00:20+00:00",
            "scheduled_pipeline_id": None,
        },
        "promoted_pipelines": [],
        "refused_auto_promotions": [],
        "blockers": [
            {"block": "Tests", "job": "unit", "job_id": "job-1", "result": "failed"},
            {"block": "Deploy", "job": None, "job_id": None, "result": "canceled"},
        ],
        "notes": ["why"],
    }
    assert [str(b) for b in blockers] == [
        "job 'unit' of block 'Tests' ended failed",
        "block 'Deploy' ended canceled",
    ]
