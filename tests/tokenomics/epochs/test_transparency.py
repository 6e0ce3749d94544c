"""The transparency report reconciles with the ledger after a seeded run, and is public as a page
(with its charts) and as `GET /api/v1/transparency`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
import time_machine
from django.urls import reverse

from core.fields import WideSum
from tests.accounts.factories import UserFactory
from tests.tokenomics.epochs.conftest import EPOCH_1_START, GENESIS_AT, WEEK
from tests.tokenomics.factories import funded_wallet
from tokenomics.models import Asset, Epoch, LedgerEntry
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.money import agr
from tokenomics.selectors.transparency import circulating_supply, emission_series, transparency_report
from tokenomics.services.burns import burn_post
from tokenomics.services.epochs import epochs_close_due

pytestmark = pytest.mark.django_db
SHARES = ("providers", "creators", "integrations", "community")


def ledger_sum(**filters: object) -> int:
    return int(LedgerEntry.objects.filter(**filters).aggregate(total=WideSum("amount"))["total"] or 0)


@pytest.fixture
def seeded(genesis: datetime, sale: Callable[..., None], weights_registry: dict[str, dict[int, int]]) -> None:
    """Three weeks of a small economy: sales in both assets, a slash burned, two providers, a creator
    and an integration developer, each week closed by the task."""
    providers = [UserFactory(), UserFactory()]
    weights_registry["providers"] = {providers[0].pk: 5, providers[1].pk: 2}
    weights_registry["creators"] = {UserFactory().pk: 3, UserFactory().pk: 1}
    weights_registry["integrations"] = {UserFactory().pk: 1}
    for week in range(3):
        start = GENESIS_AT + week * WEEK
        sale(at=start + WEEK / 7, gross=12_345 + week)
        sale(at=start + 2 * WEEK / 7, gross=agr(333) + week, asset=Asset.AGR)
        with time_machine.travel(start + 3 * WEEK / 7, tick=False):
            burn_post(
                source=funded_wallet(user=UserFactory(), amount=agr(5), asset=Asset.AGR),
                amount=agr(2),
                idempotency_key=f"slash-{week}",
                memo="Slashed stake",
            )
    with time_machine.travel(EPOCH_1_START + 3 * WEEK, tick=False):
        assert len(epochs_close_due()) == 3


def test_every_figure_equals_its_ledger_sum(seeded: None) -> None:
    with time_machine.travel(EPOCH_1_START + 3 * WEEK, tick=False):
        report = transparency_report()
    burned = ledger_sum(account__kind=AccountKind.BURN, asset=Asset.AGR)
    reserve = ledger_sum(account__kind=AccountKind.REWARDS_RESERVE)
    emitted = -ledger_sum(
        account__kind=AccountKind.REWARDS_RESERVE, transaction__kind=TransactionKind.EMISSION
    )
    assert burned == 3 * agr(2) + sum((agr(333) + week) * 200 // 10_000 for week in range(3))
    assert report.burned == burned
    assert report.total_supply == agr(1_000_000_000) - burned
    assert report.rewards_reserve == reserve == agr(350_000_000) - emitted
    assert report.emitted == emitted > 0
    for asset in Asset.values:
        assert report.treasury[asset] == ledger_sum(account__kind=AccountKind.TREASURY, asset=asset) > 0
        assert report.community_pool[asset] == ledger_sum(
            account__kind=AccountKind.COMMUNITY_POOL, asset=asset
        )
    assert report.circulating_supply == (
        agr(1_000_000_000) - burned - reserve - report.treasury[Asset.AGR] - report.community_pool[Asset.AGR]
    )
    assert circulating_supply() == report.circulating_supply
    assert report.burned_history[-1].value == burned

    assert [row.number for row in report.epochs] == [3, 2, 1]
    for row in report.epochs:
        epoch = Epoch.objects.get(number=row.number)
        assert epoch.distribution_transaction is not None
        for asset, parts in row.distribution.items():
            entries = LedgerEntry.objects.filter(transaction=epoch.distribution_transaction, asset=asset)
            taken = -ledger_sum(pk__in=entries.filter(account__kind=AccountKind.PLATFORM_REVENUE))
            assert parts["pool"] - parts["carried"] == taken
            assert sum(parts[share] for share in SHARES) == taken
            assert parts["providers"] == ledger_sum(
                pk__in=entries.filter(account__kind=AccountKind.PROVIDER_PAYABLE)
            )
            assert parts["creators"] == ledger_sum(
                pk__in=entries.filter(account__kind=AccountKind.CREATOR_PAYABLE)
            )
            assert parts["integrations"] == ledger_sum(
                pk__in=entries.filter(account__kind=AccountKind.WALLET)
            )
            assert parts["community"] == ledger_sum(
                pk__in=entries.filter(account__kind=AccountKind.COMMUNITY_POOL)
            )
        assert row.emission_paid == ledger_sum(
            transaction=epoch.emission_transaction, account__kind=AccountKind.PROVIDER_PAYABLE
        )
    # Every unit of platform revenue was distributed or is what the last epoch carried over.
    for asset in Asset.values:
        remaining = ledger_sum(account__kind=AccountKind.PLATFORM_REVENUE, asset=asset)
        assert remaining == report.epochs[0].distribution[asset]["carried"]

    points = emission_series(report)
    assert [point.number for point in points] == [1, 2, 3]
    assert points[-1].emitted == emitted
    assert all(point.emitted <= point.scheduled for point in points)


def test_the_api_reports_the_same_figures_to_anyone(seeded: None, api_client) -> None:
    with time_machine.travel(EPOCH_1_START + 3 * WEEK, tick=False):
        report = transparency_report()
        body = api_client.get("/api/v1/transparency").json()
    assert body["supply"]["burned"] == {"amount": str(report.burned), "asset": "AGR"}
    assert body["supply"]["circulating"]["amount"] == str(report.circulating_supply)
    assert body["emission"]["emitted"]["amount"] == str(report.emitted)
    assert body["emission"]["cap"]["amount"] == str(agr(350_000_000))
    assert {item["asset"]: item["amount"] for item in body["treasury"]} == {
        asset: str(amount) for asset, amount in report.treasury.items()
    }
    assert [epoch["number"] for epoch in body["epochs"]] == [3, 2, 1]
    usd = next(item for item in body["epochs"][0]["distributions"] if item["asset"] == "USD")
    assert usd["pool"]["amount"] == str(report.epochs[0].distribution["USD"]["pool"])
    assert body["epochs"][0]["emission_paid"]["amount"] == str(report.epochs[0].emission_paid)
    assert body["burned_history"][-1]["burned"]["amount"] == str(report.burned)


def test_the_page_is_public_and_draws_its_charts(seeded: None, client) -> None:
    with time_machine.travel(EPOCH_1_START + 3 * WEEK, tick=False):
        response = client.get(reverse("tokenomics:transparency"))
    html = response.content.decode()
    assert response.status_code == 200
    for chart in ("burned-chart", "emission-chart", "distribution-chart"):
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in html
    assert html.count('<tr data-epoch="') == 6  # three epochs, a USD and an AGR row each
    assert 'data-figure="burned"' in html
    assert reverse("tokenomics:transparency") in client.get(reverse("home")).content.decode()  # footer


def test_an_empty_ledger_reports_zeros(db: None, api_client) -> None:
    body = api_client.get("/api/v1/transparency").json()
    assert body["supply"]["total"]["amount"] == str(agr(1_000_000_000))
    assert body["epochs"] == []
    assert body["emission"]["genesis_day"] is None
