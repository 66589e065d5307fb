"""The public contract (docs/client.md, docs/waiting.md): the names ``pytest_semaphore`` exports, and cheap import."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_the_contract_names_are_the_documented_objects() -> None:
    import pytest_semaphore
    import pytest_semaphore.waiting  # importing the submodules first must not shadow any exported name
    from pytest_semaphore import Pacing, SemaphoreClient, errors, outcome, wait_for_pipeline
    from pytest_semaphore.client import SemaphoreClient as client_class
    from pytest_semaphore.errors import SemaphoreError
    from pytest_semaphore.waiting.outcomes import outcome as outcome_function

    assert SemaphoreClient is client_class
    assert wait_for_pipeline is pytest_semaphore.waiting.wait_for_pipeline
    assert outcome is outcome_function
    assert Pacing is pytest_semaphore.waiting.pacing.Pacing
    assert errors.SemaphoreError is SemaphoreError
    assert sorted(pytest_semaphore.__all__) == ["Pacing", "SemaphoreClient", "errors", "outcome", "wait_for_pipeline"]


def test_importing_the_package_and_the_plugin_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, pytest_semaphore, pytest_semaphore.plugin\n"
        "heavy = [m for m in ('requests', 'urllib3', 'jinja2', 'junitparser', 'yaml', 'pytest_semaphore.simulator')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == ""


def test_the_version_is_the_installed_distributions_read_only_when_asked() -> None:
    code = (
        "import sys, pytest_semaphore\n"
        "loaded_early = 'importlib.metadata' in sys.modules\n"
        "from importlib.metadata import version\n"
        "value = pytest_semaphore.__version__\n"
        "print(loaded_early, value == version('pytest-semaphore'), value)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    early, same, value = result.stdout.split()
    assert (early, same) == ("False", "True")
    assert value != "0+unknown"


def test_the_version_falls_back_when_the_package_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    import pytest_semaphore

    monkeypatch.setattr(pytest_semaphore, "DISTRIBUTION", "pytest-semaphore-not-installed")
    assert pytest_semaphore._version() == pytest_semaphore.UNKNOWN_VERSION == "0+unknown"


def test_the_cheap_parts_of_the_client_load_no_http_library() -> None:
    code = (
        "import sys\n"
        "from pytest_semaphore.client import API_PREFIX, iter_events, normalise_base_url, strip_queries\n"
        "from pytest_semaphore.client.baseurl import is_loopback\n"
        "print(','.join(m for m in ('requests', 'urllib3') if m in sys.modules))\n"
        "from pytest_semaphore.client import SemaphoreClient\n"
        "print(SemaphoreClient.__module__, 'requests' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.splitlines() == ["", "pytest_semaphore.client.semaphore True"]
