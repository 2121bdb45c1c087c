"""The fast decode of a plain body gives exactly what the careful path gives, and
steps aside for everything only the careful path refuses."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from countersign.server.body import _decode_plain, parse_json
from countersign.server.errors import ApiError
from countersign.server.identify.policy import IdentifyBody


def careful(raw: bytes) -> IdentifyBody | None:
    """What read_model's careful path makes of ``raw`` (None: refused)."""
    try:
        document = parse_json(raw)
        return msgspec.convert(document, IdentifyBody, strict=True)
    except (ApiError, msgspec.ValidationError):
        return None


REFUSED_ONLY_CAREFULLY = [
    b'{"app_id":"a","app_id":"b"}',
    b'{"app_id":"a","user_metadata":{"k":1,"k":2}}',
    # A value that starts with a colon: a naive key scan would mis-align here.
    b'{"app_id":"a","user_metadata":{"k":":v",":z":1,":z":2}}',
    b'{"app_id":"a","user_metadata":{"s":"\\ud800"}}',
    b'{"app_id":"a\\u0000"}',
]


@pytest.mark.parametrize("raw", REFUSED_ONLY_CAREFULLY)
def test_what_msgspec_cannot_see_goes_to_the_careful_path(raw: bytes) -> None:
    assert _decode_plain(raw, IdentifyBody) is None
    assert careful(raw) is None or b"\\u0000" in raw  # NUL is refused after decoding


@pytest.mark.parametrize(
    "raw",
    [
        b'{"app_id":"a","user_id":1234,"user_hash":"ab"}',
        b' { "app_id" : "a" , "user_metadata" : { "plan" : "pro", "n": 1.5, "x": [1, {"y": null}] } } ',
        b'{"app_id":"a","user_metadata":{"same":1,"nested":{"same":2}}}',  # careful path
        b'{"app_id":"a","user_metadata":{"big":123456789012345678901234567890}}',
        b'{"app_id":"a","user_metadata":{"t":"a:b,\\"c"}}',  # careful path (backslash)
    ],
)
def test_accepted_bodies_decode_the_same(raw: bytes) -> None:
    fast = _decode_plain(raw, IdentifyBody)
    assert fast is None or fast == careful(raw)
    assert careful(raw) is not None


@pytest.mark.parametrize(
    "raw",
    [
        b'{"app_id":"a","user_metadata":{"x":NaN}}',
        b'{"app_id":"a","user_metadata":{"x":1e400}}',
        b"\xef\xbb\xbf" + b'{"app_id":"a"}',
        b'{"app_id":"a\x00"}',
        b'{"app_id":"a\xff"}',
        b'{"app_id":"a"} x',
        b'{"app_id":"a","user_id":1.0}',
        b'{"app_id":"a","user_id":true}',
        b'{"app_id":"a","user_hsh":"x"}',
        b"[]",
        b'{"app_id":' + b"[" * 2000 + b"]" * 2000 + b"}",
    ],
)
def test_refused_bodies_are_left_to_the_careful_path(raw: bytes) -> None:
    assert _decode_plain(raw, IdentifyBody) is None
    assert careful(raw) is None


# Raw bodies built from fragments, so keys repeat, strings hold ':' ',' '{' and
# spaces, and the JSON may be invalid; no backslashes (those always go the careful way).
_text = st.text(alphabet='ab:,{} "', max_size=6).map(lambda t: t.replace('"', ""))
_scalar = st.one_of(
    _text.map(lambda t: f'"{t}"'),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["1.5", "-0.0", "1e400", "NaN", "true", "null", "01", '"']),
)


def _object(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(st.sampled_from(["k", "a:", ":z", "k ", "app_id"]), values)
    return st.lists(pair, max_size=4).map(
        lambda pairs: "{" + ",".join(f'"{key}" : {value}' for key, value in pairs) + "}"
    )


_metadata = _object(st.one_of(_scalar, _object(_scalar)))


@given(_metadata, st.sampled_from(["", ',"user_id":"u"', ',"app_id":"b"']))
def test_fast_never_differs_from_careful(metadata: str, extra: str) -> None:
    raw = f'{{"app_id":"a"{extra},"user_metadata":{metadata}}}'.encode()
    fast = _decode_plain(raw, IdentifyBody)
    if fast is not None:
        assert fast == careful(raw)


def test_metadata_keys_any_order() -> None:
    raw = b'{"user_metadata":{"b":1,"a":2},"app_id":"x"}'
    fast: Any = _decode_plain(raw, IdentifyBody)
    assert fast is not None
    assert fast.user_metadata == {"b": 1, "a": 2}
