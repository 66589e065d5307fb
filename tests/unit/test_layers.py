"""The layer rules, checked on the source: the core never imports a face or the simulator, the simulator never
imports the client or the models, and the package's parts import each other one way only (no cycles).

A *part* is the first name under ``pytest_semaphore`` (``pytest_semaphore.logs.excerpt`` belongs to ``logs``), so the
rules hold whether a part is a module or a package. Every import statement counts: at the top, inside functions
(lazy imports of heavy dependencies) and under ``TYPE_CHECKING`` (a type-only dependency is still a dependency of the
design). The package root is the facade that re-exports the public names (and holds ``__version__``): it is held to
the core's rules but left out of the cycle check, since every part may read it and it names every part.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

import pytest_semaphore

PACKAGE = "pytest_semaphore"
ROOT = Path(pytest_semaphore.__file__).parent
#: The faces and the simulator; every other part is the core.
FACES = frozenset({"plugin", "cli", "hooks"})
SIMULATOR = "simulator"
#: What the core must never import.
CORE_FORBIDDEN = frozenset({"plugin", "cli", SIMULATOR})
#: What the simulator must never import: the client package (with the modules it is made of today), the models it
#: decodes into, and what is built on them. The simulator speaks the wire format and must not share the client's
#: understanding of it, or a bug in one would hide in the other.
SIMULATOR_FORBIDDEN = frozenset({"client", "retry", "baseurl", "logstream", "logfilter", "models", "waiting", "logs"})


@dataclass(frozen=True)
class Import:
    """One import of a module of the package by another module of it."""

    source: str
    """The importing module, dotted (``pytest_semaphore.logs.fetch``)."""
    target: str
    """The imported module, dotted and resolved (relative imports made absolute)."""
    path: Path
    line: int
    statement: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.source} imports {self.target} (`{self.statement}`)"


def part(module: str, package: str = PACKAGE) -> str | None:
    """The top-level part a module belongs to; ``None`` for the package root itself."""
    names = module.split(".")
    return names[1] if len(names) > 1 and names[0] == package else None


def modules(root: Path, package: str) -> dict[str, Path]:
    """Every module of the package under ``root`` by dotted name (a package by its ``__init__.py``)."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        names = [package, *path.relative_to(root).with_suffix("").parts]
        if names[-1] == "__init__":
            names.pop()
        found[".".join(names)] = path
    return found


def imports(root: Path, package: str = PACKAGE) -> Iterator[Import]:
    """Every import of one of the package's modules by another, wherever in the file the statement is."""
    known = modules(root, package)
    for module, path in known.items():
        here = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    origin = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    origin = node.module or ""
                # ``from . import errors`` imports a module; ``from .errors import ReportError`` a name of one.
                targets = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in known else origin for a in node.names]
            else:
                continue
            for target in targets:
                if target == package or target.startswith(package + "."):
                    shown = path.relative_to(root.parent)  # pytest_semaphore/logs/fetch.py, wherever the checkout is
                    yield Import(module, target, shown, node.lineno, ast.unparse(node))


def layer_violations(found: list[Import], package: str = PACKAGE) -> list[str]:
    """Imports that break the layer rules, each as ``file:line: module imports module (`statement`)``."""
    problems = []
    for item in found:
        source, target = part(item.source, package), part(item.target, package)
        if target is None or source == target:
            continue
        if source not in FACES and source != SIMULATOR and target in CORE_FORBIDDEN:
            problems.append(f"the core may not import {target}: {item}")
        if source == SIMULATOR and target in SIMULATOR_FORBIDDEN:
            problems.append(f"the simulator may not import {target}: {item}")
    return problems


def part_cycles(found: list[Import], package: str = PACKAGE) -> list[str]:
    """Each cycle between top-level parts, as the chain of imports that closes it (one example import per edge)."""
    edges: dict[str, dict[str, Import]] = {}
    for item in found:
        source, target = part(item.source, package), part(item.target, package)
        if source is not None and target is not None and source != target:
            edges.setdefault(source, {}).setdefault(target, item)
    cycles: list[str] = []
    seen: set[frozenset[str]] = set()
    for start in sorted(edges):
        chain = _path_back(edges, start)
        if chain and frozenset(i.source for i in chain) not in seen:
            seen.add(frozenset(i.source for i in chain))
            route = " -> ".join([*(part(i.source, package) or "" for i in chain), start])
            cycles.append(f"{route}:\n    " + "\n    ".join(str(i) for i in chain))
    return cycles


def _path_back(edges: Mapping[str, Mapping[str, Import]], start: str) -> list[Import] | None:
    """The shortest chain of imports from ``start`` back to itself, if there is one (breadth first)."""
    queue: list[tuple[str, list[Import]]] = [(start, [])]
    visited = {start}
    while queue:
        node, chain = queue.pop(0)
        for target, item in sorted(edges.get(node, {}).items()):
            if target == start:
                return [*chain, item]
            if target not in visited:
                visited.add(target)
                queue.append((target, [*chain, item]))
    return None


# ----------------------------------------------------------------------------------------------------- the package


@pytest.fixture(scope="module")
def package_imports() -> list[Import]:
    return list(imports(ROOT))


def test_the_walk_sees_the_packages_imports(package_imports: list[Import]) -> None:
    # If the walk found nothing (a wrong root, a broken resolver), the rules below would pass vacuously.
    pairs = {(part(i.source), part(i.target)) for i in package_imports}
    assert {("junit", "logs"), ("report", "junit"), ("logs", "errors"), ("plugin", SIMULATOR)} <= pairs


def test_the_core_never_imports_a_face_or_the_simulator_and_the_simulator_never_the_client(
    package_imports: list[Import],
) -> None:
    problems = layer_violations(package_imports)
    if problems:
        pytest.fail("layer rules broken:\n" + "\n".join(problems), pytrace=False)


def test_the_parts_import_each_other_one_way_only(package_imports: list[Import]) -> None:
    cycles = part_cycles(package_imports)
    if cycles:
        pytest.fail("import cycles between parts of the package:\n" + "\n".join(cycles), pytrace=False)


# ----------------------------------------------------------------------------------------------------- the checker


def _write(root: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_the_checker_resolves_relative_and_function_level_imports(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "__init__.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .client import Client\n",
            "client/__init__.py": "from .transport import send\n",
            "client/transport.py": "from .. import errors\nimport pkg.models\n",
            "errors.py": "",
            "models.py": "def load():\n    from .simulator.server import serve\n",
            "simulator/__init__.py": "",
            "simulator/server.py": "def handle():\n    from ..client import transport\n",
        },
    )
    found = {(i.source, i.target) for i in imports(root, "pkg")}
    assert found == {
        ("pkg", "pkg.client"),
        ("pkg.client", "pkg.client.transport"),
        ("pkg.client.transport", "pkg.errors"),
        ("pkg.client.transport", "pkg.models"),
        ("pkg.models", "pkg.simulator.server"),
        ("pkg.simulator.server", "pkg.client.transport"),
    }
    problems = layer_violations(list(imports(root, "pkg")), "pkg")
    assert len(problems) == 2
    assert problems[0].startswith("the core may not import simulator: ")
    assert "models.py:2: pkg.models imports pkg.simulator.server (`from .simulator.server import serve`)" in problems[0]
    assert problems[1].startswith("the simulator may not import client: ")
    assert "pkg.simulator.server imports pkg.client.transport (`from ..client import transport`)" in problems[1]


def test_the_checker_names_every_import_of_a_cycle(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "__init__.py": "from . import a\n",
            "a.py": "from . import b\n",
            "b/__init__.py": "from .inner import x\n",
            "b/inner.py": "def f():\n    from ..c import y\n",
            "c.py": "import pkg.a\nfrom . import __version__\n",
        },
    )
    (cycle,) = part_cycles(list(imports(root, "pkg")), "pkg")
    assert cycle.startswith("a -> b -> c -> a:")
    assert "pkg.b.inner imports pkg.c (`from ..c import y`)" in cycle
    assert "pkg.c imports pkg.a (`import pkg.a`)" in cycle
