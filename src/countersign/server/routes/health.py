"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text
from starlette.responses import JSONResponse

from ..state import StateDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers")
async def readyz(state: StateDep) -> JSONResponse:
    try:
        await state.backend.database.run(lambda c: c.execute(text("SELECT 1")))
    except Exception:
        return JSONResponse(
            {"error": {"code": "not_ready", "message": "the database does not answer"}},
            status_code=503,
        )
    return JSONResponse({"status": "ready"})
