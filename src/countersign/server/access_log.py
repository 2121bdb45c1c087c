"""Keep one-time join links out of the access log.

A link to join the team carries its token in the path (``/dashboard/join/csi_…``), and
with ``--access-log`` uvicorn writes every request's path. Until it is used, that token
sets a password, so the log line shows the path with the token cut out instead. This
is a filter on uvicorn's access logger, which passes the path as the third argument of
its message (``'%s - "%s %s HTTP/%s" %d'``).
"""

from __future__ import annotations

import logging
from typing import Final

from ..operators.team import JOIN_PATH

ACCESS_LOGGER: Final = "uvicorn.access"
REDACTED: Final = JOIN_PATH + "[redacted]"


def redact(path: str) -> str:
    head, found, _ = path.partition(JOIN_PATH)
    return head + REDACTED if found else path


class RedactJoinLinks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact(args[2]), *args[3:])
        return True


def install() -> None:
    """Add the filter to uvicorn's access logger, once per process."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(each, RedactJoinLinks) for each in logger.filters):
        logger.addFilter(RedactJoinLinks())
