"""Golden raw responses for promotions: listing, triggering, parameters as top-level keys, gofer's 500s."""

from __future__ import annotations

import json

import pytest

from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import BlockDef, JobDef, ParameterDef, PipelineDef, ProjectDef, PromotionDef

from .helpers import MAIN, Raw

API = "/api/v1alpha"
EPOCH = 1767225600


def done_pipeline(sim: SemaphoreSimulator, pipeline_file: str = MAIN, branch: str = "master") -> str:
    _, ppl_id = sim.world.start_workflow("demo", pipeline_file=pipeline_file, branch=branch)
    sim.advance(20)
    assert sim.world.pipeline(ppl_id).done
    return ppl_id


def test_trigger_with_top_level_parameters_then_processing_then_passed(sim: SemaphoreSimulator, raw: Raw) -> None:
    ppl_id = done_pipeline(sim, branch="feature")  # no auto-promotion off master
    response = raw.post_form(f"{API}/promotions", f"pipeline_id={ppl_id}&name=production&ENVIRONMENT=us")
    assert (response.status, response.body) == (200, b'"Promotion successfully triggered."')
    assert "content-type" not in response.header_names()
    listed = raw.get(f"{API}/promotions?pipeline_id={ppl_id}")
    assert listed.status == 200
    assert listed.json() == [
        {
            "name": "production",
            "triggered_by": sim.world.user_id,
            "override": False,
            "status": "processing",
            "triggered_at": {"seconds": EPOCH + 20, "nanos": 0},
            "scheduled_at": {"seconds": 0, "nanos": 0},
            "scheduled_pipeline_id": "",
        }
    ]
    sim.advance(2)
    item = raw.get(f"{API}/promotions?pipeline_id={ppl_id}").json()[0]
    assert item["status"] == "passed"
    assert item["scheduled_at"] == {"seconds": EPOCH + 22, "nanos": 0}
    scheduled = sim.world.pipeline(item["scheduled_pipeline_id"])
    assert scheduled.promotion_of == ppl_id
    assert scheduled.wf_id == sim.world.pipeline(ppl_id).wf_id
    assert scheduled.env_vars == [("ENVIRONMENT", "us"), ("REASON", "release")]  # the default filled in
    described = raw.get(f"{API}/pipelines/{scheduled.ppl_id}").json()["pipeline"]
    assert described["promotion_of"] == ppl_id
    assert described["triggerer"]["ppl_triggered_by"] == 1  # PROMOTION


def test_parameter_rules_give_500_internal_error(sim: SemaphoreSimulator, raw: Raw) -> None:
    ppl_id = done_pipeline(sim, branch="feature")
    missing = raw.post_json(f"{API}/promotions", {"pipeline_id": ppl_id, "name": "production"})
    assert (missing.status, missing.body) == (500, b'"Internal error"')
    not_an_option = raw.post_json(
        f"{API}/promotions", {"pipeline_id": ppl_id, "name": "production", "ENVIRONMENT": "mars"}
    )
    assert (not_an_option.status, not_an_option.body) == (500, b'"Internal error"')
    nested = raw.post_json(
        f"{API}/promotions", {"pipeline_id": ppl_id, "name": "production", "parameters": {"ENVIRONMENT": "eu"}}
    )
    assert nested.status == 500  # parameters are top-level keys, not nested
    assert sim.world.promotions(ppl_id) == []


def test_a_default_outside_the_options_is_accepted_but_another_value_is_not(sim: SemaphoreSimulator, raw: Raw) -> None:
    """Plumber's own example: a value must be "either default_value or one of given options"."""
    region = ParameterDef("REGION", options=("eu", "us"), default="global")
    deploy = PipelineDef("Deploy", (BlockDef("Deploy", (JobDef("deploy"),)),))
    train = PipelineDef(
        "Train", (BlockDef("Build", (JobDef("build"),)),), promotions=(PromotionDef("deploy", "deploy.yml", (region,)),)
    )
    sim.world.add_project(ProjectDef("regions", {MAIN: train, "deploy.yml": deploy}))
    _, ppl_id = sim.world.start_workflow("regions")
    sim.advance(20)
    assert sim.world.pipeline(ppl_id).done
    defaulted = raw.post_json(f"{API}/promotions", {"pipeline_id": ppl_id, "name": "deploy"})
    assert (defaulted.status, defaulted.body) == (200, b'"Promotion successfully triggered."')
    assert sim.world.promotions(ppl_id)[0].parameters == {"REGION": "global"}
    other = raw.post_json(f"{API}/promotions", {"pipeline_id": ppl_id, "name": "deploy", "REGION": "mars"})
    assert (other.status, other.body) == (500, b'"Internal error"')


def test_not_passed_without_override_is_refused_with_409(sim: SemaphoreSimulator, raw: Raw) -> None:
    ppl_id = done_pipeline(sim, ".semaphore/failing.yml")
    refused = raw.post_form(f"{API}/promotions", f"pipeline_id={ppl_id}&name=production")
    assert (refused.status, refused.json()) == (
        409,
        {"code": "REFUSED", "message": "Triggering target when pipeline is not passed requires override confirmation."},
    )
    assert "content-type" not in refused.header_names()
    bad_override = raw.post_form(f"{API}/promotions", f"pipeline_id={ppl_id}&name=production&override=maybe")
    assert (bad_override.status, bad_override.body) == (
        400,
        b'"Invalid value of \'override\' param: \\"maybe\\" - needs to be boolean."',
    )
    forced = raw.post_form(f"{API}/promotions", f"pipeline_id={ppl_id}&name=production&override=true")
    assert forced.status == 200
    listed = raw.get(f"{API}/promotions?pipeline_id={ppl_id}").json()
    assert listed[0]["override"] is True


def test_unknown_target_is_a_400_json_string(sim: SemaphoreSimulator, raw: Raw) -> None:
    ppl_id = done_pipeline(sim, branch="feature")
    response = raw.post_json(f"{API}/promotions", {"pipeline_id": ppl_id, "name": "nowhere"})
    switch = sim.world.pipeline(ppl_id).switch_id
    assert response.status == 400
    assert json.loads(response.body) == f"Target for switch: {switch} with name: nowhere not found"


def test_listing_a_pipeline_without_promotions_is_500(sim: SemaphoreSimulator, raw: Raw) -> None:
    ppl_id = done_pipeline(sim, ".semaphore/plain.yml")
    response = raw.get(f"{API}/promotions?pipeline_id={ppl_id}")
    assert (response.status, response.body) == (500, b'"Internal error"')
    assert "content-type" not in response.header_names()


def test_promotions_page_size_rules(sim: SemaphoreSimulator, raw: Raw) -> None:
    ppl_id = done_pipeline(sim, branch="feature")
    for index in range(3):
        raw.post_json(f"{API}/promotions", {"pipeline_id": ppl_id, "name": "production", "ENVIRONMENT": "eu"})
        sim.advance(1 + index)
    default = raw.get(f"{API}/promotions?pipeline_id={ppl_id}")
    assert default.header("per-page") == "10"
    assert default.header("total") == "3"
    for out_of_range in ("0", "-1", "100"):  # gofer wants 1 <= page_size < 100: its BAD_PARAM is a 500
        response = raw.get(f"{API}/promotions?pipeline_id={ppl_id}&page_size={out_of_range}")
        assert (response.status, response.body) == (500, b'"Internal error"'), out_of_range
    not_integer = raw.get(f"{API}/promotions?pipeline_id={ppl_id}&page_size=1x")
    assert (not_integer.status, not_integer.body) == (
        400,
        b'"Invalid value of \'page_size\' param: \\"1x\\" - needs to be integer."',
    )
    assert raw.get(f"{API}/promotions?pipeline_id={ppl_id}&page=x").status == 400
    assert raw.get(f"{API}/promotions?pipeline_id={ppl_id}&page_size=99").status == 200
    too_big = raw.get(f"{API}/promotions?pipeline_id={ppl_id}&page_size=100")
    assert (too_big.status, too_big.body) == (500, b'"Internal error"')
    paged = raw.get(f"{API}/promotions?pipeline_id={ppl_id}&page_size=2")
    base = f"http://127.0.0.1:{raw.port}/api/v1alpha/promotions"
    assert paged.header("link") == (
        f'<{base}?page=2&page_size=2&pipeline_id={ppl_id}>; rel="next", '
        f'<{base}?page=1&page_size=2&pipeline_id={ppl_id}>; rel="first", '
        f'<{base}?page=2&page_size=2&pipeline_id={ppl_id}>; rel="last"'
    )
    stamps = [p["triggered_at"]["seconds"] for p in raw.get(f"{API}/promotions?pipeline_id={ppl_id}").json()]
    assert stamps == sorted(stamps, reverse=True)  # newest first


def test_request_token_deduplicates_triggers(sim: SemaphoreSimulator, raw: Raw) -> None:
    ppl_id = done_pipeline(sim, branch="feature")
    body = {"pipeline_id": ppl_id, "name": "production", "ENVIRONMENT": "eu", "request_token": "once"}
    first = raw.post_json(f"{API}/promotions", body)
    second = raw.post_json(f"{API}/promotions", body)
    assert first.body == second.body == b'"Promotion successfully triggered."'
    assert len(sim.world.promotions(ppl_id)) == 1
    assert sim.world.promotions(ppl_id)[0].parameters == {"ENVIRONMENT": "eu", "REASON": "release"}


def test_auto_promotion_on_master_pass(sim: SemaphoreSimulator, raw: Raw) -> None:
    _, ppl_id = sim.world.start_workflow("demo")
    sim.advance(10)  # done exactly at t=10
    item = raw.get(f"{API}/promotions?pipeline_id={ppl_id}").json()
    assert [(p["name"], p["triggered_by"], p["status"]) for p in item] == [
        ("staging", "Pipeline Done request", "processing")
    ]
    sim.advance(2)
    item = raw.get(f"{API}/promotions?pipeline_id={ppl_id}").json()[0]
    assert item["status"] == "passed"
    listed = raw.get(f"{API}/pipelines?wf_id={sim.world.pipeline(ppl_id).wf_id}").json()
    scheduled = next(p for p in listed if p["ppl_id"] == item["scheduled_pipeline_id"])
    assert scheduled["triggerer"]["ppl_triggered_by"] == "AUTO_PROMOTION"
    assert scheduled["promotion_of"] == ppl_id


def test_promotion_into_a_missing_file_fails(sim: SemaphoreSimulator) -> None:
    from pytest_semaphore.simulator.definitions import (
        BlockDef,
        JobDef,
        PipelineDef,
        ProjectDef,
        PromotionDef,
    )

    sim.world.add_project(
        ProjectDef(
            "broken",
            {MAIN: PipelineDef("P", (BlockDef("B", (JobDef("j"),)),), promotions=(PromotionDef("prod", "nope.yml"),))},
        )
    )
    _, ppl_id = sim.world.start_workflow("broken")
    sim.advance(10)
    sim.world.trigger_promotion(ppl_id, "prod")
    sim.advance(2)
    (record,) = sim.world.promotions(ppl_id)
    assert (record.status, record.scheduled_pipeline_id) == ("failed", "")


def test_older_servers_answer_refusals_with_400_and_a_json_string() -> None:
    from .helpers import failing_pipeline, standard_scenario

    assert failing_pipeline().promotions
    with SemaphoreSimulator(standard_scenario(), token="t", refusals_as_409=False) as older:
        _, ppl_id = older.world.start_workflow("demo", pipeline_file=".semaphore/failing.yml")
        older.advance(20)
        conn = Raw(older.url, "t")
        try:
            refused = conn.post_json(f"{API}/promotions", {"pipeline_id": ppl_id, "name": "production"})
        finally:
            conn.close()
    assert (refused.status, refused.body) == (
        400,
        b'"Triggering target when pipeline is not passed requires override confirmation."',
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [(1, "1"), (0, "0"), (None, "nil"), ("TRUE", '\\"TRUE\\"'), (1.5, "1.5"), ([True], "[true]")],
)
def test_override_must_be_a_json_boolean_or_its_exact_string(
    sim: SemaphoreSimulator, raw: Raw, value: object, shown: str
) -> None:
    """gofer's ``to_bool``: ``1`` and ``0`` are not booleans (Python's ``1 == True`` must not leak in); the message
    shows the value as Elixir's ``inspect`` does."""
    _, ppl_id = sim.world.start_workflow("demo")
    sim.advance(30)
    response = raw.post_json(
        f"{API}/promotions", {"pipeline_id": ppl_id, "name": "production", "ENVIRONMENT": "eu", "override": value}
    )
    expected = f"\"Invalid value of 'override' param: {shown} - needs to be boolean.\"".encode()
    assert (response.status, response.body) == (400, expected)
    assert [p for p in sim.world.promotions(ppl_id) if not p.auto] == []


@pytest.mark.parametrize(("value", "shown"), [(None, "nil"), (True, "true"), (2.0, "2.0")])
def test_promotions_page_size_that_is_not_an_integer_shows_it_like_elixir(
    sim: SemaphoreSimulator, raw: Raw, value: object, shown: str
) -> None:
    _, ppl_id = sim.world.start_workflow("demo")
    response = raw.request(
        "GET",
        f"{API}/promotions?pipeline_id={ppl_id}",
        json.dumps({"page_size": value}),
        {"Content-Type": "application/json"},
    )
    expected = f"\"Invalid value of 'page_size' param: {shown} - needs to be integer.\"".encode()
    assert (response.status, response.body) == (400, expected)
