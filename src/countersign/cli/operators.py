"""``countersign operators``: the people who log into the dashboard.

The first operator can only be made here, on the server's machine: a dashboard that
let the first visitor sign up would belong to whoever found it first. Passwords come
from standard input (``--password-stdin``) or a hidden prompt, never from an argument,
which would end up in shell history and the process list.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import Connection

from .. import team as workflow
from ..operators import passwords, team
from ..settings import Settings, default_data_dir
from ..storage import operators
from ..storage.database import Database
from ..storage.errors import StorageError
from ..vocabulary.clock import utcnow
from .options import (
    Column,
    database_options,
    emit,
    json_option,
    open_cli_backend,
    render_table,
    when,
)

_COLUMNS = (
    Column("EMAIL", "email"),
    Column("NAME", "name"),
    Column("ROLE", "role"),
    Column("STATE", "state"),
    Column("CREATED", "created_at", when),
    Column("LAST_LOGIN", "last_login_at", when),
)

_password_stdin = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input (one line) instead of prompting.",
)


Decorator = Callable[[Callable[..., None]], Callable[..., None]]


def _role_option(*, default: operators.Role) -> Decorator:
    return click.option(
        "--role",
        type=click.Choice(operators.ROLES),
        default=default,
        show_default=True,
        help="owner: everything; agent: the inbox and contacts only.",
    )


@contextmanager
def _operator_errors() -> Iterator[None]:
    try:
        yield
    except StorageError as error:
        raise click.ClickException(f"{error.code}: {error}") from None
    except passwords.WeakPassword as error:
        raise click.ClickException(f"weak_password: {error}") from None


def _read_password(from_stdin: bool, email: str) -> str:
    if from_stdin:
        text = sys.stdin.read()
        # One trailing newline is the end of the line `echo` or a here-string wrote.
        password = text.removesuffix("\n").removesuffix("\r")
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        raise click.UsageError("no terminal to prompt on: pass the password with --password-stdin")
    passwords.check_strength(password, email)
    return password


@click.group("operators")
def operators_group() -> None:
    """Dashboard operators: owners manage settings, agents answer conversations."""


@operators_group.command("create")
@database_options
@json_option
@_password_stdin
@_role_option(default="owner")
@click.option(
    "--name",
    help="The display name users see beside replies (default: the email's local part).",
)
@click.argument("email")
def create_command(
    data_dir: Path | None,
    database_url: str | None,
    as_json: bool,
    password_stdin: bool,
    role: operators.Role,
    name: str | None,
    email: str,
) -> None:
    """Create an operator who logs into /dashboard with EMAIL and a password."""
    with _operator_errors():
        address = operators.normalize_email(email)
        shown_name = team.display_name(name) if name is not None else None
        password_hash = passwords.hash_password(_read_password(password_stdin, address))
        with open_cli_backend(data_dir, database_url) as backend:
            record = backend.database.run_sync(
                lambda c: operators.create_operator(
                    c,
                    email=address,
                    password_hash=password_hash,
                    role=role,
                    name=shown_name,
                    now=utcnow(),
                )
            )
    emit(
        record.as_dict(),
        as_json=as_json,
        text=f"Created {record.role} {record.email} ({record.name}). Log in at /dashboard.",
    )


@operators_group.command("invite")
@database_options
@json_option
@_role_option(default="agent")
@click.option("--name", required=True, help="The display name users see beside replies.")
@click.option(
    "--base-url",
    metavar="URL",
    help="The dashboard's address as your team reaches it (default: http://HOST:PORT "
    "from COUNTERSIGN_HOST and COUNTERSIGN_PORT).",
)
@click.argument("email")
def invite_command(
    data_dir: Path | None,
    database_url: str | None,
    as_json: bool,
    role: operators.Role,
    name: str,
    base_url: str | None,
    email: str,
) -> None:
    """Add the operator EMAIL and print the one-time link with which they choose a
    password (shown only now; it expires after COUNTERSIGN_INVITATION_TTL_HOURS)."""
    with _operator_errors(), open_cli_backend(data_dir, database_url) as backend:
        settings = backend.settings
        invited = backend.database.run_sync(
            lambda c: team.invite_operator(
                c,
                actor=None,
                email=email,
                role=role,
                name=name,
                ttl=settings.invitation_ttl,
                now=utcnow(),
            )
        )
    base = (base_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    link = base + invited.path
    document = {
        **invited.operator.as_dict(),
        "link": link,
        "link_expires_at": invited.expires_at.isoformat(),
    }
    text = (
        f"Invited {invited.operator.role} {invited.operator.email} ({invited.operator.name}).\n"
        f"Send them this one-time link (shown only now; valid until "
        f"{invited.expires_at:%Y-%m-%d %H:%M} UTC):\n  {link}"
    )
    emit(document, as_json=as_json, text=text)


def _switch_command(verb: str, change: Callable[..., object], effect: str) -> None:
    @operators_group.command(verb, help=f"{verb.capitalize()} the operator EMAIL: {effect}.")
    @database_options
    @json_option
    @click.argument("email")
    def command(data_dir: Path | None, database_url: str | None, as_json: bool, email: str) -> None:
        with _operator_errors(), open_cli_backend(data_dir, database_url) as backend:

            def work(connection: Connection) -> operators.OperatorRecord:
                record = operators.operator_by_email(connection, email)
                now = utcnow()
                done = change(connection, actor=None, operator_id=record.id, now=now)
                if isinstance(done, team.Deactivated):
                    # Their conversations became unassigned: announced like any change
                    # (in the stream log and the webhooks; widgets catch up from the log).
                    workflow.announce_unassigned(connection, done.unassigned, record.id, now)
                return operators.get_operator(connection, record.id)

            record = backend.database.run_sync(work)
        emit(record.as_dict(), as_json=as_json, text=f"{record.email} is {record.state}.")


_switch_command(
    "deactivate",
    team.deactivate_operator,
    "their sessions and unused links end at once and they cannot log in",
)
_switch_command("reactivate", team.reactivate_operator, "they can log in again with their password")


@operators_group.command("list")
@database_options
@json_option
def list_command(data_dir: Path | None, database_url: str | None, as_json: bool) -> None:
    """List the operators and whether each is active, invited or deactivated (never
    their passwords)."""
    with open_cli_backend(data_dir, database_url) as backend:
        records = backend.database.run_sync(operators.list_operators)
    rows = [record.as_dict() for record in records]
    text = render_table(rows, _COLUMNS) if rows else "No operators yet."
    emit({"data": rows}, as_json=as_json, text=text)


@operators_group.command("set-password")
@database_options
@json_option
@_password_stdin
@click.argument("email")
def set_password_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, password_stdin: bool, email: str
) -> None:
    """Give EMAIL a new password and log them out everywhere."""
    with _operator_errors():
        address = operators.normalize_email(email)
        password_hash = passwords.hash_password(_read_password(password_stdin, address))
        with open_cli_backend(data_dir, database_url) as backend:
            record = backend.database.run_sync(
                lambda c: operators.set_password_hash(c, address, password_hash, utcnow())
            )
    emit(record.as_dict(), as_json=as_json, text=f"New password set for {record.email}.")


@operators_group.command("remove")
@database_options
@json_option
@click.argument("email")
def remove_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, email: str
) -> None:
    """Remove the operator EMAIL; their sessions end at once."""
    with _operator_errors(), open_cli_backend(data_dir, database_url) as backend:
        record = backend.database.run_sync(lambda c: operators.delete_operator(c, email))
    emit(record.as_dict(), as_json=as_json, text=f"Removed {record.email}.")


def serve_hint(settings: Settings, base: str) -> str:
    """What ``countersign serve`` prints about the dashboard: its address, and while no
    operator exists, the command that creates the first one."""
    line = f"Dashboard: {base}/dashboard"
    database = Database(settings.sqlalchemy_url)
    try:
        count = database.run_sync(operators.operator_count)
    except Exception:  # the hint must never stop the server from starting
        return line
    finally:
        database.dispose()
    if count:
        return line
    command = "countersign operators create you@example.com --password-stdin --role owner"
    if settings.database_url is not None:
        command += " --database-url URL"
    elif settings.data_dir != default_data_dir():
        command += f" --data-dir {shlex.quote(str(settings.data_dir))}"
    advice = "No operator yet. Create the first one (the password is read from stdin):"
    return f"{line}\n{advice}\n  {command}"
