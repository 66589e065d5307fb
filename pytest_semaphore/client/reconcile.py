"""Writes whose outcome is uncertain: what the client concludes after a failure that may have come after the server
acted (``docs/client.md``, "What is never resent").

* ``run_workflow`` is sent once (:func:`start_once`). After an ambiguous failure (a reset or read timeout after
  sending, a 5xx, a 2xx whose body cannot be read) the caller may reconcile (:func:`find_started`): the branch's
  newest workflows, listed before and after, differ by the one the request created, if it did.
* A promotion trigger (:func:`trigger_once`) is resent only when the promotions list shows it did not land
  (:func:`resend_until_recorded`).

No clock comparison is involved, so clock skew between us and the server does not matter. The sends go through the
transport; the lookups are passed in as functions, so this module holds the rules and no endpoint's parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import APIError, OutcomeUnknown, SemaphoreError
from ..models import Promotion, Workflow, WorkflowStarted
from .retry import Policy
from .transport import Transport

__all__ = [
    "RECONCILE_LOOKS",
    "RECONCILE_PAUSE",
    "RECONCILE_WINDOW",
    "Uncertain",
    "branch_of",
    "find_started",
    "resend_until_recorded",
    "start_once",
    "trigger_once",
]

#: How many of a branch's newest workflows reconciliation compares (one page).
RECONCILE_WINDOW = 30
#: After an ambiguous failure, how often (and how long apart) to look for the record it may have created.
RECONCILE_LOOKS = 3
RECONCILE_PAUSE = 2.0


@dataclass(frozen=True)
class Uncertain:
    """A write that may or may not have taken effect."""

    unknown: OutcomeUnknown
    """The error to raise if nothing settles it."""
    accepted: bool = False
    """A 2xx whose body could not be read: the record exists, only its ids are unknown."""


def branch_of(reference: str) -> str:
    """The ``branch_name`` the server records for a run-workflow ``reference``."""
    if reference.startswith("refs/heads/"):
        return reference[len("refs/heads/") :]
    if reference.startswith("refs/pull/"):
        return "pull-request-" + reference[len("refs/pull/") :].split("/", 1)[0]
    return reference  # refs/tags/X keeps the whole ref; a bare name is a branch


def start_once(http: Transport, path: str, body: dict[str, Any]) -> WorkflowStarted | Uncertain:
    """``POST`` a workflow, never resent once it may have reached the server: its ids, or what is uncertain."""
    try:
        reply = http.exchange("POST", path, body=body, policy=Policy.NOT_IDEMPOTENT)
    except OutcomeUnknown as exc:
        return Uncertain(exc)
    if reply.status in (500, 502, 503, 504):
        return Uncertain(OutcomeUnknown("POST", path, f"HTTP {reply.status}{reply.said()}"))
    reply.check()
    detail = ""
    try:
        return reply.decode(WorkflowStarted.from_api)
    except APIError as exc:
        detail = exc.detail or str(exc)
    reason = f"HTTP {reply.status}: the server accepted it, but the answer could not be read: {detail}"
    return Uncertain(OutcomeUnknown("POST", path, reason), accepted=True)


def trigger_once(http: Transport, path: str, body: dict[str, Any]) -> OutcomeUnknown | None:
    """``POST`` a promotion trigger once: ``None`` if it certainly landed, else what is uncertain (errors raised).

    A 500 is the server's answer to a bad parameter value, and certain: it is raised, never resent.
    """
    try:
        reply = http.exchange("POST", path, body=body, policy=Policy.NOT_IDEMPOTENT)
    except OutcomeUnknown as unknown:
        return unknown
    if reply.status in (502, 503, 504):
        return OutcomeUnknown("POST", path, f"HTTP {reply.status}{reply.said()}")
    reply.check()
    return None


def find_started(
    recent: Callable[[], list[Workflow]],
    uncertain: Uncertain,
    *,
    before: set[str],
    branch: str,
    commit_sha: str | None,
    sleep: Callable[[float], None],
) -> WorkflowStarted:
    """The one workflow in ``recent()`` that is new since ``before`` and could be ours, else ``OutcomeUnknown``.

    ``recent`` lists the branch's newest workflows, one page: both snapshots have the same size and the list is
    newest first, so anything in the second that is not in the first is new. No ``created_after`` is used: our
    clock and the server's need not agree.
    """
    unknown = uncertain.unknown
    unreadable: SemaphoreError | None = None
    read_once = False
    for attempt in range(RECONCILE_LOOKS):
        if attempt:
            sleep(RECONCILE_PAUSE * attempt)
        try:
            found = recent()
        except SemaphoreError as exc:
            unreadable = exc
            continue
        read_once = True
        candidates = [
            wf
            for wf in found
            if wf.wf_id not in before
            and (wf.triggered_by in (None, "api"))
            and (not commit_sha or wf.commit_sha == commit_sha)
        ]
        if len(candidates) == 1:
            wf = candidates[0]
            return WorkflowStarted(wf_id=wf.wf_id, ppl_id=wf.initial_ppl_id, raw=dict(wf.raw))
        if len(candidates) > 1:
            ids = ", ".join(wf.wf_id for wf in candidates[:5])
            raise _more(unknown, f"{len(candidates)} new workflows match: {ids}")
    if not read_once:
        # Never "probably not created" when nothing was seen: a user reading that would run it again.
        raise _more(unknown, f"the workflow list could not be read to find out: {unreadable}")
    # After a 2xx the workflow was created: not finding it must not read as "probably not created".
    verdict = "yet it was accepted: look for it in the UI" if uncertain.accepted else "so it was probably not created"
    raise _more(unknown, f"no new workflow for branch {branch!r} was found after {RECONCILE_LOOKS} looks, {verdict}")


def resend_until_recorded(
    send: Callable[[], OutcomeUnknown | None],
    records: Callable[[], Iterable[Promotion]],
    *,
    before: Iterable[Promotion],
    attempts: Iterable[int],
    target: str,
) -> None:
    """Send a promotion trigger until it lands; resent only when no new record of it appeared.

    ``send`` makes one attempt and returns ``None`` when it certainly landed, or what is uncertain; ``records`` lists
    the promotions of that name; ``before`` is that list taken before the first attempt; ``attempts`` yields the
    attempt numbers, pausing between them.
    """
    known = {p.identity for p in before}
    last: OutcomeUnknown | None = None
    sent = 0
    for attempt in attempts:
        sent = attempt + 1
        last = send()
        if last is None:
            return
        # Ambiguous: did it land? Only a new record of this name says so.
        try:
            now = {p.identity for p in records()}
        except SemaphoreError as exc:
            raise _more(last, f"the promotions list could not be read: {exc}", sent=sent) from None
        if now - known:
            return
    assert last is not None
    raise _more(last, f"no new {target!r} promotion appeared after any attempt", sent=sent)


def _more(unknown: OutcomeUnknown, finding: str, *, sent: int = 1) -> OutcomeUnknown:
    """``unknown`` with what reconciling found out added to its reason."""
    return OutcomeUnknown(unknown.method, unknown.path, f"{unknown.reason}; {finding}", sent=sent)
