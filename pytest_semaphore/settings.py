"""One table of settings for both faces: each value from the command line, else environment, else ini, else default.

Why a table: the pytest plugin spells an option ``--semaphore-timeout`` (with an ini twin ``semaphore_timeout``) and
``semaphore-gate`` spells it ``--timeout`` (it has no ini file), but what the value means, what it accepts, its
default, its environment variable and the message for a bad value must be the same in both. A :class:`Face` gives the
spellings; :data:`FIELDS` gives everything else; :meth:`Settings.resolve` applies the precedence and remembers where
each value came from, so the pytest header can say so and an error can name the exact place to fix.

Validation happens at two moments, on purpose:

* command-line and ini values are checked when the settings are resolved (start-up): a typo in an option is a usage
  error before anything runs;
* environment values are checked when they are *used*: ``SEMAPHORE_ORGANIZATION_URL`` and ``SEMAPHORE_PIPELINE_ID``
  are set in every Semaphore job, whether or not the suite uses the plugin, and a suite that never talks to the API
  must not fail because of them.

Every error is a :class:`SettingsError` naming the option (as the face spells it), where the value came from and
what is accepted. A secret (the API token) is never quoted, in an error, a repr or the header.

``docs/plugin.md`` (configuration reference) documents every field.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from .errors import ConfigurationError

if TYPE_CHECKING:
    from .client import SemaphoreClient
    from .logs import ExcerptOptions
    from .waiting import Pacing

__all__ = [
    "FIELDS",
    "Face",
    "Field",
    "Settings",
    "SettingsError",
    "add_options",
]

#: Where a value came from, as shown in the pytest header and in errors.
Origin = Literal["command line", "environment", "ini", "default"]


class SettingsError(ConfigurationError):
    """A setting's value is unusable. The message names the option as the face spells it, its source, and what is
    accepted; the plugin turns it into a pytest usage error (exit 4), the command into exit 2."""


# --------------------------------------------------------------------------------------------------- parsers
# Each parser turns one text value into the setting's value or raises ValueError with the reason in words. The
# reason may quote the value: parsers of secret fields never do.


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{text!r} is not a finite number > 0")
    return value


def _non_negative_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{text!r} is not a finite number >= 0")
    return value


def _count(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise ValueError(f"{text!r} is negative")
    return value


def _positive(text: str) -> int:
    value = _count(text)
    if value < 1:
        raise ValueError(f"{text!r} is not >= 1")
    return value


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{text!r} is not a yes/no value")


def _url(text: str) -> str:
    from .client.baseurl import normalise_base_url

    try:
        return normalise_base_url(text)
    except ConfigurationError as exc:
        raise ValueError(str(exc)) from None


def _token(text: str) -> str:
    value = text.strip()
    if not value:
        raise ValueError("the token is empty")
    if not value.isascii() or not value.isprintable() or any(c.isspace() for c in value):
        raise ValueError("the token contains whitespace, control or non-ASCII characters (a stray newline?)")
    return value


def _path(text: str) -> str:
    if not text.strip():
        raise ValueError("the path is empty")
    return os.path.expanduser(text.strip())


def _identifier(text: str) -> str:
    value = text.strip()
    if not value:
        raise ValueError("the value is empty")
    if any(c.isspace() or c in "/?#%" for c in value) or not value.isprintable():
        raise ValueError(f"{text!r} is not an id (no spaces, '/', '?', '#' or '%')")
    return value


def _name(text: str) -> str:
    value = text.strip()
    if not value:
        raise ValueError("the name is empty")
    return value


def _parameter(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise ValueError(f"{text!r} is not NAME=VALUE")
    return name.strip(), value


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise ValueError(f"{text!r} is not one of {', '.join(choices)}")
        return value

    return parse


# --------------------------------------------------------------------------------------------------- the table

Kind = Literal["value", "flag", "list"]


# Named tuples rather than dataclasses: every pytest run imports this module once the plugin is installed, and a named
# tuple costs about a seventh of a dataclass to define (bench/plugin_overhead.py measures the whole plugin).


class Field(NamedTuple):
    """One setting: how to read it from text, what it accepts, its default and its environment variable.

    ``kind``: ``value`` (one value), ``flag`` (an option without argument; true/false in ini and env), ``list`` (a
    repeatable option; each occurrence parsed on its own). ``secret`` values are never quoted or shown.
    """

    name: str
    parse: Callable[[str], Any]
    accepted: str
    help: str
    default: Any = None
    env: str | None = None
    kind: Kind = "value"
    metavar: str | None = None
    secret: bool = False


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        # --- connection
        Field(
            "url",
            _url,
            "https://HOST[:PORT] or an organisation name (plain http only for loopback)",
            "Semaphore organisation URL or name",
            env="SEMAPHORE_ORGANIZATION_URL",
            metavar="URL",
        ),
        Field(
            "token",
            _token,
            "an API token without whitespace",
            "API token (visible to other users in `ps`: prefer SEMAPHORE_API_TOKEN or a token file)",
            env="SEMAPHORE_API_TOKEN",
            metavar="TOKEN",
            secret=True,
        ),
        Field(
            "token_file", _path, "a readable file holding the API token", "file holding the API token", metavar="PATH"
        ),
        Field(
            "pipeline",
            _identifier,
            "a pipeline id",
            "the current pipeline (what promotions start from)",
            env="SEMAPHORE_PIPELINE_ID",
            metavar="ID",
        ),
        # --- waiting
        Field(
            "timeout",
            _seconds,
            "a finite number of seconds > 0, e.g. 600",
            "seconds to wait for a pipeline before giving up (default 3600)",
            default=3600.0,
            metavar="SECONDS",
        ),
        Field(
            "patience",
            _non_negative_seconds,
            "a finite number of seconds >= 0, e.g. 300",
            "seconds of API outage tolerated before 'API unavailable' (default 300)",
            default=300.0,
            metavar="SECONDS",
        ),
        Field("fail_fast", _bool, "true or false", "stop waiting at the first failed job", default=False, kind="flag"),
        Field(
            "cancel_on_timeout",
            _bool,
            "true or false",
            "terminate pipelines this run started when a wait times out",
            default=False,
            kind="flag",
        ),
        Field(
            "cancel_on_interrupt",
            _bool,
            "true or false",
            "terminate pipelines this run started on Ctrl-C or SIGTERM",
            default=False,
            kind="flag",
        ),
        # --- logs and reports
        Field(
            "log_lines",
            _positive,
            "a whole number >= 1",
            "lines of a failed job's log shown in excerpts (default 100)",
            default=100,
            metavar="N",
        ),
        Field("log_dir", _path, "a directory path", "directory for failed jobs' full logs", metavar="DIR"),
        Field(
            "attach",
            _choice("failed", "all", "none"),
            "failed, all or none",
            "which tests get job excerpts in the JUnit report (default failed)",
            default="failed",
            metavar="failed|all|none",
        ),
        Field(
            "report", _path, "a file path ending .md or .html", "write a gate summary (.md or .html)", metavar="PATH"
        ),
        Field("json", _path, "a file path", "write a JSON result for the next job", metavar="PATH"),
        # --- session actions
        Field(
            "wait_for",
            _identifier,
            "a pipeline id",
            "wait for this pipeline before any test runs (repeatable)",
            kind="list",
            metavar="ID",
        ),
        Field(
            "promote",
            _name,
            "a promotion name",
            "after a green session, trigger this promotion of the current pipeline (repeatable)",
            kind="list",
            metavar="NAME",
        ),
        Field(
            "promote_parameters",
            _parameter,
            "NAME=VALUE",
            "a parameter for the promotions (repeatable)",
            kind="list",
            metavar="NAME=VALUE",
        ),
        Field(
            "promote_override",
            _bool,
            "true or false",
            "promote even if the pipeline did not pass",
            default=False,
            kind="flag",
        ),
        Field(
            "promote_no_wait",
            _bool,
            "true or false",
            "do not wait for the promoted pipeline",
            default=False,
            kind="flag",
        ),
        Field(
            "promote_force",
            _bool,
            "true or false",
            "trigger again even if the same promotion was already triggered",
            default=False,
            kind="flag",
        ),
        # --- rehearsal
        Field(
            "simulate",
            _bool,
            "true or false",
            "run the session against the embedded Semaphore simulator",
            default=False,
            kind="flag",
        ),
        Field(
            "simulate_scenario",
            _path,
            "a scenario file or a .semaphore folder",
            "scenario for --semaphore-simulate (default: the bundled release train)",
            metavar="PATH",
        ),
    )
}


class Face(NamedTuple):
    """How one face spells the settings it offers: option strings, ini keys, and the argparse ``dest`` prefix.

    Fields absent from ``options`` are not offered on that face's command line; fields absent from ``ini`` have no
    ini twin.
    """

    options: Mapping[str, str]
    ini: Mapping[str, str] = MappingProxyType({})
    dest_prefix: str = "semaphore_"

    @classmethod
    def prefixed(
        cls,
        option_prefix: str,
        names: Iterable[str],
        *,
        ini_prefix: str | None = None,
        ini_names: Iterable[str] = (),
        spelled: Mapping[str, str] | None = None,
        dest_prefix: str = "semaphore_",
    ) -> Face:
        """Options ``option_prefix + name`` (underscores as dashes, or ``spelled[name]``), ini keys
        ``ini_prefix + name``."""
        spelled = spelled or {}
        options = {n: option_prefix + spelled.get(n, n.replace("_", "-")) for n in names}
        ini = {n: f"{ini_prefix}{n}" for n in ini_names} if ini_prefix is not None else {}
        unknown = (set(options) | set(ini)) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        return cls(options=options, ini=ini, dest_prefix=dest_prefix)

    def dest(self, name: str) -> str:
        return self.dest_prefix + name


def add_options(add: Callable[..., Any], face: Face, names: Iterable[str] | None = None) -> None:
    """Register the face's options with ``add`` (argparse's ``add_argument`` or pytest's ``group.addoption``).

    Values are kept as text (flags as ``True``): :meth:`Settings.resolve` parses them, so a bad value gets the same
    message on both faces. ``None`` means "not given", which lets the environment and ini speak.
    """
    for name in names if names is not None else face.options:
        f = FIELDS[name]
        env = f" [env {f.env}]" if f.env else ""
        ini = f" [ini {face.ini[name]}]" if name in face.ini else ""
        common: dict[str, Any] = {"dest": face.dest(name), "default": None, "help": f.help + env + ini}
        if f.kind == "flag":
            add(face.options[name], action="store_true", **common)
        else:
            action = "append" if f.kind == "list" else "store"
            add(face.options[name], action=action, metavar=f.metavar or name.upper(), **common)


# --------------------------------------------------------------------------------------------------- resolution


class _Raw(NamedTuple):
    """A value as given, before (environment) or after (command line, ini) parsing."""

    origin: Origin
    text: Any  # str, list[str] or True (a flag on the command line)
    where: str  # "--semaphore-timeout", "SEMAPHORE_API_TOKEN", "semaphore_timeout in pytest.ini"


class Settings:
    """Resolved settings: ``settings.timeout``, ``settings.source("timeout")``, ``settings.client()``...

    Build with :meth:`resolve`. Values from the command line and ini were validated there; environment values are
    parsed (and may raise :class:`SettingsError`) on first use.
    """

    def __init__(self, raw: Mapping[str, _Raw], face: Face) -> None:
        self._raw = dict(raw)
        self._face = face
        self._cache: dict[str, Any] = {}

    @classmethod
    def resolve(
        cls,
        face: Face,
        *,
        cli: Mapping[str, Any] | object | None = None,
        environ: Mapping[str, str] | None = None,
        ini: Mapping[str, str | None] | None = None,
        ini_file: str = "ini",
    ) -> Settings:
        """Apply command line > environment > ini > default, validating command-line and ini values now.

        ``cli`` is a mapping or an ``argparse.Namespace`` keyed by the face's ``dest`` names (``None``: not given);
        ``ini`` maps field names to their ini text (``None`` or ``""``: not set); ``ini_file`` names the file in
        messages (``pyproject.toml``).
        """
        env = os.environ if environ is None else environ
        values: Mapping[str, Any]
        if cli is None:
            values = {}
        elif isinstance(cli, Mapping):
            values = cli
        else:
            values = vars(cli)
        raw: dict[str, _Raw] = {}
        for name, f in FIELDS.items():
            given = values.get(face.dest(name)) if name in face.options else None
            if given is not None and given is not False and given != []:
                raw[name] = _Raw("command line", given, face.options[name])
            elif f.env and env.get(f.env, "").strip():
                raw[name] = _Raw("environment", env[f.env], f.env)
            elif name in face.ini and (ini or {}).get(name) not in (None, ""):
                text = (ini or {})[name]
                raw[name] = _Raw("ini", text, f"{face.ini[name]} in {ini_file}")
        settings = cls(raw, face)
        for name, value in raw.items():
            if value.origin != "environment":
                settings.get(name)  # validate now
        return settings

    def __repr__(self) -> str:
        shown = {n: ("***" if FIELDS[n].secret else r.text) for n, r in self._raw.items()}
        return f"Settings({shown!r})"

    # ----------------------------------------------------------------------------------------------- access

    def get(self, name: str) -> Any:
        """The value of field ``name`` (parsed once; :class:`SettingsError` if the given text is unusable)."""
        if name in self._cache:
            return self._cache[name]
        f = FIELDS[name]
        raw = self._raw.get(name)
        if raw is None:
            value = list(f.default or ()) if f.kind == "list" else f.default
        elif f.kind == "flag" and raw.text is True:
            value = True
        elif f.kind == "list":
            texts = raw.text if isinstance(raw.text, list) else [raw.text]
            value = [self._parse(f, raw, t) for t in texts]
        else:
            value = self._parse(f, raw, str(raw.text))
        self._cache[name] = value
        return value

    def _parse(self, f: Field, raw: _Raw, text: str) -> Any:
        try:
            return f.parse(text)
        except ValueError as exc:
            reason = "the value is not usable" if f.secret else str(exc)
            raise SettingsError(f"{raw.where} ({raw.origin}): {reason}; accepted: {f.accepted}") from None

    def given(self, name: str) -> bool:
        """Whether the user gave ``name`` anywhere (not just its default)."""
        return name in self._raw

    def origin(self, name: str) -> Origin:
        raw = self._raw.get(name)
        return raw.origin if raw is not None else "default"

    def source(self, name: str) -> str:
        """Where the value came from, for the header: ``default``, ``--semaphore-timeout``, ``env SEMAPHORE_API_TOKEN``,
        ``semaphore_timeout in pytest.ini``."""
        raw = self._raw.get(name)
        if raw is None:
            return "default"
        return f"env {raw.where}" if raw.origin == "environment" else raw.where

    # ----------------------------------------------------------------------------------------------- typed views

    @property
    def url(self) -> str | None:
        value: str | None = self.get("url")
        return value

    @property
    def token(self) -> str | None:
        """The API token: ``--token`` on the command line, else the token file, else ``SEMAPHORE_API_TOKEN``."""
        if self.origin("token") == "command line" or not self.given("token_file"):
            value: str | None = self.get("token")
            return value
        return self._token_from_file()

    def token_source(self) -> str:
        if self.origin("token") == "command line" or not self.given("token_file"):
            return self.source("token")
        return self.source("token_file")

    def _token_from_file(self) -> str:
        if "token_file_value" in self._cache:
            token: str = self._cache["token_file_value"]
            return token
        path = self.get("token_file")
        where = self._raw["token_file"].where
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise SettingsError(f"{where}: cannot read the token file {path!r} ({reason})") from None
        try:
            token = _token(text)
        except ValueError as exc:
            raise SettingsError(f"{where}: the token file {path!r}: {exc}") from None
        self._cache["token_file_value"] = token
        return token

    @property
    def pipeline(self) -> str | None:
        value: str | None = self.get("pipeline")
        return value

    @property
    def timeout(self) -> float:
        return float(self.get("timeout"))

    @property
    def patience(self) -> float:
        return float(self.get("patience"))

    @property
    def log_lines(self) -> int:
        return int(self.get("log_lines"))

    def flag(self, name: str) -> bool:
        """A flag field (``fail_fast``, ``cancel_on_interrupt``, ``promote_force``, ``simulate``...)."""
        if FIELDS[name].kind != "flag":
            raise KeyError(f"{name} is not a flag")
        return bool(self.get(name))

    def path(self, name: str) -> str | None:
        """A path field (``log_dir``, ``report``, ``json``, ``token_file``, ``simulate_scenario``)."""
        value: str | None = self.get(name)
        return value

    def names(self, name: str) -> list[str]:
        """A repeatable field of names or ids (``wait_for``, ``promote``)."""
        return list(self.get(name))

    @property
    def promote_parameters(self) -> dict[str, str]:
        return dict(self.get("promote_parameters"))

    @property
    def attach(self) -> str:
        return str(self.get("attach"))

    # ----------------------------------------------------------------------------------------------- checks

    def require(self, names: Sequence[str], purpose: str) -> None:
        """Raise :class:`SettingsError` unless every field in ``names`` has a value (``token`` counts the token file).

        ``purpose`` says what needs them, e.g. ``"--semaphore-promote"``; the message says how to give each one.
        """
        missing = []
        for name in names:
            present = self.token is not None if name == "token" else self.get(name) not in (None, [])
            if not present:
                missing.append(self._how_to_give(name))
        if missing:
            raise SettingsError(f"{purpose} needs {' and '.join(missing)}")

    def _how_to_give(self, name: str) -> str:
        f = FIELDS[name]
        ways = [w for w in (f.env, self._face.options.get(name)) if w]
        if name == "token" and "token_file" in self._face.options:
            ways.append(self._face.options["token_file"])
        what = {"token": "an API token", "url": "the Semaphore URL", "pipeline": "a pipeline id"}.get(name, name)
        return f"{what} ({' or '.join(ways) or name})"

    # ----------------------------------------------------------------------------------------------- building

    def client(self, **kwargs: Any) -> SemaphoreClient:
        """A :class:`~pytest_semaphore.client.SemaphoreClient` for the configured URL and token.

        :class:`SettingsError` names what is missing; ``kwargs`` go to the client (clocks, retries).
        """
        self.require(("url", "token"), "talking to Semaphore")
        from .client import SemaphoreClient

        url, token = self.url, self.token
        assert url is not None
        assert token is not None
        return SemaphoreClient(url, token, **kwargs)

    def pacing(self, *, speed: float | None = None, **fields: Any) -> Pacing:
        """The waiting engine's :class:`~pytest_semaphore.waiting.Pacing` with the configured patience.

        ``speed`` (simulated seconds per real second) gives a real clock scaled for a simulator that runs faster
        than real time; ``fields`` override the pacing's own (``sleep``, ``monotonic``, ``budget``...).
        """
        from .waiting import Pacing

        fields.setdefault("patience", self.patience)
        if speed is not None:
            return Pacing.at_speed(speed, **fields)
        return Pacing(**fields)

    def wait_options(self) -> dict[str, bool]:
        """The keyword arguments of every wait that come from the settings: ``fail_fast``, ``cancel_on_timeout``,
        ``cancel_on_interrupt``. One place, so a wait behaves the same in a fixture and in ``semaphore-gate``."""
        return {name: self.flag(name) for name in ("fail_fast", "cancel_on_timeout", "cancel_on_interrupt")}

    def excerpt_options(self, **fields: Any) -> ExcerptOptions:
        """The :class:`~pytest_semaphore.logs.ExcerptOptions` for ``log_lines`` and ``log_dir``; ``fields`` add
        the rest (a redaction ``hook``, ``patterns``)."""
        from .logs import ExcerptOptions

        return ExcerptOptions(tail_lines=self.log_lines, log_dir=self.path("log_dir"), **fields)

    # ----------------------------------------------------------------------------------------------- header

    def describe(self) -> list[str]:
        """Lines for a header: the URL and where each given value came from. Never the token itself; an environment
        value that does not parse is shown as unusable rather than raising (the error comes when it is used)."""
        lines = []
        try:
            url = self.url
        except SettingsError:
            url = "(unusable)"
        lines.append(f"url: {url or '(not set)'} ({self.source('url')})")
        try:
            has_token = self.token is not None
        except SettingsError:
            has_token = True
        lines.append(f"token: {'set' if has_token else 'not set'} ({self.token_source()})")
        for name in FIELDS:
            if name in ("url", "token", "token_file") or not self.given(name):
                continue
            try:
                value = self.get(name)
            except SettingsError:
                value = "(unusable)"
            if isinstance(value, list):
                value = ", ".join("=".join(v) if isinstance(v, tuple) else str(v) for v in value)
            lines.append(f"{name.replace('_', ' ')}: {value} ({self.source(name)})")
        return lines
