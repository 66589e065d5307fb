"""The README's main job, ``examples/gate_demo.py``, run as a user runs it: in a subprocess, files checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "examples" / "gate_demo.py"


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEMO), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_green_release_train_passes_and_promotes(tmp_path: Path) -> None:
    result = _run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "promoting to Production" in result.stdout
    assert "Deploy to production" in result.stdout
    assert "Gate verdict: passed" in result.stdout
    summary = (tmp_path / "gate-summary.md").read_text(encoding="utf-8")
    assert "Release train" in summary
    assert "Deploy to production" in summary
    assert not (tmp_path / "gate-logs").exists(), "no job failed, so no log should have been saved"


def test_failing_shard_fails_the_gate_with_its_command_and_log(tmp_path: Path) -> None:
    result = _run(tmp_path, "--failing", "--summary", "out/summary.html", "--log-dir", "logs")
    assert result.returncode == 1, result.stderr
    assert "promoting" not in result.stdout
    last_line = [line for line in result.stdout.splitlines() if line.startswith(">>> ")][-1]
    assert '"Unit tests - 2/3"' in last_line
    assert "exited with code 1" in last_line
    assert "assert 119 == 120" in result.stdout
    logs = list((tmp_path / "logs").iterdir())
    assert len(logs) == 1
    assert "assert 119 == 120" in logs[0].read_text(encoding="utf-8")
    html = (tmp_path / "out" / "summary.html").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "Unit tests - 2/3" in html
