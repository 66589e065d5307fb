"""Secrets out of log text: the API token, secret-looking environment values, user patterns and a hook.

Output fragments are *not* line-aligned, so the redactor is called on blocks of whole lines, after fragments are
joined: a secret split across two ``cmd_output`` events is still found. See docs/logs.md, *Secrets*.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from ..errors import ConfigurationError
from .clean import clean_text

if TYPE_CHECKING:
    from ..models import EnvVar, Job

__all__ = ["MIN_SECRET_CHARS", "NO_REDACTION", "REDACTED", "Redactor", "looks_secret"]

#: What a secret is replaced with.
REDACTED = "[REDACTED]"
#: Secrets shorter than this, found by variable *name*, are not redacted: "true", "1", "en_US" would wreck the log.
MIN_SECRET_CHARS = 6

# Matched against the upper-cased variable name. Strong words match anywhere (GITHUB_TOKEN, DB_PASSWORD,
# AWS_SECRET_ACCESS_KEY, NPMAPIKEY); short, ambiguous words (KEY, PASS, AUTH...) only as a whole ``_``-separated
# component, so MONKEY_COUNT or KEEP_CACHE are not taken for secrets.
_SECRET_NAME_RE = re.compile(
    r"TOKEN|SECRET|PASSW(?:OR)?D|PASSPHRASE|CREDENTIAL|PRIVATE|APIKEY|ACCESSKEY|SIGNINGKEY"
    r"|(?:^|_)(?:KEYS?|PASS|PWD|AUTH|JWT|DSN|COOKIE|SESSION|SIGNATURE|CERT|SALT|PAT)(?:_|$)"
)
_NOT_SECRET_NAMES = frozenset({"PWD", "OLDPWD"})


def looks_secret(name: str) -> bool:
    """Whether an environment variable's *name* says its value is a secret (``DEPLOY_TOKEN``, ``DB_PASSWORD``)."""
    upper = name.upper()
    if upper in _NOT_SECRET_NAMES:
        return False
    return _SECRET_NAME_RE.search(upper) is not None


def _shared_prefix_length(texts: Sequence[str]) -> int:
    """How many leading characters all ``texts`` share (those of the smallest and largest decide it)."""
    first, last = min(texts), max(texts)
    for index, (a, b) in enumerate(zip(first, last, strict=False)):  # the shorter one bounds the prefix
        if a != b:
            return index
    return len(first)


class Redactor:
    """Replace secrets in text with ``[REDACTED]``.

    Literal secrets are matched with one compiled alternation (longest first, so a secret that contains another is
    hidden whole); ``patterns`` are user regular expressions; ``hook`` is any ``str -> str`` callable (the plugin's
    ``pytest_semaphore_redact`` hook goes here) applied last. The redactor is called on blocks of *whole lines*.

    The ``repr`` never shows a secret: only how many there are.
    """

    def __init__(
        self,
        secrets: Iterable[str] = (),
        patterns: Iterable[str | re.Pattern[str]] = (),
        hook: Callable[[str], str] | None = None,
        *,
        placeholder: str = REDACTED,
    ) -> None:
        literals: set[str] = set()
        for secret in secrets:
            for form in (secret, clean_text(secret)):
                # A multi-line secret (a private key) is matched line by line, as the log is.
                literals.update(part for part in form.split("\n") if part.strip())
        self._literals = tuple(sorted(literals, key=lambda s: (-len(s), s)))
        # Two ways to find literal secrets, chosen by what is fast. When they share a prefix, sre's literal-prefix
        # search makes one alternation fast. Random tokens share none: then sre tries every alternative at nearly
        # every position (20 random secrets: 8 ms per MB, as slow as parsing the log), while one C substring
        # search per secret costs 0.1 ms per MB each. ``_scan`` picks the second way.
        self._scan = _shared_prefix_length(self._literals) < 3 if self._literals else False
        self._literal_re = re.compile("|".join(re.escape(s) for s in self._literals)) if self._literals else None
        compiled: list[re.Pattern[str]] = []
        for pattern in patterns:
            if isinstance(pattern, re.Pattern):
                compiled.append(pattern)
                continue
            try:
                compiled.append(re.compile(pattern))
            except re.error as exc:
                raise ConfigurationError(
                    f"redaction pattern {pattern!r} is not a valid regular expression ({exc}); "
                    "fix or remove it (patterns use Python's re syntax)"
                ) from None
        self._patterns = tuple(compiled)
        self._hook = hook
        self.placeholder = placeholder

    @classmethod
    def for_job(
        cls,
        *,
        token: str | None = None,
        job: Job | None = None,
        job_env_vars: Iterable[EnvVar] | Mapping[str, str] = (),
        env: Mapping[str, str] | None = None,
        patterns: Iterable[str | re.Pattern[str]] = (),
        hook: Callable[[str], str] | None = None,
        extra_secrets: Iterable[str] = (),
    ) -> Redactor:
        """The standard redactor: the API token, secret-looking variables of ``env`` (default: ``os.environ``) and
        of the job's ``spec.env_vars``, ``extra_secrets``, user ``patterns`` and the plugin's ``hook``."""
        secrets: list[str] = [s for s in extra_secrets if s]
        if token:
            secrets.append(token)
        pairs: list[tuple[str, str]] = list((os.environ if env is None else env).items())
        if job is not None:
            pairs.extend((v.name, v.value) for v in job.env_vars)
        if isinstance(job_env_vars, Mapping):
            pairs.extend(job_env_vars.items())
        else:
            pairs.extend((v.name, v.value) for v in job_env_vars)
        for name, value in pairs:
            if looks_secret(name) and len(value.strip()) >= MIN_SECRET_CHARS:
                secrets += (value, value.strip())  # a shell prints "  v  " as "v": hide both forms
        return cls(secrets, patterns, hook)

    def __bool__(self) -> bool:
        return bool(self._literal_re or self._patterns or self._hook)

    def __repr__(self) -> str:
        hook = self._hook is not None
        return f"Redactor(<{len(self._literals)} secrets>, <{len(self._patterns)} patterns>, hook={hook})"

    def __call__(self, text: str) -> str:
        """``text`` with every secret replaced; ``text`` must already be cleaned (:func:`clean_text`).

        Cleaning first is what makes redaction sound: a secret cut by a NUL, a BEL or an ANSI code would not match
        here and would be joined back together by a later cleaning. The hook's answer is cleaned in turn, and
        searched again if cleaning changed it, for the same reason.
        """
        text = self._replace(text)
        if self._hook is not None:
            hooked = self._hook(text)
            if not isinstance(hooked, str):
                raise TypeError(f"the redaction hook must return a str, it returned {type(hooked).__name__}")
            text = clean_text(hooked)
            if text != hooked:
                text = self._replace(text)
        return text

    def _replace(self, text: str) -> str:
        """The literal secrets and the patterns, replaced."""
        if self._scan:
            # Longest first, as the alternation would: a secret containing another is hidden whole.
            for secret in self._literals:
                if secret in text:
                    text = text.replace(secret, self.placeholder)
        elif self._literal_re is not None:
            text = self._literal_re.sub(self.placeholder, text)
        for pattern in self._patterns:
            text = pattern.sub(self.placeholder, text)
        return text

    def trim_partial(self, head: str) -> str:
        """Drop the end of a *cut* line if it could be the start of a literal secret.

        A line longer than the line limit is cut; if a secret straddles the cut, the part before the cut would not
        match any more and would leak. (Patterns cannot be checked this way; the cut is rare and far from them.)
        """
        for secret in self._literals:
            for size in range(min(len(secret) - 1, len(head)), 0, -1):
                if head.endswith(secret[:size]):
                    head = head[:-size]
                    break
        return head


#: The redactor that changes nothing (what a builder uses when given none).
NO_REDACTION = Redactor()
