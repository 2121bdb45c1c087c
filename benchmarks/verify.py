"""ns per verify(), as a ratio to the naive check of the same input, in one run.

    python benchmarks/verify.py [--seconds 0.2] [--check]

The baseline is what an integrator would write by hand:
``compare_digest(hmac.new(key, msg, sha256).hexdigest(), signature)``. Every case is
timed in alternation with it (best of several rounds), so a noisy shared machine moves
both sides together. Budgets (SPEC section 9): <= 0.8 through a key ring holding one
hex secret, <= 1.1 for the plain verify() function. ``--check`` exits 1 when over.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import sys
import timeit
from collections.abc import Callable

from countersign import KeyRing, sign, verify

SECRET = "cs_7f3a9b2c4d5e6f708192a3b4c5d6e7f8"
OLD_SECRET = "cs_0a1b2c3d4e5f60718293a4b5c6d7e8f9"
USER_ID = "user-1234567"
BUDGETS = {"ring, one hex secret": 0.8, "verify(), hex": 1.1}


def naive(key: bytes, message: bytes, signature: str) -> Callable[[], bool]:
    def check() -> bool:
        return hmac.compare_digest(hmac.new(key, message, hashlib.sha256).hexdigest(), signature)

    return check


def best_ns(function: Callable[[], object], seconds: float) -> float:
    number = 10_000
    while timeit.timeit(function, number=number) < seconds / 5:
        number *= 2
    return min(timeit.repeat(function, number=number, repeat=5)) / number * 1e9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.2, help="time per round")
    parser.add_argument("--check", action="store_true", help="exit 1 when over budget")
    args = parser.parse_args()

    hex_sig = sign(SECRET, USER_ID)
    b64_sig = sign(SECRET, USER_ID, encoding="base64")
    ring_one = KeyRing([SECRET])
    ring_two = KeyRing([OLD_SECRET, SECRET])
    baseline = naive(SECRET.encode(), USER_ID.encode(), hex_sig)
    cases: dict[str, Callable[[], object]] = {
        "verify(), hex": lambda: verify(SECRET, USER_ID, hex_sig),
        "verify(), base64": lambda: verify(SECRET, USER_ID, b64_sig),
        "verify(), two secrets": lambda: verify([OLD_SECRET, SECRET], USER_ID, hex_sig),
        "ring, one hex secret": lambda: ring_one.verify(USER_ID, hex_sig),
        "ring, one base64 secret": lambda: ring_one.verify(USER_ID, b64_sig),
        "ring, two secrets": lambda: ring_two.verify(USER_ID, hex_sig),
    }
    for case in cases.values():
        assert case(), "a benchmark case must verify"
    assert baseline()

    print(f"{'case':28} {'ns/call':>9} {'naive ns':>9} {'ratio':>7}  budget")
    over = False
    for name, case in cases.items():
        rounds = [(best_ns(case, args.seconds), best_ns(baseline, args.seconds)) for _ in range(3)]
        ours, theirs = min(r[0] for r in rounds), min(r[1] for r in rounds)
        ratio = ours / theirs
        budget = BUDGETS.get(name)
        verdict = ""
        if budget is not None:
            verdict = f"<= {budget}  {'ok' if ratio <= budget else 'OVER'}"
            over |= ratio > budget
        print(f"{name:28} {ours:9.0f} {theirs:9.0f} {ratio:7.2f}  {verdict}")
    return 1 if (over and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())
