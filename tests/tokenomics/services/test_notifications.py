"""The money app's email: a payout is mailed when requested (or held for review), sent and failed,
and a top-up when it arrives, once each, with the amounts in both the text and the HTML. Celery
runs eagerly, as everywhere in the suite."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from tests.accounts.factories import UserFactory, staff_with
from tests.tokenomics.payout_factories import funded_payable, payout_wallet
from tokenomics.chain_client import checksum
from tokenomics.models.rails import ChainPayout
from tokenomics.money import agr, format_amount
from tokenomics.services.payments import payment_create, payment_credit
from tokenomics.services.payouts import (
    payout_approve,
    payout_mark_failed,
    payout_mark_paid,
    payout_request,
    payouts_sync_chain,
)
from tokenomics.services.staking import kyc_verify

pytestmark = pytest.mark.django_db

ADDRESS = checksum("0x" + "ab" * 20)


def usd(cents: int) -> str:
    return format_amount(amount=int(cents), asset="USD")


def in_both(message: Any, *facts: str) -> None:
    [(html, _)] = message.alternatives
    for fact in facts:
        assert fact in message.body, f"{fact!r} not in the text of {message.subject!r}"
        assert fact in html, f"{fact!r} not in the HTML of {message.subject!r}"


def test_a_usd_payout_is_mailed_when_requested_sent_and_failed(django_capture_on_commit_callbacks) -> None:
    creator = UserFactory()
    funded_payable(user=creator, amount=20_000)
    with django_capture_on_commit_callbacks(execute=True):
        first = payout_request(user=creator, asset="USD", amount=10_000)
    [requested] = mail.outbox
    assert requested.to == [creator.email]
    assert first.fee > 0  # instant: the fee is shown and taken
    net, fee = usd(first.net), usd(first.fee)
    assert requested.subject == f"[Agora] Payout of {net} on its way"
    in_both(requested, "$100.00", f"-{fee}", "You get", net, first.reference)

    with django_capture_on_commit_callbacks(execute=True):
        payout_mark_paid(payout_id=first.pk)
        payout_mark_paid(payout_id=first.pk)  # a repeat changes nothing and mails nothing
    sent = mail.outbox[-1]
    assert len(mail.outbox) == 2
    assert sent.subject.endswith("sent")
    in_both(sent, "was sent by a bank transfer through Stripe")

    with django_capture_on_commit_callbacks(execute=True):
        second = payout_request(user=creator, asset="USD", amount=5_000, instant=False)
        payout_mark_failed(payout_id=second.pk, reason="Bank account closed")
    queued, failed = mail.outbox[2:]
    assert "Your scheduled payout" in queued.body
    assert failed.subject == "[Agora] Payout of $50.00 failed; the amount is back in your balance"
    in_both(failed, "Returned", "$50.00", "Bank account closed", "back in your creator balance")


def test_a_payout_held_for_review_is_mailed_then_again_when_approved(
    django_capture_on_commit_callbacks,
) -> None:
    creator, staff = UserFactory(), staff_with("tokenomics.settle_payout")
    funded_payable(user=creator, amount=70_000)
    with django_capture_on_commit_callbacks(execute=True):
        kyc_verify(user=creator, staff_user=UserFactory(is_staff=True))  # verified: held for review
        held = payout_request(user=creator, asset="USD", amount=60_001)  # above the KYC threshold
    [review] = mail.outbox
    assert "held for a review" in review.subject
    in_both(review, "review it first")
    with django_capture_on_commit_callbacks(execute=True):
        payout_approve(payout_id=held.pk, staff=staff)
    assert mail.outbox[-1].subject.endswith("on its way")


def test_an_agr_payout_is_mailed_when_its_transfer_is_confirmed(django_capture_on_commit_callbacks) -> None:
    creator = UserFactory()
    funded_payable(user=creator, amount=agr(1_000), asset="AGR")
    payout_wallet(user=creator, address=ADDRESS)  # the creator's own wallet, past its cool-down
    payout = payout_request(user=creator, asset="AGR", amount=agr(200), to_address=ADDRESS)
    ChainPayout.objects.filter(pk=payout.chain_payout_id).update(status=ChainPayout.Status.CONFIRMED)
    with django_capture_on_commit_callbacks(execute=True):
        assert payouts_sync_chain().paid == 1
    [sent] = mail.outbox
    assert sent.to == [creator.email]
    assert sent.subject.startswith("[Agora] Payout of ")
    assert sent.subject.endswith(" AGR sent")
    in_both(sent, "an AGR transfer on chain", ADDRESS, "200 AGR")


def test_a_top_up_mails_one_receipt_with_the_bonus(user, django_capture_on_commit_callbacks) -> None:
    payment = payment_create(user=user, purpose="credit_top_up", rail="card", amount=5_000)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):  # the same arrival reported three times (webhook, reconciliation, retry)
            payment_credit(payment_id=payment.pk, amount=5_000, idempotency_key="stripe:pi:pi_1")
    [receipt] = mail.outbox
    assert receipt.to == [user.email]
    assert receipt.subject == "[Agora] Receipt: $55.00 added to your balance"
    in_both(receipt, "$50.00 by card", "+$5.00 prepaid credit bonus", "$55.00", payment.reference)


def test_an_order_payment_is_not_a_top_up(user, django_capture_on_commit_callbacks) -> None:
    payment = payment_create(user=user, purpose="something_else", rail="card", amount=5_000)
    with django_capture_on_commit_callbacks(execute=True):
        payment_credit(payment_id=payment.pk, amount=5_000, idempotency_key="stripe:pi:pi_2")
    assert mail.outbox == []
