"""The state machine without HTTP: every state path, terminate before and after running, reruns, dependencies."""

from __future__ import annotations

import threading

import pytest

from pytest_semaphore.simulator.clock import ManualClock, RealClock
from pytest_semaphore.simulator.definitions import BlockDef, CommandDef, JobDef, PipelineDef, ProjectDef
from pytest_semaphore.simulator.world import BadRequest, NotFound, World

from .helpers import MAIN, failing_pipeline, main_pipeline


def make_world(**pipelines: PipelineDef) -> World:
    world = World(seed=1)
    files = {MAIN: main_pipeline(), "prod.yml": failing_pipeline(), "staging.yml": failing_pipeline()}
    files.update({f".semaphore/{name}.yml": definition for name, definition in pipelines.items()})
    world.add_project(ProjectDef("demo", files))
    return world


def states_over_time(world: World, ppl_id: str, until: float, step: float = 0.25) -> list[tuple[float, str]]:
    seen: list[tuple[float, str]] = []
    while world.now() < until:
        state = world.pipeline(ppl_id).state
        if not seen or seen[-1][1] != state:
            seen.append((world.now(), state))
        world.advance(step)
    return seen


def test_passing_pipeline_goes_through_every_state_at_its_time() -> None:
    world = make_world()
    _, ppl_id = world.start_workflow("demo")
    assert states_over_time(world, ppl_id, 12) == [
        (0.0, "initializing"),
        (1.0, "pending"),
        (1.5, "queuing"),
        (2.0, "running"),
        (10.0, "done"),
    ]
    pipeline = world.pipeline(ppl_id)
    assert (pipeline.result, pipeline.result_reason, pipeline.done_at) == ("passed", "test", 10.0)
    assert [(b.name, b.result) for b in pipeline.blocks] == [("Test", "passed"), ("Package", "passed")]
    assert all(job.state == "finished" and job.result == "passed" for job in pipeline.jobs)


def test_failed_job_fails_the_pipeline_and_cancels_dependent_blocks() -> None:
    world = make_world(fail=failing_pipeline())
    _, ppl_id = world.start_workflow("demo", pipeline_file=".semaphore/fail.yml")
    world.advance(30)
    pipeline = world.pipeline(ppl_id)
    assert (pipeline.state, pipeline.result, pipeline.result_reason) == ("done", "failed", "test")
    test_block, deploy_block = pipeline.blocks
    assert (test_block.result, [j.result for j in test_block.jobs]) == ("failed", ["failed", "passed"])
    assert (deploy_block.state, deploy_block.result, deploy_block.block_id, deploy_block.jobs) == (
        "done",
        "canceled",
        "",
        [],
    )


def test_malformed_and_missing_pipeline_files_end_as_failed_malformed() -> None:
    broken = PipelineDef("Broken", (), malformed="Unknown key 'blokcs'")
    world = make_world(broken=broken)
    _, bad = world.start_workflow("demo", pipeline_file=".semaphore/broken.yml")
    _, missing = world.start_workflow("demo", pipeline_file=".semaphore/nope.yml")
    world.advance(2)
    for ppl_id in (bad, missing):
        pipeline = world.pipeline(ppl_id)
        assert (pipeline.state, pipeline.result, pipeline.result_reason) == ("done", "failed", "malformed")
        assert pipeline.pending_at is None
        assert pipeline.running_at is None
    assert world.pipeline(bad).error_description == "Unknown key 'blokcs'"
    assert ".semaphore/nope.yml" in world.pipeline(missing).error_description


def test_job_forced_to_stop_by_time_limit_gives_stopped_timeout() -> None:
    limited = PipelineDef("Limited", (BlockDef("B", (JobDef("slow", result="stopped"),)),))
    world = make_world(limited=limited)
    _, ppl_id = world.start_workflow("demo", pipeline_file=".semaphore/limited.yml")
    world.advance(30)
    pipeline = world.pipeline(ppl_id)
    assert (pipeline.result, pipeline.result_reason) == ("stopped", "timeout")


@pytest.mark.parametrize("at", [0.0, 1.2, 1.7])
def test_terminate_before_running_cancels_at_once(at: float) -> None:
    world = make_world()
    _, ppl_id = world.start_workflow("demo")
    world.advance(at)
    world.terminate_pipeline(ppl_id)
    pipeline = world.pipeline(ppl_id)
    assert (pipeline.state, pipeline.result, pipeline.result_reason) == ("done", "canceled", "user")
    assert pipeline.terminated_by == world.user_id
    assert pipeline.done_at == at
    assert pipeline.jobs == []
    world.advance(30)
    assert pipeline.result == "canceled"  # nothing scheduled earlier revives it


def test_terminate_while_running_stops_through_stopping() -> None:
    world = make_world()
    _, ppl_id = world.start_workflow("demo")
    world.advance(5)  # unit is inside "make test"
    world.terminate_pipeline(ppl_id)
    pipeline = world.pipeline(ppl_id)
    assert (pipeline.state, pipeline.stopping_at) == ("stopping", 5.0)
    assert "result" not in vars(pipeline) or pipeline.result is None
    world.advance(1)
    assert (pipeline.state, pipeline.result, pipeline.result_reason) == ("done", "stopped", "user")
    assert [b.result for b in pipeline.blocks] == ["stopped", "canceled"]
    unit = pipeline.blocks[0].jobs[0]
    assert unit.result == "stopped"
    kinds = [line.kind for line in world.visible_log(unit)]
    assert kinds[-2:] == ["cmd_finished", "job_finished"]
    assert world.visible_log(unit)[-1].raw.endswith(b'"result":"stopped"}')


def test_terminate_after_done_changes_nothing() -> None:
    world = make_world()
    _, ppl_id = world.start_workflow("demo")
    world.advance(20)
    world.terminate_pipeline(ppl_id)
    pipeline = world.pipeline(ppl_id)
    assert (pipeline.result, pipeline.terminated_by) == ("passed", "")


def test_stopping_a_running_job_stops_the_pipeline() -> None:
    world = make_world()
    _, ppl_id = world.start_workflow("demo")
    world.advance(3.5)
    unit, integration = world.pipeline(ppl_id).blocks[0].jobs
    world.stop_job(unit.job_id)
    world.advance(30)
    assert (unit.result, integration.result) == ("stopped", "passed")
    pipeline = world.pipeline(ppl_id)
    assert (pipeline.result, pipeline.result_reason) == ("stopped", "user")


def test_explicit_dependencies_run_blocks_in_parallel_and_wait_for_all() -> None:
    def job(name: str, seconds: float) -> JobDef:
        return JobDef(name, (CommandDef(name, duration=seconds),))

    fan = PipelineDef(
        "Fan",
        (
            BlockDef("A", (job("a", 2),), dependencies=()),
            BlockDef("B", (job("b", 5),), dependencies=()),
            BlockDef("C", (job("c", 1),), dependencies=("A", "B")),
        ),
    )
    world = make_world(fan=fan)
    _, ppl_id = world.start_workflow("demo", pipeline_file=".semaphore/fan.yml")
    world.advance(30)
    a, b, c = world.pipeline(ppl_id).blocks
    assert a.jobs[0].started_at == b.jobs[0].started_at == 3.0
    assert b.jobs[0].finished_at is not None
    assert c.jobs[0].started_at == b.jobs[0].finished_at + 1.0  # pending 0.25 + queued 0.75 after B ends
    assert world.pipeline(ppl_id).done_at == c.jobs[0].finished_at


def test_partial_rebuild_keeps_passed_blocks_and_reruns_the_rest() -> None:
    flaky = PipelineDef(
        "Flaky",
        (
            BlockDef("Build", (JobDef("build"),)),
            BlockDef("Test", (JobDef("test", (CommandDef("t", exit_code=1),)),)),
        ),
    )
    world = make_world(flaky=flaky)
    _, ppl_id = world.start_workflow("demo", pipeline_file=".semaphore/flaky.yml")
    with pytest.raises(BadRequest, match="done state"):
        world.partial_rebuild(ppl_id, "t")
    world.advance(30)
    new_id = world.partial_rebuild(ppl_id, "t")
    assert world.partial_rebuild(ppl_id, "t") == new_id
    old, new = world.pipeline(ppl_id), world.pipeline(new_id)
    assert (old.partially_rerun_by, new.partial_rerun_of, new.ppl_triggered_by) == (new_id, ppl_id, "partial_re_run")
    assert new.wf_id == old.wf_id
    assert new.blocks[0].jobs[0].job_id == old.blocks[0].jobs[0].job_id  # reused, not rerun
    world.advance(30)
    assert new.blocks[1].jobs[0].job_id != old.blocks[1].jobs[0].job_id
    assert (new.result, new.blocks[0].result) == ("failed", "passed")


def test_reschedule_creates_a_rerun_workflow_once_per_token() -> None:
    world = make_world()
    wf_id, _ = world.start_workflow("demo", branch="dev", commit_sha="b" * 40)
    new_wf, new_ppl = world.reschedule_workflow(wf_id, "tok")
    assert world.reschedule_workflow(wf_id, "tok") == (new_wf, new_ppl)
    rerun = world.workflow(new_wf)
    assert (rerun.rerun_of, rerun.branch_name, rerun.commit_sha, rerun.initial_ppl_id) == (
        wf_id,
        "dev",
        "b" * 40,
        new_ppl,
    )
    with pytest.raises(BadRequest):
        world.reschedule_workflow(wf_id, "")


def test_unknown_ids_raise_not_found() -> None:
    world = make_world()
    for lookup in (world.pipeline, world.workflow, world.job, world.project):
        with pytest.raises(NotFound):
            lookup("nope")


def test_generated_log_bytes_are_all_in_the_output() -> None:
    big = PipelineDef("Big", (BlockDef("B", (JobDef("j", commands=(), log_bytes=123_457),)),))
    world = make_world(big=big)
    _, ppl_id = world.start_workflow("demo", pipeline_file=".semaphore/big.yml")
    world.advance(30)
    job = world.pipeline(ppl_id).jobs[0]
    log = world.visible_log(job)
    generated = next(i for i, line in enumerate(log) if line.plain.startswith(b"generate "))  # after the preamble
    output = b"".join(line.plain for line in log[generated:] if line.kind == "cmd_output")
    assert len(output) == 123_457
    assert output.startswith(b"generated log line 00000001:")


def test_same_seed_same_ids_and_timestamps() -> None:
    first, second = make_world(), make_world()
    assert first.start_workflow("demo") == second.start_workflow("demo")


def test_tag_and_pull_request_branch_names() -> None:
    world = make_world()
    _, tagged = world.start_workflow("demo", tag="v1.0")
    _, pr = world.start_workflow("demo", pull_request="12")
    assert world.pipeline(tagged).branch_name == "refs/tags/v1.0"
    assert world.pipeline(pr).branch_name == "pull-request-12"
    world.advance(20)
    assert world.promotions(tagged) == []  # the auto-promotion rule wants branch master


def test_advance_is_thread_safe_and_monotonic_never_goes_back() -> None:
    world = make_world()
    _, ppl_id = world.start_workflow("demo")
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            last = 0.0
            for _ in range(200):
                world.advance(0.01)
                now = world.now()
                assert now >= last
                last = now
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert world.now() == pytest.approx(8.0)
    assert world.pipeline(ppl_id).state == "running"


def test_clocks_refuse_going_backwards_and_speed_must_be_positive() -> None:
    with pytest.raises(ValueError, match="backwards"):
        ManualClock().advance(-1)
    with pytest.raises(ValueError, match="positive"):
        RealClock(0)
    clock = RealClock(1000.0)
    before = clock.now()
    clock.advance(3600)
    assert clock.now() >= before + 3600
