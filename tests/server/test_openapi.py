"""The OpenAPI document describes the API as it is served."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from countersign import __version__
from countersign.server.errors import codes_in, merged_description

from .conftest import Harness

ERROR_REF = "#/components/schemas/Error"


def openapi(harness: Harness) -> dict[str, Any]:
    response = harness.client.get("/openapi.json")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


def json_schema(operation: dict[str, Any], part: str = "requestBody") -> dict[str, Any]:
    schema: dict[str, Any] = operation[part]["content"]["application/json"]["schema"]
    return schema


def error_ref(schema: dict[str, Any]) -> str | None:
    """The error schema a response names, directly or as the first of an ``allOf``
    that narrows its ``code``."""
    if "allOf" in schema:
        schema = schema["allOf"][0]
    ref = schema.get("$ref")
    return ref if isinstance(ref, str) else None


def error_codes(response: dict[str, Any]) -> list[str] | None:
    schema = response["content"]["application/json"]["schema"]
    if "allOf" not in schema:
        return None
    codes: list[str] = schema["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"]
    return codes


def resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref``: into the schema's own ``$defs`` first, then the document."""
    while "$ref" in schema:
        *_, name = schema["$ref"].split("/")
        defs = schema.get("$defs", {})
        schema = defs.get(name) or document["components"]["schemas"][name]
    return schema


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def served_operations(app: Any) -> Iterator[tuple[str, str]]:
    """(path, method) of every HTTP route the app serves and puts in its schema."""
    try:
        # FastAPI nests included routers, so ``app.routes`` is not flat any more.
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: the list is flat
        found = [(route.path_format, route.methods, route) for route in app.routes]
    else:
        found = [
            (context.path_format, context.methods, context.original_route)
            for context in iter_route_contexts(app.routes)
        ]
    for path, methods, route in found:
        if isinstance(route, APIRoute) and route.include_in_schema:
            for method in methods:
                yield path, method.lower()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_the_document_names_the_product(harness: Harness) -> None:
    document = openapi(harness)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Countersign"
    assert document["info"]["version"] == __version__


def test_every_route_is_listed(harness: Harness) -> None:
    document = openapi(harness)
    paths = document["paths"]
    for path, method in [
        ("/v1/widget/identify", "post"),
        ("/v1/widget/logout", "post"),
        ("/v1/widget/session", "get"),
        ("/v1/users/{user_id}", "put"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ]:
        assert method in paths.get(path, {}), (path, method)
    served = set(served_operations(harness.client.app))
    assert ("/v1/widget/identify", "post") in served
    listed = {(path, method) for path, method, _ in operations(document)}
    assert served - listed == set()
    assert listed - served == set()


def test_identify_body_schema_names_its_fields(harness: Harness) -> None:
    document = openapi(harness)
    operation = document["paths"]["/v1/widget/identify"]["post"]
    assert operation["requestBody"]["required"] is True
    schema = resolve(json_schema(operation), document)
    properties = schema["properties"]
    assert {"app_id", "user_id", "user_hash"} <= set(properties)
    assert {"visitor_id", "email", "user_jwt", "user_metadata"} <= set(properties)
    assert schema["required"] == ["app_id"]
    assert schema["additionalProperties"] is False
    user_id_types = {option.get("type") for option in properties["user_id"]["anyOf"]}
    assert {"string", "integer"} <= user_id_types
    assert "number" not in user_id_types
    assert "boolean" not in user_id_types


def test_put_user_body_schema_names_its_fields(harness: Harness) -> None:
    document = openapi(harness)
    schema = resolve(json_schema(document["paths"]["/v1/users/{user_id}"]["put"]), document)
    assert {"email", "name", "attributes"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_identify_errors_reference_the_error_schema(harness: Harness) -> None:
    document = openapi(harness)
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert set(error["properties"]["error"]["required"]) == {"code", "message"}
    responses = document["paths"]["/v1/widget/identify"]["post"]["responses"]
    for status in ("401", "403", "404", "413", "415", "422", "429"):
        assert error_ref(json_schema(responses, status)) == ERROR_REF, status
    assert error_codes(responses["422"]) == [
        "invalid_request",
        "invalid_identifier",
        "invalid_metadata",
    ]
    assert error_codes(responses["400"]) == ["bad_request", "invalid_json", "client_disconnected"]


def test_every_documented_error_uses_the_error_schema(harness: Harness) -> None:
    document = openapi(harness)
    wrong = [
        (path, method, status)
        for path, method, operation in operations(document)
        for status, response in operation["responses"].items()
        if status.startswith("4")
        and error_ref(response.get("content", {}).get("application/json", {}).get("schema", {}))
        != ERROR_REF
    ]
    assert wrong == []
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_every_ref_resolves_from_the_document_root(harness: Harness) -> None:
    document = openapi(harness)
    dangling = []
    for ref in set(refs(document)):
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            if not isinstance(node, dict) or part not in node:
                dangling.append(ref)
                break
            node = node[part]
    assert dangling == []


def test_docs_answer_200(harness: Harness) -> None:
    response = harness.client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text


def test_operation_ids_are_unique(harness: Harness) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(openapi(harness))]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_every_operation_lists_the_statuses_its_shape_implies(harness: Harness) -> None:
    """What follows from how a route is built is documented on every route: 400 for
    all; 401 (and the scheme) behind a credential; 413, 415 and 422 with a JSON body;
    404 and 422 with path parameters (server/openapi_errors.py)."""
    document = openapi(harness)
    assert set(document["components"]["securitySchemes"]) == {"session", "apiKey", "inboundKey"}
    for path, method, operation in operations(document):
        statuses = set(operation["responses"])
        where = (method, path, sorted(statuses))
        assert "400" in statuses, where
        security = operation.get("security")
        if path.startswith("/v1/widget/") and path != "/v1/widget/identify":
            assert security == [{"session": []}], where
        elif path == "/v1/inbound/email":  # a mail provider's webhook, with its own key
            assert security == [{"inboundKey": []}], where
        elif path.startswith("/v1/") and not path.startswith("/v1/widget/"):
            assert security == [{"apiKey": []}], where
        if security:
            assert "401" in statuses, where
        if "requestBody" in operation:
            assert {"413", "415", "422"} <= statuses, where
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            assert {"404", "422"} <= statuses, where


def test_notification_routes_are_documented_with_their_bodies(harness: Harness) -> None:
    document = openapi(harness)
    paths = document["paths"]
    for path, method in [
        ("/v1/notifications", "post"),
        ("/v1/notifications/{notification_id}", "delete"),
        ("/v1/users/{user_id}/notifications", "get"),
        ("/v1/preferences/{user_id}", "get"),
        ("/v1/preferences/{user_id}", "put"),
        ("/v1/widget/notifications", "get"),
        ("/v1/widget/notifications/counts", "get"),
        ("/v1/widget/notifications/seen", "post"),
        ("/v1/widget/notifications/read-all", "post"),
        ("/v1/widget/notifications/archive-all", "post"),
        ("/v1/widget/preferences", "get"),
        ("/v1/widget/preferences", "put"),
    ] + [
        (f"/v1/widget/notifications/{{notification_id}}/{action}", "post")
        for action in ("read", "unread", "archive", "unarchive")
    ]:
        assert method in paths.get(path, {}), (path, method)
    send = resolve(json_schema(paths["/v1/notifications"]["post"]), document)
    assert {"user_id", "user_ids", "title", "category", "actions", "idempotency_key"} <= set(
        send["properties"]
    )
    assert send["required"] == ["title"]
    assert send["additionalProperties"] is False
    assert "409" in paths["/v1/notifications"]["post"]["responses"]
    preferences = resolve(json_schema(paths["/v1/widget/preferences"]["put"]), document)
    assert preferences["required"] == ["categories"]
    read_all = paths["/v1/widget/notifications/read-all"]["post"]["requestBody"]
    assert read_all["required"] is False
    status = {p["name"]: p for p in paths["/v1/widget/notifications"]["get"]["parameters"]}
    assert set(status["status"]["schema"]["anyOf"][0]["enum"]) == {"unread", "read", "archived"}


def test_every_error_status_lists_its_codes(harness: Harness) -> None:
    document = openapi(harness)
    unlisted = [
        (path, method, status)
        for path, method, operation in operations(document)
        for status, response in operation["responses"].items()
        if status[0] in "45" and not error_codes(response)
    ]
    assert unlisted == []
    listing = document["paths"]["/v1/users/{user_id}/conversations"]["get"]["responses"]
    assert error_codes(listing["422"]) == [
        "invalid_request",
        "invalid_identifier",
        "invalid_cursor",
    ]
    erase = document["paths"]["/v1/users/{user_id}"]["delete"]["responses"]
    assert error_codes(erase["404"]) == ["user_not_found", "not_found"]


@pytest.mark.parametrize(
    ("description", "codes"),
    [
        ("not_found", ["not_found"]),
        ("user_not_found: no verified user with this id", ["user_not_found"]),
        (
            "invalid_request, invalid_parameters or invalid_identifier",
            ["invalid_request", "invalid_parameters", "invalid_identifier"],
        ),
        ("rate_limited (unverified sessions), with Retry-After", ["rate_limited"]),
        (
            "action_failed (the endpoint answered non-2xx), action_timeout",
            ["action_failed", "action_timeout"],
        ),
        ("A repeat of an earlier send", []),
    ],
)
def test_a_description_begins_with_its_codes(description: str, codes: list[str]) -> None:
    assert codes_in(description) == codes


def test_implied_codes_join_a_routes_own() -> None:
    assert merged_description("user_not_found: why", "not_found: path") == (
        "user_not_found, not_found: why"
    )
    assert merged_description("not_found", "not_found: path") == "not_found"
