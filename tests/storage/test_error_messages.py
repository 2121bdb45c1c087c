"""A failing statement's error names the statement, never the values bound to it.

Bound values are user ids, metadata and token digests; an error's message goes to
logs and tracebacks (uvicorn logs every unhandled one), which are kept and shared far
more widely than the database. SQLAlchemy renders ``[parameters: …]`` into every
statement error unless the engine is created with ``hide_parameters=True``.
"""

from __future__ import annotations

import logging
import traceback

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from countersign.storage.database import Database

BOUND_VALUE = "user-4242-in-a-parameter"


def test_a_failing_statement_does_not_show_its_parameters(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    # A table that is not there fails on both backends without the database itself
    # echoing the value (PostgreSQL's constraint errors quote the row in their DETAIL,
    # which no engine setting can hide).
    statement = text("SELECT id FROM no_such_table WHERE id = :user_id")
    with caplog.at_level(logging.DEBUG), pytest.raises(DBAPIError) as raised:
        database.run_sync(lambda c: c.execute(statement, {"user_id": BOUND_VALUE}))
    logged = logging.getLogger("countersign.server")
    logged.error("a request failed", exc_info=raised.value)  # as an error handler would
    message = str(raised.value)
    assert "no_such_table" in message  # the error still says what failed
    assert "parameters hidden" in message
    assert BOUND_VALUE not in message
    assert BOUND_VALUE not in "".join(traceback.format_exception(raised.value))
    assert BOUND_VALUE not in caplog.text
