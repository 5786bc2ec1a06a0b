"""Sending e-mail through the configured SMTP server (plain SMTP, with STARTTLS when offered)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage


def send_mail(
    host: str,
    port: int,
    sender: str,
    to: str,
    subject: str,
    text: str,
    timeout: float = 10.0,
    headers: dict[str, str] | None = None,
) -> None:
    """Send one plain-text message; raises OSError/SMTPException when the server refuses."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    with smtplib.SMTP(host, port, timeout=timeout) as smtp:
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        smtp.send_message(message)
