"""OpenAPI for routes that read their body with msgspec instead of a pydantic model.

msgspec's schemas name their definitions under ``#/$defs``; here they are registered
as ``#/components/schemas`` entries instead, which the app merges into its document,
so every ``$ref`` resolves.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .text import BODY_TEXT_PATTERN

_REF_TEMPLATE = "#/components/schemas/{name}"
_JSON_VALUE_REF = _REF_TEMPLATE.format(name="JsonValue")
_COMPONENTS: dict[str, Any] = {
    # A free-form JSON value, as the metadata, attributes and parameters bodies take.
    "JsonValue": {
        "anyOf": [
            {"type": "string"},
            {"type": "number"},
            {"type": "boolean"},
            {"type": "null"},
            {"type": "array", "items": {"$ref": _JSON_VALUE_REF}},
            {"type": "object", "additionalProperties": {"$ref": _JSON_VALUE_REF}},
        ]
    }
}


def json_body(model: Any, *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON body of ``model``'s schema."""
    (schema,), components = msgspec.json.schema_components([model], ref_template=_REF_TEMPLATE)
    _COMPONENTS.update(components)
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": schema}},
        }
    }


def components() -> dict[str, Any]:
    """Every schema :func:`json_body` referred to, for ``components.schemas``."""
    return dict(_COMPONENTS)


def state_body_text_rule(node: Any) -> None:
    """Put :data:`BODY_TEXT_PATTERN` on every string and object key of ``node`` (a body
    schema) that has no pattern of its own: the rule holds for all of them."""
    if isinstance(node, list):
        for item in node:
            state_body_text_rule(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "string" and "pattern" not in node and "enum" not in node:
        node["pattern"] = BODY_TEXT_PATTERN
    if node.get("type") == "object":
        node.setdefault("propertyNames", {"pattern": BODY_TEXT_PATTERN})
        if "properties" not in node and "additionalProperties" not in node:
            # A free-form object: its values are any JSON, under the same text rule.
            node["additionalProperties"] = {"$ref": _JSON_VALUE_REF}
    for value in node.values():
        state_body_text_rule(value)
