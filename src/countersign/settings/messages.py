"""A settings error as one message per problem, naming the variable and what it allows.

Never the value of a URL or key: a database URL may hold a password.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

import annotated_types
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from .kinds import SettingsError, Unit


def variable_of(field: FieldInfo) -> str:
    assert isinstance(field.validation_alias, str)  # every setting names its variable
    return field.validation_alias


_RANGE_ERRORS: Final = frozenset(
    {
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "finite_number",
        "out_of_range",
    }
)


def messages(error: ValidationError, fields: Mapping[str, FieldInfo]) -> Iterator[str]:
    """One message per problem, naming the variable; never a URL's or key's value."""
    setting_of = {variable_of(field): name for name, field in fields.items()}
    for problem in error.errors(include_url=False):
        key = str(problem["loc"][0]) if problem["loc"] else ""
        field = fields.get(setting_of.get(key, key))
        if field is None:
            yield problem["msg"]
            continue
        variable, kind = variable_of(field), problem["type"]
        cause = problem.get("ctx", {}).get("error")
        if kind in ("int_parsing", "int_from_float", "int_type"):
            yield f"{variable} must be a whole number, not {problem.get('input')!r}"
        elif kind in ("float_parsing", "float_type"):
            yield f"{variable} must be a number, not {problem.get('input')!r}"
        elif kind in _RANGE_ERRORS:
            yield f"{variable} must be {allowed(field)}"
        elif isinstance(cause, SettingsError):
            yield str(cause)  # it names the variable already
        elif cause is not None:
            yield f"{variable}: {cause}"
        else:  # pydantic's own words, without the value
            yield f"{variable}: {problem['msg']}"


def allowed(field: FieldInfo) -> str:
    """``between LOW and HIGH``: the field's bounds, in its variable's unit."""
    unit = next((item for item in field.metadata if isinstance(item, Unit)), None)
    low: Any = next(item.ge for item in field.metadata if isinstance(item, annotated_types.Ge))
    high: Any = next(item.le for item in field.metadata if isinstance(item, annotated_types.Le))
    if unit is not None:
        low, high = unit.count(low, at_least=True), unit.count(high, at_least=False)
    return f"between {_number(low)} and {_number(high)}"


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
