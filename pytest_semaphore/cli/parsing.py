"""The ``semaphore-gate`` command line: subcommands, their options, and the global options.

Why the settings table: ``--url``, ``--token-file``, ``--timeout``, ``--patience`` and the cancel flags mean exactly
what the pytest plugin's ``--semaphore-*`` options mean (same defaults, same environment variables, same messages for
a bad value); :mod:`pytest_semaphore.settings` holds them once and this module only spells them. The global options
are accepted before or after the subcommand (``semaphore-gate --json wait ID`` and ``semaphore-gate wait ID --json``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from ..settings import Face, add_options

__all__ = ["FACE", "build_parser"]

#: The command's spellings of the shared settings (the plugin spells them ``--semaphore-...``).
FACE = Face.prefixed(
    "--",
    (
        "url",
        "token_file",
        "pipeline",
        "timeout",
        "patience",
        "fail_fast",
        "cancel_on_timeout",
        "cancel_on_interrupt",
        "log_lines",
        "log_dir",
    ),
    spelled={"log_lines": "lines"},
    dest_prefix="",
)

_WAIT_OPTIONS = ("timeout", "patience", "fail_fast", "cancel_on_timeout", "cancel_on_interrupt")
_LOG_OPTIONS = ("log_lines", "log_dir")

Adder = Callable[..., Any]


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line naming the problem and where to read more, not the whole
    usage text (a CI log shows the line that matters)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parameter(text: str) -> tuple[str, str]:
    """``--param NAME=VALUE``; the value may contain ``=`` and may be empty, the name may not."""
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE (for example --param REGION=eu-west-1)")
    return name.strip(), value


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The options every subcommand takes. On a subcommand they default to "not given" (``SUPPRESS``), so that a
    value given before the subcommand is not overwritten by the subcommand's default."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("global options (before or after the subcommand)")

    def add(*names: str, **kwargs: Any) -> Any:
        kwargs["default"] = default(kwargs.get("default"))
        if names == ("--url",):
            names = ("--url", "--org")
            kwargs["help"] = "Semaphore organisation URL or name (e.g. https://myorg.semaphoreci.com or myorg)" + (
                " [env SEMAPHORE_ORGANIZATION_URL]"
            )
        return group.add_argument(*names, **kwargs)

    add_options(add, FACE, ("url", "token_file"))
    output = group.add_mutually_exclusive_group()
    output.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print one JSON document with the result on stdout (people's text goes to stderr)",
    )
    output.add_argument(
        "--jsonl",
        action="store_true",
        default=default(False),
        help="print one JSON object per event on stdout: state changes, promotions, the verdict",
    )
    group.add_argument("-q", "--quiet", action="count", default=default(0), help="say less (-qq: errors only)")
    group.add_argument("-v", "--verbose", action="count", default=default(0), help="say more")
    group.add_argument(
        "--speed",
        type=float,
        default=default(None),
        metavar="N",
        help="rehearsing against `semaphore-gate simulate --speed N`: pace every wait for a clock running N times "
        "real time (timeouts stay in the simulator's seconds)",
    )
    from .. import __version__

    group.add_argument("--version", action="version", version=f"semaphore-gate {__version__}")


def _options(sub: argparse.ArgumentParser, names: Iterable[str]) -> None:
    add_options(sub.add_argument, FACE, names)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="semaphore-gate",
        description="Gate deployments on Semaphore CI 2.0 pipelines: wait, promote, run, and report, with exit "
        "codes that tell a red build from a timeout from an API outage (see docs/cli.md).",
        epilog="Exit codes: 0 passed, 1 failed, 2 usage or bad input, 3 stopped or canceled, 4 failed for another "
        "reason, 5 API unavailable, 6 authentication or permission, 124 timeout, 130 interrupted, 143 terminated.",
    )
    _global_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=description)
        _global_options(sub, suppress=True)
        return sub

    sub = command(
        "wait",
        "wait for pipelines to finish; exit with their verdict",
        "Wait until the pipelines are done and exit with the worst verdict among them. With no PIPELINE_ID: the "
        "pipelines of --workflow, or the newest pipeline of --project (at --commit, on --branch), waited for "
        "until it appears.",
    )
    sub.add_argument("ppl_ids", nargs="*", metavar="PIPELINE_ID", help="pipelines to wait for")
    sub.add_argument("--workflow", metavar="ID", help="wait for every pipeline of this workflow")
    sub.add_argument("--project", metavar="NAME_OR_ID", help="wait for the newest pipeline of this project")
    sub.add_argument("--commit", metavar="SHA", help="with --project: the pipeline of this commit (may be short)")
    sub.add_argument("--branch", metavar="BRANCH", help="with --project: a pipeline of this branch")
    _options(sub, (*_WAIT_OPTIONS, *_LOG_OPTIONS))

    sub = command(
        "promote",
        "trigger a promotion and wait for the pipeline it starts",
        "Trigger promotion NAME of a pipeline (default $SEMAPHORE_PIPELINE_ID) and wait for the pipeline it "
        "schedules; exit with its verdict. Run in a Semaphore job, the job's own pipeline is promoted once its "
        "other jobs passed (see docs/cli.md).",
    )
    sub.add_argument("name", metavar="NAME", help="the promotion's name, as in the pipeline YAML")
    _options(sub, ("pipeline",))
    sub.add_argument(
        "--param", type=_parameter, action="append", default=[], metavar="NAME=VALUE", help="a parameter (repeatable)"
    )
    sub.add_argument("--override", action="store_true", help="promote even if the pipeline did not pass")
    sub.add_argument("--no-wait", action="store_true", help="trigger and exit without waiting for the new pipeline")
    sub.add_argument("--follow", action="store_true", help="also wait for the auto-promotions below it, recursively")
    sub.add_argument(
        "--force", action="store_true", help="trigger again even if the same promotion was already triggered"
    )
    _options(sub, (*_WAIT_OPTIONS, *_LOG_OPTIONS))

    sub = command(
        "run",
        "start a workflow and wait for its pipeline",
        "Start a workflow of PROJECT at --ref and wait for its pipeline. An uncertain answer from the API is "
        "reconciled, never retried blindly, so a workflow is never started twice.",
    )
    sub.add_argument("project", metavar="PROJECT", help="project name or id")
    sub.add_argument("--ref", required=True, metavar="REF", help="git reference, e.g. refs/heads/main")
    sub.add_argument("--commit", metavar="SHA", help="commit to build (default: the head of REF)")
    sub.add_argument("--pipeline-file", metavar="PATH", help="pipeline file (default .semaphore/semaphore.yml)")
    sub.add_argument(
        "--param", type=_parameter, action="append", default=[], metavar="NAME=VALUE", help="a parameter (repeatable)"
    )
    sub.add_argument("--no-wait", action="store_true", help="start the workflow and exit")
    _options(sub, (*_WAIT_OPTIONS, *_LOG_OPTIONS))

    sub = command(
        "status",
        "show a pipeline's state once, without waiting",
        "Describe a pipeline once. Exits with its verdict's code when it is done, 0 while it runs.",
    )
    sub.add_argument("ppl_id", metavar="PIPELINE_ID")
    sub.add_argument("--no-exit-code", action="store_true", help="exit 0 whatever the pipeline's verdict")

    sub = command(
        "logs",
        "show a job's failure excerpt or its whole log",
        "Show the excerpt of a job's log (the failing command, its exit code and last lines, cleaned and redacted); "
        "--full prints the whole cleaned, redacted log, --raw the API's log events as JSON lines.",
    )
    sub.add_argument("job_id", metavar="JOB_ID")
    _options(sub, ("log_lines",))
    how = sub.add_mutually_exclusive_group()
    how.add_argument("--full", action="store_true", help="the whole cleaned, redacted log")
    how.add_argument("--raw", action="store_true", help="the log events as the API sends them, one per line")

    sub = command(
        "junit",
        "write a pipeline as a JUnit report",
        "Write PIPELINE_ID as a JUnit report: a testsuite per block, a testcase per job, failed jobs with their "
        "excerpt.",
    )
    sub.add_argument("ppl_id", metavar="PIPELINE_ID")
    sub.add_argument("-o", "--output", required=True, metavar="REPORT.xml")
    _options(sub, _LOG_OPTIONS)

    sub = command(
        "attach-logs",
        "attach failed jobs' excerpts to an existing JUnit report",
        "Attach the excerpts of the failed jobs of --pipeline to testcases of REPORT.xml, in place: the report's "
        "failed testcases, or those named by --test.",
    )
    sub.add_argument("report", metavar="REPORT.xml")
    _options(sub, ("pipeline",))
    sub.add_argument("--test", action="append", default=[], metavar="NODEID", help="a pytest node id (repeatable)")
    sub.add_argument("--junit-prefix", metavar="PREFIX", help="pytest's junit_prefix, if the report used one")
    _options(sub, _LOG_OPTIONS)

    sub = command(
        "report",
        "write a Markdown or HTML summary of pipelines",
        "Write a gate summary of the pipelines (Markdown, or HTML when FILE ends in .html).",
    )
    sub.add_argument("ppl_ids", nargs="+", metavar="PIPELINE_ID")
    sub.add_argument("-o", "--output", required=True, metavar="FILE")
    sub.add_argument("--template", metavar="FILE", help="a Jinja2 template of your own")
    _options(sub, _LOG_OPTIONS)

    sub = command(
        "simulate",
        "run a local Semaphore API simulator until Ctrl-C",
        "Serve a simulated Semaphore v1alpha API on loopback and print its URL and token. "
        "SCENARIO is a scenario file or a repository's .semaphore folder (default: the bundled demo).",
    )
    sub.add_argument("scenario", nargs="?", metavar="SCENARIO", help="scenario file or .semaphore folder")
    sub.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    sub.add_argument("--seed", type=int, default=None, help="seed for ids and faults (default: the scenario's)")
    where = sub.add_mutually_exclusive_group()
    where.add_argument(
        "--branch",
        help="run a .semaphore folder's workflow on this branch (default: the repository's current branch when the "
        "folder's parent is a git checkout, else master)",
    )
    where.add_argument("--tag", help="run a .semaphore folder's workflow as a build of this tag")
    where.add_argument(
        "--pull-request", metavar="NUMBER", help="run a .semaphore folder's workflow as this pull request"
    )

    sub = command(
        "demo",
        "rehearse a whole gate against the embedded simulator",
        "Start the embedded simulator with the bundled release train, wait for the pipeline a push started, "
        "promote it to production, rehearse a red build, and write a JUnit report, a full log and an HTML summary.",
    )
    sub.add_argument(
        "--output-dir", default="semaphore-demo", metavar="DIR", help="where the files go (default ./semaphore-demo)"
    )
    return parser
