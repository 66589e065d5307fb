"""Sphinx configuration: the Markdown pages of docs/ through MyST, autodoc for the public API, and sample outputs
generated from the simulator at build time (docs/samples.py), so that what the pages show is what the code makes.

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (``tox -e docs``; ``.ci/run`` does the same).
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))  # samples.py

import samples  # noqa: E402 - needs the path above

# Before anything else, so that the pages and html_extra_path find them.
samples.generate(DOCS / "_generated")

project = "pytest-semaphore"
author = "pytest-semaphore developers"
copyright = "2026, pytest-semaphore developers"
release = version = metadata.version("pytest-semaphore")  # pyproject.toml's, as installed

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_generated"]

myst_heading_anchors = 3
myst_enable_extensions = ["deflist"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}

html_theme = "alabaster"
html_title = "pytest-semaphore"
html_static_path: list[str] = []
#: The generated samples are copied beside the pages, so the HTML summary opens as the gate wrote it.
html_extra_path = ["_generated"]

