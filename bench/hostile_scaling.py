"""Is cleaning and redacting hostile text linear? Time per MB at two sizes, for inputs built to make a regex backtrack.

A pattern that is quadratic over a whole body turns a 64 KB error message into seconds of work; the test suite bounds
memory by counts, and this script checks the time: for each hostile input it runs ``clean_text`` then a
``Redactor`` (two literal secrets sharing a prefix, and a pattern), then the whole excerpt path, at a small and a
ten times larger size. Linear work gives a ratio near 10; quadratic, near 100.

    .venv/bin/python bench/hostile_scaling.py [--quick]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from pytest_semaphore.logs import Redactor, clean_text, excerpt_from_text

#: Units repeated to build each input: escape sequences never terminated, a secret's prefix never completed, a
#: pattern's prefix never followed by its end, carriage returns with nothing between them, a bidi run.
HOSTILE = {
    "unterminated CSI": "\x1b[",
    "unterminated OSC": "\x1b]",
    "unterminated DCS": "\x1bP",
    "ESC + intermediate": "\x1b ",
    "a secret's prefix": "abcdefgh" + "x" * 29,
    "carriage returns": "\r",
    "pattern prefix": "token=",
    "bidi overrides": "\u202e\u2066",
}


def _timed(action: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs, one repeat")
    args = parser.parse_args()
    small = 64 * 1024 if args.quick else 256 * 1024
    repeat = 1 if args.quick else 3
    redactor = Redactor(["abcdefgh" + "x" * 30, "abcdefgh" + "y" * 30], patterns=[r"token=\S+\b"])
    print(f"{'input':22s} {'small ms':>9s} {'10x ms':>9s} {'ratio':>6s}")
    for name, unit in HOSTILE.items():
        times = []
        for size in (small, 10 * small):
            text = unit * (size // len(unit))

            def work(text: str = text) -> None:
                redactor(clean_text(text))
                excerpt_from_text(text)

            times.append(_timed(work, repeat))
        print(f"{name:22s} {times[0] * 1000:9.1f} {times[1] * 1000:9.1f} {times[1] / times[0]:6.1f}")


if __name__ == "__main__":
    main()
