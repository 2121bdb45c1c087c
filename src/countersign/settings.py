"""Settings shared by ``countersign serve`` and every other command.

Each setting is declared once, as a field of :class:`Settings`: its type, its bounds
and the ``COUNTERSIGN_*`` variable it is read from (by pydantic-settings). Flags,
passed to :func:`load_settings` as overrides, win over the variables, which win over
the defaults. Everything is checked when loaded, so a typo fails at start with a
message naming the variable and what it allows, not at the first request.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Final

import annotated_types
from pydantic import AfterValidator, BeforeValidator, Field, GetCoreSchemaHandler, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import CoreSchema, PydanticCustomError, core_schema
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import SettingsError as SourceError

from .core import Secret


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/countersign``, read from ``environ`` (default ``os.environ``)."""
    env = os.environ if environ is None else environ
    return Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "countersign"


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_proxies(value: str) -> tuple[Network, ...]:
    """Comma-separated addresses or networks (``10.0.0.0/8, ::1``) as networks."""
    try:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in value.split(",")
            if part.strip()
        )
    except ValueError as error:
        raise SettingsError(f"COUNTERSIGN_TRUSTED_PROXIES: {error}") from None


#: Retention bounds, in days: 0 would remove what was just delivered, and ten years
#: is past any log anyone keeps in an outbox.
MIN_RETENTION_DAYS: Final = 1
MAX_RETENTION_DAYS: Final = 3650

#: Bounds of the slow-client limits: under 0.1 s a healthy client on a slow link would
#: be cut; over 10 minutes the limit no longer protects anything.
MIN_REQUEST_TIMEOUT: Final = 0.1
MAX_REQUEST_TIMEOUT: Final = 600.0

# Types of settings: what the variable's text becomes, and what is checked. -----------


class _Unit:
    """A duration whose variable is a count of ``name`` (hours, days); ``whole``: an integer.

    A duration given in Python is a :class:`~datetime.timedelta` and taken as it is;
    only text, a variable's value, is read as a count. The bounds are the field's
    ``ge``/``le``, and :func:`_allowed` tells them in this unit.
    """

    def __init__(self, name: str, size: timedelta, *, whole: bool) -> None:
        self.name, self.size, self.whole = name, size, whole

    def parse(self, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            number: float = int(value) if self.whole else float(value)
        except ValueError:
            kind = "int_parsing" if self.whole else "float_parsing"
            raise PydanticCustomError(kind, "not a number") from None
        try:
            return self.size * number
        except (ValueError, OverflowError):  # nan, inf, or past what a timedelta holds
            raise PydanticCustomError("out_of_range", "out of range") from None

    def count(self, duration: timedelta, *, at_least: bool) -> float:
        """``duration`` in this unit: for a whole unit, the nearest count within bounds."""
        number = duration / self.size
        if self.whole:
            return math.ceil(number) if at_least else math.floor(number)
        return number

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self.parse, handler(source))


def _secret(value: object) -> object:
    return Secret(value) if isinstance(value, str) else value


def _switch(value: object) -> object:
    # As ever: 1, true, yes or on (any case) is on; any other word is off.
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return value


def _proxies(value: object) -> object:
    return parse_proxies(value) if isinstance(value, str) else value


def _with_driver(url: str) -> str:
    """``url`` with the driver Countersign uses for it (psycopg for PostgreSQL)."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


def _database_url(url: str) -> str:
    if not _with_driver(url).startswith(("sqlite", "postgresql+psycopg://")):
        raise ValueError("the database URL must be sqlite:///PATH or postgresql://…")
    return url


def _redis_url(url: str) -> str:
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("the Redis URL must start with redis://, rediss:// or unix://")
    return url


DatabaseUrl = Annotated[str, AfterValidator(_database_url)]
RedisUrl = Annotated[str, AfterValidator(_redis_url)]
MasterKey = Annotated[Secret, BeforeValidator(_secret)]
Proxies = Annotated[tuple[Network, ...], NoDecode, BeforeValidator(_proxies)]
Switch = Annotated[bool, BeforeValidator(_switch)]
WholeHours = Annotated[timedelta, _Unit("hours", timedelta(hours=1), whole=True)]
Hours = Annotated[timedelta, _Unit("hours", timedelta(hours=1), whole=False)]
WholeDays = Annotated[timedelta, _Unit("days", timedelta(days=1), whole=True)]

_MIN_RETENTION: Final = timedelta(days=MIN_RETENTION_DAYS)
_MAX_RETENTION: Final = timedelta(days=MAX_RETENTION_DAYS)

#: The variables Settings() reads: os.environ when None (pydantic-settings' own
#: source), else the mapping given to load_settings, while it runs.
_environ: ContextVar[Mapping[str, str] | None] = ContextVar("countersign_environ", default=None)


@contextmanager
def _reading(environ: Mapping[str, str] | None) -> Iterator[None]:
    token = _environ.set(environ)
    try:
        yield
    finally:
        _environ.reset(token)


def _default_data_dir() -> Path:
    return default_data_dir(_environ.get())


class Settings(BaseSettings):
    """Every setting, with its variable (``validation_alias``). Immutable.

    Make them with :func:`load_settings`, which turns a bad value into a
    :class:`SettingsError`, and change them with :meth:`with_overrides`.
    """

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        validate_by_name=True,  # overrides name the field, the environment the variable
        validate_by_alias=True,
        case_sensitive=True,
        env_ignore_empty=True,  # COUNTERSIGN_X= is unset, as ever
        allow_inf_nan=False,
        arbitrary_types_allowed=True,  # Secret
        hide_input_in_errors=True,  # a URL may hold a password
    )

    data_dir: Path = Field(
        default_factory=_default_data_dir, validation_alias="COUNTERSIGN_DATA_DIR"
    )
    database_url: DatabaseUrl | None = Field(None, validation_alias="COUNTERSIGN_DATABASE_URL")
    redis_url: RedisUrl | None = Field(None, validation_alias="COUNTERSIGN_REDIS_URL")
    master_key: MasterKey | None = Field(None, validation_alias="COUNTERSIGN_MASTER_KEY")
    host: str = Field("127.0.0.1", min_length=1, validation_alias="COUNTERSIGN_HOST")
    port: int = Field(8250, ge=1, le=65535, validation_alias="COUNTERSIGN_PORT")
    workers: int = Field(1, ge=1, le=64, validation_alias="COUNTERSIGN_WORKERS")
    session_ttl: WholeHours = Field(
        timedelta(hours=24),
        ge=timedelta(seconds=1),  # the variable counts whole hours; tests use seconds
        le=timedelta(days=90),
        validation_alias="COUNTERSIGN_SESSION_TTL_HOURS",
    )
    # Addresses (or networks) of reverse proxies whose X-Forwarded-For we believe.
    trusted_proxies: Proxies = Field((), validation_alias="COUNTERSIGN_TRUSTED_PROXIES")
    max_body_bytes: int = Field(
        64 * 1024, ge=1024, le=64 * 1024 * 1024, validation_alias="COUNTERSIGN_MAX_BODY_BYTES"
    )
    # New anonymous (or unverified) visitors, and conversations started by them, per
    # client address and minute: a flood of fake visitors never reaches the inbox.
    anonymous_per_minute: int = Field(
        30, ge=1, le=1_000_000, validation_alias="COUNTERSIGN_ANONYMOUS_PER_MINUTE"
    )
    demo: Switch = Field(False, validation_alias="COUNTERSIGN_DEMO")
    # Webhook delivery: retry n waits about base * 2**(n-1) seconds (capped, jittered);
    # a delivery is dead after max_attempts or once its event is max_age old.
    webhook_backoff_base: float = Field(
        10.0, ge=0.001, le=86400.0, validation_alias="COUNTERSIGN_WEBHOOK_BACKOFF_BASE_SECONDS"
    )
    webhook_backoff_cap: float = Field(
        3600.0,
        ge=0.001,
        le=7 * 86400.0,
        validation_alias="COUNTERSIGN_WEBHOOK_BACKOFF_CAP_SECONDS",
    )
    webhook_max_attempts: int = Field(
        25, ge=1, le=100, validation_alias="COUNTERSIGN_WEBHOOK_MAX_ATTEMPTS"
    )
    webhook_max_age: Hours = Field(
        timedelta(hours=72),
        ge=timedelta(hours=0.001),
        le=timedelta(days=30),
        validation_alias="COUNTERSIGN_WEBHOOK_MAX_AGE_HOURS",
    )
    # How soon events enqueued on other nodes go out.
    webhook_poll_seconds: float = Field(
        1.0, ge=0.01, le=60.0, validation_alias="COUNTERSIGN_WEBHOOK_POLL_SECONDS"
    )
    # How long verification-log entries, settled webhook events (with their delivery
    # log) and action calls are kept before the hourly prune removes them. Open
    # deliveries are never removed.
    verification_log_retention: WholeDays = Field(
        timedelta(days=90),
        ge=_MIN_RETENTION,
        le=_MAX_RETENTION,
        validation_alias="COUNTERSIGN_VERIFICATION_LOG_RETENTION_DAYS",
    )
    webhook_retention: WholeDays = Field(
        timedelta(days=30),
        ge=_MIN_RETENTION,
        le=_MAX_RETENTION,
        validation_alias="COUNTERSIGN_WEBHOOK_RETENTION_DAYS",
    )
    action_log_retention: WholeDays = Field(
        timedelta(days=30),
        ge=_MIN_RETENTION,
        le=_MAX_RETENTION,
        validation_alias="COUNTERSIGN_ACTION_LOG_RETENTION_DAYS",
    )
    # Dashboard passwords: an argon2 check holds its memory cost (64 MiB) while it runs,
    # so no more run at once than the cores and this much memory allow; the others wait
    # up to password_check_wait seconds for a turn, then get 429 (dashboard/password_gate.py).
    password_memory_mib: int = Field(
        256, ge=1, le=65536, validation_alias="COUNTERSIGN_PASSWORD_MEMORY_MIB"
    )
    password_check_wait: float = Field(
        3.0, ge=0.0, le=30.0, validation_alias="COUNTERSIGN_PASSWORD_CHECK_WAIT_SECONDS"
    )
    # A connection is closed when its request headers are not complete this long after
    # it opened (or after its previous response), or when a request body it is sending
    # brings no byte for this long (server/slow_clients.py). WebSockets are exempt.
    request_header_timeout: float = Field(
        10.0,
        ge=MIN_REQUEST_TIMEOUT,
        le=MAX_REQUEST_TIMEOUT,
        validation_alias="COUNTERSIGN_REQUEST_HEADER_TIMEOUT_SECONDS",
    )
    request_body_timeout: float = Field(
        10.0,
        ge=MIN_REQUEST_TIMEOUT,
        le=MAX_REQUEST_TIMEOUT,
        validation_alias="COUNTERSIGN_REQUEST_BODY_TIMEOUT_SECONDS",
    )
    # Bounds of what callers can make the process remember (each an LRU): app ids that
    # name no app, and the keys of each failure limiter (client address, identifier).
    unknown_app_cache_size: int = Field(
        10_000, ge=1, le=10_000_000, validation_alias="COUNTERSIGN_UNKNOWN_APP_CACHE_SIZE"
    )
    rate_limit_keys: int = Field(
        100_000, ge=100, le=10_000_000, validation_alias="COUNTERSIGN_RATE_LIMIT_KEYS"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Overrides, then the variables: os.environ's, or those of the mapping given to
        # load_settings. No .env file and no secrets directory.
        environ = _environ.get()
        return (init_settings, env_settings if environ is None else _MappingSource(cls, environ))

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Each setting's ``COUNTERSIGN_*`` variable, by field name."""
        return {name: _variable(field) for name, field in cls.model_fields.items()}

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the driver Countersign uses for it."""
        return _with_driver(self.database_url or f"sqlite:///{self.data_dir / 'countersign.db'}")

    def with_overrides(self, **overrides: Any) -> Settings:
        """These settings changed by ``overrides`` (``None`` changes nothing), checked."""
        given = _given(overrides)
        if not given:
            return self
        current = {name: getattr(self, name) for name in type(self).model_fields}
        with _reading({}):  # every setting is given: no variable is read
            return _checked(current | given)

    def __repr__(self) -> str:
        # master_key is a Secret, so its repr is already masked; the URLs may hold
        # passwords, so show only their scheme.
        return (
            f"Settings(data_dir={self.data_dir}, database={_scheme(self.sqlalchemy_url)}, "
            f"redis={_scheme(self.redis_url)}, master_key={self.master_key!r}, "
            f"host={self.host}, port={self.port}, workers={self.workers})"
        )

    def __str__(self) -> str:
        return repr(self)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # What pydantic's other renderings (rich, devtools) show: no URL's password.
        for name in type(self).model_fields:
            value = getattr(self, name)
            yield name, _scheme(value) if name.endswith("_url") else value


def _scheme(url: str | None) -> str | None:
    return url.split(":", 1)[0] + "://…" if url else None


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading ``environ`` instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    # The one method that reads os.environ (pydantic-settings' .env source overrides it
    # the same way); tests/test_settings.py checks that a given mapping is all that is read.
    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name: value for name, value in self._environ.items() if value}


def _variable(field: FieldInfo) -> str:
    assert isinstance(field.validation_alias, str)  # every setting names its variable
    return field.validation_alias


_SETTING_OF: Final = {variable: name for name, variable in Settings.variables().items()}


def _given(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides that set something: ``None`` is a flag not given."""
    if unknown := overrides.keys() - Settings.model_fields.keys():
        raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
    return {name: value for name, value in overrides.items() if value is not None}


def _checked(values: Mapping[str, Any]) -> Settings:
    """Settings with ``values`` (by field name) over the variables being read."""
    try:
        return Settings(**values)
    except ValidationError as error:
        raise SettingsError("; ".join(_messages(error))) from None
    except SourceError as error:  # a variable pydantic-settings could not decode
        raise SettingsError(str(error)) from None


_RANGE_ERRORS: Final = frozenset(
    {
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "finite_number",
        "out_of_range",
    }
)


def _messages(error: ValidationError) -> Iterator[str]:
    """One message per problem, naming the variable; never a URL's or key's value."""
    for problem in error.errors(include_url=False):
        key = str(problem["loc"][0]) if problem["loc"] else ""
        field = Settings.model_fields.get(_SETTING_OF.get(key, key))
        if field is None:
            yield problem["msg"]
            continue
        variable, kind = _variable(field), problem["type"]
        cause = problem.get("ctx", {}).get("error")
        if kind in ("int_parsing", "int_from_float", "int_type"):
            yield f"{variable} must be a whole number, not {problem.get('input')!r}"
        elif kind in ("float_parsing", "float_type"):
            yield f"{variable} must be a number, not {problem.get('input')!r}"
        elif kind in _RANGE_ERRORS:
            yield f"{variable} must be {_allowed(field)}"
        elif isinstance(cause, SettingsError):
            yield str(cause)  # it names the variable already
        elif cause is not None:
            yield f"{variable}: {cause}"
        else:  # pydantic's own words, without the value
            yield f"{variable}: {problem['msg']}"


def _allowed(field: FieldInfo) -> str:
    """``between LOW and HIGH``: the field's bounds, in its variable's unit."""
    unit = next((item for item in field.metadata if isinstance(item, _Unit)), None)
    low: Any = next(item.ge for item in field.metadata if isinstance(item, annotated_types.Ge))
    high: Any = next(item.le for item in field.metadata if isinstance(item, annotated_types.Le))
    if unit is not None:
        low, high = unit.count(low, at_least=True), unit.count(high, at_least=False)
    return f"between {_number(low)} and {_number(high)}"


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from ``environ`` (``os.environ`` when None; when given, only it is read)
    and explicit overrides (flags; ``None`` is a flag not given), which win."""
    given = _given(overrides)
    with _reading(environ):
        return _checked(given)
