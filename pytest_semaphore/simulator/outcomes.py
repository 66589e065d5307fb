"""Job outcomes: how a scenario says a job ends, and the job definition rewritten to end that way.

A scenario does not script results; it rewrites each job so that running it *produces* the result: the failing
command exits non-zero, the log lines become a command's output, secrets are echoed, the duration is shared out among
the commands that run. The world then runs the job like any other, so a failed job's log and timing are what a real
failure would show. Reading the ``jobs``/``defaults`` entries is here too; which job an entry names is the scenario's
business (:mod:`.scenario`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from .definitions import CommandDef, JobDef
from .yamlsource import ScenarioError, YNode

__all__ = ["MAX_LOG_BYTES", "OUTCOME_KEYS", "RESULTS", "Outcome", "apply_outcome", "read_outcome"]

#: The keys an outcome entry may hold.
OUTCOME_KEYS = {"result", "duration", "log", "log_bytes", "exit_code", "fail_at", "secrets"}
#: How a job can end.
RESULTS = ("passed", "failed", "stopped")
#: The largest generated log (``log_bytes``): enough for any large-log test, small enough to build in memory.
MAX_LOG_BYTES = 100_000_000


@dataclass(frozen=True)
class Outcome:
    """How a job ends, as written in the scenario; unset fields keep the job's (or the defaults') value."""

    result: str | None = None
    duration: float | None = None
    log: tuple[str, ...] | None = None
    log_bytes: int | None = None
    exit_code: int | None = None
    fail_at: int | str | None = None
    secrets: tuple[tuple[str, str], ...] | None = None

    def over(self, base: Outcome) -> Outcome:
        """This outcome with ``base`` filling the fields it leaves unset."""
        return Outcome(
            **{
                f.name: getattr(self, f.name) if getattr(self, f.name) is not None else getattr(base, f.name)
                for f in dataclasses.fields(self)
            }
        )


def read_outcome(entries: Mapping[str, YNode], what: str) -> Outcome:
    result = None
    if "result" in entries:
        result = entries["result"].string(f"the `result` of {what}")
        if result not in RESULTS:
            raise entries["result"].error(f"`result` must be one of {', '.join(RESULTS)}, got {result!r}")
    duration = entries["duration"].number("`duration` (seconds)", minimum=0) if "duration" in entries else None
    log: tuple[str, ...] | None = None
    if "log" in entries:
        node = entries["log"]
        if isinstance(node.value, str):
            log = tuple(node.value.splitlines())
        else:
            log = tuple(node.strings("`log` (a string or a list of lines)"))
    log_bytes = (  # the world builds the whole log in memory when the job runs: bounded here, not there
        entries["log_bytes"].integer("`log_bytes`", minimum=0, maximum=MAX_LOG_BYTES)
        if "log_bytes" in entries
        else None
    )
    exit_code = entries["exit_code"].integer("`exit_code`", minimum=1, maximum=255) if "exit_code" in entries else None
    fail_at: int | str | None = None
    if "fail_at" in entries:
        node = entries["fail_at"]
        if isinstance(node.value, int) and not isinstance(node.value, bool):
            fail_at = node.integer("`fail_at` (a command number, from 1)", minimum=1)
        else:
            fail_at = node.string("`fail_at` (a command, or its number from 1)")
    secrets: tuple[tuple[str, str], ...] | None = None
    if "secrets" in entries:
        node = entries["secrets"]
        items = [node] if isinstance(node.value, dict) else node.sequence("`secrets`")
        pairs = []
        for item in items:
            secret = item.check_keys("a secret", {"name", "value"})
            if "name" not in secret or "value" not in secret:
                raise item.error("a secret needs `name` (the environment variable) and `value`")
            pairs.append((secret["name"].string("a secret `name`"), secret["value"].string("a secret `value`")))
        secrets = tuple(pairs)
    return Outcome(result, duration, log, log_bytes, exit_code, fail_at, secrets)


def apply_outcome(job: JobDef, outcome: Outcome, node: YNode | None) -> JobDef:
    """The job as the outcome says it ends: the failing command exits non-zero, the log lines are its output."""
    commands = list(job.commands) or [CommandDef("true")]
    last = len(commands) - 1
    if outcome.result == "failed":
        last = _failing_index(job, commands, outcome, node)
        commands[last] = dataclasses.replace(commands[last], exit_code=outcome.exit_code or 1)
    elif outcome.fail_at is not None or outcome.exit_code is not None:
        raise _error(node, f"job {job.name!r}: `fail_at` and `exit_code` only make sense with `result: failed`")
    if outcome.log:
        text = tuple(line + "\n" for line in outcome.log)
        commands[last] = dataclasses.replace(commands[last], output=commands[last].output + text)
    if outcome.secrets:  # echoed first, so that even a job failing at once has printed them
        echoes = [CommandDef(f'echo "${name}"', output=(f"{value}\n",)) for name, value in outcome.secrets]
        commands = echoes + commands
        last += len(echoes)
    if outcome.duration is not None:
        share = outcome.duration / (last + 1)
        commands = [dataclasses.replace(c, duration=share) if i <= last else c for i, c in enumerate(commands)]
    env_vars = job.env_vars + (outcome.secrets or ())
    return dataclasses.replace(
        job,
        commands=tuple(commands),
        result="stopped" if outcome.result == "stopped" else job.result,
        log_bytes=outcome.log_bytes if outcome.log_bytes is not None else job.log_bytes,
        env_vars=env_vars,
    )


def _error(node: YNode | None, problem: str) -> ScenarioError:
    return node.error(problem) if node is not None else ScenarioError(problem)


def _failing_index(job: JobDef, commands: list[CommandDef], outcome: Outcome, node: YNode | None) -> int:
    if outcome.fail_at is None:
        return len(commands) - 1
    directives = [command.directive for command in commands]
    if isinstance(outcome.fail_at, int):
        if outcome.fail_at > len(commands):
            raise _error(
                node, f"job {job.name!r} has {len(commands)} commands, `fail_at: {outcome.fail_at}` is past the last"
            )
        return outcome.fail_at - 1
    if outcome.fail_at not in directives:
        raise _error(node, f"job {job.name!r} has no command {outcome.fail_at!r} (its commands: {directives})")
    return directives.index(outcome.fail_at)
