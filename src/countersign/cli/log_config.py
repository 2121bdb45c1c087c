"""The logging configuration ``serve`` gives uvicorn (and so every worker).

Plain: uvicorn's own, for people at a terminal, with Countersign's loggers added at
the same level (uvicorn's names only its own: ours reached the root logger, which has
no handler, and Python's last resort prints WARNING and above only). JSON: one
formatter for every logger (uvicorn's and Countersign's) writing one object per line
to stderr; uvicorn's access line is replaced by Countersign's (``countersign.access``),
which knows the route template, the request id and the app.
"""

from __future__ import annotations

import copy
from typing import Any

from uvicorn.config import LOGGING_CONFIG


def log_config(log_format: str, *, level: str, access_log: bool) -> dict[str, Any]:
    if log_format != "json":
        config = copy.deepcopy(LOGGING_CONFIG)
        config["loggers"]["countersign"] = {
            "handlers": ["default"], "level": level.upper(), "propagate": False,
        }  # fmt: skip
        # uvicorn writes the plain access line: ours would print each request twice.
        config["loggers"]["countersign.access"] = {"level": "WARNING"}
        return config
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "countersign.server.json_logs.JsonFormatter"}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"level": level.upper()},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"level": "CRITICAL", "propagate": False},
            "countersign.access": {"level": "INFO" if access_log else "WARNING"},
        },
    }
