"""``countersign db prune`` on both backends: on a fresh data dir, and on one with old
and recent verification-log entries, webhook events and action calls."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, func, select, update

from countersign.cli import cli
from countersign.context import open_backend
from countersign.settings import load_settings
from countersign.storage import (
    actions,
    apps,
    verification_counts,
    verification_log,
    webhook_endpoints,
    webhook_outbox,
)
from countersign.storage.actions import CallRecord
from countersign.storage.models import (
    ActionCall,
    VerificationCount,
    VerificationLogEntry,
    WebhookDelivery,
    WebhookEvent,
)
from countersign.vocabulary.clock import utcnow

from ..cli.test_management_commands import document, failed_cleanly, ok
from ..conftest import CLEAN_ENV

NOW = utcnow()


def write_history(tmp_path: Path, database_url: str, *ages_in_days: int) -> None:
    """A verification-log entry, a per-minute success count, a delivered webhook event
    and an action call at each age."""
    backend = open_backend(load_settings(environ={}, data_dir=tmp_path, database_url=database_url))

    def work(c: Connection) -> None:
        app_id = apps.create_app(c, backend.box, "Acme").app.id
        webhook_endpoints.create_endpoint(
            c, backend.box, app_id, "https://example.com/h", ["event.tracked"]
        )
        for days in ages_in_days:
            at = NOW - timedelta(days=days)
            webhook_outbox.enqueue(c, app_id, "event.tracked", {}, at)
            call = CallRecord(
                app_id, None, "a", "c", "server", None, "verified", "ok", 200, 1, None
            )
            actions.record_call(c, call, at)
            entry = {"app_id": app_id, "at": at, "outcome": "verified", "method": "hash"}
            verification_log.insert_entries(c, [{**entry, "code": "ok"}])
            verification_counts.add_successes(c, {(app_id, "sec_x", at): 3})
        c.execute(update(WebhookDelivery).values(status="delivered", delivered_at=NOW))

    try:
        backend.database.run_sync(work)
    finally:
        backend.close()


def counts(tmp_path: Path, database_url: str) -> tuple[int, int, int, int]:
    """Webhook events, action calls, verification-log entries, success counts."""
    backend = open_backend(load_settings(environ={}, data_dir=tmp_path, database_url=database_url))
    try:
        return backend.database.run_sync(
            lambda c: (
                c.execute(select(func.count()).select_from(WebhookEvent)).scalar_one(),
                c.execute(select(func.count()).select_from(ActionCall)).scalar_one(),
                c.execute(select(func.count()).select_from(VerificationLogEntry)).scalar_one(),
                c.execute(select(func.count()).select_from(VerificationCount)).scalar_one(),
            )
        )
    finally:
        backend.close()


def test_on_a_fresh_data_dir_there_is_nothing_to_prune(cs: Any) -> None:
    assert document(cs("db", "prune", "--json")) == {
        "verification_log": 0,
        "verification_counts": 0,
        "webhook_events": 0,
        "action_calls": 0,
        "idempotency_keys": 0,
        "uploads": 0,
        "orphan_files": 0,
        "verification_log_days": 90,
        "webhook_days": 30,
        "action_log_days": 30,
    }


def test_old_history_goes_and_the_days_are_chosen(
    cs: Any, tmp_path: Path, database_url: str
) -> None:
    write_history(tmp_path, database_url, 1, 10, 40, 50, 100)
    text = ok(cs("db", "prune")).output
    assert (
        "removed 1 verification-log entries and 1 per-minute success counts older than 90 days"
        in text
    )
    assert "3 webhook events older than 30 days" in text
    assert "3 action calls older than 30 days" in text
    assert counts(tmp_path, database_url) == (2, 2, 4, 4)
    pruned = document(
        cs(
            "db",
            "prune",
            "--verification-log-days",
            "20",
            "--webhook-days",
            "5",
            "--action-log-days",
            "20",
            "--json",
        )
    )
    assert (pruned["verification_log"], pruned["webhook_events"], pruned["action_calls"]) == (
        2,
        1,
        0,
    )
    assert pruned["verification_counts"] == 2
    assert counts(tmp_path, database_url) == (1, 2, 2, 2)


def test_the_variables_set_the_default(tmp_path: Path, database_url: str) -> None:
    write_history(tmp_path, database_url, 1, 10)
    runner = CliRunner(env={**CLEAN_ENV, "COUNTERSIGN_ACTION_LOG_RETENTION_DAYS": "5"})
    args = ["db", "prune", "--json", "--data-dir", str(tmp_path), "--database-url", database_url]
    pruned = document(runner.invoke(cli, args))
    assert (pruned["webhook_events"], pruned["action_calls"]) == (0, 1)
    assert pruned["action_log_days"] == 5


@pytest.mark.parametrize("flag", ["--verification-log-days", "--webhook-days", "--action-log-days"])
def test_zero_days_is_refused(cs: Any, flag: str) -> None:
    assert flag in failed_cleanly(cs("db", "prune", flag, "0"), exit_code=2)


def test_a_bad_variable_is_refused(tmp_path: Path, database_url: str) -> None:
    runner = CliRunner(env={**CLEAN_ENV, "COUNTERSIGN_WEBHOOK_RETENTION_DAYS": "0"})
    args = ["db", "prune", "--data-dir", str(tmp_path), "--database-url", database_url]
    assert "COUNTERSIGN_WEBHOOK_RETENTION_DAYS" in failed_cleanly(runner.invoke(cli, args))
