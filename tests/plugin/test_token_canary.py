"""The token canary through the pytest face: a recognisable token, a failed job that printed it and whose log is on
another host (loghub2, through a signed redirect), and every path of the plugin: passing and failing tests, ``-v``,
xdist workers, JUnit with excerpts attached, the JSON result, Markdown and HTML summaries, the log directory, a
session-level wait and ``--semaphore-simulate``. The token appears in no output and no file, and reached no host
but the API's (the simulator's request log says which host each request went to).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_semaphore.simulator import SemaphoreSimulator

from ..support import canary
from .conftest import CANARY

INNER = """
def test_red(wait_for_pipeline):
    wait_for_pipeline({red!r})

def test_red_as_expected(wait_for_pipeline):
    wait_for_pipeline({red!r}, expect="failed")

def test_green(wait_for_pipeline):
    wait_for_pipeline({green!r})
"""

#: Under ``--semaphore-simulate`` the session's own simulator answers (its own token): the developer's token in the
#: environment must still appear nowhere.
REHEARSAL = """
def test_rehearsal(wait_for_pipeline, semaphore_ppl_id):
    wait_for_pipeline(semaphore_ppl_id)
"""


def files_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*") if p.is_file())


def test_no_plugin_path_prints_writes_or_misdirects_the_token(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SemaphoreSimulator(canary.scenario(CANARY), token=CANARY) as sim:
        red, green = canary.start_both(sim)
        pytester.makepyfile(test_inner=INNER.format(red=red, green=green))
        monkeypatch.setenv("SEMAPHORE_API_TOKEN", CANARY)
        monkeypatch.setenv("SEMAPHORE_ORGANIZATION_URL", sim.url)
        common = ("-p", "no:cacheprovider", "--semaphore-attach=all", "--semaphore-log-dir=logs")
        runs = [
            ("-n", "2", "-v", "--junitxml=xdist.xml", "--semaphore-json=xdist.json", "--semaphore-report=xdist.md"),
            ("-v", "--junitxml=one.xml", "--semaphore-report=one.html", f"--semaphore-wait-for={green}"),
        ]
        outputs = []
        for args in runs:
            result = pytester.runpytest_subprocess(*common, *args)
            result.assert_outcomes(passed=2, failed=1)
            outputs.append(result.stdout.str() + result.stderr.str())
        assert canary.check_hosts(sim, CANARY) >= 2, "the failed job's log was read from the loghub host"
    folder = pytester.mkdir("rehearsal")
    (folder / "test_rehearsal.py").write_text(REHEARSAL)
    simulated = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v", "--semaphore-simulate", str(folder))
    simulated.assert_outcomes(passed=1)
    outputs.append(simulated.stdout.str() + simulated.stderr.str())
    text = "\n".join(outputs)
    assert "[REDACTED]" in text, "the job's printed token is shown redacted"
    assert "Traceback" not in text
    assert CANARY not in text, "the token was printed"
    written = files_text(pytester.path)
    assert CANARY not in written, "the token was written into a file"
    assert list((pytester.path / "logs").iterdir()), "the full logs were saved (and checked above)"
