"""Transactional email plumbing (core.mail): queued after the commit, never for a rolled-back
transaction, sent once per key however often the task runs, plain text first and HTML beside it."""

from __future__ import annotations

import io
from datetime import timedelta
from smtplib import SMTPServerDisconnected
from typing import Any

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import transaction
from django.utils import timezone

from core.email_backends import ReadableConsoleBackend
from core.mail import email_on_commit, email_send, emails_paused
from core.models import SentEmail
from core.tasks import send_email

pytestmark = pytest.mark.django_db

CONTEXT = {
    "name": "Ada",
    "amount": "$50.00",
    "bonus": "$5.00",
    "credited": "$55.00",
    "rail": "card",
    "reference": "credit_top_up:abc",
    "paid_on": "04 December 2026",
    "wallet_url": "http://testserver/wallet/",
}
MAIL = {"to": "ada@example.com", "template": "top_up_receipt", "context": CONTEXT}


class FailsOnceBackend(LocmemBackend):
    """The mail server hangs up on the first message, then accepts (a stand-in for an SMTP server,
    which cannot run here: the one boundary replaced)."""

    failures_left = 1

    def send_messages(self, messages: Any) -> int:
        if FailsOnceBackend.failures_left:
            FailsOnceBackend.failures_left -= 1
            raise SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


def test_a_mail_is_sent_after_the_commit_with_text_first_and_html_beside(
    django_capture_on_commit_callbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        email_on_commit(key="top-up:1", **MAIL)
        assert mail.outbox == []  # nothing leaves while the transaction is open
    assert len(callbacks) == 1
    [message] = mail.outbox
    assert message.to == ["ada@example.com"]
    assert message.subject == "[Agora] Receipt: $55.00 added to your balance"
    assert "Paid:       $50.00 by card" in message.body
    assert "+$5.00 prepaid credit bonus" in message.body
    assert "<" not in message.body  # the plain-text part is plain
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert "$55.00" in html
    assert 'href="http://testserver/wallet/"' in html
    assert SentEmail.objects.get(key="top-up:1").sent_at is not None


def test_a_rolled_back_transaction_sends_nothing(django_capture_on_commit_callbacks) -> None:
    def event_that_fails() -> None:
        with transaction.atomic():
            email_on_commit(key="top-up:2", **MAIL)
            raise RuntimeError("the event failed after the mail was queued")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        event_that_fails()
    assert mail.outbox == []
    assert not SentEmail.objects.filter(key="top-up:2").exists()


def test_nothing_is_queued_while_emails_are_paused(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True), emails_paused():
        email_on_commit(key="top-up:6", **MAIL)
    with django_capture_on_commit_callbacks(execute=True):
        email_on_commit(key="top-up:7", **MAIL)
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    assert list(SentEmail.objects.values_list("key", flat=True)) == ["top-up:7"]


def test_the_same_key_is_sent_once(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        email_on_commit(key="top-up:3", **MAIL)
        email_on_commit(key="top-up:3", **MAIL)
    assert email_send(key="top-up:3", **MAIL) is False  # a late duplicate delivery
    assert len(mail.outbox) == 1


def test_a_task_retried_after_a_failed_send_sends_once(settings) -> None:
    settings.EMAIL_BACKEND = "tests.core.test_mail.FailsOnceBackend"
    FailsOnceBackend.failures_left = 1
    # The first attempt fails at the server and asks Celery for a retry (eager tests propagate it
    # instead of re-running); the retry, delivered as the worker would, sends it.
    with pytest.raises(Retry):
        send_email.delay(key="top-up:4", **MAIL)
    assert mail.outbox == []
    assert send_email.delay(key="top-up:4", **MAIL).get() is True
    assert len(mail.outbox) == 1
    record = SentEmail.objects.get(key="top-up:4")
    assert (record.attempts, record.claimed_until) == (2, None)
    assert record.sent_at is not None
    # The broker delivers the task again (acks_late after a worker crash): nothing more is sent.
    assert send_email.delay(key="top-up:4", **MAIL).get() is False
    assert len(mail.outbox) == 1


def test_a_key_being_sent_by_another_worker_is_left_alone() -> None:
    SentEmail.objects.create(
        key="top-up:5",
        to="ada@example.com",
        template="top_up_receipt",
        claimed_until=timezone.now() + timedelta(minutes=1),
    )
    assert email_send(key="top-up:5", **MAIL) is False
    assert mail.outbox == []


def test_the_console_backend_prints_what_a_person_reads() -> None:
    stream = io.StringIO()
    message = EmailMultiAlternatives(
        subject="[Agora] Reçu", body="Hello Zoë,\n\nTotal: $49.00\n", to=["zoe@example.com"]
    )
    message.attach_alternative("<p>Hello Zoë</p>", "text/html")
    ReadableConsoleBackend(stream=stream).send_messages([message])
    printed = stream.getvalue()
    assert "Subject: [Agora] Reçu" in printed  # not =?utf-8?...
    assert "To: zoe@example.com" in printed
    assert "Hello Zoë,\n\nTotal: $49.00" in printed
    assert "<p>" not in printed
    assert "[+ text/html part, 16 characters]" in printed
