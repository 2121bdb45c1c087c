"""Countersign: the user hash your backend sends to the widget (Python 3, stdlib only)."""

import hashlib
import hmac
import os
import sys


def countersign_user_hash(user_id):
    """HMAC-SHA256 of the user id, keyed with the app's identity secret, as lowercase hex.

    Sign exactly the identifier you pass to the widget: no strip(), no lower().
    An integer id is signed as its decimal string (1234 -> "1234").
    """
    secret = os.environ["COUNTERSIGN_IDENTITY_SECRET"]  # used as typed: never hex-decode it
    mac = hmac.new(secret.encode("utf-8"), str(user_id).encode("utf-8"), hashlib.sha256)
    return mac.hexdigest()
    # base64 instead of hex: base64.b64encode(mac.digest()).decode("ascii")


if __name__ == "__main__":
    # Reads one identifier from stdin and prints its hash (the test suite runs this).
    print(countersign_user_hash(sys.stdin.buffer.read().decode("utf-8")))
