"""Settings shared by ``countersign serve`` and every other command.

Each setting is declared once, as a field of :class:`Settings` (:mod:`.model`): its
type (:mod:`.kinds`), its bounds and the ``COUNTERSIGN_*`` variable it is read from (by
pydantic-settings, :mod:`.reading`). Flags, passed to :func:`load_settings` as
overrides, win over the variables, which win over the defaults. Everything is checked
when loaded, so a typo fails at start with a message naming the variable and what it
allows (:mod:`.messages`), not at the first request.
"""

from .kinds import (
    MAX_REQUEST_TIMEOUT,
    MAX_RETENTION_DAYS,
    MIN_REQUEST_TIMEOUT,
    MIN_RETENTION_DAYS,
    Network,
    SettingsError,
    default_data_dir,
    parse_proxies,
)
from .model import Settings, load_settings

__all__ = [
    "MAX_REQUEST_TIMEOUT",
    "MAX_RETENTION_DAYS",
    "MIN_REQUEST_TIMEOUT",
    "MIN_RETENTION_DAYS",
    "Network",
    "Settings",
    "SettingsError",
    "default_data_dir",
    "load_settings",
    "parse_proxies",
]
