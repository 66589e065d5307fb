"""In-process inner pytest sessions (``pytester.runpytest``) restore ``sys.modules`` when they end: a module first
imported inside one would be imported afresh by the next, with a second copy of its classes. Importing the plugin's
modules here, before any inner session, keeps one copy for the whole run (as tests/plugin/conftest.py does)."""

from __future__ import annotations

import pytest_semaphore.client
import pytest_semaphore.plugin.runtime
import pytest_semaphore.simulator
import pytest_semaphore.waiting  # noqa: F401
