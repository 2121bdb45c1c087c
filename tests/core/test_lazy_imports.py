"""What importing the package loads, each in a fresh interpreter.

A customer's backend that does ``from countersign import sign, verify`` loads the
standard library and the core: no JWT library (PyJWT is imported by the token
functions when first called) and none of the server's stack. The settings load
pydantic, but not the server's stack either.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("jwt", "fastapi", "starlette", "sqlalchemy", "pydantic", "pydantic_core", "uvicorn")


def loaded_after(statement: str) -> set[str]:
    """The top-level packages among ``HEAVY`` that ``statement`` leaves in sys.modules."""
    code = (
        f"import sys, json\n{statement}\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout))


def test_sign_and_verify_load_no_jwt_library_and_no_web_framework() -> None:
    assert loaded_after("from countersign import sign, verify") == set()


def test_the_whole_public_api_imports_without_them_too() -> None:
    assert loaded_after("import countersign; countersign.KeyRing; countersign.diagnose") == set()


def test_identity_tokens_load_pyjwt_when_used() -> None:
    statement = (
        "from datetime import UTC, datetime\n"
        "from countersign import KeyRing, RingKey, Secret, issue_identity_token,"
        " verify_identity_token\n"
        "ring = KeyRing([RingKey('sec_1', Secret('s' * 32), datetime(2030, 1, 1, tzinfo=UTC))])\n"
        "assert verify_identity_token(issue_identity_token(ring, user_id='u1'), ring).user_id"
        " == 'u1'"
    )
    assert loaded_after(statement) == {"jwt"}


def test_settings_load_pydantic_but_not_the_server() -> None:
    assert loaded_after("import countersign.settings") == {"pydantic", "pydantic_core"}
