"""settings.py: one table, two faces' spellings, command line > environment > ini > default, clear errors.

Checked against the module's contract: command-line and ini values are validated at resolution, environment values
when used; every error names the option as the face spells it, its source and what is accepted; the token never
appears in an error, a repr or the header.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pytest_semaphore.settings import FIELDS, Face, Settings, SettingsError, add_options

PYTEST_FACE = Face.prefixed(
    "--semaphore-",
    list(FIELDS),
    ini_prefix="semaphore_",
    ini_names=["url", "timeout", "patience", "fail_fast", "log_lines", "log_dir", "attach"],
    spelled={"promote_parameters": "promote-param"},
)
COMMAND_FACE = Face.prefixed("--", ["url", "token_file", "timeout", "patience", "pipeline"], dest_prefix="")
TOKEN = "canary-token-7f3a9c"


def resolve(cli: dict[str, object] | None = None, env: dict[str, str] | None = None, **ini: str) -> Settings:
    return Settings.resolve(
        PYTEST_FACE,
        cli={f"semaphore_{k}": v for k, v in (cli or {}).items()},
        environ=env or {},
        ini=dict(ini),
        ini_file="pytest.ini",
    )


def test_defaults_when_nothing_is_given() -> None:
    settings = resolve()
    assert settings.timeout == 3600.0
    assert settings.patience == 300.0
    assert settings.log_lines == 100
    assert settings.attach == "failed"
    assert settings.url is None
    assert settings.token is None
    assert settings.flag("fail_fast") is False
    assert settings.names("promote") == []
    assert settings.promote_parameters == {}
    assert settings.source("timeout") == "default"


@pytest.mark.parametrize(
    ("cli", "env", "ini", "expected", "source"),
    [
        ({"url": "cli-org"}, {"SEMAPHORE_ORGANIZATION_URL": "env-org"}, "ini-org", "cli-org", "--semaphore-url"),
        (None, {"SEMAPHORE_ORGANIZATION_URL": "env-org"}, "ini-org", "env-org", "env SEMAPHORE_ORGANIZATION_URL"),
        (None, {"SEMAPHORE_ORGANIZATION_URL": "  "}, "ini-org", "ini-org", "semaphore_url in pytest.ini"),
        (None, {}, "ini-org", "ini-org", "semaphore_url in pytest.ini"),
    ],
)
def test_url_precedence(
    cli: dict[str, object] | None, env: dict[str, str], ini: str, expected: str, source: str
) -> None:
    settings = resolve(cli, env, url=ini)
    assert settings.url == f"https://{expected}.semaphoreci.com"
    assert settings.source("url") == source


def test_numbers_from_ini_are_parsed_by_hand() -> None:
    settings = resolve(timeout="90.5", patience="0", log_lines="7", fail_fast="True", attach="ALL")
    assert settings.timeout == 90.5
    assert settings.patience == 0.0
    assert settings.log_lines == 7
    assert settings.flag("fail_fast") is True
    assert settings.attach == "all"
    assert settings.origin("timeout") == "ini"


def test_command_line_beats_ini_for_numbers() -> None:
    settings = resolve({"timeout": "30"}, timeout="90")
    assert settings.timeout == 30.0
    assert settings.source("timeout") == "--semaphore-timeout"


@pytest.mark.parametrize(
    ("value", "reason"),
    [("abc", "'abc' is not a number"), ("inf", "'inf' is not a finite number > 0"), ("-1", "not a finite number > 0")],
)
def test_bad_timeout_on_the_command_line_names_option_source_and_accepted(value: str, reason: str) -> None:
    with pytest.raises(SettingsError) as info:
        resolve({"timeout": value})
    message = str(info.value)
    assert message.startswith("--semaphore-timeout (command line): ")
    assert reason in message
    assert "accepted: a finite number of seconds > 0" in message


def test_bad_ini_value_fails_at_resolution_naming_key_and_file() -> None:
    with pytest.raises(SettingsError, match=r"^semaphore_log_lines in pytest.ini \(ini\): 'many' is not a whole"):
        resolve(log_lines="many")


def test_bad_environment_value_fails_only_when_used() -> None:
    settings = resolve(env={"SEMAPHORE_ORGANIZATION_URL": "http://example.com"})  # no error yet
    with pytest.raises(SettingsError, match=r"^SEMAPHORE_ORGANIZATION_URL \(environment\): refusing plain http://"):
        _ = settings.url


def test_plain_http_off_loopback_is_refused_loopback_allowed() -> None:
    with pytest.raises(SettingsError, match=r"refusing plain http:// to example\.com"):
        resolve({"url": "http://example.com"})
    assert resolve({"url": "http://127.0.0.1:8080"}).url == "http://127.0.0.1:8080"


def test_promote_param_needs_an_equals_sign() -> None:
    with pytest.raises(SettingsError, match=r"^--semaphore-promote-param \(command line\): 'VERSION' is not NAME="):
        resolve({"promote_parameters": ["VERSION"]})
    settings = resolve({"promote_parameters": ["VERSION=1.2=3", "EMPTY="]})
    assert settings.promote_parameters == {"VERSION": "1.2=3", "EMPTY": ""}


def test_repeatable_options_keep_their_order() -> None:
    settings = resolve({"wait_for": ["a1", "b2"], "promote": ["staging", "production"]})
    assert settings.names("wait_for") == ["a1", "b2"]
    assert settings.names("promote") == ["staging", "production"]


def test_pipeline_id_from_the_environment() -> None:
    settings = resolve(env={"SEMAPHORE_PIPELINE_ID": "ppl-1"})
    assert settings.pipeline == "ppl-1"
    assert settings.source("pipeline") == "env SEMAPHORE_PIPELINE_ID"
    with pytest.raises(SettingsError, match="SEMAPHORE_PIPELINE_ID"):
        _ = resolve(env={"SEMAPHORE_PIPELINE_ID": "a/b"}).pipeline


def test_token_sources_and_secrecy(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    from_env = resolve(env={"SEMAPHORE_API_TOKEN": TOKEN})
    assert from_env.token == TOKEN
    assert from_env.token_source() == "env SEMAPHORE_API_TOKEN"
    from_file = resolve({"token_file": str(token_file)}, env={"SEMAPHORE_API_TOKEN": "other"})
    assert from_file.token == TOKEN
    assert from_file.token_source() == "--semaphore-token-file"
    explicit = resolve({"token": TOKEN, "token_file": str(token_file)})
    assert explicit.token_source() == "--semaphore-token"
    for settings in (from_env, from_file, explicit):
        assert TOKEN not in repr(settings)
        assert TOKEN not in "\n".join(settings.describe())


def test_a_bad_token_is_refused_without_quoting_it(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        resolve({"token": TOKEN + " two"})
    assert TOKEN not in str(info.value)
    assert "--semaphore-token (command line)" in str(info.value)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + " " + TOKEN)
    with pytest.raises(SettingsError, match="--semaphore-token-file: the token file") as info:
        _ = resolve({"token_file": str(token_file)}).token
    assert TOKEN not in str(info.value)


def test_missing_token_file_names_the_option(tmp_path: Path) -> None:
    settings = resolve({"token_file": str(tmp_path / "absent")})
    with pytest.raises(SettingsError, match=r"--semaphore-token-file: cannot read the token file .*absent"):
        _ = settings.token


def test_require_says_how_to_give_what_is_missing() -> None:
    with pytest.raises(SettingsError) as info:
        resolve().require(("url", "token"), "--semaphore-promote")
    assert str(info.value) == (
        "--semaphore-promote needs the Semaphore URL (SEMAPHORE_ORGANIZATION_URL or --semaphore-url) and "
        "an API token (SEMAPHORE_API_TOKEN or --semaphore-token or --semaphore-token-file)"
    )
    resolve({"url": "org", "token": TOKEN}).require(("url", "token"), "x")  # no error


def test_client_is_built_from_settings() -> None:
    settings = resolve({"url": "http://127.0.0.1:9"}, env={"SEMAPHORE_API_TOKEN": TOKEN})
    with settings.client() as client:
        assert client.base_url == "http://127.0.0.1:9"
        assert client.redaction_values() == (TOKEN,)
    with pytest.raises(SettingsError, match="talking to Semaphore needs an API token"):
        resolve({"url": "org"}).client()


def test_header_names_each_source_and_tolerates_bad_environment() -> None:
    settings = resolve(
        {"timeout": "60"},
        env={"SEMAPHORE_ORGANIZATION_URL": "ftp://x", "SEMAPHORE_API_TOKEN": TOKEN},
        log_lines="5",
    )
    lines = settings.describe()
    assert lines[0] == "url: (unusable) (env SEMAPHORE_ORGANIZATION_URL)"
    assert lines[1] == "token: set (env SEMAPHORE_API_TOKEN)"
    assert "timeout: 60.0 (--semaphore-timeout)" in lines
    assert "log lines: 5 (semaphore_log_lines in pytest.ini)" in lines


def test_the_command_face_spells_options_its_own_way() -> None:
    parser = argparse.ArgumentParser()
    add_options(parser.add_argument, COMMAND_FACE)
    args = parser.parse_args(["--url", "org", "--timeout", "nope"])
    with pytest.raises(SettingsError, match=r"^--timeout \(command line\): 'nope' is not a number"):
        Settings.resolve(COMMAND_FACE, cli=args, environ={})
    args = parser.parse_args(["--url", "org", "--patience", "12"])
    settings = Settings.resolve(COMMAND_FACE, cli=args, environ={"SEMAPHORE_API_TOKEN": TOKEN})
    assert (settings.url, settings.patience, settings.token) == ("https://org.semaphoreci.com", 12.0, TOKEN)
    with pytest.raises(SettingsError, match=r"needs a pipeline id \(SEMAPHORE_PIPELINE_ID or --pipeline\)"):
        settings.require(("pipeline",), "promote")


def test_add_options_registers_flags_and_repeatables() -> None:
    parser = argparse.ArgumentParser()
    add_options(parser.add_argument, PYTEST_FACE)
    args = parser.parse_args(["--semaphore-fail-fast", "--semaphore-promote", "a", "--semaphore-promote", "b"])
    settings = Settings.resolve(PYTEST_FACE, cli=args, environ={})
    assert settings.flag("fail_fast") is True
    assert settings.names("promote") == ["a", "b"]
    assert settings.flag("simulate") is False
    help_text = " ".join(parser.format_help().split())
    assert "Semaphore organisation URL or name [env SEMAPHORE_ORGANIZATION_URL] [ini semaphore_url]" in help_text


def test_a_face_cannot_name_an_unknown_setting() -> None:
    with pytest.raises(ValueError, match="unknown settings: colour"):
        Face.prefixed("--", ["colour"])
