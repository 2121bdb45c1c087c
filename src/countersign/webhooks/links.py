"""Attachments in a webhook get a download link the receiver can use: signed, for that
file alone, expiring (``core/signed_links.py``). Never the bytes, never a session.

The link is made at each attempt, so a delivery retried for days still carries one
that works for :data:`LINK_LIFETIME` from when it was sent."""

from __future__ import annotations

from typing import Any, Final

from ..core.signed_links import link_signature

LINK_LIFETIME: Final = 24 * 3600
DOWNLOAD_PATH: Final = "/links/attachments/"


def download_path(key: bytes, attachment_id: str, expires: int) -> str:
    signature = link_signature(key, attachment_id, expires)
    return f"{DOWNLOAD_PATH}{attachment_id}?expires={expires}&signature={signature}"


def with_download_links(data: Any, key: bytes, now: float) -> Any:
    """``data`` with a ``download_url`` beside every attachment's ``url``."""
    if isinstance(data, list):
        return [with_download_links(item, key, now) for item in data]
    if not isinstance(data, dict):
        return data
    expires = int(now) + LINK_LIFETIME
    copied = {name: with_download_links(value, key, now) for name, value in data.items()}
    files = copied.get("attachments")
    if isinstance(files, list):
        copied["attachments"] = [
            {**item, "download_url": download_path(key, str(item["id"]), expires)}
            if isinstance(item, dict) and "id" in item
            else item
            for item in files
        ]
    return copied
