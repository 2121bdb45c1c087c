"""POST /v1/widget/identify: the identity policy of SPEC section 2, applied.

``decide`` turns (app policy, key ring, what the browser claims) into a decision
without any I/O; ``identify`` applies it: rate limits, storage, the verification log.
The browser learns only verified / unverified / anonymous or a plain 401; why a
signature failed goes to the operator's log.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Annotated, Any, Final, Literal, TypeVar

import jwt
import msgspec

from ...core import TokenClaimInvalid, TokenError, token_hint, verify_identity_token
from ...core.tokens import DEFAULT_LEEWAY
from ...storage import contacts, identities
from ...vocabulary.clock import utcnow
from ..app_directory import AppConfig
from ..errors import ApiError
from ..identifier_field import IdentifierText, identifier_field
from ..text import MAX_NAME_CHARS
from .entry import PendingEntry
from .metadata import limit_metadata

MAX_TOKEN_LIFETIME: Final = timedelta(days=30)

T = TypeVar("T")
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


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    method: Method
    claim: contacts.Claim
    reason: str | None
    identifier: str | None  # what was claimed, for the log and the rate limits
    secret_id: str | None = None
    token_expires_at: datetime | None = None
    failure_code: str | None = None  # token failures are known at once
    failure_hint: str = ""
    needs_diagnosis: bool = False
    unverified_extra: dict[str, Any] = field(default_factory=dict)
    # What a refusal answers (401): a failed proof, or (allow_anonymous false) none.
    refusal: str = "identity_verification_failed"


ANONYMOUS: Final = contacts.Claim("anonymous")

_text = identifier_field  # the one identifier rule of every route (identifier_field.py)


def signed_identifier(config: AppConfig, user_id: T, email: T) -> tuple[T, T]:
    """(the identifier the app signs, the other one): the one place that reads the
    app's ``identifier`` setting."""
    if config.record.identifier == "user_id":
        return user_id, email
    return email, user_id


def _apply_mismatch(config: AppConfig, failed: Decision) -> Decision:
    """The one place a failed proof meets the app's policy (SPEC 2): ``report`` keeps
    the claim unverified; ``required`` drops it, refused (401) under ``reject`` or
    continued anonymous under ``anonymous``. A failure that named no identifier has
    nothing to keep."""
    policy = config.record
    if policy.identity_mode == "report" and failed.identifier is not None:
        return failed
    if policy.identity_mode == "report":
        return replace(failed, outcome="anonymous", claim=ANONYMOUS)
    outcome: Outcome = "refused" if policy.on_mismatch == "reject" else "anonymous"
    return replace(failed, outcome=outcome, claim=ANONYMOUS)


def _unverified_jwt_claims(token: str) -> dict[str, Any]:
    """A token's claims read without checking them, for ``off`` mode only."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return {}
    return claims if isinstance(claims, dict) else {}


def decide(config: AppConfig, body: IdentifyBody, now: datetime) -> Decision:
    """What identify should do, from the app's policy alone. Raises 422 for bad fields.

    A verified-only app (``allow_anonymous`` false, SPEC 15) refuses whatever is not
    verified with ``identity_required``: no anonymous or unverified conversation
    reaches its inbox."""
    decision = _decide(config, body, now)
    if config.record.allow_anonymous or decision.claim.status == "verified":
        return decision
    if decision.outcome == "refused":
        return decision  # a failed proof keeps its own answer and code
    return replace(
        decision,
        outcome="refused",
        claim=ANONYMOUS,
        reason="identity_required",
        refusal="identity_required",
        failure_hint=decision.failure_hint
        or "This app accepts only verified users (allow_anonymous is false).",
    )


def _decide(config: AppConfig, body: IdentifyBody, now: datetime) -> Decision:
    policy = config.record
    user_id = _text(body.user_id, "user_id") if body.user_id is not None else None
    email = _text(body.email, "email") if body.email is not None else None
    if body.user_jwt is not None:
        return _decide_token(config, body.user_jwt, user_id, email, now)
    claimed, other = signed_identifier(config, user_id, email)
    if claimed is None:
        return Decision("anonymous", "none", ANONYMOUS, "no_identity", None)
    unverified_claim = contacts.Claim("unverified", user_id=user_id, email=email)
    if policy.identity_mode == "off":
        return Decision("unverified", "none", unverified_claim, "verification_off", claimed)
    key = config.ring.match(claimed, body.user_hash)
    if key is None:
        failed = Decision(
            "unverified", "hash", unverified_claim, "verification_failed", claimed,
            needs_diagnosis=True,
        )  # fmt: skip
        return _apply_mismatch(config, failed)
    if user_id is not None and user_id in config.revoked_users:
        # A revoked user's hash is a leaked bearer credential forever: only a token
        # issued after the revocation names them now.
        return _apply_mismatch(
            config,
            Decision(
                "unverified", "hash", unverified_claim, "verification_failed", claimed,
                failure_code="user_requires_token",
                failure_hint=token_hint(
                    "user_requires_token", f"user {user_id!r} was revoked: hashes no longer verify"
                ),
            ),
        )  # fmt: skip
    by_user_id = policy.identifier == "user_id"
    # The identifier that was not signed is not proven: it stays off the verified
    # contact's identity columns, and joins the unverified metadata instead.
    claim = contacts.Claim(
        "verified",
        user_id=user_id if by_user_id else None,
        email=None if by_user_id else email,
        key=policy.identifier,
    )
    extra = {} if other is None else {"email" if by_user_id else "user_id": other}
    return Decision(
        "verified", "hash", claim, None, claimed, secret_id=key.id, unverified_extra=extra
    )


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
        claim = contacts.Claim(
            "unverified",
            user_id=user_id if sub is None else _text(sub, "user_jwt sub"),
            email=email if mail is None else _text(mail, "user_jwt email"),
        )
        identifier, _ = signed_identifier(config, claim.user_id, claim.email)
        if not identifier:
            return Decision("anonymous", "jwt", ANONYMOUS, "verification_off", identifier)
        return Decision("unverified", "jwt", claim, "verification_off", identifier)
    try:
        verified = verify_identity_token(
            token,
            config.ring,
            now=now,
            audience=policy.id,
            max_lifetime=MAX_TOKEN_LIFETIME,
            public_keys=config.public_keys,
        )
        _check_not_revoked(config, verified.user_id, verified.issued_at)
        identifier, _ = signed_identifier(config, verified.user_id, verified.email)
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
        failed = Decision(
            "unverified",
            "jwt",
            contacts.Claim("unverified", user_id=user_id, email=email),
            "verification_failed",
            signed_identifier(config, user_id, email)[0],
            failure_code=error.code,
            failure_hint=token_hint(error.code, str(error)),
        )
        return _apply_mismatch(config, failed)
    claim = contacts.Claim(
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


class _UserRevoked(TokenError):
    code = "user_revoked"


def _check_not_revoked(config: AppConfig, user_id: str | None, issued: datetime | None) -> None:
    """A revoked user's token verifies only if issued (``iat``) after the revocation."""
    if user_id is None or (revoked_at := config.revoked_users.get(user_id)) is None:
        return
    if issued is None or issued <= revoked_at:
        raise _UserRevoked(
            f"user {user_id!r} was revoked at {revoked_at.isoformat()} and this token was "
            + ("issued before that" if issued is not None else "has no iat")
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
    _, other = signed_identifier(config, body.user_id, body.email)
    return PendingEntry(
        app_id=policy.id,
        at=utcnow(),
        outcome=decision.outcome,
        method=decision.method,
        identifier=decision.identifier,
        origin=context.origin[:255] if context.origin else None,
        client_ip=context.client_ip,
        secret_id=decision.secret_id,
        code=decision.failure_code
        or ("ok" if decision.outcome == "verified" else _quiet_code(decision)),
        hint=decision.failure_hint,
        signature=body.user_hash if decision.needs_diagnosis else None,
        other_identifier=str(other) if other is not None else None,
        needs_diagnosis=decision.needs_diagnosis,
    )


def _quiet_code(decision: Decision) -> str:
    """The code of an outcome that is no failed proof: none, or a verified-only app's
    refusal of a visitor that claimed nothing."""
    return "identity_required" if decision.refusal == "identity_required" else "none"


def session_expiry(decision: Decision, context: RequestContext, now: datetime) -> datetime:
    """When the new session ends: the session TTL, or sooner, with the identity token."""
    expires = now + context.session_ttl
    if (token_end := decision.token_expires_at) is not None:
        # A session proven by an expiring token lives no longer than the token (the
        # widget asks for a new one before then). A token up to DEFAULT_LEEWAY past its
        # exp still verifies, for clock skew; ending its session at exp made it dead on
        # arrival, so it lives to the end of that skew instead.
        if token_end <= now:
            token_end += DEFAULT_LEEWAY
        expires = min(expires, token_end)
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
