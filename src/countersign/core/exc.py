"""Exceptions of the identity core, one base and a subclass per cause.

Verification itself never raises for a bad signature (it answers ``False``); these
are for misuse the caller must fix (an empty secret, an identifier we refuse to sign)
and for identity tokens, whose failures carry a machine-readable ``code``.
"""

from __future__ import annotations


class CountersignError(Exception):
    """Base of every error the identity core raises."""

    code = "countersign_error"


class InvalidSecret(CountersignError, ValueError):
    """A secret is empty, of the wrong type, or otherwise unusable as an HMAC key."""

    code = "invalid_secret"


class InvalidIdentifier(CountersignError, ValueError):
    """An identifier breaks the rules of SPEC section 2 (type, length, control characters)."""

    code = "invalid_identifier"


class InvalidEncoding(CountersignError, ValueError):
    """An unknown signature encoding was asked for."""

    code = "invalid_encoding"


class TokenError(CountersignError):
    """An identity token was refused. ``code`` says why, for the operator's log only.

    The browser must get one opaque answer whatever the cause (no oracle), so callers
    log ``code`` and return a generic error.
    """

    code = "token_invalid"


class TokenMalformed(TokenError):
    code = "token_malformed"


class TokenSignatureInvalid(TokenError):
    code = "token_bad_signature"


class TokenUnknownKey(TokenError):
    code = "token_unknown_kid"


class TokenAlgMismatch(TokenError):
    """The header's ``alg`` is not the algorithm of the key its ``kid`` names."""

    code = "token_alg_mismatch"


class TokenRevokedKey(TokenError):
    code = "token_revoked_key"


class TokenExpired(TokenError):
    code = "token_expired"


class TokenNotYetValid(TokenError):
    code = "token_not_yet_valid"


class TokenClaimInvalid(TokenError):
    code = "token_claim_invalid"


class TokenMissingClaim(TokenClaimInvalid):
    code = "token_missing_claim"


class TokenWrongAudience(TokenClaimInvalid):
    code = "token_wrong_audience"
