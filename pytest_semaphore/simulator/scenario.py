"""Scenario files: which projects the simulated Semaphore has, how each job ends, what runs at time zero, which faults.

A scenario is how a user rehearses *their* release: it points at their repository's ``.semaphore/`` folder (or holds
pipeline definitions inline) and says, per job, whether it passes, fails or is stopped, how long it takes and what it
prints. ``load_scenario`` accepts

* a scenario file (YAML, or JSON when the name ends in ``.json``; the format is documented in docs/scenarios.md),
* a ``.semaphore`` folder, or a repository folder containing one: every pipeline file reachable from
  ``semaphore.yml`` through promotions is loaded, every job passes, and one workflow starts at time zero: on the
  branch, tag or pull request the caller chose, else on the repository's current branch when the folder holding
  ``.semaphore`` is itself a git checkout, else on ``master``.

Everything is read and checked before anything is returned: a bad file raises :class:`ScenarioError` naming the file,
the line and the problem, and leaves nothing half-loaded.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .definitions import (
    DEFAULT_PIPELINE_FILE,
    EARLY_PROMOTIONS,
    FaultDef,
    JobDef,
    PipelineDef,
    ProjectDef,
    RunDef,
    ScenarioDef,
)
from .outcomes import OUTCOME_KEYS, Outcome, apply_outcome, read_outcome
from .pipeline_yaml import JobSite, ParsedPipeline, load_pipeline_file, parse_pipeline
from .yamlsource import ScenarioError, YNode, load_document

__all__ = ["ScenarioError", "current_branch", "load_scenario"]

_SCENARIO_KEYS = {"description", "seed", "organization", "projects", "runs", "faults", "extras", "early_promotions"}
_PROJECT_KEYS = {"name", "id", "repository", "semaphore", "pipelines", "initial_pipeline_file", "defaults", "jobs"}
_JOB_ENTRY_KEYS = OUTCOME_KEYS | {"name", "block", "pipeline"}
_RUN_KEYS = {"project", "branch", "tag", "pull_request", "commit_sha", "pipeline_file", "triggered_by", "changed_files"}
_FAULT_KEYS = {"route", "kind", "rate", "status", "retry_after", "latency", "count", "after"}
_FAULT_KINDS = ("status", "rate_limit", "latency", "reset_before", "reset_after", "truncate")
_TRIGGERS = ("hook", "api", "schedule", "manual_run")
_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE", "HEAD")


# --- projects ----------------------------------------------------------------------------------------------------


@dataclass
class _JobRef:
    pipeline: str
    block_index: int
    job_index: int
    site: JobSite
    job: JobDef
    outcome_line: int | None = None


@dataclass
class _ProjectBuild:
    name: str
    pipelines: dict[str, ParsedPipeline]
    initial: str
    project_id: str | None = None
    refs: list[_JobRef] = field(default_factory=list)

    def index_jobs(self) -> None:
        """One reference per job, in the order of ``job_sites``: the blocks' jobs, then the ``after_pipeline`` ones
        (whose block index is one past the last block)."""
        for key, parsed in self.pipelines.items():
            sites = iter(parsed.job_sites)
            for block_index, jobs in enumerate(_job_groups(parsed.definition)):
                for job_index, _ in enumerate(jobs):
                    site, job = next(sites)
                    self.refs.append(_JobRef(key, block_index, job_index, site, job))

    def build(self) -> ProjectDef:
        pipelines: dict[str, PipelineDef] = {}
        for key, parsed in self.pipelines.items():
            groups = [list(jobs) for jobs in _job_groups(parsed.definition)]
            for ref in self.refs:
                if ref.pipeline == key:
                    groups[ref.block_index][ref.job_index] = ref.job
            blocks = tuple(
                dataclasses.replace(block, jobs=tuple(jobs))
                for block, jobs in zip(parsed.definition.blocks, groups, strict=False)
            )
            pipelines[key] = dataclasses.replace(parsed.definition, blocks=blocks, after_pipeline=tuple(groups[-1]))
        return ProjectDef(
            name=self.name, pipelines=pipelines, project_id=self.project_id, initial_pipeline_file=self.initial
        )


def _relative_key(root: Path, path: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def _load_repository(root: Path, initial: str, *, where: YNode | None = None) -> dict[str, ParsedPipeline]:
    """Every pipeline file reachable from ``initial`` through promotions, read from the repository at ``root``."""
    initial_path = root / initial
    if not initial_path.is_file():
        if where is None:
            raise ScenarioError(f"no pipeline file {initial} here", str(root))
        raise where.error(f"no pipeline file {initial} in {root}")
    pipelines: dict[str, ParsedPipeline] = {}
    pending = [initial]
    while pending:
        key = pending.pop(0)
        if key in pipelines:
            continue
        parsed = load_pipeline_file(root / key, key)
        pipelines[key] = parsed
        for promotion, line in zip(parsed.definition.promotions, parsed.promotion_lines, strict=True):
            target = promotion.pipeline_file
            if not (root / target).is_file():
                raise ScenarioError(
                    f"promotion {promotion.name!r} points to {target}, which does not exist in {root}",
                    str(root / key),
                    line,
                )
            pending.append(target)
    return pipelines


def _inline_key(name: str, folder: str = ".semaphore") -> str:
    """Pipeline files are named by repository path; a bare file name lives in ``.semaphore/`` (or the ``semaphore``
    folder the project names) as Semaphore expects. A path that leaves the repository is a ``ValueError``."""
    name = name.lstrip("/")
    if "/" not in name:
        name = f"{folder}/{name}"
    key = posixpath.normpath(name)
    if key == ".." or key.startswith("../") or key in ("", "."):
        raise ValueError(f"{name!r} points outside the repository")
    return key


def _pipeline_key(node: YNode, what: str, folder: str = ".semaphore") -> str:
    """:func:`_inline_key` of the string at ``node``, with the error at its line."""
    try:
        return _inline_key(node.string(what), folder)
    except ValueError as exc:
        raise node.error(f"{what}: {exc}") from None


def _read_inline_pipelines(node: YNode, project: str) -> dict[str, ParsedPipeline]:
    entries = node.mapping(f"the `pipelines` of project {project!r}")
    if not entries:
        raise node.error(f"project {project!r} has an empty `pipelines` mapping")
    pipelines: dict[str, ParsedPipeline] = {}
    for name, value in entries.items():
        try:
            key = _inline_key(name)
        except ValueError as exc:
            raise node.key_error(name, f"pipeline {name!r}: {exc}") from None
        if key in pipelines:
            raise node.key_error(name, f"pipeline {name!r} is given twice (as {key})")
        fields = value.mapping(f"pipeline {name!r}")
        if "malformed" in fields:
            value.check_keys(f"the malformed pipeline {name!r}", {"malformed", "name"})
            description = fields["malformed"].string("`malformed` (the error description the API will show)")
            title = fields["name"].string("`name`") if "name" in fields else "Pipeline"
            definition = PipelineDef(name=title, blocks=(), malformed=description)
            pipelines[key] = ParsedPipeline(key, definition, (), ())
            continue
        pipelines[key] = parse_pipeline(value, key, inline=True)
    for key, parsed in pipelines.items():
        for promotion, line in zip(parsed.definition.promotions, parsed.promotion_lines, strict=True):
            if promotion.pipeline_file not in pipelines:
                raise ScenarioError(
                    f"promotion {promotion.name!r} of pipeline {key} points to {promotion.pipeline_file}, which is "
                    f"not among the project's `pipelines` ({', '.join(pipelines)})",
                    node.path,
                    line,
                )
    return pipelines


def _read_project(node: YNode, base: Path) -> tuple[_ProjectBuild, YNode | None, YNode | None]:
    entries = node.check_keys("a project", _PROJECT_KEYS)
    if "name" not in entries:
        raise node.error("a project needs a `name`")
    name = entries["name"].string("the project `name`")
    sources = [key for key in ("repository", "semaphore", "pipelines") if key in entries]
    if len(sources) != 1:
        raise node.error(
            f"project {name!r} needs exactly one of `repository` (a folder holding .semaphore/), `semaphore` "
            f"(a .semaphore folder) or `pipelines` (inline pipeline definitions), got {sources or 'none'}"
        )
    initial_node = entries.get("initial_pipeline_file")
    if sources[0] == "pipelines":
        pipelines = _read_inline_pipelines(entries["pipelines"], name)
        initial = DEFAULT_PIPELINE_FILE
        if initial_node is not None:
            initial = _pipeline_key(initial_node, "`initial_pipeline_file`")
        elif initial not in pipelines and len(pipelines) == 1:
            initial = next(iter(pipelines))
        if initial not in pipelines:
            where = initial_node or entries["pipelines"]
            raise where.error(
                f"project {name!r} has no pipeline {initial} to start with ({', '.join(pipelines)}); "
                "set `initial_pipeline_file`"
            )
    else:
        folder_node = entries[sources[0]]
        folder = base / folder_node.string(f"the `{sources[0]}` folder of project {name!r}")
        if not folder.is_dir():
            raise folder_node.error(f"{folder} is not a folder")
        if sources[0] == "repository":
            root = folder
            if not (root / ".semaphore").is_dir():
                raise folder_node.error(f"{root} has no .semaphore folder")
            initial = DEFAULT_PIPELINE_FILE
            folder_key = ".semaphore"
        else:
            root = folder.parent
            initial = _relative_key(root, folder / "semaphore.yml")
            folder_key = posixpath.dirname(initial)
        if initial_node is not None:
            initial = _pipeline_key(initial_node, "`initial_pipeline_file`", folder_key)
        pipelines = _load_repository(root, initial, where=initial_node or folder_node)
    build = _ProjectBuild(name, pipelines, initial)
    if "id" in entries:
        build.project_id = entries["id"].string("the project `id`")
    build.index_jobs()
    return build, entries.get("defaults"), entries.get("jobs")


def _apply_outcomes(build: _ProjectBuild, defaults: YNode | None, jobs: YNode | None) -> None:
    base = Outcome()
    if defaults is not None:
        fields = defaults.check_keys(f"the `defaults` of project {build.name!r}", OUTCOME_KEYS - {"fail_at"})
        base = read_outcome(fields, "the defaults")
    entries: list[tuple[str, YNode, Mapping[str, YNode]]] = []
    if jobs is not None:
        if isinstance(jobs.value, dict):
            for job_name, value in jobs.mapping("`jobs`").items():
                fields = value.check_keys(f"the outcome of job {job_name!r}", _JOB_ENTRY_KEYS - {"name"})
                entries.append((job_name, value, fields))
        else:
            for item in jobs.sequence("`jobs` (a mapping of job name to outcome, or a list)"):
                fields = item.check_keys("a job outcome", _JOB_ENTRY_KEYS)
                if "name" not in fields:
                    raise item.error("a job outcome in a list needs the job's `name`")
                entries.append((fields["name"].string("the job `name`"), item, fields))
    if defaults is not None:
        for ref in build.refs:
            ref.job = apply_outcome(ref.job, base, defaults)
    chosen: dict[int, tuple[YNode, Outcome]] = {}
    for job_name, node, job_fields in entries:
        outcome = read_outcome(job_fields, f"job {job_name!r}").over(base)
        matches = _match(build, job_name, node, job_fields)
        for index in matches:
            if index in chosen:
                other = chosen[index][0]
                raise node.error(
                    f"job {build.refs[index].job.name!r} already has an outcome (line {other.line}); "
                    "narrow one of them with `pipeline` or `block`"
                )
            chosen[index] = (node, outcome)
    for index, (node, outcome) in chosen.items():
        ref = build.refs[index]
        original = _original(build, ref)
        ref.job = apply_outcome(original, outcome, node)


def _job_groups(definition: PipelineDef) -> list[tuple[JobDef, ...]]:
    """Each block's jobs, then the ``after_pipeline`` jobs (possibly none): where outcomes can land."""
    return [*(block.jobs for block in definition.blocks), definition.after_pipeline]


def _original(build: _ProjectBuild, ref: _JobRef) -> JobDef:
    """The job as the pipeline file defines it (outcomes replace the defaults rather than stacking on them)."""
    return _job_groups(build.pipelines[ref.pipeline].definition)[ref.block_index][ref.job_index]


def _match(build: _ProjectBuild, job_name: str, node: YNode, fields: Mapping[str, YNode]) -> list[int]:
    pipeline = _pipeline_key(fields["pipeline"], "`pipeline`") if "pipeline" in fields else None
    if pipeline is not None and pipeline not in build.pipelines:
        raise fields["pipeline"].error(
            f"project {build.name!r} has no pipeline {pipeline} (pipelines: {', '.join(build.pipelines)})"
        )
    block = fields["block"].string("`block`") if "block" in fields else None
    candidates = [
        index
        for index, ref in enumerate(build.refs)
        if (pipeline is None or ref.pipeline == pipeline) and (block is None or ref.site.block == block)
    ]
    exact = [index for index in candidates if build.refs[index].job.name == job_name]
    if exact:
        return exact
    expanded = [index for index in candidates if build.refs[index].site.base_name == job_name]
    if expanded:
        return expanded
    known = sorted({build.refs[index].job.name for index in candidates})
    close = difflib.get_close_matches(job_name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    scope = " ".join(
        part for part in (f"in pipeline {pipeline}" if pipeline else "", f"in block {block!r}" if block else "") if part
    )
    raise node.error(
        f"project {build.name!r} has no job {job_name!r}{' ' + scope if scope else ''}{hint}; "
        f"its jobs: {', '.join(repr(n) for n in known) or 'none'}"
    )


# --- runs and faults ---------------------------------------------------------------------------------------------


def _read_run(node: YNode, projects: Mapping[str, _ProjectBuild]) -> RunDef:
    entries = node.check_keys("a run", _RUN_KEYS)
    if "project" in entries:
        project = entries["project"].string("the run's `project`")
        if project not in projects:
            raise entries["project"].error(f"no project {project!r} in this scenario ({', '.join(projects)})")
    elif len(projects) == 1:
        project = next(iter(projects))
    else:
        raise node.error("a run needs a `project` when the scenario has several")

    def text(key: str) -> str | None:
        return entries[key].string(f"the run's `{key}`") if key in entries else None

    pipeline_file = text("pipeline_file")
    if pipeline_file is not None:
        key = _pipeline_key(entries["pipeline_file"], "the run's `pipeline_file`")
        if key not in projects[project].pipelines:
            raise entries["pipeline_file"].error(
                f"project {project!r} has no pipeline {key} ({', '.join(projects[project].pipelines)})"
            )
        pipeline_file = key
    triggered_by = text("triggered_by") or "hook"
    if triggered_by not in _TRIGGERS:
        raise entries["triggered_by"].error(f"`triggered_by` must be one of {', '.join(_TRIGGERS)}")
    branch = text("branch")
    refs = [key for key in ("branch", "tag", "pull_request") if key in entries]
    if len(refs) > 1:
        raise entries[refs[1]].error(
            f"a run is on a branch, a tag or a pull request, not on both {refs[0]} and {refs[1]}"
        )
    changed_files: tuple[str, ...] | None = None
    if "changed_files" in entries:
        changed_files = tuple(
            path.lstrip("/") for path in entries["changed_files"].strings("`changed_files` (a list of paths)")
        )
    return RunDef(
        project=project,
        branch=branch if branch is not None else "master",
        commit_sha=text("commit_sha"),
        pipeline_file=pipeline_file,
        tag=text("tag"),
        pull_request=text("pull_request"),
        triggered_by=triggered_by,
        changed_files=changed_files,
    )


def _read_fault(node: YNode) -> FaultDef:
    entries = node.check_keys("a fault", _FAULT_KEYS)
    for required in ("route", "kind"):
        if required not in entries:
            raise node.error(f"a fault needs a `{required}`")
    route = entries["route"].string("the fault's `route`")
    parts = route.split()
    if not (
        (len(parts) == 1 and parts[0].startswith("/"))
        or (len(parts) == 2 and parts[0] in _METHODS and parts[1].startswith("/"))
    ):
        raise entries["route"].error(
            f'`route` must be "/path/glob" or "METHOD /path/glob" (e.g. "GET /api/v1alpha/pipelines/*"), got {route!r}'
        )
    kind = entries["kind"].string("the fault's `kind`")
    if kind not in _FAULT_KINDS:
        raise entries["kind"].error(f"`kind` must be one of {', '.join(_FAULT_KINDS)}, got {kind!r}")
    fault = FaultDef(route=route, kind=kind)
    values: dict[str, object] = {}
    if "rate" in entries:
        values["rate"] = entries["rate"].number("`rate` (a probability)", minimum=0, maximum=1)
    if "status" in entries:
        values["status"] = entries["status"].integer("`status`", minimum=100, maximum=599)
    if "retry_after" in entries:
        values["retry_after"] = entries["retry_after"].number("`retry_after` (seconds)", minimum=0)
    if "latency" in entries:
        values["latency"] = entries["latency"].number("`latency` (seconds)", minimum=0)
    if "count" in entries and entries["count"].value is not None:
        values["count"] = entries["count"].integer("`count`", minimum=0)
    if "after" in entries:
        values["after"] = entries["after"].integer("`after`", minimum=0)
    return dataclasses.replace(fault, **values)  # type: ignore[arg-type]


def _plain(node: YNode, done: dict[int, object] | None = None) -> object:
    """The plain value of ``node``. A node reached through several aliases becomes one shared object, as with
    ``yaml.safe_load``: copying it at each alias would let a "billion laughs" file expand into gigabytes."""
    done = {} if done is None else done
    if id(node) in done:
        return done[id(node)]
    plain: object
    if isinstance(node.value, dict):
        plain = {key: _plain(value, done) for key, value in node.value.items()}
    elif isinstance(node.value, list):
        plain = [_plain(value, done) for value in node.value]
    else:
        plain = node.value
    done[id(node)] = plain
    return plain


# --- entry points ------------------------------------------------------------------------------------------------


def _load_file(path: Path) -> ScenarioDef:
    root = load_document(path)
    top = root.mapping("a scenario")
    if "blocks" in top and "projects" not in top:
        raise root.error(
            "this is a pipeline file, not a scenario: pass its folder (.semaphore) or write a scenario whose project "
            "points at it (see docs/scenarios.md)"
        )
    root.check_keys("a scenario", _SCENARIO_KEYS)
    if "description" in top:
        top["description"].string("`description`", empty_ok=True)
    seed = top["seed"].integer("`seed`") if "seed" in top else 0
    organization = top["organization"].string("`organization`") if "organization" in top else "simulated-org"
    if "projects" not in top:
        raise root.error("a scenario needs `projects` (a list of at least one project)")
    project_nodes = top["projects"].sequence("`projects`")
    if not project_nodes:
        raise top["projects"].error("`projects` must list at least one project")
    base = path.parent
    builds: dict[str, _ProjectBuild] = {}
    for project_node in project_nodes:
        build, defaults, jobs = _read_project(project_node, base)
        if build.name in builds:
            raise project_node.error(f"two projects are named {build.name!r}")
        _apply_outcomes(build, defaults, jobs)
        builds[build.name] = build
    runs = tuple(_read_run(item, builds) for item in top["runs"].sequence("`runs`")) if "runs" in top else ()
    faults = tuple(_read_fault(item) for item in top["faults"].sequence("`faults`")) if "faults" in top else ()
    early_promotions = "defer"
    if "early_promotions" in top:
        early_promotions = top["early_promotions"].string("`early_promotions`")
        if early_promotions not in EARLY_PROMOTIONS:
            raise top["early_promotions"].error(
                f"`early_promotions` must be defer (the promoted pipeline starts when its parent is done) or start "
                f"(at once), got {early_promotions!r}"
            )
    extras: Mapping[str, object] = {}
    if "extras" in top:
        top["extras"].mapping("`extras`")
        plain = _plain(top["extras"])
        assert isinstance(plain, dict)
        extras = plain
    return ScenarioDef(
        projects=tuple(build.build() for build in builds.values()),
        runs=runs,
        faults=faults,
        seed=seed,
        organization=organization,
        extras=extras,
        early_promotions=early_promotions,
    )


def current_branch(root: Path) -> str | None:
    """The branch checked out in the git repository at ``root`` (``.git`` a folder, or a worktree's ``gitdir:``
    file), read from ``HEAD`` without running git; ``None`` when ``root`` holds no ``.git`` or HEAD is detached."""
    dot_git = root / ".git"
    try:
        if dot_git.is_file():
            pointer = dot_git.read_text(encoding="utf-8").strip()
            if not pointer.startswith("gitdir:"):
                return None
            dot_git = (root / pointer[len("gitdir:") :].strip()).resolve()
        head = (dot_git / "HEAD").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    prefix = "ref: refs/heads/"
    return head[len(prefix) :] if head.startswith(prefix) else None


def _folder_run(name: str, root: Path, branch: str | None, tag: str | None, pull_request: str | None) -> RunDef:
    chosen = [what for what, value in (("branch", branch), ("tag", tag), ("pull_request", pull_request)) if value]
    if len(chosen) > 1:
        raise ValueError(f"choose one of branch, tag or pull_request for the run, not {' and '.join(chosen)}")
    if tag or pull_request:
        return RunDef(project=name, tag=tag, pull_request=pull_request)
    return RunDef(project=name, branch=branch or current_branch(root) or "master")


def _load_folder(
    folder: Path, *, branch: str | None = None, tag: str | None = None, pull_request: str | None = None
) -> ScenarioDef:
    if (folder / ".semaphore").is_dir():
        root, semaphore = folder, folder / ".semaphore"
    elif (folder / "semaphore.yml").is_file():
        root, semaphore = folder.parent, folder
    else:
        raise ScenarioError("neither a .semaphore folder nor a folder containing .semaphore/semaphore.yml", str(folder))
    initial = _relative_key(root, semaphore / "semaphore.yml")
    pipelines = _load_repository(root, initial)
    name = root.resolve().name or "project"
    build = _ProjectBuild(name, pipelines, initial)
    build.index_jobs()
    return ScenarioDef(projects=(build.build(),), runs=(_folder_run(name, root, branch, tag, pull_request),))


def load_scenario(
    path: str | os.PathLike[str],
    *,
    branch: str | None = None,
    tag: str | None = None,
    pull_request: str | None = None,
) -> ScenarioDef:
    """Load a scenario file, a ``.semaphore`` folder or a repository folder (see the module docstring).

    ``branch``, ``tag`` or ``pull_request`` (at most one) choose where a folder's workflow runs; a scenario file
    says that in its ``runs``, so there they are a ``ValueError``.
    """
    target = Path(path)
    if target.is_dir():
        return _load_folder(target, branch=branch, tag=tag, pull_request=pull_request)
    if not target.exists():
        raise ScenarioError("no such file or folder", os.fspath(path))
    if branch or tag or pull_request:
        raise ValueError(
            f"{os.fspath(path)}: a branch, tag or pull request is chosen only for a .semaphore folder; "
            "a scenario file says where each workflow runs in its `runs`"
        )
    return _load_file(target)
