"""What one server process holds, and the dependency aliases routes use to reach it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from ..context import Backend
from ..outbound import OutboundClient
from ..realtime.broker import Broker
from ..realtime.hub import StreamHub
from ..settings import Settings
from ..vocabulary.stream import StreamItem
from .action_limits import ActionLimits
from .app_directory import AppDirectory
from .identify.limits import IdentifyLimits
from .identify.recorder import VerificationRecorder
from .session_tokens import SessionTokens

log = logging.getLogger("countersign.server")


@dataclass
class ServerState:
    settings: Settings
    backend: Backend
    directory: AppDirectory
    recorder: VerificationRecorder
    limits: IdentifyLimits
    hub: StreamHub
    broker: Broker
    outbound: OutboundClient  # every request to a customer's systems goes through it
    session_tokens: SessionTokens
    action_limits: ActionLimits = field(default_factory=ActionLimits)

    async def publish(self, items: Sequence[StreamItem]) -> None:
        """Send committed stream events on their way. Never fails the request: the
        events are in the stream log, and widgets catch up from there."""
        if not items:
            return
        try:
            await self.broker.publish(items)
        except Exception:
            log.warning("live delivery failed; widgets will catch up from the log")
            self.hub.resync_all()


async def server_state(request: Request) -> ServerState:
    # async: a sync dependency costs every request a trip through the thread pool.
    state: ServerState = request.app.state.countersign
    return state


StateDep = Annotated[ServerState, Depends(server_state)]
