"""Plain-text e-mail over SMTP, configured by one URL.

``smtp://user:pass@host:25`` (plain, upgraded to TLS only if asked), ``smtp+starttls://...``
(STARTTLS required, default port 587) and ``smtps://...`` (TLS from the first byte, default
port 465). User and password are percent-decoded, so ``@`` or ``:`` in them are written
``%40`` / ``%3A``. Every network step has the timeout; failures raise `MailError` with a
message that never contains the password.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import unquote, urlsplit

_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class MailError(Exception):
    """The message could not be handed to the SMTP server (or the URL is unusable)."""


@dataclass(frozen=True)
class SmtpConfig:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise MailError(
                f"unsupported SMTP URL scheme {parts.scheme!r}: use smtp://, smtp+starttls:// "
                "or smtps://"
            )
        if not parts.hostname:
            raise MailError("the SMTP URL has no host")
        try:
            port = parts.port or _DEFAULT_PORTS[scheme]
        except ValueError as exc:
            raise MailError("the SMTP URL has an invalid port") from exc
        return cls(
            scheme=scheme,
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def send_mail(
    url: str, sender: str, to: str, subject: str, body: str, *, timeout: float = 10.0
) -> str:
    """Send one plain-text message; returns its Message-ID."""
    config = SmtpConfig.from_url(url)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr(("", to))
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body)
    context = ssl.create_default_context()
    try:
        client: smtplib.SMTP
        if config.scheme == "smtps":
            client = smtplib.SMTP_SSL(config.host, config.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=timeout)
        with client:
            client.ehlo()
            if config.scheme == "smtp+starttls":
                client.starttls(context=context)
                client.ehlo()
            if config.username is not None:
                client.login(config.username, config.password or "")
            client.send_message(message)
    except smtplib.SMTPResponseException as exc:
        detail = (
            exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        )
        raise MailError(
            f"SMTP server {config.host}:{config.port} answered {exc.smtp_code} {detail}".strip()
        ) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        answers = "; ".join(
            f"{code} {reply.decode(errors='replace')}" for code, reply in exc.recipients.values()
        )
        raise MailError(
            f"SMTP server {config.host}:{config.port} refused the recipient: {answers}"
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:  # OSError covers timeouts and refusals
        reason = str(exc) or type(exc).__name__
        raise MailError(f"cannot deliver through {config.host}:{config.port}: {reason}") from exc
    return str(message["Message-ID"])
