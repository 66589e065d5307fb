"""YAML and JSON documents that remember where each value came from, and the error that points there.

Scenario files and pipeline files are written by hand, so every complaint about them must say which file, which
line and what is wrong (``deploy.yml:14: ...``). PyYAML's plain ``safe_load`` throws the positions away; this module
composes the node tree instead (``yaml.compose`` keeps a ``start_mark`` on every node) and hands the loaders a small
typed view, :class:`YNode`, whose accessors raise :class:`ScenarioError` with the right line.
"""

from __future__ import annotations

import difflib
import json
import math
import os
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import yaml

__all__ = ["ScenarioError", "YNode", "load_document", "parse_document"]


class ScenarioError(ValueError):
    """A scenario or pipeline file the simulator cannot load, with the file, the line and the problem.

    ``str(error)`` reads like a compiler message: ``path/to/file.yml:12: problem``. Nothing has been loaded when it is
    raised: loaders build everything first and return only once it is all valid.
    """

    def __init__(self, problem: str, path: str | None = None, line: int | None = None) -> None:
        self.problem = problem
        self.path = path
        self.line = line
        if path is not None and line is not None:
            where = f"{path}:{line}: "
        elif path is not None:
            where = f"{path}: "
        else:
            where = ""
        super().__init__(where + problem)


def _describe(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__} ({value})"


class YNode:
    """A loaded value (scalar, ``list[YNode]`` or ``dict[str, YNode]``) with its file and 1-based line."""

    __slots__ = ("key_lines", "line", "path", "value")

    def __init__(
        self, value: object, path: str, line: int | None, key_lines: Mapping[str, int | None] | None = None
    ) -> None:
        self.value = value
        self.path = path
        self.line = line
        self.key_lines: Mapping[str, int | None] = key_lines or {}

    def __repr__(self) -> str:
        return f"YNode({self.value!r}, line={self.line})"

    # --- errors ---------------------------------------------------------------------------------------------------

    def error(self, problem: str) -> ScenarioError:
        return ScenarioError(problem, self.path, self.line)

    def key_error(self, key: str, problem: str) -> ScenarioError:
        return ScenarioError(problem, self.path, self.key_lines.get(key, self.line))

    # --- typed access ---------------------------------------------------------------------------------------------

    def mapping(self, what: str) -> dict[str, YNode]:
        if not isinstance(self.value, dict):
            raise self.error(f"{what} must be a mapping (key: value), got {_describe(self._plain())}")
        return self.value

    def sequence(self, what: str) -> list[YNode]:
        if not isinstance(self.value, list):
            raise self.error(f"{what} must be a list, got {_describe(self._plain())}")
        return self.value

    def string(self, what: str, *, empty_ok: bool = False) -> str:
        if not isinstance(self.value, str):
            hint = "" if self.value is None or isinstance(self.value, (list, dict)) else " (quote it)"
            raise self.error(f"{what} must be a string, got {_describe(self._plain())}{hint}")
        if not empty_ok and not self.value.strip():
            raise self.error(f"{what} must not be empty")
        return self.value

    def integer(self, what: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.error(f"{what} must be a whole number, got {_describe(self._plain())}")
        if minimum is not None and self.value < minimum:
            raise self.error(f"{what} must be at least {minimum}, got {self.value}")
        if maximum is not None and self.value > maximum:
            raise self.error(f"{what} must be at most {maximum}, got {self.value}")
        return self.value

    def number(self, what: str, *, minimum: float | None = None, maximum: float | None = None) -> float:
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)) or not math.isfinite(self.value):
            raise self.error(f"{what} must be a number, got {_describe(self._plain())}")
        value = float(self.value)
        if minimum is not None and value < minimum:
            raise self.error(f"{what} must be at least {minimum:g}, got {value:g}")
        if maximum is not None and value > maximum:
            raise self.error(f"{what} must be at most {maximum:g}, got {value:g}")
        return value

    def boolean(self, what: str) -> bool:
        if not isinstance(self.value, bool):
            raise self.error(f"{what} must be true or false, got {_describe(self._plain())}")
        return self.value

    def strings(self, what: str) -> list[str]:
        """A list of strings, or a single string taken as a one-item list."""
        if isinstance(self.value, str):
            return [self.value]
        return [item.string(f"each item of {what}", empty_ok=True) for item in self.sequence(what)]

    def check_keys(
        self, what: str, allowed: Collection[str], unsupported: Mapping[str, str] | None = None
    ) -> dict[str, YNode]:
        """The mapping, once every key is known: a key the simulator cannot honour gets "not supported" with
        its reason; an unknown one gets the list of valid keys (and a "did you mean")."""
        entries = self.mapping(what)
        for key in entries:
            if key in allowed:
                continue
            if unsupported and key in unsupported:
                raise self.key_error(key, f"`{key}` in {what} is not supported by the simulator: {unsupported[key]}")
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            raise self.key_error(key, f"unknown key `{key}` in {what}{hint}; valid keys: {', '.join(sorted(allowed))}")
        return entries

    def _plain(self) -> object:
        if isinstance(self.value, list):
            return []
        if isinstance(self.value, dict):
            return {}
        return self.value


_TOO_DEEP = "nested too deeply (hundreds of levels of lists or mappings); no scenario or pipeline needs that"


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


class _Converter:
    """Node tree -> :class:`YNode` tree. An aliased node is converted once and shared (so ``&anchor``/``*alias``
    chains cannot blow up), and an alias inside its own anchor is refused instead of recursing forever."""

    def __init__(self, loader: yaml.SafeLoader, path: str) -> None:
        self.loader = loader
        self.path = path
        self.done: dict[int, YNode] = {}
        self.active: set[int] = set()

    def convert(self, node: yaml.Node) -> YNode:
        key = id(node)
        if key in self.done:
            return self.done[key]
        if key in self.active:
            raise ScenarioError(
                "an alias refers to the node that contains it (a recursive anchor)", self.path, _line(node)
            )
        self.active.add(key)
        try:
            converted = self._convert(node)
        finally:
            self.active.discard(key)
        self.done[key] = converted
        return converted

    def _convert(self, node: yaml.Node) -> YNode:
        import yaml

        if isinstance(node, yaml.MappingNode):
            return self._mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return YNode([self.convert(item) for item in node.value], self.path, _line(node))
        return YNode(self.loader.construct_object(node, deep=True), self.path, _line(node))

    def _mapping(self, node: yaml.MappingNode) -> YNode:
        import yaml

        own_lines: dict[object, int] = {}
        for key_node, _ in node.value:  # duplicates written by hand are mistakes; `<<` merges may be overridden
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if not isinstance(key_node, yaml.ScalarNode):  # `? [a, b]` or `? {a: 1}`: a key no loader here takes
                raise ScenarioError("mapping keys must be strings, got a list or a mapping", self.path, _line(key_node))
            key = self.loader.construct_object(key_node, deep=True)
            if isinstance(key, str) and key in own_lines:
                raise ScenarioError(
                    f"duplicate key `{key}` (first at line {own_lines[key]})", self.path, _line(key_node)
                )
            own_lines[key] = _line(key_node)
        self.loader.flatten_mapping(node)  # resolve `<<: *anchor` merge keys the way safe_load does
        entries: dict[str, YNode] = {}
        key_lines: dict[str, int | None] = {}
        for key_node, value_node in node.value:
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise ScenarioError(
                    f"mapping keys must be strings, got {_describe(key)} (quote it)", self.path, _line(key_node)
                )
            entries[key] = self.convert(value_node)  # later wins: an explicit key overrides a merged one
            key_lines[key] = _line(key_node)
        return YNode(entries, self.path, _line(node), key_lines)


def _yaml_error(exc: yaml.MarkedYAMLError, path: str) -> ScenarioError:
    """The parser's complaint at the line a person would look at: where the problem was found, except for an
    unfinished ``key: value`` line, which the scanner only notices on a later line."""
    problem_line = int(exc.problem_mark.line) + 1 if exc.problem_mark is not None else None
    context_line = int(exc.context_mark.line) + 1 if exc.context_mark is not None else None
    line = problem_line
    if context_line is not None and (problem_line is None or (exc.context or "").startswith("while scanning a simple")):
        line = context_line
    problem = " ".join(part for part in (exc.context, exc.problem) if part)
    if context_line is not None and context_line != line:
        problem += f" (in the part starting at line {context_line})"
    return ScenarioError(f"invalid YAML: {problem}", path, line)


def parse_document(text: str, path: str) -> YNode:
    """Parse YAML text into a :class:`YNode`, turning parser errors into :class:`ScenarioError` with the line."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()
            if root is None:
                raise ScenarioError("the file is empty", path)
            return _Converter(loader, path).convert(root)
        except yaml.MarkedYAMLError as exc:
            raise _yaml_error(exc, path) from None
        except yaml.YAMLError as exc:
            raise ScenarioError(f"invalid YAML: {exc}", path) from None
        except RecursionError:  # PyYAML's composer and our converter recurse once per level of nesting
            raise ScenarioError(_TOO_DEEP, path) from None
    finally:
        loader.dispose()


def _from_plain(value: object, path: str) -> YNode:
    if isinstance(value, dict):
        return YNode({key: _from_plain(item, path) for key, item in value.items()}, path, None)
    if isinstance(value, list):
        return YNode([_from_plain(item, path) for item in value], path, None)
    return YNode(value, path, None)


def load_document(path: str | os.PathLike[str]) -> YNode:
    """Read a YAML file, or a JSON file (``.json``: checked with the JSON parser first, so that JSON's own syntax
    errors are reported as such, then composed again through YAML to get line numbers)."""
    shown = os.fspath(path)
    try:
        with open(path, encoding="utf-8-sig") as handle:  # a byte-order mark is not an error
            text = handle.read()
    except FileNotFoundError:
        raise ScenarioError("no such file", shown) from None
    except IsADirectoryError:
        raise ScenarioError("is a folder, expected a file", shown) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"not UTF-8 text: {exc.reason} at byte {exc.start}", shown) from None
    except OSError as exc:
        raise ScenarioError(f"cannot be read: {exc.strerror}", shown) from None
    if shown.lower().endswith(".json"):
        try:
            plain = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"invalid JSON: {exc.msg} (column {exc.colno})", shown, exc.lineno) from None
        except RecursionError:
            raise ScenarioError(_TOO_DEEP, shown) from None
        try:  # valid JSON has no raw tab inside strings, so tabs are mere whitespace, which YAML refuses to indent with
            return parse_document(text.replace("\t", " "), shown)
        except ScenarioError as exc:
            if not exc.problem.startswith("invalid YAML"):
                raise
            return _from_plain(plain, shown)  # valid JSON that YAML 1.1 cannot read: same data, without lines
    return parse_document(text, shown)
