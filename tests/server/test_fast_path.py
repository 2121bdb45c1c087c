"""identify answers the same whether the app's fast path takes the request or, as for
an app mounted under a prefix, the router does."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from countersign import sign

from .conftest import Harness


def _both(harness: Harness, body: dict[str, Any]) -> tuple[Any, Any]:
    mounted = TestClient(Starlette(routes=[Mount("/cs", app=harness.client.app)]))
    direct = harness.client.post("/v1/widget/identify", json=body)
    through_router = mounted.post("/cs/v1/widget/identify", json=body)
    return direct, through_router


def test_a_verified_identify_through_the_router(harness: Harness) -> None:
    body = {
        "app_id": harness.app_id,
        "user_id": "mounted",
        "user_hash": sign(harness.secret, "mounted"),
    }
    direct, routed = _both(harness, body)
    assert direct.status_code == routed.status_code == 200, routed.text
    assert (
        routed.json()["identity"]
        == direct.json()["identity"]
        == {
            "status": "verified",
            "reason": None,
        }
    )
    assert routed.json()["contact"]["id"] == direct.json()["contact"]["id"]


def test_errors_through_the_router_keep_the_shape(harness: Harness) -> None:
    refused = {"app_id": harness.app_id, "user_id": "x", "user_hash": "00"}
    unknown = {"app_id": "app_missing"}
    for body, status, code in (
        (refused, 401, "identity_verification_failed"),
        (unknown, 404, "app_not_found"),
    ):
        direct, routed = _both(harness, body)
        assert direct.status_code == routed.status_code == status
        assert direct.json()["error"]["code"] == routed.json()["error"]["code"] == code
