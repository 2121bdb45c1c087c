"""The diagnosis codes of failed identity tokens (SPEC 15), each with a one-line fix.

A hash failure is diagnosed by trying the usual mistakes (``diagnosis.py``); a token
says what is wrong with it as it is checked, so its code is the exception's
(``exc.py``) and its fix is looked up here, for the verification log, ``countersign
log``, the ``identity.failed`` webhook and ``countersign verify-token``.
"""

from __future__ import annotations

from typing import Final

TOKEN_FIXES: Final[dict[str, str]] = {
    "token_malformed": (
        "Send the compact JWT exactly as your JWT library returns it (three base64url "
        "parts, at most 8 KB, no crit header)."
    ),
    "token_unknown_kid": (
        "Set the header's kid to the id of a registered public key (countersign "
        "public-keys list) or identity secret; for a JWKS URL, publish the key there."
    ),
    "token_alg_mismatch": (
        "Sign with the key's own algorithm: EdDSA for Ed25519, ES256 for P-256, RS256 for "
        "RSA, HS256 for identity secrets; never alg none."
    ),
    "token_bad_signature": (
        "Sign with the private key (or secret) whose kid the header names, and send the "
        "token unmodified."
    ),
    "token_expired": (
        "Issue a fresh token when the page loads (and pass refresh to the widget); check "
        "your server's clock."
    ),
    "token_not_yet_valid": "Check your server's clock: nbf or iat lies in the future.",
    "token_wrong_audience": "Set aud to this app's app_id, or leave aud out.",
    "token_missing_claim": "Add exp and sub (or email, if the app is keyed by email).",
    "token_claim_invalid": "Fix the claim the hint names: identifiers are 1-255 characters.",
    "token_revoked_key": (
        "The key or secret that signed this token is revoked: sign with a current one."
    ),
    "token_invalid": "Check the token's claims against this app's identifier setting.",
    "user_requires_token": (
        "This user was revoked: a static hash no longer identifies them; send a user_jwt "
        "issued after the revocation."
    ),
    "user_revoked": ("This user was revoked after this token was issued (iat): issue a new token."),
}

TOKEN_CODES: Final = tuple(TOKEN_FIXES)


def token_fix(code: str) -> str:
    """The one-line fix for a token failure ``code`` (empty for an unknown code)."""
    return TOKEN_FIXES.get(code, "")


def token_hint(code: str, message: str) -> str:
    """What the log shows: what was found, then what to do about it."""
    fix = token_fix(code)
    return f"{message}. Fix: {fix}" if fix else message
