"""App settings → identity → public keys (SPEC 15): register the public half of the
customer's signing key (a JWK or PEM pasted in, or a JWKS URL), see each key's last
use, revoke one. Owners only, audited, in force at once on this node.

A pasted private key is refused with the reason and nothing is stored: Countersign
must never hold a key that can sign a user.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ....core import InvalidPublicKey, PublicKey, parse_jwk, parse_pem
from ....outbound.jwks import JwksFetchFailed, fetch_jwks
from ....storage import public_keys
from ....vocabulary.clock import utcnow
from ...state import StateDep
from ..auth import AppDep, OwnerDep, audit
from ..errors import NotFound
from ..route import dashboard_router, form_of
from .identity import settings_page

router = dashboard_router()


def _base(app_id: str) -> str:
    return f"/dashboard/apps/{app_id}/identity"


def _parse(text: str, kid: str) -> PublicKey:
    if "-----BEGIN" in text:
        if not kid:
            raise InvalidPublicKey("a PEM names no key: give it a kid")
        return parse_pem(text, kid=kid)
    return parse_jwk(text, kid=kid or None)


@router.post("/dashboard/apps/{app_id}/identity/public-keys")
async def add_public_key(
    request: Request, state: StateDep, operator: OwnerDep, app: AppDep
) -> Response:
    form = form_of(request)
    key_text = form.text("public_key", max_chars=16_384, required=False).strip()
    kid = form.text("kid", max_chars=64, required=False).strip()
    url = form.text("jwks_url", max_chars=2048, required=False).strip()
    private_network = bool(form.text("allow_private_network", max_chars=1, required=False))
    try:
        if bool(key_text) == bool(url):
            raise InvalidPublicKey("paste a public key (JWK or PEM) or give a JWKS URL, not both")
        if url:
            try:
                document = await fetch_jwks(
                    state.outbound, url, allow_private_network=private_network
                )
            except JwksFetchFailed as error:
                raise InvalidPublicKey(f"the JWKS could not be fetched: {error}") from None
            info = await state.backend.database.run(
                lambda c: public_keys.add_jwks_url(
                    c, app.id, url, document, utcnow(), allow_private_network=private_network
                )
            )
        else:
            key = _parse(key_text, kid)
            info = await state.backend.database.run(lambda c: public_keys.add_key(c, app.id, key))
    except (InvalidPublicKey, public_keys.InvalidKey, public_keys.PublicKeyConflict) as error:
        return await settings_page(request, state, operator, app, status=422, problem=str(error))
    state.directory.invalidate(app.id)
    await audit(request, state, operator, app.id, "public_key.added", info.id)
    return RedirectResponse(f"{_base(app.id)}?saved=public-key#public-keys", status_code=303)


@router.post("/dashboard/apps/{app_id}/identity/public-keys/{key_id}/revoke")
async def revoke_public_key(
    key_id: str, request: Request, state: StateDep, operator: OwnerDep, app: AppDep
) -> Response:
    if not public_keys.is_public_key_id(key_id):
        raise NotFound("This app has no such public key.")
    try:
        await state.backend.database.run(lambda c: public_keys.revoke_key(c, app.id, key_id))
    except public_keys.PublicKeyNotFound:
        raise NotFound("This app has no such public key.") from None
    state.directory.secrets_changed(app.id)  # the sessions it verified end now
    await audit(request, state, operator, app.id, "public_key.revoked", key_id)
    return RedirectResponse(
        f"{_base(app.id)}?saved=public-key-revoked#public-keys", status_code=303
    )
