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
from ..settings import Settings
from ..waiting import Pacing
from .commands import HANDLERS
from .context import Context
from .exitcodes import EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE
from .output import Output
from .parsing import FACE, build_parser

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


def main(
    argv: Sequence[str] | None = None,
    *,
    pacing: Pacing | None = None,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``semaphore-gate`` and return its exit code.

    ``pacing`` is the waiting engine's ``Pacing`` (tests pass the simulator's clocks so an hour runs in
    milliseconds); ``environ`` replaces ``os.environ``; ``stdout``/``stderr`` replace the process's streams.
    """
    out_stream = stdout if stdout is not None else sys.stdout
    err_stream = stderr if stderr is not None else sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version (0) or a usage error (2, argparse printed one line)
        return int(exit_.code or 0) if isinstance(exit_.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(err_stream)
        return EXIT_USAGE
    if args.json and args.jsonl:  # one before the subcommand, the other after it
        print(f"semaphore-gate {args.command}: --json and --jsonl exclude each other; choose one", file=err_stream)
        return EXIT_USAGE
    mode = "json" if args.json else "jsonl" if args.jsonl else "text"
    env = os.environ if environ is None else environ
    try:
        settings = Settings.resolve(FACE, cli=args, environ=env)
        if pacing is None:
            pacing = Pacing.at_speed(args.speed) if args.speed is not None else Pacing()
        pacing = dataclasses.replace(pacing, patience=settings.patience)
    except (errors.ConfigurationError, ValueError) as exc:
        print(f"semaphore-gate {args.command}: {exc}", file=err_stream)
        return EXIT_USAGE
    output = Output(
        mode=mode,
        verbosity=args.verbose - args.quiet,
        stdout=out_stream,
        stderr=err_stream,
        monotonic=pacing.monotonic,
    )
    ctx = Context(args, settings, pacing, output, env)
    try:
        with _sigterm_interrupts():
            code = HANDLERS[args.command](ctx)
    except Terminated:
        code = ctx.interrupted("terminated", "SIGTERM", EXIT_TERMINATED)
    except KeyboardInterrupt:
        code = ctx.interrupted("interrupted", "Ctrl-C", EXIT_INTERRUPTED)
    except errors.SemaphoreError as exc:
        code = ctx.failed(exc)
    finally:
        output.close()
    output.document(ctx.document())
    ctx.close()
    return code
