"""Block-level prediction: when a pipeline will end, from how long each of its blocks took in earlier runs and which
blocks of this run are already done.

Why: a pipeline's total duration varies with the sum of its blocks' variations, so a window learnt from whole runs
is wide (an hour of six ten-minute blocks varying +-10% spreads over 12 minutes) and polling densely across it is
what costs requests. Each block's duration repeats from run to run, though, and the detailed describe says which
blocks are done: once the block before the last one is seen done, the end lies within the last block's own spread.
So the wait *probes*: it polls a little way into the likely range of the last block's start, step by step, until
that start is known within a few seconds (or is past), then sleeps until the window of the last block's end and
polls densely inside it.

The model is dropped, for the ordinary schedule, the moment the run is not the one the history describes: a block
failed, was stopped or skipped, a block is not in the history (the file changed), or a block ended earlier or later
than its history allows (the history is wrong). ``docs/waiting.md`` explains the model and its price.

History is read through the API (no clock of the server's is trusted: durations are differences of the server's own
timestamps): the newest passed runs of the same project, branch and pipeline file, each described with its blocks,
and each block's jobs for their finish times. That costs ``2 + runs * (1 + jobs)`` requests, so it is read once per
client and pipeline file and shared by every wait of the session that uses the same client
(:func:`shared_history`).
"""

from __future__ import annotations

import math
import statistics
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..models import PipelineResult, ResultReason
from .schedule import Prediction

if TYPE_CHECKING:
    from ..client import SemaphoreClient
    from ..models import Pipeline

__all__ = [
    "BLOCK_DENSE",
    "BLOCK_SPARSE_CAP",
    "HISTORY_BUDGET",
    "HISTORY_RUNS",
    "HISTORY_TTL",
    "BlockHistory",
    "BlockTracker",
    "RunHistory",
    "passed_durations",
    "read_history",
    "shared_history",
]

#: Past passed runs whose blocks are read (each costs one describe plus one request per job).
HISTORY_RUNS = 8
#: The most requests one history read may cost: a file of many jobs gets fewer runs (each costs one describe plus
#: one request per job), and below 3 none (the whole runs' prediction then, one request).
HISTORY_BUDGET = 100
#: A history read is reused this long (seconds on the wait's clock) before it is read again: a session's waits share
#: one read, a long-lived process learns of a pipeline file that became slower.
HISTORY_TTL = 6 * 3600.0
#: The interval between polls inside the predicted window of the end (jittered down to 6.4-8 s): a median detection
#: latency of about 3.6 s (10 s gave about 4.5, and a median of 5.0 s on the 20-seed bench).
BLOCK_DENSE = 8.0
#: The likely range of a sum of block durations: this many standard deviations either side of its mean (the hard
#: range, every block at its extreme at once, is far wider and far less likely).
SIGMAS = 2.0
#: The longest pause before the window: a run that leaves the history's path (a failed block, an early end) is
#: noticed at most this late. Fifteen minutes cost an hour's wait three requests; 20 an hour allow no more.
BLOCK_SPARSE_CAP = 900.0
#: Probing stops once the last block's start is known within this many seconds.
PROBE_WIDTH = 2 * BLOCK_DENSE


@dataclass(frozen=True)
class BlockStats:
    """A block's past durations (seconds from the moment it could start to its end), sorted."""

    durations: tuple[float, ...]

    @property
    def margin(self) -> float:
        """How far the spread reaches beyond the samples: ``n`` samples of a uniform spread cover on average
        ``(n - 1) / (n + 1)`` of it, so each side adds ``range / (n - 1)`` (the unbiased estimate of its width)."""
        return (self.durations[-1] - self.durations[0]) / max(1, len(self.durations) - 1)

    @property
    def low(self) -> float:
        return max(0.0, self.durations[0] - self.margin)

    @property
    def high(self) -> float:
        return self.durations[-1] + self.margin

    @property
    def mean(self) -> float:
        return statistics.fmean(self.durations)

    @property
    def variance(self) -> float:
        """The variance of a uniform spread over ``[low, high]``: a history of a few samples says little more."""
        return (self.high - self.low) ** 2 / 12


@dataclass(frozen=True)
class BlockHistory:
    """What earlier runs of one pipeline file say: each block's dependencies (in the order the blocks are listed)
    and its durations."""

    dependencies: Mapping[str, tuple[str, ...]]
    stats: Mapping[str, BlockStats]
    runs: int


@dataclass(frozen=True)
class RunHistory:
    """The history of one pipeline file: whole runs' durations (creation to done, those that passed), and the
    blocks' when there is more than one block and enough runs could be read whole."""

    durations: tuple[float, ...]
    blocks: BlockHistory | None


def passed_durations(listed: Sequence[Pipeline], pipeline: Pipeline) -> list[float]:
    """Durations (creation to done) of the listed runs that passed, ``pipeline`` itself left out. Failed ones are
    left out too: they end early and would pull the prediction forward."""
    return [
        (p.done_at - p.created_at).total_seconds()
        for p in listed
        if p.ppl_id != pipeline.ppl_id
        and p.done
        and p.result == PipelineResult.PASSED
        and p.done_at is not None
        and p.created_at is not None
    ]


def list_history(client: SemaphoreClient, pipeline: Pipeline, size: int) -> list[Pipeline]:
    """The newest ``size`` runs of the same project, branch and pipeline file as ``pipeline`` (one request)."""
    return client.list_pipelines(
        pipeline.project_id,
        branch_name=pipeline.branch_name or None,
        yml_file_path=pipeline.yml_file_path or None,
        page_size=size,
        limit=size,
    )


def read_history(
    client: SemaphoreClient, pipeline: Pipeline, *, runs: int = HISTORY_RUNS, size: int = 30, min_runs: int = 3
) -> RunHistory:
    """Read the history of ``pipeline``'s file: one list of the newest ``size`` runs; then, when ``pipeline`` (as a
    detailed describe shows it) has several blocks and there are at least ``min_runs`` passed runs, the file's
    topology and the blocks of the newest ``runs`` of them.

    A block's duration runs from the end of the last of its dependencies (the pipeline's creation for a first block)
    to the finish of the last of its jobs, so queueing and agent start-up count, as they do for the run waited on.
    """
    listed = list_history(client, pipeline, size)
    durations = tuple(passed_durations(listed, pipeline))
    past = [p for p in listed if p.ppl_id != pipeline.ppl_id and p.done and p.result == PipelineResult.PASSED][:runs]
    # one block (as ``pipeline``, described with its blocks, shows): the whole runs say the same, for one request
    if len(past) < min_runs or len(pipeline.blocks) < 2:
        return RunHistory(durations, None)
    dependencies = {block.name: block.dependencies for block in client.describe_topology(past[0].ppl_id)}
    samples: dict[str, list[float]] = {name: [] for name in dependencies}
    whole = 0
    spent = 2  # the list and the topology
    for run in past:
        described = client.describe_pipeline(run.ppl_id, detailed=True)
        jobs = sum(len(block.jobs) for block in described.blocks)
        spent += 1 + jobs
        if spent > HISTORY_BUDGET:  # many jobs: fewer runs (below ``min_runs``, the whole runs' prediction)
            break
        measured = _run_durations(client, described, dependencies)
        if measured is None:
            continue
        whole += 1
        for name, seconds in measured.items():
            samples[name].append(seconds)
    if whole < min_runs:
        return RunHistory(durations, None)
    stats = {name: BlockStats(tuple(sorted(values))) for name, values in samples.items()}
    return RunHistory(durations, BlockHistory(dependencies=dependencies, stats=stats, runs=whole))


def _run_durations(
    client: SemaphoreClient, described: Pipeline, dependencies: Mapping[str, tuple[str, ...]]
) -> dict[str, float] | None:
    """Each block's duration in one past run (described with its blocks), or ``None`` when the run does not have the
    history's blocks (another version of the file) or a timestamp is missing."""
    created = described.created_at
    blocks = {block.name: block for block in described.blocks}
    if created is None or blocks.keys() != dependencies.keys():
        return None
    ends: dict[str, float] = {}
    for name in dependencies:
        finishes = [client.describe_job(job.job_id).finish_time for job in blocks[name].jobs]
        if not finishes or any(f is None for f in finishes):
            return None
        ends[name] = max((f - created).total_seconds() for f in finishes if f is not None)
    durations = {}
    for name, deps in dependencies.items():
        ready = max((ends[d] for d in deps if d in ends), default=0.0)
        durations[name] = max(0.0, ends[name] - ready)
    return durations


# --------------------------------------------------------------------------------------------- sharing the history


@dataclass
class _Shelf:
    """One client's history reads: ``(project, branch, file) -> (read at, history)``, under a lock so that waits
    on several threads read each file once."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    reads: dict[tuple[str, str, str], tuple[float, RunHistory]] = field(default_factory=dict)


_SHELVES: weakref.WeakKeyDictionary[SemaphoreClient, _Shelf] = weakref.WeakKeyDictionary()
_SHELVES_LOCK = threading.Lock()


def shared_history(client: SemaphoreClient, pipeline: Pipeline, now: float) -> RunHistory:
    """The history of ``pipeline``'s file, read once per client and file and shared by every wait using that
    client (re-read after :data:`HISTORY_TTL` seconds of ``now``, the wait's clock). Only a history with blocks is
    kept: one without costs a single request, and re-reading it lets a session learn from runs that just ended. A
    failed read is not kept."""
    with _SHELVES_LOCK:
        shelf = _SHELVES.setdefault(client, _Shelf())
    key = (pipeline.project_id, pipeline.branch_name, pipeline.yml_file_path)
    with shelf.lock:
        kept = shelf.reads.get(key)
        if kept is not None and 0 <= now - kept[0] < HISTORY_TTL:
            return kept[1]
        history = read_history(client, pipeline)  # an error propagates and nothing is kept
        if history.blocks is not None:
            shelf.reads[key] = (now, history)
        return history


# --------------------------------------------------------------------------------------------- one run


@dataclass(frozen=True)
class _End:
    """When a block ends (seconds of pipeline age): hard bounds, and a mean and variance for the likely range."""

    low: float
    high: float
    mean: float
    variance: float

    def likely(self) -> tuple[float, float]:
        """The likely range: ``SIGMAS`` standard deviations around the mean, within the hard bounds."""
        spread = SIGMAS * math.sqrt(self.variance)
        start = max(self.low, min(self.mean - spread, self.high))
        return start, max(start, min(self.high, self.mean + spread))


_START = _End(0.0, 0.0, 0.0, 0.0)


class BlockTracker:
    """One wait's view of its run: for each block, the ages between which it ended, and the prediction they give.

    Call :meth:`observe` with each detailed describe and the pipeline's age at that moment; it returns the
    :class:`Prediction` to poll by, or ``None`` once the run is not the one the history describes (for good: the
    ordinary schedule takes over).
    """

    def __init__(self, history: BlockHistory) -> None:
        self.history = history
        self.not_done_at: dict[str, float] = {}  # the latest age at which the block was seen not done
        self.done_by: dict[str, float] = {}  # the earliest age at which it was seen done
        self.off_model = False
        sinks = set(history.dependencies) - {d for deps in history.dependencies.values() for d in deps}
        self.sinks = [name for name in history.dependencies if name in sinks]

    def observe(self, pipeline: Pipeline, age: float) -> Prediction | None:
        if self.off_model or not self._record(pipeline, age):
            self.off_model = True
            return None
        ends: dict[str, _End] = {}
        readies: dict[str, _End] = {}
        for name, deps in self.history.dependencies.items():
            readies[name] = _latest([ends[d] for d in deps])
            end = self._end(name, readies[name])
            if end is None:
                self.off_model = True
                return None
            ends[name] = end
        last = max(self.sinks, key=lambda name: ends[name].mean)
        window_start, window_end = ends[last].likely()
        ready_start, ready_end = readies[last].likely()
        probe = None
        pending = any(d not in self.done_by for d in self.history.dependencies[last])
        if pending and ready_end - ready_start > PROBE_WIDTH:  # a poll can still tell when the last block starts
            # the step trades probes (width / step of them at most) against the dense window they leave (a block
            # seen done between two probes started anywhere between them): the square root balances the two
            step = max(PROBE_WIDTH, math.sqrt((ready_end - ready_start) * BLOCK_DENSE))
            probe = max(ready_start + step, age + BLOCK_DENSE)
        return Prediction(
            expected=ends[last].mean,
            window_start=window_start,
            window_end=max(window_end, window_start + BLOCK_DENSE),
            dense_interval=BLOCK_DENSE,
            sparse_cap=BLOCK_SPARSE_CAP,
            sparse_fraction=1.0,
            probe=probe,
        )

    def _record(self, pipeline: Pipeline, age: float) -> bool:
        """Note which blocks are done at ``age``; ``False`` when the run left the history's path."""
        blocks = {block.name: block for block in pipeline.blocks}
        if blocks.keys() != self.history.dependencies.keys():
            return False
        for name, block in blocks.items():
            if not block.done:
                self.not_done_at[name] = max(age, self.not_done_at.get(name, 0.0))
                continue
            if block.result != PipelineResult.PASSED or block.result_reason == ResultReason.SKIPPED:
                return False
            self.done_by.setdefault(name, age)
        return True

    def _end(self, name: str, ready: _End) -> _End | None:
        """When block ``name`` ends, given when it could start; ``None`` when what was seen contradicts the history.

        The bounds add the block's shortest and longest likely duration to those of its start; the likely end (mean
        and variance) adds its mean duration to the start's, cut to what the polls saw: after the latest age at which
        the block was seen running, before the earliest at which it was seen done.
        """
        stats = self.history.stats[name]
        low, high = ready.low + stats.low, ready.high + stats.high
        after = self.not_done_at.get(name, -math.inf)
        before = self.done_by.get(name, math.inf)
        if after > high or before < low:  # still running after, or done before, what its history allows
            return None
        if after > before:  # seen running after it was seen done: answers out of step, nothing to build on
            return None
        low, high = max(low, after), min(high, before)
        mean, variance = _truncated(ready.mean + stats.mean, ready.variance + stats.variance, low, high)
        return _End(low, high, mean, variance)


def _truncated(mean: float, variance: float, low: float, high: float) -> tuple[float, float]:
    """Mean and variance of a normal distribution cut to ``[low, high]`` (a uniform one when the cut leaves almost
    nothing of it: what was seen outweighs the history)."""
    sigma = math.sqrt(variance)
    if sigma > 0:
        a, b = (low - mean) / sigma, (high - mean) / sigma
        mass = _cdf(b) - _cdf(a)
        if mass > 1e-6:
            pa, pb = _pdf(a), _pdf(b)
            shift = (pa - pb) / mass
            spread = (_times(a, pa) - _times(b, pb)) / mass
            return mean + sigma * shift, max(0.0, variance * (1 + spread - shift**2))
    return (low + high) / 2, (high - low) ** 2 / 12


def _pdf(x: float) -> float:
    return 0.0 if math.isinf(x) else math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _times(x: float, density: float) -> float:
    """``x * density``, 0 at an infinite bound (where the density is 0)."""
    return 0.0 if math.isinf(x) else x * density


def _latest(ends: Sequence[_End]) -> _End:
    """When the last of several blocks ends (for the chain a pipeline usually is: the one ending last on average)."""
    if not ends:
        return _START
    last = max(ends, key=lambda end: end.mean)
    return _End(max(e.low for e in ends), max(e.high for e in ends), last.mean, last.variance)
