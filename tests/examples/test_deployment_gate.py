"""examples/deployment-gate: the shop's .semaphore folder and its scenarios, rehearsed in the simulator.

The gate job of ``.semaphore/semaphore.yml`` runs ``semaphore-gate promote Production --param REGION=eu-west-1``;
here that very command runs with the job's own environment while the simulator runs the job, and promotes the
pipeline it belongs to. The files are the ones docs/recipes.md includes verbatim.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import yaml

from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.world import JobRecord

from ..cli.support import CANARY, clean_env, gate_here

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "deployment-gate"
GATE_JOB = "Promote to production"


def gate_command() -> list[str]:
    """The ``semaphore-gate`` line of the gate job, as the pipeline file has it."""
    pipeline = yaml.safe_load((EXAMPLE / ".semaphore" / "semaphore.yml").read_text(encoding="utf-8"))
    (gate_block,) = [b for b in pipeline["blocks"] if b["name"] == "Gate"]
    (job,) = gate_block["task"]["jobs"]
    (line,) = [c for c in job["commands"] if c.startswith("semaphore-gate ")]
    return shlex.split(line)[1:]


def running_gate_job(sim: SemaphoreSimulator, ppl_id: str) -> JobRecord:
    for _ in range(600):
        jobs = [j for j in sim.world.pipeline(ppl_id).jobs if j.name == GATE_JOB]
        if jobs and jobs[0].state == "running":
            return jobs[0]
        sim.advance(1)
    raise AssertionError("the gate job never started")


def test_the_gate_job_promotes_its_own_pipeline_and_production_deploys(tmp_path: Path) -> None:
    sim = SemaphoreSimulator(EXAMPLE / "scenario.yml", token=CANARY).start()
    with sim:
        (release,) = sim.world.pipelines()
        gate = running_gate_job(sim, release.ppl_id)
        env = clean_env(sim, **dict(gate.env_vars))
        assert env["SEMAPHORE_PIPELINE_ID"] == release.ppl_id
        args = gate_command()
        assert args == ["promote", "Production", "--param", "REGION=eu-west-1", "--log-dir", "logs"]
        run = gate_here("--json", *args, sim=sim, env=env)
        assert run.code == 0, run.err
        (promotion,) = json.loads(run.out)["promotions"]
        assert promotion["own_pipeline"] is True
        (record,) = sim.world.promotions(release.ppl_id)
        assert record.override  # this job still runs, so Semaphore promotes only with override; every other passed
        assert record.parameters["REGION"] == "eu-west-1"
        assert sim.world.pipelines() == [release]  # it starts once this pipeline, with the gate job, is done
        sim.advance(600 + 300)
        deploy = next(p for p in sim.world.pipelines() if p.name == "Deploy to production")
        assert (deploy.state, deploy.result) == ("done", "passed")
        assert [j.name for j in deploy.jobs] == ["Deploy", "Smoke tests"]


def test_a_red_shard_stops_the_release_before_the_gate() -> None:
    sim = SemaphoreSimulator(EXAMPLE / "failing.yml", token=CANARY).start()
    with sim:
        run = gate_here("wait", "--project", "shop", sim=sim)
        assert run.code == 1, run.err
        assert '"Unit tests - 2/2"' in run.out
        assert "test_discount_applies_once" in run.out
        (release,) = sim.world.pipelines()
        assert GATE_JOB not in [j.name for j in release.jobs]  # Semaphore never starts a block after a red one
        assert sim.world.promotions(release.ppl_id) == []
