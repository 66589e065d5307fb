"""Suite-wide settings: hypothesis profiles and loopback hygiene.

``HYPOTHESIS_PROFILE=ci`` (set by .ci/run and tox) selects a derandomised profile with a few hundred examples;
``long`` is for bench/. Proxies are bypassed for loopback so that a developer's ``HTTP_PROXY`` cannot capture the
simulator's traffic.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("long", max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

_LOOPBACK = "127.0.0.1,127.0.0.2,localhost,::1"
os.environ["NO_PROXY"] = os.environ["no_proxy"] = _LOOPBACK
