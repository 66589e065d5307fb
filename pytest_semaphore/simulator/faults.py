"""Fault injection: which request gets which failure, decided by a seeded generator.

Clients are only trustworthy if they were seen to survive the failures the real service produces (5xx bursts, a 403
from an erring auth service, 429s, slow answers, dropped connections, cut bodies). The decision of *whether* a request
fails is made here, reproducibly for a given seed, so that a failing run can be replayed; *how* it fails on the wire
is the HTTP layer's business.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass

from .definitions import FaultDef

__all__ = ["FAULT_KINDS", "FaultInjector", "compile_route"]

FAULT_KINDS = ("status", "rate_limit", "latency", "reset_before", "reset_after", "truncate")
_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE", "HEAD")


def compile_route(route: str) -> tuple[str | None, re.Pattern[str]]:
    """``"GET /api/v1alpha/pipelines/*"`` -> (method or None, path regex); ``*`` is one segment, ``**`` any rest."""
    text = route.strip()
    method: str | None = None
    head, _, rest = text.partition(" ")
    if rest and head.upper() in _METHODS:
        method, text = head.upper(), rest.strip()
    if not text.startswith("/"):
        raise ValueError(f"fault route {route!r} must be 'METHOD /path/glob' or '/path/glob' (it must start with '/')")
    parts = []
    for segment in text.split("/"):
        if segment == "**":
            parts.append(".*")
        else:
            parts.append("[^/]*".join(re.escape(piece) for piece in segment.split("*")))
    return method, re.compile("/".join(parts) + r"\Z")


@dataclass
class _Active:
    fault: FaultDef
    method: str | None
    pattern: re.Pattern[str]
    matched: int = 0
    fired: int = 0


class FaultInjector:
    """The active faults, in the order they were added; the first one that fires for a request wins."""

    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._rng = random.Random(f"faults-{seed}")  # noqa: S311 - replayable, not secret
        self._active: list[_Active] = []
        self._lock = threading.Lock()

    def add(self, fault: FaultDef) -> None:
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}: use one of {', '.join(FAULT_KINDS)}")
        if not 0.0 <= fault.rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, not {fault.rate!r}")
        if fault.kind == "status" and not 400 <= fault.status <= 599:
            raise ValueError(f"a 'status' fault needs an error status (400-599), not {fault.status!r}")
        method, pattern = compile_route(fault.route)
        with self._lock:
            self._active.append(_Active(fault, method, pattern))

    def clear(self) -> None:
        """No fault any more, and the random draws start again from the seed: faults added after a clear fire as
        they would on a fresh simulator, whatever fired before (a test replaying one case among many needs that)."""
        with self._lock:
            self._active.clear()
            self._rng.seed(f"faults-{self._seed}")

    def pick(self, method: str, path: str) -> FaultDef | None:
        """The one fault to inject into this request, if any (see :meth:`pick_all`)."""
        fired = self.pick_all(method, path)
        return fired[-1] if fired else None

    def pick_all(self, method: str, path: str) -> list[FaultDef]:
        """The faults to inject into this request, in order: every ``latency`` that fires, then at most one other.

        Latency adds to whatever else happens (a slow answer that ends in a 504 is how an ingress timeout looks);
        any other kind decides the answer, so the first one that fires ends the search. Counts and random draws
        advance for every matching fault that is examined, so a seed replays the same run.
        """
        fired: list[FaultDef] = []
        with self._lock:
            for active in self._active:
                if active.method is not None and active.method != method:
                    continue
                if not active.pattern.match(path):
                    continue
                active.matched += 1
                if active.matched <= active.fault.after:
                    continue
                if active.fault.count is not None and active.fired >= active.fault.count:
                    continue
                if self._rng.random() < active.fault.rate:
                    active.fired += 1
                    fired.append(active.fault)
                    if active.fault.kind != "latency":
                        break
        return fired
