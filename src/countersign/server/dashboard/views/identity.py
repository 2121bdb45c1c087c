"""App settings → identity verification: the policy, identity secrets and server API
keys. Owners only.

A new secret or API key is shown once, in the answer to the form that created it. A
stored secret can be shown again (it is encrypted at rest, not hashed), but only after
the owner types their password again, and every reveal, refused or not, is written to
the audit trail shown on the same page. Every change bumps the app's config version and
drops this node's cached copy, so it is in force at once here and within a second on
other nodes.
"""

from __future__ import annotations

import contextlib
import re
from datetime import timedelta
from typing import Any, Final

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ....storage import apps, operators, verification_log
from ....storage.apps import AppRecord
from ....storage.operators import OperatorRecord
from ....vocabulary.clock import utcnow
from ...state import ServerState, StateDep
from ..auth import AppDep, OwnerDep, audit
from ..errors import BadForm, NotFound
from ..pages import page
from ..reauth import password_confirmed
from ..route import dashboard_router, form_of

router = dashboard_router()

#: An active secret unused for this long is probably no longer deployed anywhere.
IDLE_SECRET: Final = timedelta(days=7)
SUMMARY_WINDOW: Final = timedelta(hours=24)
AUDITED: Final = (
    "secret.revealed",
    "secret.reveal_refused",
    "secret.created",
    "secret.revoked",
    "api_key.created",
    "api_key.revoked",
    "policy.updated",
)


def _base(app_id: str) -> str:
    return f"/dashboard/apps/{app_id}/identity"


def _secret_rows(records: list[apps.SecretRecord]) -> list[dict[str, Any]]:
    """Each secret with a plain word on whether it is still needed."""
    now = utcnow()
    active = [record for record in records if record.is_active(now)]
    newest = max(active, key=lambda record: record.created_at, default=None)
    rows = []
    for record in reversed(records):
        if not record.is_active(now):
            advice = "Revoked" if record.revoked_at else "Expired"
        elif record is newest:
            advice = "Newest: give this one to new integrations."
        elif record.last_used_at is None:
            advice = "Never used: safe to revoke."
        elif now - record.last_used_at > IDLE_SECRET:
            advice = "Not used for over a week: likely safe to revoke."
        else:
            advice = "Still in use: revoke it once your servers use the newest secret."
        rows.append({"record": record, "active": record.is_active(now), "advice": advice})
    return rows


async def _context(state: ServerState, app: AppRecord) -> dict[str, Any]:
    since = utcnow() - SUMMARY_WINDOW
    # Use counts are batched in memory; write them first so "last used" is current.
    with contextlib.suppress(Exception):
        await state.recorder.flush()

    def load(connection: Connection) -> dict[str, Any]:
        records = apps.list_secrets(connection, app.id)
        return {
            "secrets": _secret_rows(records),
            "active_secrets": sum(row.is_active(utcnow()) for row in records),
            "api_keys": apps.list_api_keys(connection, app.id)[::-1],
            "audit": operators.recent_audit(connection, app.id, limit=15, actions=AUDITED),
            "would_refuse": verification_log.would_be_refused(connection, app.id, since),
        }

    return await state.backend.database.run(load)


async def _settings_page(
    request: Request,
    state: ServerState,
    operator: OperatorRecord,
    app: AppRecord,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    context = await _context(state, app)
    defaults = {"new_secret": None, "new_api_key": None, "revealed": None, "problem": None}
    return await page(
        request,
        state,
        "identity.html",
        operator=operator,
        app=app,
        section="identity",
        status=status,
        saved=request.query_params.get("saved"),
        **{**defaults, **context, **extra},
    )


@router.get("/dashboard/apps/{app_id}/identity")
async def identity(request: Request, state: StateDep, operator: OwnerDep, app: AppDep) -> Response:
    return await _settings_page(request, state, operator, app)


def _origins(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", text) if part]


@router.post("/dashboard/apps/{app_id}/identity/policy")
async def update_policy(
    request: Request, state: StateDep, operator: OwnerDep, app: AppDep
) -> Response:
    form = form_of(request)
    limit_text = form.text("max_metadata_chars", max_chars=7).strip()
    if not (limit_text.isascii() and limit_text.isdigit()):  # int("²") raises: a 500
        raise BadForm("the metadata limit is a whole number of characters")
    changes = {
        "identity_mode": form.text("identity_mode", max_chars=16),
        "on_mismatch": form.text("on_mismatch", max_chars=16),
        "identifier": form.text("identifier", max_chars=16),
        "max_metadata_chars": int(limit_text),
        "allowed_origins": _origins(form.text("allowed_origins", max_chars=20_000, required=False)),
    }
    try:
        updated = await state.backend.database.run(
            lambda c: apps.update_policy(c, app.id, **changes)
        )
    except apps.InvalidPolicy as error:
        return await _settings_page(request, state, operator, app, status=422, problem=str(error))
    state.directory.invalidate(app.id)
    await audit(request, state, operator, app.id, "policy.updated", updated.identity_mode)
    return RedirectResponse(f"{_base(app.id)}?saved=policy", status_code=303)


@router.post("/dashboard/apps/{app_id}/identity/secrets")
async def create_secret(
    request: Request, state: StateDep, operator: OwnerDep, app: AppDep
) -> Response:
    box = state.backend.box
    secret_id, secret = await state.backend.database.run(
        lambda c: apps.create_secret(c, box, app.id)
    )
    state.directory.invalidate(app.id)
    await audit(request, state, operator, app.id, "secret.created", secret_id)
    return await _settings_page(
        request, state, operator, app, new_secret={"id": secret_id, "value": secret}
    )


@router.post("/dashboard/apps/{app_id}/identity/secrets/{secret_id}/reveal")
async def reveal_secret(
    secret_id: str, request: Request, state: StateDep, operator: OwnerDep, app: AppDep
) -> Response:
    if not await password_confirmed(request, state, operator):
        await audit(request, state, operator, app.id, "secret.reveal_refused", secret_id)
        return await _settings_page(
            request,
            state,
            operator,
            app,
            status=403,
            problem="Wrong password: the secret was not revealed (and the attempt is logged).",
        )
    box = state.backend.box
    try:
        secret = await state.backend.database.run(
            lambda c: apps.reveal_secret(c, box, app.id, secret_id)
        )
    except apps.SecretNotFound:
        raise NotFound("This app has no such secret.") from None
    await audit(request, state, operator, app.id, "secret.revealed", secret_id)
    revealed = {"id": secret_id, "value": secret.reveal().decode("utf-8")}
    return await _settings_page(request, state, operator, app, revealed=revealed)


@router.post("/dashboard/apps/{app_id}/identity/secrets/{secret_id}/revoke")
async def revoke_secret(
    secret_id: str, request: Request, state: StateDep, operator: OwnerDep, app: AppDep
) -> Response:
    try:
        await state.backend.database.run(lambda c: apps.revoke_secret(c, app.id, secret_id))
    except apps.SecretNotFound:
        raise NotFound("This app has no such secret.") from None
    state.directory.secrets_changed(app.id)  # its streams close now, not at the next poll
    await audit(request, state, operator, app.id, "secret.revoked", secret_id)
    return RedirectResponse(f"{_base(app.id)}?saved=revoked", status_code=303)


@router.post("/dashboard/apps/{app_id}/identity/api-keys")
async def create_api_key(
    request: Request, state: StateDep, operator: OwnerDep, app: AppDep
) -> Response:
    key_id, key = await state.backend.database.run(lambda c: apps.create_api_key(c, app.id))
    await audit(request, state, operator, app.id, "api_key.created", key_id)
    return await _settings_page(
        request, state, operator, app, new_api_key={"id": key_id, "value": key}
    )


@router.post("/dashboard/apps/{app_id}/identity/api-keys/{key_id}/revoke")
async def revoke_api_key(
    key_id: str, request: Request, state: StateDep, operator: OwnerDep, app: AppDep
) -> Response:
    try:
        await state.backend.database.run(lambda c: apps.revoke_api_key(c, app.id, key_id))
    except apps.ApiKeyNotFound:
        raise NotFound("This app has no such active API key.") from None
    await audit(request, state, operator, app.id, "api_key.revoked", key_id)
    return RedirectResponse(f"{_base(app.id)}?saved=key-revoked", status_code=303)
