"""One error tree for storage, by cause (itsdangerous' ``exc.py`` is the model).

Every error a storage function raises for something a caller did is one of three
kinds, each carrying an API ``code``: :class:`NotFound` (no such row for this caller),
:class:`Invalid` (a value storage cannot hold or that breaks a stored rule) and
:class:`Conflict` (it exists already). The server, the dashboard and the CLI each map
the kinds in one table; ``get_*`` functions raise :class:`NotFound`, ``find_*``
functions return ``None``.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of every storage error; ``code`` is the API error code."""

    code = "storage_error"


class NotFound(StorageError):
    code = "not_found"


class Invalid(StorageError, ValueError):
    code = "invalid_request"


class Conflict(StorageError):
    code = "conflict"
