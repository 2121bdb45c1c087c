"""identity.failed carries a failed token's SPEC 15 code and its one-line fix."""

from __future__ import annotations

from collections.abc import Callable

from countersign.core import parse_jwk, token_fix
from countersign.storage import public_keys
from tests.server.conftest import Harness
from tests.server.identity.keys import new_pair
from tests.webhooks.conftest import FAST, add_endpoint, run_db
from tests.webhooks.receiver import Receiver


def test_identity_failed_names_the_token_code_and_fix(
    make_harness: Callable[..., Harness], receiver: Receiver
) -> None:
    harness = make_harness(**FAST)
    add_endpoint(harness, receiver.url, events=("identity.failed",))
    pair = new_pair("EdDSA", "hook-key")
    key = parse_jwk(pair.public_jwk())
    run_db(harness, lambda c: public_keys.add_key(c, harness.app_id, key))
    harness.client.app.state.countersign.directory.invalidate(harness.app_id)  # type: ignore[attr-defined]
    assert (
        harness.identify(user_jwt=pair.token("claimed-user-77", lifetime=-3600)).status_code == 401
    )
    harness.log()  # the recorder's flush enqueues identity.failed
    [item] = receiver.wait_for(lambda received: len(received) >= 1)
    diagnosis = item.json()["data"]["diagnosis"]
    assert diagnosis == {"code": "token_expired", "fix": token_fix("token_expired")}
    assert b"claimed-user-77" not in item.body  # the claimed user never travels
