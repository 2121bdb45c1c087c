"""Schemathesis, driven by the server's own ``/openapi.json``, over every route.

A real server on SQLite, with a real widget session and server API key. For every
operation, schemathesis generates requests from the document (valid ones and ones that
break it) and every check it has must find nothing: no 5xx; only documented statuses,
content types, headers and bodies; schema-valid requests accepted (with the data-dependent
refusals of tests/fuzz/checks.py); invalid ones refused; 405 with a true ``Allow`` for a
method a path does not have. Logout gets a session of its own on every call, since it ends
the session it is given.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402

from countersign import sign  # noqa: E402
from countersign.server.app import create_app  # noqa: E402
from countersign.settings import load_settings  # noqa: E402
from tests.cli.serving import serving  # noqa: E402

from .checks import positive_data_accepted  # noqa: E402

EXAMPLES = int(os.environ.get("COUNTERSIGN_FUZZ_EXAMPLES", "60"))


@dataclass(frozen=True)
class Target:
    base_url: str
    app: dict[str, str]
    session: str

    def new_session(self, user_id: str) -> str:
        body = {
            "app_id": self.app["app_id"],
            "user_id": user_id,
            "user_hash": sign(self.app["secret"], user_id),
        }
        request = urllib.request.Request(
            f"{self.base_url}/v1/widget/identify",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            token: str = json.load(response)["session_token"]
        return token


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    data_dir = tmp_path_factory.mktemp("fuzz") / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTERSIGN_")}
    created = subprocess.run(
        [sys.executable, "-m", "countersign", "apps", "create", "Fuzz", "--json"],
        env=env | {"COUNTERSIGN_DATA_DIR": str(data_dir)},
        capture_output=True,
        check=True,
    )
    app = json.loads(created.stdout)
    with serving([], env={"COUNTERSIGN_DATA_DIR": str(data_dir)}) as (_server, port):
        base_url = f"http://127.0.0.1:{port}"
        first = Target(base_url, app, "")
        yield Target(base_url, app, first.new_session("fuzz-user"))


def _document() -> Any:
    """The document as the server builds it (tests/server/test_openapi.py checks that it
    is what ``/openapi.json`` serves), read at collection to name one test per operation."""
    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(load_settings(environ={}, data_dir=Path(data_dir)))
        return schemathesis.openapi.from_dict(app.openapi())


SCHEMA = _document()
OPERATIONS = sorted(
    (result.ok() for result in SCHEMA.get_all_operations()), key=lambda op: op.label
)


def _credential(operation: Any, target: Target) -> str | None:
    security = operation.definition.raw.get("security") or []
    schemes = {name for requirement in security for name in requirement}
    if "apiKey" in schemes:
        return target.app["api_key"]
    if "session" in schemes:
        if operation.path == "/v1/widget/logout":
            return target.new_session("fuzz-logout")
        return target.session
    return None


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_the_fuzzer_finds_the_server_doing_what_its_document_says(
    operation: Any, target: Target
) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def call(case: Any) -> None:
        if (credential := _credential(operation, target)) is not None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {credential}"}
        case.call_and_validate(
            base_url=target.base_url,
            excluded_checks=[positive_data_acceptance],
            additional_checks=[positive_data_accepted],
        )

    call()
