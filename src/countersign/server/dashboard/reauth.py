"""The owner types their password again before a step that cannot be undone or that
shows what a stolen session cookie should not: revealing a secret, exporting or erasing
a contact's data.

Each try is counted before the hash runs, per (operator, address), and given back when
the password is right (attempts.py), so a stolen cookie cannot guess its way through.
"""

from __future__ import annotations

from starlette.requests import Request

from ...storage import operators
from ...storage.operators import OperatorRecord
from ..state import ServerState
from .auth import dashboard_limits, peer
from .route import form_of


async def password_confirmed(
    request: Request, state: ServerState, operator: OperatorRecord
) -> bool:
    """Whether the form's ``password`` is ``operator``'s (429 past the limit)."""
    limits = dashboard_limits(request)
    password = form_of(request).get("password", "")
    async with limits.reveals.attempt(operator.id, peer(request, state)) as attempt:
        stored = await state.backend.database.run(
            lambda c: operators.password_hash_of(c, operator.id)
        )
        if await limits.passwords.check(stored, password):
            return True
        attempt.failed()
        return False
