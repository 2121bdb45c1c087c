"""Settings shared by ``countersign serve`` and every other command.

Flags win over ``COUNTERSIGN_*`` variables, which win over defaults. Everything is
checked when loaded, so a typo fails at start with a message, not at the first request.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from .core import Secret


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


def default_data_dir() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "countersign"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str | None = None
    redis_url: str | None = None
    master_key: Secret | None = None
    host: str = "127.0.0.1"
    port: int = 8250
    workers: int = 1
    session_ttl: timedelta = timedelta(hours=24)
    # Addresses (or networks) of reverse proxies whose X-Forwarded-For we believe.
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    max_body_bytes: int = 64 * 1024
    # New anonymous (or unverified) visitors, and conversations started by them, per
    # client address and minute: a flood of fake visitors never reaches the inbox.
    anonymous_per_minute: int = 30
    demo: bool = False
    # Webhook delivery: retry n waits about base * 2**(n-1) seconds (capped, jittered);
    # a delivery is dead after max_attempts or once its event is max_age old.
    webhook_backoff_base: float = 10.0
    webhook_backoff_cap: float = 3600.0
    webhook_max_attempts: int = 25
    webhook_max_age: timedelta = timedelta(hours=72)
    webhook_poll_seconds: float = 1.0  # how soon events enqueued on other nodes go out
    # How long settled webhook events (with their delivery log) and action calls are
    # kept before the hourly prune removes them. Open deliveries are never removed.
    verification_log_retention: timedelta = timedelta(days=90)
    webhook_retention: timedelta = timedelta(days=30)
    action_log_retention: timedelta = timedelta(days=30)
    # Dashboard passwords: an argon2 check holds its memory cost (64 MiB) while it runs,
    # so no more run at once than the cores and this much memory allow; the others wait
    # up to password_check_wait seconds for a turn, then get 429 (dashboard/password_gate.py).
    password_memory_mib: int = 256
    password_check_wait: float = 3.0
    # A connection is closed when its request headers are not complete this long after
    # it opened (or after its previous response), or when a request body it is sending
    # brings no byte for this long (server/slow_clients.py). WebSockets are exempt.
    request_header_timeout: float = 10.0
    request_body_timeout: float = 10.0
    # Bounds of what callers can make the process remember (each an LRU): app ids that
    # name no app, and the keys of each failure limiter (client address, identifier).
    unknown_app_cache_size: int = 10_000
    rate_limit_keys: int = 100_000

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the driver Countersign uses for it."""
        url = self.database_url or f"sqlite:///{self.data_dir / 'countersign.db'}"
        for scheme in ("postgresql://", "postgres://"):
            if url.startswith(scheme):
                return "postgresql+psycopg://" + url.removeprefix(scheme)
        return url

    def with_overrides(self, **overrides: Any) -> Settings:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def __repr__(self) -> str:
        # master_key is a Secret, so its repr is already masked; the URLs may hold
        # passwords, so show only their scheme.
        def scheme(url: str | None) -> str | None:
            return url.split(":", 1)[0] + "://…" if url else None

        return (
            f"Settings(data_dir={self.data_dir}, database={scheme(self.sqlalchemy_url)}, "
            f"redis={scheme(self.redis_url)}, master_key={self.master_key!r}, "
            f"host={self.host}, port={self.port}, workers={self.workers})"
        )


def _int(name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {value!r}") from None
    if not low <= number <= high:
        raise SettingsError(f"{name} must be between {low} and {high}")
    return number


def _float(name: str, value: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {value!r}") from None
    if not low <= number <= high:  # also refuses nan
        raise SettingsError(f"{name} must be between {low:g} and {high:g}")
    return number


def _webhook_values(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    floats = {
        "webhook_backoff_base": ("COUNTERSIGN_WEBHOOK_BACKOFF_BASE_SECONDS", 0.001, 86400.0),
        "webhook_backoff_cap": ("COUNTERSIGN_WEBHOOK_BACKOFF_CAP_SECONDS", 0.001, 7 * 86400.0),
        "webhook_poll_seconds": ("COUNTERSIGN_WEBHOOK_POLL_SECONDS", 0.01, 60.0),
    }
    for field_name, (name, low, high) in floats.items():
        if value := env.get(name):
            values[field_name] = _float(name, value, low, high)
    if value := env.get("COUNTERSIGN_WEBHOOK_MAX_ATTEMPTS"):
        values["webhook_max_attempts"] = _int("COUNTERSIGN_WEBHOOK_MAX_ATTEMPTS", value, 1, 100)
    if value := env.get("COUNTERSIGN_WEBHOOK_MAX_AGE_HOURS"):
        hours = _float("COUNTERSIGN_WEBHOOK_MAX_AGE_HOURS", value, 0.001, 24 * 30)
        values["webhook_max_age"] = timedelta(hours=hours)
    return values


#: Retention bounds, in days: 0 would remove what was just delivered, and ten years
#: is past any log anyone keeps in an outbox.
MIN_RETENTION_DAYS: Final = 1
MAX_RETENTION_DAYS: Final = 3650


def _retention_days(name: str, value: str) -> timedelta:
    return timedelta(days=_int(name, value, MIN_RETENTION_DAYS, MAX_RETENTION_DAYS))


def _retention_values(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if value := env.get("COUNTERSIGN_VERIFICATION_LOG_RETENTION_DAYS"):
        values["verification_log_retention"] = _retention_days(
            "COUNTERSIGN_VERIFICATION_LOG_RETENTION_DAYS", value
        )
    if value := env.get("COUNTERSIGN_WEBHOOK_RETENTION_DAYS"):
        values["webhook_retention"] = _retention_days("COUNTERSIGN_WEBHOOK_RETENTION_DAYS", value)
    if value := env.get("COUNTERSIGN_ACTION_LOG_RETENTION_DAYS"):
        values["action_log_retention"] = _retention_days(
            "COUNTERSIGN_ACTION_LOG_RETENTION_DAYS", value
        )
    return values


def _password_values(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if value := env.get("COUNTERSIGN_PASSWORD_MEMORY_MIB"):
        values["password_memory_mib"] = _int("COUNTERSIGN_PASSWORD_MEMORY_MIB", value, 1, 65536)
    if value := env.get("COUNTERSIGN_PASSWORD_CHECK_WAIT_SECONDS"):
        values["password_check_wait"] = _float(
            "COUNTERSIGN_PASSWORD_CHECK_WAIT_SECONDS", value, 0.0, 30.0
        )
    return values


#: Bounds of the slow-client limits: under 0.1 s a healthy client on a slow link would
#: be cut; over 10 minutes the limit no longer protects anything.
MIN_REQUEST_TIMEOUT: Final = 0.1
MAX_REQUEST_TIMEOUT: Final = 600.0


def _request_values(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field_name, name in (
        ("request_header_timeout", "COUNTERSIGN_REQUEST_HEADER_TIMEOUT_SECONDS"),
        ("request_body_timeout", "COUNTERSIGN_REQUEST_BODY_TIMEOUT_SECONDS"),
    ):
        if value := env.get(name):
            values[field_name] = _float(name, value, MIN_REQUEST_TIMEOUT, MAX_REQUEST_TIMEOUT)
    return values


def _memory_values(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if value := env.get("COUNTERSIGN_UNKNOWN_APP_CACHE_SIZE"):
        values["unknown_app_cache_size"] = _int(
            "COUNTERSIGN_UNKNOWN_APP_CACHE_SIZE", value, 1, 10_000_000
        )
    if value := env.get("COUNTERSIGN_RATE_LIMIT_KEYS"):
        values["rate_limit_keys"] = _int("COUNTERSIGN_RATE_LIMIT_KEYS", value, 100, 10_000_000)
    return values


def parse_proxies(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in value.split(",")
            if part.strip()
        )
    except ValueError as error:
        raise SettingsError(f"COUNTERSIGN_TRUSTED_PROXIES: {error}") from None


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from ``environ`` (default ``os.environ``) and explicit overrides."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    if data_dir := env.get("COUNTERSIGN_DATA_DIR"):
        values["data_dir"] = Path(data_dir)
    if url := env.get("COUNTERSIGN_DATABASE_URL"):
        values["database_url"] = url
    if url := env.get("COUNTERSIGN_REDIS_URL"):
        values["redis_url"] = url
    if key := env.get("COUNTERSIGN_MASTER_KEY"):
        values["master_key"] = Secret(key)
    if hours := env.get("COUNTERSIGN_SESSION_TTL_HOURS"):
        values["session_ttl"] = timedelta(
            hours=_int("COUNTERSIGN_SESSION_TTL_HOURS", hours, 1, 24 * 90)
        )
    if proxies := env.get("COUNTERSIGN_TRUSTED_PROXIES"):
        values["trusted_proxies"] = parse_proxies(proxies)
    if value := env.get("COUNTERSIGN_ANONYMOUS_PER_MINUTE"):
        values["anonymous_per_minute"] = _int(
            "COUNTERSIGN_ANONYMOUS_PER_MINUTE", value, 1, 1_000_000
        )
    if demo := env.get("COUNTERSIGN_DEMO"):
        values["demo"] = demo.strip().lower() in ("1", "true", "yes", "on")
    values.update(_webhook_values(env))
    values.update(_retention_values(env))
    values.update(_password_values(env))
    values.update(_request_values(env))
    values.update(_memory_values(env))
    settings = Settings(**values).with_overrides(**overrides)
    if settings.database_url and not settings.sqlalchemy_url.startswith(
        ("sqlite", "postgresql+psycopg://")
    ):
        raise SettingsError("the database URL must be sqlite:///PATH or postgresql://…")
    if settings.redis_url and not settings.redis_url.startswith(
        ("redis://", "rediss://", "unix://")
    ):
        raise SettingsError("the Redis URL must start with redis://, rediss:// or unix://")
    if not 1 <= settings.port <= 65535:
        raise SettingsError("the port must be between 1 and 65535")
    return settings
