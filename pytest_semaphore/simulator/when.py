"""Semaphore's ``when`` conditions (``auto_promote.when``): a parser and an evaluator that agree with the real one.

A rehearsal is only worth something if a condition promotes in the simulator exactly when it would on Semaphore, so
this module follows Semaphore's own grammar (``renderedtext/when``: ``when_lexer.xrl``, ``when_parser.yrl``,
``interpreter.ex``) rather than a guess of it. The facts that surprise people are reproduced on purpose:

* ``and`` and ``or`` have the **same precedence** and group to the left: ``a or b and c`` is ``(a or b) and c``.
* Keywords and boolean operators are accepted in lowercase or UPPERCASE only (``branch``/``BRANCH``, ``and``/``AND``);
  ``Branch`` or ``And`` are not keywords.
* Strings are single-quoted, have no escapes, and cannot be empty (``''`` is a lexical error).
* ``=~`` / ``!~`` are unanchored regular-expression searches with the right-hand side as the pattern; an empty value
  never matches (``tag =~ '.*'`` is false when there is no tag).
* A comparison may be written either way round: ``'master' = branch``.
* ``true``/``false`` (and the bare strings ``'true'``/``'false'``) are valid conditions.

``change_in(paths, options)`` is evaluated against the changed files a run declares (see :func:`change_in`); other
functions, and numbers, lists and maps outside a function's arguments, belong to the same grammar but cannot be
honoured by the simulator: they are refused with an error naming their position instead of being guessed at.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "CHANGED_FILES",
    "KEYWORDS",
    "MAX_DEPTH",
    "BoolOp",
    "Comparison",
    "Condition",
    "FunctionCall",
    "Literal",
    "WhenError",
    "change_in",
    "compile_when",
    "evaluate",
    "parse_when",
    "unparse",
]

#: The facts a condition may look at, in Semaphore's spelling.
KEYWORDS = ("branch", "tag", "pull_request", "result", "result_reason")
#: The fact ``change_in`` reads: the run's changed files (repository paths), one per line. Absent means the run did
#: not say, and then every ``change_in`` is true (the simulator's documented default: "everything changed").
CHANGED_FILES = "changed_files"
#: The options ``change_in`` takes (Semaphore's conditions reference).
CHANGE_IN_OPTIONS = ("default_branch", "pipeline_file", "exclude", "branch_range", "default_range", "on_tags")
_OPERATORS = ("=", "!=", "=~", "!~")
#: The most levels of ``and``/``or`` and of parentheses a condition may have in the simulator (real ones have a few).
MAX_DEPTH = 100
_TOO_DEEP = f"the condition is too deep for the simulator: more than {MAX_DEPTH} levels of 'and'/'or' or of parentheses"


class WhenError(ValueError):
    """A condition that Semaphore would reject (or the simulator cannot honour), with its position.

    ``position`` is the 0-based offset into ``expression``; ``column`` the 1-based one people count in.
    ``unsupported`` is true when Semaphore would accept the condition and only the simulator cannot evaluate it
    (a function, a number, a bare string...): where a condition has no effect in a simulation, that is no error.
    """

    def __init__(self, problem: str, expression: str, position: int, *, unsupported: bool = False) -> None:
        self.problem = problem
        self.expression = expression
        self.position = position
        self.unsupported = unsupported
        super().__init__(f"{problem} at position {position + 1} of the condition {expression!r}")

    @property
    def column(self) -> int:
        return self.position + 1


@dataclass(frozen=True)
class Literal:
    """``true`` or ``false``."""

    value: bool


@dataclass(frozen=True)
class Comparison:
    """``keyword op 'string'``; ``keyword_first=False`` when written ``'string' op keyword``."""

    keyword: str
    operator: str
    value: str
    keyword_first: bool = True


@dataclass(frozen=True)
class BoolOp:
    """``left and right`` / ``left or right``."""

    operator: str
    left: Node
    right: Node


@dataclass(frozen=True)
class FunctionCall:
    """``change_in('/lib', {exclude: ['/docs']})``: the function's name and its arguments as plain values (strings,
    lists of strings, maps of option to value). ``base`` is the folder relative paths start from (the pipeline
    file's), ``pipeline_file`` the file itself, which ``pipeline_file: 'track'`` counts as a change."""

    name: str
    arguments: tuple[object, ...]
    base: str = ""
    pipeline_file: str = ""

    def __hash__(self) -> int:
        return hash((self.name, repr(self.arguments), self.base, self.pipeline_file))


Node = Literal | Comparison | BoolOp | FunctionCall


# --- lexer -------------------------------------------------------------------------------------------------------

# One alternative per token kind, tried at each position; the longest match wins and, on a tie, the earlier kind
# (leex's rule). IDENTIFIER is listed so that ``branchx`` or ``Branch`` lex as one (unsupported) word, as in leex.
_TOKEN_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("operator", re.compile(r"=~|!~|!=|=")),
    ("bool_operator", re.compile(r"and|AND|or|OR")),
    ("(", re.compile(r"\(")),
    (")", re.compile(r"\)")),
    (",", re.compile(r",")),
    (
        "keyword",
        re.compile(r"branch|BRANCH|tag|TAG|pull_request|PULL_REQUEST|result_reason|RESULT_REASON|result|RESULT"),
    ),
    ("boolean", re.compile(r"true|TRUE|false|FALSE")),
    ("string", re.compile(r"'[^']+'")),
    ("float", re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+")),
    ("integer", re.compile(r"-?(?:0|[1-9][0-9]*)")),
    ("identifier", re.compile(r"[a-zA-Z][a-zA-Z0-9_\-]*")),
    ("map_key", re.compile(r"[a-zA-Z][a-zA-Z0-9_\-]*:")),
    ("[", re.compile(r"\[")),
    ("]", re.compile(r"\]")),
    ("{", re.compile(r"\{")),
    ("}", re.compile(r"\}")),
)
_WHITESPACE = re.compile(r"[ \t\n\r]+")


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokenize(expression: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(expression):
        space = _WHITESPACE.match(expression, position)
        if space:
            position = space.end()
            continue
        best: tuple[str, str] | None = None
        for kind, pattern in _TOKEN_PATTERNS:
            match = pattern.match(expression, position)
            if match and (best is None or len(match.group()) > len(best[1])):
                best = (kind, match.group())
        if best is None:
            if expression.startswith("''", position):
                raise WhenError(
                    "an empty string '' is not valid in Semaphore conditions (to test for an empty value, "
                    "write e.g. tag !~ '.*')",
                    expression,
                    position,
                )
            if expression[position] == "'":
                raise WhenError(
                    "unterminated string (strings are single-quoted, without escapes)", expression, position
                )
            raise WhenError(f"illegal character {expression[position]!r}", expression, position)
        tokens.append(_Token(best[0], best[1], position))
        position += len(best[1])
    return tokens


# --- parser ------------------------------------------------------------------------------------------------------


class _Parser:
    """Recursive descent over Semaphore's grammar: ``expression := term (bool_operator term)*`` (left-associative,
    one precedence level); ``term := '(' expression ')' | keyword op string | string op keyword | boolean | string``.
    """

    def __init__(self, expression: str, pipeline_file: str = "") -> None:
        self.expression = expression
        self.pipeline_file = pipeline_file
        self.tokens = _tokenize(expression)
        self.index = 0
        self.open = 0  # parentheses open at the current position

    def _peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _fail(self, problem: str, token: _Token | None, *, unsupported: bool = False) -> WhenError:
        position = token.position if token is not None else len(self.expression)
        return WhenError(problem, self.expression, position, unsupported=unsupported)

    def _next(self, wanted: str) -> _Token:
        token = self._peek()
        if token is None:
            raise self._fail(f"incomplete condition: expected {wanted} at the end", None)
        self.index += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise self._fail("empty condition", None)
        node, _ = self._expression()
        token = self._peek()
        if token is not None:
            if token.kind == ")":
                raise self._fail("unbalanced ')'", token)
            self._check_case(token)
            raise self._fail(f"expected 'and' or 'or' before {token.text!r}", token)
        return node

    def _expression(self) -> tuple[Node, int]:
        """The expression and its depth (``and``/``or`` levels), which is bounded: evaluating, comparing and hashing
        a condition recurse once per level, and a few thousand ``and`` in a row would exhaust Python's stack."""
        node, depth = self._term()
        while (token := self._peek()) is not None and token.kind == "bool_operator":
            self.index += 1
            right, right_depth = self._term()
            node, depth = BoolOp(token.text.lower(), node, right), max(depth, right_depth) + 1
            if depth > MAX_DEPTH:
                raise self._fail(_TOO_DEEP, token, unsupported=True)
        return node, depth

    def _term(self) -> tuple[Node, int]:
        token = self._next("a comparison, true, false or '('")
        if token.kind == "(":
            self.open += 1
            if self.open > MAX_DEPTH:
                raise self._fail(_TOO_DEEP, token, unsupported=True)
            node, depth = self._expression()
            closing = self._peek()
            if closing is None:
                raise self._fail("this '(' is never closed", token)
            if closing.kind != ")":
                self._check_case(closing)
                raise self._fail(f"expected ')' or 'and'/'or' before {closing.text!r}", closing)
            self.index += 1
            self.open -= 1
            return node, depth
        return self._simple_term(token), 0

    def _simple_term(self, token: _Token) -> Node:
        if token.kind == "keyword":
            operator = self._operator(after=token)
            value = self._next("a single-quoted string")
            if value.kind != "string":
                raise self._fail(f"expected a single-quoted string after {operator.text!r}, got {value.text!r}", value)
            return self._comparison(token.text.lower(), operator, value, keyword_first=True)
        if token.kind == "string":
            following = self._peek()
            if following is not None and following.kind == "operator":
                operator = self._operator(after=token)
                keyword = self._next("a keyword")
                if keyword.kind != "keyword":
                    raise self._fail(
                        f"a string can only be compared with a keyword ({', '.join(KEYWORDS)}), got {keyword.text!r}",
                        keyword,
                    )
                return self._comparison(keyword.text.lower(), operator, token, keyword_first=False)
            text = token.text[1:-1]
            if text in ("true", "false"):
                return Literal(text == "true")
            raise self._fail(
                f"the bare string {token.text} is not a condition "
                f"(compare it with a keyword, e.g. branch = {token.text})",
                token,
                unsupported=True,  # Semaphore counts it as true; refused here as the forgotten `branch =` it is
            )
        if token.kind == "boolean":
            return Literal(token.text.lower() == "true")
        if token.kind == "identifier":
            following = self._peek()
            if following is not None and following.kind == "(":
                return self._function(token)
            self._check_case(token)
            raise self._fail(f"unknown keyword {token.text!r} (known: {', '.join(KEYWORDS)})", token)
        if token.kind in ("integer", "float", "[", "{"):
            raise self._fail(
                f"{token.text!r}: numbers, lists and maps are not supported by the simulator", token, unsupported=True
            )
        if token.kind == "operator":
            raise self._fail(f"expected a keyword before {token.text!r}", token)
        if token.kind == "map_key":
            word = token.text[:-1]
            raise self._fail(f"{token.text!r} is not a comparison (write e.g. {word.lower()} = 'value')", token)
        raise self._fail(f"unexpected {token.text!r}", token)

    def _function(self, name: _Token) -> FunctionCall:
        if name.text != "change_in":
            raise self._fail(f"the function {name.text}() is not supported by the simulator", name, unsupported=True)
        self.index += 1  # the '('
        arguments: list[object] = []
        self._items(")", lambda token: arguments.append(self._value(token)), f"the arguments of {name.text}()")
        self._check_change_in(name, arguments)
        base = self.pipeline_file.rpartition("/")[0]
        return FunctionCall(name.text, tuple(arguments), base, self.pipeline_file)

    def _items(self, closing: str, item: Callable[[_Token], None], what: str) -> None:
        """Comma-separated items up to the ``closing`` token (there may be none), each read by ``item`` from its
        first token: function arguments, lists and maps share this shape."""
        while (token := self._next(f"an item of {what} or {closing!r}")).kind != closing:
            item(token)
            separator = self._next(f"',' or {closing!r}")
            if separator.kind == closing:
                return
            if separator.kind != ",":
                raise self._fail(f"expected ',' or '{closing}' in {what}, got {separator.text!r}", separator)

    def _value(self, token: _Token) -> object:
        """A function argument: a string, boolean, number, list or map (the grammar's ``params``)."""
        if token.kind == "string":
            return token.text[1:-1]
        if token.kind == "boolean":
            return token.text.lower() == "true"
        if token.kind in ("integer", "float"):
            return float(token.text) if token.kind == "float" else int(token.text)
        if token.kind == "[":
            items: list[object] = []
            self._items("]", lambda item: items.append(self._value(item)), "a list")
            return items
        if token.kind == "{":
            entries: dict[str, object] = {}

            def entry(key: _Token) -> None:
                if key.kind != "map_key":
                    raise self._fail(f"expected a key (`name:`) in a map, got {key.text!r}", key)
                entries[key.text[:-1]] = self._value(self._next("a value"))

            self._items("}", entry, "a map")
            return entries
        raise self._fail(f"expected a value (a string, list or map), got {token.text!r}", token)

    def _check_change_in(self, name: _Token, arguments: list[object]) -> None:
        """``change_in(paths)`` or ``change_in(paths, {options})``, as Semaphore's reference defines it."""
        if not 1 <= len(arguments) <= 2:
            raise self._fail("change_in() takes the paths and an optional map of options", name)
        paths = arguments[0]
        if not (isinstance(paths, str) or (isinstance(paths, list) and all(isinstance(p, str) for p in paths))):
            raise self._fail("the first argument of change_in() is a path or a list of paths", name)
        if len(arguments) == 2:
            options = arguments[1]
            if not isinstance(options, dict):
                raise self._fail("the second argument of change_in() is a map of options ({exclude: [...]})", name)
            unknown = sorted(set(options) - set(CHANGE_IN_OPTIONS))
            if unknown:
                raise self._fail(
                    f"unknown change_in() option {unknown[0]!r} (known: {', '.join(CHANGE_IN_OPTIONS)})", name
                )
            if options.get("pipeline_file", "track") not in ("track", "ignore"):
                raise self._fail("the change_in() option pipeline_file is 'track' or 'ignore'", name)
            if not isinstance(options.get("on_tags", True), bool):
                raise self._fail("the change_in() option on_tags is true or false", name)
            exclude = options.get("exclude", [])
            if not (
                isinstance(exclude, str) or (isinstance(exclude, list) and all(isinstance(p, str) for p in exclude))
            ):
                raise self._fail("the change_in() option exclude is a path or a list of paths", name)

    def _check_case(self, token: _Token) -> None:
        """``And`` or ``Branch`` lex as identifiers in Semaphore's grammar; say why instead of "unexpected"."""
        lowered = token.text.lower()
        if token.kind == "identifier" and (lowered in KEYWORDS or lowered in ("and", "or", "true", "false")):
            raise self._fail(
                f"{token.text!r} must be written in lowercase or UPPERCASE ({lowered!r} or {lowered.upper()!r})", token
            )

    def _operator(self, after: _Token) -> _Token:
        operator = self._next(f"an operator ({', '.join(_OPERATORS)}) after {after.text!r}")
        if operator.kind != "operator":
            raise self._fail(f"expected an operator ({', '.join(_OPERATORS)}) after {after.text!r}", operator)
        return operator

    def _comparison(self, keyword: str, operator: _Token, string: _Token, *, keyword_first: bool) -> Comparison:
        value = string.text[1:-1]
        if keyword_first and operator.text in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise self._fail(f"invalid regular expression {string.text}: {exc}", string) from None
        return Comparison(keyword, operator.text, value, keyword_first)


def parse_when(expression: str, pipeline_file: str = "") -> Node:
    """Parse a condition; :class:`WhenError` (with the position) if Semaphore would reject it. ``pipeline_file`` is
    the file the condition is written in, which ``change_in`` paths without a leading ``/`` are relative to."""
    return _Parser(expression, pipeline_file).parse()


# --- evaluation --------------------------------------------------------------------------------------------------


def _regex_match(pattern: str, subject: str) -> bool:
    if subject == "":  # Semaphore: an empty value matches no pattern, not even '.*'
        return False
    try:
        return re.search(pattern, subject) is not None
    except re.error:
        return False


def _glob(pattern: str) -> re.Pattern[str]:
    """A ``change_in`` path as a regular expression over repository paths: ``**`` crosses folders, ``*`` and ``?``
    stay within one; a path also matches everything below it (a folder names its files)."""
    if pattern in ("", "."):  # `/`: the whole repository
        return re.compile(".*")
    parts = re.split(r"(\*\*|\*|\?)", pattern.rstrip("/"))
    wildcards = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wildcards.get(part, re.escape(part)) for part in parts) + "(/.*)?")


def _repository_path(path: str, base: str) -> str:
    """``/x`` from the repository root, ``x`` from the pipeline file's folder (``..`` allowed, as in a shell)."""
    joined = path.lstrip("/") if path.startswith("/") or not base else f"{base}/{path}"
    return posixpath.normpath(joined).lstrip("/") if joined else ""


def _strings(value: object) -> list[str]:
    """A path or a list of them, as ``change_in`` takes its paths and ``exclude``."""
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def change_in(call: FunctionCall, facts: Mapping[str, str]) -> bool:
    """Semaphore's ``change_in`` over the changed files the run declares (:data:`CHANGED_FILES`).

    Without that fact every call is true ("everything changed"). On a tag build the answer is the ``on_tags`` option
    (default true), as on Semaphore, which has no commit range there. Otherwise it is true when a changed file lies
    under one of the paths and under none of ``exclude``, or when the pipeline file itself changed and the
    ``pipeline_file`` option is ``track`` (the default). Branch ranges need git history, which a simulation has not:
    the declared files are the range's changes.
    """
    options = call.arguments[1] if len(call.arguments) > 1 else {}
    assert isinstance(options, dict)
    if facts.get("tag"):
        return bool(options.get("on_tags", True))
    declared = facts.get(CHANGED_FILES)
    if declared is None:
        return True
    changed = [line for line in declared.split("\n") if line]
    patterns = [_glob(_repository_path(p, call.base)) for p in _strings(call.arguments[0])]
    excluded = [_glob(_repository_path(p, call.base)) for p in _strings(options.get("exclude", []))]
    if options.get("pipeline_file", "track") == "track" and call.pipeline_file in changed:
        return True
    return any(
        any(p.fullmatch(path) for p in patterns) and not any(e.fullmatch(path) for e in excluded) for path in changed
    )


def evaluate(node: Node, facts: Mapping[str, str]) -> bool:
    """Evaluate a parsed condition; a fact that is missing counts as empty (``tag`` on a branch build)."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, FunctionCall):
        return change_in(node, facts)
    if isinstance(node, BoolOp):
        left = evaluate(node.left, facts)
        right = evaluate(node.right, facts)
        return (left and right) if node.operator == "and" else (left or right)
    fact = facts.get(node.keyword) or ""
    left_value, right_value = (fact, node.value) if node.keyword_first else (node.value, fact)
    if node.operator == "=":
        return left_value == right_value
    if node.operator == "!=":
        return left_value != right_value
    matched = _regex_match(right_value, left_value)
    return matched if node.operator == "=~" else not matched


def _quote(value: str) -> str:
    return f"'{value}'"


def _unparse_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_unparse_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_unparse_value(item)}" for key, item in value.items()) + "}"
    if isinstance(value, str):
        return _quote(value)
    return str(value)


def unparse(node: Node) -> str:
    """The condition as text that parses back to ``node`` (every ``and``/``or`` parenthesised)."""
    if isinstance(node, Literal):
        return "true" if node.value else "false"
    if isinstance(node, BoolOp):
        return f"({unparse(node.left)} {node.operator} {unparse(node.right)})"
    if isinstance(node, FunctionCall):
        return f"{node.name}(" + ", ".join(_unparse_value(argument) for argument in node.arguments) + ")"
    if node.keyword_first:
        return f"{node.keyword} {node.operator} {_quote(node.value)}"
    return f"{_quote(node.value)} {node.operator} {node.keyword}"


class Condition:
    """A compiled ``when`` condition: callable on the facts (a :data:`~.definitions.WhenPredicate`), keeping its text
    so that the world and error messages can show what was written."""

    __slots__ = ("node", "source")

    def __init__(self, source: str, node: Node) -> None:
        self.source = source
        self.node = node

    def __call__(self, facts: Mapping[str, str]) -> bool:
        return evaluate(self.node, facts)

    def __repr__(self) -> str:
        return f"Condition({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Condition) and other.node == self.node

    def __hash__(self) -> int:
        return hash(self.node)


def compile_when(condition: str | bool, pipeline_file: str = "") -> Condition:
    """Compile a ``when`` (a string, or a YAML boolean as the schema allows) into a predicate; ``pipeline_file`` as
    for :func:`parse_when`."""
    if isinstance(condition, bool):
        return Condition("true" if condition else "false", Literal(condition))
    return Condition(condition, parse_when(condition, pipeline_file))
