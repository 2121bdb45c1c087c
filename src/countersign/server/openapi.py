"""OpenAPI for routes that read their body with msgspec instead of a pydantic model.

msgspec's schemas name their definitions under ``#/$defs``; here they are registered
as ``#/components/schemas`` entries instead, which the app merges into its document,
so every ``$ref`` resolves.
"""

from __future__ import annotations

from typing import Any

import msgspec

_REF_TEMPLATE = "#/components/schemas/{name}"
_COMPONENTS: dict[str, Any] = {}


def json_body(model: type, *, required: bool = True) -> dict[str, Any]:
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
