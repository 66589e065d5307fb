"""Options, ini keys and environment variables: each source, their precedence, the header, and usage errors.

The header is where the plugin says which source each value came from, so precedence is read from it. Bad values are
usage errors (pytest's exit 4) naming the option, its source and what is accepted, with no traceback. Environment
cases run in subprocesses, so the inner session reads a real environment.
"""

from __future__ import annotations

import pytest

from .conftest import CANARY

PASSING_TEST = """
def test_nothing():
    pass
"""


def header(result: pytest.RunResult) -> list[str]:
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if line.startswith("semaphore: "))
    out = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        out.append(line.strip())
    return out


def test_unconfigured_the_header_says_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=PASSING_TEST)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "semaphore:" not in result.stdout.str()
    assert "= semaphore =" not in result.stdout.str()


def test_command_line_beats_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nsemaphore_url = ini-org\nsemaphore_timeout = 90\nsemaphore_log_lines = 20\n")
    pytester.makepyfile(test_inner=PASSING_TEST)
    result = pytester.runpytest("--semaphore-url=cli-org", "--semaphore-token=" + CANARY, "--semaphore-log-lines=5")
    result.assert_outcomes(passed=1)
    lines = header(result)
    assert lines[0] == "semaphore: url: https://cli-org.semaphoreci.com (--semaphore-url)"
    assert "token: set (--semaphore-token)" in lines
    assert (
        "timeout: 90.0 (semaphore_timeout in tox.ini)" in lines
        or "timeout: 90.0 (semaphore_timeout in pytest.ini)" in lines
    )
    assert "log lines: 5 (--semaphore-log-lines)" in lines
    assert CANARY not in result.stdout.str()


def test_ini_in_pyproject(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\nsemaphore_url = "ini-org"\nsemaphore_fail_fast = true\nsemaphore_attach = "all"\n'
    )
    pytester.makepyfile(test_inner=PASSING_TEST)
    result = pytester.runpytest("--semaphore-report=summary.md")
    lines = header(result)
    assert lines[0] == "semaphore: url: https://ini-org.semaphoreci.com (semaphore_url in pyproject.toml)"
    assert "fail fast: True (semaphore_fail_fast in pyproject.toml)" in lines
    assert "attach: all (semaphore_attach in pyproject.toml)" in lines


def test_environment_beats_ini_and_loses_to_the_command_line(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nsemaphore_url = ini-org\n")
    pytester.makepyfile(test_inner=PASSING_TEST)
    env = {"SEMAPHORE_ORGANIZATION_URL": "env-org", "SEMAPHORE_API_TOKEN": CANARY, "SEMAPHORE_PIPELINE_ID": "p-1"}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        from_env = pytester.runpytest_subprocess()
        from_cli = pytester.runpytest_subprocess("--semaphore-url=cli-org")
    assert header(from_env)[:2] == [
        "semaphore: url: https://env-org.semaphoreci.com (env SEMAPHORE_ORGANIZATION_URL)",
        "token: set (env SEMAPHORE_API_TOKEN)",
    ]
    assert "pipeline: p-1 (env SEMAPHORE_PIPELINE_ID)" in header(from_env)
    assert header(from_cli)[0] == "semaphore: url: https://cli-org.semaphoreci.com (--semaphore-url)"
    for result in (from_env, from_cli):
        result.assert_outcomes(passed=1)
        assert CANARY not in result.stdout.str() + result.stderr.str()


def test_token_file(pytester: pytest.Pytester) -> None:
    token_file = pytester.path / "token.txt"
    token_file.write_text(CANARY + "\n")
    pytester.makepyfile(
        test_inner=f"""
        def test_token(semaphore_settings):
            assert semaphore_settings.token == {CANARY!r}
        """
    )
    result = pytester.runpytest(f"--semaphore-token-file={token_file}", "--semaphore-url=org")
    result.assert_outcomes(passed=1)
    assert "token: set (--semaphore-token-file)" in header(result)


def test_the_organisation_url_alone_does_not_configure_the_plugin(pytester: pytest.Pytester) -> None:
    """``SEMAPHORE_ORGANIZATION_URL`` is set in every Semaphore job: alone, it is no sign the suite uses us, and a
    value the plugin could not use must not break a suite that never talks to Semaphore."""
    pytester.makepyfile(test_inner=PASSING_TEST)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEMAPHORE_ORGANIZATION_URL", "http://not-loopback.example")
        mp.setenv("SEMAPHORE_PIPELINE_ID", "a/b")
        result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    assert "semaphore:" not in result.stdout.str()
    assert "= semaphore =" not in result.stdout.str()


def test_a_bad_environment_value_fails_where_it_is_used(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_inner="""
        def test_uses_it(semaphore_client):
            pass
        """
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEMAPHORE_ORGANIZATION_URL", "http://not-loopback.example")
        mp.setenv("SEMAPHORE_API_TOKEN", CANARY)
        result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*SEMAPHORE_ORGANIZATION_URL (environment): refusing plain http:// to not-loopback*"])
    assert CANARY not in result.stdout.str()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--semaphore-timeout=soon"], "--semaphore-timeout (command line): 'soon' is not a number; accepted: *"),
        (["--semaphore-timeout=inf"], "--semaphore-timeout (command line): 'inf' is not a finite number > 0*"),
        (["--semaphore-patience=-3"], "--semaphore-patience (command line): '-3' is not a finite number >= 0*"),
        (["--semaphore-url=http://example.com"], "--semaphore-url (command line): refusing plain http://*"),
        (["--semaphore-attach=some"], "--semaphore-attach (command line): 'some' is not one of failed, all, none*"),
        (
            ["--semaphore-promote-param=REGION"],
            "--semaphore-promote-param (command line): 'REGION' is not NAME=VALUE; accepted: NAME=VALUE",
        ),
        (
            ["--semaphore-promote=Production"],
            "*--semaphore-promote needs the Semaphore URL (SEMAPHORE_ORGANIZATION_URL or --semaphore-url) and an API "
            "token (SEMAPHORE_API_TOKEN or --semaphore-token or --semaphore-token-file)",
        ),
        (
            ["--semaphore-wait-for=p1", "--semaphore-url=org"],
            "*--semaphore-wait-for needs an API token (SEMAPHORE_API_TOKEN or --semaphore-token or "
            "--semaphore-token-file)",
        ),
        (
            ["--semaphore-promote=Production", "--semaphore-url=org", "--semaphore-token=" + CANARY],
            "*--semaphore-promote needs a pipeline id (SEMAPHORE_PIPELINE_ID or --semaphore-pipeline)",
        ),
    ],
)
def test_bad_values_are_usage_errors_without_traceback(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    pytester.makepyfile(test_inner=PASSING_TEST)
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: " + message])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    assert CANARY not in result.stderr.str() + result.stdout.str()


def test_a_bad_ini_value_names_the_key_and_the_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nsemaphore_timeout = 1h\n")
    pytester.makepyfile(test_inner=PASSING_TEST)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: semaphore_timeout in tox.ini (ini): '1h' is not a number*"])


def test_help_lists_every_option_with_its_ini_and_environment(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    text = " ".join(result.stdout.str().split())
    for option in ("--semaphore-url=URL", "--semaphore-promote-param=NAME=VALUE", "--semaphore-simulate "):
        assert option in text
    assert "[env SEMAPHORE_ORGANIZATION_URL] [ini semaphore_url]" in text
    assert "visible to other users in `ps`" in text
