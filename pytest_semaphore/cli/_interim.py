"""Stand-in for the waiting engine's ``Pacing`` until the waiting package provides it (then this file goes).

Only what the command uses: the clocks, the jitter's random source, the request budget, the patience, and
``at_speed`` for rehearsals against a simulator that runs faster than real time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..schedule import RequestBudget


@dataclass(frozen=True)
class Pacing:
    patience: float = 300.0
    budget: RequestBudget | None = None
    sleep: Callable[[float], object] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    rng: random.Random | None = None

    @classmethod
    def at_speed(cls, speed: float, **fields: Any) -> Pacing:
        if speed == 1:
            return cls(**fields)
        return cls(sleep=lambda s: time.sleep(s / speed), monotonic=lambda: time.monotonic() * speed, **fields)


def wait_kwargs(pacing: Pacing) -> dict[str, Any]:
    """The keyword arguments of today's waiting functions for ``pacing``."""
    return {
        "patience": pacing.patience,
        "budget": pacing.budget,
        "sleep": pacing.sleep,
        "monotonic": pacing.monotonic,
        "rng": pacing.rng,
    }
