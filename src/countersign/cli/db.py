"""``countersign db``: the schema revision, migrating to the newest on demand, and
pruning old logs now.

Every command (and ``serve``) migrates on start, so ``db upgrade`` is for a deploy
step that should migrate once before the nodes start. ``db prune`` does at once what
every server node does about hourly. None of them needs the master key, so none
creates one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click

from ..retention import prune_now
from ..settings import MAX_RETENTION_DAYS, MIN_RETENTION_DAYS, load_settings
from ..storage import migrate
from ..storage.database import Database
from .options import cli_errors, database_options, emit, json_option


@contextmanager
def _open_database(data_dir: Path | None, database_url: str | None) -> Iterator[Database]:
    with cli_errors():
        settings = load_settings(data_dir=data_dir, database_url=database_url)
        # db prune removes attachments' files too, and sweeps their directory.
        database = Database(settings.sqlalchemy_url, attachments_dir=settings.attachments_dir)
        try:
            yield database
        finally:
            database.dispose()


@click.group("db")
def db_group() -> None:
    """The database schema: which revision it is at, migrating it, pruning old logs."""


@db_group.command("upgrade")
@database_options
@json_option
def upgrade_command(data_dir: Path | None, database_url: str | None, as_json: bool) -> None:
    """Migrate the database to the newest schema and print its revision."""
    with _open_database(data_dir, database_url) as database:
        before = migrate.current_revision(database.engine)
        database.migrate()
        after = migrate.current_revision(database.engine)
    if before == after:
        text = f"database already at revision {after}"
    else:
        text = f"database upgraded from {before or '(empty)'} to revision {after}"
    emit({"previous": before, "revision": after}, as_json=as_json, text=text)


@db_group.command("current")
@database_options
@json_option
def current_command(data_dir: Path | None, database_url: str | None, as_json: bool) -> None:
    """Print the database's schema revision and the newest one this version knows."""
    with _open_database(data_dir, database_url) as database:
        revision = migrate.current_revision(database.engine)
        head = migrate.newest()
    if revision == head:
        text = f"{revision} (newest)"
    else:
        text = f"{revision or '(empty)'} (newest is {head}: run countersign db upgrade)"
    emit({"revision": revision, "head": head}, as_json=as_json, text=text)


_DAYS = click.IntRange(MIN_RETENTION_DAYS, MAX_RETENTION_DAYS)


def _days(days: int | None) -> timedelta | None:
    return None if days is None else timedelta(days=days)


@db_group.command("prune")
@click.option(
    "--verification-log-days",
    type=_DAYS,
    metavar="N",
    help="Keep verification-log entries N days (COUNTERSIGN_VERIFICATION_LOG_RETENTION_DAYS, 90).",
)
@click.option(
    "--webhook-days",
    type=_DAYS,
    metavar="N",
    help="Keep settled webhook events N days (COUNTERSIGN_WEBHOOK_RETENTION_DAYS, 30).",
)
@click.option(
    "--action-log-days",
    type=_DAYS,
    metavar="N",
    help="Keep action calls N days (COUNTERSIGN_ACTION_LOG_RETENTION_DAYS, 30).",
)
@database_options
@json_option
def prune_command(
    data_dir: Path | None,
    database_url: str | None,
    verification_log_days: int | None,
    webhook_days: int | None,
    action_log_days: int | None,
    as_json: bool,
) -> None:
    """Remove verification-log entries, settled webhook events and action calls older
    than their retention, and uploads no message claimed in a day (with
    COUNTERSIGN_ATTACHMENTS_DIR, their files and the directory's orphans too).

    An event with a delivery still pending or being retried is kept, whatever its age.
    """
    with _open_database(data_dir, database_url) as database:
        settings = load_settings(
            data_dir=data_dir,
            database_url=database_url,
            verification_log_retention=_days(verification_log_days),
            webhook_retention=_days(webhook_days),
            action_log_retention=_days(action_log_days),
        )
        log_days = settings.verification_log_retention
        webhook, calls = settings.webhook_retention, settings.action_log_retention
        database.migrate()  # a fresh data dir has no tables yet
        pruned = asyncio.run(
            prune_now(
                database,
                verification_log_retention=log_days,
                webhook_retention=webhook,
                action_log_retention=calls,
            )
        )
    document = {
        "verification_log": pruned.verification_log,
        "verification_counts": pruned.verification_counts,
        "webhook_events": pruned.webhook_events,
        "action_calls": pruned.action_calls,
        "idempotency_keys": pruned.idempotency_keys,
        "uploads": pruned.uploads,
        "orphan_files": pruned.orphan_files,
        "verification_log_days": log_days.days,
        "webhook_days": webhook.days,
        "action_log_days": calls.days,
    }
    text = (
        f"removed {pruned.verification_log} verification-log entries and "
        f"{pruned.verification_counts} per-minute success counts older than "
        f"{log_days.days} days, "
        f"{pruned.webhook_events} webhook events older than {webhook.days} days "
        f"(with their deliveries and attempts), {pruned.action_calls} action calls "
        f"older than {calls.days} days, {pruned.idempotency_keys} notification "
        f"idempotency keys older than 24 hours and {pruned.uploads} uploads no message "
        "claimed in a day"
        + (f", and swept {pruned.orphan_files} orphan files" if pruned.orphan_files else "")
    )
    emit(document, as_json=as_json, text=text)
