"""Block until pipelines finish: few requests, fast detection of the end, and never a false verdict.

Why this package exists: "wait until the pipeline is done" is the heart of every gate, and the tools release
engineers use today get it wrong in known ways: fixed 3 s polling that burns the API, no timeout, one 502 ending the
wait, exiting before the run exists, trusting a job's result before it finished. Here:

* *how fast* to poll, on which clocks, within which request budget and with how much patience for API outages is one
  frozen :class:`Pacing` (:mod:`.pacing`), from which each wait builds its own poll schedule (:mod:`.schedule`);
* *what* a done pipeline means is :mod:`.outcomes`;
* every wait runs the same poll loop (:mod:`.loop`): a transient API failure is never a verdict, only a longer wait,
  until the outage outlasts the patience (:class:`~pytest_semaphore.errors.APIUnavailable`); every wait has a finite
  timeout (:class:`~pytest_semaphore.errors.WaitTimeout` carries the last pipeline seen);
* one module per kind of wait: one pipeline (:mod:`.pipeline`), many (:mod:`.many`), a workflow (:mod:`.workflow`),
  a promotion (:mod:`.promotion`);
* cancel-on-timeout and cancel-on-interrupt terminate only pipelines this process started or triggered
  (:func:`mark_started`, :mod:`.started`) unless told otherwise (``cancel_foreign=True``).

``docs/waiting.md`` is the user's guide to the options and the exceptions.
"""

from __future__ import annotations

from .gate import Blocker, JobIdentity, PromoteAction, PromoteEvent, PromoteResult, promote
from .loop import DEFAULT_TIMEOUT
from .many import wait_for_pipelines
from .outcomes import Outcome, outcome, outcome_of, worst_outcome
from .pacing import DEFAULT_PATIENCE, Pacing
from .pipeline import DEFAULT_APPEAR_TIMEOUT, find_pipeline, predict_duration, wait_for_pipeline
from .promotion import PromotionResult, wait_for_promotion
from .schedule import (
    DEFAULT_CAP,
    DEFAULT_GROWTH,
    DEFAULT_JITTER,
    DEFAULT_START,
    DENSE_MAX,
    SPARSE_CAP,
    PollSchedule,
    Prediction,
    RequestBudget,
)
from .started import mark_started, started_here
from .workflow import DEFAULT_PROMOTION_GRACE, wait_for_workflow

__all__ = [
    "DEFAULT_APPEAR_TIMEOUT",
    "DEFAULT_CAP",
    "DEFAULT_GROWTH",
    "DEFAULT_JITTER",
    "DEFAULT_PATIENCE",
    "DEFAULT_PROMOTION_GRACE",
    "DEFAULT_START",
    "DEFAULT_TIMEOUT",
    "DENSE_MAX",
    "SPARSE_CAP",
    "Blocker",
    "JobIdentity",
    "Outcome",
    "Pacing",
    "PollSchedule",
    "Prediction",
    "PromoteAction",
    "PromoteEvent",
    "PromoteResult",
    "PromotionResult",
    "RequestBudget",
    "find_pipeline",
    "mark_started",
    "outcome",
    "outcome_of",
    "predict_duration",
    "promote",
    "started_here",
    "wait_for_pipeline",
    "wait_for_pipelines",
    "wait_for_promotion",
    "wait_for_workflow",
    "worst_outcome",
]
