"""The demo catalog's listings of the models `make demo` really serves (marketplace.hosted_demo):
published with subscription and per-inference plans and a version declaring the Triton model and
its tensors, the demo buyer entitled to call them at once, and a second load that changes nothing.

The whole catalog takes long to load (test_load_demo_catalog.py loads it once); this runs only
the hosted part, as load_demo_catalog does on every run."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from accounts.models import User
from marketplace.hosted_demo import DIGITS, REAL_MODELS
from marketplace.management.commands.load_demo_catalog import Command
from marketplace.models import Listing, ListingStatus, Order, PlanKind, Subscription, SubscriptionStatus
from marketplace.services.listing_fields import tensor_spec_validate
from tokenomics.models.ledger import AccountKind
from tokenomics.selectors.ledger import ledger_verify
from tokenomics.services.ledger_accounts import user_account_get_or_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_accounts() -> None:
    call_command("load_demo_data", stdout=io.StringIO())
    call_command("load_demo_ledger", stdout=io.StringIO())


def test_hosted_demo_listings_are_callable_by_the_demo_buyer(demo_accounts: None) -> None:
    created = Command(stdout=io.StringIO())._hosted_models()

    assert created == [model.title for model in REAL_MODELS]
    creator = User.objects.get(email="creator@agora.local")
    buyer = User.objects.get(email="buyer@agora.local")
    for model in REAL_MODELS:
        listing = Listing.objects.get(creator=creator, title=model.title)
        assert listing.status == ListingStatus.PUBLISHED
        assert listing.has_subscription
        assert listing.has_per_inference
        assert set(listing.plans.values_list("kind", flat=True)) == {
            PlanKind.SUBSCRIPTION,
            PlanKind.PER_INFERENCE,
        }
        version = listing.versions.get()
        assert version.triton_model_name == model.triton_name
        # The specs pass the same validation a creator's upload does, and are the served ones.
        assert tensor_spec_validate(spec=version.input_spec, field="input_spec") == model.input_spec
        assert version.output_spec == model.output_spec
        # The playground prefills from the samples: JSON numbers for numeric inputs, text for BYTES.
        sample = listing.sample_io[0]["input"]
        if model.inputs[0]["datatype"] == "BYTES":
            assert sample == model.samples[0][0]
        else:
            assert isinstance(json.loads(sample), list)
        assert f"/api/v1/inference/{listing.slug}" in listing.model_card

    subscription = Subscription.objects.get(buyer=buyer, listing__title=DIGITS.title)
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.plan.name == "Basic"
    assert subscription.monthly_quota == 10_000
    assert Order.objects.filter(buyer=buyer, subscription=subscription).count() == 1
    # Per-inference calls are paid from prepaid USD credit, which the demo buyer holds.
    wallet = user_account_get_or_create(user=buyer, kind=AccountKind.WALLET, asset="USD")
    wallet.refresh_from_db()
    assert wallet.balance > 0
    assert ledger_verify().ok


def test_hosted_demo_listings_load_once(demo_accounts: None) -> None:
    Command(stdout=io.StringIO())._hosted_models()
    counts = (Listing.objects.count(), Order.objects.count(), Subscription.objects.count())

    assert Command(stdout=io.StringIO())._hosted_models() == []

    assert (Listing.objects.count(), Order.objects.count(), Subscription.objects.count()) == counts
