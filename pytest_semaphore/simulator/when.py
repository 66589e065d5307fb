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

Functions (``change_in(...)``), numbers, lists and maps belong to the same grammar but cannot be honoured by the
simulator; they are refused with an error naming their position instead of being guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "KEYWORDS",
    "MAX_DEPTH",
    "BoolOp",
    "Comparison",
    "Condition",
    "Literal",
    "WhenError",
    "compile_when",
    "evaluate",
    "parse_when",
    "unparse",
]

#: The facts a condition may look at, in Semaphore's spelling.
KEYWORDS = ("branch", "tag", "pull_request", "result", "result_reason")
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


Node = Literal | Comparison | BoolOp


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

    def __init__(self, expression: str) -> None:
        self.expression = expression
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
                raise self._fail(
                    f"the function {token.text}() is not supported by the simulator (it cannot see file changes)",
                    token,
                    unsupported=True,
                )
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


def parse_when(expression: str) -> Node:
    """Parse a condition; :class:`WhenError` (with the position) if Semaphore would reject it."""
    return _Parser(expression).parse()


# --- evaluation --------------------------------------------------------------------------------------------------


def _regex_match(pattern: str, subject: str) -> bool:
    if subject == "":  # Semaphore: an empty value matches no pattern, not even '.*'
        return False
    try:
        return re.search(pattern, subject) is not None
    except re.error:
        return False


def evaluate(node: Node, facts: Mapping[str, str]) -> bool:
    """Evaluate a parsed condition; a fact that is missing counts as empty (``tag`` on a branch build)."""
    if isinstance(node, Literal):
        return node.value
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


def unparse(node: Node) -> str:
    """The condition as text that parses back to ``node`` (every ``and``/``or`` parenthesised)."""
    if isinstance(node, Literal):
        return "true" if node.value else "false"
    if isinstance(node, BoolOp):
        return f"({unparse(node.left)} {node.operator} {unparse(node.right)})"
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


def compile_when(condition: str | bool) -> Condition:
    """Compile ``auto_promote.when`` (a string, or a YAML boolean as the schema allows) into a predicate."""
    if isinstance(condition, bool):
        return Condition("true" if condition else "false", Literal(condition))
    return Condition(condition, parse_when(condition))
