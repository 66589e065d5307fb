"""A gate summary people read: Markdown (a terminal, a PR comment, an artifact) and self-contained HTML.

The summary lists each pipeline with its result, duration and UI link, then every failed job with the excerpt of
its failing command (:mod:`pytest_semaphore.logs`). Rendering uses jinja2 templates shipped in ``templates/``; a
user may pass their own template file, which receives the same context (documented in ``docs/reports.md``).

Log text is untrusted input: a job can print ``<script>``. The HTML template is rendered with autoescaping on
(always, whatever a user template is called), links are only emitted for ``http``/``https`` URLs, and the page
loads nothing from the network. Markdown puts excerpts in fences longer than any backtick run they contain, and
escapes table cells, so a log cannot break out of its block; ``@`` mentions in names are neutralised, so posting a
summary to a pull request notifies no one.

jinja2 is imported inside the functions here, and this module is imported only when a summary is rendered.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from .atomic import AtomicFile
from .errors import ReportError
from .logs import Excerpt, clean_text
from .logs.clean import clean_line
from .waiting.outcomes import worst_outcome

if TYPE_CHECKING:
    from .models import Pipeline

__all__ = ["FORMATS", "render_summary", "summary_context", "write_summary"]

#: Output formats and the built-in template of each.
FORMATS = {"markdown": "summary.md.j2", "html": "summary.html.j2"}
_TEMPLATES = Path(__file__).with_name("templates")
# Plain symbols rather than emoji: single-width in terminals, present in common fonts (headless browsers included).
_ICONS = {"passed": "✔", "failed": "✘", "error": "✘", "stopped": "■", "canceled": "■", None: "○"}


def _duration(start: _dt.datetime | None, end: _dt.datetime | None) -> str:
    if start is None or end is None:
        return "-"
    seconds = int(max((end - start).total_seconds(), 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def _safe_url(url: str | None) -> str | None:
    """Only http(s) links: a ``javascript:`` URL from a misconfigured base must not become a link."""
    if not url:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def summary_context(
    pipelines: Sequence[Pipeline],
    *,
    excerpts: Mapping[str, Excerpt] | None = None,
    base_url: str | None = None,
    title: str = "Semaphore gate summary",
    generated_at: _dt.datetime | None = None,
) -> dict[str, Any]:
    """The plain-data context every template receives (also what a user template can rely on).

    ``pipelines`` are detailed describes (blocks and jobs); ``excerpts`` are keyed by job id.
    """
    from .junit import job_url, pipeline_url

    excerpts = excerpts or {}
    rows: list[dict[str, Any]] = []
    failed_jobs: list[dict[str, Any]] = []
    for pipeline in pipelines:
        url = (
            _safe_url(pipeline_url(base_url, pipeline.wf_id, pipeline.ppl_id)) if base_url and pipeline.wf_id else None
        )
        blocks = []
        for block in pipeline.blocks:
            jobs = []
            for job in block.jobs:
                jurl = _safe_url(job_url(base_url, job.job_id)) if base_url and job.job_id else None
                entry = {
                    "name": clean_text(job.name),
                    "job_id": job.job_id,
                    "status": job.status,
                    "result": job.result,
                    "icon": _ICONS.get(job.result, "○"),
                    "url": jurl,
                }
                jobs.append(entry)
                if job.finished and job.result in ("failed", "stopped"):
                    excerpt = excerpts.get(job.job_id)
                    failed_jobs.append(
                        {
                            **entry,
                            "pipeline": clean_text(pipeline.name),
                            "block": clean_text(block.name),
                            "excerpt": excerpt,
                            "summary": excerpt.summary() if excerpt else f"job {clean_text(job.name)} {job.result}",
                            "directive": clean_line(excerpt.directive)
                            if excerpt and excerpt.directive is not None
                            else None,
                            "exit_code": excerpt.exit_code if excerpt else None,
                            # An Excerpt may be built by hand or deserialised: its lines are cleaned again.
                            "lines": [clean_text(line) for line in excerpt.lines] if excerpt else [],
                            "total_lines": excerpt.total_lines if excerpt else 0,
                            "log_path": clean_line(excerpt.log_path) if excerpt and excerpt.log_path else None,
                        }
                    )
            blocks.append(
                {
                    "name": clean_text(block.name),
                    "state": block.state,
                    "result": block.result,
                    "icon": _ICONS.get(block.result, "○"),
                    "jobs": jobs,
                }
            )
        rows.append(
            {
                "name": clean_text(pipeline.name),
                "ppl_id": pipeline.ppl_id,
                "wf_id": pipeline.wf_id,
                "state": pipeline.state,
                "result": pipeline.result,
                "result_reason": pipeline.result_reason,
                "icon": _ICONS.get(pipeline.result, "○"),
                "duration": _duration(pipeline.running_at or pipeline.created_at, pipeline.done_at),
                "url": url,
                "blocks": blocks,
                "error_description": clean_text(pipeline.error_description),
            }
        )
    # The verdict is the gate's own (outcomes.worst_outcome, the mapping the exit codes use), so the summary can
    # never say "failed" for a pipeline the gate calls an error (malformed YAML, a time limit) or the reverse.
    if not pipelines:
        overall = "no pipelines"
    elif not all(p.done for p in pipelines):
        overall = "running"
    else:
        overall = worst_outcome(pipelines).value
    return {
        "title": clean_text(title),
        "overall": overall,
        "overall_icon": _ICONS.get(overall, "○"),
        "pipelines": rows,
        "failed_jobs": failed_jobs,
        "generated_at": (generated_at or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


# --------------------------------------------------------------------------------------------------- filters

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


#: Put after every ``@`` of Markdown text: a zero-width space, so that a job called ``deploy @org/team`` does not
#: notify that team when the summary is posted to a pull request (backslash escapes do not stop a mention).
_NO_MENTION = "@\u200b"


def _md(value: object) -> str:
    """Escape inline Markdown (table cells, headings): a job named ``a|b`` or ``<img>`` stays text, and
    ``@name`` mentions no one."""
    text = " ".join(clean_text("" if value is None else str(value)).split())
    return _MD_SPECIAL.sub(r"\\\1", text).replace("@", _NO_MENTION)


def _fence(text: str) -> str:
    """A backtick fence longer than any run of backticks inside ``text`` (CommonMark rule)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _code(value: object) -> str:
    """Inline code span that survives backticks in the value."""
    text = " ".join(clean_text("" if value is None else str(value)).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    return f"{ticks} {text} {ticks}" if text.startswith("`") or text.endswith("`") else f"{ticks}{text}{ticks}"


def _md_url(url: str | None) -> str:
    """A link destination for Markdown: parentheses, spaces and angle brackets percent-encoded.

    ``[open](https://host/a)b)`` would end the link at the first ``)`` and show the rest as text; the
    encoded form is the same address to a browser.
    """
    return quote(url or "", safe="/:?#[]@!$&'*+,;=%-._~")


def _environment(loader_dir: Path, fmt: str) -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(loader_dir)),
        autoescape=fmt == "html",  # noqa: S701  (Markdown escapes with the md/fence/code filters instead)
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = _md
    env.filters["fence"] = _fence
    env.filters["code"] = _code
    env.filters["safe_url"] = _safe_url
    env.filters["md_url"] = _md_url
    return env


def render_summary(
    pipelines: Sequence[Pipeline],
    *,
    fmt: str = "markdown",
    template: str | os.PathLike[str] | None = None,
    excerpts: Mapping[str, Excerpt] | None = None,
    base_url: str | None = None,
    title: str = "Semaphore gate summary",
    generated_at: _dt.datetime | None = None,
) -> str:
    """Render the summary as ``"markdown"`` or ``"html"``, with the built-in template or the file ``template``."""
    import jinja2

    if fmt not in FORMATS:
        raise ReportError(f"unknown summary format {fmt!r}: use one of {', '.join(sorted(FORMATS))}")
    if template is None:
        loader_dir, name = _TEMPLATES, FORMATS[fmt]
    else:
        path = Path(template)
        if not path.is_file():
            raise ReportError(f"summary template {path} does not exist or is not a file")
        loader_dir, name = path.resolve().parent, path.name
    context = summary_context(pipelines, excerpts=excerpts, base_url=base_url, title=title, generated_at=generated_at)
    env = _environment(loader_dir, fmt)
    try:
        return str(env.get_template(name).render(**context))
    except jinja2.TemplateSyntaxError as exc:
        raise ReportError(f"summary template {exc.filename or name}, line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise ReportError(f"summary template {name} failed to render: {exc}") from None


def _format_for(path: Path) -> str:
    return "html" if path.suffix.lower() in (".html", ".htm") else "markdown"


def write_summary(path: str | os.PathLike[str], pipelines: Sequence[Pipeline], **kwargs: Any) -> Path:
    """Render and write atomically; the format follows the suffix (``.html``/``.htm``, else Markdown)
    unless ``fmt`` is given."""
    target = Path(path)
    kwargs.setdefault("fmt", _format_for(target))
    text = render_summary(pipelines, **kwargs)
    with AtomicFile(target, what="summary") as out:
        out.file.write(text.encode("utf-8"))
    return target
