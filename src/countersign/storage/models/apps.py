"""An app, its identity secrets and its server API keys: what a customer configures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from ...vocabulary.clock import utcnow
from .base import Base


class App(Base):
    __tablename__ = "apps"
    __table_args__ = (Index("uq_apps_inbound_key_hash", "inbound_key_hash", unique=True),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    identity_mode: Mapped[str] = mapped_column(String(16), default="required")
    on_mismatch: Mapped[str] = mapped_column(String(16), default="reject")
    identifier: Mapped[str] = mapped_column(String(16), default="user_id")
    max_metadata_chars: Mapped[int] = mapped_column(Integer, default=1000)
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    # False: identify without a verified identity is refused (SPEC 15).
    allow_anonymous: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Bumped by every change to the policy or the secrets; nodes poll it to drop
    # their cached copy of the app, so a CLI change reaches a running server.
    # Uploads (SPEC 11): the largest file accepted, and the sniffed types allowed
    # (NULL: the default list).
    max_attachment_bytes: Mapped[int] = mapped_column(
        BigInteger, default=10_000_000, server_default="10000000"
    )
    attachment_types: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    config_version: Mapped[int] = mapped_column(Integer, default=1)
    # Email (SPEC 12): how long the team's message waits for the contact to read it
    # before it is emailed, and the SHA-256 of the key of POST /v1/inbound/email.
    email_delay: Mapped[int] = mapped_column(Integer, default=120, server_default="120")
    inbound_key_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdentitySecret(Base):
    __tablename__ = "identity_secrets"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    # AES-GCM(nonce || ciphertext) under the master key, with the secret id as
    # associated data so a row's ciphertext cannot be moved to another row.
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    use_count: Mapped[int] = mapped_column(BigInteger, default=0)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the key: keys are 256-bit random, so a slow hash buys nothing.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
