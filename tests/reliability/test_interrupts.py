"""SIGINT and SIGTERM at random moments of promote-and-wait, and from inside the atomic write of a report; dropped
connections after a promotion or a run-workflow took effect. What must hold: exit 130 (SIGINT) or 143 (SIGTERM);
never a second promotion or workflow (the simulator counts them); no half-written file and no temporary file left;
with ``--cancel-on-interrupt`` the pipelines this process started are terminated, and never one it did not start.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from pytest_semaphore.atomic import AtomicFile
from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import FaultDef
from pytest_semaphore.waiting import Pacing

from ..support import canary
from .campaign import PYTEST_CONFTEST, Case, ManualClock, Outage
from .interrupts import SignalAt, gate_here

CODES: dict[int, int] = {signal.SIGINT: 130, signal.SIGTERM: 143}


def passing_world(seed: int) -> Case:
    """A pipeline that passes after a few minutes, with a deployment whose job passes."""
    return Case.draw(seed, command="promote").calm()


def promote_argv(ppl_id: str) -> list[str]:
    return ["promote", "Production", "--pipeline", ppl_id, "--param", "REGION=eu"]


def clock_reads(case: Case) -> int:
    """How many times the gate of ``case`` reads its clock when nothing interrupts it: the moments to draw from."""
    with SemaphoreSimulator(case.scenario(), seed=case.seed) as sim:
        _, ppl_id = sim.world.start_workflow("app")
        sim.world.start_workflow("app")
        counter = SignalAt(sim.monotonic, signal.SIGINT, at=0)  # never fires: counts
        gate = gate_here(sim, promote_argv(ppl_id), Pacing(sleep=sim.advance, monotonic=counter))
    assert gate.code == 0, gate.err
    return counter.calls


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("cancel", [False, True], ids=["leave", "cancel-on-interrupt"])
def test_a_signal_at_a_random_moment_of_promote_and_wait(signum: int, cancel: bool) -> None:
    """Twelve gates, each interrupted at a moment drawn uniformly from the whole of its run."""
    rng = random.Random(f"{signum}{cancel}")
    for round_ in range(12):
        seed = 5000 + round_ * 10 + int(cancel) + 2 * int(signum)
        case = passing_world(seed)
        at = rng.randint(1, clock_reads(case))
        with SemaphoreSimulator(case.scenario(), seed=seed) as sim:
            _, ppl_id = sim.world.start_workflow("app")
            _, foreign = sim.world.start_workflow("app")  # someone else's: never ours to cancel
            moment = SignalAt(sim.monotonic, signum, at=at)
            argv = promote_argv(ppl_id)
            gate = gate_here(
                sim,
                [*argv, *(["--cancel-on-interrupt"] if cancel else [])],
                Pacing(sleep=sim.advance, monotonic=moment),
            )
            promotions = sim.world.promotions(ppl_id)
            promoted = [p.scheduled_pipeline_id for p in promotions if p.scheduled_pipeline_id]
            finished = {p.ppl_id for p in sim.world.pipelines() if p.state == "done"}  # nothing left to cancel
            sim.advance(3600)
            promotions_later = sim.world.promotions(ppl_id)
            terminated = {p.ppl_id for p in sim.world.pipelines() if p.terminate_request}
        assert len(promotions_later) <= 1
        assert not {foreign, ppl_id} & terminated, "a pipeline this process did not start was terminated"
        assert moment.fired
        assert gate.code == CODES[signum], gate.err
        assert "Traceback" not in gate.err
        later = [p.scheduled_pipeline_id for p in promotions_later if p.scheduled_pipeline_id]
        if cancel:
            # every promoted pipeline still running when the gate ended was terminated, and nothing else
            assert set(later) - finished <= terminated <= set(later), (terminated, later, promoted, at, gate.err)
        else:
            assert not terminated
        assert promoted == later or not promoted


WRITERS = {
    "html summary": (["report", "{red}", "-o", "out/summary.html"], "out/summary.html"),
    "markdown summary": (["report", "{red}", "-o", "out/summary.md"], "out/summary.md"),
    "junit": (["junit", "{red}", "-o", "out/report.xml"], "out/report.xml"),
    "attach-logs": (["attach-logs", "out/junit.xml", "--pipeline", "{red}"], "out/junit.xml"),
    "full log": (["wait", "{red}", "--log-dir", "out/logs"], None),
}


class SignalingFile:
    """The test hook: the temporary file of an :class:`AtomicFile`, raising a signal after its first write
    (``moment="write"``: the file is half-written) or once it is closed (``"commit"``: whole, not yet renamed)."""

    def __init__(self, file: Any, signum: int, moment: str, fired: list[Path], path: Path) -> None:
        self._file, self._signum, self._moment, self._fired, self._path = file, signum, moment, fired, path

    def _fire(self, moment: str) -> None:
        if moment == self._moment and not self._fired:
            self._fired.append(self._path)
            signal.raise_signal(self._signum)

    def write(self, data: bytes) -> int:
        written = int(self._file.write(data))
        self._fire("write")
        return written

    def writelines(self, lines: Iterable[bytes]) -> None:
        for line in lines:
            self.write(line)

    def close(self) -> None:
        self._file.close()
        self._fire("commit")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


@pytest.mark.parametrize("moment", ["write", "commit"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_signal_inside_the_atomic_write_leaves_the_old_file_whole(
    writer: str, signum: int, moment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fired: list[Path] = []
    original = AtomicFile.__init__

    def hooked(self: AtomicFile, path: str | os.PathLike[str], *, what: str) -> None:
        original(self, path, what=what)
        self.file = SignalingFile(self.file, signum, moment, fired, self.path)  # type: ignore[assignment]

    monkeypatch.setattr(AtomicFile, "__init__", hooked)
    monkeypatch.chdir(tmp_path)
    old = '<testsuite name="t"><testcase classname="t" name="gate"><failure/></testcase></testsuite>'
    (tmp_path / "out").mkdir()
    argv, target = WRITERS[writer]
    if target is not None:
        (tmp_path / target).write_text(old, encoding="utf-8")
    with SemaphoreSimulator(canary.scenario("no-token-here")) as sim:
        red, _ = canary.start_both(sim)
        gate = gate_here(sim, [a.format(red=red) for a in argv], Pacing(sleep=sim.advance, monotonic=sim.monotonic))
    assert fired, "the hook ran inside the write"
    assert gate.code == CODES[signum], gate.err
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == ([target] if target else []), "a temporary or half-written file was left behind"
    if target is not None:
        assert (tmp_path / target).read_text(encoding="utf-8") == old


@pytest.mark.parametrize("kind", ["reset_after", "truncate", "reset_before", "502"])
@pytest.mark.parametrize("count", [1, 3])
def test_a_dropped_promotion_answer_never_promotes_twice(kind: str, count: int) -> None:
    case = passing_world(7000 + count)
    with SemaphoreSimulator(case.scenario(), seed=case.seed) as sim:
        _, ppl_id = sim.world.start_workflow("app")
        sim.add_fault(fault("POST /api/v1alpha/promotions", kind, count))
        argv = ["promote", "Production", "--pipeline", ppl_id, "--param", "REGION=eu"]
        gate = gate_here(sim, argv, Pacing(sleep=sim.advance, monotonic=sim.monotonic))
        promotions = sim.world.promotions(ppl_id)
    assert len(promotions) == 1, gate.err
    assert gate.code == 0, gate.err


@pytest.mark.parametrize("kind", ["reset_after", "truncate", "reset_before", "502"])
def test_a_dropped_run_workflow_answer_never_starts_two_workflows(kind: str) -> None:
    case = passing_world(7100)
    with SemaphoreSimulator(case.scenario(), seed=case.seed) as sim:
        project_id = sim.world.project("app").project_id
        sim.add_fault(fault("POST /api/v1alpha/plumber-workflows", kind, 1))
        gate = gate_here(
            sim, ["run", "app", "--ref", "refs/heads/master"], Pacing(sleep=sim.advance, monotonic=sim.monotonic)
        )
        workflows = sim.world.workflows(project_id)
    assert len(workflows) <= 1, gate.err
    if workflows:
        assert gate.code == 0, gate.err
    else:  # refused before it took effect: said so, with the code of a request whose effect is unknown
        assert gate.code == 4, gate.err
        assert "probably not created" in gate.err


def fault(route: str, kind: str, count: int) -> FaultDef:
    if kind.isdigit():
        return FaultDef(route, "status", status=int(kind), count=count)
    return FaultDef(route, kind, count=count)


PYTEST_RELEASE = """
def test_release(semaphore_run_workflow, semaphore_promote):
    done = semaphore_run_workflow("app", "refs/heads/master")
    semaphore_promote("Production", pipeline=done.ppl_id, parameters={"REGION": "eu"})
"""


@pytest.mark.parametrize("kind", ["reset_after", "truncate"])
def test_a_pytest_gate_with_dropped_answers_starts_and_promotes_once(
    kind: str, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = passing_world(7200)
    with SemaphoreSimulator(case.scenario(), seed=case.seed) as sim:
        outage = Outage(sim, None, 0.0, 0.0)  # no outage: only the faults below
        sim.add_fault(fault("POST /api/v1alpha/plumber-workflows", kind, 1))
        sim.add_fault(fault("POST /api/v1alpha/promotions", kind, 2))
        monkeypatch.setenv("SEMAPHORE_API_TOKEN", "unused-the-client-fixture-is-given")
        pytester.makeconftest(PYTEST_CONFTEST)
        pytester.makepyfile(test_release=PYTEST_RELEASE)
        result = pytester.runpytest(
            "-p", "no:cacheprovider", f"--semaphore-url={sim.url}", plugins=[ManualClock(sim, outage)]
        )
        workflows = sim.world.workflows(sim.world.project("app").project_id)
        promotions = [p for wf in workflows for p in sim.world.promotions(wf.initial_ppl_id)]
    result.assert_outcomes(passed=1)
    assert len(workflows) == 1
    assert len(promotions) == 1
