"""Compute's weights for the revenue-distribution epochs, from the gateway's request log: providers
by calls served, integration developers by the calls their registered integrations brought; and an
epoch closed on them pays those people. The log's rows are written as settlement stores them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts.models import User
from accounts.services import integration_create
from compute.models_gateway import Entitlement, InferenceRequest, Outcome, Via
from compute.selectors.epochs import integration_developer_weights, provider_weights
from marketplace.models import Listing
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import ListingFactory
from tokenomics.models import Asset, LedgerAccount
from tokenomics.models.ledger import AccountKind
from tokenomics.services.distribution_weights import distribution_weights
from tokenomics.services.epochs import epochs_close_due, token_genesis

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, tzinfo=UTC)
END = START + timedelta(days=7)


def served(
    *, listing: Listing, provider: User | None, at: datetime, integration: str = "", outcome: str = Outcome.OK
) -> None:
    InferenceRequest.objects.create(
        request_id=uuid.uuid4(),
        user=UserFactory(),
        listing=listing,
        entitlement=Entitlement.PREPAID,
        via=Via.API,
        integration_id=integration,
        provider=provider,
        outcome=outcome,
        created_at=at,
    )


def test_providers_weigh_by_calls_served_in_the_epoch_times_their_multiplier() -> None:
    listing = ListingFactory()
    busy, quiet = UserFactory(), UserFactory()
    for _ in range(3):
        served(listing=listing, provider=busy, at=START + timedelta(hours=1))
    served(listing=listing, provider=quiet, at=END - timedelta(seconds=1))
    served(listing=listing, provider=quiet, at=END)  # the next epoch's
    served(listing=listing, provider=quiet, at=START, outcome=Outcome.FAILED)  # not served
    # Neither has nodes measured nor a trust score: both at the 1x multiplier (10,000 bps).
    assert provider_weights(START, END) == {busy.pk: 30_000, quiet.pk: 10_000}
    assert distribution_weights("providers", START, END) == {busy.pk: 30_000, quiet.pk: 10_000}


def test_integrations_weigh_their_developers_by_traffic() -> None:
    listing = ListingFactory()
    dev = UserFactory()
    first = integration_create(user=dev, name="Bot")
    second = integration_create(user=dev, name="CLI")
    other = integration_create(user=UserFactory(), name="Bot")
    for public_id, calls in (
        (first.public_id, 2),
        (second.public_id, 3),
        (other.public_id, 1),
        ("int_forged", 9),
    ):
        for _ in range(calls):
            served(listing=listing, provider=None, at=START + timedelta(days=1), integration=public_id)
    served(listing=listing, provider=None, at=START + timedelta(days=1))  # no header
    assert integration_developer_weights(START, END) == {dev.pk: 5, other.owner_id: 1}
    assert distribution_weights("integrations", START, END) == {dev.pk: 5, other.owner_id: 1}


def test_an_epoch_pays_the_logged_provider_its_rewards() -> None:
    with time_machine.travel(START + timedelta(hours=9), tick=False):
        token_genesis()
    listing = ListingFactory()
    provider, dev = UserFactory(), UserFactory()
    app = integration_create(user=dev, name="App")
    served(listing=listing, provider=provider, at=START + timedelta(days=2), integration=app.public_id)
    with time_machine.travel(END + timedelta(hours=1), tick=False):
        [epoch] = epochs_close_due()
    rewards = LedgerAccount.objects.get(owner=provider, kind=AccountKind.PROVIDER_PAYABLE, asset=Asset.AGR)
    assert rewards.balance == int(epoch.breakdown["emission"]["paid"]) > 0
