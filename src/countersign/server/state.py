"""What one server process holds, and the dependency aliases routes use to reach it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Connection

from ..context import Backend
from ..mail.inbound import InboundMail
from ..messaging import Posted
from ..outbound import OutboundClient
from ..realtime.broker import Broker
from ..realtime.hub import StreamHub
from ..realtime.presence import OpenDashboards
from ..settings import Settings
from ..vocabulary.stream import StreamItem
from .action_limits import ActionLimits
from .app_directory import AppDirectory
from .identify.jwks import JwksRefresh
from .identify.limits import IdentifyLimits
from .identify.recorder import VerificationRecorder
from .session_tokens import SessionTokens
from .typing_limit import TypingLimit

log = logging.getLogger("countersign.server")

T = TypeVar("T")


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
    jwks: JwksRefresh = field(default_factory=JwksRefresh)  # unknown kids: SPEC 15
    typing_limit: TypingLimit = field(default_factory=TypingLimit)  # SPEC 11
    # Email (SPEC 12): operators' dashboards open here, and received mail's way in.
    dashboards: OpenDashboards = field(default_factory=OpenDashboards)
    inbound_mail: InboundMail | None = None

    async def commit_and_publish(
        self, work: Callable[[Connection], tuple[T, Sequence[StreamItem]]]
    ) -> T:
        """Run ``work`` in a transaction and, once it committed, send the stream events
        it returned on their way; its result. Never the other order: a widget must not
        hear of a change that may still roll back."""
        result, events = await self.backend.database.run(work)
        await self.publish(events)
        return result

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


def with_events(posted: Posted | None) -> tuple[Posted | None, Sequence[StreamItem]]:
    """A posted message (or None: no such conversation) and the events it made."""
    return posted, () if posted is None else posted.events


def one_event(made: tuple[T, StreamItem]) -> tuple[T, Sequence[StreamItem]]:
    """A record made with exactly one stream event, as ``commit_and_publish`` takes it."""
    record, event = made
    return record, (event,)


async def server_state(request: Request) -> ServerState:
    # async: a sync dependency costs every request a trip through the thread pool.
    state: ServerState = request.app.state.countersign
    return state


StateDep = Annotated[ServerState, Depends(server_state)]
