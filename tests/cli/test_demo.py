"""``semaphore-gate demo``, the README's main job, run as a user runs it after the install: the console script in an
empty folder; it exits 0 and its files exist and parse (the JUnit report by a strict parser)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from lxml import etree

from .support import ESCAPE, check_output, clean_env


def _console_script() -> str:
    found = shutil.which("semaphore-gate", path=str(Path(sys.executable).parent))
    assert found is not None, "the package's console script is installed beside the interpreter"
    return found


def _demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [_console_script(), "demo", *args],
        cwd=tmp_path,
        env=clean_env(None),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    check_output(result.stdout + result.stderr)
    return result


def test_demo_rehearses_a_gate_and_leaves_its_files(tmp_path: Path) -> None:
    result = _demo(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not ESCAPE.search(result.stdout)
    out = result.stdout
    assert "Build passed: promoting to Production with REGION=eu-west-1" in out
    assert "Deploy to production" in out
    assert 'Semaphore job "Unit tests - 2/3"' in out
    assert "assert 119 == 120" in out
    assert "release-train-deploy-secret" not in out
    last = out.splitlines()[-7:]
    assert any("semaphore-gate promote Production" in line for line in last), last
    assert last[-1] == "Verdict: rehearsal passed (exit code 0)"

    folder = tmp_path / "semaphore-demo"
    root = etree.parse(str(folder / "junit.xml"), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    failed = {
        c.get("name"): c.findtext("failure") or "" for c in root.iter("testcase") if c.find("failure") is not None
    }
    assert list(failed) == ["Unit tests - 2/3"]
    assert "exited with code 1" in failed["Unit tests - 2/3"]
    html = (folder / "summary.html").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "Deploy to production" in html
    assert "Unit tests - 2/3" in html
    (log,) = (folder / "logs").iterdir()
    assert "assert 119 == 120" in log.read_text(encoding="utf-8")
    assert f"{log.relative_to(tmp_path)}" in out, "the last lines say where the full log is"


def test_demo_json_names_its_files(tmp_path: Path) -> None:
    result = _demo(tmp_path, "--json", "--output-dir", "out")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["verdict"] == "rehearsal passed"
    roles = [(p["name"], p["role"], p["outcome"]) for p in doc["pipelines"]]
    assert roles == [
        ("Release train", "wait", "passed"),
        ("Deploy to production", "promoted", "passed"),
        ("Release train", "wait", "failed"),
    ]
    assert [p["action"] for p in doc["promotions"]] == ["triggered"]
    for path in doc["files"].values():
        assert (tmp_path / path).is_file()
