"""Celery tasks of the shared plumbing: transactional email."""

from __future__ import annotations

from smtplib import SMTPException
from typing import Any

from celery import shared_task

from core.mail import email_send


@shared_task(
    name="core.send_email",
    autoretry_for=(SMTPException, OSError),  # the mail server refused or could not be reached
    retry_backoff=30,  # seconds, doubled per attempt
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=8,
    acks_late=True,
)
def send_email(*, key: str, to: str, template: str, context: dict[str, Any]) -> bool:
    """Send the mail `template` to `to` once per `key` (a retry or a duplicate sends nothing twice)."""
    return email_send(key=key, to=to, template=template, context=context)
