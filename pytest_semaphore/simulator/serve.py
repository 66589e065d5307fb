"""Run a simulator in the foreground until interrupted: what ``semaphore-gate simulate`` does.

Kept beside the simulator (and not in cli.py) so that the command stays a thin face: the CLI parses arguments and
maps the return value to an exit code, this module decides what a running simulator tells its user.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import NamedTuple, TextIO

from .definitions import ScenarioDef
from .runner import SemaphoreSimulator

__all__ = ["EXIT_INTERRUPTED", "EXIT_TERMINATED", "default_scenario", "serve"]

EXIT_INTERRUPTED = 130
#: 128 + SIGTERM, what a shell reports for a process killed by it; here the simulator also closes cleanly.
EXIT_TERMINATED = 143
EXIT_USAGE = 2
#: A server left running for hours keeps only the latest requests in memory.
REQUEST_LOG_LIMIT = 10_000


def default_scenario() -> Path | None:
    """The bundled demo scenario, when the package ships one."""
    candidate = Path(__file__).with_name("examples") / "release-train" / "scenario.yml"
    return candidate if candidate.is_file() else None


class _Terminated(Exception):
    """SIGTERM arrived (``kill``, a process manager, a container stopping)."""


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into an exception while serving, so that ``with simulator`` closes its sockets on the way out.

    Only the main thread may install signal handlers; elsewhere (a test calling ``serve`` from a thread) the
    default stays.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:  # None: a handler installed outside Python, which cannot be put back from here; use the default
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def serve(
    scenario: str | os.PathLike[str] | None,
    *,
    port: int = 0,
    speed: float = 1.0,
    seed: int | None = None,
    token: str | None = None,
    out: TextIO,
    err: TextIO,
    wait: Callable[[], object] | None = None,
    branch: str | None = None,
    tag: str | None = None,
    pull_request: str | None = None,
) -> int:
    """Start a simulator, print how to reach it, and block until Ctrl-C (exit 130) or SIGTERM (exit 143), quietly.

    ``wait`` blocks until it is time to stop; tests pass their own, the command waits forever. ``branch``, ``tag``
    or ``pull_request`` choose where a ``.semaphore`` folder's workflow runs.
    """
    ref = _Ref(branch, tag, pull_request)
    try:
        with _sigterm_raises():
            return _serve(
                scenario, port=port, speed=speed, seed=seed, token=token, out=out, err=err, wait=wait, ref=ref
            )
    except KeyboardInterrupt:  # also while the scenario loads, before anything was printed
        return EXIT_INTERRUPTED
    except _Terminated:
        return EXIT_TERMINATED


MAX_PORT = 65535


class _Ref(NamedTuple):
    """Where a folder's workflow runs, as the user chose it (all ``None``: the loader's default)."""

    branch: str | None
    tag: str | None
    pull_request: str | None


def _serve(
    scenario: str | os.PathLike[str] | None,
    *,
    port: int,
    speed: float,
    seed: int | None,
    token: str | None,
    out: TextIO,
    err: TextIO,
    wait: Callable[[], object] | None,
    ref: _Ref,
) -> int:
    if not (math.isfinite(speed) and speed > 0):
        print(f"semaphore-gate simulate: --speed must be a positive, finite number, not {speed}", file=err)
        return EXIT_USAGE
    if not 0 <= port <= MAX_PORT:
        print(f"semaphore-gate simulate: --port must be 0 (any free port) to {MAX_PORT}, not {port}", file=err)
        return EXIT_USAGE
    source = scenario if scenario is not None else default_scenario()
    definition: ScenarioDef | None = None
    if source is not None:
        from .scenario import load_scenario

        try:
            definition = load_scenario(source, branch=ref.branch, tag=ref.tag, pull_request=ref.pull_request)
        except ValueError as error:  # ScenarioError: it names the file, the line and the problem
            print(f"semaphore-gate simulate: {error}", file=err)
            return EXIT_USAGE
        except OSError as error:
            print(f"semaphore-gate simulate: cannot read scenario {os.fspath(source)!r}: {error.strerror}", file=err)
            return EXIT_USAGE
    try:
        simulator = SemaphoreSimulator(
            definition, port=port, speed=speed, seed=seed, token=token, request_log_limit=REQUEST_LOG_LIMIT
        )
    except OSError as error:
        print(f"semaphore-gate simulate: cannot listen on port {port}: {error.strerror or error}", file=err)
        return EXIT_USAGE
    with simulator:
        print(f"Semaphore simulator listening on {simulator.url}", file=out)
        print(f"  API:   {simulator.api_url}", file=out)
        print(f"  token: {simulator.token}", file=out)
        print(f"  speed: {speed:g}x real time", file=out)
        for project in simulator.world.projects():
            print(f"  project {project.name}: {project.project_id}", file=out)
            for workflow in simulator.world.workflows(project.project_id)[::-1]:
                print(
                    f"    workflow {workflow.wf_id} on {workflow.branch_name}: pipeline {workflow.initial_ppl_id}",
                    file=out,
                )
        print(
            f"Try: export SEMAPHORE_ORGANIZATION_URL={simulator.url} SEMAPHORE_API_TOKEN={simulator.token}",
            file=out,
        )
        print("Press Ctrl-C to stop.", file=out, flush=True)
        (wait or threading.Event().wait)()
    return 0
