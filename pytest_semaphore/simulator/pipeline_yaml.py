"""Semaphore pipeline files (``.semaphore/*.yml``) read into the simulator's :class:`~.definitions.PipelineDef`.

Reading the user's own pipeline files means a rehearsal runs the blocks, jobs and promotions Semaphore would run,
with no second description to keep in sync. Where Semaphore transforms the file, this module does what Semaphore's
own code does (``semaphoreio/semaphore``, ``plumber/``), so that names and order match what the API will show:

* ``parallelism: N`` becomes N jobs ``"<name> - i/N"`` with ``SEMAPHORE_JOB_COUNT``/``SEMAPHORE_JOB_INDEX``
  (``job_matrix/parallelism_handler.ex``, ``handler.ex``);
* ``matrix`` becomes one job per combination, first axis outermost, named ``"<name> - A=1, B=x"``
  (``job_matrix/handler.ex``, ``cartesian.ex``);
* nameless blocks and jobs are called ``"Nameless block N"`` and ``"Nameless N"`` (``blocks_godfather.ex``,
  ``jobs_godfather.ex``);
* without ``dependencies`` each block waits for the one before (``implicit_dependency.ex``); either every block
  declares ``dependencies`` or none does (pipeline YAML reference);
* a promotion's relative ``pipeline_file`` is found next to the pipeline that declares it, an absolute one from the
  repository root (pipeline YAML reference, ``promotions``);
* a file without ``name`` is called ``"Pipeline"``; ``${{ parameters.X }}`` in the name is filled in from the
  pipeline's parameters when it runs (a promoted pipeline's name often holds its target environment);
* a block's ``run``/``skip`` conditions, ``fail_fast``, ``auto_cancel`` and ``auto_promote`` are compiled with the
  ``when`` engine (``change_in`` relative to the file's folder), and ``after_pipeline`` jobs are read like a block's.

What the simulator cannot honour (label ``filters``, ``task_file``, boosters, other parameter expressions...) is
refused with "not supported" and the file and line, never approximated. Settings that change nothing the API shows
in a simulated run (``agent``, ``secrets``, ``epilogue``, ``priority``, ``queue``, ``execution_time_limit``,
``deployment_target``) are checked for shape and otherwise accepted; docs/scenarios.md lists all three groups.
"""

from __future__ import annotations

import itertools
import math
import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict

from .definitions import (
    AFTER_PIPELINE,
    DEFAULT_PIPELINE_NAME,
    PARAMETER_EXPRESSION,
    BlockDef,
    CommandDef,
    JobDef,
    ParameterDef,
    PipelineDef,
    PromotionDef,
    WhenPredicate,
)
from .when import WhenError, compile_when, parse_when
from .yamlsource import YNode, load_document

__all__ = [
    "MAX_MATRIX_JOBS",
    "JobSite",
    "ParsedPipeline",
    "load_pipeline_file",
    "parse_pipeline",
    "resolve_pipeline_file",
]

#: The most jobs one ``matrix`` may expand to. Semaphore's schema caps ``parallelism`` at 50 and a task at 50 job
#: entries but puts no number on a matrix; the simulator needs some bound so that a typo cannot ask for millions.
MAX_MATRIX_JOBS = 1000

_EXPRESSIONS = "is not supported by the simulator, which does not evaluate parameter expressions (`${{ }}`/`%{{ }}`)"

_TOP_KEYS = {
    "version",
    "name",
    "agent",
    "blocks",
    "promotions",
    "execution_time_limit",
    "queue",
    "auto_cancel",
    "global_job_config",
    "after_pipeline",
    "fail_fast",
}
_TOP_UNSUPPORTED = {
    "partial_rerun": "partial rerun settings are not simulated",
}
_GLOBAL_JOB_CONFIG_KEYS = {"prologue", "epilogue", "env_vars", "secrets", "priority"}
_BLOCK_KEYS = {"name", "dependencies", "task", "execution_time_limit", "run", "skip"}
_BLOCK_UNSUPPORTED = {
    "filters": "label filters are not evaluated",
    "task_file": "tasks in separate files are not read; inline the task",
    "partial_rerun": "partial rerun settings are not simulated",
}
_TASK_KEYS = {"jobs", "agent", "prologue", "epilogue", "env_vars", "secrets"}
_TASK_UNSUPPORTED = {
    "boosters": "boosters are not simulated; use `parallelism` instead",
    "fail_fast": "fail-fast policies would stop or cancel other blocks, which the simulator does not reproduce",
}
_JOB_KEYS = {
    "name",
    "commands",
    "commands_file",
    "env_vars",
    "priority",
    "matrix",
    "parallelism",
    "execution_time_limit",
}
_PROMOTION_KEYS = {"name", "pipeline_file", "parameters", "auto_promote", "auto_promote_on", "deployment_target"}
_PARAMETER_KEYS = {"name", "description", "required", "options", "default_value"}
_AUTO_PROMOTE_ON_KEYS = {"result", "result_reason", "branch"}
_AUTO_PROMOTE_ON_UNSUPPORTED = {
    "labels": "label conditions are not evaluated",
    "label_patterns": "label conditions are not evaluated",
}


class _Agent(TypedDict, total=False):
    """An agent's machine as :class:`JobDef` keyword arguments."""

    machine_type: str
    os_image: str


@dataclass(frozen=True)
class JobSite:
    """Where a job of the parsed pipeline came from: its block, its name before parallelism/matrix expansion and the
    line of its definition. The scenario loader uses it to attach outcomes and to report typos."""

    block: str
    base_name: str
    line: int | None


@dataclass(frozen=True)
class ParsedPipeline:
    """A pipeline file read and checked.

    ``job_sites`` lists every job of ``definition`` in block order; ``promotion_lines`` gives, for each promotion,
    the line of its ``pipeline_file`` (so that a missing target file can be reported where it is named).
    """

    key: str
    definition: PipelineDef
    job_sites: tuple[tuple[JobSite, JobDef], ...]
    promotion_lines: tuple[int | None, ...]


def resolve_pipeline_file(current: str, pipeline_file: str) -> str:
    """The repository path of ``pipeline_file`` as named in the pipeline at ``current`` (both repository-relative,
    ``/``-separated): relative to ``current``'s folder, or to the repository root when it starts with ``/``.

    Raises ``ValueError`` if the path leaves the repository.
    """
    if pipeline_file.startswith("/"):
        resolved = posixpath.normpath(pipeline_file.lstrip("/"))
    else:
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(current), pipeline_file))
    if resolved == ".." or resolved.startswith("../") or resolved in ("", "."):
        raise ValueError(f"{pipeline_file!r} points outside the repository")
    return resolved


def _has_expression(text: str) -> bool:
    return "%{{" in text or "${{" in text


def _literal(node: YNode, what: str) -> str:
    """A string that Semaphore would expand when it holds ``${{parameters.X}}`` (names, the agent): refused then,
    because the simulator does not evaluate parameter expressions and a literal ``${{...}}`` name would be a guess."""
    text = node.string(what)
    if _has_expression(text):
        raise node.error(f"{what} with a parameter expression {_EXPRESSIONS}")
    return text


class _PipelineReader:
    """One pipeline file; raises :class:`ScenarioError` at the first problem, with its line."""

    def __init__(self, root: YNode, key: str, base_dir: str | None, inline: bool) -> None:
        self.agent: _Agent = {}  # the pipeline's default agent as JobDef fields (machine_type, os_image)
        self.root = root
        self.key = key
        self.base_dir = base_dir
        self.inline = inline

    # --- whole file -------------------------------------------------------------------------------------------------

    def read(self) -> ParsedPipeline:
        top = self.root.check_keys("a pipeline", _TOP_KEYS, _TOP_UNSUPPORTED)
        version = top.get("version")
        if version is None:
            if not self.inline:
                raise self.root.error("missing `version` (Semaphore requires `version: v1.0`)")
        elif version.value != "v1.0":
            raise version.error(f"`version` must be v1.0 (the only version Semaphore accepts), got {version.value!r}")
        agent = top.get("agent")
        if agent is None:
            if not self.inline:
                raise self.root.error("missing `agent` (Semaphore requires a default agent with `machine.type`)")
        else:
            self.agent = self._check_agent(agent)
        name = self._pipeline_name(top["name"]) if "name" in top else DEFAULT_PIPELINE_NAME
        if "execution_time_limit" in top:
            self._check_time_limit(top["execution_time_limit"])
        if "queue" in top:
            self._check_queue(top["queue"])
        auto_cancel: dict[str, WhenPredicate] = {}
        if "auto_cancel" in top:
            policies = top["auto_cancel"].check_keys("`auto_cancel`", {"queued", "running"})
            auto_cancel = {key: self._condition(policy, f"`auto_cancel.{key}`") for key, policy in policies.items()}
        global_prologue: list[str] = []
        global_env: list[tuple[str, str]] = []
        if "global_job_config" in top:
            config = top["global_job_config"].check_keys("`global_job_config`", _GLOBAL_JOB_CONFIG_KEYS)
            if "prologue" in config:
                global_prologue = self._commands_block(config["prologue"], "`global_job_config.prologue`")
            if "env_vars" in config:
                global_env = self._env_vars(config["env_vars"], "`global_job_config.env_vars`")
            if "epilogue" in config:
                self._check_epilogue(config["epilogue"], "`global_job_config`")
            if "secrets" in config:
                self._check_secrets(config["secrets"])
            if "priority" in config:
                self._check_priority(config["priority"])
        blocks_node = top.get("blocks")
        if blocks_node is None:
            raise self.root.error("missing `blocks` (a pipeline needs at least one block)")
        blocks, sites = self._blocks(blocks_node, global_prologue, global_env)
        promotions: tuple[PromotionDef, ...] = ()
        promotion_lines: tuple[int | None, ...] = ()
        if "promotions" in top:
            promotions, promotion_lines = self._promotions(top["promotions"])
        after: tuple[JobDef, ...] = ()
        if "after_pipeline" in top:
            after_sites = self._after_pipeline(top["after_pipeline"], global_prologue, global_env)
            after = tuple(job for _, job in after_sites)
            sites = (*sites, *after_sites)
        stop = cancel = None
        if "fail_fast" in top:
            stop, cancel = self._fail_fast(top["fail_fast"])
        definition = PipelineDef(
            name=name,
            blocks=blocks,
            promotions=promotions,
            after_pipeline=after,
            fail_fast_stop=stop,
            fail_fast_cancel=cancel,
            auto_cancel_running=auto_cancel.get("running"),
            auto_cancel_queued=auto_cancel.get("queued"),
        )
        return ParsedPipeline(self.key, definition, sites, promotion_lines)

    def _pipeline_name(self, node: YNode) -> str:
        """The name, where ``${{ parameters.X }}`` is allowed (filled in when the pipeline runs) and every other
        expression refused: a promoted pipeline is often named after the environment its parameters choose."""
        text = node.string("the pipeline `name`")
        if _has_expression(PARAMETER_EXPRESSION.sub("", text)):
            raise node.error(
                "the pipeline `name` may hold `${{ parameters.NAME }}`; any other expression "
                + _EXPRESSIONS.replace("parameter expressions", "other expressions")
            )
        return text

    def _after_pipeline(
        self, node: YNode, global_prologue: list[str], global_env: list[tuple[str, str]]
    ) -> list[tuple[JobSite, JobDef]]:
        """``after_pipeline: {task: {...}}``, read like a block's task (its jobs run once the pipeline is done)."""
        entries = node.check_keys("`after_pipeline`", {"task"})
        if "task" not in entries:
            raise node.error("`after_pipeline` needs a `task` with `jobs`")
        return self._task(entries["task"], AFTER_PIPELINE, global_prologue, global_env)

    def _fail_fast(self, node: YNode) -> tuple[WhenPredicate | None, WhenPredicate | None]:
        entries = node.check_keys("`fail_fast`", {"stop", "cancel"})
        if not entries:
            raise node.error("`fail_fast` needs `stop` or `cancel` (each with a `when` condition)")
        stop = self._condition(entries["stop"], "`fail_fast.stop`") if "stop" in entries else None
        cancel = self._condition(entries["cancel"], "`fail_fast.cancel`") if "cancel" in entries else None
        return stop, cancel

    def _condition(self, node: YNode, what: str) -> WhenPredicate:
        """``{when: ...}`` compiled: a condition the simulator evaluates must be one it can evaluate."""
        entries = node.check_keys(what, {"when"})
        when = entries.get("when")
        if when is None:
            raise node.error(f"{what} needs a `when` condition")
        if isinstance(when.value, bool):
            return compile_when(when.value)
        try:
            return compile_when(when.string(f"the `when` of {what}"), self.key)
        except WhenError as exc:
            raise when.error(f"the `when` of {what}: {exc}") from None

    def _check_agent(self, agent: YNode) -> _Agent:
        """The agent's machine as :class:`JobDef` fields: a self-hosted type (``s1-...``) changes how the API
        serves the job's log, so it is carried over; the rest of the agent (containers...) is only checked."""
        entries = agent.check_keys("`agent`", {"machine", "containers", "image_pull_secrets"})
        machine = entries.get("machine")
        if machine is None:
            raise agent.error("`agent` needs a `machine` with a `type` (e.g. e1-standard-2)")
        machine_entries = machine.check_keys("`agent.machine`", {"type", "os_image"})
        if "type" not in machine_entries:
            raise machine.error("`agent.machine` needs a `type` (e.g. e1-standard-2)")
        fields: _Agent = {"machine_type": _literal(machine_entries["type"], "`agent.machine.type`")}
        if "os_image" in machine_entries:
            os_image = machine_entries["os_image"]
            fields["os_image"] = _literal(os_image, "`agent.machine.os_image`") if os_image.value != "" else ""
        return fields

    # --- settings without effect in a simulation: checked for shape only ---------------------------------------------

    @staticmethod
    def _check_when_value(node: YNode, what: str) -> None:
        """A condition without effect in a simulation is still parsed: Semaphore checks every `when` in the file
        (``WhenValidator``) and fails the pipeline as malformed on a syntax error. What only the simulator cannot
        evaluate (``change_in``...) is fine here, since nothing is evaluated."""
        if isinstance(node.value, bool):
            return
        try:
            parse_when(node.string(f"the `when` of {what}"))
        except WhenError as exc:  # an unknown function is fine where nothing is evaluated
            if not exc.unsupported:
                raise node.error(f"the `when` of {what}: {exc}") from None

    def _check_queue(self, node: YNode) -> None:
        items = [node] if isinstance(node.value, dict) else node.sequence("`queue`")
        for item in items:
            entries = item.check_keys("`queue`", {"name", "scope", "processing", "when"})
            if "scope" in entries and entries["scope"].value not in ("project", "organization"):
                raise entries["scope"].error("`queue.scope` must be project or organization")
            if "processing" in entries and entries["processing"].value not in ("serialized", "parallel"):
                raise entries["processing"].error("`queue.processing` must be serialized or parallel")
            if "when" in entries:
                self._check_when_value(entries["when"], "`queue`")

    def _check_secrets(self, node: YNode) -> None:
        for secret in node.sequence("`secrets`"):
            entries = secret.check_keys("a secret", {"name", "env_var_names", "config_file_paths"})
            if "name" not in entries:
                raise secret.error("a secret needs a `name`")
            entries["name"].string("a secret `name`")

    def _check_priority(self, node: YNode) -> None:
        for item in node.sequence("`priority`"):
            priority = item.check_keys("a `priority` item", {"value", "when"})
            if "value" not in priority or "when" not in priority:
                raise item.error("a `priority` item needs `value` and `when`")
            priority["value"].integer("a priority `value`", minimum=0, maximum=100)
            self._check_when_value(priority["when"], "a `priority` item")

    def _check_time_limit(self, node: YNode) -> None:
        entries = node.check_keys("`execution_time_limit`", {"hours", "minutes"})
        if len(entries) != 1:
            raise node.error("`execution_time_limit` takes exactly one of `hours` or `minutes`")
        for key, value in entries.items():
            value.integer(f"`execution_time_limit.{key}`", minimum=1)

    # --- blocks -----------------------------------------------------------------------------------------------------

    def _blocks(
        self, node: YNode, global_prologue: list[str], global_env: list[tuple[str, str]]
    ) -> tuple[tuple[BlockDef, ...], tuple[tuple[JobSite, JobDef], ...]]:
        items = node.sequence("`blocks`")
        if not items:
            raise node.error("`blocks` must list at least one block")
        if len(items) > 300:
            raise node.error(f"a pipeline may have at most 300 blocks, this one has {len(items)}")
        raw: list[tuple[YNode, dict[str, YNode], str | None]] = []
        taken: dict[str, YNode] = {}
        for item in items:
            entries = item.check_keys("a block", _BLOCK_KEYS, _BLOCK_UNSUPPORTED)
            name: str | None = None
            if "name" in entries:
                name = _literal(entries["name"], "a block `name`")
                if name in taken:
                    raise entries["name"].error(
                        f"there are at least two blocks with the same name {name!r} (the other at line "
                        f"{taken[name].line})"
                    )
                taken[name] = entries["name"]
            raw.append((item, entries, name))
        names = _fill_names([name for _, _, name in raw], "Nameless block {}")
        declared = [entries.get("dependencies") for _, entries, _ in raw]
        if any(dep is not None for dep in declared) and any(dep is None for dep in declared):
            with_deps = next(item for (item, _, _), dep in zip(raw, declared, strict=True) if dep is not None)
            without = next(item for (item, _, _), dep in zip(raw, declared, strict=True) if dep is None)
            raise without.error(
                "this block has no `dependencies` while another (line "
                f"{with_deps.line}) has: either every block declares `dependencies` or none does"
            )
        blocks: list[BlockDef] = []
        sites: list[tuple[JobSite, JobDef]] = []
        for (item, entries, _), name, dependency_node in zip(raw, names, declared, strict=True):
            if "execution_time_limit" in entries:
                self._check_time_limit(entries["execution_time_limit"])
            dependencies: tuple[str, ...] | None = None
            if dependency_node is not None:
                dependencies = tuple(self._dependencies(dependency_node, name, names))
            task = entries.get("task")
            if task is None:
                raise item.error(f"block {name!r} has no `task`")
            if "run" in entries and "skip" in entries:
                raise entries["skip"].error(f"block {name!r} has both `run` and `skip`; Semaphore allows only one")
            run = self._condition(entries["run"], f"the `run` of block {name!r}") if "run" in entries else None
            skip = self._condition(entries["skip"], f"the `skip` of block {name!r}") if "skip" in entries else None
            jobs = self._task(task, name, global_prologue, global_env)
            blocks.append(
                BlockDef(name=name, jobs=tuple(job for _, job in jobs), dependencies=dependencies, run=run, skip=skip)
            )
            sites.extend(jobs)
        self._check_cycles(blocks, raw)
        return tuple(blocks), tuple(sites)

    def _dependencies(self, node: YNode, block: str, names: list[str]) -> list[str]:
        dependencies = []
        for item in node.sequence(f"`dependencies` of block {block!r}"):
            dependency = item.string(f"a dependency of block {block!r}")
            if dependency not in names:
                raise item.error(
                    f"block {block!r} depends on {dependency!r}, which is not a block of this pipeline "
                    f"(blocks: {', '.join(repr(n) for n in names)})"
                )
            if dependency == block:
                raise item.error(f"block {block!r} depends on itself")
            dependencies.append(dependency)
        return dependencies

    def _check_cycles(self, blocks: list[BlockDef], raw: list[tuple[YNode, dict[str, YNode], str | None]]) -> None:
        graph = {block.name: block.dependencies or () for block in blocks}
        state: dict[str, int] = {}  # 1: on the current path, 2: done

        def visit(name: str, path: list[str]) -> None:
            state[name] = 1
            for dependency in graph[name]:
                if state.get(dependency) == 1:
                    cycle = [*path[path.index(dependency) :], dependency] if dependency in path else [name, dependency]
                    index = [block.name for block in blocks].index(name)
                    raise raw[index][0].error(f"the block dependencies form a cycle: {' -> '.join(cycle)}")
                if dependency not in state:
                    visit(dependency, [*path, dependency])
            state[name] = 2

        for block in blocks:
            if block.name not in state:
                visit(block.name, [block.name])

    # --- tasks and jobs ---------------------------------------------------------------------------------------------

    def _task(
        self, node: YNode, block: str, global_prologue: list[str], global_env: list[tuple[str, str]]
    ) -> list[tuple[JobSite, JobDef]]:
        entries = node.check_keys(f"the `task` of block {block!r}", _TASK_KEYS, _TASK_UNSUPPORTED)
        agent = self._check_agent(entries["agent"]) if "agent" in entries else self.agent
        prologue = list(global_prologue)
        if "prologue" in entries:
            prologue += self._commands_block(entries["prologue"], f"the `prologue` of block {block!r}")
        if "epilogue" in entries:
            self._check_epilogue(entries["epilogue"], f"block {block!r}")
        if "secrets" in entries:
            self._check_secrets(entries["secrets"])
        task_env = self._merge_env(
            global_env, self._env_vars(entries["env_vars"], "`env_vars`") if "env_vars" in entries else []
        )
        jobs_node = entries.get("jobs")
        if jobs_node is None:
            raise node.error(f"the `task` of block {block!r} has no `jobs`")
        items = jobs_node.sequence("`jobs`")
        if not items:
            raise jobs_node.error(f"block {block!r} must have at least one job")
        if len(items) > 50:
            raise jobs_node.error(f"a block may have at most 50 jobs, block {block!r} has {len(items)}")
        parsed: list[tuple[YNode, dict[str, YNode], str | None]] = []
        taken: dict[str, YNode] = {}
        for item in items:
            job_entries = item.check_keys(f"a job of block {block!r}", _JOB_KEYS)
            name: str | None = None
            if "name" in job_entries:
                name = _literal(job_entries["name"], "a job `name`")
                if name in taken:
                    raise job_entries["name"].error(
                        f"block {block!r} has two jobs named {name!r} (the other at line {taken[name].line})"
                    )
                taken[name] = job_entries["name"]
            parsed.append((item, job_entries, name))
        names = _fill_names([name for _, _, name in parsed], "Nameless {}")
        result: list[tuple[JobSite, JobDef]] = []
        seen: dict[str, int | None] = {}
        for (item, job_entries, _), name in zip(parsed, names, strict=True):
            for job in self._job(item, job_entries, name, block, prologue, task_env, agent):
                if job.name in seen:
                    raise item.error(
                        f"block {block!r} would have two jobs named {job.name!r} (the other from line {seen[job.name]})"
                    )
                seen[job.name] = item.line
                result.append((JobSite(block, name, item.line), job))
        return result

    def _check_epilogue(self, node: YNode, owner: str) -> None:
        entries = node.mapping(f"the `epilogue` of {owner}")
        if set(entries) & {"commands", "commands_file"}:
            self._commands_block(node, f"the `epilogue` of {owner}")
            return
        node.check_keys(f"the `epilogue` of {owner}", {"always", "on_pass", "on_fail"})
        for key, value in entries.items():
            self._commands_block(value, f"`epilogue.{key}` of {owner}")

    def _job(
        self,
        node: YNode,
        entries: dict[str, YNode],
        name: str,
        block: str,
        prologue: list[str],
        task_env: list[tuple[str, str]],
        agent: _Agent,
    ) -> list[JobDef]:
        what = f"job {name!r} of block {block!r}"
        has_commands = "commands" in entries
        has_file = "commands_file" in entries
        if has_commands == has_file:
            raise node.error(f"{what} needs exactly one of `commands` or `commands_file`")
        commands = (
            self._command_list(entries["commands"], f"the `commands` of {what}")
            if has_commands
            else self._commands_file(entries["commands_file"])
        )
        if "execution_time_limit" in entries:
            self._check_time_limit(entries["execution_time_limit"])
        if "priority" in entries:
            self._check_priority(entries["priority"])
        env = self._merge_env(
            task_env, self._env_vars(entries["env_vars"], f"the `env_vars` of {what}") if "env_vars" in entries else []
        )
        all_commands = tuple(CommandDef(command) for command in [*prologue, *commands])
        if "parallelism" in entries and "matrix" in entries:
            raise entries["matrix"].error(f"{what} has both `parallelism` and `matrix`; Semaphore allows only one")
        if "parallelism" in entries:
            parallelism = entries["parallelism"]
            if isinstance(parallelism.value, str):
                raise parallelism.error(
                    f"`parallelism` as a string (a parameter expression) {_EXPRESSIONS}; write a number"
                )
            count = parallelism.integer(f"the `parallelism` of {what}", minimum=1, maximum=50)
            return [
                JobDef(
                    name=f"{name} - {index}/{count}",
                    commands=all_commands,
                    env_vars=(*env, ("SEMAPHORE_JOB_COUNT", str(count)), ("SEMAPHORE_JOB_INDEX", str(index))),
                    **agent,
                )
                for index in range(1, count + 1)
            ]
        if "matrix" in entries:
            axes = self._matrix(entries["matrix"], what)
            size = math.prod(len(values) for _, values in axes)
            if size > MAX_MATRIX_JOBS:  # counted before expanding: eight axes of ten values would be 10**8 jobs
                raise node.key_error(
                    "matrix",
                    f"the `matrix` of {what} expands to {size} jobs; the simulator runs at most {MAX_MATRIX_JOBS} "
                    "per matrix (Semaphore itself has per-organization quotas)",
                )
            combinations = itertools.product(*[[(axis, value) for value in values] for axis, values in axes])
            return [
                JobDef(
                    name=f"{name} - " + ", ".join(f"{axis}={value}" for axis, value in combination),
                    commands=all_commands,
                    env_vars=(*env, *combination),
                    **agent,
                )
                for combination in combinations
            ]
        return [JobDef(name=name, commands=all_commands, env_vars=tuple(env), **agent)]

    def _matrix(self, node: YNode, what: str) -> list[tuple[str, list[str]]]:
        items = node.sequence(f"the `matrix` of {what}")
        if not items:
            raise node.error(f"the `matrix` of {what} must not be empty")
        axes: list[tuple[str, list[str]]] = []
        seen: set[str] = set()
        for item in items:
            entries = item.check_keys("a `matrix` axis", {"env_var", "values"})
            if "env_var" not in entries or "values" not in entries:
                raise item.error("a `matrix` axis needs `env_var` and `values`")
            axis = _literal(entries["env_var"], "a matrix `env_var`")
            if axis in seen:
                raise entries["env_var"].error(f"duplicate name {axis!r} in the matrix")
            seen.add(axis)
            values_node = entries["values"]
            if isinstance(values_node.value, str):
                raise values_node.error(
                    f"matrix `values` as a string (a parameter expression) {_EXPRESSIONS}; list the values"
                )
            values = [
                value.string(f"a value of matrix axis {axis!r}", empty_ok=True)
                for value in values_node.sequence("`values`")
            ]
            if not values:
                raise values_node.error(f"the `values` of matrix axis {axis!r} must not be empty")
            axes.append((axis, values))
        return axes

    def _command_list(self, node: YNode, what: str) -> list[str]:
        return [item.string(f"each of {what}", empty_ok=True) for item in node.sequence(what)]

    def _commands_block(self, node: YNode, what: str) -> list[str]:
        entries = node.check_keys(what, {"commands", "commands_file"})
        if ("commands" in entries) == ("commands_file" in entries):
            raise node.error(f"{what} needs exactly one of `commands` or `commands_file`")
        if "commands" in entries:
            return self._command_list(entries["commands"], f"the `commands` of {what}")
        return self._commands_file(entries["commands_file"])

    def _commands_file(self, node: YNode) -> list[str]:
        relative = node.string("`commands_file`")
        if self.base_dir is None:
            raise node.error(
                "`commands_file` is not supported in a pipeline written inside a scenario; list `commands`"
            )
        try:  # relative to the pipeline's folder, or to the repository root with a leading `/`, like pipeline_file
            target = resolve_pipeline_file(self.key, relative)
        except ValueError as exc:
            raise node.error(f"`commands_file` {exc}") from None
        levels = len(posixpath.dirname(self.key).split("/")) if posixpath.dirname(self.key) else 0
        root = os.path.normpath(os.path.join(self.base_dir, *[os.pardir] * levels))
        path = os.path.join(root, *target.split("/"))
        try:
            with open(path, encoding="utf-8") as handle:
                return [line.strip() for line in handle if line.strip()]
        except OSError as exc:
            raise node.error(f"cannot read commands_file {relative!r} ({path}): {exc.strerror}") from None
        except UnicodeDecodeError:
            raise node.error(f"commands_file {relative!r} is not UTF-8 text") from None

    def _env_vars(self, node: YNode, what: str) -> list[tuple[str, str]]:
        result = []
        for item in node.sequence(what):
            entries = item.check_keys("an environment variable", {"name", "value"})
            if "name" not in entries or "value" not in entries:
                raise item.error("an environment variable needs `name` and `value` (both strings)")
            result.append(
                (
                    entries["name"].string("an env var `name`"),
                    entries["value"].string("an env var `value`", empty_ok=True),
                )
            )
        return result

    @staticmethod
    def _merge_env(outer: list[tuple[str, str]], inner: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Inner (job) values take precedence over outer (task, global) ones of the same name."""
        overridden = {name for name, _ in inner}
        return [item for item in outer if item[0] not in overridden] + inner

    # --- promotions -------------------------------------------------------------------------------------------------

    def _promotions(self, node: YNode) -> tuple[tuple[PromotionDef, ...], tuple[int | None, ...]]:
        items = node.sequence("`promotions`")
        if not items:
            raise node.error("`promotions` must list at least one promotion (or be left out)")
        promotions: list[PromotionDef] = []
        lines: list[int | None] = []
        seen: dict[str, int | None] = {}
        for item in items:
            entries = item.check_keys("a promotion", _PROMOTION_KEYS)
            if "name" not in entries:
                raise item.error("a promotion needs a `name`")
            name = entries["name"].string("a promotion `name`")
            if name in seen:
                raise entries["name"].error(
                    f"two promotions are named {name!r} (the other at line {seen[name]}); "
                    "promotions are triggered by name"
                )
            seen[name] = entries["name"].line
            if "pipeline_file" not in entries:
                raise item.error(f"promotion {name!r} needs a `pipeline_file`")
            file_node = entries["pipeline_file"]
            pipeline_file = file_node.string(f"the `pipeline_file` of promotion {name!r}")
            if _has_expression(pipeline_file):
                raise file_node.error(f"a `pipeline_file` with a parameter expression {_EXPRESSIONS}")
            try:
                target = resolve_pipeline_file(self.key, pipeline_file)
            except ValueError as exc:
                raise file_node.error(f"the `pipeline_file` of promotion {name!r}: {exc}") from None
            parameters: tuple[ParameterDef, ...] = ()
            if "parameters" in entries:
                parameters = self._parameters(entries["parameters"], name)
            if "auto_promote" in entries and "auto_promote_on" in entries:
                raise entries["auto_promote_on"].error(
                    f"promotion {name!r} has both `auto_promote` and the deprecated `auto_promote_on`; keep one"
                )
            if "deployment_target" in entries:  # a permission gate: whoever triggers in a simulation may
                _literal(entries["deployment_target"], f"the `deployment_target` of promotion {name!r}")
            auto: WhenPredicate | None = None
            if "auto_promote" in entries:
                auto = self._condition(entries["auto_promote"], f"the `auto_promote` of promotion {name!r}")
            elif "auto_promote_on" in entries:
                auto = self._auto_promote_on(entries["auto_promote_on"], name)
            promotions.append(PromotionDef(name=name, pipeline_file=target, parameters=parameters, auto_promote=auto))
            lines.append(file_node.line)
        return tuple(promotions), tuple(lines)

    def _parameters(self, node: YNode, promotion: str) -> tuple[ParameterDef, ...]:
        entries = node.check_keys(f"the `parameters` of promotion {promotion!r}", {"env_vars"})
        if "env_vars" not in entries:
            raise node.error(f"the `parameters` of promotion {promotion!r} need `env_vars`")
        parameters: list[ParameterDef] = []
        seen: set[str] = set()
        for item in entries["env_vars"].sequence("`parameters.env_vars`"):
            fields = item.check_keys("a promotion parameter", _PARAMETER_KEYS)
            if "name" not in fields:
                raise item.error("a promotion parameter needs a `name`")
            name = fields["name"].string("a parameter `name`")
            if name in seen:
                raise fields["name"].error(f"promotion {promotion!r} has two parameters named {name!r}")
            seen.add(name)
            options: tuple[str, ...] = ()
            if "options" in fields:
                options = tuple(
                    option.string(f"an option of parameter {name!r}")
                    for option in fields["options"].sequence(f"the `options` of parameter {name!r}")
                )
            default = (
                fields["default_value"].string("`default_value`", empty_ok=True) if "default_value" in fields else None
            )
            # Left out, `required` is true: "Both env_vars are required in order for promotion to trigger" says
            # plumber's own example (plumber/spec/test/pipelines/v1.0-promotion_parameters.yml) of two bare names.
            required = fields["required"].boolean("`required`") if "required" in fields else True
            description = (
                fields["description"].string("`description`", empty_ok=True) if "description" in fields else ""
            )
            parameters.append(
                ParameterDef(name=name, required=required, default=default, options=options, description=description)
            )
        return tuple(parameters)

    def _auto_promote_on(self, node: YNode, promotion: str) -> WhenPredicate:
        rules: list[tuple[str, str, tuple[re.Pattern[str], ...]]] = []
        for item in node.sequence(f"the `auto_promote_on` of promotion {promotion!r}"):
            fields = item.check_keys("an `auto_promote_on` rule", _AUTO_PROMOTE_ON_KEYS, _AUTO_PROMOTE_ON_UNSUPPORTED)
            if "result" not in fields:
                raise item.error("an `auto_promote_on` rule needs a `result`")
            result = fields["result"].string("`result`").lower()
            reason = (
                fields["result_reason"].string("`result_reason`", empty_ok=True).lower()
                if "result_reason" in fields
                else ""
            )
            patterns = []
            for branch in fields["branch"].sequence("`branch`") if "branch" in fields else []:
                text = branch.string("a `branch` pattern")
                try:
                    patterns.append(re.compile(text))
                except re.error as exc:
                    raise branch.error(f"invalid regular expression {text!r}: {exc}") from None
            rules.append((result, reason, tuple(patterns)))

        def predicate(facts: Mapping[str, str]) -> bool:
            """gofer's rule: the patterns are searched in the pipeline's branch name as the API shows it
            (``refs/tags/v1.2`` on a tag build, ``pull-request-7`` on a pull request), and an empty
            ``result_reason`` means any reason."""
            branch = facts.get("branch_name") or ""
            return any(
                facts.get("result") == result
                and (not reason or facts.get("result_reason") == reason)
                and (not patterns or any(pattern.search(branch) for pattern in patterns))
                for result, reason, patterns in rules
            )

        return predicate


def _fill_names(names: list[str | None], template: str) -> list[str]:
    """Semaphore's names for nameless items: ``template.format(i)`` with the first ``i`` (counting from 1, one per
    nameless item) not already taken."""
    taken = {name for name in names if name is not None}
    filled: list[str] = []
    index = 1
    for name in names:
        if name is not None:
            filled.append(name)
            continue
        while template.format(index) in taken:
            index += 1
        candidate = template.format(index)
        taken.add(candidate)
        filled.append(candidate)
        index += 1
    return filled


def parse_pipeline(root: YNode, key: str, *, base_dir: str | None = None, inline: bool = False) -> ParsedPipeline:
    """Read a pipeline from an already loaded document.

    ``key`` is the file's repository path (``.semaphore/semaphore.yml``), against which promotion targets are
    resolved; ``base_dir`` the folder on disk that ``commands_file`` paths are relative to; ``inline`` relaxes the
    ``version``/``agent`` requirement for pipelines written inside a scenario file.
    """
    return _PipelineReader(root, key, base_dir, inline).read()


def load_pipeline_file(path: str | os.PathLike[str], key: str) -> ParsedPipeline:
    """Read the pipeline file at ``path`` (known to the repository as ``key``)."""
    return parse_pipeline(load_document(path), key, base_dir=os.path.dirname(os.fspath(path)) or ".")
