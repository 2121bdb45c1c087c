"""Public keys that verify identity tokens: parsed, checked, and named by ``kid``.

A customer that registers only the public half of its key keeps the only thing that
can sign a user: Countersign's database and master key then forge nobody. So nothing
here ever accepts a private key, and the algorithm a token is checked with comes
from the stored key (Ed25519 → EdDSA, P-256 → ES256, RSA ≥ 2048 bits → RS256),
never from the token's header: an HS256 token keyed with the public key's bytes
cannot verify, because HS256 is never the algorithm of a public key.

Every check here refuses with :class:`InvalidPublicKey` and a sentence the operator
can act on, before anything is stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from .exc import CountersignError

PublicAlgorithm = Literal["EdDSA", "ES256", "RS256"]
PUBLIC_ALGORITHMS: Final[tuple[PublicAlgorithm, ...]] = ("EdDSA", "ES256", "RS256")
KID: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
MIN_RSA_BITS: Final = 2048
MAX_RSA_BITS: Final = 8192  # larger keys only cost verification time
MAX_KEY_CHARS: Final = 16_384  # a 8192-bit RSA JWK is ~2,800 characters
MAX_JWKS_BYTES: Final = 65_536
MAX_JWKS_KEYS: Final = 100
#: The members that would make a JWK a private key (RFC 7517/7518: EC/OKP ``d``,
#: RSA's CRT members, an oct key's ``k``).
PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class InvalidPublicKey(CountersignError, ValueError):
    """A key or key set that is not a public signing key Countersign accepts."""

    code = "invalid_public_key"


@dataclass(frozen=True, slots=True)
class PublicKey:
    """One public key: the id of the row that holds it (what a session names), its
    ``kid``, the algorithm it verifies, and its public JWK (the stored form)."""

    id: str
    kid: str
    alg: PublicAlgorithm
    jwk: Mapping[str, Any]

    def verifier(self) -> Any:
        """The ``cryptography`` public key object PyJWT verifies with."""
        return _key_object(self.jwk, self.alg)


def check_kid(kid: object) -> str:
    if not isinstance(kid, str) or not KID.fullmatch(kid):
        raise InvalidPublicKey(
            "a kid is 1 to 64 characters of letters, digits, '.', '_' and '-' "
            f"(got {str(kid)[:70]!r})"
        )
    return kid


def _algorithm_of(jwk: Mapping[str, Any]) -> PublicAlgorithm:
    kty = jwk.get("kty")
    if kty == "OKP":
        if jwk.get("crv") != "Ed25519":
            raise InvalidPublicKey(f"an OKP key must be on Ed25519 (got crv {jwk.get('crv')!r})")
        return "EdDSA"
    if kty == "EC":
        if jwk.get("crv") != "P-256":
            raise InvalidPublicKey(
                f"an EC key must be on P-256 for ES256 (got crv {jwk.get('crv')!r})"
            )
        return "ES256"
    if kty == "RSA":
        return "RS256"
    raise InvalidPublicKey(f"kty must be OKP (Ed25519), EC (P-256) or RSA (got {kty!r})")


def _key_object(jwk: Mapping[str, Any], alg: PublicAlgorithm) -> Any:
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm  # noqa: PLC0415 (lazy)
    from jwt.exceptions import InvalidKeyError  # noqa: PLC0415

    loader: Any = {"EdDSA": OKPAlgorithm, "ES256": ECAlgorithm, "RS256": RSAAlgorithm}[alg]
    try:
        return loader.from_jwk(dict(jwk))
    except (InvalidKeyError, ValueError, TypeError, KeyError) as error:
        raise InvalidPublicKey(f"the key cannot be read: {error}") from None


def parse_jwk(document: object, *, kid: str | None = None, key_id: str = "") -> PublicKey:
    """A :class:`PublicKey` from a JWK (a dict, or its JSON text).

    ``kid`` overrides the JWK's own; one of them is required. Refused: private
    members, an unsupported type or curve, RSA under 2048 bits, an ``alg`` that is not
    the key's, a ``use`` other than ``sig``.
    """
    jwk = _as_object(document)
    private = sorted(PRIVATE_MEMBERS & jwk.keys())
    if private:
        raise InvalidPublicKey(
            f"this JWK holds private key material ({', '.join(private)}): register only "
            "the public half; Countersign never stores a key that can sign"
        )
    alg = _algorithm_of(jwk)
    declared = jwk.get("alg")
    if declared is not None and declared != alg:
        raise InvalidPublicKey(
            f"the JWK says alg {str(declared)[:20]!r} but a {jwk.get('kty')} "
            f"{jwk.get('crv', '')} key verifies {alg}".replace("  ", " ")
        )
    if jwk.get("use") not in (None, "sig"):
        raise InvalidPublicKey("the JWK's use must be sig")
    name = check_kid(kid if kid is not None else jwk.get("kid"))
    key = _key_object(jwk, alg)
    if alg == "RS256":
        bits = int(key.key_size)
        if not MIN_RSA_BITS <= bits <= MAX_RSA_BITS:
            raise InvalidPublicKey(
                f"an RSA key must have {MIN_RSA_BITS} to {MAX_RSA_BITS} bits (this one has {bits})"
            )
    public = _public_jwk(key, alg)
    public["kid"] = name
    public["alg"] = alg
    public["use"] = "sig"
    return PublicKey(key_id, name, alg, public)


def parse_pem(text: str, *, kid: str, key_id: str = "") -> PublicKey:
    """A :class:`PublicKey` from a PEM ``PUBLIC KEY`` block (SubjectPublicKeyInfo)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa  # noqa: PLC0415
    from cryptography.hazmat.primitives.serialization import (  # noqa: PLC0415
        load_pem_public_key,
    )

    if "PRIVATE KEY" in text:
        raise InvalidPublicKey(
            "this PEM holds a private key: register only the public half "
            "(openssl pkey -in private.pem -pubout)"
        )
    if len(text) > MAX_KEY_CHARS:
        raise InvalidPublicKey("the PEM is too long for a public key")
    try:
        key = load_pem_public_key(text.encode("utf-8"))
    except (ValueError, TypeError) as error:
        raise InvalidPublicKey(f"not a PEM public key: {error}") from None
    alg: PublicAlgorithm
    if isinstance(key, ed25519.Ed25519PublicKey):
        alg = "EdDSA"
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise InvalidPublicKey(f"an EC key must be on P-256 for ES256 (got {key.curve.name})")
        alg = "ES256"
    elif isinstance(key, rsa.RSAPublicKey):
        alg = "RS256"
    else:
        raise InvalidPublicKey("the PEM key must be Ed25519, P-256 or RSA")
    return parse_jwk(_public_jwk(key, alg), kid=kid, key_id=key_id)


def parse_jwks(document: bytes | str, *, key_id: str = "") -> list[PublicKey]:
    """The signing keys of a JWKS document (``{"keys": [...]}``).

    Bounded before parsing (64 KB, 100 keys). A key with private members refuses the
    whole set (whoever publishes it has leaked it); keys for encryption, without a
    kid, or of a kind Countersign does not verify (another curve, a short RSA key, an
    alg that is not the key's) are skipped: a JWKS may hold those for others, and a
    skipped key verifies nothing.
    """
    size = len(document.encode("utf-8") if isinstance(document, str) else document)
    if size > MAX_JWKS_BYTES:
        raise InvalidPublicKey(f"the JWKS document is {size} bytes; at most {MAX_JWKS_BYTES}")
    parsed = _as_object(document)
    keys = parsed.get("keys")
    if not isinstance(keys, list):
        raise InvalidPublicKey('a JWKS document is an object with a "keys" list')
    if len(keys) > MAX_JWKS_KEYS:
        raise InvalidPublicKey(f"the JWKS holds {len(keys)} keys; at most {MAX_JWKS_KEYS}")
    found: dict[str, PublicKey] = {}
    for entry in keys:
        if not isinstance(entry, dict):
            raise InvalidPublicKey("every entry of a JWKS is a JWK object")
        if PRIVATE_MEMBERS & entry.keys():
            raise InvalidPublicKey("the JWKS publishes private key material: refused")
        if entry.get("use") not in (None, "sig") or "kid" not in entry:
            continue  # for encryption, or not selectable by a token's header
        try:
            key = parse_jwk(entry, key_id=key_id)
        except InvalidPublicKey:
            continue  # a kind Countersign does not verify (ES384, RSA-1024, ...): not used
        if key.kid in found:
            raise InvalidPublicKey(f"the JWKS names kid {key.kid!r} twice")
        found[key.kid] = key
    return list(found.values())


def _as_object(document: object) -> dict[str, Any]:
    if isinstance(document, bytes | str):
        if len(document) > MAX_JWKS_BYTES:
            raise InvalidPublicKey("the document is too large for a key")
        try:
            document = json.loads(document)
        except (ValueError, UnicodeDecodeError):
            raise InvalidPublicKey("not JSON") from None
    if not isinstance(document, dict):
        raise InvalidPublicKey("a JWK is a JSON object")
    return document


def _public_jwk(key: Any, alg: PublicAlgorithm) -> dict[str, Any]:
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm  # noqa: PLC0415 (lazy)

    writer: Any = {"EdDSA": OKPAlgorithm, "ES256": ECAlgorithm, "RS256": RSAAlgorithm}[alg]
    jwk = writer.to_jwk(key, as_dict=True)
    return {name: value for name, value in jwk.items() if name not in PRIVATE_MEMBERS}


class PublicKeySet:
    """An app's public keys by ``kid``, and the kids of revoked ones (diagnosis)."""

    __slots__ = ("_keys", "_revoked", "_verifiers")

    def __init__(self, keys: Iterable[PublicKey] = (), *, revoked: Iterable[str] = ()) -> None:
        self._keys = {key.kid: key for key in keys}
        self._revoked = frozenset(revoked) - self._keys.keys()
        self._verifiers: dict[str, Any] = {}

    def get(self, kid: str) -> PublicKey | None:
        return self._keys.get(kid)

    def is_revoked(self, kid: str) -> bool:
        return kid in self._revoked

    def verifier(self, key: PublicKey) -> Any:
        """The key object for ``key``, built once (an RSA key takes ~50 µs to load)."""
        found = self._verifiers.get(key.kid)
        if found is None:
            found = self._verifiers[key.kid] = key.verifier()
        return found

    @property
    def keys(self) -> tuple[PublicKey, ...]:
        return tuple(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    def __bool__(self) -> bool:
        return bool(self._keys) or bool(self._revoked)


EMPTY_KEYS: Final = PublicKeySet()
