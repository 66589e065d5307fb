"""``semaphore-gate simulate`` in a real subprocess: it prints a URL and token that work, and Ctrl-C exits 130."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_semaphore.simulator.serve import serve


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest_semaphore.cli", "simulate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@contextlib.contextmanager
def _serving(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A running ``simulate`` and its banner (read up to "Press Ctrl-C"); killed on the way out if still alive."""
    process = _start(*args)
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        yield process, "".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def _stop(process: subprocess.Popen[str], signum: int) -> tuple[str, str]:
    process.send_signal(signum)
    return process.communicate(timeout=20)


def test_simulate_prints_url_and_token_and_exits_130_on_ctrl_c() -> None:
    with _serving("--speed", "50") as (process, banner):
        url = re.search(r"listening on (http://127\.0\.0\.1:(\d+))", banner)
        token = re.search(r"token: (\S+)", banner)
        assert url is not None, banner
        assert token is not None, banner
        conn = http.client.HTTPConnection("127.0.0.1", int(url.group(2)), timeout=10)
        try:
            conn.request("GET", "/api/v1alpha/projects", headers={"Authorization": f"Token {token.group(1)}"})
            response = conn.getresponse()
            projects = json.loads(response.read())
        finally:
            conn.close()
        assert response.status == 200
        assert isinstance(projects, list)
        _, stderr = _stop(process, signal.SIGINT)
    assert process.returncode == 130
    assert "Traceback" not in stderr


def test_simulate_exits_143_quietly_on_sigterm_and_prints_the_token_only_where_meant() -> None:
    with _serving("--speed", "50") as (process, banner):
        token = re.search(r"token: (\S+)", banner)
        assert token is not None, banner
        rest, stderr = _stop(process, signal.SIGTERM)
    assert process.returncode == 143
    assert (rest, stderr) == ("", "")
    # The token is printed by design, but only on the two lines meant to hand it over.
    assert [line for line in banner.splitlines() if token.group(1) in line] == [
        f"  token: {token.group(1)}",
        next(line for line in banner.splitlines() if line.startswith("Try: export ")),
    ]


def test_simulate_with_a_malformed_scenario_exits_2_naming_the_problem(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("projects: [unclosed\n")
    process = _start(str(broken))
    out, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "broken.yml" in stderr
    assert "Traceback" not in stderr
    assert out == ""


def test_simulate_with_a_missing_scenario_exits_2_with_a_message(tmp_path: Path) -> None:
    process = _start(str(tmp_path / "nope.yml"))
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "nope.yml" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("speed", [0, -1, float("nan"), float("inf")])
def test_serve_refuses_a_speed_that_is_not_positive_and_finite(speed: float) -> None:
    err = io.StringIO()
    assert serve(None, speed=speed, out=io.StringIO(), err=err) == 2
    assert "--speed must be a positive, finite number" in err.getvalue()


@pytest.mark.parametrize("port", [-5, 65536, 99999])
def test_serve_refuses_a_port_out_of_range_without_a_traceback(port: int) -> None:
    err = io.StringIO()
    assert serve(None, port=port, out=io.StringIO(), err=err, wait=lambda: None) == 2
    assert f"--port must be 0 (any free port) to 65535, not {port}" in err.getvalue()


def test_serve_returns_130_when_interrupted() -> None:
    out = io.StringIO()

    def interrupt() -> None:
        raise KeyboardInterrupt

    before = signal.getsignal(signal.SIGTERM)
    assert serve(None, speed=2, token="shown", out=out, err=io.StringIO(), wait=interrupt) == 130
    assert "token: shown" in out.getvalue()
    assert signal.getsignal(signal.SIGTERM) is before  # serve's SIGTERM handler does not outlive it


def test_serve_returns_143_on_sigterm_and_closes_the_simulator() -> None:
    out = io.StringIO()

    def terminate() -> None:
        signal.raise_signal(signal.SIGTERM)  # delivered to this (main) thread, as kill would

    assert serve(None, speed=2, out=out, err=io.StringIO(), wait=terminate) == 143
    url = re.search(r"listening on http://127\.0\.0\.1:(\d+)", out.getvalue())
    assert url is not None
    with pytest.raises(OSError):  # closed: nothing listens there any more
        socket.create_connection(("127.0.0.1", int(url.group(1))), timeout=5).close()


@pytest.mark.parametrize("argv", [["simulate", "--help"]])
def test_simulate_help_mentions_speed_and_port(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_semaphore.cli import main

    assert main(argv) == 0
    help_text = capsys.readouterr().out
    assert "--speed" in help_text
    assert "--port" in help_text
    assert "SCENARIO" in help_text


def test_serve_on_a_port_in_use_exits_2_naming_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = io.StringIO()
        assert serve(None, port=port, out=io.StringIO(), err=err, wait=lambda: None) == 2
    assert f"cannot listen on port {port}" in err.getvalue()
