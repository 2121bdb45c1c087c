"""What one server process holds, and the dependency aliases routes use to reach it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from ..context import Backend
from ..settings import Settings
from .app_directory import AppDirectory
from .ratelimit import IdentifyLimits
from .recorder import VerificationRecorder


@dataclass
class ServerState:
    settings: Settings
    backend: Backend
    directory: AppDirectory
    recorder: VerificationRecorder
    limits: IdentifyLimits


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.countersign
    return state


StateDep = Annotated[ServerState, Depends(server_state)]
