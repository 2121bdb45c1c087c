"""A schemathesis check for the OpenAPI fuzz test.

It also judges each case as what it was when it arrived. The generator holds a path
parameter's ``pattern`` against the parameter as percent-encoded, so ``%0A`` "fits" a
pattern that forbids control characters; and it now and then hands over a body string
that breaks its ``pattern``. The server rightly refuses both. So a refusal counts
against the server only if the decoded path and the body as sent fit the document.

Schemathesis' ``positive_data_acceptance`` says a request that fits the document must
not be refused. That holds here except where the answer depends on what is stored, not
on the request's form, which no schema can state: a well-formed cursor this server never
handed out, a notification category the app has not created, an assignee who is no
active operator, a snooze time that is already past (or over a year ahead), or a read
position beyond the conversation's last message. Those are answered 422
with codes of their own; this check is the stock one with exactly those let through. So is
a received email the server refuses (403 ``mail_refused``): whether a reply token verifies
and its sender is the contact's depends on the conversations stored.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final
from urllib.parse import unquote

import jsonschema_rs
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance

#: Error codes whose refusal depends on stored data, as a 404 does.
DATA_DEPENDENT: Final = frozenset(
    {
        "invalid_cursor",
        "unknown_category",
        "unknown_assignee",
        "invalid_snooze",
        "seq_out_of_range",
    }
)
# An upload's type, pixels and emptiness are in the file's bytes, which no schema can
# describe (SPEC 11): these refusals of a schema-valid body are the rules working.
UPLOAD_REFUSALS: Final = frozenset(
    {(415, "file_type_not_allowed"), (413, "file_too_large"), (422, "invalid_image"),
     (422, "empty_file")}
)  # fmt: skip


def _error_code(response: Any) -> str | None:
    try:
        document = json.loads(response.content)
    except ValueError:
        return None
    error = document.get("error") if isinstance(document, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def _decoded_path_fits(case: Any) -> bool:
    for parameter in case.operation.definition.raw.get("parameters", []):
        if parameter.get("in") != "path":
            continue
        pattern = parameter.get("schema", {}).get("pattern")
        value = (case.path_parameters or {}).get(parameter["name"])
        if pattern and isinstance(value, str) and not re.search(pattern, unquote(value)):
            return False
    return True


def _body_fits(case: Any) -> bool:
    body = case.body
    if not isinstance(body, (dict, list, str, int, float, bool)) and body is not None:
        return True  # not JSON: nothing for a JSON schema to say
    content = case.operation.definition.raw.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return True
    document = case.operation.schema.raw_schema
    root = {**schema, "components": document.get("components", {})}
    # jsonschema_rs reads patterns as ECMA does, as the document means them: its "$"
    # ends the text, where Python's also allows a final newline.
    return bool(jsonschema_rs.validator_for(root).is_valid(body))


@schemathesis.check
def positive_data_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code == 422 and _error_code(response) in DATA_DEPENDENT:
        return None
    if (response.status_code, _error_code(response)) in UPLOAD_REFUSALS:
        return None
    if response.status_code == 403 and _error_code(response) == "mail_refused":
        return None
    if not _decoded_path_fits(case) or not _body_fits(case):
        return None
    result: bool | None = positive_data_acceptance(ctx, response, case)
    return result
