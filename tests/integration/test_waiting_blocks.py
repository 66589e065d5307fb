"""Block-level prediction against the simulator: history read through the API once per client, few polls for a
run that follows its history, the ordinary schedule for one that does not, and a promotion's pipeline likewise."""

from __future__ import annotations

import random

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.simulator.definitions import BlockDef, PipelineDef, ProjectDef, PromotionDef
from pytest_semaphore.waiting import Outcome, outcome, wait_for_pipeline, wait_for_promotion
from pytest_semaphore.waiting.blocks import BLOCK_SPARSE_CAP, HISTORY_BUDGET

from .waiting_support import MAIN, Sim, job, pipeline, simulated

BLOCK = 600.0


def _blocks(durations: list[float], *, failing: int | None = None, name: str = "Pipeline") -> PipelineDef:
    """A chain of blocks of one job each, lasting ``durations``; block ``failing`` (an index) fails."""
    return pipeline(
        name=name,
        blocks=tuple(
            BlockDef(f"Block {i + 1}", jobs=(job(f"job {i + 1}", duration=d, exit_code=int(i == failing)),))
            for i, d in enumerate(durations)
        ),
    )


def _set(s: Sim, definition: PipelineDef, *, deploy: PipelineDef | None = None) -> None:
    files = {MAIN: definition}
    if deploy is not None:
        files[".semaphore/deploy.yml"] = deploy
    s.sim.world.project("app").definition = ProjectDef(name="app", pipelines=files)


def _draw(rng: random.Random, scale: float = 1.0, n: int = 4) -> list[float]:
    return [scale * BLOCK * rng.uniform(0.9, 1.1) for _ in range(n)]


def _past_runs(s: Sim, rng: random.Random, runs: int = 8) -> None:
    for _ in range(runs):
        durations = _draw(rng)
        _set(s, _blocks(durations))
        ppl_id = s.start()
        s.sim.advance(sum(durations) + 60)
        assert s.sim.world.pipeline(ppl_id).result == "passed"


def _wait(s: Sim, durations: list[float], **kwargs: object) -> tuple[int, float, str]:
    """Start a run lasting ``durations`` and wait for it: (its own describes, detection latency, its id)."""
    ppl_id = s.start()
    s.sim.clear_requests()
    done = wait_for_pipeline(s.client, ppl_id, timeout=6 * 3600, pacing=s.pacing, **kwargs)  # type: ignore[arg-type]
    truth = s.sim.world.pipeline(ppl_id)
    assert truth.done_at is not None
    assert outcome(done) is s.truth(ppl_id)
    return len(s.pipeline_requests(ppl_id)), s.sim.monotonic() - truth.done_at, ppl_id


def test_a_run_that_follows_its_blocks_history_is_waited_for_with_few_polls() -> None:
    rng = random.Random(3)
    with simulated() as s:
        _past_runs(s, rng)
        durations = _draw(rng)
        _set(s, _blocks(durations))
        own, latency, ppl_id = _wait(s, durations)
        history = [r for r in s.sim.requests if r.path != f"/api/v1alpha/pipelines/{ppl_id}"]
        assert any(r.path.endswith("/describe_topology") for r in history)
        assert any(r.path.startswith("/api/v1alpha/jobs/") for r in history)  # block ends are the jobs' finish times
        assert all(r.query.get("detailed") == "true" for r in s.pipeline_requests(ppl_id))
        s.sim.clear_requests()
        _set(s, _blocks(durations))
        plain, _, _ = _wait(s, durations, expected_duration=False)
    assert own < plain / 3  # a 40-minute run: about 90 polls on the ordinary schedule
    assert latency <= 30


def test_the_history_is_read_once_per_client_and_shared_by_its_waits() -> None:
    rng = random.Random(4)
    with simulated() as s:
        _past_runs(s, rng)
        _set(s, _blocks(_draw(rng)))
        first = s.start()
        second = s.start()
        s.sim.clear_requests()
        wait_for_pipeline(s.client, first, pacing=s.pacing)
        read = [r for r in s.sim.requests if r.path.startswith("/api/v1alpha/jobs/")]
        s.sim.clear_requests()
        wait_for_pipeline(s.client, second, pacing=s.pacing)
        again = [r for r in s.sim.requests if r.path != f"/api/v1alpha/pipelines/{second}"]
        assert read  # the first wait read the blocks' history
        assert again == []  # the second, on the same client, read nothing but its own pipeline
        third = s.start()
        with SemaphoreClient(s.sim.url, token=s.sim.token, sleep=s.sim.advance, monotonic=s.sim.monotonic) as other:
            s.sim.clear_requests()
            wait_for_pipeline(other, third, pacing=s.pacing)
        assert any(r.path.startswith("/api/v1alpha/jobs/") for r in s.sim.requests)  # another client reads its own


def test_a_failed_block_falls_back_to_the_ordinary_schedule_and_is_noticed_within_the_sparse_cap() -> None:
    rng = random.Random(5)
    with simulated() as s:
        _past_runs(s, rng)
        durations = _draw(rng)
        _set(s, _blocks(durations, failing=1))
        _own, latency, ppl_id = _wait(s, durations)
        assert s.truth(ppl_id) is Outcome.FAILED
    assert latency <= BLOCK_SPARSE_CAP


def test_a_history_twice_too_short_costs_no_more_than_the_ordinary_schedule() -> None:
    rng = random.Random(6)
    with simulated() as s:
        _past_runs(s, rng)
        slow = _draw(rng, scale=2.0)
        _set(s, _blocks(slow))
        with_history, latency, _ = _wait(s, slow)
        _set(s, _blocks(slow))
        plain, _, _ = _wait(s, slow, expected_duration=False)
    assert with_history <= plain + 5
    assert latency <= 30  # the ordinary schedule's cap, once the model is dropped


def test_a_promotions_pipeline_is_predicted_from_its_own_files_history() -> None:
    rng = random.Random(7)
    main = pipeline(job("test", duration=30), promotions=(PromotionDef("deploy", ".semaphore/deploy.yml"),))
    with simulated() as s:
        for _ in range(4):  # earlier deploys, each promoted from a passed main run
            _set(s, main, deploy=_blocks(_draw(rng, n=3), name="Deploy"))
            ppl_id = s.start()
            s.sim.advance(60)
            wait_for_promotion(s.client, ppl_id, "deploy", pacing=s.pacing, timeout=4 * 3600)
        _set(s, main, deploy=_blocks(_draw(rng, n=3), name="Deploy"))
        ppl_id = s.start()
        s.sim.advance(60)
        s.sim.clear_requests()
        with SemaphoreClient(s.sim.url, token=s.sim.token, sleep=s.sim.advance, monotonic=s.sim.monotonic) as fresh:
            result = wait_for_promotion(fresh, ppl_id, "deploy", pacing=s.pacing, timeout=4 * 3600)
        assert outcome(result.pipeline) is Outcome.PASSED
        listed = [r for r in s.list_requests() if r.query.get("yml_file_path")]
        assert [r.query["yml_file_path"] for r in listed] == [".semaphore/deploy.yml"]
        promoted = s.pipeline_requests(result.pipeline.ppl_id)
        assert promoted
        assert all(r.query.get("detailed") == "true" for r in promoted)
        assert len(promoted) < 30  # a 30-minute pipeline: about 70 polls on the ordinary schedule


def test_a_file_of_one_block_costs_the_single_history_request_as_before() -> None:
    rng = random.Random(8)
    with simulated() as s:
        for _ in range(4):
            duration = BLOCK * rng.uniform(0.9, 1.1)
            _set(s, _blocks([duration]))
            s.start()
            s.sim.advance(duration + 60)
        _set(s, _blocks([BLOCK]))
        _, _, ppl_id = _wait(s, [BLOCK])
        others = [r for r in s.sim.requests if r.path != f"/api/v1alpha/pipelines/{ppl_id}"]
        assert [r.path for r in others] == ["/api/v1alpha/pipelines"]  # the list, no topology, no jobs
        assert s.pipeline_requests(ppl_id)[0].query.get("detailed") == "true"  # the first shows the blocks
        assert all(r.query.get("detailed") == "false" for r in s.pipeline_requests(ppl_id)[1:])


def test_a_file_of_many_jobs_reads_at_most_the_history_budget() -> None:
    wide = [BlockDef(f"Block {b}", jobs=tuple(job(f"job {b}.{i}", duration=300) for i in range(30))) for b in (1, 2)]
    with simulated() as s:
        _set(s, pipeline(blocks=tuple(wide)))
        for _ in range(4):
            s.start()
            s.sim.advance(700)
        ppl_id = s.start()
        s.sim.clear_requests()
        wait_for_pipeline(s.client, ppl_id, pacing=s.pacing)
        history = [r for r in s.sim.requests if r.path != f"/api/v1alpha/pipelines/{ppl_id}"]
        assert len(history) <= HISTORY_BUDGET  # 61 requests a run: one run fits, too few for the block model
        assert all(r.query.get("detailed") == "false" for r in s.pipeline_requests(ppl_id)[1:])
