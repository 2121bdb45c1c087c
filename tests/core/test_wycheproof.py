"""The Wycheproof HMAC-SHA256 set (174 cases) from ../shared/vectors.

Our verifier only accepts full 32-byte tags, so the 128-bit-tag groups, which
Wycheproof marks valid for truncating implementations, must be refused here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from countersign.core import KeyRing, verify_message

from ..conftest import SHARED, shared_file

VECTORS = "vectors/wycheproof_hmac_sha256_test.json"


def _cases() -> list[Any]:
    path = SHARED / VECTORS
    if not path.is_file():
        return [pytest.param(None, id="absent")]
    data = json.loads(path.read_text())
    return [
        pytest.param((group["tagSize"], case), id=f"tc{case['tcId']}-tag{group['tagSize']}")
        for group in data["testGroups"]
        for case in group["tests"]
    ]


@pytest.mark.parametrize("vector", _cases())
def test_wycheproof(vector: tuple[int, dict[str, Any]] | None) -> None:
    shared_file(VECTORS)  # skips with the reason when ../shared is absent
    assert vector is not None
    tag_size, case = vector
    key, message, tag = (bytes.fromhex(case[name]) for name in ("key", "msg", "tag"))
    expected = case["result"] == "valid" and tag_size == 256
    assert verify_message(key, message, tag.hex()) is expected
    assert (KeyRing([key]).match_message(message, tag.hex()) is not None) is expected


def test_wycheproof_set_is_complete() -> None:
    data = json.loads(shared_file(VECTORS).read_text())
    assert sum(len(group["tests"]) for group in data["testGroups"]) == 174
