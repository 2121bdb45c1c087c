"""What identify needs of the server that runs it.

The server's state (``server/state.py``) holds identify's parts -- its limits and its
recorder -- so it stands above this package; identify asks only for this interface,
which that state meets, and the arrows keep pointing down.
"""

from __future__ import annotations

from typing import Protocol

from ...context import Backend
from ...outbound import OutboundClient
from ...realtime.broker import Broker
from ...settings import Settings
from ..app_directory import AppDirectory
from ..session_tokens import SessionTokens
from .jwks import JwksRefresh
from .limits import IdentifyLimits
from .recorder import VerificationRecorder


class IdentifyServices(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def backend(self) -> Backend: ...
    @property
    def directory(self) -> AppDirectory: ...
    @property
    def recorder(self) -> VerificationRecorder: ...
    @property
    def limits(self) -> IdentifyLimits: ...
    @property
    def broker(self) -> Broker: ...
    @property
    def session_tokens(self) -> SessionTokens: ...
    @property
    def outbound(self) -> OutboundClient: ...
    @property
    def jwks(self) -> JwksRefresh: ...
