"""Hooks of the pytest-semaphore plugin, added in ``pytest_addhooks``; implement them in a ``conftest.py``.

Each runs in the process that did the work: under pytest-xdist, a worker for what a test's fixtures waited on, the
controller for the session actions (``--semaphore-wait-for``, ``--semaphore-promote``). ``docs/plugin.md`` (Hooks)
has an example of each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .logs import Excerpt
    from .models import Pipeline
    from .waiting import Outcome


@pytest.hookspec
def pytest_semaphore_pipeline_done(pipeline: Pipeline, outcome: Outcome) -> None:
    """A pipeline that the plugin waited for is done (whatever its result): a fixture's wait, a session action's,
    or a promoted pipeline's. Not called when a wait timed out or the API was unavailable: there is no verdict."""


@pytest.hookspec
def pytest_semaphore_promotion_triggered(pipeline: Pipeline, name: str, parameters: Mapping[str, str]) -> None:
    """Promotion ``name`` of ``pipeline`` was triggered (or an earlier identical one was found and reused) with
    ``parameters``. Called before the promoted pipeline is waited for."""


@pytest.hookspec(firstresult=True)
def pytest_semaphore_redact(text: str) -> str | None:
    """Redact more than the built-in rules (the API token, secret-looking job variables) in a log line.

    Return the changed text, or ``None`` to leave it to the next implementation. Applied to job-log text before it is
    shown, attached to the JUnit report or written to a full-log file.
    """


@pytest.hookspec(firstresult=True)
def pytest_semaphore_log_excerpt(excerpt: Excerpt) -> Excerpt | bool | None:
    """Change or drop a failed job's log excerpt before it is shown and attached.

    Return a new :class:`~pytest_semaphore.logs.Excerpt` (e.g. ``dataclasses.replace(excerpt, lines=...)``) to use it
    instead, ``False`` to attach nothing for this job, or ``None`` to keep it as it is.
    """
