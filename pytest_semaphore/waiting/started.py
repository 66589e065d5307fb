"""What this process started, and terminating it: the cancel options act on these pipelines and on nothing else.

Why a process-wide registry rather than an argument: a pipeline is started in one place (a fixture, a command, a
promotion) and waited for in another, possibly on another thread; what matters for "may I terminate it" is whether
*this process* caused it. Someone else's pipeline is terminated only when the caller says so (``cancel_foreign``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import SemaphoreError

if TYPE_CHECKING:
    from ..client import SemaphoreClient

__all__ = ["STARTED_MEMORY", "CancelOptions", "cancel", "mark_started", "started_here"]

#: How many started ids are remembered: a long-lived process (an xdist controller, a daemon) triggers pipelines for
#: days; the oldest ids are forgotten first (a wait on a pipeline started that long ago is long over).
STARTED_MEMORY = 10_000

_started: OrderedDict[str, None] = OrderedDict()
_started_lock = threading.Lock()


def mark_started(ppl_id: str) -> None:
    """Record that this process started or triggered ``ppl_id``, so that cancel options may terminate it.

    Thread-safe; bounded (the newest :data:`STARTED_MEMORY` ids). The faces call it with the first pipeline id of
    every ``run_workflow`` they make, before waiting; :func:`~pytest_semaphore.waiting.wait_for_promotion` calls it
    itself for every pipeline its promotions schedule.
    """
    with _started_lock:
        _started[ppl_id] = None
        _started.move_to_end(ppl_id)
        while len(_started) > STARTED_MEMORY:
            _started.popitem(last=False)


def started_here(ppl_id: str) -> bool:
    """Whether this process started or triggered ``ppl_id`` (see :func:`mark_started`)."""
    with _started_lock:
        return ppl_id in _started


def cancel(client: SemaphoreClient, ppl_ids: Iterable[str], *, cancel_foreign: bool) -> list[str]:
    """Terminate the pipelines this process started (all of them with ``cancel_foreign``); best effort.

    Returns the ids a terminate request was accepted for (a failed request is skipped: the wait is ending anyway,
    and its own error is the one to report).
    """
    canceled = []
    for ppl_id in ppl_ids:
        if not (cancel_foreign or started_here(ppl_id)):
            continue
        try:
            client.terminate_pipeline(ppl_id)
        except SemaphoreError:
            continue
        canceled.append(ppl_id)
    return canceled


@dataclass(frozen=True)
class CancelOptions:
    """A wait's cancel options: terminate what it waits for when it times out (``on_timeout``) or is interrupted
    (``on_interrupt``), and whether that may touch pipelines this process did not start (``foreign``)."""

    on_timeout: bool = False
    on_interrupt: bool = False
    foreign: bool = False

    def at_timeout(self, client: SemaphoreClient, ppl_ids: Iterable[str]) -> list[str]:
        """Terminate ``ppl_ids`` if the wait was asked to on timeout; the ids terminated."""
        return cancel(client, ppl_ids, cancel_foreign=self.foreign) if self.on_timeout else []

    def at_interrupt(self, client: SemaphoreClient, ppl_ids: Iterable[str]) -> None:
        """Terminate ``ppl_ids`` if the wait was asked to on ``KeyboardInterrupt``."""
        if self.on_interrupt:
            cancel(client, ppl_ids, cancel_foreign=self.foreign)
