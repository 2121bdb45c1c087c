"""Privacy requests: everything stored about a user, exported, or erased.

``export_user`` gathers every row about the user's verified contact (found by the
schema itself, ``storage/contact_records.py``, so a new table cannot be forgotten) as
one JSON document. ``erase_user`` deletes all of it in one transaction and leaves only
an audit row saying that an erasure happened (the contact's opaque id, never the user's
data); the caller then ends the user's sessions on every node.
"""

from .requests import ContactNotFound, Erased, Subject, UserNotFound, erase_user, export_user

__all__ = ["ContactNotFound", "Erased", "Subject", "UserNotFound", "erase_user", "export_user"]
