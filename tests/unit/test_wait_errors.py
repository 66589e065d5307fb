"""The waiting engine's exceptions keep their fields through pickling (xdist sends errors between processes)."""

from __future__ import annotations

import pickle

from pytest_semaphore.errors import PromotionFailed, WaitTimeout
from pytest_semaphore.models import Pipeline


def test_wait_timeout_keeps_the_last_pipeline_seen_and_what_was_canceled() -> None:
    seen = Pipeline.from_api({"pipeline": {"ppl_id": "p1", "wf_id": "w1", "state": "running"}, "blocks": []})
    error = pickle.loads(pickle.dumps(WaitTimeout("timed out", last_seen=seen, timeout=60.0, canceled=["p1"])))
    assert str(error) == "timed out"
    assert error.last_seen == seen
    assert error.timeout == 60.0
    assert error.canceled == ("p1",)


def test_promotion_failed_says_which_promotion_and_why() -> None:
    error = pickle.loads(pickle.dumps(PromotionFailed("p1", "deploy", "refused by the deployment target")))
    assert (error.ppl_id, error.name, error.reason) == ("p1", "deploy", "refused by the deployment target")
    assert str(error) == "promotion 'deploy' of pipeline p1 failed: refused by the deployment target"
