"""Why a signature failed: the operator's answer to "but my hash is right".

A failed check is re-run against the mistakes integrators actually make (a trailing
newline on the secret, a lowercased email, SHA-256 instead of HMAC, ...) in the fixed
order of SPEC section 2; the first that reproduces the presented MAC names the cause.
Each candidate costs one HMAC, a few dozen in all, so callers bound how often they run
it (the server diagnoses off the request's hot path, per app).

The result is for the operator only: the browser gets a plain 401. No hint ever
contains a secret, an expected MAC or anything derived from one.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from .compare import macs_equal
from .encoding import MAC_SIZE, decode_signature
from .exc import InvalidIdentifier
from .identifiers import identifier_text
from .mac import hmac_sha256
from .secret import Secret, SecretLike
from .signing import as_secret_list

DiagnosisCode = Literal[
    "ok",
    "missing_signature",
    "signature_is_identifier",
    "malformed_signature",
    "revoked_secret",
    "secret_whitespace",
    "identifier_case",
    "identifier_whitespace",
    "other_identifier",
    "public_key_used",
    "plain_hash",
    "hex_decoded_secret",
    "unknown",
]

#: Failure codes in their order of precedence (SPEC section 2).
FAILURE_CODES: Final[tuple[DiagnosisCode, ...]] = (
    "missing_signature",
    "signature_is_identifier",
    "malformed_signature",
    "revoked_secret",
    "secret_whitespace",
    "identifier_case",
    "identifier_whitespace",
    "other_identifier",
    "public_key_used",
    "plain_hash",
    "hex_decoded_secret",
    "unknown",
)

#: One line per code telling the integrator what to change.
HINTS: Final[dict[DiagnosisCode, str]] = {
    "ok": "The signature is valid.",
    "missing_signature": (
        "No signature was sent: compute HMAC-SHA256(secret, identifier) on your server "
        "and pass it to the widget with the identifier."
    ),
    "signature_is_identifier": (
        "The identifier itself was sent as the hash: send HMAC-SHA256(secret, identifier) "
        "computed on your server."
    ),
    "malformed_signature": (
        "The hash is not a 32-byte HMAC-SHA256 in hex (64 characters) or base64 (43/44)."
    ),
    "revoked_secret": (
        "Signed with a revoked or expired secret: switch your server to a current secret."
    ),
    "secret_whitespace": (
        "The secret your server uses differs by whitespace or a newline (often from a .env "
        "file or echo): trim it where your server loads it."
    ),
    "identifier_case": (
        "The identifier was signed in another letter case: sign it exactly as you pass it "
        "to the widget (don't lowercase or uppercase emails)."
    ),
    "identifier_whitespace": (
        "The identifier was signed with whitespace added or removed: sign exactly the "
        "string you pass to the widget."
    ),
    "other_identifier": (
        "The hash is of the contact's other identifier (email instead of user id, or the "
        "reverse): sign the identifier this app is set to verify."
    ),
    "public_key_used": (
        "Keyed with the public app_id instead of the identity secret: use the identity "
        "secret, and keep it on your server."
    ),
    "plain_hash": (
        "A plain SHA-256 was sent, not an HMAC: use HMAC-SHA256 with the secret as the key "
        "(hmac.new / crypto.createHmac / hash_hmac)."
    ),
    "hex_decoded_secret": (
        "The secret was hex-decoded before use: use the secret string as UTF-8 bytes, "
        "exactly as shown."
    ),
    "unknown": (
        "The hash matches no current secret: check that your server signs this exact "
        "identifier with this app's current secret."
    ),
}

_HEX_DIGEST_NAMES: Final = {
    32: "MD5 or a truncated tag",
    40: "SHA-1",
    56: "SHA-224",
    96: "SHA-384",
    128: "SHA-512",
}
_HEX = re.compile(r"[0-9a-fA-F]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """What a signature check found: ``code`` (``"ok"`` or a failure code) and ``hint``.

    ``secret_id`` names the secret involved where one is (the active one that verified,
    or the revoked one that was used), when the caller gave ids.
    """

    code: DiagnosisCode
    hint: str
    secret_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.code == "ok"


KeyMaterial = tuple[str | None, bytes]
"""A secret's id (or ``None``) and its key bytes."""


def diagnose(
    secrets: SecretLike | Iterable[SecretLike],
    identifier: object,
    signature: object,
    *,
    revoked_secrets: Iterable[SecretLike] = (),
    other_identifier: object = None,
    app_id: str | None = None,
) -> Diagnosis:
    """Check ``signature`` and, if it fails, say which integration mistake produced it.

    ``secrets`` are the app's active secrets, ``revoked_secrets`` its revoked or expired
    ones, ``other_identifier`` the contact's email when the user id is verified (or the
    reverse), ``app_id`` the app's public id. Never raises for what a browser sends.
    """
    return diagnose_keys(
        [(None, secret.reveal()) for secret in as_secret_list(secrets)],
        identifier,
        signature,
        revoked=[(None, Secret(secret).reveal()) for secret in revoked_secrets],
        other_identifier=other_identifier,
        app_id=app_id,
    )


def diagnose_keys(
    active: Sequence[KeyMaterial],
    identifier: object,
    signature: object,
    *,
    revoked: Sequence[KeyMaterial] = (),
    other_identifier: object = None,
    app_id: str | None = None,
) -> Diagnosis:
    """:func:`diagnose` over key material with ids, as a key ring holds it."""
    if signature is None or signature == "":
        return _found("missing_signature")
    try:
        text = identifier_text(identifier)
        message = text.encode("utf-8")
    except (InvalidIdentifier, UnicodeEncodeError) as error:
        return Diagnosis("unknown", f"The identifier cannot be signed: {error}.")
    if isinstance(signature, str) and signature.strip().casefold() == text.casefold():
        return _found("signature_is_identifier")
    presented = decode_signature(signature)
    if presented is None:
        return Diagnosis("malformed_signature", describe_malformed(signature))

    def matches(mac: bytes) -> bool:
        return macs_equal(mac, presented)

    for key_id, key in active:
        if matches(_hmac(key, message)):
            return _found("ok", key_id)
    for key_id, key in revoked:
        if matches(_hmac(key, message)):
            return _found("revoked_secret", key_id)

    checks: list[tuple[DiagnosisCode, Callable[[], Iterator[tuple[str | None, bytes]]]]] = [
        ("secret_whitespace", lambda: _whitespace_keys(active, message)),
        ("identifier_case", lambda: _case_variants(active, text)),
        ("identifier_whitespace", lambda: _whitespace_variants(active, text)),
        ("other_identifier", lambda: _other_identifier(active, other_identifier)),
        ("public_key_used", lambda: _public_key(app_id, message)),
        ("plain_hash", lambda: _plain_hashes(active, message)),
        ("hex_decoded_secret", lambda: _hex_decoded(active, message)),
    ]
    for code, candidates in checks:
        for key_id, mac in candidates():
            if matches(mac):
                return _found(code, key_id)
    return _found("unknown")


def describe_malformed(signature: object) -> str:
    """A one-line description of what a malformed signature looks like, and the fix."""
    expected = HINTS["malformed_signature"]
    if not isinstance(signature, str):
        return f"The hash must be a string, not {_json_type(signature)}. {expected}"
    if not signature.isascii():
        return f"The hash contains non-ASCII characters. {expected}"
    stripped = signature.strip()
    if stripped != signature and decode_signature(stripped) is not None:
        return "The hash has surrounding whitespace or a newline: strip it before sending."
    if _HEX.fullmatch(stripped):
        name = _HEX_DIGEST_NAMES.get(len(stripped))
        if name:
            return f"{len(stripped)} hex characters look like {name}, not HMAC-SHA256. {expected}"
        if len(stripped) != 64:
            return f"{len(stripped)} hex characters; a full HMAC-SHA256 is 64. {expected}"
    if _BASE64.fullmatch(stripped):
        raw = _lenient_base64(stripped)
        if raw is not None and len(raw) != MAC_SIZE:
            if len(raw) == 2 * MAC_SIZE and _HEX.fullmatch(raw.decode("latin-1")):
                return (
                    "This is base64 of the hex digest: send the hex digest itself, or "
                    "base64 of the raw 32 bytes."
                )
            return f"base64 of {len(raw)} bytes; an HMAC-SHA256 is 32 bytes. {expected}"
    return f"Not hex or base64 of 32 bytes ({len(signature)} characters). {expected}"


def _found(code: DiagnosisCode, secret_id: str | None = None) -> Diagnosis:
    return Diagnosis(code, HINTS[code], secret_id)


_hmac = hmac_sha256


def _whitespace_keys(
    active: Sequence[KeyMaterial], message: bytes
) -> Iterator[tuple[str | None, bytes]]:
    for key_id, key in active:
        variants = {key.strip(), key.rstrip(), key.lstrip()}
        variants.update(key + suffix for suffix in (b"\n", b"\r\n", b" ", b"\t"))
        variants.discard(key)
        variants.discard(b"")
        for variant in variants:
            yield key_id, _hmac(variant, message)


def _case_variants(active: Sequence[KeyMaterial], text: str) -> Iterator[tuple[str | None, bytes]]:
    variants = {text.lower(), text.upper(), text.capitalize()} - {text}
    yield from _each_key(active, variants)


def _whitespace_variants(
    active: Sequence[KeyMaterial], text: str
) -> Iterator[tuple[str | None, bytes]]:
    variants = {text.strip(), text + "\n", text + "\r\n", text + " ", " " + text} - {text, ""}
    yield from _each_key(active, variants)


def _other_identifier(
    active: Sequence[KeyMaterial], other: object
) -> Iterator[tuple[str | None, bytes]]:
    if other is None:
        return
    try:
        yield from _each_key(active, {identifier_text(other)})
    except InvalidIdentifier:
        return


def _public_key(app_id: str | None, message: bytes) -> Iterator[tuple[str | None, bytes]]:
    if app_id:
        yield None, _hmac(app_id.encode("utf-8", "surrogatepass"), message)


def _plain_hashes(
    active: Sequence[KeyMaterial], message: bytes
) -> Iterator[tuple[str | None, bytes]]:
    yield None, hashlib.sha256(message).digest()
    for key_id, key in active:
        yield key_id, hashlib.sha256(key + message).digest()
        yield key_id, hashlib.sha256(message + key).digest()


def _hex_decoded(
    active: Sequence[KeyMaterial], message: bytes
) -> Iterator[tuple[str | None, bytes]]:
    for key_id, key in active:
        try:
            decoded = binascii.unhexlify(key)
        except (binascii.Error, ValueError):
            continue
        if decoded:
            yield key_id, _hmac(decoded, message)


def _each_key(
    active: Sequence[KeyMaterial], texts: Iterable[str]
) -> Iterator[tuple[str | None, bytes]]:
    for text in texts:
        try:
            message = text.encode("utf-8")
        except UnicodeEncodeError:
            continue
        for key_id, key in active:
            yield key_id, _hmac(key, message)


def _lenient_base64(text: str) -> bytes | None:
    padded = text.replace("-", "+").replace("_", "/").rstrip("=")
    padded += "=" * (-len(padded) % 4)
    try:
        return binascii.a2b_base64(padded, strict_mode=True)
    except binascii.Error:
        return None


def _json_type(value: object) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", list: "an array"}
    return names.get(type(value), "an object" if isinstance(value, dict) else type(value).__name__)


__all__ = ["FAILURE_CODES", "HINTS", "Diagnosis", "DiagnosisCode", "diagnose", "diagnose_keys"]
