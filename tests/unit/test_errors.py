"""Every error class survives pickling with its attributes (errors cross pytest-xdist workers and process pools)."""

from __future__ import annotations

import pickle

import pytest

from pytest_semaphore import errors
from pytest_semaphore.models import BlockJob, Pipeline, Promotion
from tests.support import api_payloads as P

PIPELINE = Pipeline.from_api(P.pipeline_describe("done", "failed"))
JOB = BlockJob.from_api({"name": "unit", "job_id": "j1", "index": 0, "status": "FINISHED", "result": "FAILED"})
PROMOTION = Promotion.from_api(P.promotion(status="failed"))

EXAMPLES: list[errors.SemaphoreError] = [
    errors.SemaphoreError("plain"),
    errors.ConfigurationError("bad url"),
    errors.APIError("get", "/api/v1alpha/pipelines/x?jwt=s", 400, "Bad value.", detail="why"),
    errors.AuthenticationError("GET", "/p", 401, "Unauthorized"),
    errors.NotFoundError("GET", "/p", 404, "Not Found", detail="hidden"),
    errors.APIUnavailable("GET", "/p", "HTTP 503", last_status=503, retry_after=7.0),
    errors.OutcomeUnknown("POST", "/api/v1alpha/plumber-workflows", "reset"),
    errors.OutcomeUnknown("POST", "/api/v1alpha/promotions", "HTTP 502", sent=3),
    errors.WaitTimeout("60 min passed", last_seen=PIPELINE, timeout=3600.0),
    errors.PipelineFailed("pipeline failed", pipeline=PIPELINE, failed_jobs=[JOB]),
    errors.PromotionFailed("ppl", "production", "refused", promotion=PROMOTION),
    errors.ReportError("not XML"),
]


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda e: type(e).__name__)
def test_errors_pickle_with_their_attributes(error: errors.SemaphoreError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)


def test_api_error_paths_never_keep_a_query() -> None:
    error = errors.APIError("GET", "https://host/api/v1alpha/logs/x?jwt=SIGNED", 401)
    assert error.path == "/api/v1alpha/logs/x"
    assert "SIGNED" not in str(error)


class _KeywordOnlyError(errors.SemaphoreError):
    """A subclass written without any pickling code: the base class's mechanism covers it."""

    def __init__(self, *, job_id: str, attempts: int) -> None:
        self.job_id = job_id
        self.attempts = attempts
        super().__init__(f"job {job_id} gave up after {attempts} attempts")


def test_a_new_error_class_pickles_without_code_of_its_own() -> None:
    error = _KeywordOnlyError(job_id="j1", attempts=3)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is _KeywordOnlyError
    assert (str(copy), copy.job_id, copy.attempts) == ("job j1 gave up after 3 attempts", "j1", 3)
    assert vars(copy) == vars(error)
