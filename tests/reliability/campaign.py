"""The fault campaign: seeded gates run through ``semaphore-gate`` against a simulator that fails on purpose, each
verdict checked against the simulator's world.

One *case* is a seed. The seed draws a world (one pipeline of random length that passes, fails, stops or is
malformed, and a deployment it may promote whose job passes or fails), a background fault (a kind from
:data:`FAULT_KINDS` at a rate of :data:`RATES`) and an outage: none, one well within the patience, or one well
beyond it. The outage is a 503 on every request for ``outage`` simulated seconds from a moment while the pipeline
runs; it is switched on and off by the clock the gate sleeps on, so it is exact in simulated time.

What must hold, for every case: the exit code is the world's verdict when the outage is within the patience, and
"API unavailable" (5) when it is beyond; never any other code; and a promotion is triggered at most once, and only
for a pipeline that passed. The suite runs a few dozen cases (``tests/reliability/test_faults.py``), the soak in
``bench/reliability_soak.py`` thousands, over an hour of simulated gates.
"""

from __future__ import annotations

import dataclasses
import io
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pytest

from pytest_semaphore.cli import main
from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import (
    BlockDef,
    FaultDef,
    ParameterDef,
    PipelineDef,
    ProjectDef,
    PromotionDef,
    ScenarioDef,
)
from pytest_semaphore.waiting import Outcome, Pacing, outcome_of

from ..integration.waiting_support import job

#: The patience every campaign gate runs with (simulated seconds).
PATIENCE = 120.0
#: An outage "within" the patience lasts at most this long: the rest of the patience absorbs the background
#: faults that may fail the requests around it.
SHORT_OUTAGE = PATIENCE / 2
#: An outage "beyond" the patience lasts at least this long: the patience plus two polls at the schedule's cap
#: (the first request to fail may come a whole poll after the outage began) plus the client's retries.
LONG_OUTAGE = PATIENCE + 150.0
#: The gate's own timeout: far beyond any world plus outage, so a timeout (124) is always a wrong answer here.
TIMEOUT = 7200
#: The background error rates.
RATES = (0.0, 0.1, 0.25, 0.5)

#: Every fault kind of the simulator, as a background fault on every API request at ``rate``. ``latency`` is real
#: time (the clock the gate sees does not move), kept short so that the campaign stays fast.
FAULT_KINDS: Mapping[str, Callable[[float], FaultDef]] = {
    "500": lambda rate: FaultDef("/api/v1alpha/**", "status", status=500, rate=rate),
    "502": lambda rate: FaultDef("/api/v1alpha/**", "status", status=502, rate=rate),
    "503": lambda rate: FaultDef("/api/v1alpha/**", "status", status=503, rate=rate),
    "504": lambda rate: FaultDef("/api/v1alpha/**", "status", status=504, rate=rate),
    "403 auth": lambda rate: FaultDef("/api/v1alpha/**", "status", status=403, rate=rate),
    "429 Retry-After": lambda rate: FaultDef("/api/v1alpha/**", "rate_limit", retry_after=5, rate=rate),
    "429": lambda rate: FaultDef("/api/v1alpha/**", "rate_limit", rate=rate),
    "reset before": lambda rate: FaultDef("/api/v1alpha/**", "reset_before", rate=rate),
    "reset after": lambda rate: FaultDef("/api/v1alpha/**", "reset_after", rate=rate),
    "truncated": lambda rate: FaultDef("/api/v1alpha/**", "truncate", rate=rate),
    "latency": lambda rate: FaultDef("/api/v1alpha/**", "latency", latency=0.002, rate=rate),
}

#: How the world's pipeline ends, and how the scenario says so.
ENDINGS = ("passed", "failed", "stopped", "malformed")

OUTAGES = ("none", "within", "beyond")


@dataclass(frozen=True)
class Case:
    """One seeded gate: its world, its faults and its outage."""

    seed: int
    command: str  # "wait" or "promote"
    kind: str
    rate: float
    ending: str
    deploy_passes: bool
    duration: float  # the pipeline's one job, simulated seconds
    outage: str  # "none", "within", "beyond"
    outage_start: float
    outage_length: float

    @classmethod
    def draw(
        cls,
        seed: int,
        *,
        command: str | None = None,
        kind: str | None = None,
        rate: float | None = None,
        longest: float = 900,
    ) -> Case:
        """The case of ``seed``; ``command``, ``kind`` and ``rate`` fix what they name, ``longest`` bounds the
        pipeline's length (simulated seconds; the soak draws pipelines of up to an hour)."""
        rng = random.Random(seed)
        duration = rng.uniform(30, longest)
        outage = rng.choice(OUTAGES)
        ending = rng.choice(ENDINGS)
        length = {"none": 0.0, "within": rng.uniform(5, SHORT_OUTAGE), "beyond": rng.uniform(LONG_OUTAGE, 900)}
        return cls(
            seed=seed,
            command=command or rng.choice(("wait", "promote")),
            kind=kind or rng.choice(sorted(FAULT_KINDS)),
            rate=rate if rate is not None else rng.choice(RATES),
            ending=ending,
            deploy_passes=rng.random() < 0.7,
            duration=duration,
            outage=outage,
            # a malformed pipeline is done at once: its outage starts before the gate's first request
            outage_start=0.0 if ending == "malformed" else rng.uniform(0, duration * 0.8),
            outage_length=length[outage],
        )

    def calm(self, ending: str = "passed") -> Case:
        """This case's world ending ``ending`` (its deployment passing), without outage or background fault."""
        return dataclasses.replace(self, ending=ending, deploy_passes=True, rate=0.0, outage="none", outage_length=0.0)

    def scenario(self) -> ScenarioDef:
        exit_code = 1 if self.ending == "failed" else 0
        result = "stopped" if self.ending == "stopped" else None
        main_pipeline = PipelineDef(
            "Build",
            blocks=(
                BlockDef("Build", jobs=(job("build", duration=self.duration, exit_code=exit_code, result=result),)),
            ),
            promotions=(PromotionDef("Production", "deploy.yml", parameters=(ParameterDef("REGION", required=True),)),),
            malformed="bad YAML on line 3" if self.ending == "malformed" else None,
        )
        deploy = PipelineDef(
            "Deploy",
            blocks=(BlockDef("Deploy", jobs=(job("deploy", duration=45, exit_code=0 if self.deploy_passes else 1),)),),
        )
        pipelines = {".semaphore/semaphore.yml": main_pipeline, "deploy.yml": deploy}
        return ScenarioDef(projects=(ProjectDef("app", pipelines),), seed=self.seed)

    def argv(self, ppl_id: str) -> list[str]:
        common = ["--json", "--timeout", str(TIMEOUT), "--patience", str(PATIENCE)]
        if self.command == "wait":
            return ["wait", ppl_id, *common]
        return ["promote", "Production", "--pipeline", ppl_id, "--param", "REGION=eu", *common]


@dataclass
class Outage:
    """The pacing's sleep: moves the simulator's clock, then switches the outage on or off for the new instant.

    Every sleep of the gate (its polls and its client's retries) goes through here, so the outage is exact in
    simulated time. The background fault is put back whenever the faults are rebuilt.
    """

    sim: SemaphoreSimulator
    background: FaultDef | None
    start: float
    end: float
    on: bool = False
    hooks: list[Callable[[float], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        self.sim.clear_faults()
        if self.on:
            self.sim.add_fault(FaultDef("/api/v1alpha/**", "status", status=503))
        if self.background is not None:
            self.sim.add_fault(self.background)

    def sleep(self, seconds: float) -> None:
        self.sim.advance(seconds)
        now = self.sim.monotonic()
        on = self.start <= now < self.end
        if on != self.on:
            self.on = on
            self._rebuild()
        for hook in list(self.hooks):
            hook(now)

    def pacing(self) -> Pacing:
        return Pacing(sleep=self.sleep, monotonic=self.sim.monotonic, rng=random.Random(0))


@dataclass(frozen=True)
class Result:
    """What one gate did, and what the world says it should have done."""

    case: Case
    code: int
    expected: frozenset[int]
    promotions: int
    promoted: bool  # the world's pipeline passed, so a promotion was due
    requests: int
    simulated: float  # the gate's own simulated seconds
    stderr: str
    refused_trigger: bool = False  # an injected 500 answered the trigger: Semaphore's answer to a bad parameter

    @property
    def right(self) -> bool:
        """The code is one the world allows, and promotions happened exactly as due: at most once, never for a
        pipeline that did not pass, and once for one that passed unless the API was down for good."""
        if self.code not in self.expected or self.promotions > 1:
            return False
        if not self.promoted:
            return self.promotions == 0
        return self.promotions == 1 or self.case.outage == "beyond" or self.refused_trigger

    @property
    def verdict(self) -> str:
        """How the result compares with the truth: ``truth``, ``unavailable`` (exit 5), ``refused`` (exit 4: a 500
        answered the trigger, which is how Semaphore refuses a bad parameter), or ``WRONG``."""
        if not self.right:
            return "WRONG"
        if self.code == 4 and self.refused_trigger:
            return "refused"
        return "unavailable" if self.code == 5 else "truth"


def truth(sim: SemaphoreSimulator, ppl_id: str) -> Outcome:
    record = sim.world.pipeline(ppl_id)
    return outcome_of(record.state, record.result, record.result_reason)


def run_case(case: Case, *, environ: Mapping[str, str] | None = None) -> Result:
    """Run one gate in this process on the simulator's manual clock; the expected codes come from the world."""
    with SemaphoreSimulator(case.scenario(), seed=case.seed) as sim:
        _, ppl_id = sim.world.start_workflow("app")
        background = FAULT_KINDS[case.kind](case.rate) if case.rate else None
        outage = Outage(sim, background, case.outage_start, case.outage_start + case.outage_length)
        env = {"SEMAPHORE_ORGANIZATION_URL": sim.url, "SEMAPHORE_API_TOKEN": sim.token, **(environ or {})}
        out, err = io.StringIO(), io.StringIO()
        code = main(case.argv(ppl_id), pacing=outage.pacing(), environ=env, stdout=out, stderr=err)
        simulated = sim.monotonic()
        sim.clear_faults()
        sim.advance(3600)  # let everything the gate started finish: the truth is the world's end state
        parent = truth(sim, ppl_id)
        promotions = sim.world.promotions(ppl_id)
        refused = any(r.method == "POST" and r.fault and r.status == 500 for r in sim.requests)
        expected = {4} if refused and case.command == "promote" else set()
        if case.outage == "beyond":
            expected.add(5)
        else:
            if case.command == "wait" or parent is not Outcome.PASSED:
                expected.add(parent.exit_code)
            elif promotions:
                promoted = promotions[0].scheduled_pipeline_id
                expected.add(truth(sim, promoted).exit_code if promoted else 4)
            else:
                expected.add(0)  # unreachable for a right gate: a due promotion that never happened is wrong
        return Result(
            case=case,
            code=code,
            expected=frozenset(expected),
            promotions=len(promotions),
            promoted=parent is Outcome.PASSED and case.command == "promote",
            requests=len(sim.requests),
            simulated=simulated,
            stderr=err.getvalue(),
            refused_trigger=refused,
        )


class ManualClock:
    """A pytest plugin object for an inner session: its ``campaign_clock`` fixture is the case's simulator and
    outage, which :data:`PYTEST_CONFTEST` turns into the client and pacing fixtures (a ``conftest.py`` overrides
    the plugin's own fixtures; another plugin object would not)."""

    def __init__(self, sim: SemaphoreSimulator, outage: Outage) -> None:
        self.sim, self.outage = sim, outage

    @pytest.fixture
    def campaign_clock(self) -> tuple[SemaphoreSimulator, Outage]:
        return self.sim, self.outage


PYTEST_CONFTEST = """
import dataclasses
import pytest
from pytest_semaphore import SemaphoreClient

@pytest.fixture
def semaphore_client(campaign_clock):
    sim, outage = campaign_clock
    with SemaphoreClient(sim.url, sim.token, sleep=outage.sleep, monotonic=sim.monotonic) as client:
        yield client

@pytest.fixture
def semaphore_pacing(campaign_clock, semaphore_settings):
    return dataclasses.replace(campaign_clock[1].pacing(), patience=semaphore_settings.patience)
"""


#: The inner session of a pytest gate: one test waiting for the case's pipeline.
PYTEST_GATE = """
def test_gate(wait_for_pipeline):
    wait_for_pipeline({ppl_id!r})
"""


@dataclass(frozen=True)
class PytestResult:
    """What a pytest gate did: its exit status and output, and whether that is what the world allows."""

    case: Case
    code: int
    output: str
    truth: Outcome

    @property
    def right(self) -> bool:
        """Beyond the patience, the test failed with ``APIUnavailable`` ("API unavailable" in its message);
        otherwise it passed, or failed with the pipeline's verdict (an excerpt whose log could not be fetched may
        say why, which is not the test's error)."""
        raised_unavailable = "errors.APIUnavailable" in self.output
        if self.case.outage == "beyond":
            return self.code == 1 and raised_unavailable and "API unavailable" in self.output
        if self.truth is Outcome.PASSED:
            return self.code == 0
        return self.code == 1 and f" {self.truth.value}" in self.output and not raised_unavailable

    @property
    def verdict(self) -> str:
        if not self.right:
            return "WRONG"
        return "unavailable" if self.case.outage == "beyond" else "truth"


def run_pytest_case(case: Case, session: Callable[[str, list[str], object], tuple[int, str]]) -> PytestResult:
    """Run one pytest gate: ``session(test_source, args, plugin)`` runs the inner session (``pytester`` in the
    suite, with :data:`PYTEST_CONFTEST` as its conftest) and returns its exit status and output."""
    with SemaphoreSimulator(case.scenario(), seed=case.seed) as sim:
        _, ppl_id = sim.world.start_workflow("app")
        background = FAULT_KINDS[case.kind](case.rate) if case.rate else None
        outage = Outage(sim, background, case.outage_start, case.outage_start + case.outage_length)
        args = [f"--semaphore-url={sim.url}", f"--semaphore-timeout={TIMEOUT}", f"--semaphore-patience={PATIENCE}"]
        code, output = session(PYTEST_GATE.format(ppl_id=ppl_id), args, ManualClock(sim, outage))
        sim.clear_faults()
        sim.advance(3600)
        return PytestResult(case, code, output, truth(sim, ppl_id))
