"""Requests and detection latency of the wait schedules, in simulated time against the simulator.

A pipeline of one block and one job, plain describe, lasting 1, 10 and 60 minutes. For each:

(a) fixed 3 s polling, the anchors' way (``gh run watch``, ``sem get ppl --follow``);
(b) our default schedule (2 s, x1.5, cap 30 s, jitter): latency is the maximum over the seeds;
(c) our schedule with history (20 past runs within +-10%; the actual duration drawn from the same spread): the median
    over the draws, and with a wrong history (the pipeline takes half or twice the expected time) against (b);
(d) CircleCI's 5 s growing by 5 s to 30 s, the best anchor.

(e) a pipeline of 6 sequential blocks of about 10 minutes each, every block's duration varying +-10% from run to run
    (independently), with the history of 10 earlier runs: the block-level prediction. The history is read once per
    client and pipeline file and shared by every wait of the session, so a wait's requests are counted without it
    (its cost is printed beside, and a second wait on the same client is checked to read none). With a wrong history
    (every block half or twice as long) against (b) on the same pipeline.

Then 100 pipelines of one project waited on together (``wait_for_pipelines``): requests per round, against one
describe per pipeline per round.

Latency is "the pipeline is done in the world -> the wait returns", in simulated seconds; requests are counted from
the simulator's own request log. Run: ``python bench/wait_economy.py [--quick]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import dataclass

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import (
    BlockDef,
    CommandDef,
    JobDef,
    PipelineDef,
    ProjectDef,
    ScenarioDef,
)
from pytest_semaphore.waiting import SPARSE_CAP, Pacing, PollSchedule, wait_for_pipeline, wait_for_pipelines

MAIN = ".semaphore/semaphore.yml"
PIPELINES = "/api/v1alpha/pipelines"


def _project(duration: float) -> ProjectDef:
    job = JobDef(name="job", commands=(CommandDef("make test", duration=duration),))
    definition = PipelineDef(name="Pipeline", blocks=(BlockDef(name="Block", jobs=(job,)),))
    return ProjectDef(name="app", pipelines={MAIN: definition})


class LinearSchedule(PollSchedule):
    """CircleCI's ``run watch``: 5 s, then 5 s more each poll, up to 30 s; no jitter, no reset."""

    def __init__(self) -> None:
        super().__init__(start=5.0, growth=1.0, cap=30.0, jitter=0.0)
        self._next = 5.0

    def changed(self) -> None:  # circleci does not reset on change
        return

    def next_delay(self, *, elapsed: float | None = None, retry_after: float | None = None) -> float:
        delay = self._next
        self._next = min(30.0, self._next + 5.0)
        return max(delay, retry_after or 0.0)


@dataclass(frozen=True)
class FixedPacing(Pacing):
    """(a): a fixed 3 s, the way ``gh run watch`` and ``sem get ppl --follow`` poll."""

    start: float = 3.0
    growth: float = 1.0
    cap: float = 3.0
    jitter: float = 0.0


@dataclass(frozen=True)
class LinearPacing(Pacing):
    """(d): CircleCI's schedule (a pacing may bring a schedule of its own)."""

    def schedule(self) -> PollSchedule:
        return LinearSchedule()


@dataclass
class Run:
    requests: int
    latency: float


def _start(sim: SemaphoreSimulator, duration: float) -> str:
    """Start a workflow whose job lasts ``duration`` (the project's file is swapped in place: the history's runs all
    share one pipeline file, as on Semaphore, but each lasts its own time)."""
    sim.world.project("app").definition = _project(duration)
    return sim.world.start_workflow("app")[1]


def run_one(
    duration: float,
    *,
    seed: int,
    pacing: type[Pacing] = Pacing,
    history: list[float] | None = None,
) -> Run:
    """Wait for one pipeline lasting ``duration`` and measure it; ``history`` runs first when given."""
    with SemaphoreSimulator(ScenarioDef(projects=(_project(duration),)), seed=seed) as sim:
        client = SemaphoreClient(sim.url, token=sim.token, sleep=sim.advance, monotonic=sim.monotonic)
        try:
            for past in history or ():
                _start(sim, past)
                sim.advance(past + 60)
            ppl_id = _start(sim, duration)
            sim.clear_requests()
            wait_for_pipeline(
                client,
                ppl_id,
                timeout=4 * 3600,
                expected_duration=history is not None,
                pacing=pacing(sleep=sim.advance, monotonic=sim.monotonic, rng=random.Random(seed)),
            )
            done_at = sim.world.pipeline(ppl_id).done_at
            assert done_at is not None
            requests = [r for r in sim.requests if r.path.startswith(PIPELINES)]
            return Run(requests=len(requests), latency=sim.monotonic() - done_at)
        finally:
            client.close()


BLOCKS = 6
BLOCK_SECONDS = 600.0


def _blocks_project(durations: list[float]) -> ProjectDef:
    blocks = tuple(
        BlockDef(name=f"Block {i + 1}", jobs=(JobDef(name=f"job {i + 1}", commands=(CommandDef("make", duration=d),)),))
        for i, d in enumerate(durations)
    )
    return ProjectDef(name="app", pipelines={MAIN: PipelineDef(name="Pipeline", blocks=blocks)})


def _block_durations(rng: random.Random, scale: float = 1.0) -> list[float]:
    return [scale * BLOCK_SECONDS * rng.uniform(0.9, 1.1) for _ in range(BLOCKS)]


@dataclass
class BlockRun(Run):
    history_requests: int
    second_history_requests: int


def run_blocks(actual: list[float], *, seed: int, history: list[list[float]] | None, second: bool = False) -> BlockRun:
    """Wait for one pipeline of blocks lasting ``actual`` after the ``history`` runs (``None``: the default schedule,
    no prediction); ``second``: then wait for another run on the same client, to count its history requests."""
    with SemaphoreSimulator(ScenarioDef(projects=(_blocks_project(actual),)), seed=seed) as sim:
        client = SemaphoreClient(sim.url, token=sim.token, sleep=sim.advance, monotonic=sim.monotonic)
        pacing = Pacing(sleep=sim.advance, monotonic=sim.monotonic, rng=random.Random(seed))

        def start(durations: list[float]) -> str:
            sim.world.project("app").definition = _blocks_project(durations)
            return sim.world.start_workflow("app")[1]

        def wait(durations: list[float]) -> tuple[str, int, int]:
            ppl_id = start(durations)
            sim.clear_requests()
            wait_for_pipeline(client, ppl_id, timeout=6 * 3600, expected_duration=history is not None, pacing=pacing)
            own = len([r for r in sim.requests if r.path == f"{PIPELINES}/{ppl_id}"])
            return ppl_id, own, len(sim.requests) - own

        try:
            for past in history or ():
                start(past)
                sim.advance(sum(past) + 60)
            ppl_id, own, read = wait(actual)
            done_at = sim.world.pipeline(ppl_id).done_at
            assert done_at is not None
            latency = sim.monotonic() - done_at
            again = wait(actual)[2] if second else 0
            return BlockRun(requests=own, latency=latency, history_requests=read, second_history_requests=again)
        finally:
            client.close()


def blocks_rows(seeds: int) -> tuple[list[tuple[str, str, str, str, str]], list[tuple[str, bool]]]:
    """Row (e) and its goals."""
    label = "6 blocks"
    lengths = []
    runs, half, twice, plain_half, plain_twice, plain = [], [], [], [], [], []
    for s in range(seeds):
        rng = random.Random(2000 + s)
        history = [_block_durations(rng) for _ in range(10)]
        actual = _block_durations(rng)
        lengths.append(sum(actual))
        runs.append(run_blocks(actual, seed=s, history=history, second=s == 0))
        plain.append(run_blocks(actual, seed=s, history=None))
        shorter, longer = _block_durations(rng, 0.5), _block_durations(rng, 2.0)
        half.append(run_blocks(shorter, seed=s, history=history))
        twice.append(run_blocks(longer, seed=s, history=history))
        plain_half.append(run_blocks(shorter, seed=s, history=None))
        plain_twice.append(run_blocks(longer, seed=s, history=None))
    fixed_requests = statistics.median(lengths) / 3  # what (a) costs: one request every 3 s

    def med(values: list[BlockRun], attr: str) -> float:
        return float(statistics.median(getattr(r, attr) for r in values))

    requests, latency = med(runs, "requests"), med(runs, "latency")
    rows = [
        (
            label,
            "(b) ours, default",
            f"{med(plain, 'requests'):.0f} (max {max(r.requests for r in plain)})",
            f"median {med(plain, 'latency'):.1f} (max {max(r.latency for r in plain):.1f})",
            f"{med(plain, 'requests') / fixed_requests:.2f}",
        ),
        (
            label,
            f"(e) block history (+{med(runs, 'history_requests'):.0f} once)",
            f"{requests:.0f} (max {max(r.requests for r in runs)})",
            f"median {latency:.1f} (max {max(r.latency for r in runs):.1f})",
            f"{requests / fixed_requests:.2f}",
        ),
        (
            label,
            "(e) history wrong: x0.5 | (b) x0.5",
            f"{med(half, 'requests'):.0f} | {med(plain_half, 'requests'):.0f}",
            f"median {med(half, 'latency'):.1f} (max {max(r.latency for r in half):.1f}) | "
            f"{med(plain_half, 'latency'):.1f}",
            f"{med(half, 'requests') / fixed_requests:.2f}",
        ),
        (
            label,
            "(e) history wrong: x2 | (b) x2",
            f"{med(twice, 'requests'):.0f} | {med(plain_twice, 'requests'):.0f}",
            f"median {med(twice, 'latency'):.1f} | {med(plain_twice, 'latency'):.1f}",
            f"{med(twice, 'requests') / fixed_requests:.2f}",
        ),
    ]
    worst_half = max(h.requests - o.requests for h, o in zip(half, plain_half, strict=True))
    worst_twice = max(t.requests - o.requests for t, o in zip(twice, plain_twice, strict=True))
    goals = [
        (
            f"(e) median requests <= 20 (history read once per session: {med(runs, 'history_requests'):.0f})",
            requests <= 20,
        ),
        ("(e) median latency <= 5 s", latency <= 5.0),
        (
            "(e) a second wait on the same client reads no history "
            f"({runs[0].second_history_requests} requests besides its own)",
            runs[0].second_history_requests == 0,
        ),
        (f"(e) wrong history x0.5 <= (b) + 5 (worst {worst_half:+d})", worst_half <= 5),
        (f"(e) wrong history x2 <= (b) + 5 (worst {worst_twice:+d})", worst_twice <= 5),
    ]
    return rows, goals


def _history(rng: random.Random, expected: float, n: int = 20) -> list[float]:
    return [expected * rng.uniform(0.9, 1.1) for _ in range(n)]


def many(n: int = 100, *, seed: int = 1) -> dict[str, dict[str, float]]:
    """``n`` pipelines of one project: ``wait_for_pipelines`` given the ids only, given the project too, and a naive
    loop describing each pending pipeline per round."""
    results: dict[str, dict[str, float]] = {}
    for mode in ("ids", "project", "naive"):
        rng = random.Random(seed)
        durations = [rng.uniform(300, 900) for _ in range(n)]
        with SemaphoreSimulator(ScenarioDef(projects=(_project(60),)), seed=seed) as sim:
            client = SemaphoreClient(sim.url, token=sim.token, sleep=sim.advance, monotonic=sim.monotonic)
            try:
                ids = [_start(sim, d) for d in durations]
                sim.clear_requests()
                if mode == "naive":
                    rounds = _naive_rounds(client, ids, sim, random.Random(seed))
                else:
                    wait_for_pipelines(
                        client,
                        ids,
                        project="app" if mode == "project" else None,
                        pacing=Pacing(sleep=sim.advance, monotonic=sim.monotonic, rng=random.Random(seed)),
                    )
                    rounds = _rounds(sim)
                last_done = max(sim.world.pipeline(p).done_at or 0 for p in ids)
                requests = [r for r in sim.requests if r.path.startswith(PIPELINES)]
                steady = rounds[1:] or rounds
                results[mode] = {
                    "requests": len(requests),
                    "rounds": len(rounds),
                    "max_per_round": max(steady),
                    "mean_per_round": statistics.mean(steady),
                    "first_round": rounds[0],
                    "latency": sim.monotonic() - last_done,
                }
            finally:
                client.close()
    return results


def _rounds(sim: SemaphoreSimulator) -> list[int]:
    """Requests per round: a round starts with each ``list_pipelines`` call (the describes that follow belong to it);
    the first round holds the initial describes."""
    rounds: list[int] = [0]
    for record in sim.requests:
        if not record.path.startswith(PIPELINES):
            continue
        if record.path == PIPELINES:
            rounds.append(1)
        else:
            rounds[-1] += 1
    return rounds


def _naive_rounds(client: SemaphoreClient, ids: list[str], sim: SemaphoreSimulator, rng: random.Random) -> list[int]:
    """One describe per pending pipeline per round, on our schedule: what waiting on each separately costs."""
    schedule = PollSchedule(rng=rng)
    pending = list(ids)
    rounds = []
    while pending:
        still = []
        for ppl_id in pending:
            if not client.describe_pipeline(ppl_id).done:
                still.append(ppl_id)
        rounds.append(len(pending))
        if len(still) < len(pending):
            schedule.changed()
        pending = still
        if pending:
            sim.advance(schedule.next_delay())
    return rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 seeds instead of 20")
    args = parser.parse_args(argv)
    seeds = 5 if args.quick else 20
    began = time.perf_counter()

    rows: list[tuple[str, str, str, str, str]] = []
    goals: list[tuple[str, bool]] = []
    for minutes in (1, 10, 60):
        duration = minutes * 60.0
        # the pipeline's length varies over a whole 30 s cycle per seed, so that no schedule is lucky with its phase
        lengths = [duration + random.Random(s).uniform(0, 30) for s in range(seeds)]
        fixed_runs = [run_one(lengths[s], seed=s, pacing=FixedPacing) for s in range(seeds)]
        ours = [run_one(lengths[s], seed=s) for s in range(seeds)]
        circle_runs = [run_one(lengths[s], seed=s, pacing=LinearPacing) for s in range(seeds)]
        draws = []
        half = []
        twice = []
        ours_half = []
        ours_twice = []
        for s in range(seeds):
            rng = random.Random(1000 + s)
            history = _history(rng, duration)
            actual = duration * rng.uniform(0.9, 1.1)
            draws.append(run_one(actual, seed=s, history=history))
            # the wrong lengths vary over a whole sparse interval per seed, so that the late notice of an early end is
            # measured at every phase of the sparse polls, not at one lucky one
            shorter = duration / 2 + rng.uniform(0, SPARSE_CAP)
            longer = duration * 2 + rng.uniform(0, SPARSE_CAP)
            half.append(run_one(shorter, seed=s, history=history))
            twice.append(run_one(longer, seed=s, history=history))
            ours_half.append(run_one(shorter, seed=s))
            ours_twice.append(run_one(longer, seed=s))

        def med(runs: list[Run], attr: str) -> float:
            return float(statistics.median(getattr(r, attr) for r in runs))

        fixed_requests = med(fixed_runs, "requests")
        b_requests = med(ours, "requests")
        b_latency = max(r.latency for r in ours)
        c_requests = med(draws, "requests")
        c_latency = med(draws, "latency")
        label = f"{minutes} min"
        rows.append(
            (
                label,
                "(a) fixed 3 s (gh, sem)",
                f"{fixed_requests:.0f}",
                f"median {med(fixed_runs, 'latency'):.1f} (max {max(r.latency for r in fixed_runs):.1f})",
                "1.00",
            )
        )
        rows.append(
            (
                label,
                "(b) ours, default",
                f"{b_requests:.0f} (max {max(r.requests for r in ours)})",
                f"median {med(ours, 'latency'):.1f} (max {b_latency:.1f})",
                f"{b_requests / fixed_requests:.2f}",
            )
        )
        rows.append(
            (
                label,
                "(c) ours + history",
                f"{c_requests:.0f} (max {max(r.requests for r in draws)})",
                f"median {c_latency:.1f} (max {max(r.latency for r in draws):.1f})",
                f"{c_requests / fixed_requests:.2f}",
            )
        )
        rows.append(
            (
                label,
                "(c) history wrong: x0.5 | (b) x0.5",
                f"{med(half, 'requests'):.0f} | {med(ours_half, 'requests'):.0f}",
                f"median {med(half, 'latency'):.1f} (max {max(r.latency for r in half):.1f}) | "
                f"{med(ours_half, 'latency'):.1f}",
                f"{med(half, 'requests') / fixed_requests:.2f}",
            )
        )
        rows.append(
            (
                label,
                "(c) history wrong: x2 | (b) x2",
                f"{med(twice, 'requests'):.0f} | {med(ours_twice, 'requests'):.0f}",
                f"median {med(twice, 'latency'):.1f} | {med(ours_twice, 'latency'):.1f}",
                f"{med(twice, 'requests') / fixed_requests:.2f}",
            )
        )
        rows.append(
            (
                label,
                "(d) circleci 5 s +5 s to 30 s",
                f"{med(circle_runs, 'requests'):.0f}",
                f"median {med(circle_runs, 'latency'):.1f} (max {max(r.latency for r in circle_runs):.1f})",
                f"{med(circle_runs, 'requests') / fixed_requests:.2f}",
            )
        )
        if minutes == 60:
            goals.append(("(b) requests <= 15% of (a)", b_requests <= 0.15 * fixed_requests))
            goals.append(("(b) max latency <= 30 s", b_latency <= 30.0))
            goals.append(("(c) median requests <= 60", c_requests <= 60))
            goals.append(("(c) median latency <= 10 s", c_latency <= 10.0))
            worst_half = max(h.requests - o.requests for h, o in zip(half, ours_half, strict=True))
            worst_twice = max(t.requests - o.requests for t, o in zip(twice, ours_twice, strict=True))
            goals.append((f"(c) wrong history x0.5 <= (b) + 5 (worst {worst_half:+d})", worst_half <= 5))
            goals.append((f"(c) wrong history x2 <= (b) + 5 (worst {worst_twice:+d})", worst_twice <= 5))
            half_latency = max(r.latency for r in half)
            goals.append(
                (
                    f"(c) wrong history x0.5: the early end noticed within the sparse cap "
                    f"(max {half_latency:.0f} s <= {SPARSE_CAP:.0f} s)",
                    half_latency <= SPARSE_CAP,
                )
            )

    block_rows, block_goals = blocks_rows(seeds)
    rows += block_rows
    goals += block_goals
    fleet = many()
    widths = [8, 36, 22, 40, 8]
    header = ("duration", "strategy", "requests", "latency s (done -> return)", "vs (a)")
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print()
    print("100 pipelines of one project (5-15 min each), waited on together:")
    naive = fleet["naive"]
    for mode, text in (("ids", "wait_for_pipelines(ids)"), ("project", "wait_for_pipelines(ids, project=)")):
        m = fleet[mode]
        print(
            f"  {text:<34} {m['requests']:>5.0f} requests in {m['rounds']:.0f} rounds; first round "
            f"{m['first_round']:.0f}, then max {m['max_per_round']:.0f}, mean {m['mean_per_round']:.2f} per round; "
            f"latency {m['latency']:.1f} s; vs one describe each {m['requests'] / naive['requests']:.3f}"
        )
    print(
        f"  {'one describe each (naive loop)':<34} {naive['requests']:>5.0f} requests in {naive['rounds']:.0f} rounds; "
        f"max {naive['max_per_round']:.0f}, mean {naive['mean_per_round']:.2f} per round"
    )
    goals.append(
        (
            "100 at once: <= 2 requests per round + changed describes (plain wait: none)",
            fleet["ids"]["max_per_round"] <= 2 and fleet["project"]["max_per_round"] <= 2,
        )
    )
    print()
    print("goals:")
    for text, ok in goals:
        print(f"  [{'ok' if ok else 'MISSED'}] {text}")
    print(f"\n({seeds} seeds; {time.perf_counter() - began:.1f} s of real time)")
    return 0 if all(ok for _, ok in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
