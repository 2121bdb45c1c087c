"""The parameters of an action: a JSON Schema (Draft 2020-12) checked twice.

When the action is defined, the schema itself is checked, so a typo fails there and
not at the first call. When it is called, the parameters are validated against it and
the first error (by jsonschema's relevance order) is reported; the action is not called.

Schemas refer only to themselves: a ``$ref`` to a URL would make validation fetch it
(or fail to), which is an outbound request no guard would see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError, best_match
from referencing.exceptions import Unresolvable

DEFAULT_SCHEMA: Final[dict[str, Any]] = {"type": "object"}
MAX_SCHEMA_CHARS: Final = 32_000


class InvalidSchema(ValueError):
    """The schema an action was defined with is not a usable JSON Schema."""


@dataclass(frozen=True, slots=True)
class ParameterError:
    """Where the parameters fail (a JSON path such as ``$.items[0].qty``) and why.

    ``keyword`` names the failed check without repeating the value, for the log.
    """

    path: str
    message: str
    keyword: str


def _refs(schema: Any) -> list[str]:
    found: list[str] = []
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in {"$ref", "$dynamicRef"} and isinstance(value, str):
                    found.append(value)
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def check_parameters_schema(schema: Any) -> dict[str, Any]:
    """``schema`` if it is a valid Draft 2020-12 schema object, else :class:`InvalidSchema`."""
    if not isinstance(schema, dict):
        raise InvalidSchema("the parameters schema must be a JSON object")
    try:
        size = len(json.dumps(schema))
    except (TypeError, ValueError, RecursionError):
        raise InvalidSchema("the parameters schema is not JSON") from None
    if size > MAX_SCHEMA_CHARS:
        raise InvalidSchema(f"the parameters schema is over {MAX_SCHEMA_CHARS} characters")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        where = error.json_path
        raise InvalidSchema(f"not a valid JSON Schema at {where}: {error.message}") from None
    for ref in _refs(schema):
        if not ref.startswith("#"):
            raise InvalidSchema(f"$ref {ref!r} points outside the schema; only '#...' is allowed")
    first_parameter_error(schema, {})  # a reference loop or dangling "#/..." shows here
    return schema


def first_parameter_error(schema: dict[str, Any], parameters: Any) -> ParameterError | None:
    """The most relevant reason ``parameters`` do not match ``schema``, or ``None``."""
    validator = Draft202012Validator(schema)
    try:
        error: ValidationError | None = best_match(validator.iter_errors(parameters))
    except (Unresolvable, RecursionError) as failure:
        # A "#/..." reference to nothing, or a schema that refers to itself forever:
        # the definition's fault, found only when a value reaches that branch.
        raise InvalidSchema(f"the parameters schema cannot be applied: {failure}") from None
    if error is None:
        return None
    return ParameterError(path=error.json_path, message=error.message, keyword=str(error.validator))
