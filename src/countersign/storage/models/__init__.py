"""The tables, one module per aggregate. Alembic's migrations create them; queries use
these definitions.

Timestamps are timezone-aware UTC. Public ids are prefixed random strings
(``app_…``, ``sec_…``, ``con_…``) so an id says what it names and cannot be guessed.

- ``base``: the declarative base, its naming convention, ``UtcDateTime``, ``MAX_INTEGER``
- ``apps``: apps, their identity secrets and API keys
- ``contacts``: contacts and visitors
- ``public_keys``: public keys and JWKS URLs of apps, fetched JWKS, revoked users
- ``verification_log``: the outcome of every failed or unverified identify, and the
  successes counted per minute
- ``attachments``: uploaded files and their chunks
- ``messaging``: conversations, messages, events, the stream log
- ``notifications``: notifications, categories, preferences, idempotent sends
- ``operators``: operators, their invitations, their sessions, the audit trail, read markers
- ``webhooks``: endpoints, events, deliveries, attempts
- ``actions``: custom actions and their call log
- ``mail``: the mail outbox, the inbound mail log, open widgets and dashboards per node

Every public name is re-exported here, and importing this package defines every table
on ``Base.metadata`` (what ``migrations/env.py`` compares against): import from
``countersign.storage.models``, not from its modules.
"""

from .actions import Action as Action
from .actions import ActionCall as ActionCall
from .apps import ApiKey as ApiKey
from .apps import App as App
from .apps import IdentitySecret as IdentitySecret
from .attachments import Attachment as Attachment
from .attachments import AttachmentChunk as AttachmentChunk
from .base import MAX_INTEGER as MAX_INTEGER
from .base import NAMING as NAMING
from .base import Base as Base
from .base import UtcDateTime as UtcDateTime
from .contacts import VERIFIED_CONTACT as VERIFIED_CONTACT
from .contacts import Contact as Contact
from .contacts import Visitor as Visitor
from .mail import OPEN_MAIL as OPEN_MAIL
from .mail import MailDigestItem as MailDigestItem
from .mail import MailInbound as MailInbound
from .mail import MailOutbox as MailOutbox
from .mail import NodePresence as NodePresence
from .messaging import Conversation as Conversation
from .messaging import Event as Event
from .messaging import Message as Message
from .messaging import StreamEvent as StreamEvent
from .notifications import Notification as Notification
from .notifications import NotificationCategory as NotificationCategory
from .notifications import NotificationPreference as NotificationPreference
from .notifications import NotificationSend as NotificationSend
from .operators import ConversationRead as ConversationRead
from .operators import Operator as Operator
from .operators import OperatorAudit as OperatorAudit
from .operators import OperatorInvitation as OperatorInvitation
from .operators import OperatorSession as OperatorSession
from .public_keys import JwksCache as JwksCache
from .public_keys import PublicKeyRecord as PublicKeyRecord
from .public_keys import RevokedUser as RevokedUser
from .verification_log import NO_SECRET as NO_SECRET
from .verification_log import VerificationCount as VerificationCount
from .verification_log import VerificationLogEntry as VerificationLogEntry
from .webhooks import OPEN_DELIVERY as OPEN_DELIVERY
from .webhooks import WebhookAttempt as WebhookAttempt
from .webhooks import WebhookDelivery as WebhookDelivery
from .webhooks import WebhookEndpoint as WebhookEndpoint
from .webhooks import WebhookEvent as WebhookEvent
