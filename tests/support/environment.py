"""Inner pytest sessions and subprocesses must not see a developer's (or a Semaphore job's) own configuration."""

from __future__ import annotations

import os

import pytest


def drop_semaphore_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset every ``SEMAPHORE_*`` variable for the test (restored after it)."""
    for name in list(os.environ):
        if name.startswith("SEMAPHORE_"):
            monkeypatch.delenv(name)
