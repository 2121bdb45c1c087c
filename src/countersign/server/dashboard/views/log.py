"""The verification log: recent identify outcomes with their diagnosis and the fix.

Failures and unverified claims are listed row by row; successes are counted per
minute and secret (SPEC 9) and listed as those counts, the ``verified`` filter
included (with any verified rows logged before the counts existed).

Counts cover the last 24 hours. In ``report`` mode the failures still get in as
unverified; the page says how many ``required`` would have refused, so an owner can
switch enforcement on knowing what it will do.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any, Final

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from ....core import HINTS
from ....storage import verification_counts, verification_log
from ....vocabulary.clock import utcnow
from ...state import StateDep
from ..auth import AppDep, OwnerDep
from ..errors import BadForm
from ..pages import page
from ..route import dashboard_router

router = dashboard_router()

SUMMARY_WINDOW: Final = timedelta(hours=24)
PAGE_SIZE: Final = 100
#: Outcomes whose hint is a fix to apply.
FAILURES: Final = frozenset({"unverified", "refused"})


def fix_for(entry: dict[str, Any]) -> str:
    """The one-line fix: the diagnosis's own words when it has specific ones (a
    malformed hash names what it looks like), else the code's standard hint."""
    if entry["outcome"] not in FAILURES or entry["code"] in ("none", "ok"):
        return ""
    return str(entry.get("hint") or HINTS.get(entry["code"], ""))


@router.get("/dashboard/apps/{app_id}/log")
async def log(request: Request, state: StateDep, operator: OwnerDep, app: AppDep) -> Response:
    outcome = request.query_params.get("outcome") or None
    if outcome is not None and outcome not in verification_log.OUTCOMES:
        raise BadForm(f"outcome must be one of {', '.join(verification_log.OUTCOMES)}")
    since = utcnow() - SUMMARY_WINDOW
    # What the server's recorder still holds goes in first, so the page is current.
    with contextlib.suppress(Exception):
        await state.recorder.flush()

    def load(connection: Connection) -> dict[str, Any]:
        entries = verification_log.recent_entries(
            connection, app.id, limit=PAGE_SIZE, outcome=outcome
        )
        successes = (
            verification_counts.recent_counts(connection, app.id, limit=PAGE_SIZE)
            if outcome in (None, "verified")
            else []
        )
        return {
            "entries": [{**entry, "fix": fix_for(entry)} for entry in entries],
            "successes": successes,
            "counts": verification_log.outcome_counts(connection, app.id, since),
            "would_refuse": verification_log.would_be_refused(connection, app.id, since),
        }

    return await page(
        request,
        state,
        "log.html",
        operator=operator,
        app=app,
        section="log",
        outcome=outcome,
        outcomes=verification_log.OUTCOMES,
        **(await state.backend.database.run(load)),
    )
