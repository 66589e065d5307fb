"""One verdict for a done pipeline: :func:`outcome` maps (state, result, result_reason) to an :class:`Outcome`.

Why one mapping in one module: the pytest face, the ``semaphore-gate`` command (its exit codes) and the reports must
never disagree about what a pipeline's end means. ``sem`` exits 0 whatever happened and ``heroku pipelines:promote``
exits 0 on failure; a gate has to tell "the tests failed" from "the YAML is broken" from
"someone stopped it". Pure: no I/O, no clock.

The table (``result_reason`` values as Semaphore sends them, lowercase; see ``docs/waiting.md``):

============  ===================================================  ==========  =========
result        result_reason                                        Outcome     exit code
============  ===================================================  ==========  =========
passed        any                                                  passed      0
failed        test, or none given                                  failed      1
failed        malformed, stuck, or any other                       error       4
stopped       user, strategy, fast_failing, deleted, or none       stopped     3
canceled      user, strategy, fast_failing, deleted, or none       canceled    3
stopped       internal, timeout, stuck, or an unknown reason       error       4
canceled      internal, timeout, stuck, or an unknown reason       error       4
none/unknown  any (a done pipeline without a result we know)       error       4
============  ===================================================  ==========  =========

A pipeline that is not done has no outcome: :func:`outcome` raises ``ValueError`` (the caller waited too little).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..models import Pipeline

__all__ = ["Outcome", "outcome", "outcome_of", "worst_outcome"]


class Outcome(str, enum.Enum):
    """The verdict on a done pipeline. A ``str`` so that it prints and serialises as its value."""

    PASSED = "passed"
    """The pipeline passed."""
    FAILED = "failed"
    """Its tests (jobs) failed: the ordinary red build."""
    STOPPED = "stopped"
    """Stopped while running, by a user, the auto-cancel strategy, fail-fast or deletion."""
    CANCELED = "canceled"
    """Canceled before it ran, for the same reasons."""
    ERROR = "error"
    """It ended for another reason: malformed YAML, stuck, an internal error, a time limit, or an unknown value."""

    def __str__(self) -> str:
        return self.value

    @property
    def exit_code(self) -> int:
        """The ``semaphore-gate`` exit code: 0 passed, 1 failed, 3 stopped or canceled, 4 error."""
        return _EXIT_CODES[self]

    @property
    def ok(self) -> bool:
        return self is Outcome.PASSED


_EXIT_CODES = {
    Outcome.PASSED: 0,
    Outcome.FAILED: 1,
    Outcome.STOPPED: 3,
    Outcome.CANCELED: 3,
    Outcome.ERROR: 4,
}

#: ``failed`` with these reasons (or none) means the tests failed.
_TEST_FAILURE_REASONS = frozenset({"test", None})
#: ``stopped``/``canceled`` with these reasons (or none) is a deliberate stop, not a malfunction.
_DELIBERATE_STOP_REASONS = frozenset({"user", "strategy", "fast_failing", "deleted", None})


def outcome_of(state: str | None, result: str | None, result_reason: str | None) -> Outcome:
    """The table of the module docstring, on raw values (case-insensitive; ``""`` counts as absent)."""
    state_ = (state or "").strip().lower()
    if state_ != "done":
        raise ValueError(f"a pipeline in state {state or 'unknown'!r} has no outcome yet: wait until it is 'done'")
    result_ = (result or "").strip().lower() or None
    reason = (result_reason or "").strip().lower() or None
    if result_ == "passed":
        return Outcome.PASSED
    if result_ == "failed":
        return Outcome.FAILED if reason in _TEST_FAILURE_REASONS else Outcome.ERROR
    if result_ in ("stopped", "canceled"):
        if reason not in _DELIBERATE_STOP_REASONS:
            return Outcome.ERROR
        return Outcome.STOPPED if result_ == "stopped" else Outcome.CANCELED
    return Outcome.ERROR


def outcome(pipeline: Pipeline) -> Outcome:
    """The verdict on a done pipeline (see the table in this module's docstring); ``ValueError`` if not done."""
    try:
        return outcome_of(pipeline.state, pipeline.result, pipeline.result_reason)
    except ValueError:
        raise ValueError(
            f"pipeline {pipeline.ppl_id} is in state {pipeline.state or 'unknown'!r} and has no outcome yet: "
            "wait until it is 'done'"
        ) from None


#: Which outcome wins when many pipelines are judged together (a promotion tree, a gate summary).
_SEVERITY = {Outcome.PASSED: 0, Outcome.CANCELED: 1, Outcome.STOPPED: 2, Outcome.FAILED: 3, Outcome.ERROR: 4}


def worst_outcome(pipelines: Iterable[Pipeline]) -> Outcome:
    """The most severe outcome among done pipelines (``passed`` for none): error > failed > stopped > canceled."""
    worst = Outcome.PASSED
    for pipeline in pipelines:
        current = outcome(pipeline)
        if _SEVERITY[current] > _SEVERITY[worst]:
            worst = current
    return worst
