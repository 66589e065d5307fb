"""pytest-semaphore: gate deployments on Semaphore CI 2.0 from pytest or the ``semaphore-gate`` command.

The public names are re-exported lazily (a module ``__getattr__``) so that ``import pytest_semaphore``, which pytest
does for every run once the plugin is installed, costs almost nothing: ``requests``, ``jinja2``, ``junitparser`` and
``yaml`` are imported only by the modules that use them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import errors as errors
    from .client import SemaphoreClient as SemaphoreClient
    from .waiting import Pacing as Pacing
    from .waiting import outcome as outcome
    from .waiting import wait_for_pipeline as wait_for_pipeline

    __version__: str

__all__ = ["Pacing", "SemaphoreClient", "errors", "outcome", "wait_for_pipeline"]

#: The distribution whose metadata holds the version (pyproject.toml's ``version``, its one literal).
DISTRIBUTION = "pytest-semaphore"
#: ``__version__`` when the package runs from a source tree that was never installed (no metadata to read).
UNKNOWN_VERSION = "0+unknown"

_LAZY = {
    "SemaphoreClient": ("pytest_semaphore.client", "SemaphoreClient"),
    "wait_for_pipeline": ("pytest_semaphore.waiting", "wait_for_pipeline"),
    "Pacing": ("pytest_semaphore.waiting", "Pacing"),
    "outcome": ("pytest_semaphore.waiting", "outcome"),
    "errors": ("pytest_semaphore.errors", None),
}


def _version() -> str:
    """The installed distribution's version, read from its metadata (``importlib.metadata`` costs a few ms to
    import, so only code that asks for the version pays for it)."""
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return UNKNOWN_VERSION


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
        globals()[name] = value
        return value
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'pytest_semaphore' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
