"""``find_pipeline``, ``wait_for_pipelines`` (many at once) and ``wait_for_workflow`` against the simulator."""

from __future__ import annotations

import datetime as dt

import pytest

from pytest_semaphore.errors import PipelineFailed, WaitTimeout
from pytest_semaphore.models import Pipeline
from pytest_semaphore.simulator.definitions import FaultDef, ProjectDef
from pytest_semaphore.waiting import (
    Outcome,
    find_pipeline,
    mark_started,
    outcome,
    started_here,
    wait_for_pipelines,
    wait_for_workflow,
)

from .waiting_support import MAIN, Sim, job, pipeline, project, simulated

# ------------------------------------------------------------------------------------------------ find_pipeline


def test_find_waits_for_a_pipeline_that_does_not_exist_yet() -> None:
    sha = "ab12" * 10
    with simulated() as s:
        started: list[str] = []
        s.at(75, lambda: started.append(s.start(commit_sha=sha, branch="release")))
        found = find_pipeline(s.client, "app", commit_sha=sha[:7], branch="release", pacing=s.pacing)
        assert started == [found.ppl_id]
        assert found.commit_sha == sha
        assert 75 <= s.sim.monotonic() <= 75 + 30


def test_find_ignores_other_commits_and_returns_the_newest_match() -> None:
    sha = "cd34" * 10
    with simulated() as s:
        s.start(commit_sha="ee" * 20)
        first = s.start(commit_sha=sha)
        s.sim.advance(5)
        second = s.start(commit_sha=sha)
        found = find_pipeline(s.client, "app", commit_sha=sha, pacing=s.pacing)
        assert found.ppl_id == second != first


def test_find_gives_up_after_its_appear_timeout() -> None:
    with simulated() as s:
        s.start(commit_sha="ee" * 20)
        with pytest.raises(WaitTimeout) as caught:
            find_pipeline(s.client, "app", commit_sha="ff" * 20, appear_timeout=90, pacing=s.pacing)
        assert caught.value.last_seen is None
        assert 90 <= s.sim.monotonic() < 100


def test_find_respects_created_after() -> None:
    sha = "12ab" * 10
    with simulated() as s:
        s.start(commit_sha=sha)
        s.sim.advance(60)
        cutoff = dt.datetime.fromtimestamp(s.sim.world.timestamp(s.sim.monotonic()), dt.timezone.utc)
        later: list[str] = []
        s.at(100, lambda: later.append(s.start(commit_sha=sha)))
        found = find_pipeline(s.client, "app", commit_sha=sha, created_after=cutoff, pacing=s.pacing)
        assert [found.ppl_id] == later


def test_find_survives_an_outage_shorter_than_patience() -> None:
    sha = "77" * 20
    with simulated() as s:
        s.sim.add_fault(FaultDef("GET /api/v1alpha/pipelines", "status", status=503, count=20))
        s.at(30, lambda: s.start(commit_sha=sha))
        found = find_pipeline(s.client, "app", commit_sha=sha, appear_timeout=900, pacing=s.paced(patience=900))
        assert found.commit_sha == sha


# ------------------------------------------------------------------------------------------------ many at once


def _rounds(s: Sim) -> list[list[str]]:
    """The request log cut into rounds: each starts at a ``list_pipelines`` call."""
    rounds: list[list[str]] = [[]]
    for record in s.sim.requests:
        if record.path == "/api/v1alpha/pipelines":
            rounds.append(["list"])
        elif record.path.startswith("/api/v1alpha/pipelines/"):
            rounds[-1].append("describe")
    return rounds


def _many_world(s: Sim, durations: list[float]) -> list[str]:
    ids = []
    for duration in durations:
        s.sim.world.project("app").definition = ProjectDef(
            name="app", pipelines={MAIN: pipeline(job(duration=duration))}
        )
        ids.append(s.start())
    return ids


def test_many_pipelines_cost_one_list_per_round() -> None:
    with simulated() as s:
        ids = _many_world(s, [60.0 * (1 + i % 7) for i in range(30)])
        s.sim.clear_requests()
        done = wait_for_pipelines(s.client, ids, pacing=s.pacing)
        assert list(done) == ids
        for ppl_id, pipeline_ in done.items():
            assert pipeline_.done
            assert outcome(pipeline_) is s.truth(ppl_id)
        rounds = _rounds(s)
        assert rounds[0] == ["describe"] * 30  # each described once, to learn its project
        assert all(r == ["list"] for r in rounds[1:])  # then one request per round, whatever changed
        assert len(rounds) < 60


def test_many_of_a_named_project_cost_one_request_from_the_first_round() -> None:
    with simulated() as s:
        ids = _many_world(s, [60.0 * (1 + i % 5) for i in range(40)])
        s.start()  # a newer pipeline we do not wait for
        s.sim.clear_requests()
        done = wait_for_pipelines(s.client, ids, project="app", pacing=s.pacing)
        assert all(outcome(done[p]) is s.truth(p) for p in ids)
        rounds = _rounds(s)
        assert rounds[0] == []  # no describe to learn projects
        assert rounds[1] == ["list", "describe"]  # the oldest of ours fell off the first page: described alone
        assert all(r == ["list"] for r in rounds[2:])


def test_many_describes_only_changed_pipelines_when_details_are_needed() -> None:
    with simulated() as s:
        ids = _many_world(s, [120.0, 120.0, 300.0, 600.0])
        s.sim.clear_requests()
        seen: list[Pipeline] = []
        wait_for_pipelines(s.client, ids, detailed=True, on_change=seen.append, pacing=s.pacing)
        rounds = _rounds(s)
        for round_ in rounds[1:]:
            assert round_.count("list") == 1
            assert round_.count("describe") <= len(ids)
        describes = sum(r.count("describe") for r in rounds[1:])
        changes = len({(p.ppl_id, p.state) for p in seen})
        assert describes <= changes  # at most one describe per listed change
        assert all(p.blocks for p in seen)


def test_many_across_projects_lists_each_project_once_per_round() -> None:
    with simulated(project("one"), project("two")) as s:
        ids = [s.start("one"), s.start("two"), s.start("one")]
        s.sim.clear_requests()
        done = wait_for_pipelines(s.client, ids, pacing=s.pacing)
        assert all(p.done for p in done.values())
        lists = [r for r in s.sim.requests if r.path == "/api/v1alpha/pipelines"]
        projects = [r.query.get("project_id") for r in lists]
        assert set(projects) == {s.sim.world.project("one").project_id, s.sim.world.project("two").project_id}


def test_many_with_newer_foreign_pipelines_still_sees_every_one_of_ours() -> None:
    with simulated(project(main=pipeline(job(duration=600)))) as s:
        ids = [s.start(), s.start()]
        s.at(30, lambda: [s.start() for _ in range(5)])  # someone pushes five more: ours fall off the page
        done = wait_for_pipelines(s.client, ids, pacing=s.pacing)
        assert all(done[p].done for p in ids)


def test_many_fail_fast_raises_at_the_first_pipeline_that_did_not_pass_and_cancels_the_rest() -> None:
    with simulated() as s:
        s.sim.world.project("app").definition = ProjectDef(
            name="app", pipelines={MAIN: pipeline(job(duration=60, exit_code=1))}
        )
        bad = s.start()
        s.sim.world.project("app").definition = ProjectDef(name="app", pipelines={MAIN: pipeline(job(duration=3000))})
        ours, foreign = s.start(), s.start()
        mark_started(ours)
        with pytest.raises(PipelineFailed) as caught:
            wait_for_pipelines(
                s.client, [bad, ours, foreign], fail_fast=True, cancel_rest_on_failure=True, pacing=s.pacing
            )
        assert caught.value.pipeline.ppl_id == bad
        assert [j.name for j in caught.value.failed_jobs] == ["job"]
        s.sim.advance(10)
        assert s.sim.world.pipeline(ours).result == "stopped"
        assert s.sim.world.pipeline(foreign).state == "running"


def test_many_timeout_carries_an_unfinished_pipeline() -> None:
    with simulated(project(main=pipeline(job(duration=5000)))) as s:
        ids = [s.start(), s.start()]
        with pytest.raises(WaitTimeout) as caught:
            wait_for_pipelines(s.client, ids, timeout=300, pacing=s.pacing)
        assert caught.value.last_seen is not None
        assert caught.value.last_seen.ppl_id in ids


# ------------------------------------------------------------------------------------------------ workflows


def test_wait_for_workflow_returns_every_pipeline_once_done() -> None:
    with simulated() as s:
        wf_id, ppl_id = s.sim.world.start_workflow("app")
        pipelines = wait_for_workflow(s.client, wf_id, pacing=s.pacing)
        assert [p.ppl_id for p in pipelines] == [ppl_id]
        assert all(p.done for p in pipelines)
        assert outcome(pipelines[0]) is Outcome.PASSED is s.truth(ppl_id)


def test_wait_for_workflow_times_out_with_an_unfinished_pipeline() -> None:
    with simulated(project(main=pipeline(job(duration=5000)))) as s:
        wf_id, ppl_id = s.sim.world.start_workflow("app")
        with pytest.raises(WaitTimeout) as caught:
            wait_for_workflow(s.client, wf_id, timeout=200, pacing=s.pacing)
        assert caught.value.last_seen is not None
        assert caught.value.last_seen.ppl_id == ppl_id
        assert 200 <= s.sim.monotonic() < 240


def _interrupt() -> None:
    raise KeyboardInterrupt


def test_wait_for_workflow_cancel_on_interrupt_stops_its_unfinished_pipelines() -> None:
    with simulated(project(main=pipeline(job(duration=7200)))) as s:
        wf_id, ppl_id = s.sim.world.start_workflow("app")
        mark_started(ppl_id)
        s.at(120, _interrupt)
        with pytest.raises(KeyboardInterrupt):
            wait_for_workflow(s.client, wf_id, cancel_on_interrupt=True, pacing=s.pacing)
        s.sim.advance(10)
        assert s.sim.world.pipeline(ppl_id).result == "stopped"


def test_wait_for_workflow_interrupt_leaves_a_foreign_workflow_alone_unless_told() -> None:
    with simulated(project(main=pipeline(job(duration=7200))), seed=103) as s:
        mine, theirs = (s.sim.world.start_workflow("app") for _ in range(2))
        assert not started_here(mine[1])
        assert not started_here(theirs[1])
        for (wf_id, _), foreign in ((theirs, False), (mine, True)):
            s.at(s.sim.monotonic() + 60, _interrupt)
            with pytest.raises(KeyboardInterrupt):
                wait_for_workflow(s.client, wf_id, cancel_on_interrupt=True, cancel_foreign=foreign, pacing=s.pacing)
        s.sim.advance(10)
        assert s.sim.world.pipeline(theirs[1]).state == "running"
        assert s.sim.world.pipeline(mine[1]).result == "stopped"


def test_wait_for_workflow_cancel_on_timeout_terminates_and_says_so() -> None:
    with simulated(project(main=pipeline(job(duration=5000)))) as s:
        wf_id, ppl_id = s.sim.world.start_workflow("app")
        mark_started(ppl_id)
        with pytest.raises(WaitTimeout) as caught:
            wait_for_workflow(s.client, wf_id, timeout=200, cancel_on_timeout=True, pacing=s.pacing)
        assert caught.value.canceled == (ppl_id,)
        assert f"terminated {ppl_id}" in str(caught.value)
        s.sim.advance(10)
        assert s.sim.world.pipeline(ppl_id).result == "stopped"
