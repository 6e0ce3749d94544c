"""Recipients see what each epoch paid them on their wallet, the creator dashboard and the provider
console."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from tests.accounts.factories import UserFactory
from tests.tokenomics.epochs.conftest import EPOCH_1_START, GENESIS_AT, WEEK
from tokenomics.selectors.epochs import epoch_shares_for_user
from tokenomics.services.epochs import epochs_close_due

pytestmark = pytest.mark.django_db


def test_the_wallet_and_the_creator_dashboard_list_epoch_shares(
    genesis: datetime, sale: Callable[..., None], weights_registry: dict[str, dict[int, int]], client: Client
) -> None:
    person = UserFactory()
    weights_registry["creators"] = {person.pk: 1}
    weights_registry["providers"] = {person.pk: 1}
    sale(at=GENESIS_AT + WEEK / 7, gross=10_000)  # platform keeps 1,450 cents
    with time_machine.travel(EPOCH_1_START + WEEK, tick=False):
        epochs_close_due()

    shares = epoch_shares_for_user(user=person)
    labels = {(share.label, share.asset, share.amount) for share in shares}
    assert ("Creators' revenue share", "USD", 435) in labels
    assert ("Providers' revenue share", "USD", 580) in labels
    assert any(label == "Provider rewards" and asset == "AGR" for label, asset, _ in labels)
    assert {share.epoch for share in shares} == {1}

    client.force_login(person)
    pages = (
        reverse("tokenomics:wallet"),
        reverse("marketplace:creator-dashboard"),
        reverse("compute:provider-console"),
    )
    for page in pages:
        html = client.get(page).content.decode()
        assert 'id="epoch-shares-table"' in html, page
        assert "Creators&#x27; revenue share" in html
        assert "$4.35" in html
        assert "Providers&#x27; revenue share" in html
        assert "$5.80" in html

    other = UserFactory()
    client.force_login(other)
    assert 'id="epoch-shares-table"' not in client.get(reverse("tokenomics:wallet")).content.decode()
    assert "Nothing yet" in client.get(reverse("marketplace:creator-dashboard")).content.decode()
    assert "Nothing yet" in client.get(reverse("compute:provider-console")).content.decode()
