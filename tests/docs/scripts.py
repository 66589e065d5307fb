"""The scripts of docs/ (``samples.py``, ``gen_configuration.py``) as modules, for the tests that check them:
docs/ is not a package, and the scripts are meant to be run as ``python docs/NAME.py``."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

DOCS = Path(__file__).resolve().parents[2] / "docs"


def docs_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, DOCS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
