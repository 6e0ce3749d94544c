"""Transactional email: queued after the commit, sent once per event key, plain text and HTML.

A service that wants to tell someone about an event it just recorded calls `email_on_commit` inside
its transaction. Nothing is sent if the transaction rolls back; after the commit the `core.send_email`
task is enqueued (robustly: a broker hiccup never undoes the committed event) and renders
`templates/email/<template>/subject.txt`, `body.txt` and `body.html` from the JSON context.

`email_send` sends each key at most once once the backend has accepted it: a task retried after a
failed send sends it then, a task delivered twice (acks_late, a duplicate enqueue) finds it sent.
The claim is a short lease taken by a conditional UPDATE, so no transaction stays open while the
mail backend talks to the network (ARCHITECTURE.md, rule 3).

The context must be JSON (the task's arguments): builders format amounts and dates into strings
when the event happens, so the mail says what was true then.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from core.enqueue import task_on_commit
from core.models import SentEmail

logger = logging.getLogger(__name__)

# Long enough for a slow SMTP server to answer; a worker that died mid-send frees the key after it.
CLAIM_SECONDS = 120
SUBJECT_PREFIX = "[Agora] "
_paused: ContextVar[bool] = ContextVar("emails_paused", default=False)


@contextmanager
def emails_paused() -> Iterator[None]:
    """Queue no mail inside the block: for loading made-up history (the demo catalog's months of
    sales), which is nobody's news."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


def site_url(path: str) -> str:
    """An absolute link for a mail ("/orders/5/" -> "http://127.0.0.1:8000/orders/5/")."""
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def email_render(*, template: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of `templates/email/<template>/`. Raises TemplateDoesNotExist."""
    full = {**context, "site_url": settings.SITE_URL.rstrip("/")}
    subject = " ".join(render_to_string(f"email/{template}/subject.txt", full).split())
    text = render_to_string(f"email/{template}/body.txt", full).strip() + "\n"
    html = render_to_string(f"email/{template}/body.html", full)
    return SUBJECT_PREFIX + subject, text, html


def email_on_commit(*, key: str, to: str, template: str, context: Mapping[str, Any]) -> None:
    """Queue the mail `template` to `to` once the current transaction commits (at once outside a
    transaction); dropped if it rolls back. `key` names the event: one mail per key, ever."""
    if not to or _paused.get():
        return
    # robust: the event is committed; a mail that cannot be queued is logged, never an error page.
    task_on_commit("core.send_email", key=key, to=to, template=template, context=dict(context))


def _claim(key: str) -> bool:
    now = timezone.now()
    claimed = SentEmail.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now), key=key, sent_at__isnull=True
    ).update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), attempts=F("attempts") + 1, updated_at=now)
    return claimed == 1


def email_send(*, key: str, to: str, template: str, context: Mapping[str, Any]) -> bool:
    """Render and send the mail under `key` unless it was sent already or another worker is
    sending it now. Returns whether this call sent it. A failing backend (SMTPException, OSError)
    raises, with the key released for the retry."""
    SentEmail.objects.get_or_create(key=key, defaults={"to": to, "template": template})
    if not _claim(key):
        return False
    try:
        subject, text, html = email_render(template=template, context=context)
        message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
        message.attach_alternative(html, "text/html")
        message.send()
    except Exception:
        SentEmail.objects.filter(key=key, sent_at__isnull=True).update(claimed_until=None)
        raise
    sent = {"subject": subject[:255], "sent_at": timezone.now(), "claimed_until": None}
    SentEmail.objects.filter(key=key).update(**sent)
    return True


def email_already_sent(*, keys: list[str]) -> set[str]:
    """Which of `keys` are already recorded (sent or being sent), so a periodic job queues only new ones."""
    return set(SentEmail.objects.filter(key__in=keys).values_list("key", flat=True))
