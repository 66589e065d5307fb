"""Promotions: listing a pipeline's promotion records, and triggering one (resent only after checking)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from typing import Any

from ..errors import APIError, AuthenticationError, ConfigurationError, NotFoundError
from ..models import Promotion
from .baseurl import API_PREFIX
from .pagination import LinkPages, paginate
from .params import add, nonempty, param_value, segment
from .pipelines import PipelineEndpoints
from .reconcile import resend_until_recorded, trigger_once
from .retry import Policy

__all__ = ["RESERVED_PROMOTION_KEYS", "PromotionEndpoints"]

#: Keys ``POST /promotions`` reads itself; a promotion parameter of that name would be eaten by the server.
RESERVED_PROMOTION_KEYS = frozenset({"switch_id", "name", "user_id", "override", "request_token", "pipeline_id"})

_PATH = f"{API_PREFIX}/promotions"


class PromotionEndpoints(PipelineEndpoints):
    def list_promotions(self, ppl_id: str, *, name: str | None = None) -> list[Promotion]:
        """Promotion records of a pipeline, newest first, every page.

        The server answers 500 both for "this pipeline has no promotions" and for a real failure. The two are told
        apart by describing the pipeline: one without a ``switch_id`` has no promotions, and gives ``[]``; for any
        other pipeline the 500 is raised as an ``APIError``.
        """
        ppl_id = segment(ppl_id, "pipeline id")
        params = [("pipeline_id", ppl_id)]
        add(params, "name", name)
        try:
            return paginate(self._http, _PATH, params, Promotion.from_api, LinkPages(), policy=Policy.PROMOTIONS_LIST)
        except APIError as exc:
            if exc.status != 500 or isinstance(exc, (AuthenticationError, NotFoundError)):
                raise
            failure = exc
        if not self.describe_pipeline(ppl_id).switch_id:
            return []
        raise failure

    def trigger_promotion(
        self,
        ppl_id: str,
        name: str,
        *,
        override: bool = False,
        parameters: Mapping[str, str] | None = None,
        request_token: str | None = None,
    ) -> None:
        """Trigger promotion ``name`` of a pipeline (``POST /promotions``); parameters go as top-level keys.

        A trigger is not blindly resent: after an ambiguous failure the promotions list is compared with a
        snapshot taken just before the first attempt, and the trigger is resent only when no new record of that
        name appeared. A 500 (the server's answer to a bad parameter value) is never resent.
        """
        ppl_id = segment(ppl_id, "pipeline id")
        target = nonempty(name, "promotion name")
        body = _trigger_body(ppl_id, target, override, parameters, request_token)
        records = functools.partial(self.list_promotions, ppl_id, name=target)
        resend_until_recorded(
            functools.partial(trigger_once, self._http, _PATH, body),
            records,
            before=records(),
            attempts=self._http.backoff.attempts(self._http.retries + 1),
            target=target,
        )


def _trigger_body(
    ppl_id: str, name: str, override: bool, parameters: Mapping[str, str] | None, request_token: str | None
) -> dict[str, Any]:
    """The JSON body of a trigger: the request's own fields, then the parameters as top-level keys."""
    body: dict[str, Any] = {
        "pipeline_id": ppl_id,
        "name": name,
        "override": bool(override),
        "request_token": request_token or str(uuid.uuid4()),
    }
    for key, value in (parameters or {}).items():
        if key in RESERVED_PROMOTION_KEYS:
            raise ConfigurationError(
                f"promotion parameter {key!r} clashes with a field of the promotion request itself; rename it"
            )
        body[str(key)] = param_value(value, str(key))
    return body
