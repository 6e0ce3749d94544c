"""Celery tasks of the rail (eager in tests): one service call each, with the retry policy."""

from __future__ import annotations

import pytest
from celery.exceptions import Retry

from tests.accounts.factories import UserFactory
from tests.tokenomics.chain.conftest import Chain, link, pay
from tokenomics.models.rails import PaymentStatus
from tokenomics.money import agr
from tokenomics.services.chain_rail import agr_payment_start
from tokenomics.tasks import chain as chain_tasks

pytestmark = pytest.mark.django_db


def test_verify_task_credits_or_ends_with_the_reason(chain: Chain, new_key) -> None:
    buyer = UserFactory()
    key = new_key()
    link(buyer, key)
    payment = agr_payment_start(user=buyer, purpose="test_order", amount=agr(3))
    short = pay(chain, key, agr(3) - 1)
    assert chain_tasks.chain_payment_verify.delay(payment.pk, short).get() == "rejected:amount_short"

    # A hash not mined yet is retried later (eager mode surfaces the Retry), then given up.
    unknown = "0x" + "ef" * 32
    with pytest.raises(Retry):
        chain_tasks.chain_payment_verify.delay(payment.pk, unknown)
    last = chain_tasks.chain_payment_verify.apply(
        (payment.pk, unknown), retries=chain_tasks.VERIFY_MAX_ATTEMPTS
    )
    assert last.get() == "rejected:tx_not_found"

    paid = pay(chain, key, agr(3))
    assert chain_tasks.chain_payment_verify.delay(payment.pk, paid).get() == PaymentStatus.SUCCEEDED
