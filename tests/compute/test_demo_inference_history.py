"""`manage.py load_demo_inference` between the catalog and the epochs, as `make demo` runs them: four
weeks of metered calls stored and settled through the settlement service (every served prepaid call
billed once, failed ones never), the demo provider paid its compute share, the closed epochs
weighting providers and integrations by those calls, the ledger balanced, and a second run that
changes nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db.models import Sum

from accounts.models import User
from compute.models_gateway import Entitlement, InferenceRequest, Outcome
from compute.models_reputation import CallRating, TrustScore
from tokenomics.models import LedgerEntry, LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_settled_inference_history_that_feeds_the_epochs() -> None:
    for command in ("load_demo_data", "load_demo_ledger", "load_demo_catalog"):
        call_command(command, stdout=io.StringIO())
    out = io.StringIO()
    call_command("load_demo_inference", stdout=out)
    assert "Demo inference history:" in out.getvalue()

    rows = InferenceRequest.objects.all()
    served = rows.filter(outcome=Outcome.OK)
    assert served.count() > 1000
    assert rows.filter(outcome=Outcome.FAILED).exists()
    # Failed calls cost nothing; every served prepaid call was settled in a batch.
    failed = rows.filter(outcome=Outcome.FAILED)
    assert failed.exclude(creator_price_micro=0, compute_fee_micro=0).count() == 0
    assert served.filter(entitlement=Entitlement.PREPAID, settlement__isnull=True).count() == 0
    assert rows.exclude(integration_id="").exists()

    provider = User.objects.get(email="provider@agora.local")
    compute_fee_cents = (
        LedgerEntry.objects.filter(
            transaction__kind=TransactionKind.INFERENCE,
            account__owner=provider,
            account__kind=AccountKind.PROVIDER_PAYABLE,
        ).aggregate(total=Sum("amount"))["total"]
        or 0
    )
    assert int(compute_fee_cents) > 0

    # Buyers rated some of their calls on the days they made them, and the provider has a trust
    # score for each day of the history, so its console chart has a line from the first start.
    ratings = CallRating.objects.filter(provider=provider)
    assert ratings.count() > 50
    assert ratings.filter(call__user=provider).count() == 0
    assert len({r.created_at.date() for r in ratings}) > 20
    scores = TrustScore.objects.filter(provider=provider).order_by("day")
    assert scores.count() == 29
    assert all(0 <= s.score <= 1000 for s in scores)
    assert scores.last().ratings_bps != scores.first().ratings_bps  # the ratings moved the score

    call_command("load_demo_epochs", stdout=io.StringIO())
    paid_to_provider = LedgerEntry.objects.filter(
        transaction__kind__in=[TransactionKind.DISTRIBUTION, TransactionKind.EMISSION],
        account__owner=provider,
    )
    assert paid_to_provider.filter(transaction__kind=TransactionKind.EMISSION).exists()
    assert paid_to_provider.filter(transaction__kind=TransactionKind.DISTRIBUTION).exists()

    check = io.StringIO()
    call_command("ledger_check", stdout=check)
    assert "Ledger OK" in check.getvalue()

    transactions, calls = LedgerTransaction.objects.count(), rows.count()
    again = io.StringIO()
    call_command("load_demo_inference", stdout=again)
    assert "already loaded" in again.getvalue()
    assert (LedgerTransaction.objects.count(), InferenceRequest.objects.count()) == (transactions, calls)
