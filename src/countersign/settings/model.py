"""The settings, declared once: :class:`Settings`, and :func:`load_settings`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import SettingsError as SourceError

from .kinds import (
    MAX_REQUEST_TIMEOUT,
    MAX_RETENTION_DAYS,
    MIN_REQUEST_TIMEOUT,
    MIN_RETENTION_DAYS,
    DatabaseUrl,
    Domain,
    Hours,
    MasterKey,
    Proxies,
    RedisUrl,
    SettingsError,
    SmtpUrl,
    Switch,
    Token,
    WholeDays,
    WholeHours,
    with_driver,
)
from .messages import messages, variable_of
from .reading import MappingSource, data_dir_default, environ_read, reading

_MIN_RETENTION: Final = timedelta(days=MIN_RETENTION_DAYS)
_MAX_RETENTION: Final = timedelta(days=MAX_RETENTION_DAYS)


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
        default_factory=data_dir_default, validation_alias="COUNTERSIGN_DATA_DIR"
    )
    database_url: DatabaseUrl | None = Field(None, validation_alias="COUNTERSIGN_DATABASE_URL")
    # Attachments' bytes in this directory instead of the database (docs/attachments.md):
    # every node must mount the same one.
    attachments_dir: Path | None = Field(None, validation_alias="COUNTERSIGN_ATTACHMENTS_DIR")
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
    # How often each node wakes the snoozed conversations whose time came: a snooze
    # ends within this long of its time.
    snooze_poll_seconds: float = Field(
        5.0, ge=0.05, le=300.0, validation_alias="COUNTERSIGN_SNOOZE_POLL_SECONDS"
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
    # How long a one-time link to join the team (set a password) stays usable
    # (operators/team.py): long enough to cross a weekend, short enough that a link
    # forgotten in a mailbox soon opens nothing.
    invitation_ttl: WholeHours = Field(
        timedelta(hours=72),
        ge=timedelta(hours=1),
        le=timedelta(days=30),
        validation_alias="COUNTERSIGN_INVITATION_TTL_HOURS",
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
    # plain: for people; json: one object per line (server/json_logs.py).
    log_format: Literal["plain", "json"] = Field("plain", validation_alias="COUNTERSIGN_LOG_FORMAT")
    # /metrics on the main port answers only with this bearer token (404 without it).
    metrics_token: Token | None = Field(None, validation_alias="COUNTERSIGN_METRICS_TOKEN")
    # Or on a port of its own, bound to 127.0.0.1, without a token.
    metrics_port: int | None = Field(
        None, ge=1, le=65535, validation_alias="COUNTERSIGN_METRICS_PORT"
    )

    # Email (SPEC 12, docs/email.md). Outbound through a relay: smtp:// (STARTTLS when
    # the relay offers it) or smtps:// (implicit TLS); without it nothing is mailed.
    smtp_url: SmtpUrl | None = Field(None, validation_alias="COUNTERSIGN_SMTP_URL")
    mail_from: str = Field(
        "countersign@localhost", min_length=3, max_length=320,
        validation_alias="COUNTERSIGN_MAIL_FROM",
    )  # fmt: skip
    # Replies come back to reply+TOKEN@ and new mail to support+APP@ this domain.
    inbound_domain: Domain | None = Field(None, validation_alias="COUNTERSIGN_INBOUND_DOMAIN")
    # The built-in SMTP receiver (``serve --smtp-port``), and its limits.
    smtp_port: int | None = Field(None, ge=1, le=65535, validation_alias="COUNTERSIGN_SMTP_PORT")
    smtp_max_message_bytes: int = Field(
        25 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024,
        validation_alias="COUNTERSIGN_SMTP_MAX_MESSAGE_BYTES",
    )  # fmt: skip
    smtp_max_recipients: int = Field(
        20, ge=1, le=1000, validation_alias="COUNTERSIGN_SMTP_MAX_RECIPIENTS"
    )
    smtp_max_connections: int = Field(
        100, ge=1, le=100_000, validation_alias="COUNTERSIGN_SMTP_MAX_CONNECTIONS"
    )
    # Mail retries: as webhooks' (base * 2**(n-1) seconds, capped), dead after this many.
    mail_backoff_base: float = Field(
        30.0, ge=0.001, le=86400.0, validation_alias="COUNTERSIGN_MAIL_BACKOFF_BASE_SECONDS"
    )
    mail_max_attempts: int = Field(
        12, ge=1, le=100, validation_alias="COUNTERSIGN_MAIL_MAX_ATTEMPTS"
    )
    # How often the mail worker looks for due mail, and each node writes which widgets
    # and dashboards it holds open (storage/presence.py).
    mail_poll_seconds: float = Field(
        1.0, ge=0.01, le=60.0, validation_alias="COUNTERSIGN_MAIL_POLL_SECONDS"
    )
    presence_seconds: float = Field(
        5.0, ge=0.05, le=300.0, validation_alias="COUNTERSIGN_PRESENCE_SECONDS"
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
        environ = environ_read()
        return (init_settings, env_settings if environ is None else MappingSource(cls, environ))

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Each setting's ``COUNTERSIGN_*`` variable, by field name."""
        return {name: variable_of(field) for name, field in cls.model_fields.items()}

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the driver Countersign uses for it."""
        return with_driver(self.database_url or f"sqlite:///{self.data_dir / 'countersign.db'}")

    def with_overrides(self, **overrides: Any) -> Settings:
        """These settings changed by ``overrides`` (``None`` changes nothing), checked."""
        given = _given(overrides)
        if not given:
            return self
        current = {name: getattr(self, name) for name in type(self).model_fields}
        with reading({}):  # every setting is given: no variable is read
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
        raise SettingsError("; ".join(messages(error, Settings.model_fields))) from None
    except SourceError as error:  # a variable pydantic-settings could not decode
        raise SettingsError(str(error)) from None


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from ``environ`` (``os.environ`` when None; when given, only it is read)
    and explicit overrides (flags; ``None`` is a flag not given), which win."""
    given = _given(overrides)
    with reading(environ):
        return _checked(given)
