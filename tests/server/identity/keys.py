"""Key pairs and tokens the way a customer's backend makes them (PyJWT + cryptography)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

ALGORITHMS = ("EdDSA", "ES256", "RS256")


@dataclass
class KeyPair:
    alg: str
    kid: str
    private: Any

    @property
    def public(self) -> Any:
        return self.private.public_key()

    def public_pem(self) -> str:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def public_jwk(self, **extra: Any) -> dict[str, Any]:
        writer: Any = {"EdDSA": OKPAlgorithm, "ES256": ECAlgorithm, "RS256": RSAAlgorithm}
        document = writer[self.alg].to_jwk(self.public, as_dict=True)
        return {**document, "kid": self.kid, **extra}

    def private_jwk(self) -> dict[str, Any]:
        writer: Any = {"EdDSA": OKPAlgorithm, "ES256": ECAlgorithm, "RS256": RSAAlgorithm}
        return {**writer[self.alg].to_jwk(self.private, as_dict=True), "kid": self.kid}

    def token(
        self,
        sub: str | None = "user-1",
        *,
        lifetime: int = 600,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {"iat": now, "exp": now + lifetime, **claims}
        if sub is not None:
            payload["sub"] = sub
        header = {"kid": self.kid, **(headers or {})}
        return jwt.encode(payload, self.private, algorithm=self.alg, headers=header)


def new_pair(alg: str, kid: str | None = None) -> KeyPair:
    private: Any
    if alg == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        raise ValueError(alg)
    return KeyPair(alg, kid or f"{alg.lower()}-1", private)


def jwks(*pairs: KeyPair) -> str:
    return json.dumps({"keys": [pair.public_jwk() for pair in pairs]})
