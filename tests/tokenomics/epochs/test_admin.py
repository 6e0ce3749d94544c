"""Staff see closed epochs and on-chain burn batches in the admin, and cannot change them."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from tests.accounts.factories import UserFactory
from tests.tokenomics.epochs.conftest import EPOCH_1_START, WEEK
from tokenomics.models import ChainBurn
from tokenomics.services.epochs import epochs_close_due

pytestmark = pytest.mark.django_db


def test_epochs_and_burns_are_read_only_in_the_admin(genesis: datetime, client: Client) -> None:
    with time_machine.travel(EPOCH_1_START + WEEK, tick=False):
        [epoch] = epochs_close_due()
    burn = ChainBurn.objects.create(
        amount=5, ledger_burned=5, to_address="0x000000000000000000000000000000000000dEaD"
    )
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for model, obj in (("epoch", epoch), ("chainburn", burn)):
        assert client.get(reverse(f"admin:tokenomics_{model}_changelist")).status_code == 200
        page = client.get(reverse(f"admin:tokenomics_{model}_change", args=[obj.pk]))
        assert page.status_code == 200
        assert client.get(reverse(f"admin:tokenomics_{model}_add")).status_code == 403
        assert (
            client.post(
                reverse(f"admin:tokenomics_{model}_delete", args=[obj.pk]), {"post": "yes"}
            ).status_code
            == 403
        )
    assert (
        "0.000000000000000005 AGR"
        in client.get(reverse("admin:tokenomics_chainburn_changelist")).content.decode()
    )
