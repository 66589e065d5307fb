"""``semaphore-gate``: the command-line face. Parsing, output and exit codes only; the work is done by the core.

Exit codes (documented in docs/cli.md): 0 passed, 1 failed, 2 usage or bad input, 3 stopped or canceled,
4 failed for another reason, 5 API unavailable, 6 authentication or permission, 124 gate timeout, 130 interrupted.
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
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return EXIT_USAGE  # pragma: no cover - every subcommand returns from its own handler


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
