"""What a setting's variable text becomes, and what is checked of it: the field types.

The bounds themselves are on the fields of :class:`~countersign.settings.Settings`;
here are the units (hours, days), switches, secrets, URLs and proxy networks.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BeforeValidator, GetCoreSchemaHandler
from pydantic_core import CoreSchema, PydanticCustomError, core_schema
from pydantic_settings import NoDecode

from ..core import Secret


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
MIN_TOKEN_CHARS: Final = 16
MIN_REQUEST_TIMEOUT: Final = 0.1
MAX_REQUEST_TIMEOUT: Final = 600.0

# Types of settings: what the variable's text becomes, and what is checked. -----------


class Unit:
    """A duration whose variable is a count of ``name`` (hours, days); ``whole``: an integer.

    A duration given in Python is a :class:`~datetime.timedelta` and taken as it is;
    only text, a variable's value, is read as a count. The bounds are the field's
    ``ge``/``le``, and :func:`.messages.allowed` tells them in this unit.
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


def with_driver(url: str) -> str:
    """``url`` with the driver Countersign uses for it (psycopg for PostgreSQL)."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


def _database_url(url: str) -> str:
    if not with_driver(url).startswith(("sqlite", "postgresql+psycopg://")):
        raise ValueError("the database URL must be sqlite:///PATH or postgresql://…")
    return url


def _redis_url(url: str) -> str:
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("the Redis URL must start with redis://, rediss:// or unix://")
    return url


_HOST_NAME: Final = re.compile(
    r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
)


def _smtp_url(url: str) -> str:
    if not url.startswith(("smtp://", "smtps://")):
        raise ValueError("the SMTP URL must be smtp://[user:password@]host[:port] or smtps://…")
    return url


def _domain(value: str) -> str:
    value = value.strip().lower()
    if _HOST_NAME.fullmatch(value) is None:
        raise ValueError("the inbound domain must be a host name such as mail.example.com")
    return value


DatabaseUrl = Annotated[str, AfterValidator(_database_url)]
SmtpUrl = Annotated[str, AfterValidator(_smtp_url)]
Domain = Annotated[str, AfterValidator(_domain)]
RedisUrl = Annotated[str, AfterValidator(_redis_url)]
MasterKey = Annotated[Secret, BeforeValidator(_secret)]


def _long_enough(value: Secret) -> Secret:
    if len(value.reveal()) < MIN_TOKEN_CHARS:
        raise ValueError(f"a token has at least {MIN_TOKEN_CHARS} characters")
    return value


#: A bearer token an operator sets (the metrics token): guessable ones are refused.
Token = Annotated[Secret, BeforeValidator(_secret), AfterValidator(_long_enough)]
Proxies = Annotated[tuple[Network, ...], NoDecode, BeforeValidator(_proxies)]
Switch = Annotated[bool, BeforeValidator(_switch)]
WholeHours = Annotated[timedelta, Unit("hours", timedelta(hours=1), whole=True)]
Hours = Annotated[timedelta, Unit("hours", timedelta(hours=1), whole=False)]
WholeDays = Annotated[timedelta, Unit("days", timedelta(days=1), whole=True)]
