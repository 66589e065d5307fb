"""Every documented exit code, produced for real: ``semaphore-gate`` in a subprocess against a simulator on a sped-up
real clock (or against nothing at all), and for usage errors one clear line on stderr without a traceback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_semaphore.simulator import SemaphoreSimulator

from .support import CANARY, FAILING, RELEASE_TRAIN, SPEED, clean_env, first_pipeline, gate


@pytest.fixture
def green() -> Iterator[SemaphoreSimulator]:
    with SemaphoreSimulator(RELEASE_TRAIN, token=CANARY, speed=SPEED) as sim:
        yield sim


@pytest.fixture
def red() -> Iterator[SemaphoreSimulator]:
    with SemaphoreSimulator(FAILING, token=CANARY, speed=SPEED) as sim:
        yield sim


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_0_passed(green: SemaphoreSimulator, tmp_path: Path) -> None:
    result = gate("wait", first_pipeline(green), sim=green, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Verdict: passed" in result.stdout


def test_1_failed(red: SemaphoreSimulator, tmp_path: Path) -> None:
    result = gate("wait", first_pipeline(red), sim=red, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "assert 119 == 120" in result.stdout


def test_3_stopped(green: SemaphoreSimulator, tmp_path: Path) -> None:
    ppl_id = first_pipeline(green)
    green.world.terminate_pipeline(ppl_id)
    result = gate("wait", ppl_id, sim=green, cwd=tmp_path)
    assert result.returncode == 3, result.stderr


def test_4_failed_for_another_reason(green: SemaphoreSimulator, tmp_path: Path) -> None:
    result = gate(
        "promote", "Production", "--pipeline", first_pipeline(green), "--param", "REGION=mars", sim=green, cwd=tmp_path
    )
    assert result.returncode == 4, result.stderr


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_5_api_unavailable_for_an_unreachable_url(tmp_path: Path) -> None:
    env = clean_env(None, SEMAPHORE_ORGANIZATION_URL=f"http://127.0.0.1:{_closed_port()}", SEMAPHORE_API_TOKEN=CANARY)
    result = gate("wait", "ppl-1", "--patience", "30", sim=None, cwd=tmp_path, env=env, speed=1000)
    assert result.returncode == 5, result.stderr
    line = _one_line(result.stderr)
    assert "not a pipeline verdict" in line
    assert "Semaphore API unavailable" in line


def test_6_authentication(green: SemaphoreSimulator, tmp_path: Path) -> None:
    env = clean_env(green, SEMAPHORE_API_TOKEN="not-the-token")
    result = gate("status", first_pipeline(green), sim=green, cwd=tmp_path, env=env)
    assert result.returncode == 6, result.stderr
    assert "authentication or permission refused" in _one_line(result.stderr)


def test_124_timeout(tmp_path: Path) -> None:
    # A slower clock: the pipeline (about 160 simulated seconds) must outlast the process's start-up and the timeout.
    with SemaphoreSimulator(RELEASE_TRAIN, token=CANARY, speed=20) as sim:
        result = gate("wait", first_pipeline(sim), "--timeout", "20", sim=sim, cwd=tmp_path, speed=20)
    assert result.returncode == 124, result.stderr
    assert "not a pipeline verdict: timed out after 20 s" in result.stderr


# --------------------------------------------------------------------------------------------------- usage: exit 2


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("deploy",), "invalid choice: 'deploy'"),
        (("promote", "Production", "--pipeline", "p", "--param", "REGION"), "'REGION' is not NAME=VALUE"),
        (("wait",), "wait needs exactly one of"),
        (("wait", "p", "--timeout", "inf"), "--timeout (command line): 'inf' is not a finite number > 0"),
        (("promote", "Production"), "promote needs a pipeline id (SEMAPHORE_PIPELINE_ID or --pipeline)"),
    ],
)
def test_2_usage_errors_are_one_line(
    green: SemaphoreSimulator, tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    result = gate(*args, sim=green, cwd=tmp_path)
    assert result.returncode == 2
    assert expected in _one_line(result.stderr)


def test_2_missing_token(green: SemaphoreSimulator, tmp_path: Path) -> None:
    env = clean_env(None, SEMAPHORE_ORGANIZATION_URL=green.url)
    result = gate("status", first_pipeline(green), sim=green, cwd=tmp_path, env=env)
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert "needs an API token (SEMAPHORE_API_TOKEN or --token-file)" in line


def test_2_plain_http_off_loopback(tmp_path: Path) -> None:
    result = gate(
        "--url", "http://semaphore.example.com", "status", "p", sim=None, cwd=tmp_path,
        env=clean_env(None, SEMAPHORE_API_TOKEN=CANARY),
    )  # fmt: skip
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert "--url (command line)" in line
    assert "http" in line


def test_2_a_pipeline_that_does_not_exist(green: SemaphoreSimulator, tmp_path: Path) -> None:
    result = gate("status", "00000000-0000-0000-0000-000000000000", sim=green, cwd=tmp_path)
    assert result.returncode == 2
    assert "not found" in _one_line(result.stderr)


def test_token_file_is_read_and_an_unreadable_one_is_a_usage_error(green: SemaphoreSimulator, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(CANARY + "\n", encoding="utf-8")
    env = clean_env(None, SEMAPHORE_ORGANIZATION_URL=green.url)
    ok = gate("status", first_pipeline(green), "--token-file", str(token_file), sim=green, cwd=tmp_path, env=env)
    assert ok.returncode == 0, ok.stderr
    missing = gate("--token-file", str(tmp_path / "nope"), "status", "p", sim=green, cwd=tmp_path, env=env)
    assert missing.returncode == 2
    assert "--token-file" in _one_line(missing.stderr)
