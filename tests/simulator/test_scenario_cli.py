"""``semaphore-gate simulate SCENARIO`` with scenario files and ``.semaphore`` folders: what it serves, and what it
says about a bad file (the file, the line, the problem; exit 2)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import pytest_semaphore.simulator as simulator_package
from pytest_semaphore.simulator.serve import serve

EXAMPLE = Path(simulator_package.__file__).parent / "examples" / "release-train"


@pytest.mark.parametrize("target", ["scenario.yml", ".semaphore", "."])
def test_simulate_serves_a_scenario_file_or_a_semaphore_folder(target: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = serve(EXAMPLE / target, speed=50, out=out, err=err, wait=lambda: None)
    assert code == 0, err.getvalue()
    assert "project release-train:" in out.getvalue()
    assert err.getvalue() == ""


def test_simulate_reports_a_bad_pipeline_file_with_its_line(tmp_path: Path) -> None:
    folder = tmp_path / ".semaphore"
    folder.mkdir()
    (folder / "semaphore.yml").write_text(
        "version: v1.0\nname: X\nagent: {machine: {type: e1-standard-2}}\nblocks:\n"
        "  - name: A\n    filters: [x]\n    task: {jobs: [{name: j, commands: [x]}]}\n",
        encoding="utf-8",
    )
    out, err = io.StringIO(), io.StringIO()
    assert serve(folder, speed=50, out=out, err=err, wait=lambda: None) == 2
    message = err.getvalue()
    assert f"{folder / 'semaphore.yml'}:6: `filters` in a block is not supported by the simulator" in message
    assert out.getvalue() == ""
