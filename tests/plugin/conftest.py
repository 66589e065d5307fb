"""Helpers for the plugin's own tests: the bundled scenarios, and reading what a pytester run wrote.

Each test runs an inner pytest session with ``pytester``: in-process where nothing process-wide is involved,
in a subprocess for xdist, the environment, signals and import costs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# In-process inner sessions restore ``sys.modules`` when they end: a module first imported inside one would be
# imported afresh by the next, leaving two copies of its classes and state (the package's lazily re-exported names
# would keep the first). Importing them here, before any inner session, keeps one copy for the whole run.
import pytest_semaphore.client
import pytest_semaphore.plugin.runtime
import pytest_semaphore.simulator
import pytest_semaphore.waiting  # noqa: F401

from ..support.environment import drop_semaphore_variables

EXAMPLES = Path(__file__).parents[2] / "pytest_semaphore" / "simulator" / "examples" / "release-train"
#: Every job passes; Staging is auto-promoted, Production takes REGION.
RELEASE_TRAIN = EXAMPLES / "scenario.yml"
#: Shard 2 of the unit tests fails with exit code 2 (``make test PARTITION=...``).
FAILING_TRAIN = EXAMPLES / "failing.yml"
#: A recognisable token: it must appear in no output and no file.
CANARY = "canary-9f8e7d6c5b4a-token"


@pytest.fixture(autouse=True)
def _clean_semaphore_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner sessions must not see a developer's (or a Semaphore job's) own configuration."""
    drop_semaphore_variables(monkeypatch)
