"""POST /v1/widget/identify: the identity policy of SPEC section 2, applied.

``decide`` turns (app policy, key ring, what the browser claims) into a decision
without any I/O; ``identify`` applies it: rate limits, storage, the verification log.
The browser learns only verified / unverified / anonymous or a plain 401; why a
signature failed goes to the operator's log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Final, Literal

import jwt
import msgspec

from ...core import TokenClaimInvalid, TokenError, verify_identity_token
from ...storage import identities
from ...vocabulary.clock import utcnow
from ..app_directory import AppConfig
from ..errors import ApiError
from ..identifier_field import IdentifierText, identifier_field
from ..text import MAX_NAME_CHARS
from .entry import PendingEntry
from .metadata import limit_metadata

MAX_TOKEN_LIFETIME: Final = timedelta(days=30)

Outcome = Literal["verified", "unverified", "refused", "anonymous"]
Method = Literal["hash", "jwt", "none"]


class IdentifyBody(msgspec.Struct, forbid_unknown_fields=True):
    """The identify request. Unknown fields are refused so a typo ("user_hsh") is a
    clear 422 rather than a silently unverified user."""

    app_id: str
    # Looked up, never stored: no visitor id is longer than its column, so a longer one
    # is refused here rather than bound into the query.
    visitor_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    user_id: IdentifierText | int | None = None
    email: IdentifierText | None = None
    user_hash: str | None = None
    user_jwt: str | None = None
    user_metadata: dict[str, Any] | None = None


@dataclass(slots=True)
class Decision:
    outcome: Outcome
    method: Method
    claim: identities.Claim
    reason: str | None
    identifier: str | None  # what was claimed, for the log and the rate limits
    secret_id: str | None = None
    token_expires_at: datetime | None = None
    failure_code: str | None = None  # token failures are known at once
    failure_hint: str = ""
    needs_diagnosis: bool = False
    unverified_extra: dict[str, Any] = field(default_factory=dict)


_text = identifier_field  # the one identifier rule of every route (identifier_field.py)


def _unverified_jwt_claims(token: str) -> dict[str, Any]:
    """A token's claims read without checking them, for ``off`` mode only."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return {}
    return claims if isinstance(claims, dict) else {}


def decide(config: AppConfig, body: IdentifyBody, now: datetime) -> Decision:
    """What identify should do, from the app's policy alone. Raises 422 for bad fields."""
    policy = config.record
    user_id = _text(body.user_id, "user_id") if body.user_id is not None else None
    email = _text(body.email, "email") if body.email is not None else None
    claimed = user_id if policy.identifier == "user_id" else email
    other = email if policy.identifier == "user_id" else user_id

    unverified_claim = identities.Claim("unverified", user_id=user_id, email=email)

    if body.user_jwt is not None:
        return _decide_token(config, body.user_jwt, user_id, email, now)
    if claimed is None:
        return Decision("anonymous", "none", identities.Claim("anonymous"), "no_identity", None)
    if policy.identity_mode == "off":
        return Decision("unverified", "none", unverified_claim, "verification_off", claimed)
    key = config.ring.match(claimed, body.user_hash)
    if key is not None:
        claim = identities.Claim("verified", user_id=user_id, email=email, key=policy.identifier)
        if other is not None:
            # The identifier that was not signed is not proven: keep it off the
            # verified contact's identity columns.
            claim = identities.Claim(
                "verified",
                user_id=user_id if policy.identifier == "user_id" else None,
                email=email if policy.identifier == "email" else None,
                key=policy.identifier,
            )
        decision = Decision("verified", "hash", claim, None, claimed, secret_id=key.id)
        if other is not None:
            decision.unverified_extra = {
                "email" if policy.identifier == "user_id" else "user_id": other
            }
        return decision
    failed = Decision("unverified", "hash", unverified_claim, "verification_failed", claimed)
    failed.needs_diagnosis = True
    if policy.identity_mode == "report":
        return failed
    failed.claim = identities.Claim("anonymous")
    failed.outcome = "refused" if policy.on_mismatch == "reject" else "anonymous"
    return failed


def _decide_token(
    config: AppConfig, token: str, user_id: str | None, email: str | None, now: datetime
) -> Decision:
    policy = config.record
    if policy.identity_mode == "off":
        claims = _unverified_jwt_claims(token)
        sub, mail = claims.get("sub"), claims.get("email")
        # Unchecked, but stored and logged as the contact's identifiers all the same:
        # the rule of every identifier, or NUL, a forged log line or 20,000 characters
        # would ride in on a token nobody signed.
        claim = identities.Claim(
            "unverified",
            user_id=user_id if sub is None else _text(sub, "user_jwt sub"),
            email=email if mail is None else _text(mail, "user_jwt email"),
        )
        identifier = claim.user_id if policy.identifier == "user_id" else claim.email
        status: Outcome = "unverified" if identifier else "anonymous"
        if status == "anonymous":
            claim = identities.Claim("anonymous")
        return Decision(status, "jwt", claim, "verification_off", identifier)
    try:
        verified = verify_identity_token(
            token, config.ring, now=now, audience=policy.id, max_lifetime=MAX_TOKEN_LIFETIME
        )
        identifier = verified.user_id if policy.identifier == "user_id" else verified.email
        if identifier is None:
            raise TokenError(f"the identity token has no {policy.identifier} claim")
        if user_id is not None and verified.user_id is not None and user_id != verified.user_id:
            raise TokenError("user_id differs from the identity token's sub")
        name = verified.attributes.get("name")
        if isinstance(name, str) and len(name) > MAX_NAME_CHARS:
            # The contact's name column holds no more: a failed token, not a failed write.
            raise TokenClaimInvalid(
                f"the identity token's name claim is longer than {MAX_NAME_CHARS} characters"
            )
    except TokenError as error:
        claimed = user_id if policy.identifier == "user_id" else email
        failed = Decision(
            "unverified",
            "jwt",
            identities.Claim("unverified", user_id=user_id, email=email),
            "verification_failed",
            claimed,
            failure_code=error.code,
            failure_hint=str(error),
        )
        if claimed is None:
            failed.claim = identities.Claim("anonymous")
            failed.outcome = "anonymous"
        if policy.identity_mode == "required":
            failed.claim = identities.Claim("anonymous")
            failed.outcome = "refused" if policy.on_mismatch == "reject" else "anonymous"
        return failed
    claim = identities.Claim(
        "verified",
        user_id=verified.user_id,
        email=verified.email,
        key=policy.identifier,
        name=name if isinstance(name, str) else None,
        attributes=verified.attributes,
    )
    return Decision(
        "verified",
        "jwt",
        claim,
        None,
        identifier,
        secret_id=verified.key_id,
        token_expires_at=verified.expires_at,
    )


@dataclass(frozen=True, slots=True)
class RequestContext:
    origin: str | None
    client_ip: str
    session_ttl: timedelta


def check_origin(config: AppConfig, origin: str | None) -> None:
    if not config.allows_origin(origin):
        raise ApiError(403, "origin_not_allowed", "this origin may not use this app's widget")


def pending_entry(
    config: AppConfig, body: IdentifyBody, decision: Decision, context: RequestContext
) -> PendingEntry:
    policy = config.record
    other = body.email if policy.identifier == "user_id" else body.user_id
    return PendingEntry(
        app_id=policy.id,
        at=utcnow(),
        outcome=decision.outcome,
        method=decision.method,
        identifier=decision.identifier,
        origin=context.origin[:255] if context.origin else None,
        client_ip=context.client_ip,
        secret_id=decision.secret_id,
        code=decision.failure_code or ("ok" if decision.outcome == "verified" else "none"),
        hint=decision.failure_hint,
        signature=body.user_hash if decision.needs_diagnosis else None,
        other_identifier=str(other) if other is not None else None,
        needs_diagnosis=decision.needs_diagnosis,
    )


def session_expiry(decision: Decision, context: RequestContext, now: datetime) -> datetime:
    """When the new session ends: the session TTL, or sooner, with the identity token."""
    expires = now + context.session_ttl
    if decision.token_expires_at is not None:
        # A session proven by an expiring token lives no longer than the token.
        expires = min(expires, decision.token_expires_at)
    return expires.replace(microsecond=0)  # what the token can carry: whole seconds


def response_document(
    token: str,
    expires_at: datetime,
    identified: identities.Identified,
    decision: Decision,
    warnings: list[dict[str, str]],
) -> dict[str, Any]:
    return {
        "session_token": token,
        "expires_at": expires_at.isoformat(),
        "visitor_id": identified.visitor_id,
        "contact": identified.contact.as_dict(),
        "identity": {
            "status": decision.claim.status,
            "reason": decision.reason,
        },
        "warnings": warnings,
    }


def metadata_for(
    config: AppConfig, body: IdentifyBody, decision: Decision
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    metadata = dict(body.user_metadata or {})
    if decision.claim.status == "verified":
        for key, value in decision.unverified_extra.items():
            metadata.setdefault(key, value)
    return limit_metadata(metadata, config.record.max_metadata_chars)


def failed(decision: Decision) -> bool:
    """Whether a claim was made and its proof failed."""
    return decision.needs_diagnosis or decision.failure_code is not None


def rate_limited(decision: Decision, wait: int | None) -> ApiError | None:
    """How the failure limits bear on ``decision`` (``wait``: seconds still blocked).

    Only failures are limited: a valid proof always passes (checking it costs a
    microsecond, so an attacker's failures cannot lock the real user out), and
    anonymous visitors are never limited. A blocked failure is refused with 429 where
    the policy would refuse it anyway (``required`` + ``reject``); elsewhere it takes
    the policy's own answer (unverified in ``report``, anonymous when the identity is
    dropped), just without another log entry or diagnosis.
    """
    if wait is None or not failed(decision):
        return None
    if decision.outcome == "refused":
        return ApiError(
            429,
            "rate_limited",
            "too many failed identify attempts; try again later",
            headers={"Retry-After": str(wait)},
        )
    return None
