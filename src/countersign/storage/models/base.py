"""What every table is built on: the declarative base, its naming convention, and types.

``Base.metadata`` is the one metadata of all tables (each module of this package adds
its own); Alembic's environment and the migration tests compare it with the schema.
Timestamps are timezone-aware UTC everywhere, on SQLite too (:class:`UtcDateTime`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        # SQLite stores text. SQLAlchemy's DATETIME formats it through a dict and a
        # %-format, ~3 µs a value, and identify binds three; isoformat() writes the
        # very same text (tests/storage/test_utc_datetime.py) in a fraction of it.
        # A statement often binds one moment several times (created_at, last_seen_at):
        # the last one converted is kept, as one tuple, so a thread reading it while
        # another replaces it sees one pair or the other, never a mix.
        last: list[tuple[datetime | None, str | None]] = [(None, None)]

        def to_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            seen, seen_text = last[0]
            if value is seen:
                return seen_text
            if value.tzinfo is None:
                raise ValueError("naive datetime stored; use datetime.now(UTC)")
            text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
            last[0] = (value, text)
            return text

        return to_text

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


#: The largest value an ``Integer`` column holds on PostgreSQL (SQLite holds 64 bits):
#: what a client sends for one (a seq) is checked against it before any query.
MAX_INTEGER: Final = 2**31 - 1


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {datetime: UtcDateTime, dict[str, Any]: JSON}
