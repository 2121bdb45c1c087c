"""The tables. Alembic's migrations create them; queries use these definitions.

Timestamps are timezone-aware UTC. Public ids are prefixed random strings
(``app_…``, ``sec_…``, ``con_…``) so an id says what it names and cannot be guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ..vocabulary.clock import utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        # SQLite stores text. SQLAlchemy's DATETIME formats it through a dict and a
        # %-format, ~3 µs a value, and identify binds three; isoformat() writes the
        # very same text (tests/storage/test_utc_datetime.py) in a fraction of it.
        # A statement often binds one moment several times (created_at, last_seen_at):
        # the last one converted is kept, as one tuple, so a thread reading it while
        # another replaces it sees one pair or the other, never a mix.
        last: list[tuple[datetime | None, str | None]] = [(None, None)]

        def to_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            seen, seen_text = last[0]
            if value is seen:
                return seen_text
            if value.tzinfo is None:
                raise ValueError("naive datetime stored; use datetime.now(UTC)")
            text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
            last[0] = (value, text)
            return text

        return to_text

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


#: The largest value an ``Integer`` column holds on PostgreSQL (SQLite holds 64 bits):
#: what a client sends for one (a seq) is checked against it before any query.
MAX_INTEGER: Final = 2**31 - 1


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {datetime: UtcDateTime, dict[str, Any]: JSON}


class App(Base):
    __tablename__ = "apps"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    identity_mode: Mapped[str] = mapped_column(String(16), default="required")
    on_mismatch: Mapped[str] = mapped_column(String(16), default="reject")
    identifier: Mapped[str] = mapped_column(String(16), default="user_id")
    max_metadata_chars: Mapped[int] = mapped_column(Integer, default=1000)
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Bumped by every change to the policy or the secrets; nodes poll it to drop
    # their cached copy of the app, so a CLI change reaches a running server.
    config_version: Mapped[int] = mapped_column(Integer, default=1)
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


class Contact(Base):
    """An end user. Verified contacts are unique per (app, user_id) and (app, email).

    Anonymous and unverified contacts belong to one visitor each: an unverified claim
    to be user 1235 never shares a row, or any data, with the verified user 1235.
    """

    __tablename__ = "contacts"
    __table_args__ = (
        Index(
            "uq_contacts_verified_user_id",
            "app_id",
            "user_id",
            unique=True,
            sqlite_where=text("verified AND user_id IS NOT NULL"),
            postgresql_where=text("verified AND user_id IS NOT NULL"),
        ),
        Index(
            "uq_contacts_verified_email",
            "app_id",
            "email",
            unique=True,
            sqlite_where=text("verified AND email IS NOT NULL"),
            postgresql_where=text("verified AND email IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str | None] = mapped_column(String(255), default=None)
    email: Mapped[str | None] = mapped_column(String(255), default=None)
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The last seq of this contact's live stream (see StreamEvent).
    stream_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class Visitor(Base):
    """A browser, by the random id the server gave it. Its own contact (created when
    first needed) holds what it did while anonymous or unverified;
    ``linked_contact_id`` is the verified contact it proved to be.

    The ``session_*`` columns are the browser's session: its sealed tokens
    (server/session_tokens.py) name this row, the epoch they were issued in and the
    secret that verified them, and act as ``session_contact_id`` with
    ``session_status``. A visitor serves one identity: logout or a change of identity
    retires it (``retired_at``; the epoch moves on, ending every token of it) and the
    browser continues as a new visitor.
    """

    __tablename__ = "visitors"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None
    )
    linked_contact_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    session_contact_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None
    )
    session_status: Mapped[str | None] = mapped_column(String(16), default=None)
    session_secret_id: Mapped[str | None] = mapped_column(String(40), default=None)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)


class VerificationLogEntry(Base):
    """Every identify outcome, with a diagnosis for failures. Never a hash."""

    __tablename__ = "verification_log"
    __table_args__ = (Index("ix_verification_log_app_at", "app_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))  # verified|unverified|refused|anonymous
    method: Mapped[str] = mapped_column(String(8))  # hash | jwt | none
    code: Mapped[str] = mapped_column(String(40))  # diagnosis code, "ok" when verified
    hint: Mapped[str] = mapped_column(Text, default="")
    identifier: Mapped[str | None] = mapped_column(String(255), default=None)
    secret_id: Mapped[str | None] = mapped_column(String(40), default=None)
    origin: Mapped[str | None] = mapped_column(String(255), default=None)
    client_ip: Mapped[str | None] = mapped_column(String(64), default=None)


class Conversation(Base):
    """A thread between one contact and the team. Owned by a contact: a verified
    contact's conversations follow the user to every verified browser."""

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_contact_updated", "contact_id", "updated_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    last_seq: Mapped[int] = mapped_column(Integer, default=0)  # of its messages
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("uq_messages_conversation_seq", "conversation_id", "seq", unique=True),
        # A retried send with the same client_id finds the original instead.
        Index(
            "uq_messages_conversation_client_id",
            "conversation_id",
            "client_id",
            unique=True,
            sqlite_where=text("client_id IS NOT NULL"),
            postgresql_where=text("client_id IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    author_type: Mapped[str] = mapped_column(String(16))  # contact | operator | bot
    author_name: Mapped[str | None] = mapped_column(String(255), default=None)
    body: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_contact_created", "contact_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text, default=None)
    url: Mapped[str | None] = mapped_column(String(2000), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(default=None)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_contact_created", "contact_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StreamEvent(Base):
    """What a contact's live stream delivered, kept for replay.

    ``seq`` rises by one per event of the contact, written in the same transaction as
    the change it reports; a reconnecting widget asks for everything after the last
    ``seq`` it saw, so nothing is missed or repeated even if live delivery was lost.
    """

    __tablename__ = "stream_events"
    __table_args__ = (Index("uq_stream_events_contact_seq", "contact_id", "seq", unique=True),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Operator(Base):
    """A team member who logs into the dashboard. ``email`` is stored lowercased (it
    is the login name); only an argon2id hash of the password is kept."""

    __tablename__ = "operators"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # owner | agent
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)


class OperatorSession(Base):
    """A dashboard login. Only the SHA-256 of its cookie token is stored."""

    __tablename__ = "operator_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[str] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    client_ip: Mapped[str | None] = mapped_column(String(64), default=None)


class OperatorAudit(Base):
    """What operators did to an app's credentials and policy (reveals above all)."""

    __tablename__ = "operator_audit"
    __table_args__ = (Index("ix_operator_audit_app_at", "app_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    app_id: Mapped[str | None] = mapped_column(
        ForeignKey("apps.id", ondelete="CASCADE"), default=None
    )
    # No foreign key: the record outlives the operator, so the email is kept too.
    operator_id: Mapped[str] = mapped_column(String(40))
    operator_email: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(64), default=None)
    client_ip: Mapped[str | None] = mapped_column(String(64), default=None)


class ConversationRead(Base):
    """How far an operator has read a conversation: the inbox's unread markers."""

    __tablename__ = "conversation_reads"

    operator_id: Mapped[str] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), primary_key=True
    )
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    last_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)


# Written bare, as the partial unique indexes spell it: SQLite uses a partial index only
# when the query repeats the index's WHERE terms, and SQLAlchemy writes a boolean column
# as ``verified = 1`` on SQLite, which does not match. Without this, finding a verified
# contact scans every contact of the app.
VERIFIED_CONTACT: Final = text("contacts.verified")


# Webhooks. Written bare for the same reason as VERIFIED_CONTACT: the partial indexes of
# the delivery queue are used only when a query repeats their WHERE terms literally.
OPEN_DELIVERY: Final = text("webhook_deliveries.status IN ('pending', 'failed')")


class WebhookEndpoint(Base):
    """A URL of the customer's that receives signed POSTs for the event types it chose."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    # AES-GCM(nonce || ciphertext) of the signing secret under the master key, with the
    # endpoint id as associated data, exactly like identity secrets.
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    allow_private_network: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEvent(Base):
    """The outbox: an event, written in the transaction of the change it reports. Its id
    is sent with every attempt so receivers can drop duplicates."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_app_created", "app_id", "created_at"),
        Index("ix_webhook_events_created_at", "created_at"),  # retention: oldest first
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event to one endpoint: ``pending`` (not tried yet) or ``failed`` (a retry is
    scheduled) until ``delivered``, or ``dead`` after the last retry.

    An endpoint's deliveries go out in ``id`` order, one at a time: only the oldest
    open (pending or failed) one of an endpoint may be attempted. ``lease_until`` is how
    a node claims an attempt, so two nodes never send the same attempt.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index(
            "ix_webhook_deliveries_open_endpoint",
            "endpoint_id",
            "id",
            sqlite_where=text("status IN ('pending', 'failed')"),
            postgresql_where=text("status IN ('pending', 'failed')"),
        ),
        Index(
            "ix_webhook_deliveries_open_due",
            "next_attempt_at",
            sqlite_where=text("status IN ('pending', 'failed')"),
            postgresql_where=text("status IN ('pending', 'failed')"),
        ),
        Index("ix_webhook_deliveries_app_id_id", "app_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True
    )
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(255), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookAttempt(Base):
    """One POST of a delivery: the delivery log operators read."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        index=True,
    )
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(String(255), default=None)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


# Custom actions.


class Action(Base):
    """A named call to the customer's API that the widget, a bot or the server API can
    make through Countersign (see ``countersign.actions``)."""

    __tablename__ = "actions"
    __table_args__ = (Index("uq_actions_app_name", "app_id", "name", unique=True),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    url: Mapped[str] = mapped_column(String(2000))
    parameters_schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    # AES-GCM of the signing secret under the master key, the action id as associated
    # data, like identity secrets.
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    allow_private_network: Mapped[bool] = mapped_column(Boolean, default=False)
    timeout_ms: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionCall(Base):
    """One call of an action and its outcome: the action log. Never a body: parameters
    and answers may hold personal data or the customer's secrets."""

    __tablename__ = "action_calls"
    __table_args__ = (
        Index("ix_action_calls_app_at", "app_id", "at"),
        Index("ix_action_calls_at", "at"),  # retention: oldest first
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    # No foreign keys to actions or contacts: the log outlives both.
    action_id: Mapped[str | None] = mapped_column(String(40), default=None)
    action_name: Mapped[str] = mapped_column(String(64))
    call_id: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(8))  # widget | server
    contact_id: Mapped[str | None] = mapped_column(String(40), default=None)
    identity_status: Mapped[str] = mapped_column(String(16))  # verified|unverified|anonymous
    outcome: Mapped[str] = mapped_column(String(24))
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(255), default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)
