"""``countersign log APP``: the latest identify outcomes, with why each failure failed.

The point is the diagnosis: an operator wiring up a backend sees ``secret_whitespace``
and the one-line fix instead of a bare 401. Identifiers and origins are browser claims,
so the table escapes anything a terminal would interpret.

Successes are counted per minute and secret (SPEC 9), so they show as a second table
of those counts (``verified_per_minute`` in ``--json``), also under ``--outcome
verified``; verified rows logged before the counts existed still list as rows.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection

from ..storage import apps, verification_counts, verification_log
from ..vocabulary.clock import utcnow
from .options import (
    Column,
    database_options,
    emit,
    json_option,
    open_cli_backend,
    printable,
    table_lines,
    when,
)

_COLUMNS = (
    Column("TIME", "at", when),
    Column("OUTCOME", "outcome"),
    Column("METHOD", "method"),
    Column("CODE", "code"),
    Column("IDENTIFIER", "identifier"),
    Column("ORIGIN", "origin"),
)
#: Outcomes whose hint is a fix to apply (a verified or anonymous identify needs none).
_FAILURES = frozenset({"unverified", "refused"})
_COUNT_COLUMNS = (
    Column("MINUTE", "minute", when),
    Column("SECRET", "secret_id", lambda value: value or "-"),
    Column("VERIFIED", "count", str),
)
_SUMMARY_WINDOW = timedelta(hours=24)


def _text(
    entries: list[dict[str, Any]],
    successes: list[dict[str, Any]],
    counts: dict[str, int],
    app_id: str,
) -> str:
    summary = ", ".join(f"{count} {outcome}" for outcome, count in counts.items())
    if not entries and not successes:
        return f"last 24h: {summary}\nNo identify outcomes logged for {app_id} yet."
    lines = [f"last 24h: {summary}"]
    if entries:
        header, *rows = table_lines(entries, _COLUMNS)
        lines += ["", header]
        for entry, row in zip(entries, rows, strict=True):
            lines.append(row)
            if entry["outcome"] in _FAILURES and entry["hint"]:
                lines.append(f"    fix: {printable(entry['hint'])}")
    if successes:
        lines += [
            "",
            "verified, counted per minute (UTC):",
            *table_lines(successes, _COUNT_COLUMNS),
        ]
    return "\n".join(lines)


@click.command("log", short_help="Recent identify outcomes, with diagnoses.")
@database_options
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=50,
    show_default=True,
    help="How many outcomes to show (and as many per-minute counts of successes).",
)
@click.option(
    "--outcome",
    type=click.Choice(verification_log.OUTCOMES),
    help="Only outcomes of this kind (refused and unverified are the failures; "
    "verified shows the successes' per-minute counts).",
)
@json_option
@click.argument("app_id", metavar="APP")
def log_command(
    data_dir: Path | None,
    database_url: str | None,
    limit: int,
    outcome: str | None,
    as_json: bool,
    app_id: str,
) -> None:
    """Show APP's recent identify outcomes, newest first, with diagnoses and fixes."""
    since = utcnow() - _SUMMARY_WINDOW

    def read(
        connection: Connection,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, int]]:
        apps.get_app(connection, app_id)
        entries = verification_log.recent_entries(connection, app_id, limit=limit, outcome=outcome)
        successes = (
            verification_counts.recent_counts(connection, app_id, limit=limit)
            if outcome in (None, "verified")
            else []
        )
        return entries, successes, verification_log.outcome_counts(connection, app_id, since)

    with open_cli_backend(data_dir, database_url) as backend:
        entries, successes, counts = backend.database.run_sync(read)
    emit(
        {"data": entries, "verified_per_minute": successes, "last_24h": counts},
        as_json=as_json,
        text=_text(entries, successes, counts, app_id),
    )
