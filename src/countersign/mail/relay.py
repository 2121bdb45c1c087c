"""The SMTP relay, from ``COUNTERSIGN_SMTP_URL``: ``smtp://user:password@host:587``
(STARTTLS when the relay offers it) or ``smtps://`` (implicit TLS, port 465 by
default). The password is used only to log in: never logged, never in an error."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Final
from urllib.parse import unquote, urlsplit

import aiosmtplib

TIMEOUT_SECONDS: Final = 30.0


class RelayError(Exception):
    """A send that did not go through: ``permanent`` (a 5xx) is not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class Relay:
    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str) -> Relay:
        parts = urlsplit(url)
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (465 if implicit else 587),
            implicit_tls=implicit,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    async def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> None:
        try:
            await aiosmtplib.send(
                message,
                sender=sender,
                recipients=recipients,
                hostname=self.host,
                port=self.port,
                use_tls=self.implicit_tls,
                # None: STARTTLS when the relay offers it, plain otherwise.
                start_tls=None if not self.implicit_tls else False,
                username=self.username,
                password=self.password,
                timeout=TIMEOUT_SECONDS,
            )
        except aiosmtplib.SMTPRecipientsRefused:
            raise RelayError("relay refused the recipient", permanent=True) from None
        except aiosmtplib.SMTPResponseException as error:
            permanent = 500 <= error.code < 600
            raise RelayError(f"relay answered {error.code}", permanent=permanent) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise RelayError(f"relay unreachable: {type(error).__name__}") from None
