"""The models' normalisation of every quirk in ``docs/semaphore-api.md``: one shape whatever the endpoint."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_semaphore.models import (
    Block,
    BlockJob,
    Job,
    LogEvent,
    ModelError,
    Pipeline,
    Project,
    Promotion,
    TopologyBlock,
    Workflow,
    WorkflowStarted,
    parse_timestamp,
)
from tests.support import api_payloads as P

UTC = dt.timezone.utc


# ------------------------------------------------------------------------------------------------ timestamps


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019-10-14 18:31:17.293456Z", dt.datetime(2019, 10, 14, 18, 31, 17, 293456, tzinfo=UTC)),
        ({"seconds": 1571063401, "nanos": 559492000}, dt.datetime(2019, 10, 14, 14, 30, 1, 559492, tzinfo=UTC)),
        ({"seconds": "1571063401"}, dt.datetime(2019, 10, 14, 14, 30, 1, tzinfo=UTC)),
        ("1571083003", dt.datetime(2019, 10, 14, 19, 56, 43, tzinfo=UTC)),
        (1571083003, dt.datetime(2019, 10, 14, 19, 56, 43, tzinfo=UTC)),
        ("2019-10-14T20:31:17+02:00", dt.datetime(2019, 10, 14, 18, 31, 17, tzinfo=UTC)),
        ("1970-01-01 00:00:00.000000Z", None),
        ({"seconds": 0, "nanos": 0}, None),
        ({}, None),
        ("0", None),
        (0, None),
        ("", None),
        (None, None),
    ],
)
def test_the_three_timestamp_forms_and_their_unset_values(value: object, expected: dt.datetime | None) -> None:
    parsed = parse_timestamp(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        True,
        [1],
        {"seconds": "x"},
        "12:00",
        # out of datetime's range, or not a number at all: Python raises OverflowError/ValueError for these
        "99999999999999999999",
        {"seconds": 99999999999999},
        1e300,
        float("nan"),
        float("inf"),
    ],
)
def test_bad_timestamps_are_model_errors(value: object) -> None:
    with pytest.raises(ModelError):
        parse_timestamp(value)


@given(st.integers(min_value=1, max_value=4_000_000_000), st.integers(min_value=0, max_value=999_999))
def test_describe_and_list_forms_agree(seconds: int, micros: int) -> None:
    as_list = parse_timestamp({"seconds": seconds, "nanos": micros * 1000})
    text = (dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=seconds, microseconds=micros)).strftime(
        "%Y-%m-%d %H:%M:%S.%fZ"
    )
    assert parse_timestamp(text) == as_list


@given(
    st.tuples(
        st.integers(min_value=0, max_value=9999),
        *[st.integers(min_value=0, max_value=99)] * 5,
        st.integers(min_value=0, max_value=999_999),
    )
)
def test_the_describe_forms_fast_path_reads_as_the_general_iso_reader_does(fields: tuple[int, ...]) -> None:
    """Valid or not (month 13, second 99): the describe's form gives what its ISO 8601 spelling gives."""
    year, month, day, hour, minute, second, micros = fields
    text = f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}.{micros:06d}Z"
    iso = text.replace(" ", "T").replace("Z", "+00:00")  # not the describe's form: the general reader
    try:
        expected = parse_timestamp(iso)
    except ModelError:
        with pytest.raises(ModelError):
            parse_timestamp(text)
        return
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed is None or parsed.tzinfo is dt.timezone.utc


# ------------------------------------------------------------------------------------------------ pipelines


def test_pipeline_describe_and_list_give_one_shape() -> None:
    described = Pipeline.from_api(P.pipeline_describe("done", "failed"))
    listed = Pipeline.from_api(P.pipeline_listed(state="DONE", result="FAILED"))
    for ppl in (described, listed):
        assert (ppl.state, ppl.result, ppl.result_reason) == ("done", "failed", "test")
        assert ppl.stopping_at is None
        assert ppl.ppl_triggered_by == "workflow"  # 0 in describe, "WORKFLOW" in list
    assert described.raw["pipeline"]["state"] == "done"  # raw kept as received
    assert listed.raw["state"] == "DONE"


def test_result_is_none_until_done_even_if_sent() -> None:
    data: dict[str, Any] = P.pipeline_listed(state="RUNNING", result=None)
    data["result"] = "PASSED"  # the historical bug: a result on an unfinished pipeline
    ppl = Pipeline.from_api(data)
    assert (ppl.state, ppl.result, ppl.result_reason, ppl.done) == ("running", None, None, False)


def test_unknown_enum_values_are_kept() -> None:
    ppl = Pipeline.from_api(P.pipeline_listed(state="HIBERNATING", result=None))
    assert ppl.state == "hibernating"


def test_block_job_result_only_when_finished() -> None:
    running = BlockJob.from_api({"name": "a", "job_id": "j", "index": 0, "status": "RUNNING", "result": "PASSED"})
    finished = BlockJob.from_api({"name": "a", "job_id": "j", "index": 1, "status": "FINISHED", "result": "FAILED"})
    assert (running.status, running.result, running.finished) == ("running", None, False)
    assert (finished.status, finished.result, finished.finished) == ("finished", "failed", True)


def test_failed_jobs_of_a_detailed_pipeline() -> None:
    ppl = Pipeline.from_api(
        P.pipeline_describe("done", "failed", blocks=[P.block(), P.block("B", job_status="RUNNING")])
    )
    assert [b.name for b in ppl.blocks] == ["RSpec", "B"]
    assert [j.job_id for j in ppl.failed_jobs] == [P.JOB_ID]
    assert ppl.yml_file_path == ".semaphore/semaphore.yml"


def test_block_not_started() -> None:
    block = Block.from_api({"name": "Later", "block_id": "", "state": "waiting", "jobs": []})
    assert (block.block_id, block.jobs, block.result) == ("", (), None)


def test_topology() -> None:
    block = TopologyBlock.from_api({"name": "T", "jobs": ["a"], "dependencies": ["B"]})
    assert (block.jobs, block.dependencies) == (("a",), ("B",))


# ------------------------------------------------------------------------------------------------ workflows


@pytest.mark.parametrize(
    ("sent", "name"),
    [
        ("API", "api"),
        (2, "api"),
        ("2", "api"),
        (0, "hook"),
        ("HOOK", "hook"),
        (3, "manual_run"),
        ("SCHEDULE", "schedule"),
        (9, "9"),
        (None, None),
    ],
)
def test_workflow_triggered_by_name_or_integer(sent: object, name: str | None) -> None:
    assert Workflow.from_api(P.workflow(triggered_by=sent)).triggered_by == name


def test_workflow_from_describe_envelope() -> None:
    wf = Workflow.from_api({"workflow": P.workflow()})
    assert (wf.wf_id, wf.rerun_of) == (P.WF_ID, None)


def test_workflow_started_both_key_forms() -> None:
    assert WorkflowStarted.from_api({"workflow_id": "w", "pipeline_id": "p"}).ppl_id == "p"
    assert WorkflowStarted.from_api({"wf_id": "w", "ppl_id": "p"}).wf_id == "w"
    with pytest.raises(ModelError):
        WorkflowStarted.from_api({"wf_id": "w"})


# ------------------------------------------------------------------------------------------------ promotions, jobs


def test_promotion_processing_and_auto() -> None:
    processing = Promotion.from_api(P.promotion(status="processing", scheduled=""))
    assert (processing.status, processing.scheduled_pipeline_id) == ("processing", None)
    auto = Promotion.from_api({**P.promotion(), "triggered_by": "Pipeline Done request", "override": "true"})
    assert auto.automatic
    assert auto.override


def test_job_int64_strings_and_none_result() -> None:
    job = Job.from_api(P.job(state="RUNNING", result="NONE"))
    assert (job.state, job.result, job.finished) == ("running", None, False)
    assert job.start_time == dt.datetime.fromtimestamp(1571083006, tz=UTC)
    assert job.agent_ip == "88.99.26.221"
    unset = P.job()
    unset["metadata"]["finish_time"] = "0"
    unset["status"]["agent"] = None
    job = Job.from_api(unset)
    assert job.finish_time is None
    assert job.agent_ip is None


def test_env_var_values_are_hidden_from_repr() -> None:
    job = Job.from_api(P.job())
    assert P.WF_ID not in repr(job)


def test_a_pipeline_carries_its_env_vars_where_semaphore_records_promotion_parameters() -> None:
    data = P.pipeline_describe()
    data["pipeline"]["env_vars"] = [{"name": "REGION", "value": "eu-west-1"}, {"name": "REASON", "value": "release"}]
    pipeline = Pipeline.from_api(data)
    assert [(v.name, v.value) for v in pipeline.env_vars] == [("REGION", "eu-west-1"), ("REASON", "release")]
    assert "eu-west-1" not in repr(pipeline)  # values may be secrets
    assert Pipeline.from_api(P.pipeline_describe()).env_vars == ()  # absent: none
    data["pipeline"]["env_vars"] = [["REGION", "eu"]]
    with pytest.raises(ModelError, match="pipeline env_vars"):
        Pipeline.from_api(data)


def test_project() -> None:
    project = Project.from_api(P.project())
    assert (project.name, project.project_id, project.pipeline_file) == (
        "release-train",
        P.PROJECT_ID,
        ".semaphore/semaphore.yml",
    )


# ------------------------------------------------------------------------------------------------ logs


def test_log_events() -> None:
    finished = LogEvent.from_api(P.LOG_EVENTS[6])
    assert (finished.exit_code, finished.started_at, finished.finished_at) == (2, 1719979256, 1719979258)
    assert LogEvent.from_api({"event": "job_finished", "timestamp": 1, "result": "PASSED"}).result == "passed"


# ------------------------------------------------------------------------------------------------ malformed


@pytest.mark.parametrize(
    ("cls", "data"),
    [
        (Pipeline, []),
        (Pipeline, {"pipeline": {"state": "done"}}),
        (Workflow, {"workflow": {}}),
        (Job, {"metadata": {}}),
        (Job, {"metadata": "x"}),
        (Promotion, {"status": "passed"}),
        (Project, {"metadata": {"name": "x"}}),
        (LogEvent, {"timestamp": 1}),
        (LogEvent, {"event": "x", "timestamp": "soon"}),
        (BlockJob, {"index": "first"}),
        (Pipeline, {"ppl_id": "x", "name": {"a": 1}}),
        # a JSON array or object where an enum or a string belongs: never turned into text like "['a']"
        (Pipeline, {"pipeline": {"ppl_id": "x", "state": ["done"]}}),
        (Pipeline, {"ppl_id": "x", "state": "DONE", "result": {"a": 1}}),
        (Workflow, {"wf_id": "w", "triggered_by": [2]}),
        (BlockJob, {"status": "FINISHED", "result": ["PASSED"]}),
        (TopologyBlock, {"name": "b", "jobs": [{"name": "j"}]}),
        (TopologyBlock, {"name": "b", "dependencies": [["a"]]}),
        (Job, {"metadata": {"id": "j"}, "spec": {"commands": [{"cmd": "x"}]}}),
        (LogEvent, {"event": "cmd_output", "timestamp": 1, "output": {"a": 1}}),
        (LogEvent, {"event": "cmd_started", "timestamp": 1, "directive": ["make"]}),
    ],
)
def test_malformed_input_is_a_model_error(cls: Any, data: object) -> None:
    with pytest.raises(ModelError):
        cls.from_api(data)


# ------------------------------------------------------------------------------------------------ any JSON at all

#: Values that broke (or could break) a reader: out-of-range numbers, NaN, numbers as strings, wrong JSON types.
_awkward = st.sampled_from(
    [None, True, 0, -1, 2**63, 10**20, 1e300, float("nan"), float("inf"), "", "0", "99999999999999999999", "NaN",
     "DONE", "1970-01-01 00:00:00.000000Z", [], {}, [None], {"seconds": 10**15}, {"seconds": "x"}]
)  # fmt: skip
_scalars = _awkward | st.integers() | st.floats() | st.text(max_size=8)
_json = _awkward | st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=8,
)

#: Real bodies of every shape (describe and list forms): each example breaks one value somewhere inside one of them.
_BASES: list[tuple[Any, Any]] = [
    (Pipeline, P.pipeline_describe("done", "failed", blocks=[P.block()], switch_id="sw")),
    (Pipeline, P.pipeline_listed()),
    (Workflow, {"workflow": P.workflow(triggered_by="API")}),
    (Workflow, P.workflow(triggered_by=2)),
    (WorkflowStarted, {"workflow_id": "w", "pipeline_id": "p"}),
    (TopologyBlock, {"name": "Test", "jobs": ["unit"], "dependencies": ["Build"]}),
    (Promotion, P.promotion()),
    (Job, P.job()),
    (Project, P.project()),
    *((LogEvent, event) for event in P.LOG_EVENTS),
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a JSON value (dict keys and list indexes), the value itself included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index))
    return found


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy


@given(data=st.data())
def test_any_broken_value_gives_a_model_or_a_model_error(data: st.DataObject) -> None:
    """Whatever the server puts wherever, a model or a ModelError (which the client turns into an APIError): never
    a KeyError, TypeError, OverflowError or bare ValueError escaping to the user. Found: dates past year 9999."""
    model, base = data.draw(st.sampled_from(_BASES), label="body")
    path = data.draw(st.sampled_from(_paths(base)), label="path")
    broken = _replaced(base, path, data.draw(_json, label="value"))
    with contextlib.suppress(ModelError):
        model.from_api(broken)
