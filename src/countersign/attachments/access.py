"""Who may fetch an attachment: the rule, apart from the queries that feed it."""

from __future__ import annotations


def contact_may_see(
    *, uploader: str | None, conversation_contact: str | None, contact_id: str
) -> bool:
    """A contact's sessions see what the contact uploaded (attached or not) and what
    was sent in the contact's own conversations. An unverified session's contact is
    its browser's own, so that session sees only what that browser uploaded or was
    sent; a verified user's devices share their contact, and so their files."""
    if conversation_contact is not None:
        return conversation_contact == contact_id
    return uploader is not None and uploader == contact_id
