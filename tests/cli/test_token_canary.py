"""The token canary over every subcommand: a recognisable API token appears in no output (text, ``--json``,
``--jsonl``, ``-v``, errors) and in no file a subcommand writes."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.simulator import SemaphoreSimulator

from ..support import canary
from ..support.child import Child
from .support import CANARY, FAILING, SPEED, check_output, clean_env, first_pipeline, gate, gate_here


def _files_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*") if p.is_file())


def test_no_subcommand_prints_or_writes_the_token(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text(
        '<testsuite name="t"><testcase classname="t" name="gate"><failure/></testcase></testsuite>', encoding="utf-8"
    )
    with SemaphoreSimulator(FAILING, token=CANARY, speed=SPEED) as sim:
        ppl_id = first_pipeline(sim)
        first = gate("wait", ppl_id, "--log-dir", "logs", sim=sim, cwd=tmp_path)
        assert first.returncode == 1
        with SemaphoreClient(sim.url, CANARY) as client:
            job_id = next(j.job_id for j in client.describe_pipeline(ppl_id, detailed=True).jobs)
        runs = [
            ("--json", "-v", "wait", ppl_id),
            ("--jsonl", "wait", ppl_id),
            ("status", ppl_id),
            ("--json", "status", ppl_id),
            ("logs", job_id),
            ("logs", job_id, "--full"),
            ("logs", job_id, "--raw"),
            ("junit", ppl_id, "-o", "report.xml", "--log-dir", "logs"),
            ("attach-logs", "junit.xml", "--pipeline", ppl_id),
            ("report", ppl_id, "-o", "summary.html"),
            ("report", ppl_id, "-o", "summary.md"),
            ("run", "release-train", "--ref", "refs/heads/main", "--no-wait"),
            ("--json", "promote", "Production", "--pipeline", ppl_id, "--override", "--param", "REGION=eu-west-1"),
            ("--json", "status", "no-such-pipeline"),
            ("demo", "--output-dir", "demo"),
        ]
        for args in runs:
            result = gate(*args, sim=sim, cwd=tmp_path)
            assert result.returncode in (0, 1, 2, 4), (args, result.stderr)
        bad = gate(
            "--json", "status", ppl_id, sim=sim, cwd=tmp_path, env=clean_env(sim, SEMAPHORE_API_TOKEN=CANARY + "x")
        )
        assert bad.returncode == 6
    assert CANARY not in _files_text(tmp_path), "the token was written into a file"
    assert list((tmp_path / "logs").iterdir()), "the excerpts' full logs were written (and checked above)"


def test_simulate_does_not_print_the_callers_token(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pytest_semaphore.cli", "simulate", "--speed", "50"]
    with Child(command, cwd=tmp_path, env=clean_env(None, SEMAPHORE_API_TOKEN=CANARY)) as child:
        child.wait_for("Press Ctrl-C")  # the banner is printed whole: the server is up
        child.send_signal(signal.SIGINT)
        done = child.finish()
    assert done.returncode == 130
    check_output(done.stdout + done.stderr)


def test_a_log_on_another_host_is_fetched_without_the_token_and_a_printed_token_is_redacted(tmp_path: Path) -> None:
    """The failed job runs on a self-hosted agent: its log is on the loghub host, reached through a signed
    redirect. Every subcommand that reads it, in every output mode, sends the token only to the API host; the job
    printed the token, and no output or file shows it."""
    with SemaphoreSimulator(canary.scenario(CANARY), token=CANARY) as sim:
        red, green = canary.start_both(sim)
        job_id = next(j.job_id for j in sim.world.pipeline(red).jobs if j.definition.machine_type.startswith("s1-"))
        (tmp_path / "junit.xml").write_text(
            '<testsuite name="t"><testcase classname="t" name="gate"><failure/></testcase></testsuite>',
            encoding="utf-8",
        )
        runs = [
            ("wait", red, green, "--log-dir", str(tmp_path / "logs")),
            ("-v", "wait", red),
            ("--json", "-v", "wait", red),
            ("--jsonl", "wait", red),
            ("status", red),
            ("logs", job_id),
            ("logs", job_id, "--full"),
            ("logs", job_id, "--raw"),
            ("junit", red, "-o", str(tmp_path / "report.xml"), "--log-dir", str(tmp_path / "logs")),
            ("attach-logs", str(tmp_path / "junit.xml"), "--pipeline", red),
            ("report", red, green, "-o", str(tmp_path / "summary.html")),
            ("report", red, green, "-o", str(tmp_path / "summary.md")),
            ("--json", "promote", "Nowhere", "--pipeline", red),
        ]
        printed = []
        for args in runs:
            run = gate_here(*args, sim=sim)  # checks the output for the token
            assert run.code in (0, 1, 2), (args, run.err)
            printed.append(run.out + run.err)
        assert canary.check_hosts(sim, CANARY) >= 5, "every log read went through the loghub host"
    assert "[REDACTED]" in "".join(printed), "the job's printed token was shown redacted"
    assert CANARY not in _files_text(tmp_path), "the token was written into a file"
    assert list((tmp_path / "logs").iterdir()), "the full logs were saved (and checked above)"
