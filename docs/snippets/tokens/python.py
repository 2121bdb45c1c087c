"""Countersign: a user's identity token, signed with your Ed25519 private key (Python, PyJWT).

Only the public half is registered with Countersign (countersign public-keys add APP
--pem public.pem --kid KID); this private key stays on your server.
"""

import os
import sys
import time

import jwt  # pip install "pyjwt[crypto]"


def countersign_user_token(user_id: str) -> str:
    """An EdDSA JWT naming the user: pass it to the widget as user_jwt."""
    private_key = os.environ["COUNTERSIGN_SIGNING_KEY"]  # PEM "PRIVATE KEY" (PKCS#8)
    kid = os.environ["COUNTERSIGN_KEY_ID"]  # the kid you registered the public key under
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + 600}  # sign exactly the id you send
    return jwt.encode(claims, private_key, algorithm="EdDSA", headers={"kid": kid})


if __name__ == "__main__":
    # Reads one user id from stdin and prints its token (the test suite runs this).
    print(countersign_user_token(sys.stdin.buffer.read().decode("utf-8")))
