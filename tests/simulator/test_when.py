"""The ``when`` condition language, checked against Semaphore's own test cases (``renderedtext/when``,
``test/when_test.exs``) and against the grammar's surprises (one precedence level, case rules, empty values)."""

from __future__ import annotations

import functools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_semaphore.simulator.when import (
    KEYWORDS,
    MAX_DEPTH,
    BoolOp,
    Comparison,
    Literal,
    Node,
    WhenError,
    compile_when,
    evaluate,
    parse_when,
    unparse,
)

# The parameter sets and expected results of Semaphore's own suite (when_test.exs), minus its function-call examples.
SEMAPHORE_PARAMS = [
    {"branch": "master", "tag": "v1.5", "result": "passed", "pull_request": "123", "result_reason": "stopped"},
    {"branch": "dev", "tag": "v1.5", "result": "passed", "pull_request": "123", "result_reason": "stopped"},
    {"branch": "master", "tag": "v2.0", "result": "passed", "pull_request": "123", "result_reason": "stopped"},
    {"branch": "master", "tag": "v1.5", "result": "failed", "pull_request": "123", "result_reason": "stopped"},
    {"branch": "master", "tag": "v2.0", "result": "passed", "pull_request": "", "result_reason": "skipped"},
]
SEMAPHORE_EXAMPLES = {
    "true": [True, True, True, True, True],
    "('false')": [False, False, False, False, False],
    "(FALSE) AND TAG != 'v1.*'": [False, False, False, False, False],
    "branch = 'master' and tag =~ 'v1.*'": [True, False, False, True, False],
    "(branch = 'master' and tag =~ 'v1.*') or result != 'passed'": [True, False, False, True, False],
    "branch = 'master' AND (tag =~ 'v1.*' OR result_reason != 'stopped')": [True, False, False, True, True],
    "(branch = 'master' and result != 'failed') or\n"
    "     (tag =~ 'v1.*' and result = 'passed' and result_reason != 'skipped')": [
        True,
        True,
        True,
        False,
        True,
    ],
    "pull_request =~ '.*' and result = 'passed'": [True, True, True, False, False],
}


@pytest.mark.parametrize("expression", list(SEMAPHORE_EXAMPLES))
def test_semaphore_suite_examples_evaluate_as_on_semaphore(expression: str) -> None:
    condition = compile_when(expression)
    assert [condition(params) for params in SEMAPHORE_PARAMS] == SEMAPHORE_EXAMPLES[expression]


def test_an_empty_value_matches_no_regex_not_even_dot_star() -> None:
    facts = {"branch": "master", "tag": "", "pull_request": "123"}
    assert compile_when("tag =~ '.*'")(facts) is False
    assert compile_when("tag !~ '.*'")(facts) is True
    assert compile_when("branch =~ '.*'")(facts) is True
    assert compile_when("branch !~ '.*'")(facts) is False


def test_a_missing_fact_counts_as_empty() -> None:
    assert compile_when("tag = 'v1'")({}) is False
    assert compile_when("tag != 'v1'")({}) is True


@pytest.mark.parametrize(
    ("expression", "facts", "expected"),
    [
        ("branch = 'master'", {"branch": "master"}, True),
        ("branch = 'master'", {"branch": "master2"}, False),
        ("branch != 'master'", {"branch": "dev"}, True),
        ("branch != 'master'", {"branch": "master"}, False),
        ("tag =~ '^v1\\.'", {"tag": "v1.2.0"}, True),
        ("tag =~ '^v1\\.'", {"tag": "v10.0"}, False),
        ("tag =~ '1'", {"tag": "v2.1"}, True),  # unanchored search, as PCRE's match? is
        ("branch !~ '^dev/'", {"branch": "dev/x"}, False),
        ("branch !~ '^dev/'", {"branch": "main"}, True),
        ("'master' = branch", {"branch": "master"}, True),
        ("'master' != branch", {"branch": "master"}, False),
        # Written string-first, the keyword's value is the pattern (interpreter.ex: ~r/#{right}/ on the left).
        ("'release-master' =~ branch", {"branch": "master"}, True),
        ("'master' =~ branch", {"branch": "release-master"}, False),
        ("pull_request = '42'", {"pull_request": "42"}, True),
        ("result = 'passed' and result_reason = 'test'", {"result": "passed", "result_reason": "test"}, True),
        ("result = 'failed' or result_reason = 'test'", {"result": "passed", "result_reason": "user"}, False),
        ("BRANCH = 'master' AND RESULT = 'passed'", {"branch": "master", "result": "passed"}, True),
        ("true", {}, True),
        ("FALSE", {}, False),
        ("'true'", {}, True),
    ],
)
def test_each_operator_and_keyword(expression: str, facts: dict[str, str], expected: bool) -> None:
    assert compile_when(expression)(facts) is expected


def test_and_and_or_share_one_precedence_level_and_group_to_the_left() -> None:
    # Semaphore's grammar: expression -> expression bool_operator term. So this is (true or false) and false.
    assert compile_when("true or false and false")({}) is False
    assert parse_when("true or false and false") == BoolOp(
        "and", BoolOp("or", Literal(True), Literal(False)), Literal(False)
    )
    # ...which a reader expecting "and binds tighter" would get wrong: the rule promotes nothing here.
    facts = {"branch": "dev", "result": "failed"}
    assert compile_when("branch = 'master' or branch = 'dev' and result = 'passed'")(facts) is False
    assert compile_when("branch = 'master' or (branch = 'dev' and result = 'passed')")(facts) is False
    assert compile_when("branch = 'dev' or branch = 'master' and result = 'failed'")(facts) is True


@pytest.mark.parametrize(
    ("expression", "column", "fragment"),
    [
        ("branch = ''", 10, "empty string"),
        ("Branch = 'master'", 1, "lowercase or UPPERCASE"),
        ("branch = 'master' And tag = 'x'", 19, "lowercase or UPPERCASE"),
        ("changed('/docs/')", 1, "changed() is not supported"),
        ("branch = 'master' and change_in()", 23, "takes the paths"),
        ("change_in({exclude: ['/docs']})", 1, "a path or a list of paths"),
        ("change_in('/lib', '/app')", 1, "a map of options"),
        ("change_in('/lib', {exlude: ['/docs']})", 1, "unknown change_in() option 'exlude'"),
        ("change_in('/lib', {pipeline_file: 'watch'})", 1, "'track' or 'ignore'"),
        ("change_in('/lib', {on_tags: 'no'})", 1, "on_tags is true or false"),
        ("change_in('/lib', {exclude: [1]})", 1, "exclude is a path or a list of paths"),
        ("change_in('/lib' '/app')", 18, "expected ',' or ')'"),
        ("change_in(['/lib' '/app'])", 19, "expected ',' or ']'"),
        ("(branch = 'master'", 1, "never closed"),
        ("true or false)", 14, "unbalanced ')'"),
        ("branch !~", 10, "incomplete"),
        ("=", 1, "expected a keyword"),
        ("and branch != 'master'", 1, "unexpected 'and'"),
        ("branch ! = 'x'", 8, "illegal character '!'"),
        ("branch = 'master", 10, "unterminated string"),
        ("tag =~ '('", 8, "invalid regular expression"),
        ("branch = master", 10, "single-quoted string"),
        ("branch = 'a' branch = 'b'", 14, "expected 'and' or 'or'"),
        ("'master' = 'master'", 12, "compared with a keyword"),
        ("'main'", 1, "bare string"),
        ("bramch = 'master'", 1, "unknown keyword 'bramch'"),
        ("branch = 1", 10, "single-quoted string"),
        ("1", 1, "numbers, lists and maps"),
        ("branch: 'master'", 1, "not a comparison (write e.g. branch = 'value')"),
        ("", 1, "empty condition"),
        ("   ", 4, "empty condition"),
    ],
)
def test_bad_conditions_name_the_position_and_the_problem(expression: str, column: int, fragment: str) -> None:
    with pytest.raises(WhenError) as caught:
        parse_when(expression)
    assert caught.value.column == column, str(caught.value)
    assert fragment in str(caught.value)
    assert f"position {column}" in str(caught.value)
    assert repr(expression) in str(caught.value)


CHAIN = " and ".join(["branch != 'x'"] * (MAX_DEPTH + 1))  # MAX_DEPTH operators: the deepest accepted


@pytest.mark.parametrize(
    ("expression", "column"),
    [
        (CHAIN + " or true", len(CHAIN) + 2),
        ("(" * (MAX_DEPTH + 1) + "true" + ")" * (MAX_DEPTH + 1), MAX_DEPTH + 1),
        ("(" * 5000 + "true" + ")" * 5000, MAX_DEPTH + 1),
        (" and ".join(["true"] * 5000), len(" and ".join(["true"] * (MAX_DEPTH + 1))) + 2),
    ],
)
def test_a_condition_too_deep_for_the_stack_is_a_when_error(expression: str, column: int) -> None:
    # Thousands of `and` in a row used to parse, then crash the simulator with RecursionError when a pipeline
    # finished and the condition was evaluated (and when its promotion was hashed or compared).
    with pytest.raises(WhenError, match="too deep for the simulator") as caught:
        parse_when(expression)
    assert caught.value.column == column


def test_the_deepest_accepted_conditions_evaluate_hash_and_compare() -> None:
    for text in (CHAIN, "(" * MAX_DEPTH + "branch != 'x'" + ")" * MAX_DEPTH):
        condition = compile_when(text)
        assert condition({"branch": "master"}) is True
        assert condition({"branch": "x"}) is False
        assert hash(condition) == hash(compile_when(text))
        assert condition == compile_when(text)


def test_compile_accepts_yaml_booleans() -> None:
    assert compile_when(True)({}) is True
    assert compile_when(False)({"branch": "master"}) is False


def test_a_compiled_condition_shows_its_source() -> None:
    condition = compile_when("branch = 'master'")
    assert "branch = 'master'" in repr(condition)
    assert condition == compile_when("BRANCH   =   'master'")


# --- properties --------------------------------------------------------------------------------------------------

_strings = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_characters="'"), min_size=1, max_size=8
)
_plain_strings = st.text(alphabet="abcmx.-/_0123456789", min_size=1, max_size=8)


def _comparisons() -> st.SearchStrategy[Node]:
    equality = st.builds(Comparison, st.sampled_from(KEYWORDS), st.sampled_from(["=", "!="]), _strings, st.booleans())
    regex = st.builds(
        Comparison, st.sampled_from(KEYWORDS), st.sampled_from(["=~", "!~"]), _plain_strings, st.just(True)
    )
    return st.one_of(equality, regex, st.builds(Literal, st.booleans()))


_conditions: st.SearchStrategy[Node] = st.recursive(
    _comparisons(),
    lambda children: st.builds(BoolOp, st.sampled_from(["and", "or"]), children, children),
    max_leaves=12,
)


@given(_conditions)
def test_printing_and_parsing_again_gives_the_same_condition(node: Node) -> None:
    assert parse_when(unparse(node)) == node


@given(
    st.booleans(),
    st.lists(st.tuples(st.sampled_from(["and", "or", "AND", "OR"]), st.booleans()), max_size=8),
)
def test_an_unparenthesised_chain_is_a_left_fold(first: bool, rest: list[tuple[str, bool]]) -> None:
    text = " ".join(["true" if first else "false", *[f"{op} {'true' if value else 'false'}" for op, value in rest]])
    expected = functools.reduce(
        lambda acc, item: (acc and item[1]) if item[0].lower() == "and" else (acc or item[1]), rest, first
    )
    assert compile_when(text)({}) is expected


def _shout(node: Node) -> str:
    """The condition with every keyword, operator and literal in UPPERCASE (quoted strings kept), as Semaphore also
    accepts."""
    return re.sub(r"'[^']*'|[a-z_]+", lambda m: m[0] if m[0].startswith("'") else m[0].upper(), unparse(node))


@given(_conditions, st.fixed_dictionaries({key: _plain_strings | st.just("") for key in KEYWORDS}))
def test_evaluation_does_not_depend_on_how_the_condition_was_spelled(node: Node, facts: dict[str, str]) -> None:
    assert compile_when(_shout(node))(facts) is evaluate(node, facts)


@given(st.text(alphabet=st.sampled_from(list("()'=!~ abrnchtgsuleopqAND OR TRUE false_-.*^$1[]{},\t\n")), max_size=40))
def test_any_text_either_parses_or_is_a_when_error(text: str) -> None:
    result: Node | WhenError
    try:
        result = parse_when(text)
    except WhenError as error:
        result = error
    if isinstance(result, WhenError):
        assert 0 <= result.position <= len(text)
    else:
        assert parse_when(unparse(result)) == result


# --- change_in: evaluated against the changed files a run declares ------------------------------------------------

PIPELINE = ".semaphore/semaphore.yml"


@pytest.mark.parametrize(
    ("condition", "changed", "expected"),
    [
        ("change_in('/lib/')", None, True),  # the run declares nothing: everything changed
        ("change_in('/lib/')", [], False),
        ("change_in('/lib/')", ["lib/a.py"], True),
        ("change_in('/lib')", ["library/a.py"], False),  # a folder names what lies below it, not a prefix
        ("change_in('/lib/a.py')", ["lib/a.py"], True),
        ("change_in(['/docs', '/lib'])", ["lib/deep/b.py"], True),
        ("change_in('/**/*.md')", ["a/b/README.md"], True),
        ("change_in('/*.md')", ["a/README.md"], False),  # `*` stays within one folder
        ("change_in('../lib')", ["lib/a.py"], True),  # relative to the pipeline file's folder, .semaphore/
        ("change_in('scripts')", [".semaphore/scripts/x.sh"], True),
        ("change_in('scripts')", ["scripts/x.sh"], False),
        ("change_in('/lib', {exclude: ['/lib/docs']})", ["lib/docs/x.md"], False),
        ("change_in('/lib', {exclude: ['/lib/docs']})", ["lib/docs/x.md", "lib/a.py"], True),
        ("change_in('/lib')", [PIPELINE], True),  # pipeline_file: 'track' is the default
        ("change_in('/lib', {pipeline_file: 'ignore'})", [PIPELINE], False),
        ("branch = 'master' and change_in('/lib')", ["lib/a.py"], True),
    ],
)
def test_change_in_against_the_declared_changes(condition: str, changed: list[str] | None, expected: bool) -> None:
    facts = {"branch": "master"} if changed is None else {"branch": "master", "changed_files": "\n".join(changed)}
    assert compile_when(condition, PIPELINE)(facts) is expected


def test_change_in_on_a_tag_is_the_on_tags_option_whatever_changed() -> None:
    facts = {"tag": "v1.0", "changed_files": ""}
    assert compile_when("change_in('/lib')", PIPELINE)(facts) is True
    assert compile_when("change_in('/lib', {on_tags: false})", PIPELINE)(facts) is False


def test_change_in_prints_and_parses_back() -> None:
    text = "change_in(['/lib', 'x'], {exclude: ['/docs'], on_tags: false, default_branch: 'main'})"
    node = parse_when(text)
    assert parse_when(unparse(node)) == node


_segments = st.lists(
    st.text(alphabet="ab.", min_size=1, max_size=3).filter(lambda s: s not in (".", "..")), min_size=1, max_size=3
)


@given(st.lists(_segments, max_size=5), _segments)
def test_change_in_a_folder_means_a_changed_file_at_or_below_it(changed: list[list[str]], folder: list[str]) -> None:
    paths = ["/".join(path) for path in changed]
    target = "/".join(folder)
    expected = any(path == target or path.startswith(target + "/") for path in paths)
    condition = compile_when(f"change_in('/{target}', {{pipeline_file: 'ignore'}})", PIPELINE)
    assert condition({"changed_files": "\n".join(paths)}) is expected
