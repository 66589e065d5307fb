"""``semaphore-gate``: the command-line face. Parsing, output and exit codes; the work is done by the core.

The package's rooms: :mod:`.parsing` (the command line), :mod:`.commands` (one thin handler per subcommand),
:mod:`.context` (settings, client, pacing and the JSON result of one run), :mod:`.output` and :mod:`.live` (plain
lines, JSON, JSON lines, the live terminal view), :mod:`.exitcodes` (which error means which code), :mod:`.demo`.
docs/cli.md is the user's guide.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from types import FrameType
from typing import TextIO

from .. import errors
from .exitcodes import EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE, exit_code_for

__all__ = ["Terminated", "build_parser", "main"]


class Terminated(KeyboardInterrupt):
    """SIGTERM (how CI stops a job): handled like Ctrl-C by the waits (their cancel-on-interrupt applies), but the
    command exits 143, not 130."""


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def build_parser() -> object:
    from .parsing import build_parser as build

    return build()


#: The words before an error's own message: what kind of trouble it is, so a reader never takes an outage or a
#: timeout for the pipeline's verdict.
_KINDS: tuple[tuple[type[errors.SemaphoreError], str], ...] = (
    (errors.NotFoundError, "not found (the id does not exist, or this token may not see it)"),
    (errors.AuthenticationError, "authentication or permission refused"),
    (errors.APIUnavailable, "not a pipeline verdict"),  # its message says "Semaphore API unavailable"
    (errors.WaitTimeout, "not a pipeline verdict"),  # its message says "timed out after ..."
)


def _describe_error(error: errors.SemaphoreError) -> str:
    for kind, words in _KINDS:
        if isinstance(error, kind):
            return f"{words}: {error}"
    return str(error)


def main(
    argv: Sequence[str] | None = None,
    *,
    pacing: object | None = None,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``semaphore-gate`` and return its exit code.

    ``pacing`` is the waiting engine's ``Pacing`` (tests pass the simulator's clocks so an hour runs in
    milliseconds); ``environ`` replaces ``os.environ``; ``stdout``/``stderr`` replace the process's streams.
    """
    from ..settings import Settings
    from ._interim import Pacing
    from .commands import HANDLERS
    from .context import Context
    from .output import Output
    from .parsing import FACE
    from .parsing import build_parser as build

    out_stream = stdout if stdout is not None else sys.stdout
    err_stream = stderr if stderr is not None else sys.stderr
    parser = build()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version (0) or a usage error (2, argparse printed one line)
        return int(exit_.code or 0) if isinstance(exit_.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(err_stream)
        return EXIT_USAGE
    name = f"semaphore-gate {args.command}"
    mode = "json" if args.json else "jsonl" if args.jsonl else "text"
    env = os.environ if environ is None else environ
    try:
        settings = Settings.resolve(FACE, cli=args, environ=env)
        if pacing is None:
            pacing = Pacing.at_speed(args.speed) if args.speed is not None else Pacing()
        assert isinstance(pacing, Pacing)
        pacing = dataclasses.replace(pacing, patience=settings.patience)
    except (errors.ConfigurationError, ValueError) as exc:
        print(f"{name}: {exc}", file=err_stream)
        return EXIT_USAGE
    output = Output(
        mode=mode,
        verbosity=args.verbose - args.quiet,
        stdout=out_stream,
        stderr=err_stream,
        monotonic=pacing.monotonic,
    )
    ctx = Context(args, settings, pacing, output)
    try:
        with _sigterm_interrupts():
            code = HANDLERS[args.command](ctx)
    except Terminated:
        code = _stopped(ctx, "terminated (SIGTERM)", EXIT_TERMINATED)
    except KeyboardInterrupt:
        code = _stopped(ctx, "interrupted", EXIT_INTERRUPTED)
    except errors.SemaphoreError as exc:
        code = exit_code_for(exc)
        _failed(ctx, name, exc, code)
    finally:
        output.close()
        ctx.close()
    output.document(ctx.result)
    return code


def _stopped(ctx: object, what: str, code: int) -> int:
    from .context import Context

    assert isinstance(ctx, Context)
    if ctx.settings.flag("cancel_on_interrupt"):
        then = "asked Semaphore to stop what this command started or named"
    else:
        then = "pipelines were left running (--cancel-on-interrupt stops what this command started or named)"
    ctx.out.close()
    ctx.out.error(f"semaphore-gate {ctx.args.command}: {what}; {then}")
    ctx.result.update(verdict=what.split(" ")[0], exit_code=code)
    ctx.out.event("verdict", verdict=ctx.result["verdict"], exit_code=code)
    return code


def _failed(ctx: object, name: str, error: errors.SemaphoreError, code: int) -> None:
    from .context import Context, pipeline_json

    assert isinstance(ctx, Context)
    ctx.out.close()
    if isinstance(error, errors.PipelineFailed):  # fail-fast: the failed jobs' excerpts, as for a done pipeline
        ctx.show_failures([error.pipeline])
    message = _describe_error(error)
    ctx.out.error(f"{name}: {message}")
    ctx.result.update(verdict="error", exit_code=code, error={"type": type(error).__name__, "message": message})
    last = getattr(error, "last_seen", None) or getattr(error, "pipeline", None)
    if last is not None:
        ctx.result["last_seen"] = pipeline_json(last)
    ctx.out.event("verdict", verdict="error", exit_code=code, error=message)
