"""``countersign public-keys``: the public keys that verify an app's identity tokens.

A customer registers only the public half of its key pair (a JWK, a PEM, or a JWKS
URL it publishes); the private half never leaves its backend, so nothing Countersign
stores can sign a user. A JWK or PEM with private material is refused with a clear
error and nothing is stored.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from ..core import InvalidPublicKey, PublicKey, parse_jwk, parse_pem
from ..outbound import OutboundClient, check_url
from ..outbound.jwks import JwksFetchFailed, fetch_jwks
from ..storage import public_keys
from ..vocabulary.clock import utcnow
from ..vocabulary.outbound_errors import OutboundError
from .options import (
    Column,
    database_options,
    emit,
    json_option,
    open_cli_backend,
    render_table,
    warn,
    when,
)

_COLUMNS = (
    Column("ID", "id"),
    Column("KID", "kid"),
    Column("ALG", "alg"),
    Column("SOURCE", "source"),
    Column("ACTIVE", "active"),
    Column("CREATED", "created_at", when),
    Column("LAST_USED", "last_used_at", when),
    Column("USES", "use_count"),
    Column("REVOKED", "revoked_at", when),
)
MAX_FILE_BYTES = 65_536


@click.group("public-keys")
def public_keys_group() -> None:
    """Public keys (Ed25519, ES256, RS256) that verify your users' identity tokens."""


def _read(path: Path) -> str:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise click.UsageError(f"{path} is larger than {MAX_FILE_BYTES} bytes: not a key")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.UsageError(f"{path} is not UTF-8 text") from None


def _parsed(jwk: Path | None, pem: Path | None, kid: str | None) -> PublicKey:
    try:
        if jwk is not None:
            return parse_jwk(_read(jwk), kid=kid)
        assert pem is not None
        if kid is None:
            raise click.UsageError("a PEM names no key: give --kid")
        return parse_pem(_read(pem), kid=kid)
    except InvalidPublicKey as error:
        raise click.ClickException(f"invalid_public_key: {error}") from None


def _fetch(url: str, allow_private_network: bool) -> tuple[str | None, str | None]:
    async def fetch() -> str:
        async with OutboundClient() as client:
            return await fetch_jwks(client, url, allow_private_network=allow_private_network)

    try:
        return asyncio.run(fetch()), None
    except JwksFetchFailed as error:
        return None, str(error)


@public_keys_group.command("add")
@database_options
@json_option
@click.option(
    "--jwk",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A public JWK (JSON file).",
)
@click.option(
    "--pem",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A PEM PUBLIC KEY file.",
)
@click.option("--jwks-url", metavar="URL", help="An https URL of your JWKS document.")
@click.option("--kid", help="The key's id (the JWT header's kid); required with --pem.")
@click.option(
    "--allow-private-network",
    is_flag=True,
    help="Let the JWKS URL be on a private network or loopback (as for webhooks).",
)
@click.argument("app_id", metavar="APP")
def add_command(
    data_dir: Path | None,
    database_url: str | None,
    as_json: bool,
    jwk: Path | None,
    pem: Path | None,
    jwks_url: str | None,
    kid: str | None,
    allow_private_network: bool,
    app_id: str,
) -> None:
    """Register a public key of APP (exactly one of --jwk, --pem, --jwks-url)."""
    if sum(option is not None for option in (jwk, pem, jwks_url)) != 1:
        raise click.UsageError("give exactly one of --jwk, --pem or --jwks-url")
    if jwks_url is not None:
        if not jwks_url.lower().startswith("https://"):
            raise click.UsageError("a JWKS URL must be https://")
        try:
            check_url(jwks_url, allow_private_network=allow_private_network)
        except OutboundError as error:
            raise click.ClickException(f"{error.code}: {error}") from None
        document, failure = _fetch(jwks_url, allow_private_network)
        if failure is not None:
            raise click.ClickException(f"jwks_fetch_failed: {failure}; nothing was stored")
        with open_cli_backend(data_dir, database_url) as backend:
            info = backend.database.run_sync(
                lambda c: public_keys.add_jwks_url(
                    c, app_id, jwks_url, document, utcnow(),
                    allow_private_network=allow_private_network,
                )
            )  # fmt: skip
        text = f"Added JWKS URL {info.id} to {app_id} with keys: {', '.join(info.jwks_kids) or '-'}"
    else:
        key = _parsed(jwk, pem, kid)
        with open_cli_backend(data_dir, database_url) as backend:
            info = backend.database.run_sync(lambda c: public_keys.add_key(c, app_id, key))
        text = (
            f"Added public key {info.id} (kid {info.kid}, {info.alg}) to {app_id}.\n"
            f"Sign your users' tokens with the private key and the header kid {info.kid!r}."
        )
    emit(info.as_dict(), as_json=as_json, text=text)


@public_keys_group.command("list")
@database_options
@json_option
@click.argument("app_id", metavar="APP")
def list_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, app_id: str
) -> None:
    """List APP's public keys and JWKS URLs with their last use."""
    with open_cli_backend(data_dir, database_url) as backend:
        infos = backend.database.run_sync(lambda c: public_keys.list_keys(c, app_id))
    rows = [info.as_dict() for info in infos]
    for row in rows:
        if row["source"] == "jwks_url":
            row["kid"] = ",".join(row["jwks_kids"]) or "-"
    text = (
        render_table(rows, _COLUMNS)
        if rows
        else f"No public keys: countersign public-keys add {app_id} --jwk FILE"
    )
    emit({"data": rows}, as_json=as_json, text=text)


@public_keys_group.command("revoke")
@database_options
@json_option
@click.argument("app_id", metavar="APP")
@click.argument("key", metavar="KEY")
def revoke_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, app_id: str, key: str
) -> None:
    """Revoke KEY (its id, or an inline key's kid): its tokens stop verifying and the
    sessions it verified end."""
    with open_cli_backend(data_dir, database_url) as backend:
        info = backend.database.run_sync(lambda c: public_keys.revoke_key(c, app_id, key))
    emit(
        info.as_dict(),
        as_json=as_json,
        text=f"Revoked {info.id} of {app_id}; sessions it verified are signed out.",
    )
    if info.source == "jwks_url":
        warn("every key this JWKS URL published is revoked with it")
