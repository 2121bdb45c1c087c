"""The reply token: made for one (app, conversation, contact), under its own key."""

from __future__ import annotations

import pytest

from countersign.mail.tokens import ReplyTokens

KEY = b"k" * 32
TOKEN = ReplyTokens(KEY).make("app_1", "cnv_abc", "con_1")


def test_a_token_verifies_for_what_it_was_made_for() -> None:
    assert ReplyTokens(KEY).verify(TOKEN, "app_1", "con_1")
    assert ReplyTokens.conversation_of(TOKEN) == "cnv_abc"
    assert len(f"reply+{TOKEN}") <= 64  # an address's local part


@pytest.mark.parametrize(
    ("token", "app_id", "contact_id"),
    [
        (TOKEN, "app_2", "con_1"),  # another app
        (TOKEN, "app_1", "con_2"),  # another contact
        (TOKEN.replace("cnv_abc", "cnv_abd"), "app_1", "con_1"),  # another conversation
        (TOKEN[:-1] + ("a" if TOKEN[-1] != "a" else "b"), "app_1", "con_1"),  # a changed tag
        (TOKEN.upper(), "app_1", "con_1"),  # the conversation id's case matters
        (TOKEN.split(".")[0], "app_1", "con_1"),  # no tag
        ("cnv_abc." + "!" * 26, "app_1", "con_1"),  # no base32
        ("", "app_1", "con_1"),
    ],
)
def test_anything_else_fails(token: str, app_id: str, contact_id: str) -> None:
    assert not ReplyTokens(KEY).verify(token, app_id, contact_id)


def test_another_key_fails() -> None:
    assert not ReplyTokens(b"j" * 32).verify(TOKEN, "app_1", "con_1")


def test_no_other_spelling_of_the_last_character_verifies() -> None:
    # The last base32 character carries 3 of the tag's bits and 2 of padding: a decoder
    # ignores the padding, so only the text comparison tells its spellings apart.
    body, last = TOKEN[:-1], TOKEN[-1]
    others = [c for c in "abcdefghijklmnopqrstuvwxyz234567" if c != last]
    assert not [c for c in others if ReplyTokens(KEY).verify(body + c, "app_1", "con_1")]
