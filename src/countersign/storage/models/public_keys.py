"""Public keys that verify an app's identity tokens, the JWKS documents fetched for
them, and the users an app revoked: what SPEC 15 adds to an app's identity."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ...vocabulary.clock import utcnow
from .base import Base


class PublicKeyRecord(Base):
    """One public key (``source`` inline: its public JWK) or one JWKS URL (``source``
    jwks_url: its keys are in :class:`JwksCache`). Never a private key."""

    __tablename__ = "public_keys"
    __table_args__ = (Index("ix_public_keys_app_id_kid", "app_id", "kid"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))  # inline | jwks_url
    kid: Mapped[str | None] = mapped_column(String(64), default=None)
    alg: Mapped[str | None] = mapped_column(String(8), default=None)
    public_jwk: Mapped[str | None] = mapped_column(Text, default=None)
    jwks_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    # As for a webhook endpoint: a JWKS URL on a private network is fetched only when
    # an operator allowed it deliberately.
    allow_private_network: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    use_count: Mapped[int] = mapped_column(BigInteger, default=0)


class JwksCache(Base):
    """The last good JWKS document of a ``jwks_url`` key source, and the last attempt:
    a failed fetch keeps the document, and every node reads the same one."""

    __tablename__ = "jwks_cache"

    source_id: Mapped[str] = mapped_column(
        ForeignKey("public_keys.id", ondelete="CASCADE"), primary_key=True
    )
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    document: Mapped[str | None] = mapped_column(Text, default=None)
    fetched_at: Mapped[datetime | None] = mapped_column(default=None)
    attempted_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)


class RevokedUser(Base):
    """A user whose credentials an operator revoked: their static hash is refused from
    then on, and so is any token issued (``iat``) before ``revoked_at``."""

    __tablename__ = "revoked_users"

    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)
