"""What ``semaphore-gate`` exits with, and which error means which code: one table, documented in docs/cli.md.

Why codes and not just 0/1: a deployment gate's caller must tell a red build (1) from a broken pipeline file (4), a
stopped pipeline (3), an outage (5), a revoked token (6) and a gate that ran out of time (124), because each calls for
a different reaction (fix the code, fix the YAML, rerun, wait, rotate the secret, raise the timeout). A pipeline's own
verdict maps to its code through :mod:`pytest_semaphore.outcomes`, the mapping the pytest face and the reports use too.
"""

from __future__ import annotations

from .. import errors
from ..waiting import Outcome, outcome

__all__ = [
    "EXIT_API_UNAVAILABLE",
    "EXIT_AUTH",
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_STOPPED",
    "EXIT_TERMINATED",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "exit_code_for",
]

EXIT_OK = Outcome.PASSED.exit_code
EXIT_FAILED = Outcome.FAILED.exit_code
#: Usage or bad input: an unknown option, a missing token, an id that does not exist, an unreadable report.
EXIT_USAGE = 2
EXIT_STOPPED = Outcome.STOPPED.exit_code
#: Failed for another reason: malformed, stuck, internal, a refused promotion, a request whose effect is unknown.
EXIT_ERROR = Outcome.ERROR.exit_code
EXIT_API_UNAVAILABLE = 5
EXIT_AUTH = 6
#: The gate's own timeout, the code ``timeout(1)`` uses.
EXIT_TIMEOUT = 124
#: 128 + SIGINT and 128 + SIGTERM, what a shell reports for a process killed by those signals.
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


def exit_code_for(error: errors.SemaphoreError) -> int:
    """The exit code of an error raised by the core (the order matters: subclasses first)."""
    if isinstance(error, errors.PipelineFailed):
        # fail-fast: a job failed, the pipeline may still be running; once done, its own verdict decides
        pipeline = error.pipeline
        return outcome(pipeline).exit_code if pipeline.done else EXIT_FAILED
    if isinstance(error, (errors.ConfigurationError, errors.NotFoundError, errors.ReportError)):
        return EXIT_USAGE
    if isinstance(error, errors.AuthenticationError):
        return EXIT_AUTH
    if isinstance(error, errors.APIUnavailable):
        return EXIT_API_UNAVAILABLE
    if isinstance(error, errors.WaitTimeout):
        return EXIT_TIMEOUT
    return EXIT_ERROR  # PromotionFailed, OutcomeUnknown, another APIError: failed for another reason
