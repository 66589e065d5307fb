"""What a testcase says about Semaphore: ``<properties>`` with pipeline and job ids, and links to their UI pages.

Pairs already present are not added twice, so attaching again changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from .xmlio import attr

__all__ = ["add_properties", "clean_properties", "first_children", "job_url", "new_properties", "pipeline_url"]


def pipeline_url(base_url: str, wf_id: str, ppl_id: str) -> str:
    """The Semaphore UI page of a pipeline: ``{base}/workflows/{wf_id}?pipeline_id={ppl_id}``."""
    return f"{base_url.rstrip('/')}/workflows/{quote(wf_id, safe='')}?pipeline_id={quote(ppl_id, safe='')}"


def job_url(base_url: str, job_id: str) -> str:
    """The Semaphore UI page of a job: ``{base}/jobs/{job_id}``."""
    return f"{base_url.rstrip('/')}/jobs/{quote(job_id, safe='')}"


def first_children(case: Any) -> dict[str, tuple[int, Any]]:
    """The position and element of the first child of each tag, in one pass over the (few) children.

    Cheaper than ``find`` per tag: lxml's ``find`` goes through its Python ``ElementPath`` machinery, which costs
    more than the whole loop, and this runs for every edited testcase.
    """
    first: dict[str, tuple[int, Any]] = {}
    for index, child in enumerate(case):
        tag = child.tag
        if isinstance(tag, str) and tag not in first:  # comments and processing instructions have no str tag
            first[tag] = (index, child)
    return first


def clean_properties(properties: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(attr(name), attr(value)) for name, value in properties]


def new_properties(etree: Any, properties: Sequence[tuple[str, str]]) -> Any:
    """A ``<properties>`` element with one ``<property>`` per distinct already-cleaned pair, in order."""
    props = etree.Element("properties")
    for name, value in dict.fromkeys(properties):
        etree.SubElement(props, "property", {"name": name, "value": value})
    return props


def add_properties(
    etree: Any,
    case: Any,
    properties: Sequence[tuple[str, str]],
    children: Mapping[str, tuple[int, Any]] | None = None,
    template: Any = None,
) -> None:
    """Add already-cleaned ``(name, value)`` pairs to the testcase's ``<properties>`` (its first child).

    Pairs already present are not added again, so attaching twice changes nothing. ``template`` (the
    :func:`new_properties` of these pairs) is copied when the testcase has no ``<properties>`` yet: one copy in C
    instead of building three elements per testcase.
    """
    if not properties:
        return
    found = (children if children is not None else first_children(case)).get("properties")
    if found is None:
        case.insert(0, copy.deepcopy(template) if template is not None else new_properties(etree, properties))
        return
    props = found[1]
    present = {(p.get("name"), p.get("value")) for p in props.iterfind("property")}
    for pair in properties:
        if pair not in present:
            present.add(pair)
            etree.SubElement(props, "property", {"name": pair[0], "value": pair[1]})
