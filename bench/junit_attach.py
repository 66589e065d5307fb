"""Benchmark: attach log excerpts to 200 failures in a 20,000-testcase JUnit report, against junitparser's own
parse + write of the same file, in the same run.

``attach_logs`` parses once, indexes the testcases in one pass, edits 200 of them and writes atomically; the
baseline is ``JUnitXml.fromfile(path)`` followed by ``xml.write(other)``. Goal: at most 1.5x the baseline.
Both junitparser backends are measured: lxml in this process (when installed), the stdlib ``xml.etree`` in a child
process where lxml cannot be imported.

Times are CPU time (``time.process_time``), best of N, so that other work on a shared machine distorts less.

    python bench/junit_attach.py            # 20,000 testcases, 200 failures, best of 15
    python bench/junit_attach.py --quick    # 5,000 testcases, 50 failures, best of 7
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if os.environ.get("BENCH_NO_LXML"):
    sys.modules["lxml"] = None  # type: ignore[assignment]  # junitparser falls back to xml.etree


def make_report(path: Path, cases: int, failures: int) -> list[str]:
    """A pytest-like report: 50 suites of test modules, ``failures`` failed cases with captured output."""
    step = max(cases // failures, 1)
    failed_ids: list[str] = []
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="pytest tests">']
    per_suite = max(cases // 50, 1)
    index = 0
    for suite in range(0, cases, per_suite):
        parts.append(f'<testsuite name="pytest" errors="0" failures="0" skipped="0" tests="{per_suite}" time="1.0">')
        for _ in range(per_suite):
            module = f"tests/test_mod{index // per_suite}.py"
            name = f"test_case_{index}[param-{index % 7}]"
            classname = module[:-3].replace("/", ".")
            if index % step == 0 and len(failed_ids) < failures:
                failed_ids.append(f"{module}::{name}")
                parts.append(
                    f'<testcase classname="{classname}" name="{name}" time="0.01">'
                    f'<failure message="assert 0">def test(): assert 0</failure>'
                    f"<system-out>captured output line\n" * 1 + "</system-out></testcase>"
                )
            else:
                parts.append(f'<testcase classname="{classname}" name="{name}" time="0.001" />')
            index += 1
        parts.append("</testsuite>")
        del suite
    parts.append("</testsuites>")
    path.write_text("".join(parts), encoding="utf-8")
    return failed_ids


def measure(cases: int, failures: int, repeat: int) -> dict[str, float | str]:
    from junitparser import JUnitXml

    from pytest_semaphore.junit import LogAttachment, attach_logs, xml_backend
    from pytest_semaphore.logs import Excerpt

    lines = tuple(f"\x1b[31mE   line {i} of the failing command's output\x1b[0m \x00" for i in range(100))
    excerpt = Excerpt("unit tests", "job-1", "make test", 2, "failed", lines, 5000, "non-zero exit code", "/l/u.log")
    attachment = LogAttachment((excerpt,), (("semaphore_pipeline_id", "ppl-1"), ("semaphore_job_id", "job-1")))
    with tempfile.TemporaryDirectory(prefix="bench-junit-") as tmp:
        work = Path(tmp)
        source = work / "report.xml"
        failed = make_report(source, cases, failures)
        base_times: list[float] = []
        ours: list[float] = []
        for _ in range(repeat):
            start = time.process_time()
            xml = JUnitXml.fromfile(str(source))
            xml.write(str(work / "baseline.xml"))
            del xml  # freeing the tree is part of the work, as it is inside attach_logs
            base_times.append(time.process_time() - start)

            target = work / "attached.xml"
            start = time.process_time()
            result = attach_logs(source, dict.fromkeys(failed, attachment), output=target)
            ours.append(time.process_time() - start)
            assert len(result.attached) == len(failed), result.missing[:3]
        size = source.stat().st_size
    return {
        "backend": xml_backend(),
        "baseline": min(base_times),
        "attach": min(ours),
        "size_mb": size / 1e6,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 testcases and 50 failures")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    cases, failures, repeat = (5000, 50, 7) if args.quick else (20_000, 200, 15)
    if args.child:
        print(json.dumps(measure(cases, failures, repeat)))
        return 0
    rows = [measure(cases, failures, repeat)]
    env = dict(os.environ, BENCH_NO_LXML="1")
    child = subprocess.run(
        [sys.executable, __file__, "--child", *(["--quick"] if args.quick else [])],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    rows.append(json.loads(child.stdout))
    print(f"report: {cases} testcases, {failures} failures with excerpts, {float(rows[0]['size_mb']):.1f} MB")
    print()
    print("| backend | junitparser parse+write (s) | attach_logs (s) | ratio | goal <= 1.5x |")
    print("| --- | --- | --- | --- | --- |")
    worst = 0.0
    for row in rows:
        base, ours = float(row["baseline"]), float(row["attach"])
        ratio = ours / base
        worst = max(worst, ratio)
        print(f"| {row['backend']} | {base:.3f} | {ours:.3f} | {ratio:.2f} | {'yes' if ratio <= 1.5 else 'NO'} |")
    return 1 if os.environ.get("BENCH_STRICT") and worst > 1.5 else 0


if __name__ == "__main__":
    raise SystemExit(main())
