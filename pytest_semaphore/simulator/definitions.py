"""Plain-data descriptions of a simulated Semaphore world: what exists and how each job will end.

This module is the contract between the two halves of the simulator: the world (``world.py``) runs these
definitions on its clock, and the scenario loader (``scenario.py``) builds them from scenario files and real
``.semaphore/*.yml`` pipeline files. Tests and users may also build them directly in Python.

The simulator never imports the client or its models (docs/architecture.md): if
both sides shared code, a parsing bug would
cancel itself out and the tests would prove nothing. Hence these are its own, deliberately simple, types.

Fields may be added (with defaults); none is renamed or removed without changing both halves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "AFTER_PIPELINE",
    "DEFAULT_PIPELINE_FILE",
    "DEFAULT_PIPELINE_NAME",
    "EARLY_PROMOTIONS",
    "PARAMETER_EXPRESSION",
    "AutoPromoteFacts",
    "BlockDef",
    "CommandDef",
    "FaultDef",
    "JobDef",
    "ParameterDef",
    "PipelineDef",
    "ProjectDef",
    "PromotionDef",
    "RunDef",
    "ScenarioDef",
    "WhenPredicate",
    "simple_rule",
]

DEFAULT_PIPELINE_FILE = ".semaphore/semaphore.yml"
#: The name Semaphore gives a pipeline file without ``name`` (the schema does not require one).
DEFAULT_PIPELINE_NAME = "Pipeline"
#: What a promotion of a pipeline that is not done yet does (:attr:`ScenarioDef.early_promotions`): wait for the
#: parent, or start at once. Semaphore records such a trigger; when its pipeline starts is not established.
EARLY_PROMOTIONS = ("defer", "start")
#: The block name under which ``after_pipeline`` jobs are addressed (scenario outcomes, job sites).
AFTER_PIPELINE = "After pipeline"
#: ``${{ parameters.NAME }}``, the one parameter expression the simulator evaluates (in a pipeline's name).
PARAMETER_EXPRESSION = re.compile(r"\$\{\{\s*parameters\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

#: What a condition may look at, with Semaphore's names: ``branch``, ``tag``, ``pull_request`` (``""`` when not
#: applicable), ``result`` and ``result_reason`` (lowercase, as in the pipeline YAML docs); also ``branch_name``
#: (the pipeline's branch name as the API shows it: ``refs/tags/v1`` on a tag build, which the older
#: ``auto_promote_on`` patterns match) and ``changed_files`` (the run's changed files, one per line; absent when the
#: run declares none, which ``change_in`` reads as "everything changed").
AutoPromoteFacts = Mapping[str, str]

#: A compiled ``when`` condition (``auto_promote``, a block's ``run``/``skip``, ``fail_fast``).
WhenPredicate = Callable[[AutoPromoteFacts], bool]


@dataclass(frozen=True)
class CommandDef:
    """One command of a job: its directive as the log shows it, its output and how it ends.

    ``output`` fragments are emitted as ``cmd_output`` events spread over ``duration``; like the real agent's,
    they need not be line-aligned, and ``bytes`` fragments are copied into the log unchanged (invalid UTF-8
    included), so tests can produce every kind of hostile log.
    """

    directive: str
    output: tuple[str | bytes, ...] = ()
    exit_code: int = 0
    duration: float = 1.0


@dataclass(frozen=True)
class JobDef:
    """A job and its outcome.

    The job runs its commands in order and stops at the first non-zero exit code (the epilogue is not simulated).
    Its result is ``failed`` if a command failed, else ``passed``, unless ``result`` forces one (``"stopped"``
    simulates a job killed by its execution time limit). ``log_bytes`` appends a command that prints that many bytes
    of generated output (for large-log tests and benchmarks). ``env_vars`` appear in the jobs API's ``spec.env_vars``
    (and so can be the secrets that redaction must hide).
    """

    name: str
    commands: tuple[CommandDef, ...] = (CommandDef("echo ok", output=("ok\n",)),)
    result: str | None = None
    log_bytes: int = 0
    env_vars: tuple[tuple[str, str], ...] = ()
    machine_type: str = "e1-standard-2"
    """Agent type; a self-hosted type (``s1-...``) makes the job's log redirect to the loghub2 host."""
    os_image: str = "ubuntu2004"
    hold: bool = False
    """Keep the job running after its commands until ``World.release(job_id)`` ends it: it stands for the job
    that runs the code under test (a gate promoting its own pipeline), which only the test knows when to end.
    With ``commands=()`` it can be released as soon as it runs."""

    @property
    def duration(self) -> float:
        return sum(c.duration for c in self.commands)


@dataclass(frozen=True)
class BlockDef:
    """A block. ``dependencies=None`` means Semaphore's implicit order (each block depends on the one before).

    ``run``/``skip`` are the block's ``run.when``/``skip.when``: a block whose ``run`` is false or whose ``skip`` is
    true ends ``done``/``passed``/``skipped`` without running a job, and the blocks after it go on as after a pass.
    """

    name: str
    jobs: tuple[JobDef, ...]
    dependencies: tuple[str, ...] | None = None
    run: WhenPredicate | None = None
    skip: WhenPredicate | None = None


@dataclass(frozen=True)
class ParameterDef:
    """A promotion parameter (``promotions[].parameters.env_vars[]``)."""

    name: str
    required: bool = False
    default: str | None = None
    options: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class PromotionDef:
    """A promotion of a pipeline into ``pipeline_file``; ``auto_promote`` set makes it automatic."""

    name: str
    pipeline_file: str
    parameters: tuple[ParameterDef, ...] = ()
    auto_promote: WhenPredicate | None = None


@dataclass(frozen=True)
class PipelineDef:
    """A pipeline file: its name, blocks and promotions.

    ``malformed`` set to an error description makes every run of it end at once as ``failed``/``malformed``
    with that ``error_description``, as a YAML error does on the real server. ``name`` may hold
    ``${{ parameters.NAME }}``, filled in from the pipeline's parameters when it runs.

    ``after_pipeline`` jobs run once the pipeline is done and never change its state or result. ``fail_fast_stop``
    and ``fail_fast_cancel`` are ``fail_fast.stop.when``/``fail_fast.cancel.when``: when one holds and a block fails,
    the other blocks are stopped (``stop``) or only those not yet started are canceled (``cancel``).
    ``auto_cancel_running``/``auto_cancel_queued`` are ``auto_cancel.running.when``/``auto_cancel.queued.when``:
    when one holds for a new pipeline, older ones of its queue (same branch and file) are stopped or canceled.
    """

    name: str
    blocks: tuple[BlockDef, ...]
    promotions: tuple[PromotionDef, ...] = ()
    malformed: str | None = None
    after_pipeline: tuple[JobDef, ...] = ()
    fail_fast_stop: WhenPredicate | None = None
    fail_fast_cancel: WhenPredicate | None = None
    auto_cancel_running: WhenPredicate | None = None
    auto_cancel_queued: WhenPredicate | None = None


@dataclass(frozen=True)
class ProjectDef:
    """A project and its pipeline files, keyed by path (``.semaphore/semaphore.yml``)."""

    name: str
    pipelines: Mapping[str, PipelineDef]
    project_id: str | None = None
    """Fixed id, or ``None`` for a generated UUID."""
    initial_pipeline_file: str = DEFAULT_PIPELINE_FILE


@dataclass(frozen=True)
class RunDef:
    """A workflow the scenario starts at time zero (as a push would)."""

    project: str
    branch: str = "master"
    commit_sha: str | None = None
    pipeline_file: str | None = None
    tag: str | None = None
    pull_request: str | None = None
    triggered_by: str = "hook"
    changed_files: tuple[str, ...] | None = None
    """The files the push changed (repository paths), for ``change_in``; ``None``: everything changed."""


@dataclass(frozen=True)
class FaultDef:
    """A fault injected by the HTTP layer into requests matching ``route``.

    ``route`` is ``"METHOD /path/glob"`` or ``"/path/glob"`` (``*`` matches one path segment, ``**`` any rest),
    e.g. ``"GET /api/v1alpha/pipelines/*"``. ``kind`` is one of:

    * ``"status"``: answer ``status`` (500, 502, 503, 504, or 403 as an erring auth service would);
    * ``"rate_limit"``: 429, with ``Retry-After: retry_after`` when it is set;
    * ``"latency"``: delay the answer by ``latency`` seconds of real time;
    * ``"reset_before"``: drop the connection before the request takes effect;
    * ``"reset_after"``: let the request take effect, then drop the connection without an answer;
    * ``"truncate"``: send the headers and only part of the body.

    ``rate`` is the probability per matching request (seeded, so a run can be replayed); ``count`` caps how many
    times the fault fires (``None``: no cap); ``after`` skips that many matching requests first.
    """

    route: str
    kind: str
    rate: float = 1.0
    status: int = 500
    retry_after: float | None = None
    latency: float = 0.0
    count: int | None = None
    after: int = 0


@dataclass(frozen=True)
class ScenarioDef:
    """A whole simulated world: projects, the workflows started at time zero, faults, and the seed."""

    projects: tuple[ProjectDef, ...]
    runs: tuple[RunDef, ...] = ()
    faults: tuple[FaultDef, ...] = ()
    seed: int = 0
    organization: str = "simulated-org"
    extras: Mapping[str, object] = field(default_factory=dict)
    early_promotions: str = "defer"
    """What a promotion of a pipeline that is not done yet (triggered with ``override``) does: ``"defer"`` starts the
    promoted pipeline once the parent is done, ``"start"`` at once. Semaphore's own order is not established."""


def simple_rule(
    result: str = "passed", *, branches: tuple[str, ...] = (), result_reason: str | None = None
) -> WhenPredicate:
    """The simplest auto-promotion rule: promote when the pipeline's result (and optionally branch) match.

    ``simple_rule("passed", branches=("master",))`` is ``when: "branch = 'master' AND result = 'passed'"``.
    """

    def predicate(facts: AutoPromoteFacts) -> bool:
        if facts.get("result") != result:
            return False
        if result_reason is not None and facts.get("result_reason") != result_reason:
            return False
        return not branches or facts.get("branch") in branches

    return predicate
