"""`manage.py load_demo_epochs` after the other loaders, as `make demo` runs them: a genesis four weeks
back, four epochs closed an hour after their ends, creators paid from the catalog's sales, a
populated transparency page, and a second run that changes nothing."""

from __future__ import annotations

import io
from datetime import timedelta
from itertools import pairwise

import pytest
from django.core.management import call_command
from django.urls import reverse

from tokenomics.models import Epoch, LedgerEntry, LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.epochs import genesis_day
from tokenomics.selectors.transparency import transparency_report

pytestmark = pytest.mark.django_db


def test_the_demo_closes_a_few_epochs_once(client) -> None:
    for command in ("load_demo_data", "load_demo_ledger", "load_demo_catalog"):
        call_command(command, stdout=io.StringIO())
    out = io.StringIO()
    call_command("load_demo_epochs", stdout=out)
    assert "4 closed" in out.getvalue()

    epochs = list(Epoch.objects.order_by("number"))
    assert [epoch.number for epoch in epochs] == [1, 2, 3, 4]
    first_day = genesis_day()
    assert first_day is not None
    assert epochs[0].starts_at == first_day
    for before, after in pairwise(epochs):
        assert after.starts_at == before.ends_at
    for epoch in epochs:
        assert epoch.closed_at == epoch.ends_at + timedelta(hours=1)
        if epoch.distribution_transaction is not None:
            assert epoch.distribution_transaction.posted_at == epoch.closed_at
    # The catalog's sales paid creators in at least one epoch; the first also takes the revenue
    # earned before the genesis.
    creator_entries = LedgerEntry.objects.filter(
        transaction__kind=TransactionKind.DISTRIBUTION, account__kind=AccountKind.CREATOR_PAYABLE
    )
    assert creator_entries.exists()
    assert int(epochs[0].breakdown["USD"]["pool"]) > 0

    report = transparency_report()
    assert len(report.epochs) == 4
    assert report.burned > 0  # the catalog's AGR sales burned their network fee
    assert report.community_pool["USD"] > 0
    page = client.get(reverse("tokenomics:transparency"))
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('<tr data-epoch="') >= 4
    assert 'aria-labelledby="distribution-chart-title distribution-chart-desc"' in html

    transactions = LedgerTransaction.objects.count()
    again = io.StringIO()
    call_command("load_demo_epochs", stdout=again)
    assert "0 closed" in again.getvalue()
    assert LedgerTransaction.objects.count() == transactions
