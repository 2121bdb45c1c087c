"""Endpoints in the Standard Webhooks format: deliveries verify with that project's own
library (``standardwebhooks``), a tampered one does not, and redeliveries keep their id."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from countersign import sign
from countersign.storage import webhook_endpoints, webhook_outbox
from countersign.vocabulary.standard_webhooks import standard_headers, standard_key
from tests.server.conftest import Harness
from tests.webhooks.conftest import FAST, add_endpoint, run_db
from tests.webhooks.receiver import Receiver


def test_headers_match_the_reference_library() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    headers = standard_headers("evt_1", 1_700_000_000, b'{"a":1}', secret)
    assert headers["webhook-signature"].startswith("v1,")
    reference = Webhook(secret).sign("evt_1", _at(1_700_000_000), '{"a":1}')
    assert headers["webhook-signature"] == reference


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@pytest.mark.parametrize("secret", ["whsec_", "whsec_!!!", "sk_nope", "whsec_YWJj", "whsec_YWJj=="])
def test_a_malformed_secret_is_a_value_error(secret: str) -> None:
    with pytest.raises(ValueError, match="whsec_"):
        standard_key(secret)


def test_deliveries_verify_with_standardwebhooks(
    make_harness: Callable[..., Harness], receiver: Receiver
) -> None:
    harness = make_harness(**FAST)
    endpoint_id, secret = add_endpoint(
        harness, receiver.url, ("contact.identified",), signature_format="standard"
    )
    assert secret.startswith("whsec_")
    assert len(standard_key(secret)) == 32
    user = "user-42"
    response = harness.identify(user_id=user, user_hash=sign(harness.secret, user))
    assert response.status_code == 200, response.text
    (first,) = receiver.wait_for(lambda got: len(got) >= 1)
    assert "x-countersign-signature" not in first.headers
    payload = Webhook(secret).verify(first.body, first.headers)
    assert payload["type"] == "contact.identified"
    assert payload["data"]["contact"]["user_id"] == user
    assert first.headers["webhook-id"] == first.headers["x-countersign-event-id"]

    # Tampered body, signature, id or timestamp: refused by the same library.
    other = Webhook("whsec_" + base64.b64encode(b"x" * 32).decode())
    with pytest.raises(WebhookVerificationError):
        other.verify(first.body, first.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(first.body.replace(b"user-42", b"user-43"), first.headers)
    for name, value in (("webhook-id", "evt_other"), ("webhook-timestamp", "1700000000")):
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(first.body, {**first.headers, name: value})

    # A redelivery is the same message: the same webhook-id and body, signed anew.
    run_db(harness, lambda c: webhook_outbox.redeliver(c, harness.app_id, first.event_id))
    again = receiver.wait_for(lambda got: len(got) >= 2)[1]
    assert again.headers["webhook-id"] == first.headers["webhook-id"]
    assert again.body == first.body
    Webhook(secret).verify(again.body, again.headers)

    (record,) = run_db(harness, lambda c: webhook_endpoints.list_endpoints(c, harness.app_id))
    assert (record.id, record.as_dict()["format"]) == (endpoint_id, "standard")


def test_an_unknown_format_is_refused(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness()
    with pytest.raises(webhook_endpoints.InvalidEndpoint, match="signature format"):
        add_endpoint(harness, "http://127.0.0.1:9/x", signature_format="svix")
    assert run_db(harness, lambda c: webhook_endpoints.list_endpoints(c, harness.app_id)) == []
