"""What the management commands share: where the data lives, how errors and output look.

Every command that touches the database takes ``--data-dir`` and ``--database-url``
(or their ``COUNTERSIGN_*`` variables), opens the backend the server would open (so it
works on a fresh data dir and migrates an empty database), and closes it before exit.

Output goes through :func:`emit`: with ``--json`` exactly one JSON document on stdout,
otherwise text for a person. Warnings go to stderr so they never corrupt the JSON.
Secrets are printed only by the commands whose purpose is to show one, once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import click
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from ..context import Backend, open_backend
from ..settings import SettingsError, load_settings
from ..storage.apps import AppNotFound
from ..storage.encryption import MasterKeyError
from ..storage.errors import StorageError

F = TypeVar("F", bound=Callable[..., Any])

_data_dir_option = click.option(
    "--data-dir",
    envvar="COUNTERSIGN_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the SQLite database and master.key live (COUNTERSIGN_DATA_DIR).",
)
_database_url_option = click.option(
    "--database-url",
    envvar="COUNTERSIGN_DATABASE_URL",
    metavar="URL",
    help="postgresql://… or sqlite:///PATH instead of the data dir's SQLite "
    "(COUNTERSIGN_DATABASE_URL).",
)
_json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON document on stdout."
)


def database_options(command: F) -> F:
    """Add ``--data-dir`` and ``--database-url``: the same settings ``serve`` reads."""
    return _data_dir_option(_database_url_option(command))


def json_option(command: F) -> F:
    """Add ``--json`` (passed to the command as ``as_json``)."""
    return _json_option(command)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn the errors a user can cause into a one-line message and exit status 1.

    A traceback would tell an operator nothing they can act on, and could echo a
    database URL with its password.
    """
    try:
        yield
    except AppNotFound as error:
        raise click.ClickException(f"{error.code}: {error} (see: countersign apps list)") from None
    except StorageError as error:
        raise click.ClickException(f"{error.code}: {error}") from None
    except (MasterKeyError, SettingsError) as error:
        raise click.ClickException(str(error)) from None
    except OperationalError as error:
        # Only the driver's own words: SQLAlchemy's message repeats the statement.
        reason = str(error.orig).strip().splitlines()[0] if error.orig else "unreachable"
        raise click.ClickException(f"cannot use the database: {reason}") from None


@contextmanager
def open_cli_backend(data_dir: Path | None, database_url: str | None) -> Iterator[Backend]:
    """The migrated database and secret box for these options, closed afterwards.

    Errors raised inside the ``with`` block are translated by :func:`cli_errors` too.
    """
    with cli_errors():
        backend = open_backend(load_settings(data_dir=data_dir, database_url=database_url))
        try:
            yield backend
        finally:
            backend.close()


# Output ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a human table: its header, the record key, and how to show it."""

    header: str
    key: str
    show: Callable[[Any], str] | None = None


def when(value: Any) -> str:
    """An ISO 8601 UTC time as ``2024-05-01 12:00:03``: seconds are enough to read."""
    if not value:
        return "-"
    return str(value).replace("T", " ")[:19]


def printable(value: Any) -> str:
    """``value`` as text safe for a terminal.

    Identifiers and origins in the log are what a browser claimed; an escape sequence
    among them must show as text, not move the cursor or retitle the window.
    """
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def table_lines(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> list[str]:
    """A header line and one line per row, columns padded to their widest cell."""
    cells = [
        [
            printable(column.show(row[column.key]) if column.show else row[column.key])
            for column in columns
        ]
        for row in rows
    ]
    headers = [column.header for column in columns]
    widths = [max(len(text) for text in column) for column in zip(headers, *cells, strict=True)]

    def line(texts: Sequence[str]) -> str:
        return "  ".join(text.ljust(width) for text, width in zip(texts, widths, strict=True))

    return [line(headers).rstrip()] + [line(texts).rstrip() for texts in cells]


def render_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> str:
    return "\n".join(table_lines(rows, columns))


def emit(document: Any, *, as_json: bool, text: str) -> None:
    """Print ``document`` as one JSON document, or ``text`` for a person."""
    if as_json:
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        click.echo(text)


def warn(message: str) -> None:
    """A warning on stderr, where it cannot break ``--json`` output."""
    click.secho(f"WARNING: {message}", err=True, fg="yellow", bold=True)


class _Switchable(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


def add_switch_commands(
    group: click.Group,
    *,
    noun: str,
    metavar: str,
    effects: tuple[str, str],
    switch: Callable[[Connection, str, str, bool], _Switchable],
) -> None:
    """``GROUP disable APP THING`` and ``GROUP enable APP THING``: ``switch(connection,
    app_id, thing, enabled)`` sets the flag and returns the record, which is printed.
    ``effects`` says what disabling and enabling do, for the help text."""
    for enabled, effect in zip((False, True), effects, strict=True):
        verb = "enable" if enabled else "disable"

        @group.command(verb, help=f"{verb.capitalize()} the {noun} {metavar} of APP: {effect}.")
        @database_options
        @json_option
        @click.argument("app_id", metavar="APP")
        @click.argument("target", metavar=metavar)
        def command(
            data_dir: Path | None,
            database_url: str | None,
            as_json: bool,
            app_id: str,
            target: str,
            enabled: bool = enabled,  # bound now: the loop moves on
            verb: str = verb,
        ) -> None:
            with open_cli_backend(data_dir, database_url) as backend:
                record = backend.database.run_sync(lambda c: switch(c, app_id, target, enabled))
            text = f"{verb.capitalize()}d the {noun} {target} of {app_id}."
            emit(record.as_dict(), as_json=as_json, text=text)
