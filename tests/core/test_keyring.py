"""KeyRing: the newest key signs, every active key verifies, revoked keys never do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from countersign import InvalidSecret, KeyRing, RingKey, Secret, sign, verify


def key(key_id: str, secret: str, day: int | None = None) -> RingKey:
    created = datetime(2026, 1, day, tzinfo=UTC) if day else None
    return RingKey(key_id, Secret(secret), created)


def test_newest_key_signs() -> None:
    ring = KeyRing([key("a", "a" * 32), key("b", "b" * 32)])
    assert ring.signing_key.id == "b"
    assert ring.sign("u1") == sign("b" * 32, "u1")


def test_created_at_orders_the_ring() -> None:
    ring = KeyRing([key("new", "n" * 32, day=20), key("old", "o" * 32, day=1)])
    assert [k.id for k in ring] == ["old", "new"]
    assert ring.signing_key.id == "new"


def test_every_active_key_verifies_and_match_names_it() -> None:
    ring = KeyRing([key("a", "a" * 32), key("b", "b" * 32)])
    found = ring.match("u1", sign("a" * 32, "u1"))
    assert found is not None
    assert found.id == "a"
    assert ring.verify("u1", sign("b" * 32, "u1", encoding="base64"))


def test_revoked_keys_do_not_verify() -> None:
    ring = KeyRing([key("a", "a" * 32)], revoked=[key("r", "r" * 32)])
    assert not ring.verify("u1", sign("r" * 32, "u1"))
    assert ring.diagnose("u1", sign("r" * 32, "u1")).code == "revoked_secret"


def test_ring_agrees_with_plain_verify() -> None:
    secrets = ["a" * 32, "b" * 40]
    ring = KeyRing(secrets)
    for identifier in ("u1", "Zoë", 42, "x" * 255):
        signature = sign(secrets[0], identifier)
        assert ring.verify(identifier, signature) == verify(secrets, identifier, signature)
    assert ring.verify("u1", "junk") is verify(secrets, "u1", "junk") is False


def test_empty_ring_verifies_nothing_and_cannot_sign() -> None:
    ring = KeyRing([])
    assert not ring.verify("u1", sign("a" * 32, "u1"))
    with pytest.raises(InvalidSecret):
        ring.sign("u1")


def test_repr_hides_secrets() -> None:
    ring = KeyRing([key("sec_1", "topsecret" * 4)])
    assert "topsecret" not in repr(ring)
    assert "topsecret" not in repr(list(ring))
