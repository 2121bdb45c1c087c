"""The action log is pruned by age, oldest first and a bounded chunk at a time, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from countersign.context import Backend
from countersign.storage import actions, apps
from countersign.storage.actions import CallRecord
from countersign.storage.models import ActionCall
from countersign.vocabulary.clock import utcnow

NOW = utcnow()
CUTOFF = NOW - timedelta(days=30)


def log_calls(backend: Backend, *ages_in_days: int) -> None:
    """One logged call per age, its call id ``call-AGE``."""
    box = backend.box
    app_id = backend.database.run_sync(lambda c: apps.create_app(c, box, "Acme")).app.id
    for days in ages_in_days:
        call = CallRecord(
            app_id, None, "lookup", f"call-{days}", "server", None, "verified", "ok", 200, 12, None
        )
        backend.database.run_sync(
            lambda c, call=call, days=days: actions.record_call(c, call, NOW - timedelta(days=days))
        )


def call_ids(backend: Backend) -> set[str]:
    return set(backend.database.run_sync(lambda c: c.execute(select(ActionCall.call_id)).scalars()))


def prune(backend: Backend, limit: int = 500) -> int:
    return backend.database.run_sync(lambda c: actions.prune_calls(c, CUTOFF, limit))


def test_calls_older_than_the_cutoff_go(backend: Backend) -> None:
    log_calls(backend, 0, 29, 31, 400)
    assert prune(backend) == 2
    assert call_ids(backend) == {"call-0", "call-29"}
    assert prune(backend) == 0


def test_the_limit_is_honoured_oldest_first(backend: Backend) -> None:
    log_calls(backend, 1, 31, 35, 32, 34, 33)
    assert prune(backend, limit=2) == 2
    assert call_ids(backend) == {"call-1", "call-31", "call-32", "call-33"}
    assert [prune(backend, limit=2) for _ in range(3)] == [2, 1, 0]
    assert call_ids(backend) == {"call-1"}
