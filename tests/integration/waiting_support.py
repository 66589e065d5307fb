"""Worlds and clocks for the waiting engine's integration tests: the simulator over real loopback HTTP.

The truth is always read from ``sim.world`` (what really happened), never through our client: a test that read the
verdict back through the code under test would prove nothing.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import (
    BlockDef,
    CommandDef,
    JobDef,
    PipelineDef,
    ProjectDef,
    PromotionDef,
    ScenarioDef,
)
from pytest_semaphore.waiting import Outcome, Pacing, outcome_of

MAIN = ".semaphore/semaphore.yml"


def job(name: str = "job", *, duration: float = 60.0, exit_code: int = 0, result: str | None = None) -> JobDef:
    """A job of one command that lasts ``duration`` simulated seconds and exits ``exit_code``."""
    return JobDef(
        name=name,
        commands=(CommandDef(f"run {name}", output=(f"{name} output\n",), exit_code=exit_code, duration=duration),),
        result=result,
    )


def pipeline(
    *jobs: JobDef,
    name: str = "Pipeline",
    promotions: tuple[PromotionDef, ...] = (),
    malformed: str | None = None,
    blocks: tuple[BlockDef, ...] | None = None,
) -> PipelineDef:
    """One block holding ``jobs`` (default: one passing 60 s job), unless ``blocks`` are given."""
    if blocks is None:
        blocks = (BlockDef(name="Block", jobs=jobs or (job(),)),)
    return PipelineDef(name=name, blocks=blocks, promotions=promotions, malformed=malformed)


def project(name: str = "app", *, main: PipelineDef | None = None, **files: PipelineDef) -> ProjectDef:
    """A project whose ``.semaphore/semaphore.yml`` is ``main``; ``files`` add others (``deploy=...`` is
    ``.semaphore/deploy.yml``)."""
    pipelines: dict[str, PipelineDef] = {MAIN: main or pipeline()}
    for stem, definition in files.items():
        pipelines[f".semaphore/{stem}.yml"] = definition
    return ProjectDef(name=name, pipelines=pipelines)


@dataclass
class Sim:
    """A running simulator, a client on it, and the pacing (clocks, rng) to hand to the waiting functions."""

    sim: SemaphoreSimulator
    client: SemaphoreClient
    rng: random.Random
    hooks: list[Callable[[float], None]] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        """The waiting engine's sleep: records the delay, moves simulated time, then runs the test's hooks."""
        self.delays.append(seconds)
        self.sim.advance(seconds)
        now = self.sim.monotonic()
        for hook in list(self.hooks):
            hook(now)

    def at(self, when: float, action: Callable[[], object]) -> None:
        """Run ``action`` (once) at the first sleep that ends at or after simulated second ``when``."""

        def hook(now: float) -> None:
            if now >= when:
                self.hooks.remove(hook)
                action()

        self.hooks.append(hook)

    @property
    def pacing(self) -> Pacing:
        """The default pacing on the simulator's clock (this object's recording ``sleep``) with the seeded rng."""
        return Pacing(sleep=self.sleep, monotonic=self.sim.monotonic, rng=self.rng)

    def paced(self, **fields: Any) -> Pacing:
        """:attr:`pacing` with some fields changed (``patience=``, ``budget=``, the schedule's numbers)."""
        return dataclasses.replace(self.pacing, **fields)

    def start(self, project_name: str = "app", **kwargs: Any) -> str:
        """Start a workflow in the world (as a push would); returns its first pipeline's id."""
        _, ppl_id = self.sim.world.start_workflow(project_name, **kwargs)
        return ppl_id

    def truth(self, ppl_id: str) -> Outcome:
        record = self.sim.world.pipeline(ppl_id)
        return outcome_of(record.state, record.result, record.result_reason)

    def pipeline_requests(self, ppl_id: str | None = None) -> list[Any]:
        """Requests to ``GET /pipelines/:id`` (of ``ppl_id`` if given) in the simulator's log."""
        prefix = "/api/v1alpha/pipelines/"
        return [
            r
            for r in self.sim.requests
            if r.method == "GET"
            and r.path.startswith(prefix)
            and "/" not in r.path[len(prefix) :]
            and (ppl_id is None or r.path == prefix + ppl_id)
        ]

    def list_requests(self) -> list[Any]:
        return [r for r in self.sim.requests if r.method == "GET" and r.path == "/api/v1alpha/pipelines"]


@contextmanager
def simulated(
    *projects: ProjectDef,
    seed: int = 1,
    client_options: Mapping[str, Any] | None = None,
    refusals_as_409: bool = True,
) -> Iterator[Sim]:
    """A simulator with ``projects`` on a manual clock and a client whose retries sleep on that clock (and whose
    deadlines are measured on it, unless ``client_options`` give another ``monotonic``); ``refusals_as_409=False``
    for an older server, which refuses a promotion with 400."""
    scenario = ScenarioDef(projects=projects or (project(),))
    with SemaphoreSimulator(scenario, seed=seed, refusals_as_409=refusals_as_409) as sim:
        options = {"sleep": sim.advance, "monotonic": sim.monotonic, **dict(client_options or {})}
        client = SemaphoreClient(sim.url, token=sim.token, **options)
        try:
            yield Sim(sim=sim, client=client, rng=random.Random(seed))
        finally:
            client.close()
