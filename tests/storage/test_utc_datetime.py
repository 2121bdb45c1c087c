"""UtcDateTime's own SQLite bind processor writes exactly the text SQLAlchemy's would.

Stored datetimes are compared and sorted as text on SQLite, so one format for every
row matters more than speed: a value written by the fast path and one written through
the ordinary processor must be the same bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import DateTime, create_engine, text

from countersign.storage.models import UtcDateTime

_SQLITE = create_engine("sqlite://").dialect
_fast = UtcDateTime().dialect_impl(_SQLITE).bind_processor(_SQLITE)
_sqlalchemy = DateTime(timezone=True).dialect_impl(_SQLITE).bind_processor(_SQLITE)
assert _fast is not None
assert _sqlalchemy is not None
_FAST, _SQLALCHEMY = _fast, _sqlalchemy

aware = st.datetimes(
    min_value=datetime(1000, 1, 1),
    max_value=datetime(9998, 12, 31),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
    ),
)


@given(aware)
def test_the_same_text_as_sqlalchemys_processor(value: datetime) -> None:
    assert _FAST(value) == _SQLALCHEMY(value.astimezone(UTC))


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 11, 21, 7, 0, 0, tzinfo=UTC),  # whole seconds keep ".000000"
        datetime(2026, 11, 21, 12, 30, 0, 1, tzinfo=timezone(timedelta(hours=5))),
    ],
)
def test_edge_values(value: datetime) -> None:
    assert _FAST(value) == _SQLALCHEMY(value.astimezone(UTC))


def test_naive_and_none() -> None:
    assert _FAST(None) is None
    with pytest.raises(ValueError, match="naive"):
        _FAST(datetime(2026, 1, 1))


def test_round_trip_through_sqlite() -> None:
    engine = create_engine("sqlite://")
    moment = datetime(2026, 11, 21, 7, 1, 2, 345678, tzinfo=timezone(timedelta(hours=-3)))
    with engine.begin() as connection:
        stored = connection.execute(text("SELECT :v"), {"v": _FAST(moment)}).scalar_one()
    assert stored == "2026-11-21 10:01:02.345678"
