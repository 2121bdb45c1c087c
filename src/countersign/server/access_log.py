"""Access-log lines without the secrets a URL can carry.

Countersign refuses a session token or API key sent in a URL, but uvicorn's access log
writes each request's path with its query string before anything refuses it, so a
client that put a secret there would leave it in the log. Every query value is
replaced by ``[redacted]``; names stay when they look like names (so ``?cursor=…``
still tells what was asked), and a bare word, which could be the secret itself, is
redacted whole. A one-time link to join the team carries its token in the path
(``/dashboard/join/csi_…``), and until it is used that token sets a password: the path
is written with the token cut out. The JSON access line (request_observer.py) is
redacted by the same :func:`redact_path`.
"""

from __future__ import annotations

import logging
import re
from typing import Final

from ..operators.team import JOIN_PATH

REDACTED: Final = "[redacted]"
ACCESS_LOGGER: Final = "uvicorn.access"
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-\[\]]{0,39}")


def redact_query(path: str) -> str:
    """``path`` with every query value redacted (``/a?x=1&y`` → ``/a?x=[redacted]&[redacted]``)."""
    base, mark, query = path.partition("?")
    if not mark:
        return path
    parts = []
    for part in query.split("&"):
        name, equals, _value = part.partition("=")
        parts.append(f"{name}={REDACTED}" if equals and _NAME.fullmatch(name) else REDACTED)
    return f"{base}?{'&'.join(parts)}"


def redact(path: str) -> str:
    """``path`` with a join link's token cut out (the query left as it is)."""
    head, found, _ = path.partition(JOIN_PATH)
    return head + JOIN_PATH + REDACTED if found else path


def redact_path(path: str) -> str:
    """What an access line may show of ``path``: no query value, no join token."""
    return redact(redact_query(path))


class RedactSecrets(logging.Filter):
    """Rewrites uvicorn's access records, whose args are (client, method, path,
    http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact_path(args[2]), args[3], args[4])
        return True


def redact_access_log() -> None:
    """Install the filter on uvicorn's access logger (once per process)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, RedactSecrets) for existing in logger.filters):
        logger.addFilter(RedactSecrets())
