"""``countersign sign`` and ``countersign verify``: the identity core from a shell.

Secrets come from ``--secret``, ``--secret-file`` or ``COUNTERSIGN_SECRET``; the last two
keep them out of shell history and ``ps``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..core import ENCODINGS, KeyRing, Secret, sign
from ..core.exc import CountersignError


def _read_secret_file(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    # A file written by `echo` or an editor ends in a newline that is not part of the
    # secret; anything else is kept as typed.
    if text.endswith("\r\n"):
        return text[:-2]
    return text.removesuffix("\n")


def _collect_secrets(secrets: tuple[str, ...], secret_files: tuple[Path, ...]) -> list[Secret]:
    collected = [Secret(secret) for secret in secrets]
    collected += [Secret(_read_secret_file(path)) for path in secret_files]
    if not collected:
        raise click.UsageError("give a secret: --secret, --secret-file or COUNTERSIGN_SECRET")
    return collected


_secret_option = click.option(
    "--secret",
    "secrets",
    multiple=True,
    envvar="COUNTERSIGN_SECRET",
    help="Identity secret (repeat for rotation). Prefer --secret-file or COUNTERSIGN_SECRET.",
)
_secret_file_option = click.option(
    "--secret-file",
    "secret_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File holding a secret; one trailing newline is ignored. Repeatable.",
)


@click.command("sign")
@_secret_option
@_secret_file_option
@click.option(
    "--encoding",
    type=click.Choice(ENCODINGS),
    default="hex",
    show_default=True,
    help="Text form of the hash.",
)
@click.argument("identifier")
def sign_command(
    secrets: tuple[str, ...], secret_files: tuple[Path, ...], encoding: str, identifier: str
) -> None:
    """Print the hash a backend sends with IDENTIFIER (signed with the newest secret)."""
    ring = _collect_secrets(secrets, secret_files)
    try:
        click.echo(sign(ring[-1], identifier, encoding=encoding))  # type: ignore[arg-type]
    except CountersignError as error:
        raise click.UsageError(str(error)) from None


@click.command("verify")
@_secret_option
@_secret_file_option
@click.option("--revoked-secret", "revoked", multiple=True, help="A revoked secret, to diagnose.")
@click.option("--other-identifier", help="The user's other identifier (email or user id).")
@click.option("--app-id", help="The app's public id, to detect it used as the key.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.argument("identifier")
@click.argument("signature")
def verify_command(
    secrets: tuple[str, ...],
    secret_files: tuple[Path, ...],
    revoked: tuple[str, ...],
    other_identifier: str | None,
    app_id: str | None,
    as_json: bool,
    identifier: str,
    signature: str,
) -> None:
    """Check SIGNATURE for IDENTIFIER; exit 0 when valid, 1 with a diagnosis when not."""
    ring = KeyRing(_collect_secrets(secrets, secret_files), revoked=revoked)
    diagnosis = ring.diagnose(
        identifier, signature, other_identifier=other_identifier, app_id=app_id
    )
    if as_json:
        document = {"valid": diagnosis.ok, "code": diagnosis.code, "hint": diagnosis.hint}
        click.echo(json.dumps(document))
    elif diagnosis.ok:
        click.echo(f"valid (secret {diagnosis.secret_id})")
    else:
        click.echo(f"invalid: {diagnosis.code}: {diagnosis.hint}")
    sys.exit(0 if diagnosis.ok else 1)
