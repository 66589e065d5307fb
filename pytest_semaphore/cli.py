"""``semaphore-gate``: the command-line face. Parsing, output and exit codes only; the work is done by the core.

Exit codes (documented in docs/cli.md): 0 passed, 1 failed, 2 usage or bad input, 3 stopped or canceled,
4 failed for another reason, 5 API unavailable, 6 authentication or permission, 124 gate timeout, 130 interrupted,
143 terminated by SIGTERM (``simulate``, after closing its server).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="semaphore-gate",
        description="Gate deployments on Semaphore CI 2.0 pipelines.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_simulate(commands)
    return parser


def _add_simulate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = commands.add_parser(
        "simulate",
        help="run a local Semaphore API simulator until Ctrl-C",
        description=(
            "Serve a simulated Semaphore v1alpha API on loopback and print its URL and token. "
            "SCENARIO is a scenario file or a repository's .semaphore folder (default: the bundled demo)."
        ),
    )
    sub.add_argument("scenario", nargs="?", metavar="SCENARIO", help="scenario file or .semaphore folder")
    sub.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    sub.add_argument(
        "--speed", type=float, default=1.0, help="simulated seconds per real second (default: 1, real time)"
    )
    sub.add_argument("--seed", type=int, default=None, help="seed for ids and faults (default: the scenario's)")
    where = sub.add_mutually_exclusive_group()
    where.add_argument(
        "--branch",
        help="run a .semaphore folder's workflow on this branch (default: the repository's current branch when the "
        "folder's parent is a git checkout, else master)",
    )
    where.add_argument("--tag", help="run a .semaphore folder's workflow as a build of this tag")
    where.add_argument(
        "--pull-request", metavar="NUMBER", help="run a .semaphore folder's workflow as this pull request"
    )
    sub.set_defaults(handler=_run_simulate)


def _run_simulate(args: argparse.Namespace) -> int:
    from .simulator.serve import serve

    return serve(
        args.scenario,
        port=args.port,
        speed=args.speed,
        seed=args.seed,
        out=sys.stdout,
        err=sys.stderr,
        branch=args.branch,
        tag=args.tag,
        pull_request=args.pull_request,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    handler = getattr(args, "handler", None)
    if handler is not None:
        return int(handler(args))
    return EXIT_USAGE  # pragma: no cover - every subcommand returns from its own handler


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
