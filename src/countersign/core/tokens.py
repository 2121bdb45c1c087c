"""Signed identity tokens: an expiring JWT instead of a hash that is valid forever.

The customer's backend issues an HS256 JWT under one of the app's identity secrets
(``kid`` = the secret's id) with a required ``exp``; its claims become the contact's
*verified* attributes. PyJWT does the JOSE work with an explicit algorithm allow-list
(so no ``none`` and no algorithm confusion); the time claims are checked here against
an injectable ``now`` with a bounded clock skew.

PyJWT is imported by the functions that use it, on their first call: importing it
costs more than the rest of ``import countersign`` together, and a backend that only
signs hashes (``from countersign import sign``) never needs it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from .exc import (
    InvalidIdentifier,
    TokenAlgMismatch,
    TokenClaimInvalid,
    TokenExpired,
    TokenMalformed,
    TokenMissingClaim,
    TokenNotYetValid,
    TokenRevokedKey,
    TokenSignatureInvalid,
    TokenUnknownKey,
    TokenWrongAudience,
)
from .identifiers import identifier_text
from .keyring import KeyRing, RingKey
from .public_keys import EMPTY_KEYS, PublicKeySet

ALGORITHMS: Final = ["HS256"]
DEFAULT_LEEWAY: Final = timedelta(seconds=60)
MAX_LEEWAY: Final = timedelta(minutes=5)
MAX_TOKEN_CHARS: Final = 8192
#: Claims about the token itself, which never become contact attributes.
REGISTERED_CLAIMS: Final = frozenset({"exp", "nbf", "iat", "iss", "aud", "jti", "sub", "email"})


@dataclass(frozen=True, slots=True)
class IdentityClaims:
    """What a valid identity token proves about the user."""

    user_id: str | None
    email: str | None
    attributes: dict[str, Any]
    key_id: str
    expires_at: datetime
    issued_at: datetime | None = None


def issue_identity_token(
    keys: KeyRing | RingKey,
    *,
    user_id: str | int | None = None,
    email: str | None = None,
    claims: Mapping[str, Any] | None = None,
    expires_in: timedelta = timedelta(hours=1),
    now: datetime | None = None,
) -> str:
    """An HS256 identity token signed by ``keys`` (a ring's newest key, or one key).

    This is what a customer's backend calls; ``claims`` (``name``, plan, ...) become
    verified attributes.
    """
    import jwt  # noqa: PLC0415 (lazy: see the module's docstring)

    key = keys.signing_key if isinstance(keys, KeyRing) else keys
    issued = _utc(now)
    payload: dict[str, Any] = dict(claims or {})
    if user_id is not None:
        payload["sub"] = identifier_text(user_id)
    if email is not None:
        payload["email"] = identifier_text(email)
    payload["iat"] = int(issued.timestamp())
    payload["exp"] = int((issued + expires_in).timestamp())
    return jwt.encode(payload, key.secret.reveal(), algorithm="HS256", headers={"kid": key.id})


def verify_identity_token(
    token: object,
    keys: KeyRing,
    *,
    now: datetime | None = None,
    leeway: timedelta = DEFAULT_LEEWAY,
    audience: str | None = None,
    max_lifetime: timedelta | None = None,
    public_keys: PublicKeySet = EMPTY_KEYS,
) -> IdentityClaims:
    """The verified claims of ``token``, or a :class:`TokenError` subclass saying why not.

    ``kid`` picks the key: one of ``public_keys`` (verified with that key's own
    algorithm) or an identity secret of ``keys`` (HS256); a token without one is tried
    against every active secret. ``leeway`` (at most five minutes) absorbs clock skew
    between the backend and us. ``audience``, when given, must appear in an ``aud``
    claim if the token has one. ``max_lifetime`` refuses tokens whose ``exp`` lies
    further than that past ``iat``.
    """
    if leeway > MAX_LEEWAY or leeway < timedelta(0):
        raise ValueError("leeway must be between 0 and 5 minutes")
    header = read_header(token)
    assert isinstance(token, str)  # read_header refuses anything else
    key_id, payload = _decode(token, header, keys, public_keys)
    checked_now = _utc(now).timestamp()
    expires = _check_times(payload, checked_now, leeway.total_seconds(), max_lifetime)
    _check_audience(payload, audience)
    _check_text(payload)
    user_id = _identifier_claim(payload, "sub")
    email = _identifier_claim(payload, "email")
    if user_id is None and email is None:
        raise TokenMissingClaim("the identity token names no user: add sub or email")
    attributes = {name: value for name, value in payload.items() if name not in REGISTERED_CLAIMS}
    issued = _numeric_claim(payload, "iat")
    return IdentityClaims(
        user_id=user_id,
        email=email,
        attributes=attributes,
        key_id=key_id,
        expires_at=datetime.fromtimestamp(expires, UTC),
        issued_at=None if issued is None else datetime.fromtimestamp(issued, UTC),
    )


def read_header(token: object) -> dict[str, Any]:
    """The unverified JOSE header of a compact JWT, bounded before any parsing.

    Refused here (``token_malformed``): anything but an ASCII string of at most 8 KB,
    a header that is not JSON, and ``crit`` (no extension is understood, so RFC 7515
    says refuse). ``alg: none`` is an algorithm mismatch: no key verifies it.
    """
    import jwt  # noqa: PLC0415 (lazy: see the module's docstring)

    if not isinstance(token, str) or not token:
        raise TokenMalformed("the identity token is not a compact JWT")
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenMalformed(
            f"the identity token is {len(token)} characters; at most {MAX_TOKEN_CHARS} are "
            "accepted: keep custom claims small (send the rest with PUT /v1/users)"
        )
    if not token.isascii():  # compact JWTs are base64url and dots only
        raise TokenMalformed("the identity token is not a compact JWT")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise TokenMalformed("the identity token is not a compact JWT") from None
    if "crit" in header:
        raise TokenMalformed("the identity token has a crit header, which is refused")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none":
        raise TokenAlgMismatch("the identity token is unsigned (alg none), which is refused")
    return header


def _decode(
    token: str, header: Mapping[str, Any], keys: KeyRing, public_keys: PublicKeySet
) -> tuple[str, dict[str, Any]]:
    kid = header.get("kid")
    alg = header["alg"]
    if kid is not None and not isinstance(kid, str):
        raise TokenUnknownKey("the identity token's kid is not a string")
    if kid is not None and (public := public_keys.get(kid)) is not None:
        # The algorithm is the key's: a token saying HS256 (keyed with the public
        # key's bytes) or any other is refused before its signature is looked at.
        if alg != public.alg:
            raise TokenAlgMismatch(
                f"the identity token says alg {alg[:20]!r} but key {kid!r} verifies {public.alg}"
            )
        return public.id, _jwt_decode(token, public_keys.verifier(public), public.alg)
    if kid is not None and public_keys.is_revoked(kid):
        raise TokenRevokedKey(f"the identity token's key {kid!r} has been revoked")
    if kid is None:
        if alg != "HS256":
            raise TokenUnknownKey(f"an {alg[:20]} identity token must name its public key with kid")
        candidates: tuple[RingKey, ...] = keys.keys
    elif (key := keys.get(kid)) is not None:
        candidates = (key,)
    elif any(revoked.id == kid for revoked in keys.revoked):
        raise TokenRevokedKey(f"the identity token's secret {kid!r} is revoked or expired")
    else:
        raise TokenUnknownKey(
            f"the identity token's kid {kid[:64]!r} names no active key or secret of this app"
        )
    if alg != "HS256":
        raise TokenAlgMismatch(
            f"the identity token says alg {alg[:20]!r} but secrets verify only HS256"
        )
    for candidate in candidates:
        try:
            return candidate.id, _jwt_decode(token, candidate.secret.reveal(), "HS256")
        except TokenSignatureInvalid:
            continue
    raise TokenSignatureInvalid("the identity token's signature matches no active secret")


def _jwt_decode(token: str, key: Any, algorithm: str) -> dict[str, Any]:
    import jwt  # noqa: PLC0415 (lazy: see the module's docstring)

    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],  # the one algorithm of this key
            options={
                "verify_exp": False,  # checked below against the injectable clock
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
                "require": ["exp"],
            },
        )
    except jwt.InvalidSignatureError:
        raise TokenSignatureInvalid("the identity token's signature is not valid") from None
    except jwt.MissingRequiredClaimError as error:
        raise TokenMissingClaim(f"the identity token has no {error.claim} claim") from None
    except jwt.InvalidAlgorithmError:
        raise TokenAlgMismatch(f"the identity token must be signed with {algorithm}") from None
    except jwt.InvalidTokenError as error:
        raise TokenMalformed(f"the identity token is invalid: {error}") from None
    return payload


def _check_times(
    payload: Mapping[str, Any], now: float, leeway: float, max_lifetime: timedelta | None
) -> float:
    expires = _numeric_claim(payload, "exp")
    assert expires is not None  # required by the decode
    if now > expires + leeway:
        raise TokenExpired("the identity token has expired")
    not_before = _numeric_claim(payload, "nbf")
    if not_before is not None and now + leeway < not_before:
        raise TokenNotYetValid("the identity token is not valid yet (nbf)")
    issued = _numeric_claim(payload, "iat")
    if issued is not None and now + leeway < issued:
        raise TokenNotYetValid("the identity token was issued in the future (iat)")
    if max_lifetime is not None and expires - (issued or now) > max_lifetime.total_seconds():
        raise TokenClaimInvalid("the identity token lives longer than this app allows")
    return expires


def _numeric_claim(payload: Mapping[str, Any], name: str) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TokenClaimInvalid(f"the identity token's {name} claim is not a number")
    return float(value)


def _check_audience(payload: Mapping[str, Any], audience: str | None) -> None:
    if audience is None or "aud" not in payload:
        return
    aud = payload["aud"]
    allowed = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if audience not in allowed:
        raise TokenWrongAudience(
            f"the identity token is for another audience: set aud to this app's id ({audience})"
        )


def _unstorable(text: str) -> bool:
    """Whether ``text`` holds NUL or a lone surrogate: no database stores either."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_text(payload: Mapping[str, Any]) -> None:
    """Refuse a token with text its holder could not store in any claim.

    JSON escapes spell NUL and lone surrogates (``"\\ud800"``), and the claims become
    the contact's identifiers, name and attributes: refused here, naming the claim,
    they are a failed token in the log instead of a failed write.
    """
    for name, value in payload.items():
        stack: list[Any] = [name, value]
        while stack:  # iterative: a deeply nested claim cannot exhaust the stack
            item = stack.pop()
            if isinstance(item, str):
                if _unstorable(item):
                    raise TokenClaimInvalid(
                        f"the identity token's {name[:40]!r} claim holds NUL or an "
                        "unpaired surrogate, which cannot be stored"
                    )
            elif isinstance(item, dict):
                stack.extend(item)
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)


def _identifier_claim(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if value is None:
        return None
    try:
        return identifier_text(value)
    except InvalidIdentifier as error:
        raise TokenClaimInvalid(f"the identity token's {name} claim: {error}") from None


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return moment
