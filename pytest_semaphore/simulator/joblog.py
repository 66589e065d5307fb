"""What a job writes: its whole log planned when it starts, the prefix visible so far, the log cut short by a stop.

A job's log is decided in one go when the job starts (each line with its offset from the start), so that reading it
while it runs is a matter of showing the lines whose offset has passed, and stopping it a matter of cutting there.
Pure functions of the job record and the world's instants; the world decides when they are called.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from . import logevents
from .definitions import CommandDef
from .records import JobRecord

__all__ = ["agent_preamble", "cut", "generated_output", "plan", "visible"]

#: Simulated seconds -> Unix time (the world's ``timestamp``).
Stamp = Callable[[float], float]


def plan(job: JobRecord, timestamp: Stamp, *, preamble: bool) -> tuple[list[logevents.LogLine], float, str]:
    """Every log line the job will write, with its offset from the job's start; its duration and result.

    ``preamble``: begin with what the agent runs before the user's commands (see :func:`agent_preamble`).
    """
    assert job.started_at is not None
    start = job.started_at
    lines = [logevents.job_started(0.0, int(timestamp(start)))]
    commands = (agent_preamble(job) if preamble else []) + list(job.definition.commands)
    if job.definition.log_bytes > 0:
        commands.append(generated_output(job.definition.log_bytes))
    offset = 0.0
    failed = False
    for command in commands:
        begin = offset
        end = begin + command.duration
        stamp_begin = int(timestamp(start + begin))
        stamp_end = int(timestamp(start + end))
        lines.append(logevents.cmd_started(begin, stamp_begin, command.directive))
        count = len(command.output)
        for i, fragment in enumerate(command.output):
            at = begin + command.duration * (i + 1) / (count + 1)
            lines.append(logevents.cmd_output(at, int(timestamp(start + at)), fragment))
        lines.append(
            logevents.cmd_finished(end, stamp_end, command.directive, command.exit_code, stamp_begin, stamp_end)
        )
        offset = end
        if command.exit_code != 0:
            failed = True
            break
    result = job.definition.result or ("failed" if failed else "passed")
    lines.append(logevents.job_finished(offset, int(timestamp(start + offset)), result))
    return lines, offset, result


def agent_preamble(job: JobRecord) -> list[CommandDef]:
    """What the agent runs before the user's commands, as every real log shows it: the job's variables being
    exported (names only) and its files injected. Instant, so that job durations stay the user's."""
    names = dict.fromkeys(["CI", "SEMAPHORE", *(name for name, _ in job.env_vars)])
    exports = tuple(f"Exporting {name}\n" for name in names)
    return [
        CommandDef("Exporting environment variables", output=exports, duration=0.0),
        CommandDef("Injecting Files", duration=0.0),
    ]


def visible(job: JobRecord, now: float) -> list[logevents.LogLine]:
    """The log lines written by ``now``: all of them once finished, a growing prefix while running."""
    if job.started_at is None:
        return []
    if job.state == "finished":
        return list(job.log)
    elapsed = now - job.started_at
    return [line for line in job.log if line.offset <= elapsed]


def cut(job: JobRecord, now: float, timestamp: Stamp) -> list[logevents.LogLine]:
    """The log of a running job stopped at ``now``, as the agent leaves it when killed: the lines written so far,
    the open command finished with exit code 1, and a ``stopped`` job end."""
    assert job.started_at is not None
    elapsed = now - job.started_at
    kept = [line for line in job.log if line.offset <= elapsed and line.kind != "job_finished"]
    open_command = None
    for line in kept:
        if line.kind == "cmd_started":
            open_command = line
        elif line.kind == "cmd_finished":
            open_command = None
    stamp = int(timestamp(now))
    if open_command is not None:
        directive = open_command.plain[:-1].decode("utf-8", "surrogateescape")
        began = int(timestamp(job.started_at + open_command.offset))
        kept.append(logevents.cmd_finished(elapsed, stamp, directive, 1, began, stamp))
    kept.append(logevents.job_finished(elapsed, stamp, "stopped"))
    return kept


def generated_output(size: int) -> CommandDef:
    """A command printing ``size`` bytes of numbered lines, in fragments that ignore line ends (as the agent's)."""
    lines: list[bytes] = []
    total = 0
    number = 0
    while total < size:
        number += 1
        line = b"generated log line %08d: the quick brown fox jumps over the lazy dog\n" % number
        lines.append(line)
        total += len(line)
    data = b"".join(lines)[:size]
    fragments: Iterable[bytes] = (data[i : i + 4000] for i in range(0, len(data), 4000))
    return CommandDef(f"generate {size} bytes of output", output=tuple(fragments), duration=1.0)
