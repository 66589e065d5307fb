"""docs/troubleshooting.md quotes every error message a user can meet, so a new message cannot ship undocumented.

The messages are read from the code: every call that builds one of the errors a user sees (the ``errors`` classes,
settings errors, pytest usage errors, argparse's bad-value errors; ``ValueError`` in ``settings.py``, whose texts
become the reasons of settings errors; and the lines ``semaphore-gate`` itself writes on stderr), with its text (a
string or f-string) among the arguments. Each literal piece of such a text (the parts between the ``{...}`` holes,
15 characters or more) must appear on the page, where the holes are written in capitals (``refusing plain http://
to HOST: ...``). Errors that only a programming mistake raises (a ``TypeError`` from a redaction hook, an invalid
poll schedule) are not messages users meet and are not collected.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pytest_semaphore"
PAGE = ROOT / "docs" / "troubleshooting.md"
#: The errors users see, by the name they are built with.
USER_ERRORS = {
    "SemaphoreError",
    "ConfigurationError",
    "SettingsError",
    "APIError",
    "AuthenticationError",
    "NotFoundError",
    "APIUnavailable",
    "OutcomeUnknown",
    "WaitTimeout",
    "PipelineFailed",
    "PromotionFailed",
    "ReportError",
    "UsageError",
    "fail",  # pytest.fail(...) from a fixture: the test errors with this message
    "ArgumentTypeError",  # a bad option value, as argparse reports it
    "unexpected",  # Reply.unexpected: an answer of the wrong shape, as an APIError
    "_more",  # reconcile.py: what reconciliation found, appended to OutcomeUnknown's reason
    "__init__",  # errors.py: the texts the error classes build themselves
}
#: In the command's package, its own lines on stderr: ``Output.error(...)`` and ``print(..., file=stderr)``.
CLI_OUTPUT = {"error", "print"}
#: Where a plain ValueError's text reaches users (the reason of a settings error; a fixture's bad ``expect``).
VALUE_ERROR_MODULES = {"settings.py", "verdicts.py"}
#: The simulator's scenario and pipeline-file errors are documented with the scenario format (docs/scenarios.md).
SKIPPED_PARTS = {"simulator"}
MIN_PIECE = 15


def _text(node: ast.expr) -> str | None:
    """A string's or f-string's text with ``{}`` for each hole; a concatenation with at least one such; else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        if left is None and right is None:
            return None
        return (left or "{}") + (right or "{}")  # a variable joined to a text is a hole in it
    return None


def _called(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def messages() -> list[tuple[str, str]]:
    """``(where, text)`` for every user-facing error message built in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if SKIPPED_PARTS & set(path.relative_to(PACKAGE).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = _called(node)
            in_cli = "cli" in path.relative_to(PACKAGE).parts
            if not (
                name in USER_ERRORS
                or (name == "ValueError" and path.name in VALUE_ERROR_MODULES)
                or (in_cli and name in CLI_OUTPUT and (name != "print" or any(k.arg == "file" for k in node.keywords)))
            ):
                continue
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                text = _text(argument)
                if text:
                    found.append((f"{path.relative_to(ROOT)}:{node.lineno}", text))
    return found


def pieces(text: str) -> list[str]:
    return [p for p in (" ".join(piece.split()) for piece in text.split("{}")) if len(p) >= MIN_PIECE]


def page_text() -> str:
    return " ".join(PAGE.read_text(encoding="utf-8").replace("\\|", "|").split())


def test_the_code_has_many_messages_to_document() -> None:
    assert len(messages()) > 60


@pytest.mark.parametrize(("where", "text"), messages(), ids=[where for where, _ in messages()])
def test_the_page_quotes_the_message(where: str, text: str) -> None:
    page = page_text()
    missing = [piece for piece in pieces(text) if piece not in page]
    assert not missing, f"docs/troubleshooting.md does not quote {missing} (message built at {where}: {text!r})"


def test_the_collector_reads_f_strings_and_concatenations() -> None:
    tree = ast.parse('raise ConfigurationError(f"the token file {path!r} is not readable: " + "check its permissions")')
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call))
    text = _text(call.args[0])
    assert text == "the token file {} is not readable: check its permissions"
    assert pieces(text) == ["is not readable: check its permissions"]  # "the token file" is too short to count
